"""sim/columns.py: one expression for a drone's floats and n drones' columns, equal to the
batched helpers of sim/dynamics.py; World's state read gives the same on both of its paths."""

import math

import numpy as np
import pytest

from quadgym.envs.quad.sim import columns, dynamics
from quadgym.envs.quad.sim.columns import COLUMNS, FLOATS, euler, quaternion, rotation
from quadgym.envs.quad.sim.models import get_model
from quadgym.envs.quad.sim.world import World

N = 300  # >= dynamics._ELEMENTWISE_FROM: quat_to_rot's elementwise form, the one columns uses


def _quats(rng, n=N):
    return dynamics.euler_to_quat(rng.uniform(-3, 3, size=(n, 3)))


def test_quaternion_helpers_equal_the_batched_ones_bit_for_bit():
    rng = np.random.default_rng(0)
    q = _quats(rng)
    assert N >= dynamics._ELEMENTWISE_FROM
    np.testing.assert_array_equal(
        np.stack(rotation(*q.T), axis=1).reshape(-1, 3, 3), dynamics.quat_to_rot(q)
    )
    np.testing.assert_array_equal(np.stack(euler(COLUMNS, *q.T), axis=1), dynamics.quat_to_euler(q))
    rpy = rng.uniform(-3, 3, size=(N, 3))
    np.testing.assert_array_equal(
        np.stack(quaternion(COLUMNS, *rpy.T), axis=1), dynamics.euler_to_quat(rpy)
    )
    # below 256 rows quat_to_rot takes a matrix product: the same matrices to round-off
    np.testing.assert_allclose(
        np.stack(rotation(*q[:5].T), axis=1).reshape(-1, 3, 3),
        dynamics.quat_to_rot(q[:5]),
        rtol=0,
        atol=1e-15,
    )


