"""Reproduce Figure 1 of "Contrastive Policy Gradient" (Flet-Berliac et al. 2024) and test
its claim across off-policy data.

    python scripts/reproduce_copg.py --out results/copg
    python scripts/reproduce_copg.py --out results/copg-full --full
    python scripts/reproduce_copg.py --out results/copg-quick --seeds 2 --betas 0.5

The paper's toy: a 3-armed bandit, R = (2.5, 2, 1), π_ref uniform; 10⁴ off-policy
pairs y ~ μ1, y' ~ μ2 (the paper's μ1 = (0.1, 0.2, 0.7), μ2 = (0.05, 0.05, 0.9));
Adam, batch 512, 100 epochs. The claim tested: CoPG converges to the KL-regularised
optimum π* ∝ π_ref·exp(R/β) whatever the behaviour policies (μ1, μ2), while the
answers of IPO and of the naive off-policy policy gradients depend on them.

Optimiser settings, one table each:
* ``default``: lr ``--lr`` (1e-2) with ``--schedule`` (cosine decay to 0 over the
  epochs), with which every method settles on its own fixed point;
* ``paper``: the paper's lr 1e-3, constant, which leaves CoPG short of π* after
  100 epochs;
* ``paper_long`` (``--full`` only): the paper's lr, constant, for 3 × ``--epochs``.

Grid: three behaviour pairs (``paper``; ``uniform``, μ1 = μ2 = π_ref; ``best``, the
paper's pair mirrored, most mass on the best arm) × the KL weights ``--betas``
(reward units per nat) × the methods CoPG, IPO and DPO (Bradley–Terry labels),
off-policy policy gradient without a baseline (``pg``) and with the exact value E_π[R]
as baseline (``pg_value``) × ``--seeds`` seeds (the seed also draws the data set).
The default setting runs the whole grid; the paper's setting runs it at ``--beta``
only (every β with ``--full``). On-policy RLOO joins the figure as a reference.

Reported, per cell: the final policy (last epoch, never the best one) and its distance
to π*, KL(π‖π*) in nats (regret = β·KL, reward units) and total variation; the mean
over seeds with a 95 % t-interval. Per method and β, across the behaviour pairs and
seed by seed: the spread max − min of KL(π‖π*) and the largest total variation
between two final policies learned from different pairs; CoPG against each other
method by a two-sided paired t-test over seeds (p-value, and on how many seeds CoPG
is lower). And IPO's fixed point with unlimited data, exactly, on the three pairs and
on random ones.

Writes to ``--out``: ``results.json`` (``setup``; ``behaviours``; ``optimal_policy``
per β; ``settings``: per setting ``lr``, ``schedule``, ``epochs`` and ``cells`` β →
pair → method → per-seed lists ``kl``, ``tv``, ``regret``, ``policy``,
``regret_curve``, ``seconds``; ``summary``: the statistics above; ``ipo_population``;
``seconds``), ``tables.md`` (the tables printed), ``figure1.png`` (the paper's Figure 1
redrawn: regret per epoch on the paper's data at ``--beta``, one panel per setting)
and ``across_behaviour.png``. With ``--full``, also every method on
``CoPGSequence-v0`` (V = 4, L = 4, 256 sequences, an autoregressive MLP policy, lr
``--sequence-lr``) into ``OUT/sequence/``.
"""

import dataclasses
import itertools
import json
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import quadgym  # noqa: E402
from quadgym.agents.schedule import Schedule  # noqa: E402
from quadgym.cli import parse_args  # noqa: E402
from quadgym.config import TypedConfig, param  # noqa: E402
from quadgym.stats import paired_test, t_interval  # noqa: E402

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
RANDOM_PAIRS = 2000  # random behaviour pairs for IPO's unlimited-data fixed point


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


def ipo_population_fixed_point(
    mu1: Any, mu2: Any, rewards: Any, beta: float, ref_policy: Any
) -> np.ndarray:
    """IPO's tabular fixed point with unlimited pairs y ~ ``mu1``, y' ~ ``mu2`` and
    Bradley–Terry labels P(y ≻ y') = σ(R(y) − R(y')).

    Per ordered pair (a, b) the expected loss p·(d − c)² + (1 − p)·(d + c)², with
    d = s_a − s_b, c = 1/(2β) and p = σ(R_a − R_b), is least at d = c·(2p − 1); the
    logits s solve the least squares over all pairs weighted by μ1(a)·μ2(b) (pairs a = b
    add a constant), and π = softmax(ln π_ref + s), as in ``ipo_fixed_point`` on a sample.
    """
    r, mu1, mu2 = (np.asarray(v, dtype=float) for v in (rewards, mu1, mu2))
    n, c = r.size, 1.0 / (2.0 * beta)
    rows, targets, weights = [], [], []
    for a, b in itertools.permutations(range(n), 2):
        row = np.zeros(n)
        row[a], row[b] = 1.0, -1.0
        rows.append(row)
        targets.append(c * (2.0 / (1.0 + np.exp(-(r[a] - r[b]))) - 1.0))
        weights.append(np.sqrt(mu1[a] * mu2[b]))
    w = np.array(weights)
    s = np.linalg.lstsq(np.array(rows) * w[:, None], np.array(targets) * w, rcond=None)[0]
    z = np.log(np.asarray(ref_policy, dtype=float)) + s
    z = np.exp(z - z.max())
    return z / z.sum()


