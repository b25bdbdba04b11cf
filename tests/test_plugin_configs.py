"""Typed configs and record positions of the distill, sequence and SB3 plugins.

Every plugin refuses an unknown key (naming the closest allowed one) and a value
of the wrong type (naming the field) before it builds any env, and stamps each
record with the budget consumed when it was made, across ``learn`` calls and
across a checkpoint loaded into a fresh instance.
"""

import dataclasses
import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import quadgym
import quadgym.agents.sb3.shared as marl
from quadgym.agents.base import POSITION
from quadgym.agents.distillation.plugins import AugmentorConfig
from quadgym.agents.sb3.config import PPOConfig, SACConfig, TD3Config, sb3_keywords
from quadgym.agents.sb3.shared import PPOSharedConfig
from quadgym.agents.schedule import cosine_factor
from quadgym.agents.sequence.plugins import FTPConfig
from quadgym.registry import get_algo_class

HARD_TOY = {"env_kwargs": {"budget": 4}}  # runs of 4 student updates: the budgets cross one
GPT_TINY = {"d_model": 16, "layers": 1, "heads": 2, "batch_size": 8}
#: (env id, config that makes learn() cheap, three budgets: two calls, then one after a reload)
PLUGINS = {
    "kd": ("HardShift-v0", HARD_TOY, (3, 4, 2)),
    "kd_noise": ("HardShift-v0", {**HARD_TOY, "noise_std": 0.3}, (3, 4, 2)),
    "kd_random_shift": ("HardShift-v0", HARD_TOY, (3, 4, 2)),
    "hard": ("HardShift-v0", {**HARD_TOY, "hidden": 8}, (3, 4, 2)),
    "hard_grad": ("HardShift-v0", {**HARD_TOY, "hidden": 8, "noise_dim": 2}, (3, 4, 2)),
    "gpt": ("ToyCoding-v0", GPT_TINY, (3, 4, 2)),
    "ftp": (
        "ToyCoding-v0",
        {**GPT_TINY, "d_decoder": 16, "n_future": 2, "pseudo_len": 2},
        (3, 4, 2),
    ),
    "ppo": ("QuadHover-v0", {"n_envs": 1, "n_steps": 32, "batch_size": 32, "n_epochs": 1}, None),
    "sac": ("QuadHover-v0", {"learning_starts": 5, "batch_size": 8, "buffer_size": 100}, None),
    "td3": ("QuadHover-v0", {"learning_starts": 5, "batch_size": 8, "buffer_size": 100}, None),
    "ppo_shared": (
        "quad_swarm_v0",
        {"num_drones": 2, "n_swarms": 1, "n_steps": 16, "batch_size": 32, "n_epochs": 1},
        None,
    ),
}
SB3_BUDGETS = {
    "ppo": (40, 20, 10),
    "sac": (12, 8, 5),
    "td3": (12, 8, 5),
    "ppo_shared": (40, 20, 10),
}
#: a misspelt key and the allowed one the error must suggest
MISSPELT = {
    "kd": ("env_kwarg", "env_kwargs"),
    "kd_noise": ("noise", "noise_std"),
    "kd_random_shift": ("sed", "seed"),
    "hard": ("lrr", "lr"),
    "hard_grad": ("noise_dims", "noise_dim"),
    "gpt": ("lrr", "lr"),
    "ftp": ("n_futures", "n_future"),
    "ppo": ("n_step", "n_steps"),
    "sac": ("learning_start", "learning_starts"),
    "td3": ("policy_delays", "policy_delay"),
    "ppo_shared": ("num_drone", "num_drones"),
}
#: a field and a value of the wrong type for it
WRONG_TYPE = {
    "kd": ("env_kwargs", "budget=4"),
    "kd_noise": ("noise_std", "0.5"),
    "kd_random_shift": ("seed", 1.5),
    "hard": ("hidden", 8.5),
    "hard_grad": ("noise_dim", "16"),
    "gpt": ("d_model", "16"),
    "ftp": ("n_future", 2.5),
    "ppo": ("n_steps", "64"),
    "sac": ("buffer_size", [1000]),
    "td3": ("policy_delay", 1.5),
    "ppo_shared": ("num_drones", "2"),
}


