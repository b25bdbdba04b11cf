"""The Contrastive Policy Gradient reproduction's experiment core (Flet-Berliac et al. 2024,
arXiv 2406.19185): the methods, behaviour pairs and optimiser settings, one training cell,
the across-behaviour grid and its statistics. :mod:`quadgym.repro.copg_run` runs it all
(``scripts/reproduce_copg.py`` is its command line), :mod:`.copg_ipo` adds IPO's fixed points,
its tuned regulariser and other bandits, :mod:`.copg_tables` and :mod:`.copg_figures` write
the tables and figures.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import Any

import gymnasium as gym
import numpy as np

import quadgym
from quadgym.agents.schedule import Schedule
from quadgym.config import TypedConfig, param
from quadgym.stats import holm, paired_test, t_interval

METHODS = {  # result key -> (plugin, extra config)
    "copg": ("copg", {}),
    "ipo": ("ipo", {}),
    "dpo": ("dpo", {}),
    "pg": ("pg", {"baseline": "none"}),
    "pg_value": ("pg", {"baseline": "value"}),
}
REFERENCE = {"rloo": ("rloo", {})}  # on-policy: ignores the data's outcomes; in the figure only
ALL_METHODS = {**METHODS, **REFERENCE}

#: behaviour pairs (μ1, μ2) on the arms R = (2.5, 2, 1)
BEHAVIOURS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "paper": ((0.1, 0.2, 0.7), (0.05, 0.05, 0.9)),  # the paper's: mass on the worst arm
    "uniform": ((1 / 3, 1 / 3, 1 / 3), (1 / 3, 1 / 3, 1 / 3)),  # μ1 = μ2 = π_ref
    "best": ((0.7, 0.2, 0.1), (0.9, 0.05, 0.05)),  # the paper's mirrored: mass on the best arm
}

#: the paper's optimiser setting: Adam at lr 1e-3, constant, for 100 epochs
PAPER_LR: float = 1e-3
PAPER_SCHEDULE: Schedule = "constant"
LONG = 3  # the paper_long setting trains LONG × --epochs


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    out: str = param(
        "results/copg", "output directory (results.json, tables.md, the figures, sequence/)"
    )
    seeds: int = param(5, "seeds per cell: 0, 1, ... (the intervals need >= 2)", ge=1)
    epochs: int = param(
        100, "training epochs (passes over the pairs) of the default and paper settings", ge=1
    )
    lr: float = param(1e-2, "Adam step size of the default setting on the bandit", gt=0)
    sequence_lr: float = param(3e-3, "Adam step size on the sequence task (--full)", gt=0)
    batch_size: int = param(512, "pairs per gradient step", ge=1)
    n_pairs: int = param(10_000, "off-policy pairs (y, y') in each data set", ge=1)
    beta: float = param(
        0.5,
        "β (reward units per nat) of the figure, of the paper-setting table and of the "
        "sequence task; also run in the default setting's grid",
        gt=0,
    )
    betas: tuple[float, ...] = param(
        (0.25, 0.5, 1.0), "β values of the across-behaviour grid (reward units per nat), each > 0"
    )
    schedule: Schedule = param(
        "cosine", "learning rate of the default setting: constant, or cosine decay to 0"
    )
    full: bool = param(
        False,
        "also the paper setting at every β, paper_long (the paper's lr for 3 × --epochs, "
        "at --beta) and the sequence task (about 8.5 CPU minutes at 5 seeds)",
    )

    def check(self) -> None:
        """Each β of the grid is positive, and none is repeated."""
        if not self.betas or any(not b > 0 for b in self.betas):
            raise ValueError(f"betas values must be > 0, got {self.betas}")
        if len(set(self.betas)) != len(self.betas):
            raise ValueError(f"betas must name each β once, got {self.betas}")


@dataclasses.dataclass(frozen=True)
class Setting:
    """An optimiser setting of the bandit grid: Adam at ``lr`` with ``schedule`` for
    ``epochs``, at the KL weights ``betas``."""

    name: str
    lr: float
    schedule: Schedule
    epochs: int
    betas: tuple[float, ...]


def settings_of(args: Args) -> list[Setting]:
    """default and paper; with ``--full`` the paper setting at every β, and paper_long."""
    grid = tuple(dict.fromkeys((*args.betas, args.beta)))  # the figure's β is in the grid
    out = [
        Setting("default", args.lr, args.schedule, args.epochs, grid),
        Setting(
            "paper", PAPER_LR, PAPER_SCHEDULE, args.epochs, grid if args.full else (args.beta,)
        ),
    ]
    if args.full:
        out.append(
            Setting("paper_long", PAPER_LR, PAPER_SCHEDULE, LONG * args.epochs, (args.beta,))
        )
    return out


# ----------------------------------------------------------------- statistics
def total_variation(p: Any, q: Any) -> float:
    """½·Σ|p − q|, in [0, 1]."""
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def across_pairs(by_pair: dict[str, dict]) -> dict[str, list[float]]:
    """Seed by seed, across behaviour pairs, for one method: ``kl_spread`` (max − min of
    KL(π‖π*), nats), ``kl_worst`` (the max) and ``tv_between`` (the largest total
    variation between the final policies of two pairs)."""
    kl = np.array([cell["kl"] for cell in by_pair.values()])  # (pairs, seeds)
    pol = [np.array(cell["policy"]) for cell in by_pair.values()]
    tv = [
        max(total_variation(p[s], q[s]) for p, q in itertools.combinations(pol, 2))
        for s in range(kl.shape[1])
    ]
    return {"kl_spread": np.ptp(kl, 0).tolist(), "kl_worst": kl.max(0).tolist(), "tv_between": tv}


# ------------------------------------------------------------------- training
def train_cell(
    method: str,
    env_id: str,
    beta: float,
    lr: float,
    schedule: Schedule,
    epochs: int,
    mu: dict,
    args: Args,
    seeds: range | None = None,
    env_kwargs: dict | None = None,
) -> dict[str, list]:
    """``method`` on ``seeds`` (default: 0 .. ``args.seeds`` − 1) on ``env_id`` built with
    ``env_kwargs``; per seed the final ``kl`` (KL(π‖π*), nats), ``tv`` (to π*), ``regret``
    (reward units), ``policy``, the ``regret_curve`` (per epoch) and ``seconds`` (wall
    time of the run)."""
    plugin, extra = ALL_METHODS[method]
    rec: dict[str, list] = {k: [] for k in ("kl", "tv", "regret", "policy", "regret_curve")}
    rec["seconds"] = []
    for seed in range(args.seeds) if seeds is None else seeds:
        t0 = time.perf_counter()
        algo = quadgym.make_algo(
            plugin,
            gym.make(env_id, **(env_kwargs or {})),
            seed=seed,
            lr=lr,
            beta=beta,
            batch_size=args.batch_size,
            n_pairs=args.n_pairs,
            schedule=schedule,
            **mu,
            **extra,
        )
        hist = algo.learn(epochs)
        last = hist[-1]
        rec["kl"].append(last["kl_to_optimal"])
        rec["tv"].append(total_variation(last["policy"], algo.task.optimal_policy(beta)))
        rec["regret"].append(last["regret"])
        rec["policy"].append(last["policy"])
        rec["regret_curve"].append([h["regret"] for h in hist])
        rec["seconds"].append(time.perf_counter() - t0)
    return rec


def bandit_grid(
    setting: Setting, reference_beta: float, args: Args
) -> dict[str, dict[str, dict[str, dict]]]:
    """cells[β][pair][method] on CoPGBandit-v0 for every behaviour pair and method of the
    grid (β as ``f"{β:g}"``); RLOO too at ``reference_beta`` on the paper's pair."""
    cells: dict[str, dict[str, dict[str, dict]]] = {}
    for beta in setting.betas:
        cells[f"{beta:g}"] = {}
        for pair, (mu1, mu2) in BEHAVIOURS.items():
            mu = {"mu1": list(mu1), "mu2": list(mu2)}
            with_reference = pair == "paper" and beta == reference_beta
            row = {
                m: train_cell(
                    m, "CoPGBandit-v0", beta, setting.lr, setting.schedule, setting.epochs, mu, args
                )
                for m in (ALL_METHODS if with_reference else METHODS)
            }
            cells[f"{beta:g}"][pair] = row
            print(
                f"  β={beta:g} {pair:<8} KL(π‖π*) "
                + "  ".join(f"{m} {np.mean(c['kl']):.2g}" for m, c in row.items()),
                flush=True,
            )
    return cells


