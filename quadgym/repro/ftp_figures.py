"""The figures of ``scripts/reproduce_ftp.py``, one panel per regime: success against
training steps, success against held-out next-token loss (the equal-loss comparison) and
the cosine of neighbouring top-layer vectors along the program (the paper's smoothness
figure). Drawn on :class:`matplotlib.figure.Figure` objects, so no pyplot backend or
global state is touched; written as PNG at 90 dpi."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from quadgym.repro.ftp_jobs import REGIMES
from quadgym.stats import t_interval

#: Next-token loss (nats) of the marginal-token plateau the models start on (~1.09).
PLATEAU_LOSS = 1.1


def regime_axes(results: dict) -> tuple[Figure, list[tuple[Any, str]]]:
    """A figure with one panel per regime in ``results``: (figure, [(axes, regime)])."""
    regimes = [r for r in REGIMES if r in results]
    fig = Figure(figsize=(5.5 * len(regimes), 4))
    axes = fig.subplots(1, len(regimes), squeeze=False)
    return fig, list(zip(axes[0], regimes, strict=True))


def finish(
    fig: Figure, panels: list[tuple[Any, str]], path: Path, ylabel: str, ylim: tuple
) -> None:
    """Label every panel (y axis, limits, legend) and write the figure to ``path``."""
    for ax, _ in panels:
        ax.set_ylabel(ylabel)
        ax.set_ylim(*ylim)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


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
                success = [c[1] for c in curve[1:]]
                label = key if j == 0 else None
                ax.plot(
                    loss, success, color=f"C{i}", alpha=0.6, lw=1, marker=".", ms=3, label=label
                )
            cmp = results["summary"][regime].get(f"ftp_vs_{key}")
            if cmp:
                m = cmp["loss_matched"]
                ax.scatter(m["level"], m["b"], color=f"C{i}", marker="D", s=25, zorder=3)
                ax.scatter(m["level"], m["a"], color="C0", marker="D", s=25, zorder=3)
        if min(lows) < PLATEAU_LOSS:
            ax.set_xlim(PLATEAU_LOSS + 0.05, min(lows) - 0.02)
        else:
            ax.invert_xaxis()
        ax.set_title(f"{regime} regime (diamonds: matched loss per seed)")
        ax.set_xlabel("held-out next-token loss, nats per token (falls to the right)")
    finish(fig, panels, path, "success, held-out prompts (greedy)", (0, 1))


def plot_cosine(results: dict, path: Path) -> None:
    """Cosine of neighbouring top-layer vectors along the program, from ``<sep>``: mean
    over seeds per run, and the networks at initialisation (dotted). Where the jobs
    recorded it, over trained pairs only (``cosine_profile_trained``: without each
    program's pair (last operation, ``<eos>``), whose ``<eos>`` vector no loss reaches; the
    last position, that pair of the longest programs alone, is then left out)."""
    fig, panels = regime_axes(results)
    for ax, regime in panels:
        for i, (key, run) in enumerate(results[regime].items()):
            suffix = "_trained" if "cosine_profile_trained" in run else ""
            for field, style, label in (
                (f"cosine_profile{suffix}", "-", key),
                (f"init_cosine_profile{suffix}", ":", f"{key} at initialisation"),
            ):
                prof = np.array(run[field], dtype=float).mean(0)
                x = np.arange(len(prof))
                ax.plot(x, prof, style, color=f"C{i}", marker="o", ms=3, label=label)
        trained = all("cosine_profile_trained" in run for run in results[regime].values())
        ax.set_title(f"{regime} regime" + (" (trained pairs)" if trained else ""))
        ax.set_xlabel("position pair (t, t+1), t after <sep> (0: <sep>, first operation)")
    finish(fig, panels, path, "cosine of neighbouring top-layer vectors", (-0.2, 1))


#: The figures :func:`plot_all` writes, file name -> drawing function.
FIGURES = {
    "ftp_success.png": plot_success,
    "ftp_loss_matched.png": plot_loss_matched,
    "ftp_cosine.png": plot_cosine,
}


def plot_all(results: dict, out: Path) -> list[Path]:
    """Every figure of :data:`FIGURES` into directory ``out``; returns their paths."""
    paths = []
    for name, plot in FIGURES.items():
        paths.append(out / name)
        plot(results, paths[-1])
    return paths
