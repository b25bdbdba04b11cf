import gymnasium as gym
import numpy as np
import pytest

import quadgym
from quadgym.agents.model_based.pid import PIDAgent


def test_envs_are_registered():
    assert "QuadHover-v0" in quadgym.list_envs()
    assert all(i in gym.registry for i in quadgym.list_envs())


def test_pid_plugin_is_found_through_entry_points():
    assert "pid" in quadgym.list_algos()
    assert isinstance(quadgym.make_algo("pid", "QuadHover-v0"), PIDAgent)


def test_unknown_names_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown algorithm 'a3c'; installed: .*pid"):
        quadgym.make_algo("a3c", "QuadHover-v0")
    with pytest.raises(ValueError, match="unknown environment 'Nope-v0'; .*QuadHover-v0"):
        quadgym.make_algo("pid", "Nope-v0")


def test_pid_agent_hovers_from_rpm_observations(tmp_path):
    env = gym.make("QuadHover-v0")
    agent = quadgym.make_algo("pid", env)
    obs, _ = env.reset(seed=0)
    agent.reset()
    for _ in range(240):
        obs, _, term, trunc, info = env.step(agent.act(obs))
        assert not term
    assert info["position_error"] < 0.05
    agent.save(tmp_path / "pid.json")
    agent.load(tmp_path / "pid.json")
    (tmp_path / "other.json").write_text('{"algo": "ppo"}')
    with pytest.raises(ValueError, match="checkpoint of 'ppo', not of 'pid'"):
        agent.load(tmp_path / "other.json")
    assert np.asarray(agent.act(obs)).shape == (4,)


@pytest.mark.parametrize("env_id", quadgym.list_envs())
def test_every_id_is_also_registered_in_the_quadgym_namespace(env_id):
    full, alias = gym.spec(f"quadgym/{env_id}"), gym.spec(env_id)
    assert full.namespace == "quadgym" and full.name == alias.name
    assert (full.entry_point, full.kwargs) == (alias.entry_point, alias.kwargs)
    assert quadgym.registry.base_id(full.id) == env_id


def test_a_namespaced_env_is_the_same_episode_and_plugins_take_it():
    a, b = gym.make("quadgym/QuadHover-v0"), gym.make("QuadHover-v0")
    oa, _ = a.reset(seed=3)
    ob, _ = b.reset(seed=3)
    np.testing.assert_array_equal(oa, ob)
    action = np.full(4, 0.1, dtype=np.float32)
    np.testing.assert_array_equal(a.step(action)[0], b.step(action)[0])
    pid = quadgym.make_algo("pid", a)
    assert np.all(np.isfinite(pid.act(oa)))
    assert quadgym.make_algo("pid", "quadgym/QuadTrack-v0").env.spec.id == "QuadTrack-v0"
    a.close()
    b.close()
