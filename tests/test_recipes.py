"""Training recipes of the SB3 plugins: each does what its option says."""

import gymnasium as gym
import numpy as np
import pytest

import quadgym
from quadgym.agents.sb3.algorithms import BatchedVecEnv
from quadgym.agents.sb3.recipes import SmoothnessPenalty


def lanes(seed: int = 0) -> BatchedVecEnv:
    envs = gym.make_vec(
        "QuadHover-v0",
        num_envs=3,
        vectorization_mode="vector_entry_point",
        autoreset_mode="same_step",
        start_height=1.0,
    )
    venv = BatchedVecEnv(envs)
    venv.seed(seed)
    return venv


def test_the_smoothness_penalty_takes_the_mean_squared_action_change_from_the_reward():
    """Same lanes, same actions: the wrapped reward is the plain one minus
    λ·mean((a_t − a_{t−1})²), a_{−1} = 0; a constant action pays only at its first step."""
    plain, smooth = lanes(), SmoothnessPenalty(lanes(), weight=0.5)
    plain.reset(), smooth.reset()
    rng = np.random.default_rng(0)
    actions = [rng.uniform(-0.2, 0.2, (3, 4)) for _ in range(4)] + [np.full((3, 4), 0.1)] * 2
    before = np.zeros((3, 4))
    for a in actions:
        _, r0, *_ = plain.step(a)
        _, r1, *_ = smooth.step(a)
        want = 0.5 * np.mean((a - before) ** 2, axis=1)
        np.testing.assert_allclose(r0 - r1, want, rtol=1e-5, atol=1e-7)
        before = a
    assert np.all(want == 0) and smooth.previous.shape == (3, 4)


def test_ppo_takes_the_smoothness_option_typed_and_wraps_its_training_envs():
    algo = quadgym.make_algo("ppo", "QuadHover-v0", num_envs=2, action_smoothness=0.1)
    try:
        assert isinstance(algo.venv.venv, SmoothnessPenalty) and algo.venv.venv.weight == 0.1
    finally:
        algo.close()
    with pytest.raises(ValueError, match="action_smoothness"):
        quadgym.make_algo("ppo", "QuadHover-v0", num_envs=2, action_smoothness=-1.0)