def test_floats_and_columns_agree_bit_for_bit():
    """Every operation of the two namespaces on the same numbers: the module's claim that
    NumPy's float64 functions and math's give the same doubles here."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=2000) * 4, rng.normal(size=2000) * 4
    u = np.clip(a / 5, -1, 1)
    for name, args in [
        ("sqrt", (np.abs(a),)),
        ("cos", (a,)),
        ("sin", (a,)),
        ("atan2", (a, b)),
        ("asin", (u,)),
        ("maximum", (a, b)),
        ("minimum", (a, b)),
        ("mod", (a, 2 * math.pi)),
        ("mod", (-np.abs(a), 2 * math.pi)),
    ]:
        cols = getattr(COLUMNS, name)(*args)
        one = [
            getattr(FLOATS, name)(*(x if np.ndim(x) == 0 else x[i] for x in args))
            for i in range(2000)
        ]
        np.testing.assert_array_equal(cols, np.array(one), err_msg=name)
    q = _quats(rng, 200)
    for i in range(200):
        x, y, z, w = q[i].tolist()
        assert euler(FLOATS, x, y, z, w) == tuple(c[i] for c in euler(COLUMNS, *q.T))
        assert rotation(x, y, z, w) == tuple(c[i] for c in rotation(*q.T))
    assert FLOATS.where(True, 1.0, 2.0) == 1.0 and FLOATS.clip(3.0, -1.0, 1.0) == 1.0


@pytest.mark.parametrize("physics", ["pyb", "pyb_gnd_drag_dw"])
def test_world_reads_the_same_state_on_floats_and_on_arrays(monkeypatch, physics):
    """World._read_live rotates the body rates in floats up to FLOATS_UP_TO drones, with
    one batched product beyond: the same state and rotations to round-off."""
    from quadgym.envs.quad.sim import world as world_module

    world = World(get_model("cf2x"), 3, physics, 240)
    try:
        rng = np.random.default_rng(3)
        world.reset(dynamics.State.at_rest(rng.uniform(0.5, 1.5, size=(3, 3))))
        world.step(world.model.hover_rpm * (1 + 0.3 * rng.uniform(-1, 1, size=(3, 4))), 20)
        got = [world._read_live(rotations=True)]
        monkeypatch.setattr(world_module, "FLOATS_UP_TO", 0)
        got.append(world._read_live(rotations=True))
    finally:
        world.close()
    (s1, r1), (s2, r2) = got
    assert np.abs(s1.ang_vel).max() > 0.1  # tumbling: the rotation matters
    for a, b in [(s1.pos, s2.pos), (s1.quat, s2.quat), (s1.vel, s2.vel)]:
        np.testing.assert_array_equal(a, b)
    # below 256 rows the batched rotation is a matrix product: 1 ulp apart
    np.testing.assert_allclose(r1, r2, rtol=0, atol=1e-15)
    np.testing.assert_allclose(s1.ang_vel, s2.ang_vel, rtol=0, atol=1e-14)
    assert columns.FLOATS_UP_TO >= 1


@pytest.mark.parametrize("mode", ["pyb_gnd", "pyb_drag", "pyb_gnd_drag", "dyn_gnd_drag_dw"])
def test_one_drone_aero_wrench_on_floats_equals_the_batched_one(monkeypatch, mode):
    """aero_wrench works one drone in floats (AERO_FLOATS_UP_TO): the same force and torque
    as its batched path to round-off, near the ground (under the height clip too),
    tilted, upside down (no ground effect) and fast."""
    from quadgym.envs.quad.sim import physics

    model, phys = get_model("cf2x"), physics.parse_physics(mode)
    rng = np.random.default_rng(4)
    assert physics.AERO_FLOATS_UP_TO >= 1
    largest = 0.0
    for k in range(200):
        state = dynamics.State(
            rng.uniform([-1, -1, 0.0], [1, 1, 0.2], size=(1, 3)),
            dynamics.euler_to_quat(rng.uniform(-3.1, 3.1, size=(1, 3)) * (k % 2)),
            rng.normal(size=(1, 3)) * 3,
            rng.normal(size=(1, 3)),
        )
        rot = dynamics.quat_to_rot(state.quat)
        rpm = rng.uniform(5000, 22000, size=(1, 4))
        floats = physics.aero_wrench(phys, model, state, rot, rpm)
        monkeypatch.setattr(physics, "AERO_FLOATS_UP_TO", 0)
        arrays = physics.aero_wrench(phys, model, state, rot, rpm)
        monkeypatch.undo()
        for a, b in zip(floats, arrays, strict=True):
            assert a.shape == b.shape == (1, 3)
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-18)
        largest = max(largest, np.abs(arrays[0]).max())
    assert largest > 1e-3  # the effects were on


@pytest.mark.parametrize("physics", ["pyb_gnd_drag_dw", "pyb_gnd"])
def test_one_drone_aero_forces_on_floats_equal_the_array_path_bit_for_bit(monkeypatch, physics):
    """World applies one drone's aero wrench read, computed and summed on floats
    (_local_aero_calls): the same doubles as reading into arrays and calling aero_wrench
    (the path it replaced), over a flight near the ground under changing motor speeds."""
    from quadgym.envs.quad.sim.physics import aero_wrench

    def through_arrays(self, bodies, rpm, wrench):
        s, rot = self._read_live(rotations=True)
        force_b, torque_b = aero_wrench(self.physics, self.model, s, rot, rpm)
        force_b[:, 2] += wrench[:, 0]
        torques = (torque_b + wrench[:, 1:]).tolist()
        return list(zip(bodies, force_b.tolist(), torques, strict=True))

    model = get_model("cf2x")
    start = dynamics.State(
        np.array([[0.1, -0.2, 0.05]]),
        dynamics.euler_to_quat(np.array([[0.2, -0.1, 0.5]])),
        np.array([[0.5, -0.3, 0.2]]),
        np.zeros((1, 3)),
    )
    rpms = model.hover_rpm * (1 + np.random.default_rng(6).uniform(-0.2, 0.3, size=(30, 1, 4)))
    flights = []
    for patch in (False, True):
        if patch:
            monkeypatch.setattr(World, "_local_aero_calls", through_arrays)
        world = World(model, 1, physics, 240)
        try:
            world.reset(start)
            states = []
            for rpm in rpms:
                world.step(rpm, 8)
                s = world.get_state()
                states.append(np.concatenate([s.pos, s.quat, s.vel, s.ang_vel], axis=1))
            flights.append(np.array(states))
        finally:
            world.close()
    np.testing.assert_array_equal(flights[0], flights[1])
    assert np.ptp(flights[0][:, 0, 2]) > 0.01  # it flew


def test_downwash_on_floats_equals_the_batched_one():
    """aero.downwash_floats: the batched downwash's forces to round-off (math.hypot is not
    NumPy's hypot), both models, drones above, below, beside and far."""
    from quadgym.envs.quad.sim import aero

    model = get_model("cf2x")
    rng = np.random.default_rng(7)
    largest = 0.0
    for n in (2, 3, 4, 6):
        for kind in aero.DOWNWASH_MODELS:
            pos = rng.uniform([-0.3, -0.3, 0.5], [0.3, 0.3, 1.5], size=(n, 3))
            pos[0, :2] = pos[1, :2]  # one pair on the axis
            thrust = rng.uniform(0.1, 0.5, size=n)
            arrays = aero.downwash(pos, model, thrust, kind)
            floats = aero.downwash_floats(pos.tolist(), model, thrust.tolist(), kind)
            np.testing.assert_allclose(floats, arrays[:, 2], rtol=1e-13, atol=1e-300)
            largest = max(largest, -arrays[:, 2].min())
    assert largest > 0.05  # some drone was pushed
    with pytest.raises(ValueError, match="unknown downwash model"):
        aero.downwash_floats([[0, 0, 1]], model, [0.3], "paper")


