"""Memory in the observation: ``action_history`` (past actions) and ``error_integral`` (the
position error's leaky integral), on every face; off, the observation is today's."""

import math

import gymnasium as gym
import numpy as np
import pytest
from twins import fly_lane_beside, start_lanes_like

from quadgym.envs import quad_swarm_v0

STILL = {"start_height": 1.0, "target": [0, 0, 1.0], "start_xy_noise": 0.0, "start_yaw_noise": 0.0}
MEMORY = {"action_history": 2, "error_integral": 2.0}
ACTIONS = np.array([[0.1, -0.2, 0.3, -0.4], [1.7, 0.5, -3.0, 0.0], [0.2, 0.2, 0.2, 0.2]])


def _episode(env, actions, seed=0):
    obs = [env.reset(seed=seed)[0]]
    for a in actions:
        obs.append(env.step(a.astype(np.float32))[0])
    return np.array(obs)


def test_off_the_observation_is_todays_bit_for_bit():
    """Explicit zeros give the default env's episode exactly, with its 22 entries."""
    plain = gym.make("QuadHover-v0", physics="dyn", randomize="mild")
    off = gym.make(
        "QuadHover-v0", physics="dyn", randomize="mild", action_history=0, error_integral=0.0
    )
    a, b = _episode(plain, ACTIONS), _episode(off, ACTIONS)
    assert a.shape == (4, 22) and off.observation_space == plain.observation_space
    np.testing.assert_array_equal(a, b)


def test_the_history_holds_the_actions_before_the_previous_newest_first():
    """After actions a1, a2, a3: the previous-action slot holds a3, the history a2 then a1
    (each clipped to [-1, 1]); after one step the history is zero; a reset clears it."""
    env = gym.make("QuadHover-v0", physics="dyn", action_history=2, **STILL)
    assert env.observation_space.shape == (18 + 4 + 8,)
    np.testing.assert_array_equal(env.observation_space.high[22:], 1.0)
    obs = _episode(env, ACTIONS)
    clipped = np.clip(ACTIONS, -1, 1)
    np.testing.assert_array_equal(obs[0, 18:], 0.0)
    np.testing.assert_allclose(obs[1, 18:22], clipped[0], rtol=1e-7)
    np.testing.assert_array_equal(obs[1, 22:], 0.0)
    np.testing.assert_allclose(obs[2, 22:26], clipped[0], rtol=1e-7)
    np.testing.assert_allclose(obs[3, 18:22], clipped[2], rtol=1e-7)
    np.testing.assert_allclose(obs[3, 22:26], clipped[1], rtol=1e-7)
    np.testing.assert_allclose(obs[3, 26:30], clipped[0], rtol=1e-7)
    again, _ = env.reset(seed=1)
    np.testing.assert_array_equal(again[18:], 0.0)


def test_the_integral_is_the_leaky_sum_of_the_errors_after_each_step():
    """With τ = 2 s at 30 Hz: I₃ = λ²·Δt·e₁ + λ·Δt·e₂ + Δt·e₃, λ = e^(−Δt/τ), e_i the error
    entries of step i's observation (goal − position); its bound is Δt/(1 − λ) times
    the error's."""
    env = gym.make("QuadHover-v0", physics="dyn", error_integral=2.0, **STILL)
    dt, lam = 1 / 30, math.exp(-1 / 60)
    obs = _episode(env, ACTIONS)
    e = obs[1:, 0:3].astype(float)
    want = lam**2 * dt * e[0] + lam * dt * e[1] + dt * e[2]
    np.testing.assert_allclose(obs[3, 22:25], want, rtol=1e-5)
    np.testing.assert_array_equal(obs[0, 22:25], 0.0)
    high = env.observation_space.high
    np.testing.assert_allclose(high[22:25], high[0] * dt / (1 - lam), rtol=1e-6)
    assert 2.0 < high[22] / high[0] < 2.02  # about τ
    again, _ = env.reset(seed=1)
    np.testing.assert_array_equal(again[22:], 0.0)


