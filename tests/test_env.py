"""QuadHover-v0 through the ecosystem's own checkers, and its behaviour at the edges."""

import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from quadgym.envs import quad_swarm_v0
from quadgym.envs.quad.tasks.actions import ACTION_TYPES


@pytest.mark.parametrize("action_type", ACTION_TYPES)
@pytest.mark.parametrize("kwargs", [{}, {"num_drones": 3}, {"physics": "dyn_gnd_drag_dw"}])
def test_checkers_pass(action_type, kwargs):
    gym_check_env(
        gym.make("QuadHover-v0", action_type=action_type, **kwargs).unwrapped,
        skip_render_check=True,
    )
    sb3_check_env(gym.make("QuadHover-v0", action_type=action_type, **kwargs), warn=False)


def rollout(env, seed, steps=60):
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = [obs]
    for _ in range(steps):
        obs, r, term, trunc, _ = env.step(env.action_space.sample())
        out.append(np.append(obs, r))
        if term or trunc:
            out.append(env.reset()[0])
    return np.concatenate([np.ravel(o) for o in out])


@pytest.mark.parametrize("physics", ["pyb", "dyn", "pyb_gnd_drag_dw"])
def test_same_seed_same_episode_different_seed_differs(physics):
    a = rollout(gym.make("QuadHover-v0", physics=physics), 7)
    b = rollout(gym.make("QuadHover-v0", physics=physics), 7)
    c = rollout(gym.make("QuadHover-v0", physics=physics), 8)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_reset_does_not_remember_the_previous_episode():
    env = gym.make("QuadHover-v0")
    action = np.full(4, 0.3, dtype=np.float32)
    env.reset(seed=3)
    first = [env.step(action)[0] for _ in range(3)]
    for _ in range(20):
        env.step(env.action_space.sample())
    env.reset(seed=3)
    again = [env.step(action)[0] for _ in range(3)]
    np.testing.assert_array_equal(first, again)


def test_two_envs_stepped_alternately_match_each_alone():
    def actions(seed):
        return np.random.default_rng(seed).uniform(-0.2, 0.2, size=(50, 4)).astype(np.float32)

    def run(envs, seeds):
        obs = [[e.reset(seed=s)[0]] for e, s in zip(envs, seeds, strict=True)]
        acts = [actions(s) for s in seeds]
        for k in range(50):
            for i, e in enumerate(envs):
                obs[i].append(e.step(acts[i][k])[0])
        return [np.array(o) for o in obs]

    together = run([gym.make("QuadHover-v0"), gym.make("QuadHover-v0")], [1, 2])
    np.testing.assert_array_equal(together[0], run([gym.make("QuadHover-v0")], [1])[0])
    np.testing.assert_array_equal(together[1], run([gym.make("QuadHover-v0")], [2])[0])


@pytest.mark.parametrize(
    "bad",
    [np.full(4, np.nan), np.array([0, np.inf, 0, 0]), np.zeros(3), np.zeros((1, 4)), np.zeros(7)],
    ids=["nan", "inf", "short", "2d", "long"],
)
def test_bad_actions_raise_and_leave_the_state_alone(bad):
    env = gym.make("QuadHover-v0").unwrapped
    env.reset(seed=0)
    before = env.world.get_state()
    with pytest.raises(ValueError, match="non-finite|shape"):
        env.step(bad)
    after = env.world.get_state()
    np.testing.assert_array_equal(before.pos, after.pos)
    env.step(np.zeros(4, dtype=np.float32))  # still usable


