"""Every physical effect against a hand-computed value or a conservation law."""

import numpy as np
import pytest

from quadgym.envs.quad.sim import aero
from quadgym.envs.quad.sim.dynamics import State, euler_to_quat, quat_to_rot
from quadgym.envs.quad.sim.models import GRAVITY, get_model
from quadgym.envs.quad.sim.world import World, parse_physics, physics_modes

DT = 1.0 / 240


def make_world(mode, n=1, model="cf2x"):
    return World(get_model(model), n, mode, 240)


@pytest.mark.parametrize("mode", ["dyn", "pyb"])
def test_hover_rpm_holds_altitude(mode, cf2x):
    w = make_world(mode)
    w.reset(State.at_rest([[0.0, 0.0, 1.0]]))
    w.step(np.full((1, 4), cf2x.hover_rpm), 480)  # 2 s
    s = w.get_state()
    assert np.linalg.norm(s.pos[0] - [0, 0, 1]) < 0.01
    assert np.abs(s.vel).max() < 1e-6
    w.close()


@pytest.mark.parametrize("mode", ["dyn", "pyb"])
def test_free_fall_follows_half_g_t_squared(mode):
    w = make_world(mode)
    w.reset(State.at_rest([[0.0, 0.0, 5.0]]))
    n = 120  # 0.5 s with the motors off
    w.step(np.zeros((1, 4)), n)
    z = w.get_state().pos[0, 2]
    t = n * DT
    # semi-implicit Euler gives z_n = z0 − g·dt²·n(n+1)/2: ½gt² plus g·dt·t/2
    assert z == pytest.approx(5.0 - GRAVITY * DT**2 * n * (n + 1) / 2, abs=1e-9)
    assert abs(z - (5.0 - 0.5 * GRAVITY * t**2)) <= GRAVITY * DT * t / 2 + 1e-9
    w.close()


@pytest.mark.parametrize("mode", ["dyn", "pyb"])
@pytest.mark.parametrize("motor", range(4))
def test_single_motor_torques_sign_and_value(mode, motor, cf2x):
    """Speeding up motor i alone: yaw acceleration spin_i·km·Δ(ω²)/Izz, roll y_i·kf·Δ(ω²)/Ixx,
    pitch −x_i·kf·Δ(ω²)/Iyy, from rest, after one physics step."""
    w = make_world(mode)
    w.reset(State.at_rest([[0.0, 0.0, 1.0]]))
    rpm = np.full((1, 4), cf2x.hover_rpm)
    rpm[0, motor] *= 1.1
    w.step(rpm, 1)
    ang_acc = w.get_state().ang_vel[0] / DT
    d = rpm[0, motor] ** 2 - cf2x.hover_rpm**2
    x, y = cf2x.motor_pos[motor, :2]
    spin = cf2x.motor_spin[motor]
    expected = np.array([y * cf2x.kf * d, -x * cf2x.kf * d, spin * cf2x.km * d]) / cf2x.inertia
    assert np.sign(ang_acc[2]) == spin
    np.testing.assert_allclose(ang_acc, expected, rtol=1e-4)
    w.close()


def test_gyroscopic_precession_and_conservation(cf2x):
    """Torque-free axisymmetric body (ixx = iyy): the body rate precesses about body z at
    Ω = (Izz − Ixx)/Ixx·ωz, while |L| and the rotational energy are conserved."""
    w = make_world("dyn")
    s = State.at_rest([[0.0, 0.0, 50.0]])
    s.ang_vel[:] = [3.0, 0.0, 5.0]
    w.reset(s)
    inertia = cf2x.inertia

    def momentum(st):
        return quat_to_rot(st.quat)[0] @ (inertia * st.ang_vel[0])

    l0, e0 = momentum(s), 0.5 * np.sum(inertia * s.ang_vel[0] ** 2)
    n = 240
    w.step(np.zeros((1, 4)), n)
    s1 = w.get_state()
    omega = (inertia[2] - inertia[0]) / inertia[0] * 5.0
    t = n * DT
    np.testing.assert_allclose(
        s1.ang_vel[0], [3 * np.cos(omega * t), 3 * np.sin(omega * t), 5.0], atol=0.05
    )
    assert np.linalg.norm(momentum(s1) - l0) < 0.01 * np.linalg.norm(l0)
    assert 0.5 * np.sum(inertia * s1.ang_vel[0] ** 2) == pytest.approx(e0, rel=0.02)


