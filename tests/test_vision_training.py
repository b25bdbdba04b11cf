"""Learning from pixels: the SB3 plugins pick their policy class from the observation
space, never normalise an image, refuse a replay buffer of images that cannot fit, train
on QuadVisualReach-v0's copies in subprocesses, and the shipped pixel baseline reaches
the target (paper)."""

import gc
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

import quadgym
from quadgym.agents.sb3.algorithms import normalizes, policy_for, replay_bytes, vector_keys
from quadgym.agents.sb3.config import ENV_DEFAULTS, VISUAL_TRAIN_ENV
from quadgym.agents.sb3.extractors import KeypointCNN, SmallCombined

RGB = spaces.Box(0, 255, (48, 64, 3), np.uint8)
KIN = spaces.Box(-np.inf, np.inf, (21,), np.float32)
DEPTH = spaces.Box(0.1, 20.0, (48, 64, 1), np.float32)
TINY_PPO = {"n_envs": 1, "n_steps": 32, "batch_size": 32, "n_epochs": 1}
BASELINE = Path(__file__).resolve().parents[1] / "baselines" / "QuadVisualReach-v0-ppo-s1"


# ------------------------------------------------------------ the rule, on spaces


@pytest.mark.parametrize(
    "space, policy, keys, normalized",
    [
        (spaces.Dict({"kin": KIN, "rgb": RGB}), "MultiInputPolicy", ["kin"], True),
        (spaces.Dict({"rgb": RGB, "depth": DEPTH}), "MultiInputPolicy", [], False),
        (RGB, "CnnPolicy", None, False),
        (DEPTH, "MlpPolicy", None, False),  # not an SB3 image (float): flattened, as it is
        (KIN, "MlpPolicy", None, True),
    ],
)
def test_the_policy_class_and_the_normalised_keys_follow_the_space(space, policy, keys, normalized):
    assert policy_for(space) == policy
    assert vector_keys(space) == keys
    assert normalizes(space) is normalized


def test_replay_bytes_count_both_observations_of_a_transition():
    # kin: 21 float32 = 84 bytes; rgb: 48 * 64 * 3 uint8 = 9216 bytes; obs and next obs
    assert replay_bytes(spaces.Dict({"kin": KIN, "rgb": RGB}), 10) == 2 * 10 * (84 + 9216)
    assert replay_bytes(KIN, 1) == 2 * 84


def test_keypoints_are_the_expected_cell_of_each_map_and_its_peak():
    """A hand-set network whose first map is the red patch detector: the soft-argmax of
    a sharp map is the centre of the cell that holds the red patch, in [-1, 1]."""
    net = KeypointCNN(spaces.Box(0, 255, (3, 48, 64), np.uint8), channels=2)
    assert net.features_dim == 6 and net.grid.shape == (12 * 16, 2)
    with torch.no_grad():
        first, second = net.cnn[0], net.cnn[2]
        first.weight.zero_(), first.bias.zero_(), second.bias.zero_()
        first.weight[0, 0] = 1 / 16  # map 0: mean redness of each 4x4 patch
        second.weight.zero_()
        second.weight[0, 0] = 100.0  # sharp: the softmax all but picks the cell
    image = torch.zeros(1, 3, 48, 64)
    image[0, 0, 8:12, 20:24] = 1.0  # cell (row 2, column 5) of the 12 x 16 grid
    x, y, x1, y1, peak, peak1 = net(image)[0].tolist()
    assert x == pytest.approx(-1 + 2 * 5 / 15, abs=1e-4)
    assert y == pytest.approx(-1 + 2 * 2 / 11, abs=1e-4)
    assert peak == pytest.approx(100.0) and peak1 == 0.0
    assert (x1, y1) == pytest.approx((0.0, 0.0), abs=1e-6)  # a flat map: the image centre
    with pytest.raises(ValueError, match="at least 4x4 pixels, got 64x3"):
        KeypointCNN(spaces.Box(0, 255, (3, 3, 64), np.uint8))
    with pytest.raises(ValueError, match="channels must be a positive integer, got 0"):
        KeypointCNN(spaces.Box(0, 255, (3, 48, 64), np.uint8), channels=0)
    with pytest.raises(ValueError, match="keypoints must be a positive integer"):
        SmallCombined(KIN, keypoints=-1)


def test_small_combined_concatenates_keypoints_and_the_flat_vector():
    both = SmallCombined(
        spaces.Dict({"kin": KIN, "rgb": spaces.Box(0, 255, (3, 48, 64), np.uint8)}), 4
    )
    assert both.features_dim == 21 + 3 * 4
    x = {"kin": torch.arange(21.0).repeat(2, 1), "rgb": torch.zeros(2, 3, 48, 64)}
    out = both(x)
    assert out.shape == (2, 33)
    torch.testing.assert_close(out[:, :21], x["kin"])  # the vector passes through as it is
    alone = SmallCombined(KIN)  # no image: SB3's FlattenExtractor
    assert alone.features_dim == 21
    torch.testing.assert_close(alone(x["kin"]), x["kin"])


# ------------------------------------------------------------------ the plugins


