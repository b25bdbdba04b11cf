"""QuadGates-v0: the course (seeded, loaded once, moved by reset), the gate rule, frame and
pillar collisions, the checkers, and the PID baseline through it."""

import gymnasium as gym
import numpy as np
import pybullet
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import quadgym
from quadgym.envs.quad.sim.dynamics import State
from quadgym.evaluation import score


@pytest.mark.parametrize("action_type", ["rpm", "pid", "vel"])
def test_gates_pass_the_checkers(action_type):
    gym_check_env(
        gym.make("QuadGates-v0", action_type=action_type).unwrapped, skip_render_check=True
    )
    sb3_check_env(gym.make("QuadGates-v0", action_type=action_type), warn=False)


def test_the_course_is_seeded_loaded_once_and_moved_by_reset(monkeypatch):
    env = gym.make("QuadGates-v0", gates=4, obstacles=3)
    loads = []
    real = pybullet.createMultiBody
    monkeypatch.setattr(
        pybullet, "createMultiBody", lambda *a, **k: loads.append(1) or real(*a, **k)
    )
    task = env.unwrapped.task
    env.reset(seed=5)
    first = task.centres.copy(), task.yaws.copy()
    env.reset(seed=6)
    assert np.abs(task.centres - first[0]).max() > 0.05
    env.reset(seed=5)
    np.testing.assert_array_equal(task.centres, first[0])
    np.testing.assert_array_equal(task.yaws, first[1])
    assert loads == []  # 4 gates and 3 pillars, made with the env, never again
    world = env.unwrapped.world
    for body, centre in zip(task._gate_ids, task.centres, strict=True):
        pos, _ = pybullet.getBasePositionAndOrientation(body, physicsClientId=world.client)
        np.testing.assert_allclose(pos, centre, atol=1e-9)
    o = task.options
    steps = np.linalg.norm(np.diff(np.r_[[[0, 0]], task.centres[:, :2]], axis=0), axis=1)
    assert np.all(steps > o.spacing - o.jitter * 2 - 1e-9)
    assert np.all((task.centres[:, 2] >= o.heights[0]) & (task.centres[:, 2] <= o.heights[1]))


def test_a_gate_counts_through_its_opening_forwards_only():
    """Segments against a gate at (2, 0, 1) facing +x, opening 0.5 m."""
    env = gym.make("QuadGates-v0", gates=1)
    env.reset(seed=0)
    task = env.unwrapped.task
    task.centres[0], task.yaws[0] = [2.0, 0.0, 1.0], 0.0
    k = np.zeros(1, dtype=np.int64)

    def through(a, b):
        return bool(task.crossed(np.array([a], float), np.array([b], float), k)[0])

    assert through([1.9, 0.0, 1.0], [2.1, 0.1, 1.1])  # the opening
    assert through([1.9, 0.24, 0.76], [2.05, 0.24, 0.76])  # just inside a corner
    assert not through([1.9, 0.3, 1.0], [2.1, 0.3, 1.0])  # beside it (through the post)
    assert not through([1.9, 0.0, 1.3], [2.1, 0.0, 1.3])  # above it
    assert not through([2.1, 0.0, 1.0], [1.9, 0.0, 1.0])  # backwards
    assert not through([1.8, 0.0, 1.0], [1.95, 0.0, 1.0])  # not yet


def _place(env, pos):
    """Put the drone at ``pos``, level and still, as the env's current state."""
    u = env.unwrapped
    state = State.at_rest(np.array([pos], dtype=float))
    u.world.reset(state)
    u._state = u.world.get_state()
    u.task._last = state.pos.copy()


def test_clipping_a_frame_or_a_pillar_is_a_collision_flying_through_is_not():
    env = gym.make("QuadGates-v0", gates=2, obstacles=1, action_type="pid")
    env.reset(seed=0)
    task = env.unwrapped.task
    c, yaw = task.centres[0], task.yaws[0]
    side = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
    post = c + (task.options.opening / 2 + task.options.bar / 2) * side
    _place(env, post)
    _, _, term, _, info = env.step(np.zeros(3, dtype=np.float32))
    assert info["collided"] and term and info["gates_passed"] == 0
    env.reset(seed=0)
    pillar = pybullet.getBasePositionAndOrientation(
        task._pillar_ids[0], physicsClientId=env.unwrapped.world.client
    )[0]
    _place(env, [pillar[0], pillar[1], 0.5])
    _, _, term, _, info = env.step(np.zeros(3, dtype=np.float32))
    assert info["collided"] and term
    env.reset(seed=0)  # just before the first gate, flying through its centre
    normal = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    _place(env, c - 0.02 * normal)
    u = env.unwrapped
    u.world._state.vel[0] = 1.5 * normal
    u.world._write_to_bullet()
    _, reward, term, _, info = env.step(np.zeros(3, dtype=np.float32))
    assert info["gates_passed"] == 1 and not info["collided"] and not term
    assert reward > 10.0  # the gate's bonus


def test_bad_courses_are_refused():
    for kwargs, message in [
        ({"gates": 0}, "gates must be >= 1"),
        ({"heights": (1.0, 0.5)}, "heights must be"),
        ({"heights": (0.2, 0.5)}, "into the ground"),
        ({"opening": float("nan")}, "opening"),
        ({"num_drones": 2}, "flies one drone"),
    ]:
        with pytest.raises(ValueError, match=message):
            gym.make("QuadGates-v0", **kwargs)
    with pytest.raises(ValueError, match="needs PyBullet's collisions"):
        gym.make_vec("QuadHover-v0", num_envs=2, task="gates")  # the batched backend


def test_the_pid_flies_through_nine_of_ten_courses():
    """The control baseline (pid actions, its gate planner; 2 pillars): at least 9 of 10
    seeded courses completed without a collision (measured 19 of 20)."""
    env = gym.make("QuadGates-v0", action_type="pid")
    episodes = score(env, quadgym.make_algo("pid", env), [1000 + seed for seed in range(10)])
    done = sum(int(e.metrics["completed"] and not e.metrics["collided"]) for e in episodes)
    assert done >= 9
