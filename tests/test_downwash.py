"""The bounded downwash model against hand-computed forces, its bound and its region.

Hand values on cf2x: k1·(r_P/4)² = 2267.18·(0.0231348/4)² = 0.075841 N·m², so the fit on
the axis is 0.075841/δz² N; the hover thrust (the bound of a hovering upper drone's wake)
is m·g = 0.027·9.8 = 0.2646 N; the onset ramp is one rotor diameter, 0.0462696 m.
"""

from pathlib import Path

import numpy as np
import pytest

from quadgym.envs.quad.sim import aero
from quadgym.envs.quad.sim.dynamics import State, euler_to_quat
from quadgym.envs.quad.sim.models import get_model
from quadgym.envs.quad.sim.world import World

DT = 1.0 / 240
K = 2267.18 * (0.0231348 / 4) ** 2  # N·m²
WEIGHT = 0.027 * 9.8  # N
ONSET = 2 * 0.0231348  # m


def push(dz, dxy=0.0, kind="bounded", thrust=None):
    """Downward force (N, ≥ 0) on a drone at the origin from one drone at (dxy, 0, dz)."""
    pos = np.array([[0.0, 0.0, 1.0], [dxy, 0.0, 1.0 + dz]])
    force = aero.downwash(pos, get_model("cf2x"), thrust, kind)
    assert not force[:, :2].any()  # along body z only
    assert force[1 if dz >= 0 else 0, 2] == 0.0  # the upper drone feels nothing
    return -force[0, 2]


def test_inside_its_region_the_model_is_the_fit_and_the_reference():
    # 1 m below on the axis: 0.075841 N; 4 cm off it, width 0.16 - 0.11 = 0.05 m
    assert push(1.0) == pytest.approx(K, rel=1e-6)
    assert push(1.0, 0.04) == pytest.approx(K * np.exp(-0.5 * (0.04 / 0.05) ** 2), rel=1e-6)
    for dz, dxy in [(1.0, 0.0), (1.0, 0.04), (0.6, 0.01), (2.5, 0.3)]:
        assert push(dz, dxy) == pytest.approx(push(dz, dxy, "reference"), rel=1e-12)


def test_the_wake_pushes_no_harder_than_the_thrust_that_made_it():
    # 0.3 m below: the fit says 0.075841/0.09 = 0.8427 N, 3.2 weights; the wake carries 0.2646 N
    assert push(0.3, kind="reference") == pytest.approx(K / 0.09, rel=1e-6)
    assert push(0.3) == pytest.approx(WEIGHT, rel=1e-9)
    # an upper drone at a third of hover thrust sheds a third of the momentum flux
    assert push(0.3, thrust=np.array([WEIGHT, WEIGHT / 3])) == pytest.approx(WEIGHT / 3, rel=1e-9)
    # the fit meets the bound at sqrt(0.075841/0.2646) = 0.5354 m
    crossing = np.sqrt(K / WEIGHT)
    assert crossing == pytest.approx(0.5354, abs=1e-4)
    assert push(crossing - 1e-9) == pytest.approx(push(crossing + 1e-9), rel=1e-7)


def test_side_by_side_the_force_fades_to_nothing():
    # equal heights: nothing; 1 mm apart in height, 0.5 m apart sideways: the fit gives
    # 0.075841/1e-6 · exp(-½(0.5/0.10984)²) = 2.4 N, the model s(0.001/h)·0.2646·exp(..)
    assert push(0.0, 0.5) == 0.0 and push(0.0) == 0.0
    gauss = np.exp(-0.5 * (0.5 / 0.10984) ** 2)
    assert push(0.001, 0.5, "reference") == pytest.approx(K / 1e-6 * gauss, rel=1e-6)
    assert push(0.001, 0.5, "reference") > 2.0
    x = 0.001 / ONSET
    assert push(0.001, 0.5) == pytest.approx((3 * x**2 - 2 * x**3) * WEIGHT * gauss, rel=1e-6)
    assert push(0.001, 0.5) < 2e-8  # 1.2e-8 N, a hundred-millionth of the fit
    # drones below push nothing up, however close
    assert push(-0.001) == 0.0 and push(-0.3) == 0.0


@pytest.mark.parametrize("edge", [0.0, ONSET, 10.0])
def test_continuous_at_the_edges_of_its_region(edge):
    """Just inside and just outside the onset ramp's ends (δz = 0, one rotor diameter, on
    the axis where the force is largest) and the reference's 10 m horizontal cut: the
    bounded model does not jump; the reference jumps at δz = 0 and at 10 m."""
    eps = 1e-9
    if edge == 10.0:  # horizontal, 3 m below (wide plume: width 0.37 m)
        inside, outside = push(3.0, edge - eps), push(3.0, edge + eps)
    else:
        inside, outside = push(edge + eps), push(edge - eps)
    assert abs(inside - outside) < 1e-6 * WEIGHT
    if edge == 0.0:
        assert push(eps, kind="reference") > 1e15  # 0.075841/1e-18 N: no bound at all


