"""Sweep a plugin's typed config over seeds with Ray Tune; every trial is a scripts/train.py run.

    python scripts/tune.py --env CoPGBandit-v0 --algo copg --steps 200 \\
        --space "lr=grid(0.01,0.001)" --seeds 0,1 --metric kl_to_optimal --mode min \\
        --out results/sweeps/copg-lr
    python scripts/tune.py --env QuadHover-v0 --algo ppo --steps 500000 --num-envs 64 \\
        --space "learning_rate=loguniform(1e-4,1e-3)" "gamma=choice(0.98,0.99)" \\
        --samples 4 --seeds 0,1,2 --out results/sweeps/hover
    python scripts/tune.py --resume results/sweeps/hover             # after a crash or Ctrl-C
    python scripts/tune.py ... --address 10.0.0.1:6379        # the same sweep on a cluster

The search space names fields of the plugin's typed config (``python -c "import quadgym;
print(quadgym.describe_algo('ppo'))"``), each ``KEY=grid(v1,v2,...)`` (every value),
``choice(v1,v2,...)``, ``uniform(low,high)``, ``loguniform(low,high)`` or
``randint(low,high)`` (high excluded); or ``--space-file`` a JSON or YAML mapping
``{key: {grid: [...]}}``. ``--samples`` draws of the random ones are crossed with every
grid value and every ``--seeds`` seed. Every key and every value (both ends of a range)
is checked against the plugin's config before Ray starts. ``--config`` words are fixed
for all trials.

Each trial runs ``scripts/train.py`` in a subprocess into ``OUT/trials/<trial id>``: the
same checkpoints, ``metrics.csv``, TensorBoard events and ``state.json`` as a run of its
own, so ``scripts/evaluate.py --run`` and ``--resume`` work on it. After each chunk
(``--checkpoint-every``, a tenth of ``--steps`` by default) the trial reports the last
value of ``--metric`` in ``metrics.csv`` to Tune; ASHA (default) stops the worse trials
early on it, FIFO runs all to the end. ``--max-concurrent`` trials run at once, each
holding ``--cpus-per-trial`` CPUs of Ray's.

Ray: the cluster of ``--address`` (or ``RAY_ADDRESS``), else an embedded local Ray. Tune
keeps the experiment in ``OUT/tune``; ``--resume OUT`` restores it: finished trials are
not run again, and unfinished ones continue their run directory from its last
checkpoint. A trial's training process ends with its Ray worker (Linux).

Writes ``OUT/results.csv`` (one row per trial: config, seed, budget done, last metric,
run directory), ``OUT/best.md`` (each config's mean and standard deviation over its
seeds, best first) and ``OUT/curves.png`` (the metric against the budget, per trial).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from quadgym.cli import parse_args
from quadgym.config import TypedConfig, param
from quadgym.evaluation import ray_address
from quadgym.files import atomic_write_bytes
from quadgym.outdir import out_problem, save_figure
from quadgym.registry import get_algo_class
from quadgym.runs import new_run_problem
from quadgym.sweep import (
    TrialStatusFile,
    checked_space,
    last_value,
    parse_word,
    run_trial,
    space_words,
    tune_space,
)

TRAIN = Path(__file__).resolve().parent / "train.py"


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    env: str | None = param(None, "environment id")
    algo: str | None = param(None, "algorithm plugin")
    steps: int | None = param(None, "each trial's budget, in the plugin's unit", ge=1)
    space: tuple[str, ...] = param((), "search space words: KEY=grid(...)|choice(...)|...")
    space_file: str | None = param(None, "search space as a JSON or YAML file")
    config: tuple[str, ...] = param((), "the plugin's config words fixed for every trial")
    seeds: tuple[int, ...] = param((0,), "seeds, each crossed with every config")
    samples: int = param(1, "draws of the random parts of the space", ge=1)
    metric: str | None = param(
        None, "the metrics.csv column trials are compared on (default: the plugin's headline)"
    )
    mode: str | None = param(
        None,
        "whether a larger or smaller metric is better (default: the headline's)",
        choices=("max", "min", None),
    )
    scheduler: str = param(
        "asha", "'asha' (stop the worse early) or 'fifo'", choices=("asha", "fifo")
    )
    max_concurrent: int | None = param(None, "trials at once (default: Ray's CPUs allow)", ge=1)
    cpus_per_trial: float = param(1.0, "Ray CPUs each trial holds", gt=0)
    checkpoint_every: int | None = param(None, "budget per chunk (default: a tenth)", ge=1)
    num_envs: int | None = param(None, "scripts/train.py --num-envs of every trial", ge=1)
    out: str | None = param(
        None, "the sweep's directory (default results/sweeps/<env>-<algo>, git-ignored)"
    )
    resume: str | None = param(None, "continue the sweep in this directory")
    address: str | None = param(None, "Ray cluster address (default RAY_ADDRESS, else local)")


# ----------------------------------------------------------------- results

#: What a sweep writes at its end (removed when a sweep starts or resumes, so that they
#: exist only for the session that wrote them).
OUTPUTS = ("results.csv", "best.md", "curves.png")
#: The status of a trial in results.csv: Tune's end states, and one it did not reach.
FINISHED, STOPPED, UNFINISHED, FAILED = "finished", "stopped early", "unfinished", "error"
NOT_STARTED = "not started"
#: Where the session's end callback leaves Tune's trial statuses.
STATUS = "trial_status.json"


def trial_status(result: Any, done: int, total: int, statuses: dict[str, str]) -> str:
    """finished (its whole budget), stopped early (by the scheduler), unfinished (the sweep
    was interrupted first) or error, from Tune's status at the end of the session."""
    trial = (result.metrics or {}).get("trial_id")
    tune_status = statuses.get(trial) if trial else None
    if result.error is not None or tune_status == "ERROR":
        return FAILED
    if tune_status is None or tune_status != "TERMINATED":
        return FINISHED if done >= total else UNFINISHED
    return FINISHED if done >= total else STOPPED


