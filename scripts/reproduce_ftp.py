"""GPT against Future Token Prediction on ToyCoding-v0 (Walker 2024, arXiv 2410.18160).

    python scripts/reproduce_ftp.py --out results/ftp              # default run, < 5 min
    python scripts/reproduce_ftp.py --out results/ftp-full --full  # the long version

Two regimes, each over ``--seeds`` seeds, each model against the same held-out prompts:

* ``few``: one fixed set of ``--corpus-size`` (1000) training programs, drawn with
  replacement in batches of 128, ``--few-steps`` (800) steps: the data-limited regime.
* ``fresh``: a new batch of training programs every step, no repeats, ``--fresh-steps``
  steps (600; 3000 with ``--full``).

Runs (``--runs``; default ``ftp,gpt_regularised``, the first three with ``--full``), AdamW
with a cosine schedule, batch 128:

* ``ftp``: a causal transformer encoder; each top-layer vector is projected to M
  pseudo-tokens which a one-layer decoder attends to while predicting the next N tokens,
  loss weights γ^k.
* ``gpt``: the same encoder with a next-token head.
* ``gpt_regularised``: ``gpt`` with what a practitioner adds against overfitting:
  dropout, stronger weight decay, and early stopping on the next-token loss of held-out
  training-split programs (the best weights are kept).
* ``gpt_matched_params`` (fresh regime only): GPT with the encoder depth whose parameter
  count is closest to FTP's.
* ``gpt_matched_compute`` (fresh regime only): ``gpt`` for as many steps as take it the
  CPU time FTP took (seed 0 of this run).

Every ``--eval-every`` steps (and at step 0) each run records its greedy success on
``--eval-prompts`` held-out prompts and its next-token loss (nats per program token) on
500 held-out training-split programs. Reported per regime, as mean over seeds with a 95 %
t-interval (quadgym.stats) and FTP against each other run paired by seed (two-sided
paired t-test): the final greedy (and sampled) success, the adjacent cosine (mean cosine
of neighbouring top-layer vectors over held-out programs) against the same network at
initialisation, the next-token loss, and the comparison at equal next-token loss: on
each seed, the success of both models where their loss first falls to the lowest loss
both reach (linearly interpolated between checkpoints: "first"), and at their last
checkpoint at or below it ("last").

The jobs (regime, run, seed) run in ``--workers`` spawned processes, torch on one
thread each. Writes to ``--out``: ``jobs.jsonl`` (each job's result as it finishes),
``results.json`` (``setup``; per regime and run the per-seed lists; ``summary``;
``seconds``), ``tables.md`` (the tables printed), and the
figures ``ftp_success.png`` (success against steps), ``ftp_loss_matched.png`` (success
against next-token loss) and ``ftp_cosine.png`` (cosine of neighbouring vectors along
the program, the paper's smoothness figure). Wall times: docs/ftp.md.
"""

import concurrent.futures
import dataclasses
import json
import math
import multiprocessing
import time
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")
import gymnasium as gym  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import quadgym  # noqa: E402
from quadgym.cli import parse_args  # noqa: E402
from quadgym.config import TypedConfig, param  # noqa: E402
from quadgym.stats import paired_test, t_interval  # noqa: E402

