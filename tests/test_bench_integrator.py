"""benchmarks/bench_integrator.py: its error measure on hand-made trajectories, and its
manoeuvre (RK4's error on it falls ~16x per halved step, Euler's ~2x)."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
bench = pytest.importorskip("bench_integrator")


def test_errors_are_the_distance_and_the_rotation_angle():
    level = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    # 3-4-5 off, turned by 1e-9 rad about z (acos of a dot product would give 0 here)
    turned = [3.0, 4.0, 1.0, 0.0, 0.0, math.sin(0.5e-9), math.cos(0.5e-9)]
    e = bench.errors([level, turned], [level, level])
    assert e["position_m"] == pytest.approx(5.0)
    assert e["attitude_rad"] == pytest.approx(1e-9, rel=1e-6)
    # q and -q are one attitude
    flipped = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
    assert bench.errors([flipped], [level]) == {"position_m": 0.0, "attitude_rad": 0.0}


def test_the_manoeuvre_tilts_and_its_errors_converge_at_each_order():
    ref = bench.quadgym_run("rk4", 3200, 0.5)
    tilt = 2 * math.acos(ref[-1][6])
    assert 0.1 < tilt < 0.5  # a hover-to-tilt step, not a hover
    euler = [
        bench.errors(bench.quadgym_run("euler", h, 0.5), ref)["position_m"] for h in (100, 200)
    ]
    rk4 = [bench.errors(bench.quadgym_run("rk4", h, 0.5), ref)["position_m"] for h in (50, 100)]
    assert 1.8 < euler[0] / euler[1] < 2.2
    assert 12 < rk4[0] / rk4[1] < 20
