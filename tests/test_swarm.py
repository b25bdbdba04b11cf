"""quad_swarm_v0: PettingZoo's own tests, per-agent rewards, collisions, bad input.

(The multi-agent training of issue #3 is not here yet.)
"""

import warnings

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

import quadgym
from quadgym.envs import quad_swarm_v0


@pytest.mark.parametrize("n", [1, 4, 16])
def test_pettingzoo_api_and_seed_tests(n):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(quad_swarm_v0.parallel_env(num_drones=n), num_cycles=200)
        parallel_seed_test(lambda: quad_swarm_v0.parallel_env(num_drones=n))
        api_test(quad_swarm_v0.env(num_drones=n), num_cycles=50)


def test_registry_and_module_convention():
    assert "quad_swarm_v0" in quadgym.registry.list_parallel_envs()
    env = quadgym.registry.make_parallel_env("quad_swarm_v0", num_drones=3)
    assert env.metadata["name"] == "quad_swarm_v0" and env.metadata["is_parallelizable"]
    assert env.possible_agents == ["drone_0", "drone_1", "drone_2"]
    with pytest.raises(ValueError, match="unknown parallel environment 'swarm'"):
        quadgym.registry.make_parallel_env("swarm")


def hover_actions(env, push=None):
    """PID set-points: every drone holds its target; ``push`` is sent 1 m off along y."""
    acts = {a: np.zeros(3, dtype=np.float32) for a in env.agents}
    if push:
        acts[push] = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    return acts


def test_rewards_are_per_agent():
    """Moving drone_1 off its target lowers its reward and nobody else's."""
    results = []
    for push in (None, "drone_1"):
        env = quad_swarm_v0.parallel_env(
            num_drones=4, formation="line", spacing=1.0, action_type="pid"
        )
        env.reset(seed=0)
        for k in range(120):  # 3 s to take off and settle, then 1 s of push
            _, rew, *_ = env.step(hover_actions(env, push if k >= 90 else None))
        results.append(rew)
    base, pushed = results
    assert base["drone_1"] > 0.95
    assert pushed["drone_1"] < base["drone_1"] - 0.1
    for other in ("drone_0", "drone_2", "drone_3"):
        assert pushed[other] == pytest.approx(base[other], abs=1e-12)


def test_collision_ends_both_agents_deterministically():
    def run():
        env = quad_swarm_v0.parallel_env(
            num_drones=2, formation="line", spacing=0.3, action_type="pid", start_xy_noise=0.0
        )
        env.reset(seed=0)
        towards = {
            "drone_0": np.array([1, 0, 0], dtype=np.float32),
            "drone_1": np.array([-1, 0, 0], dtype=np.float32),
        }
        for k in range(120):
            _, _, term, _, info = env.step({a: towards[a] for a in env.agents})
            if any(term.values()):
                return k, term, info, list(env.agents)
        return None

    first, second = run(), run()
    assert first is not None and first[0] == second[0]
    k, term, info, agents = first
    assert term == {"drone_0": True, "drone_1": True}
    assert info["drone_0"]["collided"] and info["drone_1"]["collided"]
    assert agents == []


def test_bad_input():
    env = quad_swarm_v0.parallel_env(num_drones=3, action_type="pid")
    env.reset(seed=0)
    acts = hover_actions(env)
    with pytest.raises(ValueError, match=r"no action for live agent\(s\) \['drone_2'\]"):
        env.step({a: v for a, v in acts.items() if a != "drone_2"})
    with pytest.raises(ValueError, match="not live"):
        env.step({**acts, "drone_7": np.zeros(3)})
    bad = dict(acts)
    bad["drone_1"] = np.array([0, np.nan, 0])
    with pytest.raises(ValueError, match="action of drone_1 holds non-finite"):
        env.step(bad)
    with pytest.raises(ValueError, match=r"formation array must be finite with shape \(3, 3\)"):
        quad_swarm_v0.parallel_env(num_drones=3, formation=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="unknown formation 'star'"):
        quad_swarm_v0.parallel_env(num_drones=3, formation="star")
