"""The plugin protocol through scripts/train.py, for every registered plugin: records are
positioned by the budget they consumed, in two chunks and across a resume; configs are
typed and checked before anything is built or written."""

import csv
import json
from pathlib import Path

import pytest
from scriptload import load_script

import quadgym
from quadgym.agents.base import POSITION, BudgetUnit
from quadgym.registry import get_algo_class

ROOT = Path(__file__).resolve().parents[1]
train_script = load_script("train")

TINY_PPO = ["n_envs=1", "n_steps=32", "batch_size=32", "n_epochs=1"]
TINY_OFF = ["learning_starts=16", "batch_size=16", "buffer_size=1000"]
TINY_DISTILL = ["env_kwargs={'budget': 10, 'batch_size': 8}"]
TINY_SEQ = ["d_model=16", "layers=1", "heads=2", "batch_size=8"]

#: plugin -> (env, config words, total budget): small runs that cross a chunk boundary
CASES = {
    "pid": ("QuadHover-v0", [], 40),
    "lqr": ("QuadHover-v0", [], 40),
    "ppo": ("QuadHover-v0", TINY_PPO, 128),
    "sac": ("QuadHover-v0", TINY_OFF, 64),
    "td3": ("QuadHover-v0", TINY_OFF, 64),
    "ppo_shared": (
        "quad_swarm_v0",
        ["num_drones=2", "n_swarms=1", "n_steps=16", "batch_size=32", "n_epochs=1"],
        128,
    ),
    "copg": ("CoPGBandit-v0", ["n_pairs=64"], 6),
    "ipo": ("CoPGBandit-v0", ["n_pairs=64"], 6),
    "dpo": ("CoPGBandit-v0", ["n_pairs=64"], 6),
    "pg": ("CoPGBandit-v0", ["n_pairs=64"], 6),
    "rloo": ("CoPGBandit-v0", ["n_pairs=64"], 6),
    "dpo_flex": ("PreferenceToy-v0", ["pairs_per_prompt=4"], 6),
    "dpo_sft": ("PreferenceToy-v0", ["pairs_per_prompt=4"], 6),
    "slic": ("PreferenceToy-v0", ["pairs_per_prompt=4"], 6),
    "kd": ("HardShift-v0", TINY_DISTILL, 24),
    "kd_noise": ("HardShift-v0", TINY_DISTILL, 24),
    "kd_random_shift": ("HardShift-v0", TINY_DISTILL, 24),
    "hard": ("HardShift-v0", TINY_DISTILL, 24),
    "hard_grad": ("HardShift-v0", TINY_DISTILL, 24),
    "hard_warp": ("HardShift-v0", TINY_DISTILL, 24),
    "gpt": ("ToyCoding-v0", TINY_SEQ, 6),
    "ftp": ("ToyCoding-v0", [*TINY_SEQ, "d_decoder=16"], 6),
}
#: plugins that make no record per unit of budget: SB3's report at the end of a rollout
#: in which episodes finished, the PID and the LQR learn nothing
SPARSE = {"pid", "lqr", "ppo", "sac", "td3", "ppo_shared"}


def run(*args) -> int:
    return train_script.main([str(a) for a in args])


def positions(out: Path) -> list[int]:
    path = out / "metrics.csv"
    if not path.exists():
        return []
    with open(path) as f:
        return [int(r[POSITION]) for r in csv.DictReader(f)]


def test_every_registered_plugin_has_a_case():
    assert sorted(CASES) == quadgym.list_algos()


