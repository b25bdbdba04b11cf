"""Score controllers on the drone tasks: the same seeded episodes, each task's own metrics.

    python scripts/benchmark.py --tasks all --controllers pid --out results/benchmark
    python scripts/benchmark.py --tasks QuadTrack-v0 --controllers pid runs/QuadTrack-v0-ppo-s0
    python scripts/benchmark.py --tasks QuadHover-v0 --controllers mypkg.control:MyController
    python scripts/benchmark.py --tasks all --controllers pid --perturbations mild
    python scripts/benchmark.py --tasks QuadHover-v0 --controllers pid lqr \
        baselines/QuadHover-v0-ppo-robust-s0 --perturbations none mild harsh heldout \
        --drone-models cf2x cf2p

Every controller flies ``--episodes`` episodes of every task (seeds ``--seed``,
``--seed`` + 1, ...), the same ones for all, under ``--perturbations`` if given
(wind, mass, inertia, sensor noise, action delay: quadgym.envs.quad.sim.perturb; ``heldout``
lies beyond every training range of ``randomize``) and on each of ``--drone-models`` (the
cf2p: an airframe no policy here trained on). A
controller is an algorithm plugin that needs no training (``pid``), a run directory
of ``scripts/train.py`` (scored on the env it was trained on), or
``package.module:Class``: a class built as ``Class(env)`` with ``reset()`` and
``act(observation, deterministic=True)``. A controller that cannot fly a task
(a plugin without support) is listed as skipped under the task's table (a run of
another env: in results.json only, so that one command can name every task's
trained run). Metrics come
from each task (``task.summarize``): hover final error and time to within 0.10 m,
tracking RMS error, landing success and touchdown speed, gates passed and
collisions, crashes; on the multi-agent envs (PettingZoo; a controller acts for every
drone, on dicts keyed by agent): completed (every drone within 0.10 m of its goal at
the end, no crash or collision), collisions, crashes, worst final error.

``--workers N`` splits each controller's episodes into N shares flown in parallel, each
with its own PyBullet world: by spawned processes, or (``--executor ray``) by Ray tasks
on the cluster of ``--address`` (or ``RAY_ADDRESS``; neither: an embedded local Ray).
The numbers are the sequential ones either way.

Writes into ``--out``: ``results.json`` (every episode's metrics, the command and the
code version), ``leaderboard.md`` (per task, controller by metric: mean and 95 %
t-interval over episodes, the best controller per metric in bold) and a PNG per
task (each metric's distribution per controller; for QuadTrack-v0 also the
reference and each controller's path of the first episode). ``--out`` must be new, empty
or an earlier benchmark's (``quadgym.outdir.claim``): everything an earlier run wrote there
is removed before the first episode, and every file is written through a rename, so a
killed run leaves only its own PNGs, never the previous command's tables beside them.
"""

import dataclasses
import importlib.util
import json
import math
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from quadgym.cli import parse_args  # noqa: E402
from quadgym.config import TypedConfig, param  # noqa: E402
from quadgym.envs.quad.sim.models import MODEL_NAMES  # noqa: E402
from quadgym.envs.quad.sim.perturb import parse_perturb  # noqa: E402
from quadgym.envs.quad.tasks.suite import TASK_ENVS  # noqa: E402
from quadgym.evaluation import (  # noqa: E402
    EXECUTORS,
    best,
    controller_interface,
    controller_problem,
    interval,
    is_team,
    load_controller,
    make_env,
    process_pool,
    ray_address,
    score_many,
)
from quadgym.files import atomic_write_bytes  # noqa: E402
from quadgym.outdir import claim, claim_problem, save_figure  # noqa: E402
from quadgym.repro.format import dec, sig  # noqa: E402