def test_ground_effect_equals_formula(cf2x):
    h = 0.05
    per_prop = aero.ground_effect(
        np.full((1, 4), cf2x.hover_rpm), np.full((1, 4), h), np.array([True]), cf2x
    )
    # kf·ω_h² = m·g/4; times k_gnd·(r/(4h))²
    expected = 0.027 * 9.8 / 4 * 11.36859 * (0.0231348 / (4 * h)) ** 2
    np.testing.assert_allclose(per_prop, expected, rtol=1e-12)
    assert expected == pytest.approx(0.010063, rel=1e-4)
    # below the clipping height the force stays at its clipped value
    low = aero.ground_effect(
        np.full((1, 4), cf2x.hover_rpm), np.full((1, 4), 0.001), np.array([True]), cf2x
    )
    at_clip = aero.ground_effect(
        np.full((1, 4), cf2x.hover_rpm),
        np.full((1, 4), cf2x.gnd_eff_h_clip),
        np.array([True]),
        cf2x,
    )
    np.testing.assert_allclose(low, at_clip)
    # at full speed, the clipped gain of one propeller is max_thrust / 15
    full = aero.ground_effect(
        np.full((1, 4), cf2x.max_rpm), np.full((1, 4), 0.0), np.array([True]), cf2x
    )
    np.testing.assert_allclose(full, cf2x.max_thrust / 15, rtol=1e-12)
    # upside down: no ground effect
    assert not aero.ground_effect(
        np.full((1, 4), cf2x.hover_rpm), np.full((1, 4), h), np.array([False]), cf2x
    ).any()


@pytest.mark.parametrize("mode", ["pyb_gnd", "dyn_gnd"])
def test_ground_effect_in_simulation(mode, cf2x):
    w = make_world(mode)
    h = 0.05
    w.reset(State.at_rest([[0.0, 0.0, h]]))
    w.step(np.full((1, 4), cf2x.hover_rpm), 1)
    acc = w.get_state().vel[0, 2] / DT
    expected = 4 * 0.027 * 9.8 / 4 * 11.36859 * (0.0231348 / (4 * h)) ** 2 / cf2x.mass
    assert acc == pytest.approx(expected, rel=1e-6)
    assert acc == pytest.approx(1.4908, rel=1e-3)


def test_drag_opposes_velocity_and_scales(cf2x, rng):
    rot = quat_to_rot(euler_to_quat([[0.3, -0.2, 1.0]]))
    rpm = np.full((1, 4), cf2x.hover_rpm)
    for _ in range(5):
        v = rng.normal(size=(1, 3))
        f_body = aero.drag(rpm, v, rot, cf2x)
        f_world = rot[0] @ f_body[0]
        assert f_world @ v[0] < 0
        np.testing.assert_allclose(aero.drag(rpm, 2 * v, rot, cf2x), 2 * f_body)
        np.testing.assert_allclose(aero.drag(2 * rpm, v, rot, cf2x), 2 * f_body)
    # level drone at hover moving at 1 m/s along x: −k_xy·Σ(2π·ω/60)·1
    f = aero.drag(rpm, np.array([[1.0, 0, 0]]), np.eye(3)[None], cf2x)
    expected = -9.1785e-7 * 4 * 14468.43 * 2 * np.pi / 60
    np.testing.assert_allclose(f[0], [expected, 0, 0], rtol=1e-6)
    assert expected == pytest.approx(-0.0055625, rel=1e-4)
    fz = aero.drag(rpm, np.array([[0, 0, 1.0]]), np.eye(3)[None], cf2x)
    assert fz[0, 2] == pytest.approx(expected * 10.311e-7 / 9.1785e-7, rel=1e-6)


@pytest.mark.parametrize("mode", ["pyb_drag", "dyn_drag"])
def test_drag_in_simulation(mode, cf2x):
    w = make_world(mode)
    s = State.at_rest([[0.0, 0.0, 1.0]])
    s.vel[:] = [1.0, 0.0, 0.0]
    w.reset(s)
    w.step(np.full((1, 4), cf2x.hover_rpm), 1)
    dv = w.get_state().vel[0, 0] - 1.0
    expected = -9.1785e-7 * 4 * cf2x.hover_rpm * 2 * np.pi / 60 / cf2x.mass * DT
    assert dv == pytest.approx(expected, rel=1e-6)


def test_reference_downwash_is_the_papers_fit(cf2x):
    """gym-pybullet-drones' model, kept as ``kind="reference"`` (the bounded default caps
    this 0.5 m case at the upper drone's thrust: tests/test_downwash.py)."""
    pos = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.5]])
    f = aero.downwash(pos, cf2x, kind="reference")
    # k1·(r/(4·δz))²·exp(0) on the lower drone, nothing on the upper one
    expected = 2267.18 * (0.0231348 / (4 * 0.5)) ** 2
    np.testing.assert_allclose(f, [[0, 0, -expected], [0, 0, 0]], rtol=1e-12)
    # 2 cm off-axis: Gaussian with width k2·δz + k3 = −0.03 m
    pos[1, 0] = 0.02
    f = aero.downwash(pos, cf2x, kind="reference")
    assert f[0, 2] == pytest.approx(-expected * np.exp(-0.5 * (0.02 / 0.03) ** 2), rel=1e-9)
    # far apart horizontally: nothing
    pos[1, 0] = 1.0
    assert np.abs(aero.downwash(pos, cf2x, kind="reference")).max() < 1e-12
    # side by side at the same height: nothing
    side = np.array([[0.0, 0, 1], [0.1, 0, 1]])
    assert not aero.downwash(side, cf2x, kind="reference").any()


