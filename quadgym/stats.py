"""The statistics every reported figure uses: t-intervals over seeds or episodes, and
paired comparisons over seeds (scipy's t distribution and paired t-test)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

#: Confidence level of every interval.
LEVEL = 0.95


def t_interval(x: Any, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, low, high): the t-interval of the mean of the finite values of ``x``;
    NaN bounds for fewer than two values, all NaN for none."""
    v = np.asarray(x, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if not v.size:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if v.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, mean - half, mean + half


def paired_test(a: Any, b: Any) -> dict[str, Any]:
    """``a`` against ``b``, paired (by seed): the mean difference a − b (``diff``) with its
    t-interval (``diff_ci``), the two-sided paired t-test's p-value ``p`` (NaN for fewer
    than two pairs or differences that are all equal), and on how many of the ``n`` pairs
    a < b (``lower``) and a > b (``higher``)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = a - b
    mean, low, high = t_interval(d)
    p = math.nan
    if d.size >= 2 and np.ptp(d) > 0:
        p = float(stats.ttest_rel(a, b).pvalue)
    return {
        "diff": mean,
        "diff_ci": [low, high],
        "p": p,
        "lower": int((d < 0).sum()),
        "higher": int((d > 0).sum()),
        "n": int(d.size),
    }


def holm(p: Any) -> list[float]:
    """Holm's step-down adjustment of the p-values ``p`` of a family of comparisons: the
    k-th smallest (k = 0, 1, ...) times (m − k), made monotone and capped at 1, so that
    rejecting where the adjusted value is below α keeps the family-wise error rate at α.
    NaN p-values (an undefined test) stay NaN and do not count in m."""
    values = np.asarray(p, dtype=float).ravel()
    finite = np.flatnonzero(np.isfinite(values))
    out = np.full(values.shape, math.nan)
    running = 0.0
    for rank, i in enumerate(finite[np.argsort(values[finite], kind="stable")]):
        running = max(running, min(1.0, float(values[i]) * (len(finite) - rank)))
        out[i] = running
    return out.tolist()
