"""The one number formatter of the reproductions' Markdown tables: significant digits,
fixed decimals, intervals and p-values, so every write-up prints a statistic the same way."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


def sig(x: float, digits: int = 2) -> str:
    """``x`` to ``digits`` significant digits (whole numbers from 100 up); |x| below 1e-12
    (float rounding) as 0; "n/a" for NaN or infinity."""
    if not math.isfinite(x):
        return "n/a"
    if abs(x) < 1e-12:
        return "0"
    return f"{x:.0f}" if abs(x) >= 10**digits else f"{x:.{digits}g}"


def dec(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` decimals; "n/a" for NaN or infinity."""
    return "n/a" if not math.isfinite(x) else f"{x:.{digits}f}"


def signed(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` decimals with its sign (a difference); "n/a" for NaN."""
    return "n/a" if not math.isfinite(x) else f"{x:+.{digits}f}"


def interval(ci: Sequence[float], number: Callable[[float], str] = sig) -> str:
    """``mean [low, high]`` of a (mean, low, high) triple, each through ``number``; the mean
    alone when the interval is undefined (one seed)."""
    mean, low, high = ci
    if not (math.isfinite(low) and math.isfinite(high)):
        return number(mean)
    return f"{number(mean)} [{number(low)}, {number(high)}]"


def p_value(p: float) -> str:
    """A p-value: 3 decimals, or 1 significant digit below 1e-3; "n/a" for NaN."""
    if not math.isfinite(p):
        return "n/a"
    return f"{p:.1g}" if p < 1e-3 else f"{p:.3f}"