# ------------------------------------------------------------------ summaries
def summarise(cells: dict[str, dict[str, dict[str, dict]]]) -> dict[str, dict[str, dict]]:
    """summary[β][method]: ``per_pair`` (per behaviour pair the KL and TV t-intervals, the
    mean final policy, CoPG's paired test on KL) and ``across`` (the statistics of
    :func:`across_pairs`, each with its t-interval ``ci`` and CoPG's paired test). Each
    test also has ``p_holm``: Holm-adjusted over its family in this setting (every
    per-pair test, or every across-pairs test, over all β and methods)."""
    out: dict[str, dict[str, dict]] = {}
    for b, by_pair in cells.items():
        out[b] = {}
        spreads = {m: across_pairs({p: by_pair[p][m] for p in by_pair}) for m in METHODS}
        for m in METHODS:
            per_pair = {}
            for p, row in by_pair.items():
                per_pair[p] = {
                    "kl": t_interval(row[m]["kl"]),
                    "tv": t_interval(row[m]["tv"]),
                    "mean_policy": np.mean(row[m]["policy"], axis=0).tolist(),
                    "copg_vs": paired_test(row["copg"]["kl"], row[m]["kl"]),
                }
            across = {
                k: {"ci": t_interval(v), "copg_vs": paired_test(spreads["copg"][k], v)}
                for k, v in spreads[m].items()
            }
            out[b][m] = {"per_pair": per_pair, "across": across}
    others = [(b, m) for b in out for m in METHODS if m != "copg"]
    adjust_holm([out[b][m]["per_pair"][p]["copg_vs"] for b, m in others for p in BEHAVIOURS])
    adjust_holm([out[b][m]["across"][k]["copg_vs"] for b, m in others for k in ACROSS])
    return out


#: the across-pairs statistics the tables show
ACROSS = ("kl_spread", "tv_between")


def adjust_holm(tests: list[dict[str, Any]]) -> None:
    """Add ``p_holm`` to each test: its p adjusted by Holm's method over ``tests``."""
    for test, adjusted in zip(tests, holm([t["p"] for t in tests]), strict=True):
        test["p_holm"] = adjusted
