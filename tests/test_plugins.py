"""The plugin protocol: every supported (env, algo) pair, discovery, checkpoints."""

import subprocess
import sys
import textwrap

import gymnasium as gym
import numpy as np
import pytest

import quadgym
from quadgym.registry import get_algo_class

TINY = {  # config that makes one learn() call cheap
    "ppo": {"n_envs": 2, "n_steps": 32, "batch_size": 64, "n_epochs": 1},
    "sac": {"learning_starts": 10, "batch_size": 16, "buffer_size": 1000},
    "td3": {"learning_starts": 10, "batch_size": 16, "buffer_size": 1000},
}
BUDGET = {"ppo": 64, "sac": 20, "td3": 20}


def supported_pairs():
    pairs = []
    for name in quadgym.list_algos():
        cls = get_algo_class(name)
        for env_id in quadgym.list_envs():
            if cls.supports(env_id):
                pairs.append((env_id, name))
    return pairs


def test_every_builtin_is_listed():
    expected = {
        "pid",
        "lqr",
        "copg",
        "ipo",
        "dpo",
        "dpo_flex",
        "dpo_sft",
        "slic",
        "pg",
        "rloo",
        "ppo",
        "sac",
        "td3",
        "kd",
        "kd_noise",
        "kd_random_shift",
        "hard",
        "hard_grad",
        "gpt",
        "ftp",
    }
    assert expected <= set(quadgym.list_algos())
    assert len(supported_pairs()) >= 20


@pytest.mark.parametrize("env_id, name", supported_pairs())
def test_make_learn_act_save_load_act(env_id, name, tmp_path):
    algo = quadgym.make_algo(name, env_id, seed=0, **TINY.get(name, {}))
    history = algo.learn(BUDGET.get(name, 2))
    assert isinstance(history, list)
    env = gym.make(algo.env.spec or env_id)  # with the plugin's own env arguments
    obs, _ = env.reset(seed=0)
    before = algo.act(obs, deterministic=True)
    assert env.action_space.contains(
        np.asarray(before, dtype=env.action_space.dtype) if env.action_space.shape else before
    )
    path = tmp_path / "ckpt"
    algo.save(path)
    fresh = quadgym.make_algo(name, env_id, seed=1, **TINY.get(name, {}))
    fresh.load(path)
    np.testing.assert_array_equal(
        np.asarray(fresh.act(obs, deterministic=True)), np.asarray(before)
    )


def test_unsupported_pair_lists_what_is_supported():
    with pytest.raises(ValueError, match="'ppo' does not support .*'CoPGBandit-v0'.*QuadHover-v0"):
        quadgym.make_algo("ppo", "CoPGBandit-v0")


@pytest.mark.parametrize("name, env_id", [("copg", "CoPGBandit-v0"), ("ppo", "QuadHover-v0")])
def test_checkpoint_of_another_algo_or_env_or_broken_is_refused(name, env_id, tmp_path):
    algo = quadgym.make_algo(name, env_id, **TINY.get(name, {}))
    algo.save(tmp_path / "ok")
    data = (tmp_path / "ok").read_bytes()
    (tmp_path / "truncated").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable"):
        algo.load(tmp_path / "truncated")
    other = quadgym.make_algo(
        "ipo" if name == "copg" else "sac", env_id, **TINY.get("sac", {}) if name == "ppo" else {}
    )
    other.save(tmp_path / "other")
    with pytest.raises(ValueError, match="checkpoint of"):
        algo.load(tmp_path / "other")


def test_save_is_atomic(tmp_path, monkeypatch):
    """A failure while writing leaves the previous checkpoint intact and no temp file."""
    algo = quadgym.make_algo("copg", "CoPGBandit-v0")
    algo.save(tmp_path / "ckpt")
    good = (tmp_path / "ckpt").read_bytes()
    import quadgym.files as files

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    algo.learn(1)
    with pytest.raises(OSError, match="disk full"):
        algo.save(tmp_path / "ckpt")
    assert (tmp_path / "ckpt").read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_out_of_tree_plugin_is_discovered(tmp_path):
    """A package outside this repo adds an algorithm through the entry-point group."""
    site = tmp_path / "site"
    (site / "toyplugin").mkdir(parents=True)
    (site / "toyplugin" / "__init__.py").write_text(
        textwrap.dedent("""
        import numpy as np
        from quadgym.agents.base import Algorithm

        class Hover(Algorithm):
            name = "toy_zero"
            supported_envs = ("QuadHover-v0",)
            done = 0
            @property
            def progress(self):
                return self.done
            def _learn(self, budget, emit):
                self.done += budget
                emit({"budget": budget})
            def act(self, observation, deterministic=True):
                return np.zeros(4, dtype=np.float32)
            def save(self, path):
                open(path, "w").write("toy")
            def load(self, path):
                assert open(path).read() == "toy"
    """)
    )
    dist = site / "toyplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toyplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[quadgym.algos]\ntoy_zero = toyplugin:Hover\n")
    code = textwrap.dedent("""
        import sys, quadgym, gymnasium as gym
        assert "toy_zero" in quadgym.list_algos(), quadgym.list_algos()
        algo = quadgym.make_algo("toy_zero", "QuadHover-v0")
        env = gym.make("QuadHover-v0"); obs, _ = env.reset(seed=0)
        env.step(algo.act(obs)); print(algo.learn(3))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(site), "PATH": ""},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[{'step': 3, 'budget': 3}]" in proc.stdout
