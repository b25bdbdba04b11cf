"""The team tasks (quad_swap_v0, quad_reform_v0, quad_leader_v0): PettingZoo's own tests
and each goal rule against hand-computed points."""

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test

import quadgym
from quadgym.envs import quad_leader_v0, quad_reform_v0, quad_swap_v0
from quadgym.envs.quad.tasks.base import formation_points
from quadgym.registry import make_parallel_env

MODULES = {"quad_swap_v0": quad_swap_v0, "quad_reform_v0": quad_reform_v0}
MODULES["quad_leader_v0"] = quad_leader_v0
QUIET = {"start_xy_noise": 0.0, "start_yaw_noise": 0.0}


def hold(env):
    """``pid`` actions that ask each drone for its own current goal."""
    return {a: np.zeros(3, dtype=np.float32) for a in env.agents}


@pytest.mark.parametrize("name", list(MODULES))
def test_pettingzoo_api_and_seed_tests(name):
    module = MODULES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parallel_api_test(module.parallel_env(num_drones=3), num_cycles=100)
        parallel_seed_test(lambda: module.parallel_env(num_drones=3))
        api_test(module.env(num_drones=3), num_cycles=30)
    env = quadgym.registry.make_parallel_env(name, num_drones=2)
    assert env.metadata["name"] == name == module.metadata["name"]


def test_swap_starts_in_the_air_and_aims_at_the_mirror_point():
    env = quad_swap_v0.parallel_env(
        num_drones=4, formation="line", spacing=0.5, action_type="pid", **QUIET
    )
    env.reset(seed=0)
    line = formation_points("line", 4, 0.5, 1.0)
    np.testing.assert_allclose(env.world.get_state().pos, line, atol=1e-12)
    np.testing.assert_allclose(env._goal, line[::-1])
    obs, *_ = env.step(hold(env))
    pos = env.world.get_state().pos
    np.testing.assert_allclose(obs["drone_0"][:3], line[3] - pos[0], atol=1e-6)


def test_reform_changes_goals_at_the_given_second():
    """A 0.5 m grid until 1 s, then a 1 m grid around the same centre (every drone moves
    straight outwards: no path crosses another)."""
    env = quad_reform_v0.parallel_env(
        num_drones=4,
        action_type="pid",
        formation2="grid",
        spacing2=1.0,
        at=1.0,
        **QUIET,
    )
    env.reset(seed=0)
    grid = env.target.copy()
    wide = np.array([[-0.5, -0.5, 1.0], [0.5, -0.5, 1.0], [-0.5, 0.5, 1.0], [0.5, 0.5, 1.0]])
    np.testing.assert_allclose(grid[:, :2], wide[:, :2] / 2)  # centred on the origin
    for step in range(1, 60):
        env.step(hold(env))
        want = grid if step < 30 else wide
        np.testing.assert_allclose(env._goal, want, atol=1e-12, err_msg=str(step))
    np.testing.assert_allclose(env.world.get_state().pos, wide, atol=0.1)


def test_leader_follows_the_reference_and_the_others_follow_the_leader():
    """The leader's goal is QuadTrack-v0's circle around its point; a follower's is the
    leader's actual position plus its formation offset; it sees the leader's
    reference ahead, shifted by that offset."""
    env = quad_leader_v0.parallel_env(
        num_drones=3, formation="line", spacing=0.5, lookahead=1, lookahead_dt=0.5, **QUIET
    )
    obs, _ = env.reset(seed=0)
    pts = env.target
    centre = pts[0] - [0.5, 0.0, 0.0]  # the circle (radius 0.5) starts at the leader's point
    np.testing.assert_allclose(env.world.get_state().pos, pts, atol=1e-12)
    for _ in range(15):
        obs, *_ = env.step({a: np.zeros(4, dtype=np.float32) for a in env.agents})
    s = env.world.get_state()
    theta = 2 * math.pi * 0.5 / 8.0  # 15 steps = 0.5 s
    circle = 0.5 * np.array([math.cos(theta), math.sin(theta), 0.0])
    np.testing.assert_allclose(env._goal[0], centre + circle)
    np.testing.assert_allclose(env._goal[1:], s.pos[:1] + (pts[1:] - pts[0]), atol=1e-12)
    ahead = 2 * math.pi * 1.0 / 8.0
    leader_ahead = centre + 0.5 * np.array([math.cos(ahead), math.sin(ahead), 0])
    own = 18 + 4
    want = leader_ahead + (pts[2] - pts[0]) - s.pos[2]
    np.testing.assert_allclose(obs["drone_2"][own : own + 3], want, atol=1e-5)


