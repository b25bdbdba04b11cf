"""The batched backend: the vector API contract, equivalence with the single env, bad input."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import SyncVectorEnv
from twins import start_lanes_like

import quadgym
from quadgym.agents.sb3.algorithms import BatchedVecEnv
from quadgym.envs.quad.vector import QuadHoverVectorEnv


def test_make_vec_returns_the_batched_backend_and_sync_still_works():
    envs = gym.make_vec("QuadHover-v0", num_envs=16)
    assert isinstance(envs, QuadHoverVectorEnv)
    sync = gym.make_vec("QuadHover-v0", num_envs=2, vectorization_mode="sync")
    assert isinstance(sync, SyncVectorEnv)
    obs, _ = sync.reset(seed=0)
    assert obs.shape == (2, 22)
    sync.close()


def test_vector_api_contract():
    envs = gym.make_vec("QuadHover-v0", num_envs=8)
    obs, info = envs.reset(seed=1)
    assert obs.shape == (8, 22) and obs.dtype == np.float32 and envs.observation_space.contains(obs)
    assert envs.single_action_space.shape == (4,) and envs.action_space.shape == (8, 4)
    for _ in range(50):
        obs, rew, term, trunc, info = envs.step(envs.action_space.sample())
        assert envs.observation_space.contains(obs)
        assert rew.shape == (8,) and rew.dtype == np.float64
        assert term.dtype == bool and trunc.dtype == bool and isinstance(info, dict)
    envs.close()
    envs.close()


def rollout(seed, steps=40):
    envs = gym.make_vec("QuadHover-v0", num_envs=4)
    out = [envs.reset(seed=seed)[0]]
    envs.action_space.seed(seed)
    for _ in range(steps):
        out.append(envs.step(envs.action_space.sample())[0])
    return np.array(out)


def test_reset_seed_determinism():
    np.testing.assert_array_equal(rollout(5), rollout(5))
    assert not np.array_equal(rollout(5), rollout(6))


def flip(envs):
    """Actions that flip lane 0 (a crash) and keep the others near hover."""
    a = np.zeros((envs.num_envs, 4), dtype=np.float32)
    a[0] = [1, 1, -1, -1]
    return a


def test_next_step_autoreset():
    envs = gym.make_vec("QuadHover-v0", num_envs=3, start_height=1.0)
    envs.reset(seed=0)
    for _ in range(60):
        obs, rew, term, trunc, _ = envs.step(flip(envs))
        if term[0]:
            break
    assert term[0] and not term[1:].any()
    obs, rew, term, trunc, _ = envs.step(flip(envs))  # the reset step of lane 0
    assert rew[0] == 0.0 and not term[0] and not trunc[0]
    np.testing.assert_allclose(obs[0, 12:21], 0.0, atol=1e-6)  # at rest, zero previous action
    assert rew[1] > 0.0


def test_same_step_autoreset_and_the_sb3_adapter():
    envs = gym.make_vec("QuadHover-v0", num_envs=3, start_height=1.0, autoreset_mode="same_step")
    adapter = BatchedVecEnv(envs)
    adapter.seed(0)
    adapter.reset()
    for _ in range(60):
        adapter.step_async(flip(envs))
        obs, rew, dones, infos = adapter.step_wait()
        if dones[0]:
            break
    assert dones[0] and "terminal_observation" in infos[0] and set(infos[1]) == {"position_error"}
    final = infos[0]["terminal_observation"]
    assert abs(final[2]) > 0 or np.abs(final[3:12] - obs[0, 3:12]).max() > 0.1  # not the reset obs
    np.testing.assert_allclose(obs[0, 12:21], 0.0, atol=1e-6)
    assert infos[0]["TimeLimit.truncated"] is False


@pytest.mark.parametrize(
    "action_type, physics, n, atol",
    [
        ("rpm", "dyn", 5, 1e-12),
        ("pid", "dyn", 5, 1e-12),
        ("one_d_rpm", "dyn", 5, 1e-12),
        ("one_d_pid", "dyn", 5, 1e-12),
        ("vel", "dyn", 5, 1e-12),
        ("attitude", "dyn", 5, 1e-12),
        ("rpm", "dyn_gnd_drag", 5, 1e-12),
        # floats for one drone, columns for 300 lanes: the same doubles (sim/dynamics.py)
        ("rpm", "dyn", 300, 0.0),
        ("pid", "dyn_gnd_drag", 300, 1e-6),
    ],
)
def test_lane_equals_single_env_in_dyn(action_type, physics, n, atol):
    single = gym.make("QuadHover-v0", physics=physics, action_type=action_type).unwrapped
    lane = 2
    envs = gym.make_vec("QuadHover-v0", num_envs=n, physics=physics, action_type=action_type)
    vobs = start_lanes_like(single, envs, n)
    rng = np.random.default_rng(0)
    for _ in range(90):
        act = rng.uniform(-0.3, 0.3, size=(n, single.task.act_dim)).astype(np.float32)
        obs, r, term, trunc, _ = single.step(act[lane])
        vobs, vr, vterm, vtrunc, _ = envs.step(act)
        np.testing.assert_allclose(vobs[lane], obs, rtol=0, atol=atol)
        assert vr[lane] == pytest.approx(r, abs=atol) and vterm[lane] == term
        if term:
            break


def test_vector_pid_flight_matches_the_pybullet_env():
    """pyb and the NumPy backend agree on a PID take-off to 1e-6 m (measured ~1e-15)."""
    single = gym.make("QuadHover-v0", physics="pyb", action_type="pid").unwrapped
    single.reset(seed=4)
    s0 = single.world.get_state()
    envs = gym.make_vec("QuadHover-v0", num_envs=1, action_type="pid")
    envs.reset(options={"state": s0})
    for _ in range(150):
        single.step(np.zeros(3, dtype=np.float32))
        envs.step(np.zeros((1, 3), dtype=np.float32))
    np.testing.assert_allclose(envs.get_state().pos, single.world.get_state().pos, atol=1e-6)


def test_bad_input():
    envs = gym.make_vec("QuadHover-v0", num_envs=6)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions have shape \(5, 4\); expected \(6, 4\)"):
        envs.step(np.zeros((5, 4)))
    bad = np.zeros((6, 4))
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf in lane\(s\) \[3\]"):
        envs.step(bad)
    with pytest.raises(ValueError, match="num_envs must be >= 1, got 0"):
        QuadHoverVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="'pyb' is not available in the vector backend"):
        gym.make_vec("QuadHover-v0", num_envs=2, physics="pyb")
    with pytest.raises(ValueError, match="downwash"):
        gym.make_vec("QuadHover-v0", num_envs=2, physics="dyn_dw")
    with pytest.raises(ValueError, match="needs PyBullet's cameras"):
        gym.make_vec("QuadHover-v0", num_envs=2, render_mode="rgb_array")
    with pytest.raises(ValueError, match="unknown autoreset_mode 'often'"):
        gym.make_vec("QuadHover-v0", num_envs=2, autoreset_mode="often")


def test_ppo_trains_on_the_batched_backend():
    algo = quadgym.make_algo(
        "ppo", "QuadHover-v0", num_envs=16, n_steps=16, batch_size=128, n_epochs=1
    )
    hist = algo.learn(2048)
    assert algo.model.num_timesteps >= 2048 and isinstance(hist, list)


def test_async_mode_gives_pybullet_copies():
    envs = gym.make_vec("QuadHover-v0", num_envs=2, vectorization_mode="async")
    obs, _ = envs.reset(seed=0)
    obs, rew, *_ = envs.step(np.zeros((2, 4), dtype=np.float32))
    assert obs.shape == (2, 22) and rew.shape == (2,)
    envs.close()
