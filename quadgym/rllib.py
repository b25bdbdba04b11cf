"""RLlib on quadgym's PettingZoo envs: the env wrapper, a PPO config, and a controller.

    from quadgym.rllib import ppo_config
    algo = ppo_config("quad_swarm_v0", num_drones=4).build_algo()   # after ray.init()
    algo.train(); algo.save_to_path("runs/rllib-swarm")

:class:`QuadParallelEnv` is RLlib's own ``ParallelPettingZooEnv`` with numbered agents (so
the same seed trains the same weights in any process) and team-episode ends that RLlib
reads right (a drone cut off by the clock or a teammate's crash is truncated, its value
bootstrapped, not terminated). :func:`ppo_config`
trains one policy shared by every drone (``"shared"``, RLlib's parameter sharing) or one
per drone (``policies="per_agent"``), on the swarm's training starts of ``ppo_shared``
(``quadgym.agents.sb3.shared.SWARM_TRAIN_ENV``) by default. :class:`RLlibController` flies a
saved checkpoint's modules (greedy: the Gaussian's mean) with the ``reset``/``act``
interface of quadgym's controllers, so ``quadgym.evaluation.score`` and
``scripts/replay_marl.py``'s evaluation take it.

RLlib is an optional dependency (``pip install -e ".[ray]"``: ray[tune] and dm_tree; the
``ray[rllib]`` extra pins gymnasium 1.2.2, which quadgym does not need).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from quadgym.agents.sb3.config import ENV_DEFAULTS, HOVER_PPO_DEFAULTS
from quadgym.agents.sb3.shared import SWARM_TRAIN_ENV
from quadgym.registry import PARALLEL_ENVS, make_parallel_env

#: The policy id every drone maps to with one shared policy (not RLlib's "default_policy",
#: which RLlib would take for a single-agent setup).
SHARED = "shared"
POLICIES = ("shared", "per_agent")


class QuadParallelEnv(MultiAgentEnv):
    """A quadgym PettingZoo parallel env as RLlib's ``MultiAgentEnv``: RLlib's own
    ``ParallelPettingZooEnv`` with numbered agents and team-episode ends RLlib reads right.

    **Numbered agents.** RLlib sees drone ``i`` (the env's ``possible_agents[i]``) as the
    int ``i``. Ray 2.60 orders the agents whose actions it samples in one batch by iterating
    over a set of their ids (``MultiAgentEpisode.get_agents_to_act``), and a string's hash
    changes with each process's hash seed: with the env's names the same ``--seed`` trained
    to different weights in every process (the 4-drone formation's farthest drone ended
    0.046, 0.073 and 0.169 m from its place on seed 0). An int hashes to itself, so the same
    seed now trains to the same weights in any process.

    **Episode ends.** A team episode ends for every drone at once (quadgym's
    ``end_together``): the drones that crashed or collided are terminated, the others
    truncated, and a time-out truncates all. Two things go wrong with the flags as they are:

    - RLlib's own wrapper sets neither ``__all__`` at a mixed end and steps an env whose
      agents are all done. Here a finished episode always sets one.
    - Ray 2.60's ``MultiAgentEpisode.add_env_step`` declares the whole episode terminated
      once every agent has a flag set (its "some truncated, the others terminated" case,
      which a time-out meets too) and then marks *every* agent terminated. The value of a
      drone cut off by the clock or by a teammate's crash is then taken as 0 instead of
      bootstrapped: every team episode ends as if each drone had crashed. Here only the
      drones that ended their own episode carry a per-agent flag (terminated); the others
      are truncated through ``__all__`` alone, which RLlib passes on to each agent.

    Args:
        env: a PettingZoo ``ParallelEnv`` (``quadgym.registry.make_parallel_env``).
    """

    def __init__(self, env: Any) -> None:
        import gymnasium as gym

        self.par_env = env
        self.names = list(env.possible_agents)
        self.number = {name: i for i, name in enumerate(self.names)}
        self.possible_agents = list(range(len(self.names)))
        self.agents = list(self.possible_agents)
        super().__init__()
        self.observation_space = gym.spaces.Dict(
            {i: env.observation_space(name) for i, name in enumerate(self.names)}
        )
        self.action_space = gym.spaces.Dict(
            {i: env.action_space(name) for i, name in enumerate(self.names)}
        )

    def _numbered(self, per_agent: dict) -> dict:
        """``per_agent`` keyed by agent number instead of name."""
        return {self.number[name]: value for name, value in per_agent.items()}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple:
        obs, infos = self.par_env.reset(seed=seed, options=options)
        self.agents = [self.number[name] for name in self.par_env.agents]
        return self._numbered(obs), self._numbered(infos or {})

    def step(self, action_dict: dict) -> tuple:
        actions = {self.names[i]: action for i, action in action_dict.items()}
        obs, rewards, terminated, truncated, infos = self.par_env.step(actions)
        self.agents = [self.number[name] for name in self.par_env.agents]
        terminated, truncated = self._numbered(terminated), self._numbered(truncated)
        over = not self.par_env.agents
        terminated["__all__"] = bool(terminated) and all(terminated.values())
        if over and not terminated["__all__"]:
            truncated = {agent: False for agent in truncated}
        truncated["__all__"] = over and not terminated["__all__"]
        obs, rewards, infos = self._numbered(obs), self._numbered(rewards), self._numbered(infos)
        return obs, rewards, terminated, truncated, infos

    def close(self) -> None:
        self.par_env.close()

    def render(self) -> Any:
        return self.par_env.render()


class QuadPPOModule(DefaultPPOTorchRLModule):
    """RLlib's PPO module with a state-independent log std that starts at ppo_shared's
    ``log_std_init`` (e^-1 ≈ 0.37 of the [-1, 1] action range). RLlib's own starts at 0, a
    standard deviation as wide as the whole action range."""

    LOG_STD_INIT = HOVER_PPO_DEFAULTS["policy_kwargs"]["log_std_init"]

    def setup(self) -> None:
        super().setup()
        import torch

        if hasattr(self.pi, "log_std"):  # a continuous action head (free_log_std)
            with torch.no_grad():
                self.pi.log_std.fill_(self.LOG_STD_INIT)


def register(env_id: str, **env_kwargs: Any) -> str:
    """Register ``env_id`` with Ray Tune's env registry, built with ``env_kwargs`` (each env
    runner builds its own, with its own PyBullet client): a PettingZoo id as a
    :class:`QuadParallelEnv`, a Gymnasium id (QuadHover-v0...) by ``gym.make``. Returns the
    registered name.

    Raises:
        ValueError: an id quadgym does not register.
    """
    import gymnasium as gym
    from ray.tune.registry import register_env

    import quadgym  # noqa: F401  (registers the Gymnasium ids in this process)

    name = "quadgym_" + env_id.replace("-", "_")  # not "...-v0": RLlib would gym.make it
    if env_id in PARALLEL_ENVS:
        register_env(name, lambda config: QuadParallelEnv(make_parallel_env(env_id, **env_kwargs)))
    elif env_id in gym.registry:
        register_env(name, lambda config: _gym_env(env_id, env_kwargs))
    else:
        raise ValueError(
            f"unknown env {env_id!r}; quadgym has {sorted(PARALLEL_ENVS)} and the Gymnasium "
            "ids of quadgym.list_envs()"
        )
    return name


def _gym_env(env_id: str, env_kwargs: dict[str, Any]) -> Any:
    """``gym.make`` in an env runner's process, where quadgym registers its ids on import."""
    import gymnasium as gym

    import quadgym  # noqa: F401

    return gym.make(env_id, **env_kwargs)


