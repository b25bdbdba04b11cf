"""Every action type: a constant command produces the motion its table documents, on
every face (single env, swarm, vector lanes), through the ecosystem's checkers."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from quadgym.envs import quad_swarm_v0
from quadgym.envs.quad.sim.dynamics import quat_to_euler
from quadgym.envs.quad.sim.models import GRAVITY, get_model
from quadgym.envs.quad.tasks.actions import ACTION_DIMS, ACTION_TYPES, ActionMap

MODEL = get_model("cf2x")


def fly(action_type, action, seconds, physics="pyb", **kwargs):
    """QuadHover-v0 from a level, still start 1 m up (no start noise), holding
    ``action``; the unwrapped env after ``seconds``, and the states along the way."""
    env = gym.make(
        "QuadHover-v0",
        action_type=action_type,
        physics=physics,
        start_height=1.0,
        target=[0.0, 0.0, 1.0],
        start_xy_noise=0.0,
        start_yaw_noise=0.0,
        episode_seconds=60.0,
        **kwargs,
    ).unwrapped
    env.reset(seed=0)
    states = []
    for _ in range(round(seconds * env.task.control_hz)):
        _, _, term, _, _ = env.step(np.asarray(action, dtype=np.float32))
        assert not term
        states.append(env.world.get_state())
    return env, states


def test_dimensions_and_spaces():
    for kind, dim in ACTION_DIMS.items():
        assert ActionMap(MODEL, kind).space() == gym.spaces.Box(-1, 1, (dim,), np.float32)
    with pytest.raises(ValueError, match="unknown action_type 'torque'; allowed: 'rpm', "):
        ActionMap(MODEL, "torque")


def test_one_d_rpm_is_a_vertical_acceleration_by_hand():
    """All four motors at ω = ω_h·(1 + 0.5·c): thrust 4·kf·ω², no torque (the spins
    cancel). From rest in dyn physics, semi-implicit Euler gives after N substeps of dt
    v = N·a·dt and z = z₀ + a·dt²·N(N+1)/2, with a = 4·kf·ω²/m − g."""
    c = 0.25  # exact in float32, the action's dtype
    env, states = fly("one_d_rpm", [c], 0.5, physics="dyn")
    omega = MODEL.hover_rpm * (1 + 0.5 * c)
    acc = 4 * MODEL.kf * omega**2 / MODEL.mass - GRAVITY
    n, dt = 15 * 8, 1 / 240
    s = states[-1]
    z0 = env.world.rest_height + 1.0
    assert s.vel[0, 2] == pytest.approx(n * acc * dt, rel=1e-9)
    assert s.pos[0, 2] == pytest.approx(z0 + acc * dt**2 * n * (n + 1) / 2, rel=1e-9)
    np.testing.assert_allclose(s.pos[0, :2], 0.0, atol=1e-12)
    np.testing.assert_allclose(s.ang_vel, 0.0, atol=1e-12)


def test_one_d_pid_settles_at_the_offset_height():
    """Set-point z + 0.5·pid_range over the target: the drone climbs 0.5 m and holds."""
    env, states = fly("one_d_pid", [0.5], 5.0)
    np.testing.assert_allclose(states[-1].pos[0], [0.0, 0.0, 1.5], atol=0.02)
    assert abs(states[-1].vel[0]).max() < 0.02


def test_pid_settles_at_the_offset_point():
    env, states = fly("pid", [0.3, -0.2, 0.1], 6.0)
    np.testing.assert_allclose(states[-1].pos[0], [0.3, -0.2, 1.1], atol=0.03)


@pytest.mark.parametrize(
    "action, velocity",
    [
        ([1, 0, 0, 0.5], [0.5, 0, 0]),  # +x at half of vel_limit (1 m/s)
        ([0, -3, 0, -1], [0, -1, 0]),  # the direction is normalised; the speed is |a₃|
        ([0, 0, 1, 0.4], [0, 0, 0.4]),
        ([0, 0, 0, 1], [0, 0, 0]),  # no direction: hold position
    ],
)
def test_vel_tracks_the_commanded_velocity(action, velocity):
    """gym-pybullet-drones' VelocityAviary semantics: after 3 s the drone moves at the
    commanded velocity (within 0.03 m/s) and keeps its yaw."""
    env, states = fly("vel", np.clip(action, -1, 1), 3.0, box=10.0)
    mean_vel = np.mean([s.vel[0] for s in states[-15:]], axis=0)
    np.testing.assert_allclose(mean_vel, velocity, atol=0.03)
    assert abs(quat_to_euler(states[-1].quat)[0, 2]) < 0.02


def test_attitude_zero_is_hover_and_thrust_is_a_fraction_of_the_weight():
    """Thrust (1 + a₀)·m·g along body z, level: a₀ = 0 holds height (from a still,
    level start, the mixer's thrust is the weight exactly), a₀ = 0.25 accelerates
    upwards at 0.25·g."""
    _, hold = fly("attitude", [0, 0, 0, 0], 1.0)
    assert abs(hold[-1].pos[0, 2] - hold[0].pos[0, 2]) < 0.01
    env, up = fly("attitude", [0.25, 0, 0, 0], 0.5, physics="dyn")
    v = np.array([s.vel[0, 2] for s in up])
    acc = np.diff(v) * env.task.control_hz
    np.testing.assert_allclose(acc, 0.25 * GRAVITY, rtol=0.01)


def test_attitude_roll_and_yaw_rate():
    """Roll set-point 0.5·π/6 is reached (within 0.02 rad) and tilts the thrust
    towards −y; a yaw-rate command 0.5·π/2 rad/s turns the drone at that rate."""
    _, rolled = fly("attitude", [0, 0.5, 0, 0], 0.6)
    roll = quat_to_euler(rolled[-1].quat)[0]
    assert roll[0] == pytest.approx(0.5 * np.pi / 6, abs=0.02)
    assert abs(roll[1]) < 0.02
    assert rolled[-1].vel[0, 1] < -0.5  # rolling right pushes towards −y
    _, turning = fly("attitude", [0, 0, 0, 0.5], 2.0)
    yaw = np.unwrap([quat_to_euler(s.quat)[0, 2] for s in turning])
    rate = (yaw[-1] - yaw[-31]) / 1.0  # over the last second
    assert rate == pytest.approx(0.5 * np.pi / 2, rel=0.03)


@pytest.mark.parametrize("action_type", ACTION_TYPES)
def test_swarm_and_vector_faces_take_every_action_type(action_type):
    """PettingZoo's API test for the swarm; the vector env's spaces and a step."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(
            quad_swarm_v0.parallel_env(num_drones=3, action_type=action_type), num_cycles=30
        )
    envs = gym.make_vec("QuadHover-v0", num_envs=4, action_type=action_type)
    assert envs.single_action_space.shape == (ACTION_DIMS[action_type],)
    obs, _ = envs.reset(seed=0)
    obs, *_ = envs.step(envs.action_space.sample())
    assert obs.shape == (4, 18 + ACTION_DIMS[action_type])
    envs.close()


@pytest.mark.parametrize("action_type", ACTION_TYPES)
def test_the_pid_plugin_flies_every_action_type(action_type):
    """The ``pid`` plugin, the control baseline of every task, takes off from the ground
    and holds the target through each action type: within 0.10 m in under 2 s and
    within 0.02 m at the end (``one_d_rpm`` cannot steer sideways: it keeps the start's
    0.1 m noise, under 0.15 m)."""
    import quadgym

    env = gym.make("QuadHover-v0", action_type=action_type)
    agent = quadgym.make_algo("pid", env)
    obs, _ = env.reset(seed=1)
    agent.reset()
    arrived = None
    for k in range(240):
        obs, _, term, trunc, info = env.step(agent.act(obs))
        assert not term
        if arrived is None and info["position_error"] < 0.1:
            arrived = (k + 1) / 30
    assert arrived is not None and arrived < 2.0
    assert info["position_error"] < (0.15 if action_type == "one_d_rpm" else 0.02)