@pytest.mark.parametrize("task", ["swap", "reform", "leader"])
def test_team_tasks_need_two_drones_in_one_world(task):
    with pytest.raises(ValueError, match=f"task '{task}' needs at least 2 drones"):
        gym.make_vec("QuadHover-v0", num_envs=4, task=task)
    with pytest.raises(ValueError, match="needs at least 2 drones"):
        quadgym.registry.make_parallel_env(f"quad_{task}_v0", num_drones=1)


@pytest.mark.parametrize("name", ["quad_swarm_v0", *MODULES])
def test_pettingzoos_sb3_tutorial_path_trains_on_every_multi_agent_env(name):
    """PettingZoo's SB3 tutorial, verbatim: SuperSuit's pettingzoo_env_to_vec_env_v1 and
    concat_vec_envs_v1 into SB3's PPO. It needs a constant number of live agents (the
    team episode ends together) and envs that survive pickling (rebuilt from their
    arguments). Before, it failed with SuperSuit's 'varying numbers of active agents'."""
    import supersuit as ss
    from stable_baselines3 import PPO

    env = quadgym.registry.make_parallel_env(name, num_drones=3)
    vec = ss.pettingzoo_env_to_vec_env_v1(env)
    vec = ss.concat_vec_envs_v1(vec, 2, num_cpus=0, base_class="stable_baselines3")
    assert vec.num_envs == 6
    model = PPO("MlpPolicy", vec, n_steps=32, batch_size=96, n_epochs=1, verbose=0)
    model.learn(600)  # more than one episode: random actions crash within ~1 s
    assert model.num_timesteps >= 600
    vec.close()


def test_a_pickled_swarm_is_a_fresh_swarm_of_the_same_arguments():
    import pickle

    env = quad_swap_v0.parallel_env(num_drones=3, spacing=0.7, action_type="pid")
    env.reset(seed=0)
    copy = pickle.loads(pickle.dumps(env))
    assert copy.config == env.config and copy.swarm_config == env.swarm_config
    assert copy.world.client != env.world.client
    obs, _ = copy.reset(seed=0)
    np.testing.assert_array_equal(obs["drone_1"], env.reset(seed=0)[0]["drone_1"])
    env.close()
    copy.step(hold(copy))  # the copy's world is its own: closing the original leaves it


def test_team_summary_by_hand():
    """summarize_team over per-agent infos: the worst last distance, any crash or
    collision, effort per drone (a drone hovering for 1 s scores 4)."""
    env = make_parallel_env("quad_swap_v0", num_drones=2)
    task, hover = env.task, env.task.model.hover_rpm
    calm = {"crashed": False, "collided": False, "rpm": [hover] * 4}
    steps = [
        {"drone_0": {**calm, "position_error": 0.3}, "drone_1": {**calm, "position_error": 0.2}},
        {"drone_0": {**calm, "position_error": 0.05}, "drone_1": {**calm, "position_error": 0.08}},
    ]
    out = task.summarize_team(steps)
    assert out["completed"] == 1.0 and out["max_final_error"] == pytest.approx(0.08)
    assert out["seconds"] == pytest.approx(2 / 30) and out["effort"] == pytest.approx(4 * 2 / 30)
    steps[1]["drone_1"] = {**calm, "position_error": 0.01, "collided": True}
    out = task.summarize_team(steps)
    assert out["completed"] == 0.0 and out["collided"] == 1.0 and out["crashed"] == 0.0
    # a drone that ended a step earlier is judged by its own last step
    steps[1] = {"drone_0": {**calm, "position_error": 0.05}}
    assert task.summarize_team(steps)["max_final_error"] == pytest.approx(0.2)
    env.close()


@pytest.mark.parametrize("action_type", ["rpm", "pid"])
def test_the_pid_plugin_swaps_by_layers_and_collides_without_them(action_type, monkeypatch):
    """One agent for the whole team: the pid plugin flies every drone of quad_swap_v0 on
    its own observation (dicts in and out); its planner's height layers get the four
    drones across (each within 0.10 m of its mirror point, no collision). Without them
    every path crosses the centre at one height and the drones collide."""
    from quadgym.agents.model_based.base import ModelBasedAgent
    from quadgym.evaluation import score

    env = make_parallel_env("quad_swap_v0", action_type=action_type)
    agent = quadgym.make_algo("pid", env)
    (episode,) = score(env, agent, [1000])
    assert episode.metrics["completed"] == 1.0, episode.metrics
    assert episode.path.shape == (240, 4, 3)
    monkeypatch.setattr(ModelBasedAgent, "SWAP_LAYER", 0.0)
    (episode,) = score(env, agent, [1000])
    assert episode.metrics["collided"] == 1.0, episode.metrics
    env.close()