#: The runs, in the order they are reported.
RUNS = ("ftp", "gpt", "gpt_regularised", "gpt_matched_params", "gpt_matched_compute")
Run = Literal[RUNS]
REGIMES = ("few", "fresh")
Regime = Literal[REGIMES]
#: Runs made in the fresh regime only (on a fixed corpus, more steps or parameters
#: mostly mean more overfitting).
FRESH_ONLY = ("gpt_matched_params", "gpt_matched_compute")
#: What each matched run is sized from.
NEEDS = {"gpt_matched_params": ("ftp",), "gpt_matched_compute": ("ftp", "gpt")}
#: (default run, ``--full``) values of the fields left at None.
PRESETS = {
    "fresh_steps": (600, 3000),
    "runs": (("ftp", "gpt_regularised"), ("ftp", "gpt", "gpt_regularised")),
    "eval_prompts": (200, 500),
}
#: Summary fields: greedy and sampled success, adjacent cosine, next-token loss (nats).
FIELDS = ("success_rate", "success_rate_sampled", "adjacent_cosine", "validation_loss")


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    out: str = param("results/ftp", "output directory (results.json, tables.md, figures)")
    full: bool = param(
        False,
        "the long version: 3000 fresh-data steps, runs ftp,gpt,gpt_regularised, 500 prompts",
    )
    regimes: tuple[Regime, ...] = param(
        REGIMES, "regimes, comma-separated: few (a fixed corpus), fresh (new programs)"
    )
    seeds: int = param(5, "seeds per run: 0, 1, ... (the intervals need >= 2)", ge=1)
    workers: int = param(2, "processes the jobs (regime, run, seed) are spread over", ge=1)
    few_steps: int = param(800, "training steps (gradient updates) in the few regime", ge=1)
    fresh_steps: int | None = param(
        None, "training steps in the fresh regime; none: 600, 3000 with --full", ge=1
    )
    corpus_size: int = param(1000, "training programs of the few regime's fixed corpus", ge=1)
    eval_every: int = param(100, "steps between checkpoints (success and loss)", ge=1)
    eval_prompts: int | None = param(
        None, "held-out prompts per evaluation; none: 200, 500 with --full", ge=1
    )
    d_model: int = param(64, "transformer width", ge=1)
    layers: int = param(2, "encoder layers of gpt and ftp", ge=1)
    n_future: int = param(3, "tokens ftp predicts from each position (N)", ge=1)
    pseudo_len: int = param(4, "pseudo-tokens per top-layer vector in ftp (M)", ge=1)
    gamma: float = param(0.5, "ftp's loss weight γ^k of the k-th future token", gt=0, le=1)
    reg_dropout: float = param(0.1, "gpt_regularised: dropout in the encoder", ge=0, lt=1)
    reg_weight_decay: float = param(0.1, "gpt_regularised: AdamW weight decay", ge=0)
    reg_early_stop_every: int = param(
        50, "gpt_regularised: updates between early-stopping checks (0: off)", ge=0
    )
    reg_patience: int = param(4, "gpt_regularised: checks without improvement to stop", ge=1)
    lr: float = param(2e-3, "AdamW peak step size (cosine schedule)", gt=0)
    batch_size: int = param(128, "programs per step", ge=1)
    value_range: int = param(32, "register values 0..R-1 of ToyCoding-v0 (R)", ge=2)
    min_ops: int = param(3, "fewest operations in a program (K)", ge=1)
    max_ops: int = param(6, "most operations in a program (K)", ge=1)
    runs: tuple[Run, ...] | None = param(
        None,
        "the runs to make, comma-separated; none: ftp,gpt_regularised; with --full also gpt",
    )

    def resolved(self, field: str) -> Any:
        """``field``'s value, or the preset of the default run or ``--full`` if None."""
        value = getattr(self, field)
        return PRESETS[field][int(self.full)] if value is None else value

    def check(self) -> None:
        """At least one run and regime, each once, and the runs a matched run is sized from."""
        runs = self.resolved("runs")
        for name, chosen in (("runs", runs), ("regimes", self.regimes)):
            if not chosen:
                raise ValueError(f"{name} must name at least one")
            if len(set(chosen)) != len(chosen):
                raise ValueError(f"{name} must name each once, got {','.join(chosen)}")
        for run, needs in NEEDS.items():
            missing = [n for n in needs if run in runs and n not in runs]
            if missing:
                raise ValueError(
                    f"runs: {run} is sized from {' and '.join(needs)}; add {', '.join(missing)}"
                )
        if self.min_ops > self.max_ops:
            raise ValueError(f"min_ops ({self.min_ops}) must be <= max_ops ({self.max_ops})")


