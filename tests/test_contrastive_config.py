"""The contrastive plugins' typed configs, budget positions, capabilities and schedule state."""

import dataclasses

import numpy as np
import pytest
import torch

import quadgym
from quadgym.agents.base import POSITION, BudgetUnit
from quadgym.agents.preference.plugins import ContrastiveAlgorithm
from quadgym.registry import get_algo_class

PLUGINS = ["copg", "ipo", "dpo", "dpo_flex", "dpo_sft", "slic", "pg", "rloo"]
SMALL = {"n_pairs": 64}  # a 64-pair bandit dataset: an epoch is one batch


@pytest.mark.parametrize(
    "name, key, suggestion",
    [
        ("copg", "bta", "beta"),
        ("dpo_flex", "beta_pls", "beta_plus"),
        ("dpo_sft", "sft_wieght", "sft_weight"),
        ("slic", "delt", "delta"),
        ("pg", "baselin", "baseline"),
        ("ipo", "pairs_per_promt", "pairs_per_prompt"),
        ("rloo", "batchsize", "batch_size"),
    ],
)
def test_unknown_key_is_refused_with_the_closest_one(name, key, suggestion):
    with pytest.raises(
        ValueError, match=f"{name}: unknown key '{key}'; did you mean '{suggestion}'"
    ):
        quadgym.make_algo(name, "CoPGBandit-v0", **{key: 0.1})


def test_preference_toy_settings_are_not_keys_of_the_plugins_that_cannot_use_them():
    for name in ("copg", "pg", "rloo"):
        with pytest.raises(ValueError, match="unknown key 'chosen'"):
            quadgym.make_algo(name, "CoPGBandit-v0", chosen="off")
    assert "chosen" in {f.name for f in dataclasses.fields(get_algo_class("dpo").Config)}


@pytest.mark.parametrize(
    "name, config, error, message",
    [
        ("copg", {"beta": "abc"}, TypeError, "copg: beta must be float"),
        ("ipo", {"batch_size": 1.5}, TypeError, "ipo: batch_size must be int"),
        (
            "copg",
            {"schedule": "linear"},
            ValueError,
            "schedule must be one of 'constant', 'cosine'",
        ),
        ("dpo", {"chosen": "maybe"}, ValueError, "chosen must be one of 'on', 'off'"),
        ("pg", {"baseline": 1}, ValueError, "baseline must be one of 'none', 'value'"),
        ("copg", {"mu1": "abc"}, TypeError, "mu1 must be"),
        ("copg", {"horizon": 2.5}, TypeError, "horizon must be int"),
        ("copg", {"beta": float("inf")}, ValueError, "beta must be a finite number"),
    ],
)
def test_wrong_type_is_refused_naming_the_field(name, config, error, message):
    with pytest.raises(error, match=message):
        quadgym.make_algo(name, "CoPGBandit-v0", **config)


@pytest.mark.parametrize(
    "name, config, message",
    [
        ("copg", {"beta": 0.0}, "beta must be a finite number > 0"),
        ("copg", {"lr": 0.0}, "lr must be > 0"),
        ("copg", {"batch_size": 0}, "batch_size must be >= 1"),
        ("copg", {"n_pairs": 0}, "n_pairs must be >= 1"),
        ("copg", {"horizon": 0}, "horizon must be >= 1"),
        ("copg", {"hidden": 0}, "hidden must be >= 1"),
        ("ipo", {"rank": 0}, "rank must be >= 1"),
        ("ipo", {"pairs_per_prompt": 0}, "pairs_per_prompt must be >= 1"),
        ("dpo_flex", {"beta_plus": -1.0}, "beta_plus must be a finite number > 0"),
        ("dpo_sft", {"sft_weight": -1.0}, "sft_weight must be >= 0"),
        ("slic", {"delta": -0.5}, "delta must be >= 0"),
        ("copg", {"seed": -1}, "seed must be >= 0"),
        ("copg", {"mu1": (0.2, 0.3, 0.5)}, "mu1 was given without mu2"),
        ("copg", {"mu2": (0.2, 0.3, 0.5)}, "mu2 was given without mu1"),
    ],
)
def test_value_out_of_range_is_refused_naming_the_field(name, config, message):
    with pytest.raises(ValueError, match=f"{name}: {message}"):
        quadgym.make_algo(name, "CoPGBandit-v0", **config)


