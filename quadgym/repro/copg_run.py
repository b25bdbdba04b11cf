"""Reproduce Figure 1 of "Contrastive Policy Gradient" (Flet-Berliac et al. 2024) and test
its claim across off-policy data, against IPO at its own tuned regulariser and on other
bandits.

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
(reward units per nat) × the methods CoPG, IPO and DPO (Bradley–Terry labels, their
regulariser = β), off-policy policy gradient without a baseline (``pg``) and with the
exact value E_π[R] as baseline (``pg_value``) × seeds 0 .. ``--seeds`` − 1 (the seed also
draws the data set). The default setting runs the whole grid; the paper's setting runs
it at ``--beta`` only (every β with ``--full``). On-policy RLOO joins the figure.

Then IPO as the strongest fair baseline (:mod:`quadgym.repro.copg_ipo`): its regulariser
τ chosen on the grid's seeds (selection) and reported, beside τ = β and CoPG, on fresh
seeds ``--seeds`` .. 2·``--seeds`` − 1 (confirmation), on the paper's bandit at each β and
on three other bandits (3, 5 and 10 arms, other rewards) at β = 0.5.

Reported, per cell: the final policy (last epoch, never the best one) and its distance
to π*, KL(π‖π*) in nats (regret = β·KL, reward units) and total variation; the mean
over seeds with a 95 % t-interval. Per method and β, across the behaviour pairs and
seed by seed: the spread max − min of KL(π‖π*) and the largest total variation
between two final policies learned from different pairs; CoPG against each other
method by a two-sided paired t-test over seeds (p-value Holm-adjusted over the table's
comparisons, and on how many seeds CoPG is lower). And IPO's fixed point with unlimited
data, exactly, on the three pairs and on random ones.

Writes to ``--out``: ``results.json`` (``setup``; ``behaviours``; ``optimal_policy``
per β; ``settings``: per setting ``lr``, ``schedule``, ``epochs``; ``summary``: the
statistics above; ``ipo_population``; ``ipo_tuned``; ``bandits``; with ``--full``
``sequence``; ``seconds``), from which :func:`quadgym.repro.copg_tables.table_sections`
regenerates every table; ``curves.json`` (every run's per-seed values and regret
curves); ``tables.md`` (the tables printed); ``figure1.png`` (the paper's Figure 1
redrawn: regret per epoch on the paper's data at ``--beta``, one panel per setting) and
``across_behaviour.png``. With ``--full``, also every method on ``CoPGSequence-v0``
(V = 4, L = 4, 256 sequences, an autoregressive MLP policy, lr ``--sequence-lr``), its
figure in ``OUT/sequence/regret.png``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np
import torch

from quadgym.cli import parse_args
from quadgym.repro.copg import (
    ALL_METHODS,
    BEHAVIOURS,
    PAPER_LR,
    PAPER_SCHEDULE,
    Args,
    bandit_grid,
    settings_of,
    summarise,
    train_cell,
)
from quadgym.repro.copg_figures import plot_across, plot_figure1, plot_regret
from quadgym.repro.copg_ipo import ipo_population, ipo_tuned_grid, other_bandits
from quadgym.repro.copg_tables import tables
from quadgym.repro.format import interval
from quadgym.repro.io import write_json, write_text
from quadgym.stats import t_interval

__all__ = ["Args", "main"]


def sequence_task(args: Args, out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every method (RLOO included) on CoPGSequence-v0 at ``args.beta`` and the default
    setting's schedule, from one behaviour pair (two fixed random distributions with full
    support); draws ``out/sequence/regret.png``. Returns the final regret's t-interval per
    method and the runs."""
    env = gym.make("CoPGSequence-v0").unwrapped
    rng = np.random.default_rng(12345)
    n = env.num_outcomes
    mu = {"mu1": rng.dirichlet(np.ones(n)).tolist(), "mu2": rng.dirichlet(np.ones(n)).tolist()}
    cells = {}
    for m in ALL_METHODS:
        cells[m] = train_cell(
            m, "CoPGSequence-v0", args.beta, args.sequence_lr, args.schedule, args.epochs, mu, args
        )
        print(f"  {m:<9} final regret {interval(t_interval(cells[m]['regret']))}", flush=True)
    (out / "sequence").mkdir(exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    plot_regret(ax, cells, env.regret(env.ref_policy, args.beta), "CoPG sequence task (V=4, L=4)")
    ax.set_ylabel("regret J(π*) − J(π)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "sequence" / "regret.png", dpi=100)
    plt.close(fig)
    summary = {m: t_interval(c["regret"]) for m, c in cells.items()}
    return summary, {"setup": {"lr": args.sequence_lr, **mu}, "cells": cells}


def main(argv: list[str] | None = None) -> dict:
    """Run, print and write everything; returns what results.json holds."""
    args = parse_args(Args, __doc__, argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = gym.make("CoPGBandit-v0").unwrapped

    settings = settings_of(args)
    runs: dict[str, dict] = {}
    for s in settings:
        print(f"bandit, {s.name} setting (lr {s.lr:g}, {s.schedule}, {s.epochs} epochs)")
        runs[s.name] = {"lr": s.lr, "schedule": s.schedule, "epochs": s.epochs}
        runs[s.name]["cells"] = bandit_grid(s, args.beta, args)
    betas = settings[0].betas
    print("IPO at its own tuned regulariser, and other bandits")
    results: dict[str, Any] = {
        "setup": {**args.to_dict(), "paper_lr": PAPER_LR, "paper_schedule": PAPER_SCHEDULE},
        "behaviours": BEHAVIOURS,
        "optimal_policy": {f"{b:g}": env.optimal_policy(b).tolist() for b in betas},
        "settings": {n: {k: v for k, v in r.items() if k != "cells"} for n, r in runs.items()},
        "summary": {n: summarise(r["cells"]) for n, r in runs.items()},
        "ipo_population": ipo_population(env, betas),
        "ipo_tuned": ipo_tuned_grid(betas, args),
        "bandits": other_bandits(args),
    }
    curves: dict[str, Any] = {"settings": runs}
    if args.full:
        print("sequence task (V=4, L=4)")
        results["sequence"], curves["sequence"] = sequence_task(args, out)
    results["seconds"] = time.perf_counter() - start
    text = tables(results)
    print(text)
    write_text(out / "tables.md", text)
    reference_regret = env.regret(env.ref_policy, args.beta)
    plot_figure1(settings, runs, args.beta, reference_regret, out / "figure1.png")
    plot_across(settings, runs, out / "across_behaviour.png")
    write_json(out / "curves.json", curves)
    write_json(out / "results.json", results)
    figures = "figure1.png, across_behaviour.png" + (", sequence/" if args.full else "")
    print(f"wrote {out}/ (results.json, curves.json, tables.md, {figures})")
    print(f"{results['seconds']:.0f} s")
    return results