# ------------------------------------------------------------------- one job
def run_job(job: dict) -> dict:
    """Train one model on one seed in one regime; checkpoints every ``eval_every`` steps.

    ``job``: ``plugin``, ``seed``, ``steps``, ``eval_every``, ``eval_prompts``, ``env``
    (ToyCoding-v0 keywords) and ``config`` (the plugin's). Returns the final scores,
    the curve ``[(steps, success, next-token loss), ...]`` from step 0, the adjacent
    cosine and its per-position profile, the same at initialisation, and the training
    wall and CPU seconds. Runs in a worker process: torch on one thread.
    """
    torch.set_num_threads(1)
    env = gym.make("ToyCoding-v0", **job["env"])
    algo = quadgym.make_algo(
        job["plugin"], env, seed=job["seed"], horizon=job["steps"], **job["config"]
    )
    n_eval, steps = job["eval_prompts"], job["steps"]
    init_cosine = algo.adjacent_cosine(n_eval)
    init_profile = algo.adjacent_cosine_profile(n_eval)
    curve = [(0, algo.evaluate(n_eval), algo.validation_loss())]
    seconds = cpu = 0.0
    while algo.steps_done < steps:
        wall, start = time.perf_counter(), time.process_time()
        algo.learn(min(job["eval_every"], steps - algo.steps_done))
        seconds += time.perf_counter() - wall
        cpu += time.process_time() - start
        curve.append((algo.steps_done, algo.evaluate(n_eval), algo.validation_loss()))
    stopped = [s for s, _ in algo.val_history][-1] if algo.stopped else None
    return {
        "success_rate": curve[-1][1],
        "success_rate_sampled": algo.evaluate(n_eval, greedy=False),
        "adjacent_cosine": algo.adjacent_cosine(n_eval),
        "cosine_profile": algo.adjacent_cosine_profile(n_eval),
        "init_cosine": init_cosine,
        "init_cosine_profile": init_profile,
        "validation_loss": curve[-1][2],
        "params": algo.params,
        "stopped_at": stopped,
        "train_seconds": seconds,
        "cpu_seconds": cpu,
        "curve": curve,
    }


def matched_layers(args: Args, target: int) -> int:
    """Encoder depth whose GPT parameter count is closest to ``target``."""
    env = gym.make("ToyCoding-v0", value_range=args.value_range, max_ops=args.max_ops)
    counts = {
        layers: quadgym.make_algo("gpt", env, d_model=args.d_model, layers=layers).params
        for layers in range(1, 13)
    }
    return min(counts, key=lambda k: abs(counts[k] - target))


def ftp_params(args: Args) -> int:
    """FTP's trainable parameters (for ``gpt_matched_params``)."""
    env = gym.make("ToyCoding-v0", value_range=args.value_range, max_ops=args.max_ops)
    return quadgym.make_algo("ftp", env, **networks(args)["ftp"][1]).params


def networks(args: Args) -> dict[str, tuple[str, dict]]:
    """Run key -> (plugin, config) of the runs whose shape needs no other run."""
    enc = {"d_model": args.d_model, "layers": args.layers}
    return {
        "ftp": (
            "ftp",
            {**enc, "n_future": args.n_future, "pseudo_len": args.pseudo_len, "gamma": args.gamma},
        ),
        "gpt": ("gpt", enc),
        "gpt_regularised": (
            "gpt",
            {
                **enc,
                "dropout": args.reg_dropout,
                "weight_decay": args.reg_weight_decay,
                "early_stop_every": args.reg_early_stop_every,
                "patience": args.reg_patience,
            },
        ),
    }