def policy_of(policies: str) -> Any:
    """The agent -> policy id map of ``policies`` ("shared" or "per_agent"). Per agent, drone
    ``i`` flies module ``drone_i``, whether it comes by number (in training:
    :class:`QuadParallelEnv`) or by name (a PettingZoo env's, to :class:`RLlibController`)."""
    if policies == "shared":
        return lambda agent_id, *args, **kwargs: SHARED
    return lambda agent_id, *args, **kwargs: (
        agent_id if isinstance(agent_id, str) else f"drone_{agent_id}"
    )


def ppo_config(
    env_id: str = "quad_swarm_v0",
    num_drones: int = 4,
    policies: str = "shared",
    env_runners: int = 0,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    hidden: tuple[int, ...] = (64, 64),
    batch: int = 2048,
    envs_per_runner: int = 4,
) -> Any:
    """RLlib's PPO on ``num_drones`` drones of the PettingZoo env ``env_id`` (or on a
    Gymnasium id such as QuadHover-v0, one agent, its ``ENV_DEFAULTS`` training starts).

    The hyper-parameters are ``ppo_shared``'s: lr 3e-4, γ 0.99, λ 0.95, 10 epochs, each
    policy's samples in minibatches of 512 or a quarter of them, [64, 64] networks, clip 0.2,
    gradient norm 0.5, value loss weight 0.5 unclipped, log std from -1. ``batch`` agent-steps
    make a training iteration (its rollout); ``env_runners`` remote env runners sample them
    (0: sampling in the driver), each stepping ``envs_per_runner`` envs (ppo_shared trains on
    4 swarms: a rollout then holds several teams' episodes, not one or two of a single team).

    Raises:
        ValueError: an unknown ``policies``, fewer than one drone or a negative number of
            env runners (before anything is built).
    """
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    if policies not in POLICIES:
        raise ValueError(f"policies must be one of {POLICIES}, got {policies!r}")
    if num_drones < 1 or env_runners < 0 or batch < 1 or envs_per_runner < 1:
        raise ValueError(
            "need num_drones >= 1, env_runners >= 0, batch >= 1, envs_per_runner >= 1; got "
            f"{num_drones}, {env_runners}, {batch}, {envs_per_runner}"
        )
    spec = RLModuleSpec(
        module_class=QuadPPOModule,
        model_config={
            "fcnet_hiddens": list(hidden),
            "vf_share_layers": False,
            "free_log_std": True,
        },
    )
    runners = max(1, env_runners)
    if env_id not in PARALLEL_ENVS:  # one agent: the Gymnasium env with its training starts
        train_env = ENV_DEFAULTS[env_id].train_env if env_id in ENV_DEFAULTS else {}
        name = register(env_id, **{**train_env, **(env_kwargs or {})})
        config = PPOConfig().environment(name).rl_module(rl_module_spec=spec)
        per_step, ids = 1, [None]
    else:
        kwargs = {**SWARM_TRAIN_ENV, **(env_kwargs or {}), "num_drones": num_drones}
        name = register(env_id, **kwargs)
        # the modules the drones fly, in drone order (one "shared" or one per drone)
        ids = list(dict.fromkeys(policy_of(policies)(i) for i in range(num_drones)))
        config = (
            PPOConfig()
            .environment(name)
            .multi_agent(policies=set(ids), policy_mapping_fn=policy_of(policies))
            .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={i: spec for i in ids}))
        )
        per_step = num_drones
    return (
        config.env_runners(
            num_env_runners=env_runners,
            num_envs_per_env_runner=envs_per_runner,
            rollout_fragment_length=max(16, batch // per_step // runners // envs_per_runner),
            # Ray 2.60's multi-agent runner re-converts every episode finished so far in a
            # sample() call to NumPy after each env step: quadratic in the short episodes of
            # early training, 7x the sampling time here (ray-project/ray#50077 proposed this
            # off by default: the learner takes list-form episodes as they are).
            episodes_to_numpy=False,
        )
        .training(
            train_batch_size_per_learner=batch // per_step,
            # a policy's samples in 4 minibatches of at most 512, as ppo_shared's 2048 in 512s:
            # one policy per drone then takes as many gradient steps as the shared one
            minibatch_size=min(512, max(16, batch // len(ids) // 4)),
            num_epochs=10,
            lr=3e-4,
            gamma=0.99,
            lambda_=0.95,
            # SB3's PPO, as ppo_shared runs it; RLlib's own defaults differ in each of these
            # (clip 0.3, an added KL penalty, value loss weight 1 clipped at 10 -- returns
            # here reach ~100, so that clip stalls the critic -- and no gradient clipping).
            clip_param=0.2,
            use_kl_loss=False,
            vf_loss_coeff=0.5,
            vf_clip_param=float("inf"),
            grad_clip=0.5,
            grad_clip_by="global_norm",
        )
        .debugging(seed=seed)
    )


class RLlibController:
    """Greedy actions of a saved RLlib checkpoint's modules, for every drone of a team env
    or the one agent of a Gymnasium env.

    Args:
        checkpoint: a directory written by ``Algorithm.save_to_path``.
        policies: how agents map to the saved modules ("shared" or "per_agent").
    """

    def __init__(self, checkpoint: str | Path, policies: str = "shared") -> None:
        from ray.rllib.core.rl_module.rl_module import RLModule

        if policies not in POLICIES:
            raise ValueError(f"policies must be one of {POLICIES}, got {policies!r}")
        root = Path(checkpoint, "learner_group", "learner", "rl_module")
        if not root.is_dir():
            raise ValueError(f"{checkpoint} holds no RLlib checkpoint ({root} is missing)")
        self.modules = {p.name: RLModule.from_checkpoint(p) for p in root.iterdir() if p.is_dir()}
        self.policy = policy_of(policies)

    def reset(self) -> None:
        """Nothing to reset: the policy is feed-forward."""

    def act(self, observation: Any, deterministic: bool = True) -> Any:
        """Each agent's action (a dict of observations), or the single agent's (an array, on
        a Gymnasium env: RLlib's ``default_policy``): the Gaussian's mean, clipped to [-1, 1]."""
        if not isinstance(observation, dict):
            return self._mean(self.modules["default_policy"], observation)
        return {
            agent: self._mean(self.modules[self.policy(agent)], obs)
            for agent, obs in observation.items()
        }

    @staticmethod
    def _mean(module: Any, observation: Any) -> np.ndarray:
        import torch

        batch = {"obs": torch.as_tensor(np.asarray(observation, dtype=np.float32)[None])}
        with torch.no_grad():
            inputs = module.forward_inference(batch)["action_dist_inputs"][0].numpy()
        mean = inputs[: inputs.size // 2]  # (mean, log std) of a diagonal Gaussian
        return np.clip(mean, -1.0, 1.0).astype(np.float32)
