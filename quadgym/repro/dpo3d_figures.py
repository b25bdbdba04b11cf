"""The figures of the DPO 3D-properties reproduction (matplotlib, Agg): the chosen,
rejected and unseen masses over training, one column per run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def panel(ax: Any, run: dict, title: str, log: bool) -> None:
    """The chosen, rejected and unseen masses per epoch (``log``: their ln), mean over
    seeds, band min–max over seeds."""
    for i, key in enumerate(("chosen", "rejected", "unseen")):
        arr = np.array(run[key])
        arr = np.log(np.maximum(arr, 1e-300)) if log else arr
        x = np.arange(arr.shape[1])
        ax.plot(x, arr.mean(0), color=f"C{i}", label=key)
        ax.fill_between(x, arr.min(0), arr.max(0), color=f"C{i}", alpha=0.2)
    ax.set_ylim(*((-25, 0.5) if log else (-0.02, 1.02)))
    if log:
        ax.set_xlabel("epoch")
    else:
        ax.set_title(title, fontsize=9)


def plot(runs: dict[str, dict], keys: list[str], path: Path, titles: dict[str, str]) -> None:
    """One column per run key: the masses (top) and their ln (bottom)."""
    fig, axes = plt.subplots(
        2, len(keys), figsize=(3.6 * len(keys), 5.6), sharex=True, sharey="row", squeeze=False
    )
    for col, key in enumerate(keys):
        panel(axes[0, col], runs[key], titles.get(key, key), log=False)
        panel(axes[1, col], runs[key], titles.get(key, key), log=True)
    axes[0, 0].set_ylabel("probability mass\n(mean over prompts)")
    axes[1, 0].set_ylabel("ln probability mass")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)