def test_a_few_drones_under_downwash_fly_alike_on_floats_and_arrays(monkeypatch):
    """World's downwash-only float path (up to DOWNWASH_FLOATS_UP_TO drones) against the
    batched aero_wrench: three stacked drones, the same flight to round-off."""
    from quadgym.envs.quad.sim import aero

    model = get_model("cf2x")
    start = dynamics.State.at_rest(np.array([[0.0, 0.0, 1.0], [0.02, 0.0, 1.3], [0.0, 0.03, 1.6]]))
    rpms = model.hover_rpm * (1 + np.random.default_rng(8).uniform(-0.05, 0.05, size=(30, 3, 4)))
    assert aero.DOWNWASH_FLOATS_UP_TO >= 3
    flights = []
    for limit in (aero.DOWNWASH_FLOATS_UP_TO, 0):
        monkeypatch.setattr(aero, "DOWNWASH_FLOATS_UP_TO", limit)
        world = World(model, 3, "pyb_dw", 240)
        try:
            world.reset(start)
            for rpm in rpms:
                world.step(rpm, 8)
            s = world.get_state()
            flights.append(np.concatenate([s.pos, s.quat, s.vel, s.ang_vel], axis=1))
        finally:
            world.close()
    np.testing.assert_allclose(flights[0], flights[1], rtol=0, atol=1e-12)
    # the lowest drone sank under the others' wakes more than the top one
    assert flights[0][0, 2] - 1.0 < flights[0][2, 2] - 1.6


def test_downwash_and_ground_effect_on_floats_are_the_batched_doubles(monkeypatch):
    """With NumPy's hypot in the float namespace, the float downwash of random swarms and
    the float ground thrust equal the batched ones bit for bit: every square is a product
    (NumPy's ``x ** 2`` of an array; Python's float ``**`` calls C's pow, which differs in
    the last bit on ~0.1 % of inputs). The model's coefficients are Python floats, or the
    float path would compute on NumPy scalars."""
    from quadgym.envs.quad.sim import aero

    model = get_model("cf2x")
    assert all(type(k) is float for k in model.dw_coeff)
    monkeypatch.setattr(FLOATS, "hypot", lambda a, b: float(np.hypot(a, b)))
    rng = np.random.default_rng(3)
    for _ in range(300):
        pos = rng.uniform([-0.5, -0.5, 0.5], [0.5, 0.5, 1.5], size=(5, 3))
        thrust = rng.uniform(0.1, 0.6, size=5)
        for kind in aero.DOWNWASH_MODELS:
            arrays = aero.downwash(pos, model, thrust, kind)[:, 2].tolist()
            assert aero.downwash_floats(pos.tolist(), model, thrust.tolist(), kind) == arrays
    rpm = rng.uniform(5000.0, 25000.0, size=2000)
    height = rng.uniform(0.0, 0.3, size=2000)
    columns = aero.ground_thrust(COLUMNS, model, rpm, height).tolist()
    pairs = zip(rpm.tolist(), height.tolist(), strict=True)
    floats = [aero.ground_thrust(FLOATS, model, r, h) for r, h in pairs]
    assert floats == columns


def _near_crash_states(rng, n):
    """Random states around the crash rules' edges: tilts about max_tilt, some drones at
    the ground descending, some out of the box."""
    pos = rng.uniform([-2.5, -2.5, 0.0], [2.5, 2.5, 3.0], size=(n, 3))
    pos[rng.random(n) < 0.3, 2] = 0.0125 + rng.uniform(-0.002, 0.01)
    quat = dynamics.euler_to_quat(np.c_[rng.uniform(-1.2, 1.2, size=(n, 2)), rng.uniform(-3, 3, n)])
    vel = rng.normal(0.0, 2.0, size=(n, 3))
    return dynamics.State(pos, quat, vel, rng.normal(size=(n, 3))), vel[:, 2].copy()