def make(name, **changes):
    env_id, config, _ = PLUGINS[name]
    return quadgym.make_algo(name, env_id, **{**config, **changes})


def budgets(name):
    return PLUGINS[name][2] or SB3_BUDGETS[name]


@pytest.fixture
def no_env_built(forbid):
    """Fail the test if anything builds an env (Gymnasium, vectorised or PettingZoo)."""
    forbid((gym, "make"), (gym, "make_vec"), (marl, "make_parallel_env"))


# ------------------------------------------------------------------- refusals


@pytest.mark.parametrize("name", PLUGINS)
def test_unknown_key_is_refused_with_the_closest_one_before_any_env(name, no_env_built):
    env_id, config, _ = PLUGINS[name]
    bad, suggestion = MISSPELT[name]
    with pytest.raises(
        ValueError, match=f"{name}: unknown key '{bad}'; did you mean '{suggestion}'"
    ):
        get_algo_class(name)(env_id, **config, **{bad: 1})
    with pytest.raises(ValueError, match=f"did you mean '{suggestion}'"):
        quadgym.make_algo(name, env_id, **{bad: 1})


@pytest.mark.parametrize("name", PLUGINS)
def test_wrong_type_names_the_field_before_any_env(name, no_env_built):
    env_id, config, _ = PLUGINS[name]
    field, value = WRONG_TYPE[name]
    with pytest.raises(TypeError, match=f"{name}: {field} must be"):
        get_algo_class(name)(env_id, **{**config, field: value})


@pytest.mark.parametrize(
    "name, config, message",
    [
        (
            "ppo",
            {"sb3_kwargs": {"n_stepz": 3}},
            "PPO takes no keyword 'n_stepz'; did you mean 'n_steps'",
        ),
        ("sac", {"sb3_kwargs": {"target_entropi": -1.0}}, "did you mean 'target_entropy'"),
        ("td3", {"sb3_kwargs": {"gamma": 0.9}}, "'gamma' is a config key of its own"),
        ("ppo", {"sb3_kwargs": {"seed": 1}}, "'seed' is a config key of its own"),
        ("ppo", {"gamma": 1.5}, "gamma must be <= 1"),
        ("ppo_shared", {"eval_env_kwargs": {"num_drones": 3}}, "num_drones is a config key"),
        ("hard", {"env_kwargs": {"action_type": "continuous"}}, "action_type is the plugin's own"),
        ("gpt", {"d_model": 10, "heads": 4}, "d_model .* must be a multiple of heads"),
        ("ftp", {"gamma": 0.0}, "gamma must be > 0"),
        ("gpt", {"schedule": "linear"}, "schedule must be one of 'constant', 'cosine'"),
        ("gpt", {"corpus_size": 0}, "corpus_size must be >= 1"),
    ],
)
def test_impossible_values_are_refused_before_any_env(name, config, message, no_env_built):
    with pytest.raises(ValueError, match=message):
        quadgym.make_algo(name, PLUGINS[name][0], **config)


@pytest.mark.parametrize("config_class", [PPOConfig, SACConfig, TD3Config, PPOSharedConfig])
def test_every_typed_sb3_field_is_a_keyword_of_its_sb3_class(config_class):
    """A field that is not the adapter's own goes to SB3: a misspelt one would be lost."""
    adapter = {"normalize", "env_kwargs", "sb3_kwargs", "n_envs", "num_envs"}
    adapter |= {"num_drones", "n_swarms", "eval_env_kwargs", "action_smoothness"}
    adapter |= {"asymmetric_critic", "precision_bonus", "precision_radius"}
    adapter |= {"precision_warmup", "schedule", "horizon"}
    typed = {f.name for f in dataclasses.fields(config_class)} - adapter
    assert typed <= set(sb3_keywords(config_class.sb3_class))


