"""quadgym.stats.holm against a hand computation."""

import math

from quadgym.stats import holm


def test_holm_by_hand():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 -> kept at 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == [0.03, 0.06, 0.06, 0.02]
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # capped at 1
    assert holm([0.2]) == [0.2]  # one test: unchanged
    # an undefined test stays undefined and does not count in m
    out = holm([0.5, math.nan, 0.01])
    assert out[0] == 0.5 and math.isnan(out[1]) and out[2] == 0.02