def expected_trials(settings: dict[str, Any]) -> int:
    """How many trials the sweep has in all: its draws crossed with every grid value and
    every seed (0 for a sweep.json without its space: not counted)."""
    if "space" not in settings:
        return 0
    count = settings["samples"] * len(settings["seeds"])
    for word in settings["space"]:
        _, kind, values = parse_word(word)
        count *= len(values) if kind == "grid" else 1
    return count


def summarize(
    out: Path, results: Any, settings: dict[str, Any], statuses: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Write results.csv, best.md and curves.png from Tune's results (each through a
    rename); the summary rows (one per config: mean, sd and count over the seeds of its
    finished or early-stopped trials), best first, and the trial rows not ranked
    (unfinished or failed)."""
    metric, keys = settings["metric"], settings["keys"]
    total = int(settings["argv"][settings["argv"].index("--steps") + 1])
    rows = []
    for result in results:
        if result.config is None:
            continue
        trial = (result.metrics or {}).get("trial_id")
        run = out / "trials" / trial if trial else None
        if run is None or not (run / "state.json").is_file():
            run = None
        value = last_value(run, metric) if run else None
        done = json.loads((run / "state.json").read_text())["done"] if run else 0
        row = {k: result.config[k] for k in [*keys, "seed"]}
        status = trial_status(result, done, total, statuses)
        rows.append(
            {**row, "done": done, "status": status, metric: value, "run": str(run) if run else ""}
        )
    rows.sort(key=lambda r: (tuple(str(r[k]) for k in keys), r["seed"]))
    unstarted = max(0, expected_trials(settings) - len(rows))  # Tune makes trials lazily
    blank = {**dict.fromkeys([*keys, "seed"], ""), metric: None, "run": ""}
    rows += [{**blank, "status": NOT_STARTED, "done": 0}] * unstarted
    buf = io.StringIO()
    writer = csv.DictWriter(buf, [*keys, "seed", "done", "status", metric, "run"])
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(out / "results.csv", buf.getvalue().encode())
    ranked = [r for r in rows if r["status"] in (FINISHED, STOPPED) and r[metric] is not None]
    left = [r for r in rows if r["status"] in (UNFINISHED, FAILED, NOT_STARTED)]
    groups: dict[tuple, list[float]] = defaultdict(list)
    for r in ranked:
        groups[tuple(r[k] for k in keys)].append(r[metric])
    summary = []
    for config, values in groups.items():
        mean = sum(values) / len(values)
        sd = (
            math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
            if len(values) > 1
            else 0.0
        )
        summary.append(
            {**dict(zip(keys, config, strict=True)), "mean": mean, "sd": sd, "n": len(values)}
        )
    summary.sort(key=lambda s: s["mean"], reverse=settings["mode"] == "max")
    lines = [f"# Sweep of {settings['algo']} on {settings['env']}", ""]
    if left:
        lines += [
            f"**Incomplete: {len(left)} of {len(rows)} trials did not finish** "
            "(interrupted, failed or never started; `status` in results.csv); they are left out "
            "of the ranking below, which is partial. Continue with `scripts/tune.py --resume` "
            "on this directory.",
            "",
        ]
    lines += [
        f"Last `{metric}` of each finished trial ({settings['mode']} is better; ASHA may have "
        "stopped a trial early: see `done` and `status` in results.csv); mean and standard "
        "deviation over seeds.",
        "",
        "| " + " | ".join([*keys, "mean", "sd", "seeds"]) + " |",
        "|---" * (len(keys) + 3) + "|",
    ]
    for s in summary:
        cells = [str(s[k]) for k in keys] + [f"{s['mean']:.4g}", f"{s['sd']:.2g}", str(s["n"])]
        lines.append("| " + " | ".join(cells) + " |")
    if left:
        lines += ["", "Not ranked:", ""]
        lines += [
            "- "
            + ", ".join(f"{k}={r[k]}" for k in [*keys, "seed"])
            + f": {r['status']} at {r['done']} of {total}"
            for r in left
            if r["status"] != NOT_STARTED
        ]
        unstarted = sum(r["status"] == NOT_STARTED for r in left)
        lines += [f"- {unstarted} trial(s) not started"] if unstarted else []
    atomic_write_bytes(out / "best.md", ("\n".join(lines) + "\n").encode())
    plot_curves(out, rows, keys, metric)
    return summary, left


def plot_curves(out: Path, rows: list[dict[str, Any]], keys: list[str], metric: str) -> None:
    """The metric against the budget for every trial, one colour per config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    colours: dict[tuple, Any] = {}
    for r in rows:
        if not r["run"]:
            continue
        with (Path(r["run"]) / "metrics.csv").open() as f:
            points = [
                (float(x["step"]), float(x[metric])) for x in csv.DictReader(f) if x.get(metric)
            ]
        if not points:
            continue
        config = tuple(r[k] for k in keys)
        label = ", ".join(f"{k}={r[k]}" for k in keys) if config not in colours else None
        line = ax.plot(*zip(*points, strict=True), color=colours.get(config), lw=1, label=label)
        colours.setdefault(config, line[0].get_color())
    ax.set_xlabel("budget")
    ax.set_ylabel(metric)
    if colours:
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, out / "curves.png", dpi=90)
    plt.close(fig)