@pytest.mark.parametrize("name", PLUGINS)
def test_every_config_field_has_a_doc_and_the_budget_is_in_epochs(name):
    cls = get_algo_class(name)
    assert issubclass(cls, ContrastiveAlgorithm)
    assert cls.budget_unit is BudgetUnit.EPOCHS
    rows = cls.Config.describe()
    assert {"seed", "beta", "lr", "batch_size", "schedule", "horizon", "data"} <= {
        r[0] for r in rows
    }
    for field, _type, _default, doc in rows:
        assert doc.strip(), f"{name}.{field} has no doc"


def test_cli_words_parse_by_type_and_data_is_not_a_cli_or_saved_field(tmp_path):
    config = get_algo_class("dpo_flex").Config
    parsed = config.parse_strings(["beta_minus=0.02", "schedule=none", "chosen=off", "rank=3"])
    assert parsed == {"beta_minus": 0.02, "schedule": None, "chosen": "off", "rank": 3}
    with pytest.raises(ValueError, match="unknown key 'data'"):
        config.parse_strings(["data={}"])
    env = quadgym.make_algo("copg", "CoPGBandit-v0", **SMALL).task
    data = env.sample_pairs([0.2, 0.3, 0.5], [0.5, 0.3, 0.2], 32, seed=3)
    algo = quadgym.make_algo("copg", "CoPGBandit-v0", data=data)
    assert len(algo.data["y"]) == 32
    algo.save(tmp_path / "ckpt")
    saved = torch.load(tmp_path / "ckpt", weights_only=False)["config"]
    assert "data" not in saved and "seed" in saved


def test_a_dataset_without_its_arrays_is_refused():
    with pytest.raises(ValueError, match="the dataset lacks r, r2"):
        quadgym.make_algo(
            "copg",
            "CoPGBandit-v0",
            data={"prompt": [0], "y": [0], "y2": [1], "first_preferred": [1]},
        )


def test_env_defaults_fill_the_none_settings():
    bandit = quadgym.make_algo("copg", "CoPGBandit-v0", **SMALL)
    assert (bandit.beta, bandit.lr, bandit.batch_size, bandit.schedule) == (
        bandit.task.beta,
        0.01,
        512,
        "cosine",
    )
    assert bandit.config.lr is None  # the config keeps what was asked
    seq = quadgym.make_algo("ipo", "CoPGSequence-v0", hidden=8, **SMALL)
    assert seq.policy.net[0].out_features == 8
    toy = quadgym.make_algo("dpo", "PreferenceToy-v0", pairs_per_prompt=4)
    assert (toy.beta, toy.lr, toy.batch_size, toy.schedule) == (0.1, 1e-3, 64, "constant")
    flex = quadgym.make_algo("dpo_flex", "CoPGBandit-v0", beta=0.3, beta_minus=0.1, **SMALL)
    assert (flex.beta_plus, flex.beta_minus) == (0.3, 0.1)


def test_records_are_positioned_by_epochs_done_across_calls_and_a_reload(tmp_path):
    algo = quadgym.make_algo("copg", "CoPGBandit-v0", **SMALL)
    first, second = algo.learn(2), algo.learn(3)
    assert [r[POSITION] for r in first + second] == [1, 2, 3, 4, 5]
    assert all(r[POSITION] == r["epoch"] for r in first + second)
    assert algo.progress == algo.epochs_done == 5
    algo.save(tmp_path / "ckpt")
    fresh = quadgym.make_algo("copg", "CoPGBandit-v0", seed=3, **SMALL)
    fresh.load(tmp_path / "ckpt")
    assert fresh.progress == 5
    assert [r[POSITION] for r in fresh.learn(2)] == [6, 7]


