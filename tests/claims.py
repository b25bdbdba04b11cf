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
