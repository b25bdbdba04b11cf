"""sim/dynamics.py's kernels: one rigid-body law for one drone's Python floats and n drones'
NumPy columns (the same doubles), equal to the previous batched implementation to round-off,
and physics.advance the same on both of its paths."""

import numpy as np
import pytest

from quadgym.envs.quad.sim import dynamics
from quadgym.envs.quad.sim.columns import COLUMNS, FLOATS
from quadgym.envs.quad.sim.dynamics import State
from quadgym.envs.quad.sim.models import GRAVITY, get_model
from quadgym.envs.quad.sim.physics import advance, parse_physics

N = 40  # > FLOATS_UP_TO: advance takes the columns path


def _states(rng: np.random.Generator, n: int = N) -> State:
    quat = dynamics.euler_to_quat(rng.uniform(-3, 3, size=(n, 3)))
    pos = rng.uniform(-1, 1, size=(n, 3)) + [0, 0, 1.0]
    return State(pos, quat, rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) * 5)


def _previous_step(state, wrench, mass, inertia, dt, force, torque):
    """dynamics.step as it was before the kernels (commit 2150a62), on arrays: the
    reference the kernels must equal to round-off."""
    rot = dynamics.quat_to_rot(state.quat)
    acc = rot[:, :, 2] * (wrench[:, :1] / mass) + force / mass
    acc[:, 2] -= GRAVITY
    w = state.ang_vel
    nxt, prv = [1, 2, 0], [2, 0, 1]
    gyro = w[:, nxt] * w[:, prv] * (inertia[..., prv] - inertia[..., nxt])
    vel = state.vel + acc * dt
    ang = w + (wrench[:, 1:] + torque - gyro) / inertia * dt
    angle = np.linalg.norm(ang, axis=1) * dt
    dq = np.concatenate(
        [ang * (np.sin(angle / 2) / angle * dt)[:, None], np.cos(angle / 2)[:, None]], axis=1
    )
    q = dynamics.quat_mul(state.quat, dq)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return State(state.pos + vel * dt, q, vel, ang)


def _inputs(rng, n=N):
    wrench = np.column_stack([rng.uniform(0, 0.6, n), rng.normal(size=(n, 3)) * 1e-3])
    mass = rng.uniform(0.02, 0.04, size=(n, 1))
    inertia = rng.uniform(1e-5, 3e-5, size=(n, 3))
    return wrench, mass, inertia, rng.normal(size=(n, 3)) * 0.1, rng.normal(size=(n, 3)) * 1e-4


@pytest.mark.parametrize("stepper", [dynamics.euler_step, dynamics.rk4_step])
def test_steps_on_floats_and_columns_give_the_same_doubles(stepper):
    rng = np.random.default_rng(0)
    s = _states(rng)
    wrench, mass, inertia, force, torque = _inputs(rng)
    dt = 1 / 240
    cols = stepper(
        COLUMNS,
        tuple(dynamics.components(COLUMNS, s)[0]),
        tuple(wrench.T),
        mass[:, 0],
        tuple(inertia.T),
        dt,
        tuple(force.T),
        tuple(torque.T),
    )
    for i, row in enumerate(dynamics.components(FLOATS, s)):
        one = stepper(
            FLOATS,
            tuple(row),
            tuple(wrench[i].tolist()),
            float(mass[i, 0]),
            tuple(inertia[i].tolist()),
            dt,
            tuple(force[i].tolist()),
            tuple(torque[i].tolist()),
        )
        assert one == tuple(c[i] for c in cols)


@pytest.mark.parametrize("n", [1, 3, N])
def test_step_equals_the_previous_implementation_to_round_off(n):
    rng = np.random.default_rng(1)
    s = _states(rng, n)
    wrench, mass, inertia, force, torque = _inputs(rng, n)
    model = get_model("cf2x")
    per_drone = type("Body", (), {"mass": mass, "inertia": inertia, "kf": model.kf})
    want = _previous_step(s.copy(), wrench, mass, inertia, 1 / 240, force, torque)
    got = dynamics.step(s.copy(), wrench, per_drone, 1 / 240, force, torque)
    for a, b in zip(
        (got.pos, got.quat, got.vel, got.ang_vel),
        (want.pos, want.quat, want.vel, want.ang_vel),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)


def test_contact_on_floats_and_columns_and_its_rule():
    rng = np.random.default_rng(2)
    s = _states(rng)
    s.pos[:, 2] = rng.uniform(-0.05, 0.05, size=N)  # about half below the rest height
    rest = 0.01
    cols = dynamics.contact(COLUMNS, dynamics.components(COLUMNS, s)[0], rest)
    for i, row in enumerate(dynamics.components(FLOATS, s)):
        assert dynamics.contact(FLOATS, tuple(row), rest) == tuple(c[i] for c in cols)
    out = State(
        *(
            np.array(a)
            for a in (
                np.stack(cols[0:3], 1),
                np.stack(cols[3:7], 1),
                np.stack(cols[7:10], 1),
                np.stack(cols[10:13], 1),
            )
        )
    )
    below = s.pos[:, 2] < rest
    sinking = below & (s.vel[:, 2] < 0)
    assert below.any() and sinking.any() and (below & ~sinking).any()
    np.testing.assert_array_equal(out.pos[:, 2], np.where(below, rest, s.pos[:, 2]))
    np.testing.assert_array_equal(out.vel[sinking], 0.0)
    np.testing.assert_array_equal(out.ang_vel[sinking], 0.0)
    np.testing.assert_array_equal(out.vel[~sinking], s.vel[~sinking])


