"""Reproduce HARD's shift experiment on HardShift-v0 (Nix, Burg, Sinz 2023, arXiv 2305.14890).

    python scripts/reproduce_hard.py --out results/hard
    python scripts/reproduce_hard.py --out results/hard-full --full
    python scripts/reproduce_hard.py --out results/hard-toy --datasets toy --seeds 2 --workers 1

A circular CNN teacher (exactly shift invariant) is distilled into an MLP student on
signals whose pattern only starts in positions 0..7. Every method runs one distillation
of ``toy_budget`` (toy: 8 classes, noise 0.3) or ``mnist1d_budget`` (MNIST-1D) student
updates per seed; seed s also draws the data set and the teacher (``task_seed = s``). We
report the student's accuracy where the training data put the pattern (in distribution)
and everywhere else (shifted).

Methods: ``kd`` (no augmentation), ``kd_noise`` (Gaussian noise), ``kd_random_shift``
(uniform shifts: the augmentation one designs knowing the answer), ``hard`` (REINFORCE
policy over the shifts themselves), ``hard_warp``: a spatial-transformer generator of
smooth displacement fields, not handed the shift family (the env receives additive
perturbations), trained to maximise the teacher–student KL under a bound on the
transformation's size; ``hard_warp_nearest`` (the same, reading the warped signal at the
nearest sample: no interpolation blur), ``hard_warp_mix`` (HARD with the standard
augmentation: of each step's augmented signals a quarter are warped by that generator and
the rest randomly shifted) and its ablation ``hard_warp_mix_untrained`` (the generator
frozen at initialisation: random warps). With ``--full`` also ``hard_grad`` (a shift
generator with a noise input, gradient ascent on the KL) and its ablations
``hard_grad_no_noise`` (no noise input) and ``hard_grad_untrained`` (learning rate 0: its
noise alone), ``hard_warp_pathwise`` (gradient ascent instead of the score estimator),
``hard_warp_nearest_untrained`` and ``hard_warp_composed`` (the generator warps signals
that were randomly shifted first).

Statistics: mean over seeds with a 95 % t-interval; paired two-sided t-tests over seeds
(``quadgym.stats.paired_test``) for the comparisons in ``COMPARISONS``.

Writes to ``--out``: ``results.json`` (``setup``; ``runs``: per data set, per method,
per-seed lists ``acc_in_distribution``, ``acc_shifted``, ``out_of_window`` (fraction of
augmented patterns outside the window over the second half of the run), ``seconds``, and
the ``positions`` and ``shifts`` histograms over the second half summed over seeds;
``teacher``; ``summary``: intervals and paired tests; ``examples``: per data set, the
warps of a few signals by each of ``EXAMPLE_METHODS``, seed 0; ``seconds``, wall;
``cpu_seconds``, per data set and seed, of the process that ran it; written last, through a
temporary file and a rename, so that it exists only for a finished run), ``tables.md``,
``accuracy.png`` (the paper's bar chart of accuracy per method, redrawn), ``shifts.png``
(the shifts the augmentors induce and where they put the pattern) and ``warps.png`` (the
augmented inputs of ``EXAMPLE_METHODS`` next to the originals, with their displacement
fields).
"""

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import quadgym  # noqa: E402
from quadgym.cli import parse_args  # noqa: E402
from quadgym.config import TypedConfig, param  # noqa: E402
from quadgym.envs.hard.data import DATASETS  # noqa: E402
from quadgym.envs.hard.models import (  # noqa: E402
    estimate_shift,
    warp_interpolate,
    warp_nearest,
)
from quadgym.evaluation import process_pool  # noqa: E402
from quadgym.files import atomic_write_bytes  # noqa: E402
from quadgym.stats import paired_test, t_interval  # noqa: E402