def _learns(algo, budget=64):
    before = [p.detach().clone() for p in algo.model.policy.parameters()]
    history = algo.learn(budget)
    assert history and history[-1]["step"] >= budget
    after = list(algo.model.policy.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_ppo_learns_from_kin_and_pixels_normalising_only_the_kinematics():
    algo = quadgym.make_algo("ppo", "QuadVisualReach-v0", **TINY_PPO)
    assert type(algo.model.policy).__name__ == "MultiInputActorCriticPolicy"
    assert isinstance(algo.model.policy.features_extractor, SmallCombined)
    assert isinstance(algo.venv, VecNormalize) and algo.venv.norm_obs_keys == ["kin"]
    _learns(algo)
    env = gym.make("QuadVisualReach-v0")
    obs, _ = env.reset(seed=3)
    seen = algo.venv.normalize_obs(obs)
    np.testing.assert_array_equal(seen["rgb"], obs["rgb"])  # pixels as the camera saw them
    rms = algo.venv.obs_rms["kin"]
    expected = np.clip((obs["kin"] - rms.mean) / np.sqrt(rms.var + algo.venv.epsilon), -10, 10)
    np.testing.assert_allclose(seen["kin"], expected, rtol=1e-6)
    assert not np.allclose(seen["kin"], obs["kin"])
    action = algo.act(obs)
    assert env.action_space.contains(action.astype(np.float32))
    env.close()
    algo.close()


def test_ppo_learns_from_an_rgb_image_alone_without_normalising_it():
    algo = quadgym.make_algo(
        "ppo", "QuadHover-v0", env_kwargs={"obs_type": "rgb"}, **{**TINY_PPO, "n_envs": 2}
    )
    assert type(algo.model.policy).__name__ == "ActorCriticCnnPolicy"
    assert isinstance(algo.venv.unwrapped, DummyVecEnv)  # QuadHover-v0's copies stay in-process
    assert algo.venv.norm_obs is False and algo.venv.norm_reward is True
    _learns(algo)
    image = algo.venv.unwrapped.envs[0].unwrapped._obs()
    np.testing.assert_array_equal(algo.venv.normalize_obs(image), image)
    algo.close()


@pytest.mark.parametrize("name", ["sac", "td3"])
def test_off_policy_plugins_take_the_same_policy_classes(name):
    small = {"buffer_size": 200, "learning_starts": 8, "batch_size": 8}
    algo = quadgym.make_algo(name, "QuadVisualReach-v0", **small)
    assert type(algo.model.policy).__name__ == "MultiInputPolicy"
    assert algo.venv.norm_obs_keys == ["kin"]
    _learns(algo, 16)
    algo.close()
    rgb = quadgym.make_algo(name, "QuadHover-v0", env_kwargs={"obs_type": "rgb"}, **small)
    assert type(rgb.model.policy).__name__ == "CnnPolicy"
    rgb.close()


def test_off_policy_plugins_refuse_a_default_buffer_of_images():
    # 10^6 transitions of (84 + 9216) bytes, twice: 17.3 GiB; 2 GiB hold 2^31 // 18600 = 115,456
    with pytest.raises(
        ValueError, match=r"needs 17\.3 GiB; set buffer_size \(at most 115,456 stay"
    ):
        quadgym.make_algo("sac", "QuadVisualReach-v0")
    kin = quadgym.make_algo("sac", "QuadVisualReach-v0", env_kwargs={"obs_type": "kin"})
    assert type(kin.model.policy).__name__ == "SACPolicy"  # vectors: SB3's default buffer
    kin.close()


def test_visual_reach_copies_run_in_their_own_processes_and_stop_with_the_plugin():
    algo = quadgym.make_algo("ppo", "QuadVisualReach-v0", n_steps=16, batch_size=32, n_epochs=1)
    venv = algo.venv.unwrapped
    assert (
        isinstance(venv, SubprocVecEnv)
        and venv.num_envs == ENV_DEFAULTS["QuadVisualReach-v0"].n_envs
    )
    assert venv.get_attr("config", 0)[0].physics_hz == VISUAL_TRAIN_ENV["physics_hz"]
    _learns(algo, 32)
    workers = list(venv.processes)
    assert all(w.is_alive() for w in workers)
    del algo, venv
    gc.collect()  # dropped without close(): its finaliser stops the workers
    for w in workers:
        w.join(timeout=10)
    assert not any(w.is_alive() for w in workers)


def test_training_at_120_hz_flies_the_oracle_as_the_evaluation_at_240_hz():
    """The training copies' physics rate (ENV_DEFAULTS) leaves the task as the policy sees
    it: the constant set-point on the target arrives at the same control step (within
    one), and well within the training copies' 2 s episodes."""
    arrivals = {}
    for hz in (VISUAL_TRAIN_ENV["physics_hz"], 240):
        env = gym.make("QuadVisualReach-v0", obs_type="kin", physics_hz=hz)
        steps = []
        for seed in range(1000, 1010):
            env.reset(seed=seed)
            task, start = env.unwrapped.task, env.unwrapped._state.pos[0].copy()
            action = ((task.targets[0] - start) / task.pid_range).astype(np.float32)
            for k in range(1, 61):  # noqa: B007 - k is the arrival step after the loop
                *_, terminated, truncated, info = env.step(action)
                if terminated or truncated:
                    break
            assert info["reached"] and not info["crashed"], (hz, seed)
            steps.append(k)
        arrivals[hz] = steps
        env.close()
    assert np.abs(np.subtract(*arrivals.values())).max() <= 1
    assert max(max(a) for a in arrivals.values()) <= 11  # 0.73 s: the 2 s episodes leave room
    assert ENV_DEFAULTS["QuadVisualReach-v0"].train_env["episode_seconds"] * 15 == 30


# ------------------------------------------------------------ the shipped baseline


@pytest.mark.paper  # ~30-60 s: loads the shipped run and flies the 20 evaluation episodes
def test_the_shipped_pixel_baseline_reaches_the_target_in_80_percent_of_the_episodes():
    from quadgym.evaluation import score_many

    flown = score_many("QuadVisualReach-v0", str(BASELINE), list(range(1000, 1020)))
    reached = [e.metrics["reached"] for e in flown]
    assert np.mean(reached) >= 0.8, reached