def ipo_population(env: Any, betas: tuple[float, ...], seed: int = 0) -> dict[str, dict]:
    """Per β: KL(π_IPO‖π*) in nats of IPO's unlimited-data fixed point on each behaviour
    pair (``pairs``), and its range over ``RANDOM_PAIRS`` random pairs with full support
    (μ1, μ2 ~ Dirichlet(1, ..., 1), ``random_range``)."""
    rng = np.random.default_rng(seed)
    n = env.num_outcomes
    randoms = [(rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))) for _ in range(RANDOM_PAIRS)]
    out = {}
    for beta in betas:
        opt = env.optimal_policy(beta)

        def kl(mu1: Any, mu2: Any, beta: float = beta, opt: np.ndarray = opt) -> float:
            pi = ipo_population_fixed_point(mu1, mu2, env.rewards, beta, env.ref_policy)
            return float(np.sum(pi * np.log(pi / opt)))

        on_random = [kl(m1, m2) for m1, m2 in randoms]
        out[f"{beta:g}"] = {
            "pairs": {p: kl(m1, m2) for p, (m1, m2) in BEHAVIOURS.items()},
            "random_range": [min(on_random), max(on_random)],
        }
    return out


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
) -> dict[str, list]:
    """``method`` on ``args.seeds`` seeds; per seed the final ``kl`` (KL(π‖π*), nats),
    ``tv`` (to π*), ``regret`` (reward units), ``policy``, the ``regret_curve`` (per
    epoch) and ``seconds`` (wall time of the run)."""
    plugin, extra = ALL_METHODS[method]
    rec: dict[str, list] = {k: [] for k in ("kl", "tv", "regret", "policy", "regret_curve")}
    rec["seconds"] = []
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        algo = quadgym.make_algo(
            plugin,
            env_id,
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
    :func:`across_pairs`, each with its t-interval ``ci`` and CoPG's paired test)."""
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
    return out


def fmt(x: float) -> str:
    """A distance in 2 significant digits; |x| below 1e-12 (float rounding) shown as 0."""
    if not np.isfinite(x):
        return "n/a"
    return "0" if abs(x) < 1e-12 else f"{x:.2g}"


def fmt_ci(ci: Any) -> str:
    """``mean [low, high]``."""
    mean, low, high = ci
    return f"{fmt(mean)} [{fmt(low)}, {fmt(high)}]"


def fmt_p(p: float) -> str:
    """A p-value: 3 decimals, or 1 significant digit below 1e-3."""
    return "n/a" if not np.isfinite(p) else f"{p:.1g}" if p < 1e-3 else f"{p:.3f}"


def tables(setting: Setting, summary: dict, optimum: dict, n: int) -> str:
    """The markdown tables of one setting: KL per pair with the statistics across pairs,
    then the mean final policies."""
    pairs = list(BEHAVIOURS)
    title = f"lr {setting.lr:g}, {setting.schedule}, {setting.epochs} epochs"
    lines = [f"### Setting `{setting.name}`: {title}; {n} seeds, mean [95 % t-interval]", ""]
    for b, per_method in summary.items():
        lines += [
            f"β = {b}: final KL(π‖π*), nats, per behaviour pair; KL spread = max − min over "
            "the pairs and TV between = largest total variation between two of the method's "
            "final policies, seed by seed; p = paired t-test against CoPG over seeds "
            "(CoPG lower on k/n seeds)",
            "",
            "| method | "
            + " | ".join(f"μ {p}" for p in pairs)
            + " | KL spread | p | TV between | p |",
            "|---" * (len(pairs) + 5) + "|",
        ]
        for m, s in per_method.items():
            row = [fmt_ci(s["per_pair"][p]["kl"]) for p in pairs]
            for k in ("kl_spread", "tv_between"):
                a = s["across"][k]
                row.append(fmt_ci(a["ci"]))
                test = a["copg_vs"]
                row.append("—" if m == "copg" else f"{fmt_p(test['p'])} ({test['lower']}/{n})")
            lines.append(f"| {m} | " + " | ".join(row) + " |")
        lines += [
            "",
            f"β = {b}: CoPG's final KL(π‖π*) against each method's on the same pair and seed: "
            "p of the paired t-test (CoPG lower on k/n seeds)",
            "",
            "| CoPG vs | " + " | ".join(f"μ {p}" for p in pairs) + " |",
            "|---" * (len(pairs) + 1) + "|",
        ]
        for m, s in per_method.items():
            if m != "copg":
                tests = [s["per_pair"][p]["copg_vs"] for p in pairs]
                cells = [f"{fmt_p(t['p'])} ({t['lower']}/{n})" for t in tests]
                lines.append(f"| {m} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["Mean final policy over seeds (π(arm 0), π(arm 1), π(arm 2)):", ""]
    lines += ["| β | π* | method | " + " | ".join(f"μ {p}" for p in pairs) + " |"]
    lines += ["|---" * (len(pairs) + 3) + "|"]
    for b, per_method in summary.items():
        opt = ", ".join(f"{v:.3f}" for v in optimum[b])
        for m, s in per_method.items():
            cells = [", ".join(f"{v:.3f}" for v in s["per_pair"][p]["mean_policy"]) for p in pairs]
            lines.append(f"| {b} | {opt} | {m} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def ipo_table(population: dict) -> str:
    """IPO's unlimited-data fixed point: KL to π* per pair and over random pairs."""
    pairs = list(BEHAVIOURS)
    lines = [
        "### IPO's fixed point with unlimited data (exact), KL(π_IPO‖π*) in nats",
        "",
        "| β | " + " | ".join(f"μ {p}" for p in pairs) + f" | {RANDOM_PAIRS} random pairs |",
        "|---" * (len(pairs) + 2) + "|",
    ]
    for b, rec in population.items():
        low, high = rec["random_range"]
        cells = [f"{rec['pairs'][p]:.3f}" for p in pairs]
        lines.append(f"| {b} | " + " | ".join(cells) + f" | {low:.3f} – {high:.3f} |")
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------- plots
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


# ------------------------------------------------------------ sequence task
def sequence_task(args: Args, out: Path) -> None:
    """Every method (RLOO included) on CoPGSequence-v0 at ``args.beta`` and the default
    setting's schedule, from one behaviour pair (two fixed random distributions with full
    support); writes ``out/sequence/results.json`` and ``regret.png``."""
    env = gym.make("CoPGSequence-v0").unwrapped
    rng = np.random.default_rng(12345)
    n = env.num_outcomes
    mu = {"mu1": rng.dirichlet(np.ones(n)).tolist(), "mu2": rng.dirichlet(np.ones(n)).tolist()}
    cells = {}
    for m in ALL_METHODS:
        cells[m] = train_cell(
            m, "CoPGSequence-v0", args.beta, args.sequence_lr, args.schedule, args.epochs, mu, args
        )
        print(f"  {m:<9} final regret {fmt_ci(t_interval(cells[m]['regret']))}", flush=True)
    result = {
        "optimal_policy": env.optimal_policy(args.beta).tolist(),
        "reference_regret": env.regret(env.ref_policy, args.beta),
        "setup": {**args.to_dict(), "env": "CoPGSequence-v0", "lr": args.sequence_lr, **mu},
        "cells": cells,
    }
    (out / "sequence").mkdir(exist_ok=True)
    (out / "sequence" / "results.json").write_text(json.dumps(result, indent=1))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    plot_regret(ax, cells, result["reference_regret"], "CoPG sequence task (V=4, L=4)")
    ax.set_ylabel("regret J(π*) − J(π)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "sequence" / "regret.png", dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    """Run, print and write everything; returns what results.json holds."""
    args = parse_args(Args, __doc__, argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = gym.make("CoPGBandit-v0").unwrapped

    settings = settings_of(args)
    results: dict[str, dict] = {}
    for s in settings:
        print(f"bandit, {s.name} setting (lr {s.lr:g}, {s.schedule}, {s.epochs} epochs)")
        cells = bandit_grid(s, args.beta, args)
        results[s.name] = {"lr": s.lr, "schedule": s.schedule, "epochs": s.epochs, "cells": cells}

    betas = settings[0].betas
    optimum = {f"{b:g}": env.optimal_policy(b).tolist() for b in betas}
    summary = {s.name: summarise(results[s.name]["cells"]) for s in settings}
    population = ipo_population(env, betas)
    text = "\n".join(
        [tables(s, summary[s.name], optimum, args.seeds) for s in settings]
        + [ipo_table(population)]
    )
    print(text)
    (out / "tables.md").write_text(text)
    reference_regret = env.regret(env.ref_policy, args.beta)
    plot_figure1(settings, results, args.beta, reference_regret, out / "figure1.png")
    plot_across(settings, results, out / "across_behaviour.png")

    if args.full:
        print("sequence task (V=4, L=4)")
        sequence_task(args, out)
    seconds = time.perf_counter() - start
    written = {
        "setup": {**args.to_dict(), "paper_lr": PAPER_LR, "paper_schedule": PAPER_SCHEDULE},
        "behaviours": BEHAVIOURS,
        "optimal_policy": optimum,
        "settings": results,
        "summary": summary,
        "ipo_population": population,
        "seconds": seconds,
    }
    (out / "results.json").write_text(json.dumps(written, indent=1))
    figures = "figure1.png, across_behaviour.png" + (", sequence/" if args.full else "")
    print(f"wrote {out}/ (results.json, tables.md, {figures}) in {seconds:.0f} s")
    return written


if __name__ == "__main__":
    main()
