"""DPO's 3D-properties with token sequences (PreferenceTokens-v0): the paper's off-policy
claim where chosen and rejected responses share tokens.

Per instance (the seed draws π_ref, the scores, the pairs and the network's start, so every
seed is an independent problem instance): 256 pairs from the on-policy source (π_ref's
chain) and 256 from the off-policy one (the chain with negated logits), each pair two
samples sharing a random prefix, labelled by the oracle; DPO (β = 0.1, Adam lr 1e-3,
batch 64) on each, an autoregressive policy started at π_ref. Each property as a change
from the start (epoch 0 = π_ref) to the last epoch:

* drastic drop: Δ mean ln π(y_l) over the pairs (nats);
* degradation: Δ mean ln π(y_w) over the pairs (nats);
* dispersion: Δ ln of the mass on never-shown responses in the lower half of π_ref's
  ranking (nats; it starts small on either source, so it has no ceiling), and the change
  of the mass on all never-shown responses (probability; with a ceiling off-policy,
  where it starts near 1).

The paper's direction: each property stronger off-policy. Off against on is paired by
instance (two-sided paired t-test), Holm-corrected over the three properties.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np

import quadgym
from quadgym.repro.format import interval, p_value, sig
from quadgym.stats import holm, paired_test, t_interval

ENV_ID = "PreferenceTokens-v0"
#: the env's settings for this experiment: V = 5 tokens, L = 4 (625 responses)
ENV_KWARGS: dict[str, Any] = {"vocab": 5, "length": 4}
#: pairs per dataset, and the plugins' settings
PAIRS = 256
TRAIN: dict[str, Any] = {"beta": 0.1, "lr": 1e-3, "batch_size": 64, "hidden": 64}
#: the changes: column title, units
CHANGES: dict[str, tuple[str, str]] = {
    "dln_rejected": ("rejected: Δ mean ln π(y_l)", "nats"),
    "dln_chosen": ("chosen: Δ mean ln π(y_w)", "nats"),
    "dln_low_unseen": ("never-shown, lower half of π_ref: Δ ln mass", "nats"),
    "d_unseen": ("never-shown: Δ mass", "probability"),
}
#: per property of the paper, the change that measures it and its sign when stronger
PROPERTIES: dict[str, tuple[str, int]] = {
    "drastic drop": ("dln_rejected", -1),
    "degradation": ("dln_chosen", -1),
    "dispersion": ("dln_low_unseen", +1),
}


def token_run(source: str, seed: int, epochs: int) -> dict[str, Any]:
    """DPO on ``source`` pairs of instance ``seed``: the start masses and the changes."""
    env = gym.make(ENV_ID, task_seed=seed, **ENV_KWARGS)
    task = env.unwrapped
    data = task.preference_pairs(source, PAIRS, seed=seed)
    agent = quadgym.make_algo("dpo", env, seed=seed, data=data, **TRAIN)
    seen = np.zeros(task.num_outcomes, dtype=bool)
    seen[data["y"]] = seen[data["y2"]] = True
    rank = np.argsort(np.argsort(-task.ref_policy))
    low = (rank >= task.num_outcomes // 2) & ~seen

    def measure() -> dict[str, float]:
        p = agent.distribution()
        return {
            "ln_chosen": float(np.log(p[data["y"]]).mean()),
            "ln_rejected": float(np.log(p[data["y2"]]).mean()),
            "ln_low_unseen": float(np.log(p[low].sum())),
            "unseen": float(p[~seen].sum()),
        }

    start = measure()
    agent.learn(epochs)
    end = measure()
    return {
        "start": start,
        "end": end,
        "changes": {
            "dln_rejected": end["ln_rejected"] - start["ln_rejected"],
            "dln_chosen": end["ln_chosen"] - start["ln_chosen"],
            "dln_low_unseen": end["ln_low_unseen"] - start["ln_low_unseen"],
            "d_unseen": end["unseen"] - start["unseen"],
        },
        "shared_tokens": float(data["shared"].mean()),
    }


def token_experiment(seeds: int, epochs: int) -> dict[str, Any]:
    """DPO on both sources for instances 0..seeds-1: per source the per-instance runs,
    the changes' t-intervals, and the paired off-against-on tests (Holm over the three
    properties)."""
    runs: dict[str, list[dict]] = {}
    for source in ("on", "off"):
        t0 = time.perf_counter()
        runs[source] = [token_run(source, s, epochs) for s in range(seeds)]
        print(f"  tokens, dpo/{source:<4} {time.perf_counter() - t0:5.1f} s", flush=True)
    per = {src: {k: [r["changes"][k] for r in rs] for k in CHANGES} for src, rs in runs.items()}
    summary = {src: {k: t_interval(v) for k, v in c.items()} for src, c in per.items()}
    tests = []
    for prop, (change, sign) in PROPERTIES.items():
        test = paired_test(per["off"][change], per["on"][change])
        test["stronger"] = test["higher"] if sign > 0 else test["lower"]
        tests.append({"property": prop, "change": change, **test})
    for test, adjusted in zip(tests, holm([t["p"] for t in tests]), strict=True):
        test["p_holm"] = adjusted
    return {
        "setup": {"env": ENV_ID, **ENV_KWARGS, "pairs": PAIRS, **TRAIN, "epochs": epochs},
        "runs": runs,
        "changes": per,
        "summary": summary,
        "comparisons": tests,
    }


def token_tables(result: dict[str, Any]) -> str:
    """The token toy's tables: the changes per source (mean [95 % t-interval] over the
    instances) and the paired off-against-on comparisons."""
    n = len(result["changes"]["on"]["dln_chosen"])
    lines = [
        f"### Token sequences ({ENV_ID}): changes from the start, mean [95 % t-interval] "
        f"over {n} instances",
        "",
        "| data | " + " | ".join(f"{t} ({u})" for t, u in CHANGES.values()) + " |",
        "|---" * (len(CHANGES) + 1) + "|",
    ]
    for src in ("on", "off"):
        cells = [interval(result["summary"][src][k]) for k in CHANGES]
        lines.append(f"| dpo/{src}-policy | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Off- against on-policy, paired by instance: A − B of the change, mean [95 % "
        "t-interval]; k/n: instances on which off-policy shows the property more strongly; "
        "p two-sided, and Holm-adjusted over the three properties.",
        "",
        "| property (change) | off − on | p | p (Holm) | k/n |",
        "|---|---|---|---|---|",
    ]
    for t in result["comparisons"]:
        ci = (t["diff"], *t["diff_ci"])
        lines.append(
            f"| {t['property']} ({t['change']}) | {interval(ci)} | {p_value(t['p'])} | "
            f"{p_value(t['p_holm'])} | {t['stronger']}/{t['n']} |"
        )
    lines += ["", "Per instance, DPO (seed: off-policy change / on-policy change):", ""]
    lines += ["| change | " + " | ".join(str(s) for s in range(n)) + " |"]
    lines += ["|---" * (n + 1) + "|"]
    for k in CHANGES:
        cells = [
            f"{sig(o)} / {sig(a)}"
            for o, a in zip(*(result["changes"][s][k] for s in ("off", "on")), strict=True)
        ]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)
