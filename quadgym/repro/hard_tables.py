"""The Markdown tables ``scripts/reproduce_hard.py`` prints and writes to ``OUT/tables.md``
(and docs/hard.md shows): per data set the accuracy of every method (mean [95 %
t-interval] over seeds), then the paired tests on shifted accuracy on each seed set
(selection, confirmation, all), with Holm-adjusted p-values."""

from __future__ import annotations

from quadgym.repro.format import dec, interval, p_value
from quadgym.stats import t_interval

METRICS = ("acc_in_distribution", "acc_shifted", "out_of_window")
#: How each seed set is headed.
SET_NAMES = {
    "selection": "selection seeds",
    "confirmation": "confirmation seeds (fresh)",
    "all": "all seeds",
}


def ci(v: list) -> str:
    """``mean [low, high]`` in 3 decimals (the mean alone for one seed)."""
    return interval(v, dec)


def accuracy_table(ds: str, summary: dict, teacher: dict, n: int) -> list[str]:
    """The lines of one data set's accuracy table."""
    t_in, t_sh = (t_interval(teacher[k]) for k in ("in_distribution", "shifted"))
    lines = [
        f"#### {ds}: student accuracy, {n} seeds, mean [95 % t-interval]",
        "",
        "| method | in distribution | shifted | augmented outside the window |",
        "|---|---|---|---|",
        f"| teacher | {ci(t_in)} | {ci(t_sh)} | — |",
    ]
    for key, cis in summary["intervals"].items():
        lines.append(f"| {key} | " + " | ".join(ci(cis[m]) for m in METRICS) + " |")
    return [*lines, ""]


def paired_table(ds: str, summary: dict) -> list[str]:
    """The lines of one data set's paired tests: a column group per seed set."""
    sets = summary["paired"]
    if not sets:
        return []
    heads = [
        f"{SET_NAMES[name]} {s['seeds'][0]}-{s['seeds'][1]}: difference | p | p (Holm) | higher"
        for name, s in sets.items()
    ]
    lines = [
        f"#### {ds}: shifted accuracy, a − b paired by seed: mean [95 % t-interval], "
        "two-sided paired t-test p, Holm-adjusted p over the comparisons of the seed set, "
        "seeds on which a is higher",
        "",
        "| a vs b | " + " | ".join(heads) + " |",
        "|---|" + "---|---|---|---|" * len(sets),
    ]
    first = next(iter(sets.values()))["tests"]
    for name in first:
        cells = []
        for s in sets.values():
            t = s["tests"][name]
            diff = ci((t["diff"], *t["diff_ci"]))
            cells.append(
                f"{diff} | {p_value(t['p'])} | {p_value(t['p_holm'])} | {t['higher']}/{t['n']}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def data_set_tables(summary: dict, teacher: dict, n: int) -> dict[str, str]:
    """The Markdown tables of each data set, by its name: accuracies, then the paired tests."""
    return {
        ds: "\n".join(accuracy_table(ds, s, teacher[ds], n) + paired_table(ds, s))
        for ds, s in summary.items()
    }


def tables(summary: dict, teacher: dict, n: int) -> str:
    """The Markdown tables of every data set: accuracies, then the paired tests."""
    return "\n".join(data_set_tables(summary, teacher, n).values())


def table_sections(results: dict) -> dict[str, str]:
    """:func:`data_set_tables` of a run's results.json (``toy``, ``mnist1d``): what
    :mod:`quadgym.repro.doc_tables` fills docs/hard.md's tables with."""
    return data_set_tables(results["summary"], results["teacher"], results["setup"]["seeds"])