@pytest.mark.parametrize("size", [4, 16, 20, 400])
def test_check_actions_finds_every_non_finite_entry_on_both_paths(size):
    """check_actions tests a few entries on floats and many in NumPy (SMALL_ACTION): either
    way a NaN, +inf or -inf anywhere is refused, named at its index, and a finite action
    passes unchanged as float64."""
    from quadgym.envs.quad.tasks.base import SMALL_ACTION, check_actions

    assert (size <= SMALL_ACTION) == (size in (4, 16))
    shape = (size // 4, 4)
    good = np.random.default_rng(size).uniform(-1e30, 1e30, size=shape).astype(np.float32)
    out = check_actions(good, shape)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, good.astype(np.float64))
    for value in (np.nan, np.inf, -np.inf):
        for k in (0, size - 1):
            bad = np.zeros(shape)
            bad.flat[k] = value
            index = [int(i) for i in np.unravel_index(k, shape)]
            with pytest.raises(
                ValueError, match=re.escape(f"non-finite values (NaN or inf) at index {index}")
            ):
                check_actions(bad, shape)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"drone_model": "cf9"}, "drone_model must be one of .*, got 'cf9'"),
        ({"physics": "bullet"}, "unknown physics mode 'bullet'"),
        ({"control_hz": 7}, "control_hz=7 does not divide physics_hz=240"),
        ({"control_hz": 0}, "control_hz must be >= 1, got 0"),
        ({"num_drones": 0}, "num_drones must be >= 1, got 0"),
        ({"action_type": "torque"}, "action_type must be one of .*, got 'torque'"),
        ({"target": [1, 2]}, "target must be a finite"),
        ({"render_mode": "ansi"}, "render_mode must be one of .*, got 'ansi'"),
    ],
)
def test_impossible_configs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make("QuadHover-v0", **kwargs)


def test_step_before_reset_is_refused():
    with pytest.raises(gym.error.ResetNeeded):
        gym.make("QuadHover-v0").unwrapped.step(np.zeros(4))


def test_episode_is_truncated_at_its_length():
    env = gym.make("QuadHover-v0", action_type="pid", episode_seconds=1.0)
    env.reset(seed=0)
    for k in range(30):
        _, _, term, trunc, info = env.step(np.zeros(3, dtype=np.float32))
        assert not term
        assert trunc == (k == 29)
    assert info["time"] == pytest.approx(1.0)


def test_flipping_terminates_as_a_crash():
    env = gym.make("QuadHover-v0", start_height=1.0)
    env.reset(seed=0)
    for _ in range(60):
        _, _, term, _, info = env.step(np.array([1, 1, -1, -1], dtype=np.float32))
        if term:
            break
    assert term and info["crashed"]


def test_falling_onto_the_ground_is_a_crash_and_a_slow_landing_is_not():
    env = gym.make("QuadHover-v0", start_height=1.0, physics="dyn", start_yaw_noise=0.0)
    env.reset(seed=0)
    for _ in range(60):
        _, _, term, _, info = env.step(np.full(4, -1.0, dtype=np.float32))
        if term:
            break
    assert term and info["crashed"]
    # the PID descending from 0.3 m to a set-point on the ground: lands, no crash
    env = gym.make("QuadHover-v0", action_type="pid", start_height=0.3, target=[0, 0, 0.3125])
    env.reset(seed=0)
    for _ in range(120):
        _, _, term, _, _ = env.step(np.array([0, 0, -0.3], dtype=np.float32))
        assert not term
    assert env.unwrapped._state.pos[0, 2] < 0.02


def test_reward_is_higher_near_the_target():
    env = gym.make("QuadHover-v0", action_type="pid", start_xy_noise=0, start_yaw_noise=0)
    env.reset(seed=0)
    rewards = [env.step(np.zeros(3, dtype=np.float32))[1] for _ in range(120)]
    assert rewards[0] == pytest.approx(1 - 0.5 * 1.0, abs=0.02)  # 1 m below the target
    assert rewards[-1] > 0.97


def test_rgb_array_render():
    """640x480 by default (before: 320x240, smaller than the peers' videos); the size is
    an argument of every face that renders."""
    env = gym.make("QuadHover-v0", render_mode="rgb_array")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    frame = env.render()
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    assert frame.std() > 5  # an image, not a blank
    env.close()
    env.close()
    swarm = quad_swarm_v0.parallel_env(render_mode="rgb_array", render_width=200, render_height=100)
    swarm.reset(seed=0)
    assert swarm.render().shape == (100, 200, 3)
    swarm.close()


def test_multi_drone_joint_agent_shapes():
    env = gym.make("QuadHover-v0", num_drones=4)
    obs, info = env.reset(seed=0)
    assert obs.shape == (4, 22) and env.action_space.shape == (4, 4)
    assert info["position_error"].shape == (4,)
    obs, r, *_ = env.step(env.action_space.sample())
    assert obs.shape == (4, 22) and isinstance(r, float)