#: The tasks ``--tasks all`` names: the single-drone envs and the multi-agent ones.
ALL_TASKS = TASK_ENVS
#: The owner named in ``--out``'s mark (quadgym.outdir).
OWNER = "scripts/benchmark.py"


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    tasks: tuple[str, ...] = param(("all",), "task ids, or 'all' for " + ", ".join(ALL_TASKS))
    controllers: tuple[str, ...] = param(
        ("pid",), "plugin names, run directories or package.module:Class"
    )
    episodes: int = param(20, "episodes per task and controller", ge=1)
    perturbations: tuple[str, ...] = param(
        ("none",),
        "perturbation sets, each a section of its own: 'none', 'mild', 'harsh' or text such "
        "as 'wind=(0.02,0,0),mass=1.2'",
    )
    drone_models: tuple[str, ...] = param(
        ("cf2x",),
        "airframes, each a section of its own beside cf2x's (e.g. cf2p: held out from "
        "every policy trained here, all on cf2x)",
    )
    seed: int = param(1000, "seed of the first episode (the next ones count up)", ge=0)
    workers: int = param(1, "shares the episodes are split into (the same results)", ge=1)
    executor: str = param(
        "processes", "what flies the shares: spawned 'processes' or 'ray' tasks", choices=EXECUTORS
    )
    address: str | None = param(
        None, "Ray cluster address (--executor ray; default RAY_ADDRESS, else a local Ray)"
    )
    out: str = param("results/benchmark", "directory for results.json, leaderboard.md, PNGs")


def task_ids(args: Args) -> list[str]:
    return list(ALL_TASKS) if "all" in args.tasks else list(args.tasks)


def not_runnable(args: Args) -> str | None:
    """Why the arguments cannot run (an unknown task id, a controller that is none of
    the three kinds or does not import), or None."""
    unknown = [t for t in task_ids(args) if t not in ALL_TASKS]
    if unknown:
        return f"unknown task(s) {unknown}; allowed: {', '.join(ALL_TASKS)} or all"
    for perturb in args.perturbations:
        try:
            parse_perturb(perturb)
        except (TypeError, ValueError) as exc:
            return f"--perturbations: {exc}"
    odd = [m for m in args.drone_models if m not in MODEL_NAMES]
    if odd:
        return f"--drone-models: unknown {odd}; allowed: {', '.join(MODEL_NAMES)}"
    for spec in args.controllers:
        problem = controller_problem(spec)
        if problem:
            return problem
    if args.executor == "ray" and importlib.util.find_spec("ray") is None:
        return "--executor ray needs Ray: pip install -e '.[ray]'"
    if args.address is not None and args.executor != "ray":
        return "--address is the Ray cluster of --executor ray"
    return claim_problem(args.out, OWNER)


#: Each metric's unit in the tables' legends ("" where it has none).
UNITS = {
    "final_error": "m",
    "time_to_target": "s",
    "settle_time": "s",
    "rms_error": "m",
    "max_error": "m",
    "max_final_error": "m",
    "touchdown_speed": "m/s",
    "seconds": "s flown",
    "effort": "Σ(ω/ω_hover)²·s over the episode: 4 per second of hover",
    "effort_per_s": "Σ(ω/ω_hover)² per second flown: 4 at hover",
    "crashed": "fraction of episodes",
    "landed": "fraction of episodes",
    "completed": "fraction of episodes",
    "collided": "fraction of episodes",
    "collisions": "fraction of episodes",
}


def label(spec: str) -> str:
    """A controller's short label in tables and plots: a run directory's name without its
    env id (``baselines/QuadHover-v0-ppo-s0`` -> ``ppo-s0``), a class's name, a plugin's."""
    if ":" in spec:
        return spec.rpartition(":")[2]
    name = Path(spec).name if trained_on(spec) else spec
    env = trained_on(spec)
    return name[len(env) + 1 :] if env and name.startswith(env + "-") else name


def cell(mean: float, half: float) -> str:
    """``mean ± half`` to 3 decimals; the mean alone where every episode scored the same
    (a deterministic metric: no ``± 0.000``) or the interval is undefined; a half-width
    below 0.0005 to one significant digit."""
    if not math.isfinite(half) or half == 0.0:
        return dec(mean)
    return f"{dec(mean)} ± {dec(half) if half >= 0.0005 else sig(half, 1)}"


