"""The figures of the CoPG reproduction (matplotlib, Agg): Figure 1 redrawn (regret per
epoch) and the final distance to π* per method and behaviour pair."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from quadgym.repro.copg import BEHAVIOURS, METHODS, Setting  # noqa: E402
from quadgym.stats import t_interval  # noqa: E402


def plot_regret(ax: Any, cells: dict[str, dict], reference_regret: float, title: str) -> None:
    """Regret per epoch of every method in ``cells`` (mean, band: min–max over seeds; log
    scale floored at 1e-12, where CoPG reaches float rounding). The band is the seeds'
    range, not a t-interval, which on a log scale would reach the floor wherever it
    includes 0."""
    floor = 1e-12
    for i, (key, rec) in enumerate(cells.items()):
        curves = np.maximum(np.array(rec["regret_curve"]), floor)
        epochs = np.arange(1, curves.shape[1] + 1)
        ax.plot(epochs, curves.mean(axis=0), color=f"C{i}", label=key)
        ax.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), color=f"C{i}", alpha=0.2)
    ax.axhline(reference_regret, color="k", ls=":", lw=1, label="π_ref")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_title(title, fontsize=10)


def plot_figure1(
    settings: list[Setting], results: dict, beta: float, reference_regret: float, path: Path
) -> None:
    """The paper's Figure 1 (regret per epoch on its data at ``beta``), a panel per setting."""
    fig, axes = plt.subplots(
        1, len(settings), figsize=(5.5 * len(settings), 4.2), sharey=True, squeeze=False
    )
    for ax, s in zip(axes[0], settings, strict=True):
        cells = results[s.name]["cells"][f"{beta:g}"]["paper"]
        plot_regret(ax, cells, reference_regret, f"{s.name}: lr {s.lr:g}, {s.schedule}")
    axes[0, 0].set_ylabel("regret J(π*) − J(π) = β·KL(π‖π*)")
    axes[0, -1].legend(fontsize=8, ncol=2)
    fig.suptitle(
        f"CoPG bandit, the paper's μ1, μ2, β = {beta:g} (mean, band: min–max over seeds)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_across(settings: list[Setting], results: dict, path: Path) -> None:
    """Final KL(π‖π*) per method and behaviour pair (bars: mean over seeds, whiskers: 95 %
    t-interval, log scale floored at 1e-10), a row per setting, a column per β."""
    betas = list(dict.fromkeys(b for s in settings for b in s.betas))
    fig, axes = plt.subplots(
        len(settings), len(betas), figsize=(4.2 * len(betas), 3.2 * len(settings)), squeeze=False
    )
    width, floor = 0.8 / len(BEHAVIOURS), 1e-10
    for r, s in enumerate(settings):
        for c, beta in enumerate(betas):
            ax = axes[r, c]
            cells = results[s.name]["cells"].get(f"{beta:g}")
            if cells is None:
                ax.axis("off")
                continue
            for j, pair in enumerate(BEHAVIOURS):
                ci = np.array([t_interval(cells[pair][m]["kl"]) for m in METHODS])
                mean = np.maximum(ci[:, 0], floor)
                low = np.maximum(np.nan_to_num(ci[:, 1], nan=floor), floor)
                high = np.maximum(np.nan_to_num(ci[:, 2], nan=floor), floor)
                yerr = np.array([mean - np.minimum(low, mean), np.maximum(high, mean) - mean])
                x = np.arange(len(METHODS)) + (j - (len(BEHAVIOURS) - 1) / 2) * width
                ax.bar(x, mean, width, color=f"C{j}", label=f"μ {pair}", yerr=yerr, capsize=2)
            ax.set_yscale("log")
            ax.set_ylim(floor / 2, 10)
            ax.set_xticks(np.arange(len(METHODS)), list(METHODS), fontsize=8)
            ax.set_title(f"{s.name}: lr {s.lr:g}, {s.epochs} ep, β = {beta:g}", fontsize=9)
            if c == 0:
                ax.set_ylabel("final KL(π‖π*), nats")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(
        "Distance to π* across behaviour pairs (mean, whiskers: 95 % t-interval; values "
        "below 1e-10, and intervals that include 0, drawn to 1e-10)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