# ----------------------------------------------------------------- main


def problem(args: Args) -> str | None:
    """Why the arguments cannot run (checked before Ray starts), or None."""
    if args.resume:
        if not (Path(args.resume) / "sweep.json").is_file():
            return f"{args.resume} holds no sweep (no sweep.json)"
        return out_problem(args.resume, "--resume")
    if not (args.env and args.algo and args.steps):
        return "--env, --algo and --steps are required (or --resume DIR)"
    if not args.seeds or min(args.seeds) < 0 or len(set(args.seeds)) != len(args.seeds):
        return f"--seeds must be distinct integers >= 0, got {list(args.seeds)}"
    out = sweep_out(args)
    if (out / "sweep.json").exists():
        return f"{out} holds a sweep; continue it with --resume {out}"
    try:
        cls = get_algo_class(args.algo)
        if not cls.supports(args.env):
            return f"{args.algo} does not support {args.env}"
        checked_space(args.algo, args.space, args.space_file, args.config)
    except (TypeError, ValueError) as exc:
        return str(exc)
    return metric_problem(args, cls) or new_run_problem(out)


def metric_problem(args: Args, cls: Any) -> str | None:
    """Why the sweep has no metric the plugin logs (checked before Ray starts), or None."""
    if cls.logged is not None and not cls.logged:
        return f"{args.algo} logs no metrics (it learns nothing): there is nothing to sweep"
    if args.metric is None and cls.headline is None:
        return f"{args.algo} has no headline metric: name a metrics.csv column with --metric"
    if args.metric is None:
        return None
    logged = cls.logged if cls.logged is not None else probed_columns(args)
    if args.metric not in logged:
        return f"--metric {args.metric!r}: {args.algo} on {args.env} logs {', '.join(logged)}"
    return None


def probed_columns(args: Args) -> tuple[str, ...]:
    """The columns of ``args.algo``'s records on ``args.env``, for a plugin whose columns
    depend on the env (``logged`` None: the preference and distillation plugins): one unit
    of budget learnt by a throwaway instance with the sweep's fixed ``--config`` (about a
    second on the toys), so that a ``--metric`` it never logs is refused before Ray
    starts rather than by Tune inside it."""
    from quadgym.registry import make_algo

    cls = get_algo_class(args.algo)
    algo = make_algo(args.algo, args.env, **cls.Config.parse_strings(args.config))
    try:
        records = algo.learn(1)
    finally:
        algo.env.close()
    return tuple(dict.fromkeys(key for record in records for key in record))


def metric_and_mode(args: Args) -> tuple[str, str]:
    """--metric and --mode, each defaulting to the plugin's headline (max without one)."""
    headline = get_algo_class(args.algo).headline or (None, "max")
    return args.metric or headline[0], args.mode or headline[1]


def sweep_out(args: Args) -> Path:
    return Path(args.out or f"results/sweeps/{args.env}-{args.algo}").resolve()