def legend(metrics: list[str], goals: dict[str, str | None]) -> str:
    """One line naming each metric's unit and which way is better."""
    way = {"min": "lower is better", "max": "higher is better"}
    parts = []
    for m in metrics:
        bits = [b for b in (UNITS.get(m, ""), way.get(goals.get(m), "")) if b]
        parts.append(f"{m}: {'; '.join(bits)}" if bits else m)
    return "Units: " + " · ".join(parts) + "."


def leaderboard(results: dict) -> str:
    """The markdown tables: per task, controllers by metric, best per metric in bold among
    the controllers that never crashed (a crashed controller is never bold), with a legend
    of units and directions."""
    lines = [
        "# Leaderboard",
        "",
        f"Regenerate with `python {results['command']}` (commit {results['commit']}).",
        "",
    ]
    for task, rows in results["tasks"].items():
        lines += [f"## {task}", ""]
        scored = {c: r for c, r in rows.items() if "summary" in r}
        if not scored:
            lines += ["(no controller could fly it)", ""]
            continue
        metrics = list(next(iter(scored.values()))["summary"])
        goals = next(iter(scored.values()))["goals"]
        lines.append("| controller | " + " | ".join(metrics) + " |")
        lines.append("|---" * (len(metrics) + 1) + "|")
        flying = {c: r for c, r in scored.items() if r["summary"].get("crashed", (0.0,))[0] == 0}
        tops = {
            m: best(goals[m], {c: r["summary"][m][0] for c, r in flying.items()}) for m in metrics
        }
        for c, r in scored.items():
            cells = []
            for m in metrics:
                text = cell(*r["summary"][m])
                cells.append(f"**{text}**" if c in tops[m] else text)
            lines.append(f"| {label(c)} | " + " | ".join(cells) + " |")
        skipped = {
            c: r["skipped"] for c, r in rows.items() if "skipped" in r and not r["elsewhere"]
        }
        lines += ["", legend(metrics, goals)]
        lines += [""] + [f"- {label(c)} skipped: {why}" for c, why in skipped.items()] + [""]
    n = results["episodes"]
    lines.append(
        f"Mean ± 95 % t half-width over {n} episodes (seeds {results['seeds']}); the mean "
        "alone where every episode scored the same. Bold: the best among the controllers "
        "that crashed in no episode."
    )
    if "wall_clock_s" in results:
        lines.append(f"Wall clock of the whole run: {results['wall_clock_s']} s.")
    return "\n".join(lines) + "\n"


def plot(task: str, rows: dict, episodes: dict, out: Path) -> None:
    """One PNG per task: each metric per controller (dots per episode, mean bar), and
    for tracking the reference with each controller's first path (x, y)."""
    scored = [c for c in rows if "summary" in rows[c]]
    if not scored:
        return
    metrics = list(rows[scored[0]]["summary"])
    extra = 1 if task.startswith("QuadTrack-v0") else 0
    fig, axes = plt.subplots(1, len(metrics) + extra, figsize=(3.2 * (len(metrics) + extra), 3))
    for ax, m in zip(axes, metrics, strict=False):
        for i, c in enumerate(scored):
            values = [e.metrics[m] for e in episodes[c]]
            ax.plot([i] * len(values), values, ".", alpha=0.5)
            ax.hlines(rows[c]["summary"][m][0], i - 0.3, i + 0.3, color="k")
        ax.set_xticks(range(len(scored)), [label(c) for c in scored], rotation=30, fontsize=7)
        ax.set_title(m, fontsize=9)
    if extra:
        ax = axes[-1]
        first = episodes[scored[0]][0]
        ax.plot(first.goals[:, 0], first.goals[:, 1], "k--", label="reference")
        for c in scored:
            ax.plot(episodes[c][0].path[:, 0], episodes[c][0].path[:, 1], label=label(c))
        ax.set_aspect("equal")
        ax.legend(fontsize=7)
        ax.set_title("first episode, x-y (m)", fontsize=9)
    fig.suptitle(task)
    fig.tight_layout()
    save_figure(fig, out / f"{task.replace(' ', '_')}.png", dpi=100)
    plt.close(fig)