#: result key -> (plugin, extra config)
#: hard_warp with the standard augmentation: a quarter of each step's augmented signals
#: warped by the generator (read at the nearest sample), the rest randomly shifted
MIX = {"sampler": "nearest", "standard": "random_shift", "warp_fraction": 0.25}
METHODS: dict[str, tuple[str, dict]] = {
    "kd": ("kd", {}),
    "kd_noise": ("kd_noise", {}),
    "kd_random_shift": ("kd_random_shift", {}),
    "hard": ("hard", {}),
    "hard_warp": ("hard_warp", {}),
    "hard_warp_nearest": ("hard_warp", {"sampler": "nearest"}),
    "hard_warp_mix": ("hard_warp", MIX),
    "hard_warp_mix_untrained": ("hard_warp", {**MIX, "lr": 0.0}),
}
FULL_ONLY: dict[str, tuple[str, dict]] = {
    "hard_grad": ("hard_grad", {}),
    "hard_grad_no_noise": ("hard_grad", {"noise_dim": 0}),
    "hard_grad_untrained": ("hard_grad", {"lr": 0.0}),
    "hard_warp_pathwise": ("hard_warp", {"estimator": "pathwise", "lr": 1e-2}),
    "hard_warp_nearest_untrained": ("hard_warp", {"sampler": "nearest", "lr": 0.0}),
    "hard_warp_composed": (
        "hard_warp",
        {"sampler": "nearest", "standard": "random_shift", "compose": True},
    ),
}
#: (a, b): a against b, paired by seed, on shifted accuracy
COMPARISONS = (
    ("hard_warp", "kd"),
    ("hard_warp", "kd_random_shift"),
    ("hard", "kd_random_shift"),
    ("hard_warp_nearest", "kd_random_shift"),
    ("hard_warp_nearest", "hard_warp"),
    ("hard_warp_nearest", "hard_warp_nearest_untrained"),
    ("hard_warp_mix", "kd_random_shift"),
    ("hard_warp_mix", "hard_warp"),
    ("hard_warp_mix", "hard_warp_mix_untrained"),
    ("hard_warp_mix_untrained", "kd_random_shift"),
    ("hard_warp_composed", "kd_random_shift"),
    ("hard_grad", "hard_grad_no_noise"),
    ("hard_grad", "hard_grad_untrained"),
)
EXAMPLES = 6  # signals whose warps are drawn
EXAMPLE_METHODS = ("hard_warp", "hard_warp_nearest")  # whose warps are drawn (seed 0)
Dataset = Literal[DATASETS]


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    out: str = param("results/hard", "output directory (results.json, tables.md, the figures)")
    seeds: int | None = param(
        None,
        "seeds per method: 0, 1, ...; seed s also draws data and teacher; none: 5, 10 with --full",
        ge=1,
    )
    # at least 2: the histograms cover the second half of each run
    toy_budget: int = param(600, "student updates per run on the toy data set", ge=2)
    mnist1d_budget: int = param(3000, "student updates per run on MNIST-1D", ge=2)
    batch_size: int = param(32, "signals per student update", ge=1)
    window: int = param(8, "positions 0..window-1 where training patterns start", ge=1)
    datasets: tuple[Dataset, ...] = param(DATASETS, "data sets to run, comma-separated")
    workers: int = param(2, "processes (1: in this process); each runs whole seeds", ge=1)
    full: bool = param(
        False, "10 seeds (unless --seeds is given) and the ablations of FULL_ONLY (docs/hard.md)"
    )

    def check(self) -> None:
        """At least one data set, each once."""
        if not self.datasets or len(set(self.datasets)) < len(self.datasets):
            raise ValueError(f"datasets must name each data set once, got {self.datasets}")


def methods_of(args: Args) -> dict[str, tuple[str, dict]]:
    """The methods of this run: ``METHODS``, and with ``--full`` the ablations ``FULL_ONLY``."""
    return {**METHODS, **FULL_ONLY} if args.full else dict(METHODS)


