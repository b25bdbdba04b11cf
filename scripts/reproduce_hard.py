"""Reproduce HARD's shift-equivariance toy on HardShift-v0 (Nix, Burg, Sinz 2023, arXiv 2305.14890).

    python scripts/reproduce_hard.py --out results/hard --seeds 3
    python scripts/reproduce_hard.py --out results/hard-toy --datasets toy --toy-budget 300

A circular CNN teacher (exactly shift invariant) is distilled into an MLP
student on signals whose pattern only starts in positions 0..7. Every
plugin runs one distillation of ``toy_budget`` (toy) or ``mnist1d_budget``
(MNIST-1D) student updates per seed; seed s also draws the data set and the
teacher (``task_seed = s``). We report the student's accuracy where the
training data put the pattern (in distribution) and everywhere else (shifted).

Plugins: ``kd`` (no augmentation), ``kd_noise`` (Gaussian noise),
``kd_random_shift`` (uniform shifts), ``hard`` (REINFORCE shift policy) and
``hard_grad`` (differentiable shift generator, gradient ascent on the KL);
plus ``hard_grad_untrained``, the same generator with a zero learning rate,
to show what its noise alone does.

Writes ``results.json`` (per plugin key, per data set: ``acc_in_distribution``,
``acc_shifted`` (one per seed) and ``positions`` (histogram of where the
augmented patterns start over the second half of each run, summed over
seeds); ``teacher`` per data set; ``setup``), ``augmentations.png`` and
``accuracy.png``.
"""

import dataclasses
import json
import time
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import quadgym  # noqa: E402
from quadgym.cli import parse_args  # noqa: E402
from quadgym.config import TypedConfig, param  # noqa: E402
from quadgym.envs.hard.data import DATASETS  # noqa: E402

PLUGINS = ("kd", "kd_noise", "kd_random_shift", "hard", "hard_grad")
Dataset = Literal[DATASETS]


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    out: str = param("results/hard", "output directory (results.json and the figures)")
    seeds: int = param(3, "seeds per plugin: 0, 1, ...; seed s also draws data and teacher", ge=1)
    # at least 2: the position histogram covers the second half of each run
    toy_budget: int = param(600, "student updates per run on the toy data set", ge=2)
    mnist1d_budget: int = param(3000, "student updates per run on MNIST-1D", ge=2)
    batch_size: int = param(32, "signals per student update", ge=1)
    window: int = param(8, "positions 0..window-1 where training patterns start", ge=1)
    datasets: tuple[Dataset, ...] = param(DATASETS, "data sets to run, comma-separated")

    def check(self) -> None:
        """At least one data set, each once."""
        if not self.datasets or len(set(self.datasets)) < len(self.datasets):
            raise ValueError(f"datasets must name each data set once, got {self.datasets}")


def run(key: str, plugin: str, dataset: str, args: Args, **config) -> tuple[dict, dict]:
    """Every seed of one plugin on one data set: its results and the teachers'."""
    budget = getattr(args, f"{dataset}_budget")
    out: dict = {"acc_in_distribution": [], "acc_shifted": [], "seconds": [], "positions": 0}
    teacher: dict = {"in_distribution": [], "shifted": []}
    for seed in range(args.seeds):
        start = time.perf_counter()
        agent = quadgym.make_algo(
            plugin,
            "HardShift-v0",
            seed=seed,
            env_kwargs=dict(
                dataset=dataset,
                budget=budget,
                batch_size=args.batch_size,
                window=args.window,
                task_seed=seed,
            ),
            **config,
        )
        agent.learn(budget // 2)
        first_half = agent.position_counts.copy()
        agent.learn(budget - budget // 2)
        out["seconds"].append(time.perf_counter() - start)
        for metric in ("acc_in_distribution", "acc_shifted"):
            out[metric].append(agent.final[metric])
        for split in teacher:
            teacher[split].append(agent.final["teacher"][split])
        # where the augmentor puts patterns once it has learnt: the second half only
        out["positions"] = agent.position_counts - first_half + out["positions"]
    out["positions"] = np.asarray(out["positions"]).tolist()
    print(
        f"  {key:<20}{dataset:<9}in-distribution {np.mean(out['acc_in_distribution']):.3f}"
        f"  shifted {np.mean(out['acc_shifted']):.3f} (min {np.min(out['acc_shifted']):.3f})"
        f"  {np.mean(out['seconds']):.1f} s/run",
        flush=True,
    )
    return out, teacher


def plot_positions(results: dict, datasets: list[str], window: int, path: Path) -> None:
    """Where the augmented patterns start, against the training window."""
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 3.4), squeeze=False)
    for ax, ds in zip(axes[0], datasets, strict=True):
        for i, key in enumerate(("kd_random_shift", "hard", "hard_grad")):
            counts = np.asarray(results[key][ds]["positions"], dtype=float)
            ax.step(
                np.arange(len(counts)), counts / counts.sum(), where="mid", color=f"C{i}", label=key
            )
        ax.axvspan(-0.5, window - 0.5, color="grey", alpha=0.25, label="training positions")
        ax.set_title(f"{ds}: start of the augmented pattern", fontsize=9)
        ax.set_xlabel("position")
    axes[0][0].set_ylabel("fraction of augmented signals")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_accuracy(results: dict, keys: list[str], datasets: list[str], path: Path) -> None:
    """Mean accuracy (seed range as error bars), in distribution and shifted."""
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 3.6), squeeze=False)
    x = np.arange(len(keys))
    for ax, ds in zip(axes[0], datasets, strict=True):
        for j, (metric, label) in enumerate(
            (("acc_in_distribution", "in distribution"), ("acc_shifted", "shifted (unseen)"))
        ):
            vals = np.array([results[k][ds][metric] for k in keys])
            mean = vals.mean(1)
            err = np.stack([mean - vals.min(1), vals.max(1) - mean])
            ax.bar(x + (j - 0.5) * 0.38, mean, 0.38, yerr=err, label=label, color=f"C{j}")
        ax.set_xticks(x, keys, rotation=25, fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{ds}: student accuracy", fontsize=9)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(Args, __doc__, argv)
    datasets = list(args.datasets)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "setup": {
            **args.to_dict(),
            "env": "HardShift-v0",
            "student": "MLP 2x128",
            "teacher": "circular CNN 2x32, kernel 7, global max",
            "temperature": 4.0,
            "student_lr": 1e-3,
        },
        "teacher": {},
    }
    runs = [(p, p, {}) for p in PLUGINS] + [("hard_grad_untrained", "hard_grad", {"lr": 0.0})]
    for key, plugin, config in runs:
        results[key] = {}
        for ds in datasets:
            results[key][ds], results["teacher"][ds] = run(key, plugin, ds, args, **config)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot_positions(results, datasets, args.window, out / "augmentations.png")
    plot_accuracy(results, [k for k, _, _ in runs], datasets, out / "accuracy.png")
    print(f"wrote {out / 'results.json'}, {out / 'augmentations.png'}, {out / 'accuracy.png'}")


if __name__ == "__main__":
    main()