def trained_on(spec: str) -> str | None:
    """The env id a run directory was trained on (None: ``spec`` is not a run)."""
    state = Path(spec, "state.json")
    return json.loads(state.read_text())["env"] if state.is_file() else None


def evaluate(
    task: str,
    perturb: str,
    seeds: list[int],
    args: Args,
    pool: Any = None,
    model: str = "cf2x",
) -> tuple[dict, dict]:
    """Every controller on ``task`` under ``perturb`` on the airframe ``model`` (its
    episodes' shares flown by ``pool`` when given): the rows of the results (summary,
    metric goals, episodes; or why it was skipped) and the flown episodes."""
    kwargs = {} if model == "cf2x" else {"drone_model": model}
    rows, flown = {}, {}
    for spec in args.controllers:
        if trained_on(spec) not in (None, task):  # another task's run: not loaded at all
            rows[spec] = {"skipped": f"trained on {trained_on(spec)}", "elsewhere": True}
            continue
        env = make_env(task, perturb=perturb, **kwargs, **controller_interface(spec))
        try:
            load_controller(spec, env)  # can it fly this task? (else: skipped, and why)
        except ValueError as exc:
            rows[spec] = {"skipped": str(exc), "elsewhere": False}
            continue
        finally:
            env.close()
        episodes = score_many(task, spec, seeds, perturb, args.workers, args.executor, pool, kwargs)
        own = env.unwrapped.task
        goals = {**(own.team_metric_goals if is_team(env) else own.metric_goals)}
        goals["effort_per_s"] = "min"
        for e in episodes:  # effort per second flown: a controller that crashed early is
            # not cheap for having flown less (NaN where the task reports no effort)
            if "effort" in e.metrics and e.metrics.get("seconds"):
                e.metrics["effort_per_s"] = e.metrics["effort"] / e.metrics["seconds"]
        metrics = list(episodes[0].metrics)
        rows[spec] = {
            "summary": {m: interval([e.metrics[m] for e in episodes]) for m in metrics},
            "goals": {m: goals.get(m) for m in metrics},
            "episodes": [{"seed": e.seed, **e.metrics} for e in episodes],
        }
        flown[spec] = episodes
        means = "  ".join(f"{m} {rows[spec]['summary'][m][0]:.3f}" for m in metrics)
        print(f"{task:<14} {perturb:<8} {label(spec):<28} {means}")
    return rows, flown


def main(argv: list[str] | None = None) -> int:
    args = parse_args(Args, __doc__, argv, check=not_runnable)
    out = Path(args.out)
    seeds = list(range(args.seed, args.seed + args.episodes))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    results = {
        "command": shlex.join(sys.argv),
        "commit": commit or None,
        "quadgym_args": args.to_dict(),
        "episodes": args.episodes,
        "seeds": f"{seeds[0]}-{seeds[-1]}",
        "tasks": {},
    }
    claim(out, OWNER)  # an earlier run's results, tables and PNGs go before the first episode
    start = time.perf_counter()
    ray = pool = None
    if args.executor == "ray":
        import ray

        ray.init(ray_address(args.address), include_dashboard=False, log_to_driver=False)
    elif args.workers > 1:
        pool = process_pool(args.workers)  # one start of the processes for the whole run
    try:
        for task in task_ids(args):
            for model in args.drone_models:
                for perturb in args.perturbations:
                    section = task if perturb == "none" else f"{task} under {perturb}"
                    section += "" if model == "cf2x" else f" on {model}"
                    rows, flown = evaluate(task, perturb, seeds, args, pool, model)
                    results["tasks"][section] = rows
                    plot(section, rows, flown, out)
    finally:
        if ray is not None:
            ray.shutdown()
        if pool is not None:
            pool.shutdown()
    results["wall_clock_s"] = round(time.perf_counter() - start, 1)
    atomic_write_bytes(out / "results.json", (json.dumps(results, indent=1) + "\n").encode())
    atomic_write_bytes(out / "leaderboard.md", leaderboard(results).encode())
    print(f"wrote {out / 'results.json'}, {out / 'leaderboard.md'} and a PNG per task")
    return 0


if __name__ == "__main__":
    sys.exit(main())
