"""RLlib on the swarm (quadgym.rllib): the wrapper's episode ends, a training iteration, a
checkpoint restored, and the greedy controller of a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ray.rllib")

from scriptload import SCRIPTS, load_script  # noqa: E402

from quadgym.registry import make_parallel_env  # noqa: E402
from quadgym.rllib import (  # noqa: E402
    POLICIES,
    SHARED,
    QuadParallelEnv,
    RLlibController,
    policy_of,
    ppo_config,
)


class Ended:
    """A PettingZoo env stand-in whose step ends the team's episode with given flags."""

    def __init__(self, terminated: dict, truncated: dict):
        self.possible_agents = ["drone_0", "drone_1"]
        self.agents = list(self.possible_agents)
        self.flags = terminated, truncated

    def observation_space(self, agent):
        import gymnasium as gym

        return gym.spaces.Box(-1.0, 1.0, (1,))

    action_space = observation_space

    def step(self, actions):
        self.agents = []
        zeros = {a: 0.0 for a in actions}
        return dict(zeros), dict(zeros), dict(self.flags[0]), dict(self.flags[1]), {}


@pytest.mark.parametrize(
    ("terminated", "truncated", "ends_by"),
    [
        ({"drone_0": True, "drone_1": False}, {"drone_0": False, "drone_1": True}, "truncated"),
        ({"drone_0": True, "drone_1": True}, {"drone_0": False, "drone_1": False}, "terminated"),
        ({"drone_0": False, "drone_1": False}, {"drone_0": True, "drone_1": True}, "truncated"),
    ],
)
def test_every_finished_team_episode_sets_an_all_flag(terminated, truncated, ends_by):
    """A crash ends the team (end_together): the crashed drone is terminated, the others
    truncated. RLlib's own wrapper sets neither __all__ then and steps a finished env."""
    env = QuadParallelEnv(Ended(terminated, truncated))
    _, _, term, trunc, _ = env.step({0: 0, 1: 0})
    assert term["__all__"] == (ends_by == "terminated")
    assert trunc["__all__"] == (ends_by == "truncated")
    assert term[0] == terminated["drone_0"]  # per-agent flags untouched, by agent number


@pytest.mark.parametrize(
    ("terminated", "truncated", "cut_off"),
    [
        # drone_0 crashed: drone_1 was cut off by it and its value must be bootstrapped
        ({"drone_0": True, "drone_1": False}, {"drone_0": False, "drone_1": True}, ["drone_1"]),
        # the clock ran out: both cut off
        (
            {"drone_0": False, "drone_1": False},
            {"drone_0": True, "drone_1": True},
            ["drone_0", "drone_1"],
        ),
        # both crashed: neither is bootstrapped
        ({"drone_0": True, "drone_1": True}, {"drone_0": False, "drone_1": False}, []),
    ],
)
def test_rllib_episodes_terminate_only_the_drones_that_ended_themselves(
    terminated, truncated, cut_off
):
    """What GAE reads: RLlib's MultiAgentEpisode fed the wrapper's flags. Ray 2.60 marks every
    agent terminated once all have a flag, so with the env's own flags a time-out or a
    teammate's crash zeroes each drone's value (the per-agent flags here are RLlib's)."""
    from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

    env = QuadParallelEnv(Ended(terminated, truncated))
    episode = MultiAgentEpisode()
    episode.add_env_reset(observations={0: 0.0, 1: 0.0}, infos={})
    obs, rewards, term, trunc, _ = env.step({0: 0, 1: 0})
    episode.add_env_step(
        observations=obs,
        actions={0: 0, 1: 0},
        rewards=rewards,
        infos={},
        terminateds=term,
        truncateds=trunc,
    )
    assert episode.is_done
    for agent, single in episode.agent_episodes.items():
        assert single.is_terminated == (f"drone_{agent}" not in cut_off), agent
        assert single.is_done