def new_settings(args: Args, out: Path, argv: list[str] | None) -> dict[str, Any]:
    """What sweep.json holds: everything a --resume needs to restart the sweep from
    nothing (if it was killed before Tune saved its experiment) or to summarize it."""
    space = checked_space(args.algo, args.space, args.space_file, args.config)
    chunk = args.checkpoint_every or max(1, args.steps // 10)
    train_argv = ["--env", args.env, "--algo", args.algo, "--steps", str(args.steps)]
    train_argv += ["--checkpoint-every", str(chunk)]
    train_argv += ["--num-envs", str(args.num_envs)] if args.num_envs else []
    return {
        "env": args.env,
        "algo": args.algo,
        "argv": train_argv,
        "config": list(args.config),
        "space": space_words(args.space, args.space_file),
        "seeds": list(args.seeds),
        "metric": metric_and_mode(args)[0],
        "mode": metric_and_mode(args)[1],
        "keys": list(space),
        "root": str(out / "trials"),
        "train": str(TRAIN),
        "scheduler": args.scheduler,
        "chunks": math.ceil(args.steps / chunk),
        "cpus_per_trial": args.cpus_per_trial,
        "max_concurrent": args.max_concurrent,
        "samples": args.samples,
        "command": [sys.argv[0], *(argv if argv is not None else sys.argv[1:])],
    }


def new_tuner(settings: dict[str, Any], out: Path, trainable: Any, callback: Any) -> Any:
    """A Tuner of the sweep ``settings`` describe, keeping its experiment in ``out/tune``."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    if settings["scheduler"] == "asha":
        scheduler = ASHAScheduler(
            time_attr="training_iteration",
            max_t=settings["chunks"],
            grace_period=max(1, settings["chunks"] // 4),
        )
    else:
        scheduler = FIFOScheduler()
    space = checked_space(settings["algo"], tuple(settings["space"]), None, settings["config"])
    param_space = tune_space(space, tuple(settings["seeds"]))
    param_space["__sweep"] = settings
    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric=settings["metric"],
            mode=settings["mode"],
            scheduler=scheduler,
            num_samples=settings["samples"],
            max_concurrent_trials=settings["max_concurrent"],
        ),
        run_config=tune.RunConfig(
            storage_path=str(out), name="tune", verbose=0, callbacks=[callback]
        ),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(Args, __doc__, argv, check=problem)
    import ray
    from ray import tune

    if args.resume:
        out = Path(args.resume).resolve()
        try:
            settings = json.loads((out / "sweep.json").read_text())
        except (OSError, ValueError) as exc:
            print(f"tune.py: error: {out / 'sweep.json'} is not readable: {exc}", file=sys.stderr)
            return 2
    else:
        out = sweep_out(args)
        settings = new_settings(args, out, argv)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out / "sweep.json", (json.dumps(settings, indent=1) + "\n").encode())
    for stale in OUTPUTS:  # an earlier session's summary is never left beside this one's trials
        (out / stale).unlink(missing_ok=True)
    restore = tune.Tuner.can_restore(str(out / "tune"))
    if not restore:  # killed before Tune saved the experiment: start it again, from nothing
        if "space" not in settings:
            print(
                f"tune.py: error: {out} was killed before Tune saved its experiment, and its "
                "sweep.json predates the saved search space; start a new sweep",
                file=sys.stderr,
            )
            return 2
        for stale in ("tune", "trials"):
            shutil.rmtree(out / stale, ignore_errors=True)
    (out / STATUS).unlink(missing_ok=True)
    ray.init(ray_address(args.address), include_dashboard=False, log_to_driver=False)
    try:
        trainable = tune.with_resources(run_trial, {"cpu": settings["cpus_per_trial"]})
        if restore:
            tuner = tune.Tuner.restore(
                str(out / "tune"), trainable, resume_unfinished=True, resume_errored=True
            )
        else:
            tuner = new_tuner(settings, out, trainable, TrialStatusFile(out / STATUS))
        results = tuner.fit()
    finally:
        ray.shutdown()
    try:
        statuses = json.loads((out / STATUS).read_text())
    except (OSError, ValueError):
        statuses = {}  # Tune ended without its end callback: judged by the budget done
    summary, left = summarize(out, results, settings, statuses)
    if results.errors:
        for error in results.errors:
            print(f"a trial failed: {error}", file=sys.stderr)
        print(
            f"{len(results.errors)} trial(s) failed; --resume {out} retries them", file=sys.stderr
        )
        return 1
    if left:
        print(
            f"interrupted: {len(left)} trial(s) unfinished (results.csv: status); the ranking "
            f"in best.md is partial; continue with --resume {out}",
            file=sys.stderr,
        )
        return 130
    if summary:
        best = summary[0]
        shown = ", ".join(f"{k}={best[k]}" for k in settings["keys"]) or "the fixed config"
        print(f"best: {shown}: {settings['metric']} {best['mean']:.4g} ± {best['sd']:.2g}")
    print(f"wrote {out / 'results.csv'}, {out / 'best.md'}, {out / 'curves.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