def plan_jobs(args: Args) -> list[dict]:
    """Every job that needs no other job's result (all but ``gpt_matched_compute``),
    seed by seed (so an interrupted run has whole seeds), most expensive first."""
    nets = networks(args)
    runs = args.resolved("runs")
    if "gpt_matched_params" in runs:
        nets["gpt_matched_params"] = (
            "gpt",
            {"d_model": args.d_model, "layers": matched_layers(args, ftp_params(args))},
        )
    jobs = []
    for regime in args.regimes:
        steps = args.few_steps if regime == "few" else args.resolved("fresh_steps")
        for key in runs:
            if key not in nets or (regime == "few" and key in FRESH_ONLY):
                continue
            for seed in range(args.seeds):
                jobs.append(job_spec(args, regime, key, seed, steps, *nets[key]))
    cost = {"ftp": 3.0, "gpt_matched_params": 2.0}  # per step, relative to gpt's
    return sorted(jobs, key=lambda j: (j["seed"], -j["steps"] * cost.get(j["key"], 1.0)))


def job_spec(
    args: Args, regime: str, key: str, seed: int, steps: int, plugin: str, config: dict
) -> dict:
    """The picklable description of one job that :func:`run_job` runs."""
    return {
        "regime": regime,
        "key": key,
        "seed": seed,
        "steps": steps,
        "plugin": plugin,
        "config": {
            **config,
            "lr": args.lr,
            "batch_size": args.batch_size,
            "corpus_size": args.corpus_size if regime == "few" else None,
        },
        "env": {"value_range": args.value_range, "min_ops": args.min_ops, "max_ops": args.max_ops},
        "eval_every": args.eval_every,
        "eval_prompts": args.resolved("eval_prompts"),
    }