def test_bad_rllib_arguments_are_refused_before_building():
    with pytest.raises(ValueError, match="policies must be one of"):
        ppo_config(policies="each")
    with pytest.raises(ValueError, match="need num_drones >= 1"):
        ppo_config(num_drones=0)
    with pytest.raises(ValueError, match="envs_per_runner >= 1; got 4, 0, 2048, 0"):
        ppo_config(envs_per_runner=0)
    with pytest.raises(ValueError, match="unknown env 'QuadSwim-v0'"):
        ppo_config("QuadSwim-v0")


@pytest.mark.parametrize(
    ("env_kwargs", "message"),
    [
        ("{'physiks': 'pyb'}", "did you mean 'physics'?"),
        ("{'physics': 'warp'}", "unknown physics mode 'warp'"),
    ],
)
def test_train_rllibs_env_kwargs_are_checked_before_ray_starts(
    env_kwargs, message, tmp_path, capsys
):
    """--env-kwargs build the training env once and close it: a misspelt keyword is a
    usage error naming the closest one, not a failure inside a Ray env runner."""
    import ray

    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        load_script("train_rllib").main(["--env-kwargs", env_kwargs, "--out", str(out)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not ray.is_initialized() and not out.exists()


def module_states(algo, policies: str) -> dict:
    """A copy of each module's weights (by policy id)."""
    ids = ["shared"] if policies == "shared" else ["drone_0", "drone_1"]
    return {pid: {k: v.copy() for k, v in algo.get_module(pid).get_state().items()} for pid in ids}


def same_weights(a: dict, b: dict) -> bool:
    return all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


def test_train_rllibs_threads_are_refused_by_name_before_ray_starts(tmp_path, capsys):
    import ray

    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        load_script("train_rllib").main(["--threads", "0", "--out", str(out)])
    assert exit_info.value.code == 2
    assert "threads must be >= 1, got 0" in capsys.readouterr().err
    assert not ray.is_initialized() and not out.exists()


@pytest.mark.ray
@pytest.mark.slow  # Ray's start, RLlib builds, iterations and a restore: ~30-60 s
@pytest.mark.parametrize(("policies", "env_runners"), [("shared", 0), ("per_agent", 1)])
def test_an_iteration_on_the_swarm_then_a_restored_checkpoint(
    policies, env_runners, tmp_path, ray_alone
):
    """One iteration, saved, restored to the same weights, trained on. The per-agent case
    samples in a remote env runner (the path of --env-runners N). Sampling in the driver,
    a second build with the same seed trains to the same weights in this process (with two
    or more remote runners it does not: RLlib takes their samples in the order they finish;
    across processes: test_the_same_seed_trains_the_same_in_processes_of_any_hash_seed)."""
    import ray
    from ray.rllib.algorithms.algorithm import Algorithm

    ray.init("local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        config = ppo_config("quad_swarm_v0", 2, policies, env_runners, batch=512)
        algo = config.build_algo()
        result = algo.train()
        steps = sum(result["env_runners"]["num_agent_steps_sampled_lifetime"].values())
        assert steps >= 512
        algo.save_to_path(str(tmp_path / "ckpt"))
        before = module_states(algo, policies)
        algo.stop()
        if env_runners == 0:
            again = config.build_algo()
            again.train()
            repeated = module_states(again, policies)
            again.stop()
            assert all(same_weights(before[pid], repeated[pid]) for pid in before)
        restored = Algorithm.from_checkpoint(str(tmp_path / "ckpt"))
        after = module_states(restored, policies)
        assert all(same_weights(before[pid], after[pid]) for pid in before)
        restored.train()  # and it trains on from there
        restored.stop()
    finally:
        ray.shutdown()
    controller = RLlibController(tmp_path / "ckpt", policies)
    obs = {a: np.zeros(controller_obs_dim(controller), np.float32) for a in ("drone_0", "drone_1")}
    first, second = controller.act(obs), controller.act(obs)
    for agent in obs:
        assert first[agent].shape == (4,) and np.all(np.abs(first[agent]) <= 1.0)
        assert np.array_equal(first[agent], second[agent])  # greedy: the same action


def test_rllib_sees_numbered_drones_with_their_named_observations_and_spaces():
    """Drone i is the int i to RLlib (a string's hash, and so RLlib's order of agents,
    changes with the process's hash seed); its observation, reward and flags are the env's
    for possible_agents[i], and its action reaches that drone."""
    env = QuadParallelEnv(make_parallel_env("quad_swarm_v0", num_drones=3))
    named = make_parallel_env("quad_swarm_v0", num_drones=3)
    obs, _ = env.reset(seed=5)
    expected, _ = named.reset(seed=5)
    assert env.possible_agents == env.agents == [0, 1, 2]
    assert list(env.observation_space.spaces) == list(env.action_space.spaces) == [0, 1, 2]
    rng = np.random.default_rng(0)
    for _ in range(3):
        for i, name in enumerate(named.possible_agents):
            assert np.array_equal(obs[i], expected[name])
            assert env.observation_space[i] == named.observation_space(name)
        actions = {i: rng.uniform(-1, 1, 4).astype(np.float32) for i in range(3)}
        obs, rewards, term, trunc, _ = env.step(actions)
        expected, want, _, _, _ = named.step({f"drone_{i}": a for i, a in actions.items()})
        assert rewards == {i: want[name] for i, name in enumerate(named.possible_agents)}
        assert set(term) == set(trunc) == {0, 1, 2, "__all__"}
    env.close()
    named.close()
    per_agent = policy_of("per_agent")
    assert per_agent(2) == per_agent("drone_2") == "drone_2" and policy_of("shared")(2) == SHARED


@pytest.mark.ray
@pytest.mark.slow  # two processes, each Ray's start, an iteration and an episode: ~40 s
def test_the_same_seed_trains_the_same_in_processes_of_any_hash_seed(tmp_path, ray_alone):
    """With the env's drone names RLlib's runs followed the process's hash seed: seed 0's
    first iteration sampled 2,048 agent-steps (mean return 19.25) in one process and 2,052
    (19.62) in another, and the 4-drone formation ended 0.046-0.169 m from its places.
    Numbered drones: two processes of different hash seeds log the same iterations and fly
    the same evaluation episode."""
    import os
    import subprocess
    import sys

    runs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"hash{hash_seed}"
        argv = ["--drones", "4", "--steps", "4096", "--episodes", "1", "--out", str(out)]
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(
            [sys.executable, str(SCRIPTS / "train_rllib.py"), *argv], env=env, check=True
        )
        rows = (out / "metrics.csv").read_text().splitlines()
        logged = [row.rsplit(",", 1)[0] for row in rows]  # all but the wall clock
        runs.append((logged, (out / "replay.json").read_text()))
    assert len(runs[0][0]) == 3  # the header and two iterations
    assert runs[0] == runs[1]


@pytest.mark.ray
@pytest.mark.slow  # 400k agent-steps sampled in the driver and 20 episodes: ~6 min on one core
def test_rllib_learns_the_four_drone_formation(tmp_path, monkeypatch, ray_alone):
    """Issue 20's criterion, as scripts/train_marl.py states it for ppo_shared: after 400k
    agent-steps the shared RLlib policy brings each of 4 drones from the ground to within
    0.15 m of its place on average over 20 episodes, without a crash or a collision. Before
    the wrapper's episode-end fix the same run ended 0.2-0.3 m away. It trains without the
    downwash model (the drones of the level grid feel none: tests/test_team_downwash.py;
    computing it made a swarm step 1.7x dearer, test_swarm's training 2.3x) and is scored on
    the default env. It samples in the driver (on 2 env runners, which make a run differ from
    the first iteration, 2 of 4 runs of seed 0 ended 0.21 and 0.48 m away), so the run is the
    same in any process. Measured: the farthest drone 0.061, 0.075 and 0.035 m on seeds 0, 1
    and 2, no crash or collision, 7-9 min each beside another run. Before the
    drones were numbered, each process's hash seed gave seed 0 another run: 0.046, 0.073 and
    0.169 m (the last failed CI)."""
    argv = ["--drones", "4", "--steps", "400000", "--env-runners", "0", "--seed", "0"]
    argv += ["--env-kwargs", "{'physics': 'pyb'}"]
    replay = train_rllib(monkeypatch, tmp_path / "swarm", argv, "replay.json")
    assert len(replay["final_distance"]) == 20
    assert max(replay["mean_final_distance_per_drone"]) < 0.15, replay[
        "mean_final_distance_per_drone"
    ]
    assert replay["crashed"] == 0 and replay["collided"] == 0


def train_rllib(monkeypatch: pytest.MonkeyPatch, out, argv: list[str], written: str) -> dict:
    """Run scripts/train_rllib.py into ``out`` in this process; the JSON it wrote there."""
    import json

    monkeypatch.syspath_prepend(str(SCRIPTS))  # its sibling replay_marl
    assert load_script("train_rllib").main([*argv, "--out", str(out)]) == 0
    return json.loads((out / written).read_text())


def controller_obs_dim(controller: RLlibController) -> int:
    """The observation size the checkpoint's modules take."""
    module = next(iter(controller.modules.values()))
    return module.observation_space.shape[0]


@pytest.mark.ray
@pytest.mark.slow  # Ray's start, an RLlib build, an iteration and one evaluation episode: ~20 s
def test_train_rllib_on_quadhover_trains_and_scores_the_single_agent(
    tmp_path, monkeypatch, ray_alone
):
    """The single-agent path: QuadHover-v0 through gym.make in the env runner (its
    ENV_DEFAULTS training starts), then the checkpoint's greedy policy flown on the env a
    user builds and scored by the hover task's own metrics."""
    import gymnasium as gym

    out = tmp_path / "hover"
    argv = ["--env", "QuadHover-v0", "--steps", "512", "--batch", "512", "--episodes", "1"]
    scored = train_rllib(monkeypatch, out, argv, "evaluation.json")
    assert set(scored["mean"]) >= {"final_error", "time_to_target", "crashed"}
    assert len(scored["episodes"]) == 1

    controller = RLlibController(out / "checkpoint")
    env = gym.make("QuadHover-v0")
    obs, _ = env.reset(seed=0)
    action = controller.act(obs)
    assert action.shape == env.action_space.shape and env.action_space.contains(action)
    env.close()


@pytest.mark.parametrize("policies", POLICIES)
def test_the_config_is_ppo_shareds_and_its_policies_start_at_its_action_spread(policies):
    """The modules start with ppo_shared's log std (-1 for every action, not RLlib's 0) and a
    state-independent spread; the losses are SB3's (clip 0.2, no KL term, the value loss
    unclipped, weight 0.5), and episodes stay in list form (Ray 2.60's NumPy conversion is
    quadratic in the episodes a sample() call finishes). No Ray start: the modules are built
    from the config's spec."""
    import torch

    from quadgym.agents.sb3.config import HOVER_PPO_DEFAULTS

    config = ppo_config("quad_swarm_v0", 2, policies)
    assert (config.clip_param, config.use_kl_loss, config.vf_loss_coeff) == (0.2, False, 0.5)
    assert config.vf_clip_param == float("inf") and config.grad_clip == 0.5
    assert config.episodes_to_numpy is False
    assert config.num_envs_per_env_runner == 4  # ppo_shared's 4 swarms
    assert config.rollout_fragment_length * 4 * 2 == 2048  # 2 drones, 4 envs: 2048 samples
    # each policy's samples in 4 minibatches (ppo_shared's 2048 in 512s): 1024 per drone
    assert config.minibatch_size == (512 if policies == "shared" else 256)
    env = QuadParallelEnv(make_parallel_env("quad_swarm_v0", num_drones=2))
    modules = config.get_multi_rl_module_spec(env=env).build()
    env.close()
    ids = ["shared"] if policies == "shared" else ["drone_0", "drone_1"]
    assert sorted(modules.keys()) == ids
    obs = torch.zeros((3, modules[ids[0]].observation_space.shape[0]))
    for pid in ids:
        inputs = modules[pid].forward_inference({"obs": obs})["action_dist_inputs"]
        log_std = inputs[:, 4:]
        assert inputs.shape == (3, 8)
        expected = HOVER_PPO_DEFAULTS["policy_kwargs"]["log_std_init"]
        assert torch.all(log_std == expected) and expected == -1.0