def test_task_judge_on_floats_is_the_columns_judge_bit_for_bit(monkeypatch):
    """HoverTask.judge (and crashed, position_error) run on each drone's floats up to
    FLOATS_UP_TO drones and on NumPy columns beyond: the same rewards, crashes and
    distances, and the distance is the einsum's the judge summed before (the numbers
    every committed result was scored with)."""
    from quadgym.envs.quad.tasks import base
    from quadgym.envs.quad.tasks.base import HoverTask

    task = HoverTask(get_model("cf2x"))
    rng = np.random.default_rng(11)
    outcomes = set()
    for _ in range(200):
        n = int(rng.integers(1, columns.FLOATS_UP_TO + 1))
        state, prev_vz = _near_crash_states(rng, n)
        goal = rng.uniform([-1, -1, 0.5], [1, 1, 1.5], size=(n, 3))
        steps = np.full(n, 10)
        got = []
        for limit in (columns.FLOATS_UP_TO, 0):
            monkeypatch.setattr(base, "FLOATS_UP_TO", limit)
            reward, crashed, info = task.judge(state, goal, prev_vz, 0.0125, steps, 240)
            got.append((reward, crashed, info["position_error"], task.position_error(state, goal)))
            assert crashed.dtype == bool and reward.dtype == float
            np.testing.assert_array_equal(crashed, task.crashed(state, goal, prev_vz, 0.0125))
        for a, b in zip(*got, strict=True):
            np.testing.assert_array_equal(a, b)
        # the rules as they were written on arrays before the kernel
        err = goal - state.pos
        dist = np.sqrt(np.einsum("ni,ni->n", err, err))
        np.testing.assert_array_equal(got[0][2], dist)
        np.testing.assert_array_equal(got[0][0], np.maximum(0.0, 1.0 - dist / task.reward_scale))
        x, y = state.quat[:, 0], state.quat[:, 1]
        reach = np.maximum(np.maximum(np.abs(err[:, 0]), np.abs(err[:, 1])), -err[:, 2])
        landed_hard = (state.pos[:, 2] < 0.0125 + 0.005) & (prev_vz < -task.impact_speed)
        want = (x * x + y * y > task._tilt_xy2) | (reach > task.box) | landed_hard
        np.testing.assert_array_equal(got[0][1], want)
        outcomes.update(got[0][1].tolist())
    assert outcomes == {True, False}


@pytest.mark.parametrize("floats", [True, False])
def test_the_crash_rules_by_hand(monkeypatch, floats):
    """Hand-placed upright drones, 1 m target: 0.3 m aside scores 1 − 0.3/2; far below the
    target (above the ground) is inside the box, just above or aside it is not; a NaN
    position (a simulation that blew up) is a crash worth 0, on both paths."""
    from quadgym.envs.quad.tasks import base
    from quadgym.envs.quad.tasks.base import HoverTask

    monkeypatch.setattr(base, "FLOATS_UP_TO", 8 if floats else 0)
    task = HoverTask(get_model("cf2x"))
    box = task.box
    offsets = [[0.3, 0, 0], [0, 0, -0.9], [0, 0, box + 0.01], [box + 0.01, 0, 0], [np.nan, 0, 0]]
    goal = np.tile([0.0, 0.0, 1.0], (5, 1))
    state = dynamics.State.at_rest(goal + np.array(offsets))
    reward, crashed, info = task.judge(state, goal, np.zeros(5), 0.0125, np.ones(5), 240)
    assert crashed.tolist() == [False, False, True, True, True]
    np.testing.assert_allclose(reward[:2], [1 - 0.3 / 2, 1 - 0.9 / 2], rtol=1e-15)
    assert reward[4] == 0.0 and np.isnan(info["position_error"][4])


def test_observation_on_floats_equals_the_batched_one(monkeypatch):
    """The observation's rotation matrix is built from each drone's floats up to
    FLOATS_UP_TO drones (the batched one is a matrix product below 256 rows, ≤ 1 ulp
    apart): the same float32 observation."""
    from quadgym.envs.quad.tasks import base
    from quadgym.envs.quad.tasks.base import HoverTask

    task = HoverTask(get_model("cf2x"))
    rng = np.random.default_rng(12)
    state, _ = _near_crash_states(rng, columns.FLOATS_UP_TO)
    goal = rng.uniform(-1, 1, size=(len(state), 3))
    last = rng.uniform(-1, 1, size=(len(state), task.act_dim))
    got = []
    for limit in (columns.FLOATS_UP_TO, 0):
        monkeypatch.setattr(base, "FLOATS_UP_TO", limit)
        got.append(task.observe(state, goal, last, 3.0))
    assert got[0].dtype == np.float32
    np.testing.assert_array_equal(got[0], got[1])
    np.testing.assert_allclose(
        got[0][:, 3:12].reshape(-1, 3, 3), dynamics.quat_to_rot(state.quat), atol=1e-7
    )