def test_downwash_in_simulation_lowers_only_the_lower_drone(cf2x):
    """1 m apart, inside the fit's region (at 0.5 m, before issue 32, the fit exceeded the
    upper drone's thrust, which now bounds it)."""
    accs = {}
    for mode in ("pyb", "pyb_dw"):
        w = make_world(mode, n=2)
        w.reset(State.at_rest([[0.0, 0.0, 1.0], [0.0, 0.0, 2.0]]))
        w.step(np.full((2, 4), cf2x.hover_rpm), 1)
        accs[mode] = w.get_state().vel[:, 2] / DT
        w.close()
    expected = 2267.18 * (0.0231348 / 4.0) ** 2 / cf2x.mass
    assert accs["pyb_dw"][0] - accs["pyb"][0] == pytest.approx(-expected, rel=1e-6)
    assert accs["pyb_dw"][1] == pytest.approx(accs["pyb"][1], abs=1e-12)


def test_physics_mode_names():
    assert {"pyb", "dyn", "pyb_gnd", "pyb_drag", "pyb_dw", "pyb_gnd_drag_dw"} <= set(
        physics_modes()
    )
    assert parse_physics("pyb_gnd_drag_dw") == ("pyb", True, True, True, "bounded")
    with pytest.raises(ValueError, match="unknown physics mode 'pyb_wind'.*allowed"):
        parse_physics("pyb_wind")


def test_ground_contact_rule_in_dyn(cf2x):
    """dyn: motors off on the ground, the drone rests at half its collision height."""
    w = make_world("dyn")
    w.reset(State.at_rest([[0.0, 0.0, 0.3]]))
    w.step(np.zeros((1, 4)), 240)
    s = w.get_state()
    assert s.pos[0, 2] == pytest.approx(cf2x.collision_height / 2)
    assert np.abs(s.vel).max() == 0.0
    assert w.contacts() == [(0, -1)]


def test_worlds_are_independent(cf2x):
    """Two worlds in one process stepped alternately match each run alone."""

    def run(worlds, rpms):
        for w in worlds:
            w.reset(State.at_rest([[0.0, 0.0, 1.0]]))
        for k in range(60):
            for w, rpm in zip(worlds, rpms, strict=True):
                w.step(rpm * (1 + 0.01 * np.sin(k)), 8)
        return [w.get_state().pos for w in worlds]

    rpm_a = np.array([[1.02, 1.0, 0.99, 1.0]]) * cf2x.hover_rpm
    rpm_b = np.array([[0.98, 1.01, 1.0, 1.02]]) * cf2x.hover_rpm
    both = run([make_world("pyb"), make_world("pyb")], [rpm_a, rpm_b])
    alone_a = run([make_world("pyb")], [rpm_a])[0]
    alone_b = run([make_world("pyb")], [rpm_b])[0]
    np.testing.assert_array_equal(both[0], alone_a)
    np.testing.assert_array_equal(both[1], alone_b)
    assert np.abs(alone_a - alone_b).max() > 0.01


@pytest.mark.parametrize("model", ["cf2x", "cf2p"])
@pytest.mark.parametrize("v0", [0.5, 1.0])
def test_sliding_on_the_ground_stops_after_v2_over_2_mu_g(model, v0):
    """Motors off, sliding at v0 on the ground: Coulomb friction with mu = 0.5 (the
    ground's 1.0 times the drone's 0.5, as in gym-pybullet-drones) stops the drone
    after v0^2 / (2 mu g): 0.102 m from 1 m/s."""
    w = make_world("pyb", model=model)
    start = State.at_rest([[0.0, 0.0, w.rest_height]])
    start.vel[:] = [[v0, 0.0, 0.0]]
    w.reset(start)
    w.step(np.zeros((1, 4)), 120)  # 0.5 s, more than the 0.2 s the slide lasts
    s = w.get_state()
    assert s.pos[0, 0] == pytest.approx(v0**2 / (2 * 0.5 * GRAVITY), rel=0.04)
    assert np.abs(s.vel[0]).max() < 1e-3
    w.close()


def test_a_world_that_fails_to_build_releases_its_client(cf2x, monkeypatch):
    import pybullet

    clients = []
    connect = pybullet.connect

    def recording_connect(*args, **kwargs):
        clients.append(connect(*args, **kwargs))
        return clients[-1]

    def broken_load(*args, **kwargs):
        raise pybullet.error("cannot load URDF")

    monkeypatch.setattr(pybullet, "connect", recording_connect)
    monkeypatch.setattr(pybullet, "loadURDF", broken_load)
    with pytest.raises(pybullet.error, match="cannot load URDF"):
        World(cf2x, 1, "pyb", 240)
    assert clients and not pybullet.getConnectionInfo(clients[0])["isConnected"]
