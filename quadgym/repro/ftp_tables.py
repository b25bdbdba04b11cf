"""The Markdown tables ``scripts/reproduce_ftp.py`` prints and writes to ``OUT/tables.md``:
per regime the runs (mean [95 % t-interval] over seeds), FTP against each other run paired
by seed, the equal-loss levels per seed; and where the run's time went."""

from __future__ import annotations

import math

from quadgym.repro.ftp_jobs import REGIMES


def fmt(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` decimals, an em dash for NaN."""
    return "—" if not math.isfinite(x) else f"{x:.{digits}f}"


def interval(v: list) -> str:
    """``mean [low, high]``."""
    return f"{fmt(v[0])} [{fmt(v[1])}, {fmt(v[2])}]"


def p_value(p: float) -> str:
    """A p-value to two significant digits."""
    return "—" if not math.isfinite(p) else f"{p:.2g}"


def comparison_row(name: str, test: dict) -> str:
    """One row of a comparison table from a :func:`quadgym.stats.paired_test` result."""
    lo, hi = test["diff_ci"]
    return (
        f"| {name} | {test['diff']:+.3f} | [{lo:+.3f}, {hi:+.3f}] "
        f"| {p_value(test['p'])} | {test['higher']}/{test['n']} |"
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
        per_seed = ", ".join(fmt(x) for x in run["success_rate"])
        lines.append(
            f"| `{key}` | {run['params'] // 1000}k | {interval(s['success_rate'])} "
            f"| {per_seed} | {interval(s['success_rate_sampled'])} "
            f"| {interval(s['validation_loss'])} | {interval(s['adjacent_cosine'])} "
            f"| {interval(s['init_cosine'])} |"
        )
    lines += [
        "",
        "| comparison (paired by seed) | difference | 95 % interval | p | higher on |",
        "|---|---|---|---|---|",
    ]
    compared = [k for k in runs if f"ftp_vs_{k}" in summ]
    for key in compared:
        cmp, pair = summ[f"ftp_vs_{key}"], f"`ftp` − `{key}`"
        matched = cmp["loss_matched"]
        lines += [
            comparison_row(f"success, {pair}", cmp["success_rate"]),
            comparison_row(f"success at equal loss, first, {pair}", matched["test"]),
            comparison_row(f"success at equal loss, last, {pair}", matched["test_last"]),
            comparison_row(f"next-token loss, {pair}", cmp["validation_loss"]),
            comparison_row(f"adjacent cosine, {pair}", cmp["adjacent_cosine"]),
        ]
    for key in runs:
        rise = summ[key]["cosine_vs_init"]
        lines.append(comparison_row(f"adjacent cosine, `{key}` − initialisation", rise))
    lines.append("")
    for key in compared:
        m = summ[f"ftp_vs_{key}"]["loss_matched"]
        levels = "; ".join(
            f"{fmt(lv)}: {fmt(a)}, {fmt(b)}"
            for lv, a, b in zip(m["level"], m["a"], m["b"], strict=True)
        )
        head = f"Equal loss (first), `ftp` against `{key}`, per seed (level, nats: ftp, {key})"
        lines.append(f"{head}: {levels}")
    return [*lines, ""]


def tables(results: dict) -> str:
    """The Markdown tables of every regime in ``results`` (runs, comparisons, equal loss)."""
    lines = []
    for regime in REGIMES:
        if regime in results:
            lines += regime_table(regime, results[regime], results["summary"][regime])
    return "\n".join(lines)


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