def run_seed(dataset: str, seed: int, args: Args) -> dict[str, Any]:
    """Every method on one data set and seed (the teacher is trained once, in this process):
    per method the final accuracies, the out-of-window fraction and the position and
    shift histograms over the second half, and the seconds; hard_warp's examples."""
    torch.set_num_threads(1)
    budget = getattr(args, f"{dataset}_budget")
    env_kwargs = dict(
        dataset=dataset,
        budget=budget,
        batch_size=args.batch_size,
        window=args.window,
        task_seed=seed,
    )
    out: dict[str, Any] = {"methods": {}}
    cpu = time.process_time()
    for key, (plugin, config) in methods_of(args).items():
        start = time.perf_counter()
        agent = quadgym.make_algo(
            plugin, "HardShift-v0", seed=seed, env_kwargs=env_kwargs, **config
        )
        agent.learn(budget // 2)
        positions, shifts = agent.position_counts.copy(), agent.shift_counts.copy()
        history = agent.learn(budget - budget // 2)
        out["methods"][key] = {
            "acc_in_distribution": agent.final["acc_in_distribution"],
            "acc_shifted": agent.final["acc_shifted"],
            "out_of_window": float(np.mean([r["out_of_window"] for r in history])),
            "positions": (agent.position_counts - positions).tolist(),
            "shifts": (agent.shift_counts - shifts).tolist(),
            "seconds": time.perf_counter() - start,
        }
        out["teacher"] = agent.final["teacher"]
        if key in EXAMPLE_METHODS and seed == 0:
            out.setdefault("examples", {})[key] = warp_examples(agent)
    out["cpu_seconds"] = time.process_time() - cpu  # this process's CPU time, teacher included
    return out


def warp_examples(agent: Any) -> dict[str, list]:
    """A trained hard_warp's training draws for ``EXAMPLES`` signals of distinct classes:
    the originals, the warped signals (read by its sampler), the displacement fields and
    the induced shifts."""
    data = agent.task.data
    _, first = np.unique(data.y_train, return_index=True)
    x = data.x_train[np.sort(first)[:EXAMPLES]]
    field = agent.warp_field(x, deterministic=False)
    sample = warp_nearest if agent.config.sampler == "nearest" else warp_interpolate
    warped = sample(torch.as_tensor(x), field).numpy()
    field = field.numpy()
    return {
        "original": x.tolist(),
        "warped": warped.tolist(),
        "field": field.tolist(),
        "shift": estimate_shift(x, warped).tolist(),
        "position": data.pos_train[np.sort(first)[:EXAMPLES]].tolist(),
    }


def collect(args: Args) -> tuple[dict, dict, dict, dict]:
    """Every (data set, seed) job, in ``args.workers`` processes: per data set, per method,
    per-seed lists (histograms summed over seeds); the teachers'; the examples; each
    data set's CPU seconds per seed."""
    seeds = range(args.seeds)
    jobs = [(ds, s) for s in seeds for ds in args.datasets]
    if args.workers == 1:
        done = [run_seed(ds, s, args) for ds, s in jobs]
    else:
        with process_pool(args.workers) as pool:
            done = list(pool.map(run_seed, *zip(*jobs, strict=True), [args] * len(jobs)))
    runs: dict = {ds: {} for ds in args.datasets}
    teacher: dict = {ds: {"in_distribution": [], "shifted": []} for ds in args.datasets}
    examples: dict = {}
    cpu = {ds: [] for ds in args.datasets}
    for (ds, _), result in zip(jobs, done, strict=True):
        cpu[ds].append(result["cpu_seconds"])
        for split in teacher[ds]:
            teacher[ds][split].append(result["teacher"][split])
        if "examples" in result:
            examples[ds] = result["examples"]
        for key, rec in result["methods"].items():
            cell = runs[ds].setdefault(key, {"positions": 0, "shifts": 0})
            for metric in ("acc_in_distribution", "acc_shifted", "out_of_window", "seconds"):
                cell.setdefault(metric, []).append(rec[metric])
            for hist in ("positions", "shifts"):
                cell[hist] = (np.asarray(cell[hist]) + np.asarray(rec[hist])).tolist()
    for ds in args.datasets:
        for key, cell in runs[ds].items():
            print(
                f"  {key:<28} {ds:<8} in-distribution {np.mean(cell['acc_in_distribution']):.3f}"
                f"  shifted {np.mean(cell['acc_shifted']):.3f}"
                f" (min {np.min(cell['acc_shifted']):.3f})"
                f"  {np.mean(cell['seconds']):.1f} s/run",
                flush=True,
            )
    return runs, teacher, examples, cpu


def summarise(runs: dict) -> dict:
    """Per data set: per method the t-intervals of the accuracies and of the out-of-window
    fraction; the paired tests of ``COMPARISONS`` (those whose methods ran) on shifted
    accuracy."""
    out: dict = {}
    for ds, cells in runs.items():
        metrics = ("acc_in_distribution", "acc_shifted", "out_of_window")
        out[ds] = {
            "intervals": {k: {m: t_interval(c[m]) for m in metrics} for k, c in cells.items()},
            "paired": {
                f"{a} vs {b}": paired_test(cells[a]["acc_shifted"], cells[b]["acc_shifted"])
                for a, b in COMPARISONS
                if a in cells and b in cells
            },
        }
    return out


def fmt_ci(ci: Any) -> str:
    """``mean [low, high]`` in 3 decimals."""
    mean, low, high = ci
    if not np.isfinite(low):
        return f"{mean:.3f}"
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def fmt_p(p: float) -> str:
    """A p-value: 3 decimals, or 1 significant digit below 1e-3."""
    return "n/a" if not np.isfinite(p) else f"{p:.1g}" if p < 1e-3 else f"{p:.3f}"


def tables(summary: dict, teacher: dict, n: int) -> str:
    """The markdown tables: accuracy per method and data set, then the paired tests."""
    lines = []
    for ds, s in summary.items():
        t_in, t_sh = (t_interval(teacher[ds][k]) for k in ("in_distribution", "shifted"))
        lines += [
            f"### {ds}: student accuracy, {n} seeds, mean [95 % t-interval]",
            "",
            "| method | in distribution | shifted | augmented outside the window |",
            "|---|---|---|---|",
            f"| teacher | {fmt_ci(t_in)} | {fmt_ci(t_sh)} | — |",
        ]
        for key, ci in s["intervals"].items():
            cells = [fmt_ci(ci[m]) for m in ("acc_in_distribution", "acc_shifted", "out_of_window")]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        lines += [
            "",
            f"{ds}: shifted accuracy, paired over seeds: mean difference a − b [95 % "
            "t-interval], two-sided paired t-test p, seeds on which a is higher",
            "",
            "| a vs b | difference | p | a higher |",
            "|---|---|---|---|",
        ]
        for name, test in s["paired"].items():
            diff = fmt_ci((test["diff"], *test["diff_ci"]))
            lines.append(f"| {name} | {diff} | {fmt_p(test['p'])} | {test['higher']}/{test['n']} |")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------- plots
def plot_accuracy(summary: dict, path: Path) -> None:
    """The paper's bar chart: accuracy per method, in distribution and shifted (whiskers:
    95 % t-interval over seeds), a panel per data set."""
    datasets = list(summary)
    width = max(6.5, 0.5 * max(len(summary[ds]["intervals"]) for ds in datasets))
    fig, axes = plt.subplots(1, len(datasets), figsize=(width * len(datasets), 3.8), squeeze=False)
    for ax, ds in zip(axes[0], datasets, strict=True):
        keys = list(summary[ds]["intervals"])
        x = np.arange(len(keys))
        for j, (metric, label) in enumerate(
            (("acc_in_distribution", "in distribution"), ("acc_shifted", "shifted (unseen)"))
        ):
            ci = np.array([summary[ds]["intervals"][k][metric] for k in keys], dtype=float)
            mean = ci[:, 0]
            low, high = np.nan_to_num(ci[:, 1], nan=mean), np.nan_to_num(ci[:, 2], nan=mean)
            err = np.stack([mean - low, high - mean])
            ax.bar(x + (j - 0.5) * 0.38, mean, 0.38, yerr=err, capsize=2, label=label)
        ax.set_xticks(x, keys, rotation=30, fontsize=8, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{ds}: student accuracy (whiskers: 95 % t-interval)", fontsize=9)
    axes[0][0].set_ylabel("accuracy")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_shifts(runs: dict, window: int, path: Path) -> None:
    """Top: the induced shifts (actions, or for hard_warp the shift of best
    cross-correlation); bottom: where the augmented patterns start, against the window.
    Second half of every run, summed over seeds."""
    datasets = list(runs)
    fig, axes = plt.subplots(2, len(datasets), figsize=(6 * len(datasets), 6), squeeze=False)
    keys = ("kd_random_shift", "hard", "hard_grad", "hard_warp", "hard_warp_mix")
    for c, ds in enumerate(datasets):
        for r, (hist, title) in enumerate(
            (("shifts", "shift induced"), ("positions", "start of the augmented pattern"))
        ):
            ax = axes[r, c]
            for key in (k for k in keys if k in runs[ds]):
                counts = np.asarray(runs[ds][key][hist], dtype=float)
                ax.step(np.arange(len(counts)), counts / counts.sum(), where="mid", label=key)
            if hist == "positions":
                ax.axvspan(-0.5, window - 0.5, color="grey", alpha=0.25, label="training window")
            ax.set_title(f"{ds}: {title}", fontsize=9)
            ax.set_xlabel("samples")
        axes[0, c].set_ylabel("fraction of augmented signals")
        axes[1, c].set_ylabel("fraction of augmented signals")
    axes[1, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_warps(examples: dict, path: Path) -> None:
    """The warps of ``EXAMPLE_METHODS``, a column per data set and method: augmented inputs
    (orange) over the originals (blue), and the displacement field d(i) each was resampled
    with (green, right axis), seed 0."""
    columns = [(ds, key) for ds, per in examples.items() for key in per]
    n = len(examples[columns[0][0]][columns[0][1]]["original"]) if columns else 0
    fig, axes = plt.subplots(
        n, len(columns), figsize=(5 * len(columns), 1.4 * n + 0.6), squeeze=False
    )
    for c, (ds, key) in enumerate(columns):
        ex = examples[ds][key]
        for r in range(n):
            ax = axes[r, c]
            ax.plot(ex["original"][r], color="C0", lw=1, label="original")
            ax.plot(ex["warped"][r], color="C1", lw=1, label="augmented")
            twin = ax.twinx()
            twin.plot(ex["field"][r], color="C2", lw=0.8, ls="--", label="displacement")
            twin.tick_params(labelsize=6)
            ax.tick_params(labelsize=6)
            ax.set_title(
                f"{ds}, {key}: starts at {ex['position'][r]}, induced shift {ex['shift'][r]}",
                fontsize=7,
            )
        axes[0, c].legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    """Run, print and write everything; returns what results.json holds."""
    args = parse_args(Args, __doc__, argv)
    if args.seeds is None:
        args = dataclasses.replace(args, seeds=10 if args.full else 5)
    torch.set_num_threads(1)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # what an earlier run wrote is never left beside this run's (figures included)
    for stale in ("tables.md", "results.json", "accuracy.png", "shifts.png", "warps.png"):
        (out / stale).unlink(missing_ok=True)
    runs, teacher, examples, cpu = collect(args)
    summary = summarise(runs)
    text = tables(summary, teacher, args.seeds)
    print(text)
    atomic_write_bytes(out / "tables.md", text.encode())
    plot_accuracy(summary, out / "accuracy.png")
    plot_shifts(runs, args.window, out / "shifts.png")
    plot_warps(examples, out / "warps.png")
    seconds = time.perf_counter() - start
    written = {
        "setup": {
            **args.to_dict(),
            "env": "HardShift-v0",
            "student": "MLP 2x128",
            "teacher": "circular CNN 2x32, kernel 7, global max",
            "methods": {k: {"plugin": p, **c} for k, (p, c) in methods_of(args).items()},
        },
        "runs": runs,
        "teacher": teacher,
        "summary": summary,
        "examples": examples,
        "seconds": seconds,
        "cpu_seconds": cpu,
    }
    atomic_write_bytes(out / "results.json", json.dumps(written, indent=1).encode())
    total = sum(map(sum, cpu.values()))
    print(f"wrote {out}/ (results.json, tables.md, accuracy.png, shifts.png, warps.png)")
    print(f"in {seconds:.0f} s; CPU {total:.0f} s in {args.workers} worker(s)")
    return written


if __name__ == "__main__":
    main()