@pytest.mark.parametrize("name", ["copg", "pg"])
def test_a_resumed_cosine_run_is_bit_identical_to_an_uninterrupted_one(name, tmp_path):
    config = {"horizon": 6, "lr": 0.05, **SMALL}
    whole = quadgym.make_algo(name, "CoPGBandit-v0", **config)
    expected = whole.learn(6)
    part = quadgym.make_algo(name, "CoPGBandit-v0", **config)
    got = part.learn(4)
    part.save(tmp_path / "ckpt")
    resumed = quadgym.make_algo(name, "CoPGBandit-v0", **config)  # the same dataset
    resumed.load(tmp_path / "ckpt")
    got += resumed.learn(2)
    assert got == expected
    assert resumed.optimizer.param_groups[0]["lr"] == 0.0  # the cosine reached 0 at the horizon
    torch.testing.assert_close(resumed.policy.logits, whole.policy.logits, rtol=0, atol=0)


def test_without_a_horizon_each_learn_call_decays_to_its_own_end():
    algo = quadgym.make_algo("copg", "CoPGBandit-v0", lr=0.1, **SMALL)
    lrs = []
    algo.learn(2, callback=lambda r: lrs.append(algo.optimizer.param_groups[0]["lr"]))
    # the second call's horizon is epoch 6: its first epoch runs at ½(1 + cos(π·2/6))·lr
    seen = []
    algo.optimizer.step = _spy(algo.optimizer.step, algo.optimizer, seen)
    algo.learn(4)
    assert lrs[-1] == 0.0
    assert seen[0] == pytest.approx(0.1 * 0.5 * (1 + np.cos(np.pi * 2 / 6)))
    assert seen[-1] == pytest.approx(0.1 * 0.5 * (1 + np.cos(np.pi * 5 / 6)))


def _spy(step, optimizer, seen):
    def wrapped(*args, **kwargs):
        seen.append(optimizer.param_groups[0]["lr"])
        return step(*args, **kwargs)

    return wrapped


@pytest.mark.parametrize(
    "name, env_id, missing",
    [
        ("copg", "QuadHover-v0", "EnumerableOutcomes"),
        ("rloo", "PreferenceToy-v0", "EnumerableOutcomes"),
        ("pg", "PreferenceToy-v0", "EnumerableOutcomes"),
        ("dpo", "QuadHover-v0", "EnumerableOutcomes .* or PromptedPreferences"),
    ],
)
def test_an_env_without_the_capability_is_refused_naming_it(name, env_id, missing):
    """Built directly (make_algo refuses these ids earlier, by supported_envs)."""
    with pytest.raises(ValueError, match=f"'{name}' needs an env with {missing}"):
        get_algo_class(name)(env_id)
    with pytest.raises(ValueError, match="does not support environment"):
        quadgym.make_algo(name, env_id)


def test_the_problem_is_chosen_by_capability():
    kinds = {
        env_id: type(quadgym.make_algo("ipo", env_id, pairs_per_prompt=4, **SMALL).problem).__name__
        for env_id in ("CoPGBandit-v0", "CoPGSequence-v0", "PreferenceToy-v0")
    }
    assert kinds == {
        "CoPGBandit-v0": "EnumerableProblem",
        "CoPGSequence-v0": "TokenProblem",
        "PreferenceToy-v0": "PromptedProblem",
    }


@pytest.mark.parametrize(
    "old, new",
    [
        ("quadgym.agents.contrastive", "quadgym.agents.preference.plugins"),
        ("quadgym.agents.contrastive_config", "quadgym.agents.preference.config"),
        ("quadgym.agents.preference_losses", "quadgym.agents.preference.losses"),
        ("quadgym.agents.preference_problems", "quadgym.agents.preference.problems"),
        ("quadgym.agents.prefnets", "quadgym.agents.preference.nets"),
    ],
)
def test_the_old_import_paths_give_the_moved_modules(old, new):
    """Issue 30: the preference family moved to quadgym.agents.preference; the old names
    answer with the same module objects and a warning naming the new path."""
    import importlib
    import sys

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