def test_configs_document_every_field():
    for config_class in (AugmentorConfig, FTPConfig, PPOConfig, SACConfig, PPOSharedConfig):
        for name, _, _, doc in config_class.describe():
            assert doc, f"{config_class.__name__}.{name} has no doc"


# -------------------------------------------------------------- what is built


def test_existing_ppo_callers_keep_working():
    policy_kwargs = {"net_arch": [16], "log_std_init": -0.5}
    algo = quadgym.make_algo(
        "ppo", "QuadHover-v0", n_envs=2, n_steps=64, batch_size=64, policy_kwargs=policy_kwargs
    )
    assert algo.venv.num_envs == 2 and algo.model.n_steps == 64 and algo.model.batch_size == 64
    assert algo.model.policy_kwargs["net_arch"] == [16]
    assert algo.model.n_epochs == 10  # QuadHover-v0's default where none is given
    passed = quadgym.make_algo("ppo", "QuadHover-v0", n_envs=2, sb3_kwargs={"target_kl": 0.02})
    assert passed.model.target_kl == 0.02
    assert passed.model.n_steps == 256 and passed.model.batch_size == 512  # the defaults


def test_checkpoint_stores_the_typed_config(tmp_path):
    algo = make("gpt", corpus_size=20)
    algo.save(tmp_path / "ckpt")
    stored = json.loads(torch.load(tmp_path / "ckpt", weights_only=False)["config"])
    assert stored == algo.config.to_dict() and stored["corpus_size"] == 20


def test_distill_resumes_with_the_checkpoints_seed(tmp_path):
    """The seed comes from the checkpoint, not from the instance that loads it."""
    whole = make("kd_random_shift", seed=3)
    whole.learn(6)
    first = make("kd_random_shift", seed=3)
    first.learn(2)
    first.save(tmp_path / "ckpt")
    second = make("kd_random_shift", seed=9)
    second.load(tmp_path / "ckpt")
    second.learn(4)
    assert second.final == whole.final
    np.testing.assert_array_equal(second.position_counts, whole.position_counts)


def test_cosine_schedule_follows_the_horizon_and_restarts_per_call_without_one():
    fixed = make("gpt", horizon=8)
    lrs = [r["lr"] for r in fixed.learn(3) + fixed.learn(5)]
    expected = [2e-3 * cosine_factor(k, 8) for k in range(8)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    per_call = make("gpt")
    per_call.learn(4)
    # the last call ended at its horizon (lr 0); the next one spans steps 4..8
    assert per_call.learn(4)[0]["lr"] == pytest.approx(2e-3 * cosine_factor(4, 8))


# ------------------------------------------------------------------ positions


def learn_checked(algo, budget):
    """``algo.learn(budget)``; checks every record's position against ``progress``."""
    seen = []
    records = algo.learn(budget, callback=lambda r: seen.append((r[POSITION], algo.progress)))
    assert [p for p, _ in seen] == [progress for _, progress in seen]
    return [r[POSITION] for r in records]


@pytest.mark.parametrize("name", PLUGINS)
def test_positions_count_the_budget_across_calls_and_checkpoints(name, tmp_path):
    first_budget, second_budget, third_budget = budgets(name)
    algo = make(name)
    steps = learn_checked(algo, first_budget) + learn_checked(algo, second_budget)
    assert steps and steps == sorted(set(steps)), steps
    assert steps[-1] == algo.progress >= first_budget + second_budget
    if not name.startswith(("ppo", "sac", "td3")):  # SB3 may finish a rollout beyond a budget
        assert algo.progress == first_budget + second_budget
        assert steps == list(range(1, algo.progress + 1)), "one record per unit"
    algo.save(tmp_path / "ckpt")
    fresh = make(name)
    fresh.load(tmp_path / "ckpt")
    assert fresh.progress == algo.progress
    more = learn_checked(fresh, third_budget)
    assert more[0] > steps[-1] and more == sorted(set(more))
    assert more[-1] == fresh.progress >= algo.progress + third_budget
