"""Reproduce DPO's 3D-properties on PreferenceToy-v0 and PreferenceTokens-v0 (Yan et al.
2024, arXiv 2406.07327), measured as changes from the start of training.

    python scripts/reproduce_dpo3d.py --out results/dpo3d
    python scripts/reproduce_dpo3d.py --out results/dpo3d-full --full --seeds 10
    python scripts/reproduce_dpo3d.py --out results/dpo3d-quick --seeds 2 --epochs 50 \
        --beta-minus 0.01 --sft-lambda 1.0

PreferenceToy-v0: 4 prompts, 10 responses, a Bradley–Terry oracle; the policy
is a prompt MLP with a rank-2 response embedding, first fitted to π_ref (and
then π_ref is that fitted model). Each run trains ``--epochs`` passes over 64
pairs per prompt with Adam (lr 1e-3, batch 64, β = 0.1) and records, before
training and after every epoch, the probability mass on the chosen, rejected and
unseen responses (mean over prompts).

Runs (``--seeds`` seeds each; the seed draws the pairs and the network's start):
plain DPO in the four scenarios (chosen on/off-policy × rejected on/off-policy);
the two fixes, DPO with β⁻ below β⁺ = β (``dpo_flex``) and DPO + λ·SFT on the
chosen responses (``dpo_sft``), on on-policy and on off-policy data; IPO and SLiC on
on-policy data. With ``--full``: also the attempts at an off-policy setting in which
the properties are stronger than on-policy (pairs sampled from a pool and labelled
by the oracle, so a response can be chosen in one pair and rejected in another).

Each property as a change from the start (epoch 0 = π_ref) to the last epoch:
* drastic drop: Δ log10 rejected = log10 rejected(T)/rejected(0) (decades), and
  the first epoch at which the rejected mass is below a tenth of its start;
* degradation: Δ ln chosen = ln chosen(T)/chosen(0) (nats), and the fall from the
  peak, ln chosen(T) − max_t ln chosen(t) (nats, ≤ 0);
* dispersion: Δ unseen = unseen(T) − unseen(0) (probability mass).
Every number: mean over seeds with a 95 % t-interval; comparisons paired by seed,
two-sided paired t-test (``scipy.stats.ttest_rel``), with on how many seeds the
first setting shows the property more strongly.

Also, on every run: DPO on ``on_on`` and ``off_off`` data over independent problem
instances (seed s on PreferenceToy-v0 with ``task_seed`` = s, where the grid above keeps
instance 0), each fix at its strongest setting (the smallest β⁻, the largest λ) on the
same data and instances, paired against DPO by instance, and the token-sequence toy
(:mod:`quadgym.repro.dpo_tokens`, ``--token-epochs``). Paired comparisons are
Holm-adjusted over the table they sit in.

Writes to ``--out``: ``results.json`` (``setup``; ``summary``: per run key and change the
t-interval and per-seed values; ``starts``: per run the start masses per seed;
``comparisons``; ``instances``; ``instance_fixes``; ``tokens``; ``seconds``), from which
:func:`table_sections` regenerates every table; ``curves.json`` (the per-epoch masses of
every run, for the figures); ``tables.md`` (the tables printed); ``figure.png`` (the
paper's figure redrawn: the mass of the chosen, rejected and unseen responses over
training and its ln, one column per scenario, on- to off-policy) and ``fixes.png`` (the
same for DPO and each fix on on-policy data).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from quadgym.cli import parse_args
from quadgym.repro.dpo3d import (
    SCENARIOS,
    Args,
    comparisons,
    instance_fixes,
    instances,
    run_grid,
    summarise,
)
from quadgym.repro.dpo3d_figures import plot
from quadgym.repro.dpo3d_tables import table_sections
from quadgym.repro.dpo_tokens import token_experiment
from quadgym.repro.io import write_json, write_text

__all__ = ["Args", "main"]


def main(argv: list[str] | None = None) -> dict:
    """Run, print and write everything; returns what results.json holds."""
    args = parse_args(Args, __doc__, argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    runs = run_grid(args)
    replicated = instances(args)
    fixes = instance_fixes(args, replicated)
    tokens = token_experiment(args.seeds, args.token_epochs)
    summary = summarise(runs)
    results = {
        "setup": {
            **args.to_dict(),
            "env": "PreferenceToy-v0",
            "pairs_per_prompt": 64,
            "batch_size": 64,
            "policy_rank": 2,
        },
        "summary": summary,
        "starts": {
            key: {k: [curve[0] for curve in run[k]] for k in ("chosen", "rejected", "unseen")}
            for key, run in runs.items()
        },
        "comparisons": comparisons(runs),
        "instances": replicated,
        "instance_fixes": fixes,
        "tokens": {k: v for k, v in tokens.items() if k != "runs"},
        "seconds": time.perf_counter() - t0,
    }
    text = "\n".join(table_sections(results).values())
    print(text)
    write_text(out / "tables.md", text)
    titles = {
        "dpo/on_on": "DPO, on-policy (chosen & rejected)",
        "dpo/off_off": "DPO, off-policy (chosen & rejected)",
        "dpo/on_off": "DPO, chosen on, rejected off",
        "dpo/off_on": "DPO, chosen off, rejected on",
    }
    plot(runs, [f"dpo/{sc}" for sc in SCENARIOS], out / "figure.png", titles)
    fixes = ["dpo/on_on"] + [
        k for k in runs if k.startswith(("dpo_flex", "dpo_sft")) and k.endswith("/on_on")
    ]
    plot(runs, fixes, out / "fixes.png", titles)
    curves = {key: {k: v for k, v in run.items() if k != "changes"} for key, run in runs.items()}
    write_json(out / "curves.json", {"runs": curves, "token_runs": tokens["runs"]})
    write_json(out / "results.json", results)
    print(f"wrote {out}/ (results.json, curves.json, tables.md, figure.png, fixes.png)")
    print(f"{results['seconds']:.0f} s")
    return results
