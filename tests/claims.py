"""Seeds of the tests that train to a claim's threshold.

The first seed of each runs in ``make test`` (the five-minute suite); the others, like the
claims at a paper's own budget, carry the ``paper`` mark and run in ``make test-paper``,
which CI runs after ``make test``. So every seed of every claim is still tested on each
submission, and the everyday suite stays fast.
"""

import pytest


def claim_seeds(*seeds: int) -> list:
    """``seeds`` as pytest params: the first unmarked, the rest marked ``paper``."""
    return [pytest.param(s, marks=() if i == 0 else pytest.mark.paper) for i, s in enumerate(seeds)]


# ----------------------------------------------------------------- the preference toys
# (CoPG, DPO 3D-properties): claims as paired comparisons over seeds, Holm-corrected.
def paired_claims(cases: dict) -> dict:
    """``cases``: name -> (a, b), values paired by seed. Returns name -> the paired t-test of
    a against b (:func:`quadgym.stats.paired_test`) with ``p_holm``, Holm-adjusted over all
    the cases: the family of comparisons one claim makes."""
    from quadgym.stats import holm, paired_test

    tests = {name: paired_test(a, b) for name, (a, b) in cases.items()}
    for test, adjusted in zip(tests.values(), holm([t["p"] for t in tests.values()]), strict=True):
        test["p_holm"] = adjusted
    return tests


def assert_significant(tests: dict, signs: dict, alpha: float = 0.05) -> None:
    """Each named test's mean difference has the sign of ``signs[name]`` (+1: a > b) and its
    Holm-adjusted p is below ``alpha``."""
    for name, sign in signs.items():
        t = tests[name]
        assert sign * t["diff"] > 0 and t["p_holm"] < alpha, (name, t)
