"""The Markdown tables ``scripts/reproduce_ftp.py`` prints and writes to ``OUT/tables.md``:
per regime the runs (mean [95 % t-interval] over seeds), FTP against each other run paired
by seed, the equal-loss levels per seed; and where the run's time went."""

from __future__ import annotations

import math

from quadgym.repro.format import dec, interval, p_value, signed
from quadgym.repro.ftp_analysis import compared
from quadgym.repro.ftp_jobs import REGIMES


def ci(v: list) -> str:
    """``mean [low, high]`` in 3 decimals."""
    return interval(v, dec)


def comparison_row(name: str, test: dict) -> str:
    """One row of a comparison table from a :func:`quadgym.stats.paired_test` result
    (with ``p_holm``, :func:`quadgym.repro.ftp_analysis.summary`)."""
    lo, hi = test["diff_ci"]
    return (
        f"| {name} | {signed(test['diff'])} | [{signed(lo)}, {signed(hi)}] "
        f"| {p_value(test['p'])} | {p_value(test.get('p_holm', math.nan))} "
        f"| {test['higher']}/{test['n']} |"
    )


def regime_table(regime: str, runs: dict, summ: dict) -> list[str]:
    """The lines of one regime: its runs, the paired comparisons, the equal-loss levels."""
    steps = ", ".join(f"{k} {r['steps']}" for k, r in runs.items())
    lines = [
        f"### Regime `{regime}` (steps: {steps})",
        "",
        "| run | params | success greedy | per seed | success sampled "
        "| next-token loss | adjacent cosine | at initialisation |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, run in runs.items():
        s = summ[key]
        per_seed = ", ".join(dec(x) for x in run["success_rate"])
        lines.append(
            f"| `{key}` | {run['params'] // 1000}k | {ci(s['success_rate'])} "
            f"| {per_seed} | {ci(s['success_rate_sampled'])} "
            f"| {ci(s['validation_loss'])} | {ci(s['adjacent_cosine'])} "
            f"| {ci(s['init_cosine'])} |"
        )
    lines += [
        "",
        "| comparison (paired by seed) | difference | 95 % interval | p | p (Holm) | higher on |",
        "|---|---|---|---|---|---|",
    ]
    others = [k for k in runs if f"ftp_vs_{k}" in summ]
    for key in others:
        for label, test in compared(summ[f"ftp_vs_{key}"]):
            lines.append(comparison_row(f"{label}, `ftp` − `{key}`", test))
    for key in runs:
        rise = summ[key]["cosine_vs_init"]
        lines.append(comparison_row(f"adjacent cosine, `{key}` − initialisation", rise))
    lines.append("")
    trained = [k for k in runs if "adjacent_cosine_trained" in summ[k]]
    if trained:
        means = "; ".join(f"`{k}` {ci(summ[k]['adjacent_cosine_trained'])}" for k in trained)
        head = "Adjacent cosine, trained pairs (without (last operation, `<eos>`))"
        lines += [f"{head}: {means}", ""]
    for key in others:
        m = summ[f"ftp_vs_{key}"]["loss_matched"]
        levels = "; ".join(
            f"{dec(lv)}: {dec(a)}, {dec(b)}"
            for lv, a, b in zip(m["level"], m["a"], m["b"], strict=True)
        )
        head = f"Equal loss (first), `ftp` against `{key}`, per seed (level, nats: ftp, {key})"
        lines.append(f"{head}: {levels}")
    return [*lines, ""]


def search_table(regime: str, search: dict) -> list[str]:
    """The lines of one regime's search for the strongest GPT
    (:func:`quadgym.repro.ftp_jobs.search_summary`): per candidate its greedy success on
    the ``tune`` prompts per seed and in the mean, and its next-token loss."""
    seeds = ", ".join(str(s) for s in search["seeds"])
    lines = [
        f"Search for `gpt_tuned`, regime `{regime}` (seeds {seeds}; trained on `fit`, "
        f"scored on `tune`; chosen: {search['chosen']})",
        "",
        "| candidate | success on tune, mean | per seed | next-token loss, mean |",
        "|---|---|---|---|",
    ]
    for name, c in search["candidates"].items():
        mark = " (chosen)" if name == search["chosen"] else ""
        mean = sum(c["success_rate"]) / len(c["success_rate"])
        loss = sum(c["validation_loss"]) / len(c["validation_loss"])
        per_seed = ", ".join(dec(x) for x in c["success_rate"])
        lines.append(f"| {name}{mark} | {dec(mean)} | {per_seed} | {dec(loss)} |")
    return [*lines, ""]


def table_sections(results: dict) -> dict[str, str]:
    """The Markdown tables of each regime in ``results``, by its name (runs, comparisons,
    equal loss, and the search for the strongest GPT when it ran): what
    :mod:`quadgym.repro.doc_tables` fills docs/ftp.md's tables with."""
    sections = {}
    for regime in REGIMES:
        if regime in results:
            lines = regime_table(regime, results[regime], results["summary"][regime])
            if regime in results.get("search", {}):
                lines += search_table(regime, results["search"][regime])
            sections[regime] = "\n".join(lines)
    return sections


def tables(results: dict) -> str:
    """The Markdown tables of every regime in ``results``, as printed and written to
    tables.md."""
    return "\n".join(table_sections(results).values())


def timing_table(timing: dict) -> str:
    """Where the time went (:func:`quadgym.repro.ftp_jobs.timing`): wall seconds per job,
    training and the rest (evaluation, start-up), and each worker's busy and idle time."""
    lines = [
        f"Wall time {timing['seconds']:.0f} s. Per job (mean over seeds), seconds:",
        "",
        "| regime/run | training (wall) | training (CPU) | evaluation and start-up (wall) |",
        "|---|---|---|---|",
    ]
    for name, t in timing["jobs"].items():
        lines.append(f"| {name} | {t['train']:.1f} | {t['cpu_train']:.1f} | {t['other']:.1f} |")
    lines.append("")
    for i, w in enumerate(timing["workers"]):
        lines.append(
            f"Worker {i}: busy {w['busy']:.0f} s, idle {w['idle_start']:.0f} s before its "
            f"first job and {w['idle_end']:.0f} s after its last."
        )
    return "\n".join([*lines, ""])
