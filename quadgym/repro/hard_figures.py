"""The figures of ``scripts/reproduce_hard.py``: accuracy per method (the paper's bar
chart, redrawn), the shifts the augmentors induce and where they put the pattern, and the
warps of ``EXAMPLE_METHODS`` next to the originals. Drawn on
:class:`matplotlib.figure.Figure` objects, so no pyplot backend or global state is touched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

#: Files the figures are written to, in ``--out``.
FIGURES = ("accuracy.png", "shifts.png", "warps.png")


def plot_accuracy(summary: dict, path: Path) -> None:
    """The paper's bar chart: accuracy per method, in distribution and shifted (whiskers:
    95 % t-interval over seeds), a panel per data set."""
    datasets = list(summary)
    width = max(6.5, 0.5 * max(len(summary[ds]["intervals"]) for ds in datasets))
    fig = Figure(figsize=(width * len(datasets), 3.8))
    axes = fig.subplots(1, len(datasets), squeeze=False)
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


def plot_shifts(runs: dict, window: int, path: Path) -> None:
    """Top: the induced shifts (actions, or for hard_warp the shift of best
    cross-correlation); bottom: where the augmented patterns start, against the window.
    Second half of every run, summed over seeds."""
    datasets = list(runs)
    fig = Figure(figsize=(6 * len(datasets), 6))
    axes = fig.subplots(2, len(datasets), squeeze=False)
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


def plot_warps(examples: dict, path: Path) -> None:
    """The warps of ``EXAMPLE_METHODS``, a column per data set and method: augmented inputs
    (orange) over the originals (blue), and the displacement field d(i) each was resampled
    with (green, right axis), seed 0."""
    columns = [(ds, key) for ds, per in examples.items() for key in per]
    n = len(examples[columns[0][0]][columns[0][1]]["original"]) if columns else 0
    if not columns:  # no method of EXAMPLE_METHODS ran: say so rather than draw nothing
        fig = Figure(figsize=(4, 1))
        fig.text(0.5, 0.5, "no warps to show in this run", ha="center", va="center")
        fig.savefig(path, dpi=80)
        return
    fig = Figure(figsize=(5 * len(columns), 1.4 * n + 0.6))
    axes = fig.subplots(n, len(columns), squeeze=False)
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
