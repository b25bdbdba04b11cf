"""The one learning-rate schedule of quadgym's torch plugins.

``"constant"`` keeps the step size; ``"cosine"`` decays it from ``lr`` to 0 over
the schedule's horizon (in the plugin's budget unit), so that iterates settle
on a fixed point instead of jittering around it. The horizon is read at every
step from a callable: a plugin passes the run's total budget (given by
``scripts/train.py`` as the ``horizon`` config) or, without one, the end of the
current ``learn`` call. A chunked or resumed run therefore follows the same
schedule as an uninterrupted one when the horizon is the run's total.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch

Schedule = Literal["constant", "cosine"]


def cosine_factor(done: int, horizon: int) -> float:
    """½(1 + cos(π·min(done/horizon, 1))): 1 at the start, 0 at the horizon and after."""
    frac = min(done / max(horizon, 1), 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * frac))


def lr_schedule(
    optimizer: torch.optim.Optimizer, kind: Schedule, horizon: Callable[[], int]
) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` over ``optimizer``: call its ``step()`` once per budget unit.

    Its ``state_dict`` (the count of steps taken) belongs in the plugin's checkpoint.
    """
    if kind == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    if kind == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: cosine_factor(k, horizon()))
    raise ValueError(f"schedule must be 'constant' or 'cosine', got {kind!r}")


def refresh(scheduler: torch.optim.lr_scheduler.LambdaLR) -> None:
    """Recompute the current step size (after the horizon changed: without a run
    total, each ``learn`` call moves it to that call's end, so the step size the
    previous call left, 0 at its end, is stale). Takes no step of the schedule."""
    groups = scheduler.optimizer.param_groups
    for group, base, factor in zip(groups, scheduler.base_lrs, scheduler.lr_lambdas, strict=True):
        group["lr"] = base * factor(scheduler.last_epoch)