def test_bounded_everywhere_on_a_grid():
    """0 ≤ W ≤ T_j for every separation, for hover and for a weaker upper drone."""
    grid = [(dz, dxy) for dz in np.linspace(-0.5, 3.0, 71) for dxy in np.linspace(0, 2, 21)]
    for thrust in (WEIGHT, 0.05):
        w = np.array([push(dz, dxy, thrust=np.array([WEIGHT, thrust])) for dz, dxy in grid])
        assert w.min() >= 0.0 and w.max() <= thrust * (1 + 1e-12)
        assert w.max() >= 0.99 * thrust  # the bound is reached, not just respected
    ref = np.array([push(dz, dxy, "reference") for dz, dxy in grid])
    assert ref.max() > 100 * WEIGHT  # what the bound removes: 190 N at 2 cm below


def test_contributions_of_drones_above_add_up():
    pos = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    f = aero.downwash(pos, get_model("cf2x"))
    np.testing.assert_allclose(f[:, 2], [-(K + K / 4), -K, 0.0], rtol=1e-9)


def test_arguments_are_checked():
    pos = np.zeros((2, 3))
    with pytest.raises(ValueError, match="unknown downwash model 'paper'.*bounded"):
        aero.downwash(pos, get_model("cf2x"), kind="paper")
    with pytest.raises(ValueError, match=r"thrust must have shape \(2,\).*\(3,\)"):
        aero.downwash(pos, get_model("cf2x"), np.ones(3))


@pytest.mark.parametrize("mode", ["dyn_dw", "pyb_dw"])
@pytest.mark.parametrize("dz", [1.0, 0.3])
def test_a_drone_held_under_another_needs_the_models_force_as_extra_thrust(mode, dz):
    """The hover trim of the lower drone is weight + W: with it the lower drone stays at
    rest (one physics step from rest), with the plain hover speed it sinks at W/m. At 1 m
    W is the fit, 0.075841 N; at 0.3 m it is the bound, the upper drone's thrust 0.2646 N."""
    model = get_model("cf2x")
    w = K / dz**2 if dz == 1.0 else WEIGHT
    trim = np.sqrt((WEIGHT + w) / (4 * model.kf))
    for rpm_low, acc in [(trim, 0.0), (model.hover_rpm, -w / model.mass)]:
        world = World(model, 2, mode, 240)
        world.reset(State.at_rest([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0 + dz]]))
        rpm = np.array([[rpm_low] * 4, [model.hover_rpm] * 4])
        world.step(rpm, 1)
        vel = world.get_state().vel
        world.close()
        np.testing.assert_allclose(vel[:, 2] / DT, [acc, 0.0], atol=1e-9)


def test_downwash_acts_along_the_lower_drones_thrust_axis():
    """Lower drone rolled by 0.3 rad, motors off: downwash W = 0.075841 N (1 m below a
    hovering drone) along its body −z, R·(0, 0, −W) = (0, W·sin 0.3, −W·cos 0.3) in the world."""
    model = get_model("cf2x")
    roll = 0.3
    world = World(model, 2, "dyn_dw", 240)
    s = State.at_rest([[0.0, 0.0, 1.0], [0.0, 0.0, 2.0]])
    s.quat[0] = euler_to_quat(np.array([[roll, 0.0, 0.0]]))[0]
    world.reset(s)
    world.step(np.array([[0.0] * 4, [model.hover_rpm] * 4]), 1)
    acc = world.get_state().vel[0] / DT
    world.close()
    expected = np.array([0.0, K * np.sin(roll), -K * np.cos(roll)]) / model.mass
    expected[2] -= 9.8
    np.testing.assert_allclose(acc, expected, atol=1e-9)


def test_fly_downwash_script_sinks_the_lower_drone_as_the_model_says(tmp_path):
    """scripts/fly_downwash.py, short: 1 m apart the bounded model flies as the reference
    (inside the fit's region); 0.3 m apart the reference sinks it further (its push there
    exceeds the upper drone's thrust); without downwash the lower drone holds its height."""
    import json
    import runpy

    script = Path(__file__).resolve().parents[1] / "scripts" / "fly_downwash.py"
    main = runpy.run_path(str(script))["main"]
    argv = ["--integrator", "dyn", "--separations", "0.3,1.0", "--span", "0.1", "--speed", "0.2"]
    assert main([*argv, "--settle", "0.3", "--output-dir", str(tmp_path)]) == 0
    sinks = json.loads((tmp_path / "downwash.json").read_text())["largest_sink_mm"]
    none, bounded, ref = (sinks["1"][k] for k in sinks["1"])
    assert abs(none) < 0.01 and bounded > 5.0 and bounded == pytest.approx(ref, abs=0.01)
    none, bounded, ref = (sinks["0.3"][k] for k in sinks["0.3"])
    assert abs(none) < 0.01 and ref > bounded > 5.0
    assert (tmp_path / "downwash.png").stat().st_size > 10_000