@pytest.mark.parametrize("physics", [None, "dyn_gnd_drag"])
def test_advance_on_floats_equals_advance_on_columns_bit_for_bit(physics):
    """Three drones (floats, drone by drone) against the same three among 36 (columns)."""
    assert 3 <= dynamics.FLOATS_UP_TO < 36
    rng = np.random.default_rng(3)
    model = get_model("cf2x")
    few = _states(rng, 3)
    few.pos[0, 2] = 0.02  # one near the ground: the contact rule acts on the way
    few.vel[0, 2] = -1.0
    rpm = model.hover_rpm * (1 + rng.uniform(-0.3, 0.3, size=(3, 4)))
    many = State(*(np.tile(a, (12, 1)) for a in (few.pos, few.quat, few.vel, few.ang_vel)))
    phys = None if physics is None else parse_physics(physics)
    rest = model.collision_height / 2
    advance(few, rpm, model, phys, 1 / 240, 8, rest)
    advance(many, np.tile(rpm, (12, 1)), model, phys, 1 / 240, 8, rest)
    for a, b in zip(
        (few.pos, few.quat, few.vel, few.ang_vel),
        (many.pos, many.quat, many.vel, many.ang_vel),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b[:3])
    assert few.pos[0, 2] == rest  # it landed and stayed


def test_per_drone_parameters():
    m = np.array([[1.0], [2.0]])
    assert dynamics.per_drone(FLOATS, m, 2) == [1.0, 2.0]
    assert dynamics.per_drone(FLOATS, 0.5, 2) == [0.5, 0.5]
    assert dynamics.per_drone(COLUMNS, 0.5, 2) == [0.5]
    assert dynamics.per_drone(FLOATS, np.array([1.0, 2.0, 3.0]), 2) == [(1.0, 2.0, 3.0)] * 2
    (col,) = dynamics.per_drone(COLUMNS, m, 2)
    np.testing.assert_array_equal(col, [1.0, 2.0])
    assert dynamics.per_drone(COLUMNS, None, 5) == [None]


def _turn(integrator: str, hz: int, seconds: float = 1.0) -> State:
    """A hover-to-turn manoeuvre: one cf2x from rest, motors 0 and 1 at ±2 % of hover,
    held for ``seconds`` (it rolls, yaws ~0.9 rad and drifts ~1.3 m in 1 s)."""
    model = get_model("cf2x")
    rpm = model.hover_rpm * np.array([[1.02, 0.98, 1.0, 1.0]])
    s = State.at_rest(np.array([[0.0, 0.0, 1.0]]))
    return advance(s, rpm, model, None, 1 / hz, round(seconds * hz), -np.inf, integrator=integrator)


def test_convergence_orders_of_euler_and_rk4():
    """Against RK4 at 6400 Hz: halving dt halves Euler's error (first order) and divides
    RK4's by ~16 (fourth order; measured 15.5-15.9)."""
    ref = _turn("rk4", 6400)

    def error(integrator, hz):
        s = _turn(integrator, hz)
        return max(np.abs(s.pos - ref.pos).max(), np.abs(s.quat - ref.quat).max())

    e100, e200 = error("euler", 100), error("euler", 200)
    assert 1.9 < e100 / e200 < 2.1
    r100, r200 = error("rk4", 100), error("rk4", 200)
    assert 14 < r100 / r200 < 18
    assert r100 < 1e-6 < e100  # at 100 Hz RK4 is ~1e5 times closer than Euler


def test_unknown_integrator_is_refused():
    model = get_model("cf2x")
    s = State.at_rest(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="integrator must be one of 'euler', 'rk4', got 'rk5'"):
        advance(s, np.zeros((1, 4)), model, None, 0.01, 1, 0.0, integrator="rk5")


def test_the_vector_env_integrates_with_the_chosen_method():
    import gymnasium as gym

    import quadgym  # noqa: F401

    model = get_model("cf2x")
    start = _states(np.random.default_rng(5), 3)
    for integrator in ("euler", "rk4"):
        envs = gym.make_vec("QuadHover-v0", num_envs=3, integrator=integrator)
        envs.reset(seed=0, options={"state": start.copy()})
        envs.step(np.full((3, 4), 0.5, dtype=np.float32))  # 1.25 x hover
        want = advance(
            start.copy(),
            np.full((3, 4), model.hover_rpm * 1.25),
            model,
            None,
            1 / 240,
            8,
            model.collision_height / 2,
            integrator=integrator,
        )
        np.testing.assert_allclose(envs.unwrapped.get_state().pos, want.pos, rtol=0, atol=1e-12)
        envs.close()
    with pytest.raises(ValueError, match="integrator"):
        gym.make_vec("QuadHover-v0", num_envs=2, integrator="midpoint")