def run_all(args: Args, log: Path) -> dict[str, dict[str, dict]]:
    """Every job, in ``--workers`` processes (or this one): regime -> run -> result
    lists over seeds. ``gpt_matched_compute`` starts once seed 0 of ``ftp`` and ``gpt``
    in the fresh regime have given their CPU seconds. Each finished job is also
    appended to ``log`` (one JSON line), so that an interrupted run keeps what it did."""
    jobs = plan_jobs(args)
    pending_compute = "gpt_matched_compute" in args.resolved("runs") and "fresh" in args.regimes
    done: dict[tuple[str, str, int], dict] = {}

    def compute_jobs() -> list[dict]:
        ratio = done["fresh", "ftp", 0]["cpu_seconds"] / done["fresh", "gpt", 0]["cpu_seconds"]
        fresh = args.resolved("fresh_steps")
        steps = max(1, int(round(fresh * ratio / args.eval_every))) * args.eval_every
        key, (plugin, config) = "gpt_matched_compute", networks(args)["gpt"]
        return [job_spec(args, "fresh", key, s, steps, plugin, config) for s in range(args.seeds)]

    def finished(job: dict, result: dict) -> None:
        done[job["regime"], job["key"], job["seed"]] = {**result, "steps": job["steps"]}
        with log.open("a") as f:
            f.write(json.dumps({"job": job, "result": result}) + "\n")
        print(
            f"  {job['regime']:<5} {job['key']:<20} seed {job['seed']}: "
            f"success {result['success_rate']:.3f}, cosine {result['adjacent_cosine']:.3f} "
            f"(init {result['init_cosine']:.3f}), loss {result['validation_loss']:.3f}, "
            f"{result['train_seconds']:.0f} s",
            flush=True,
        )

    def ready() -> bool:
        return all(("fresh", k, 0) in done for k in ("ftp", "gpt"))

    if args.workers == 1:
        for job in jobs:
            finished(job, run_job(job))
        if pending_compute:
            for job in compute_jobs():
                finished(job, run_job(job))
    else:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=context) as pool:
            futures = {pool.submit(run_job, job): job for job in jobs}
            while futures:
                finished_now, _ = concurrent.futures.wait(
                    futures, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in finished_now:
                    finished(futures.pop(future), future.result())
                if pending_compute and ready():
                    pending_compute = False
                    futures.update({pool.submit(run_job, job): job for job in compute_jobs()})
    results: dict[str, dict[str, dict]] = {}
    for (regime, key, _), r in sorted(done.items()):
        run = results.setdefault(regime, {}).setdefault(key, {})
        for field, value in r.items():
            run.setdefault(field, []).append(value)
    for runs in results.values():
        for run in runs.values():
            run["params"], run["steps"] = run["params"][0], run["steps"][0]
    return {regime: {k: runs[k] for k in RUNS if k in runs} for regime, runs in results.items()}


# ------------------------------------------------------------------ analysis
def success_at_loss(curve: list, level: float) -> float:
    """Success where the next-token loss of ``curve`` ``[(steps, success, loss), ...]``
    first falls to ``level``, linearly interpolated in loss between the checkpoints on
    either side; NaN if it never does."""
    _, success0, loss0 = curve[0]
    if loss0 <= level:
        return float(success0)
    for (_, s0, l0), (_, s1, l1) in zip(curve[:-1], curve[1:], strict=True):
        if l1 <= level:
            w = (l0 - level) / (l0 - l1)
            return float(s0 + w * (s1 - s0))
    return math.nan


def success_below_loss(curve: list, level: float) -> float:
    """Success at the last checkpoint of ``curve`` whose next-token loss is at or below
    ``level`` (NaN if none): a model whose held-out loss rises again while its success
    still grows is judged by its latest checkpoint at that loss, not its first."""
    below = [success for _, success, loss in curve if loss <= level]
    return float(below[-1]) if below else math.nan


def loss_matched(a: dict, b: dict) -> dict:
    """Run ``a`` against run ``b`` at equal next-token loss, seed by seed: the level is
    the lowest loss both curves reach on that seed; ``a``, ``b``: each run's success
    where its loss first falls to it, ``a_last``, ``b_last``: at its last checkpoint at
    or below it; with their paired tests (a − b), ``test`` and ``test_last``."""
    levels, sa, sb, la, lb = [], [], [], [], []
    for ca, cb in zip(a["curve"], b["curve"], strict=True):
        level = max(min(c[2] for c in ca), min(c[2] for c in cb))
        levels.append(level)
        sa.append(success_at_loss(ca, level))
        sb.append(success_at_loss(cb, level))
        la.append(success_below_loss(ca, level))
        lb.append(success_below_loss(cb, level))
    return {
        "level": levels,
        "a": sa,
        "b": sb,
        "a_last": la,
        "b_last": lb,
        "test": paired_test(sa, sb),
        "test_last": paired_test(la, lb),
    }


def summary(runs: dict[str, dict]) -> dict[str, dict]:
    """One regime: per run the mean and 95 % t-interval over seeds of :data:`FIELDS` and
    of the cosine at initialisation (``[mean, low, high]``) and the cosine's rise from
    initialisation paired by seed (``cosine_vs_init``); ``ftp_vs_<run>``: FTP against
    each other run paired by seed, on :data:`FIELDS` and at equal next-token loss."""
    out: dict[str, dict] = {}
    for key, run in runs.items():
        out[key] = {f: list(t_interval(run[f])) for f in (*FIELDS, "init_cosine")}
        out[key]["cosine_vs_init"] = paired_test(run["adjacent_cosine"], run["init_cosine"])
    if "ftp" in runs:
        for key, run in runs.items():
            if key != "ftp":
                out[f"ftp_vs_{key}"] = {f: paired_test(runs["ftp"][f], run[f]) for f in FIELDS}
                out[f"ftp_vs_{key}"]["loss_matched"] = loss_matched(runs["ftp"], run)
    return out


def fmt(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` decimals, an em dash for NaN."""
    return "—" if not math.isfinite(x) else f"{x:.{digits}f}"


def interval(v: list) -> str:
    """``mean [low, high]``."""
    return f"{fmt(v[0])} [{fmt(v[1])}, {fmt(v[2])}]"


def p_value(p: float) -> str:
    """A p-value to two significant digits."""
    return "—" if not math.isfinite(p) else f"{p:.2g}"


def tables(results: dict) -> str:
    """The Markdown tables of every regime: runs, paired comparisons, loss-matched."""
    lines = []
    for regime in REGIMES:
        if regime not in results:
            continue
        runs, summ = results[regime], results["summary"][regime]
        steps = {k: r["steps"] for k, r in runs.items()}
        lines += [
            f"### Regime `{regime}` (steps: "
            + ", ".join(f"{k} {s}" for k, s in steps.items())
            + ")",
            "",
            "| run | params | success greedy | per seed | success sampled "
            "| next-token loss | adjacent cosine | at initialisation |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for key, run in runs.items():
            s = summ[key]
            per_seed = ", ".join(fmt(x) for x in run["success_rate"])
            lines.append(
                f"| `{key}` | {run['params'] // 1000}k | {interval(s['success_rate'])} "
                f"| {per_seed} | {interval(s['success_rate_sampled'])} "
                f"| {interval(s['validation_loss'])} | {interval(s['adjacent_cosine'])} "
                f"| {interval(s['init_cosine'])} |"
            )
        lines += [
            "",
            "| comparison (paired by seed) | difference | 95 % interval | p | higher on |",
            "|---|---|---|---|---|",
        ]

        def row(name: str, test: dict) -> str:
            lo, hi = test["diff_ci"]
            return (
                f"| {name} | {test['diff']:+.3f} | [{lo:+.3f}, {hi:+.3f}] "
                f"| {p_value(test['p'])} | {test['higher']}/{test['n']} |"
            )

        for key in runs:
            if key == "ftp" or f"ftp_vs_{key}" not in summ:
                continue
            cmp = summ[f"ftp_vs_{key}"]
            lines.append(row(f"success, `ftp` − `{key}`", cmp["success_rate"]))
            matched = cmp["loss_matched"]
            lines.append(row(f"success at equal loss, first, `ftp` − `{key}`", matched["test"]))
            lines.append(row(f"success at equal loss, last, `ftp` − `{key}`", matched["test_last"]))
            lines.append(row(f"next-token loss, `ftp` − `{key}`", cmp["validation_loss"]))
            lines.append(row(f"adjacent cosine, `ftp` − `{key}`", cmp["adjacent_cosine"]))
        for key in runs:
            lines.append(
                row(f"adjacent cosine, `{key}` − initialisation", summ[key]["cosine_vs_init"])
            )
        lines.append("")
        for key in runs:
            if f"ftp_vs_{key}" not in summ:
                continue
            m = summ[f"ftp_vs_{key}"]["loss_matched"]
            lines.append(
                f"Equal loss (first), `ftp` against `{key}`, per seed (level, nats: ftp, {key}): "
                + "; ".join(
                    f"{fmt(lv)}: {fmt(a)}, {fmt(b)}"
                    for lv, a, b in zip(m["level"], m["a"], m["b"], strict=True)
                )
            )
        lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------- figures
def regime_axes(results: dict) -> tuple[Any, list[tuple[Any, str]]]:
    """A figure with one panel per regime in ``results``: (figure, [(axes, regime)])."""
    regimes = [r for r in REGIMES if r in results]
    fig, axes = plt.subplots(1, len(regimes), figsize=(5.5 * len(regimes), 4), squeeze=False)
    return fig, list(zip(axes[0], regimes, strict=True))


def finish(fig: Any, panels: list[tuple[Any, str]], path: Path, ylabel: str, ylim: tuple) -> None:
    """Label every panel (y axis, limits, legend) and write the figure to ``path``."""
    for ax, _ in panels:
        ax.set_ylabel(ylabel)
        ax.set_ylim(*ylim)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_success(results: dict, path: Path) -> None:
    """Success against training steps, per regime: mean over seeds and its t-interval."""
    fig, panels = regime_axes(results)
    for ax, regime in panels:
        for i, (key, run) in enumerate(results[regime].items()):
            steps = [c[0] for c in run["curve"][0]]
            success = np.array([[c[1] for c in curve] for curve in run["curve"]])
            band = np.array([t_interval(col) for col in success.T])
            ax.plot(steps, band[:, 0], color=f"C{i}", label=f"{key} ({run['params'] // 1000}k)")
            if len(success) > 1:
                ax.fill_between(steps, band[:, 1], band[:, 2], color=f"C{i}", alpha=0.2)
        ax.set_title(f"{regime} regime")
        ax.set_xlabel("training steps (batch 128)")
    finish(fig, panels, path, "success, held-out prompts (greedy)", (0, 1))


def plot_loss_matched(results: dict, path: Path) -> None:
    """Success against held-out next-token loss at every checkpoint, one line per seed,
    each ``ftp`` comparison's matched points marked (the paper compares models trained
    to the same next-token perplexity)."""
    fig, panels = regime_axes(results)
    for ax, regime in panels:
        runs, lows = results[regime], []
        for i, (key, run) in enumerate(runs.items()):
            for j, curve in enumerate(run["curve"]):
                loss = [c[2] for c in curve[1:]]
                lows.append(min(loss))
                ax.plot(
                    loss,
                    [c[1] for c in curve[1:]],
                    color=f"C{i}",
                    alpha=0.6,
                    lw=1,
                    marker=".",
                    ms=3,
                    label=key if j == 0 else None,
                )
            cmp = results["summary"][regime].get(f"ftp_vs_{key}")
            if cmp:
                m = cmp["loss_matched"]
                ax.scatter(m["level"], m["b"], color=f"C{i}", marker="D", s=25, zorder=3)
                ax.scatter(m["level"], m["a"], color="C0", marker="D", s=25, zorder=3)
        if min(lows) < 1.1:  # the plateau at the marginal-token solution is ~1.09 nats
            ax.set_xlim(1.15, min(lows) - 0.02)
        else:
            ax.invert_xaxis()
        ax.set_title(f"{regime} regime (diamonds: matched loss per seed)")
        ax.set_xlabel("held-out next-token loss, nats per token (falls to the right)")
    finish(fig, panels, path, "success, held-out prompts (greedy)", (0, 1))


def plot_cosine(results: dict, path: Path) -> None:
    """Cosine of neighbouring top-layer vectors along the program, from ``<sep>``: mean
    over seeds per run, and the networks at initialisation (dotted)."""
    fig, panels = regime_axes(results)
    for ax, regime in panels:
        for i, (key, run) in enumerate(results[regime].items()):
            for field, style, label in (
                ("cosine_profile", "-", key),
                ("init_cosine_profile", ":", f"{key} at initialisation"),
            ):
                prof = np.array(run[field], dtype=float).mean(0)
                x = np.arange(len(prof))
                ax.plot(x, prof, style, color=f"C{i}", marker="o", ms=3, label=label)
        ax.set_title(f"{regime} regime")
        ax.set_xlabel("position pair (t, t+1), t after <sep> (0: <sep>, first operation)")
    finish(fig, panels, path, "cosine of neighbouring top-layer vectors", (-0.2, 1))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(Args, __doc__, argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"setup": {**args.to_dict(), **{f: args.resolved(f) for f in PRESETS}}}
    (out / "jobs.jsonl").unlink(missing_ok=True)
    runs = run_all(args, out / "jobs.jsonl")
    results.update(runs)
    results["summary"] = {regime: summary(r) for regime, r in runs.items()}
    text = tables(results)
    print(text)
    (out / "tables.md").write_text(text + "\n")
    plot_success(results, out / "ftp_success.png")
    plot_loss_matched(results, out / "ftp_loss_matched.png")
    plot_cosine(results, out / "ftp_cosine.png")
    results["seconds"] = time.perf_counter() - start
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"wrote {out}/: results.json, tables.md, ftp_*.png ({results['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