@pytest.mark.parametrize("name", sorted(CASES))
def test_records_are_positioned_by_the_budget_consumed(name, tmp_path):
    env, config, total = CASES[name]
    cls = get_algo_class(name)
    assert isinstance(cls.budget_unit, BudgetUnit)
    chunked, resumed = tmp_path / "chunked", tmp_path / "resumed"
    common = ["--env", env, "--algo", name, "--steps", total, "--checkpoint-every", total // 2]
    assert run(*common, "--out", chunked, "--config", *config) == 0
    assert run(*common, "--out", resumed, "--stop-after", total // 2, "--config", *config) == 0
    half = json.loads((resumed / "state.json").read_text())["done"]
    assert half >= total // 2
    assert all(p <= half for p in positions(resumed))
    assert run("--resume", resumed) == 0

    for out in (chunked, resumed):
        state = json.loads((out / "state.json").read_text())
        steps = positions(out)
        assert steps == sorted(set(steps)), f"{name}: positions not strictly increasing: {steps}"
        assert state["done"] >= total
        assert not steps or steps[-1] <= state["done"]
        algo = quadgym.make_algo(name, env, **state["config"])
        algo.load(out / "checkpoint.bin")
        assert algo.progress == state["done"], "state.json and the checkpoint disagree"
        if name not in SPARSE:
            assert steps == list(range(1, total + 1)), f"{name}: {steps}"
    if name not in SPARSE:
        assert positions(chunked) == positions(resumed)


@pytest.mark.parametrize(
    "name, words, message",
    [
        ("copg", ["bta=0.1"], "unknown key 'bta'; did you mean 'beta'?"),
        ("dpo_flex", ["beta_pls=0.1"], "did you mean 'beta_plus'?"),
        ("ipo", ["beta=abc"], "beta must be float"),
        ("copg", ["beta=nan"], "beta must be a finite number"),
        ("copg", ["lr=-1"], "lr must be > 0"),
        ("pg", ["baseline=mean"], "baseline must be one of 'none', 'value'"),
        ("ppo", ["n_step=3"], "did you mean 'n_steps'?"),
        ("ppo", ["normalize=maybe"], "normalize must be true or false"),
        ("gpt", ["corpus_size=1.5"], "corpus_size must be"),
        ("kd", ["noise_std=0.5"], "unknown key 'noise_std'"),
    ],
)
def test_bad_config_is_refused_naming_the_field_and_writes_nothing(
    name, words, message, tmp_path, capsys
):
    env = CASES[name][0]
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        run("--env", env, "--algo", name, "--steps", 4, "--out", out, "--config", *words)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    "words, expected",
    [
        (["schedule=constant", "horizon=none"], {"schedule": "constant", "horizon": None}),
        (["mu1=0.2,0.3,0.5", "mu2=[0.1, 0.1, 0.8]"], {"mu1": (0.2, 0.3, 0.5)}),
    ],
)
def test_config_words_parse_by_type(words, expected):
    parsed = get_algo_class("copg").Config.parse_strings(words)
    for key, value in expected.items():
        assert parsed[key] == value


def test_ppo_bool_and_dict_words_parse():
    parsed = get_algo_class("ppo").Config.parse_strings(
        ["normalize=false", "policy_kwargs={'net_arch': [32, 32]}"]
    )
    assert parsed == {"normalize": False, "policy_kwargs": {"net_arch": [32, 32]}}


def test_resume_refuses_arguments_that_would_change_the_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert run("--env", "CoPGBandit-v0", "--algo", "copg", "--steps", 2, "--out", out) == 0
    with pytest.raises(SystemExit):
        run("--resume", out, "--seed", 5, "--config", "lr=0.5")
    err = capsys.readouterr().err
    assert "--seed" in err and "--config" in err


def test_every_config_field_is_documented():
    for name in quadgym.list_algos():
        for field, _type, _default, doc in get_algo_class(name).Config.describe():
            assert doc.strip(), f"{name}.{field} has no doc"
        assert name in quadgym.describe_algo(name)


def test_a_users_own_env_qualifies_by_its_capabilities():
    """An env quadgym does not register trains with any plugin whose protocols it meets,
    and is refused, naming the protocol and what it lacks, by the others."""
    from quadgym.envs.bandit import CoPGBanditEnv

    class MyBandit(CoPGBanditEnv):  # unregistered: no spec, same members
        pass

    algo = quadgym.make_algo("copg", MyBandit(rewards=(1.0, 0.0)), n_pairs=64)
    assert algo.learn(2)[-1][POSITION] == 2
    with pytest.raises(
        ValueError, match="needs an env with ProgramCorpus.*MyBandit lacks ProgramCorpus: task"
    ):
        quadgym.make_algo("gpt", MyBandit())
    with pytest.raises(ValueError, match="does not support environment 'CoPGBandit-v0'"):
        quadgym.make_algo("gpt", "CoPGBandit-v0")  # quadgym's own envs: by id, with the list