def test_every_face_carries_the_same_memory():
    """Lane 1 of the vector backend flies the single env's dyn episode, memory included, to
    1e-12; a lane that ends starts its next episode with no memory; a swarm's agents
    observe the memory before their neighbours."""
    single = gym.make("QuadHover-v0", physics="dyn", motors=True, **MEMORY, **STILL).unwrapped
    kw = {"physics": "dyn", "motors": True, **MEMORY, **STILL}
    envs = gym.make_vec("QuadHover-v0", num_envs=3, autoreset_mode="same_step", **kw)
    start_lanes_like(single, envs, 3)
    obs, _ = fly_lane_beside(single, envs, 10)
    assert obs.shape == (18 + 4 + 4 + 8 + 3,) and np.abs(obs[-11:]).min() > 0
    flip = np.tile([1.0, -1.0, 1.0, -1.0], (3, 1)).astype(np.float32)  # spins and crashes
    for _ in range(60):
        vobs, _, term, trunc, info = envs.step(flip)
        if term.any():
            break
    assert term.any()
    lane = np.flatnonzero(term)[0]
    assert np.abs(info["final_obs"][lane][-11:]).max() > 0
    np.testing.assert_array_equal(vobs[lane, 18:], 0.0)  # a fresh episode: nothing yet
    swarm = quad_swarm_v0.parallel_env(num_drones=2, k_neighbors=1, physics="dyn", **MEMORY)
    plain = quad_swarm_v0.parallel_env(num_drones=2, k_neighbors=1, physics="dyn")
    assert swarm.observation_space("drone_0").shape[0] == (
        plain.observation_space("drone_0").shape[0] + 11
    )
    swarm.reset(seed=0)
    for _ in range(2):
        obs, *_ = swarm.step({a: np.full(4, 0.1, dtype=np.float32) for a in swarm.agents})
    np.testing.assert_allclose(obs["drone_0"][22:26], 0.1, rtol=1e-6)  # a₁ in the history
    assert np.abs(obs["drone_0"][30:33]).min() > 0  # the integral, before the neighbour


def test_same_seed_same_episode_with_memory_and_randomisation():
    kw = {"physics": "dyn", "randomize": "mild", "motors": True, **MEMORY}
    a = _episode(gym.make("QuadHover-v0", **kw), ACTIONS, seed=7)
    b = _episode(gym.make("QuadHover-v0", **kw), ACTIONS, seed=7)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "key, value, kind",
    [
        ("action_history", -1, ValueError),
        ("action_history", 65, ValueError),
        ("action_history", 1.5, TypeError),
        ("error_integral", -0.5, ValueError),
        ("error_integral", "long", TypeError),
    ],
)
def test_bad_memory_options_are_refused_by_name(key, value, kind):
    with pytest.raises(kind, match=key):
        gym.make("QuadHover-v0", **{key: value})


@pytest.mark.parametrize("env_id", ["QuadHover-v0", "QuadTrack-v0"])
def test_gymnasium_and_sb3_checkers_pass_with_memory_on(env_id):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    kw = {"physics": "dyn", "motors": True, "randomize": "mild", **MEMORY}
    env = gym.make(env_id, **kw)
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(gym.make(env_id, **kw), warn=True)


def test_the_pid_reads_the_tasks_entries_behind_the_motor_speeds_and_the_memory():
    """QuadTrack-v0's reference points sit after the motor speeds (and before the memory):
    the PID tracks the circle within 0.02 m RMS with both on (a near-instant 1 ms motor
    lag), as it does without (0.013 m). It used to read the motor speeds as the reference
    points and crashed."""
    import quadgym

    env = gym.make("QuadTrack-v0", physics="dyn", motors=True, perturb="motor_tau=0.001", **MEMORY)
    pid = quadgym.make_algo("pid", env)
    obs, _ = env.reset(seed=0)
    errors = []
    for _ in range(240):
        obs, _, term, _, _ = env.step(pid.act(obs))
        assert not term
        errors.append(np.linalg.norm(obs[:3]))
    assert np.sqrt(np.mean(np.square(errors[60:]))) < 0.02


def test_the_anti_windup_radius_integrates_only_near_the_goal():
    """``error_integral_radius=0.5``: from the ground (1 m below the goal) nothing is added
    (the integral stays 0), near the goal it is the plain leaky sum; the bound is c·0.5."""
    kw = {"physics": "dyn", "error_integral": 2.0, "error_integral_radius": 0.5}
    far = _episode(gym.make("QuadHover-v0", **kw), ACTIONS)
    assert np.linalg.norm(far[3, :3]) > 0.5
    np.testing.assert_array_equal(far[:, 22:25], 0.0)
    env = gym.make("QuadHover-v0", **kw, **STILL)
    near = _episode(env, ACTIONS)
    plain = _episode(gym.make("QuadHover-v0", physics="dyn", error_integral=2.0, **STILL), ACTIONS)
    np.testing.assert_array_equal(near, plain)
    assert np.abs(near[3, 22:25]).max() > 1e-4
    dt, lam = 1 / 30, math.exp(-1 / 60)
    np.testing.assert_allclose(env.observation_space.high[22:25], 0.5 * dt / (1 - lam), rtol=1e-6)
