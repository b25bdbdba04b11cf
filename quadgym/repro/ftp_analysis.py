"""The statistics of ``scripts/reproduce_ftp.py``: per run the mean over seeds with its 95 %
t-interval, FTP against each other run paired by seed, and the comparison at equal
next-token loss (the paper compares models "trained with the same prediction perplexity
for the next single token").

A curve is a run's checkpoints on one seed, ``[(steps, success, next-token loss), ...]``
from step 0 (:func:`quadgym.repro.ftp_jobs.run_job`); a run is regime -> run's
``{field: [value per seed]}`` (:func:`quadgym.repro.ftp_jobs.collect`).
"""

from __future__ import annotations

import math

from quadgym.stats import holm, paired_test, t_interval

#: Summary fields: greedy and sampled success, adjacent cosine, next-token loss (nats).
FIELDS = ("success_rate", "success_rate_sampled", "adjacent_cosine", "validation_loss")
#: Summary fields of the jobs that record them (results of earlier versions lack them): the
#: adjacent cosine without each program's pair (last operation, ``<eos>``), whose ``<eos>``
#: vector no loss reaches (:func:`quadgym.repro.ftp_jobs.cosines`).
LATER_FIELDS = ("adjacent_cosine_trained",)


def fields(*runs: dict) -> tuple[str, ...]:
    """:data:`FIELDS`, and those of :data:`LATER_FIELDS` that every run in ``runs`` has."""
    return FIELDS + tuple(f for f in LATER_FIELDS if all(f in run for run in runs))


def success_at_loss(curve: list, level: float) -> float:
    """Success where the next-token loss of ``curve`` ``[(steps, success, loss), ...]``
    first falls to ``level``, linearly interpolated in loss between the checkpoints on
    either side; NaN if it never does."""
    _, success0, loss0 = curve[0]
    if loss0 <= level:
        return float(success0)
    for (_, s0, l0), (_, s1, l1) in zip(curve[:-1], curve[1:], strict=True):
        if l1 <= level:
            w = (l0 - level) / (l0 - l1)
            return float(s0 + w * (s1 - s0))
    return math.nan


def success_below_loss(curve: list, level: float) -> float:
    """Success at the last checkpoint of ``curve`` whose next-token loss is at or below
    ``level`` (NaN if none): a model whose held-out loss rises again while its success
    still grows is judged by its latest checkpoint at that loss, not its first."""
    below = [success for _, success, loss in curve if loss <= level]
    return float(below[-1]) if below else math.nan


def loss_matched(a: dict, b: dict) -> dict:
    """Run ``a`` against run ``b`` at equal next-token loss, seed by seed: the level is
    the lowest loss both curves reach on that seed; ``a``, ``b``: each run's success
    where its loss first falls to it, ``a_last``, ``b_last``: at its last checkpoint at
    or below it; with their paired tests (a − b), ``test`` and ``test_last``."""
    levels, sa, sb, la, lb = [], [], [], [], []
    for ca, cb in zip(a["curve"], b["curve"], strict=True):
        level = max(min(c[2] for c in ca), min(c[2] for c in cb))
        levels.append(level)
        sa.append(success_at_loss(ca, level))
        sb.append(success_at_loss(cb, level))
        la.append(success_below_loss(ca, level))
        lb.append(success_below_loss(cb, level))
    return {
        "level": levels,
        "a": sa,
        "b": sb,
        "a_last": la,
        "b_last": lb,
        "test": paired_test(sa, sb),
        "test_last": paired_test(la, lb),
    }


#: The paired tests of FTP against another run that its table reports, each tested once:
#: (label, path in ``ftp_vs_<run>``).
COMPARED = (
    ("success", ("success_rate",)),
    ("success at equal loss, first", ("loss_matched", "test")),
    ("success at equal loss, last", ("loss_matched", "test_last")),
    ("next-token loss", ("validation_loss",)),
    ("adjacent cosine", ("adjacent_cosine",)),
    ("adjacent cosine, trained pairs", ("adjacent_cosine_trained",)),
)


def compared(cmp: dict) -> list[tuple[str, dict]]:
    """(label, paired test) of :data:`COMPARED` in one ``ftp_vs_<run>`` entry, those it
    has (:data:`LATER_FIELDS` only where the jobs recorded them)."""
    out = []
    for label, path in COMPARED:
        test = cmp
        for part in path:
            test = test.get(part) if test is not None else None
        if test is not None:
            out.append((label, test))
    return out


def family(summ: dict) -> list[dict]:
    """The paired tests a regime's comparison table reports (:data:`COMPARED` for every
    run FTP is compared with, then each run's cosine against initialisation), in order."""
    tests = [test for key in summ if key.startswith("ftp_vs_") for _, test in compared(summ[key])]
    return tests + [s["cosine_vs_init"] for k, s in summ.items() if not k.startswith("ftp_vs_")]


def summary(runs: dict[str, dict]) -> dict[str, dict]:
    """One regime: per run the mean and 95 % t-interval over seeds of :data:`FIELDS` and
    of the cosine at initialisation (``[mean, low, high]``) and the cosine's rise from
    initialisation paired by seed (``cosine_vs_init``); ``ftp_vs_<run>``: FTP against
    each other run paired by seed, on :data:`FIELDS` and at equal next-token loss. Every
    test of the regime's table (:func:`family`) also gets ``p_holm``, its p-value adjusted
    for the table's number of comparisons (Holm)."""
    out: dict[str, dict] = {}
    for key, run in runs.items():
        out[key] = {f: list(t_interval(run[f])) for f in (*fields(run), "init_cosine")}
        out[key]["cosine_vs_init"] = paired_test(run["adjacent_cosine"], run["init_cosine"])
    if "ftp" in runs:
        for key, run in runs.items():
            if key != "ftp":
                out[f"ftp_vs_{key}"] = {
                    f: paired_test(runs["ftp"][f], run[f]) for f in fields(runs["ftp"], run)
                }
                out[f"ftp_vs_{key}"]["loss_matched"] = loss_matched(runs["ftp"], run)
    tests = family(out)
    for test, adjusted in zip(tests, holm([t["p"] for t in tests]), strict=True):
        test["p_holm"] = adjusted
    return out
