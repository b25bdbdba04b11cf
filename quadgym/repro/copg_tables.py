"""The Markdown tables of the CoPG reproduction, regenerated from its results.json alone, so
that docs/copg.md's tables are checked against the committed results (tests/test_doc_tables.py).

Every number goes through :mod:`quadgym.repro.format`: distances in 2 significant digits
(0 below 1e-12, float rounding), mean [95 % t-interval]; p-values Holm-adjusted over the
family of comparisons the table makes, with on how many seeds CoPG's value is the lower.
"""

from __future__ import annotations

from typing import Any

from quadgym.repro.format import dec, interval, p_value

#: the across-pairs statistics, their titles
ACROSS = {"kl_spread": "KL spread", "tv_between": "TV between"}


def _test(test: dict[str, Any]) -> str:
    """``p_holm (k/n)``: the Holm-adjusted p and on how many seeds CoPG is the lower."""
    return f"{p_value(test['p_holm'])} ({test['lower']}/{test['n']})"


def grid_table(results: dict[str, Any], names: list[str], betas: list[str] | None = None) -> str:
    """Final KL(π‖π*) per method and behaviour pair, with the across-pairs statistics and
    CoPG's paired tests on them, for the settings ``names`` (at ``betas``, default all)."""
    pairs = list(results["behaviours"])
    lines = [
        "| setting, β | method | "
        + " | ".join(f"μ {p}" for p in pairs)
        + " | "
        + " | ".join(f"{t} | p (Holm)" for t in ACROSS.values())
        + " |",
        "|---" * (len(pairs) + 2 + 2 * len(ACROSS)) + "|",
    ]
    for name in names:
        for b, per_method in results["summary"][name].items():
            if betas is not None and b not in betas:
                continue
            for m, s in per_method.items():
                row = [interval(s["per_pair"][p]["kl"]) for p in pairs]
                for k in ACROSS:
                    a = s["across"][k]
                    row += [interval(a["ci"]), "—" if m == "copg" else _test(a["copg_vs"])]
                lines.append(f"| {name}, {b} | {m} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def copg_vs_table(results: dict[str, Any], beta: str) -> str:
    """CoPG's final KL against each method's on the same pair and seed, at ``beta``, in
    every setting: Holm-adjusted p of the paired t-test (CoPG lower on k/n seeds)."""
    pairs = list(results["behaviours"])
    lines = [
        "| setting | CoPG vs | " + " | ".join(f"μ {p}" for p in pairs) + " |",
        "|---" * (len(pairs) + 2) + "|",
    ]
    for name, summary in results["summary"].items():
        if beta not in summary:
            continue
        for m, s in summary[beta].items():
            if m != "copg":
                cells = [_test(s["per_pair"][p]["copg_vs"]) for p in pairs]
                lines.append(f"| {name} | {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def policy_table(results: dict[str, Any], beta: str) -> str:
    """The mean final policy over seeds per method and pair at ``beta``, every setting."""
    pairs = list(results["behaviours"])
    opt = ", ".join(dec(v) for v in results["optimal_policy"][beta])
    lines = [
        f"π* = ({opt})",
        "",
        "| setting | method | " + " | ".join(f"μ {p}" for p in pairs) + " |",
        "|---" * (len(pairs) + 2) + "|",
    ]
    for name, summary in results["summary"].items():
        if beta not in summary:
            continue
        for m, s in summary[beta].items():
            cells = [", ".join(dec(v) for v in s["per_pair"][p]["mean_policy"]) for p in pairs]
            lines.append(f"| {name} | {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def ipo_exact_table(results: dict[str, Any]) -> str:
    """IPO's unlimited-data fixed point (τ = β): KL to π* per pair and over random pairs."""
    population = results["ipo_population"]
    pairs = list(results["behaviours"])
    lines = [
        "| β | " + " | ".join(f"μ {p}" for p in pairs) + " | random pairs, range |",
        "|---" * (len(pairs) + 2) + "|",
    ]
    for b, rec in population.items():
        low, high = rec["random_range"]
        cells = [dec(rec["pairs"][p]) for p in pairs]
        lines.append(f"| {b} | " + " | ".join(cells) + f" | {dec(low)} – {dec(high)} |")
    return "\n".join(lines) + "\n"


def tuned_table(tuned: dict[str, dict[str, Any]], label: str) -> str:
    """IPO at τ = β, IPO at its tuned τ, and CoPG on the confirmation seeds: final KL(π‖π*)
    per pair, the across-pairs statistics, CoPG's Holm-adjusted paired tests (per row of
    ``tuned``, over that row's comparisons)."""
    first = next(iter(tuned.values()))
    pairs = list(first["summary"]["copg"]["kl"])
    lines = [
        f"| {label} | τ (selection) | method | "
        + " | ".join(f"μ {p}" for p in pairs)
        + " | "
        + " | ".join(ACROSS.values())
        + " |",
        "|---" * (len(pairs) + 3 + len(ACROSS)) + "|",
    ]
    for key, rec in tuned.items():
        for m, s in rec["summary"].items():
            vs = s.get("copg_vs", {})
            cells = []
            for p in pairs:
                cells.append(interval(s["kl"][p]) + (f"; p {_test(vs[p])}" if vs else ""))
            for k in ACROSS:
                cells.append(interval(s["across"][k]) + (f"; p {_test(vs[k])}" if vs else ""))
            tau = {"ipo": f"{rec['beta']:g} (= β)", "ipo_tuned": f"{rec['tau']:.3g}"}.get(m, "—")
            lines.append(f"| {key} | {tau} | {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def tau_table(tuned: dict[str, dict[str, Any]], label: str) -> str:
    """IPO's best τ per behaviour pair on the selection seeds, beside the one chosen."""
    first = next(iter(tuned.values()))
    pairs = list(first["tau_per_pair"])
    lines = [
        f"| {label} | chosen τ | " + " | ".join(f"best τ, μ {p}" for p in pairs) + " |",
        "|---" * (len(pairs) + 2) + "|",
    ]
    for key, rec in tuned.items():
        cells = [f"{rec['tau_per_pair'][p]:.3g}" for p in pairs]
        lines.append(f"| {key} | {rec['tau']:.3g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def sequence_table(sequence: dict[str, Any]) -> str:
    """Final regret per method on CoPGSequence-v0 (``--full``)."""
    methods = list(sequence)
    lines = ["| " + " | ".join(methods) + " |", "|---" * len(methods) + "|"]
    lines.append("| " + " | ".join(interval(sequence[m]) for m in methods) + " |")
    return "\n".join(lines) + "\n"


def table_sections(results: dict[str, Any]) -> dict[str, str]:
    """Every table of a run, by name: ``default`` and ``paper`` (the grid; ``paper`` with
    ``paper_long`` when run), ``copg_vs`` and ``policies`` (at the figure's β),
    ``ipo_exact``, ``ipo_tuned`` and ``ipo_tau`` (the paper's bandit at each β),
    ``bandits`` and ``bandits_tau`` (other reward vectors and numbers of arms), and
    ``sequence`` (with ``--full``)."""
    beta = f"{results['setup']['beta']:g}"
    paper = [n for n in results["summary"] if n != "default"]
    sections = {
        "default": grid_table(results, ["default"]),
        "paper": grid_table(results, paper),
        "copg_vs": copg_vs_table(results, beta),
        "policies": policy_table(results, beta),
        "ipo_exact": ipo_exact_table(results),
        "ipo_tuned": tuned_table(results["ipo_tuned"], "β"),
        "ipo_tau": tau_table(results["ipo_tuned"], "β"),
        "bandits": tuned_table(results["bandits"], "bandit (β = 0.5)"),
        "bandits_tau": tau_table(results["bandits"], "bandit (β = 0.5)"),
    }
    if "sequence" in results:
        sections["sequence"] = sequence_table(results["sequence"])
    return sections


def tables(results: dict[str, Any]) -> str:
    """All sections with a heading each, as printed and written to tables.md."""
    return "\n".join(f"### {name}\n\n{text}" for name, text in table_sections(results).items())
