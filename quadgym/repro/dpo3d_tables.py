"""The Markdown tables of the DPO 3D-properties reproduction, regenerated from its
results.json alone, so that docs/dpo3d.md's tables are checked against the committed results
(tests/test_doc_tables.py). Numbers through :mod:`quadgym.repro.format`."""

from __future__ import annotations

from typing import Any

import numpy as np

from quadgym.repro.dpo3d import CHANGES, SCENARIOS
from quadgym.repro.dpo_tokens import token_tables
from quadgym.repro.format import interval, p_value, sig


def _comparison_rows(tests: list[dict[str, Any]]) -> list[str]:
    """The header and one row per paired test: A − B, p, Holm-adjusted p, k/n."""
    lines = [
        "| A | B | property (change) | A − B | p | p (Holm) | k/n |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in tests:
        ci = (t["diff"], *t["diff_ci"])
        lines.append(
            f"| {t['a']} | {t['b']} | {t['property']} ({t['change']}) | {interval(ci)} | "
            f"{p_value(t['p'])} | {p_value(t['p_holm'])} | {t['stronger']}/{t['n']} |"
        )
    return lines


def _change_cell(stat: dict[str, Any]) -> str:
    """mean [95 % t-interval] of a change over seeds; "n/a (k/n seeds)" when it happened on
    only k of the n seeds (the first epoch below a tenth, on a run where it never did)."""
    values = np.asarray(stat["seeds"], dtype=float)
    finite = int(np.isfinite(values).sum())
    return interval(stat["ci"]) if finite == values.size else f"n/a ({finite}/{values.size} seeds)"


def _instance_fixes(fixes: dict[str, Any], n: int, header: list[str]) -> list[str]:
    """The fixes over the independent instances: their changes, then each against DPO on
    the same data, paired by instance."""
    lines = [
        f"### The fixes over {n} independent problem instances (task_seed = seed), mean "
        "[95 % t-interval]",
        *header,
    ]
    for key, ci in fixes["summary"].items():
        stats = [{"ci": ci[c], "seeds": fixes["changes"][key][c]} for c in CHANGES]
        lines.append(f"| {key} | " + " | ".join(_change_cell(st) for st in stats) + " |")
    return [
        *lines,
        "",
        "Each fix against DPO on the same data, paired by instance (DPO's runs are those of "
        "the table above; p (Holm): over this table's comparisons):",
        "",
        *_comparison_rows(fixes["comparisons"]),
    ]


def table_sections(results: dict[str, Any]) -> dict[str, str]:
    """The Markdown tables of a run, by name, from its results.json alone (so that a test
    can regenerate the write-up's tables from the committed results): ``changes`` (per
    run, mean [95 % t-interval]), ``per_seed`` (DPO's start masses and changes),
    ``sampled`` (with ``--full``), ``comparisons`` (paired, Holm over the table),
    ``instances`` (DPO over independent problem instances), ``instance_fixes`` (the fixes
    over the same instances, when run) and ``tokens`` (the token-sequence toy)."""
    summary, n = results["summary"], results["setup"]["seeds"]
    grid = [k for k in summary if not k.split("/")[1].startswith("sampled")]
    header = [
        "",
        "| run | " + " | ".join(f"{v[0]} ({v[1]})" for v in CHANGES.values()) + " |",
        "|---" * (len(CHANGES) + 1) + "|",
    ]
    out: dict[str, list[str]] = {}
    out["changes"] = [
        f"### Changes from the start (epoch 0) to the last epoch; {n} seeds, "
        "mean [95 % t-interval]",
        *header,
    ]
    for key in grid:
        cells = [_change_cell(summary[key][c]) for c in CHANGES]
        out["changes"].append(f"| {key} | " + " | ".join(cells) + " |")
    out["per_seed"] = [
        "### DPO per seed: start mass → change",
        "",
        "| run | seed | chosen(0) | rejected(0) | unseen(0) | "
        + " | ".join(v[0] for v in CHANGES.values())
        + " |",
        "|---" * (len(CHANGES) + 5) + "|",
    ]
    for key in (f"dpo/{sc}" for sc in SCENARIOS):
        start = results["starts"][key]
        for s in range(n):
            starts = [f"{start[k][s]:.3g}" for k in ("chosen", "rejected", "unseen")]
            vals = [sig(summary[key][c]["seeds"][s]) for c in CHANGES]
            out["per_seed"].append(f"| {key} | {s} | " + " | ".join(starts + vals) + " |")
    sampled = [k for k in summary if k.split("/")[1].startswith("sampled")]
    if sampled:
        names = {
            "dln_pair_chosen": "Δ mean ln π(y_w) (nats)",
            "dln_pair_rejected": "Δ mean ln π(y_l) (nats)",
            "d_unseen": "Δ unseen mass",
            "dln_seen": "Δ ln seen mass (nats)",
        }
        lines = [
            "### Attempt: sampled-and-labelled pairs (--full); mean [95 % t-interval]",
            "",
            "| run | " + " | ".join(names.values()) + " |",
            "|---" * (len(names) + 1) + "|",
        ]
        for key in sampled:
            cells = [interval(summary[key][c]["ci"]) for c in names]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        lines += ["", "Per seed, DPO:", "", "| run | " + " | ".join(names.values()) + " |"]
        lines.append("|---" * (len(names) + 1) + "|")
        for key in (k for k in sampled if k.startswith("dpo/")):
            cells = [", ".join(sig(v) for v in summary[key][c]["seeds"]) for c in names]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        out["sampled"] = lines
    out["comparisons"] = [
        "### Paired comparisons over seeds (two-sided paired t-test)",
        "",
        "Difference A − B of the change that measures the property, mean [95 % t-interval]; "
        "k/n: seeds on which A shows the property more strongly than B; p (Holm): adjusted "
        "over every comparison of this table.",
        "",
        *_comparison_rows(results["comparisons"]),
    ]
    inst = results["instances"]
    out["instances"] = [
        f"### DPO over {n} independent problem instances (task_seed = seed), mean "
        "[95 % t-interval]",
        *header,
    ]
    for sc, ci in inst["summary"].items():
        stats = [{"ci": ci[c], "seeds": inst["changes"][sc][c]} for c in CHANGES]
        out["instances"].append(
            f"| dpo/{sc} | " + " | ".join(_change_cell(st) for st in stats) + " |"
        )
    out["instances"] += [
        "",
        "Off- against on-policy, paired by instance (p (Holm): over the three properties):",
        "",
        *_comparison_rows(inst["comparisons"]),
    ]
    if "instance_fixes" in results:
        out["instance_fixes"] = _instance_fixes(results["instance_fixes"], n, header)
    sections = {k: "\n".join(v) + "\n" for k, v in out.items()}
    sections["tokens"] = token_tables(results["tokens"])
    return sections
