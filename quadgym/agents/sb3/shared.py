"""Multi-agent training with one policy shared by every drone: ``ppo_shared``.

The agents of ``n_swarms`` copies of a PettingZoo swarm env become the slots of
one Stable-Baselines3 ``VecEnv`` (:class:`SwarmVecEnv`), and SB3's PPO trains a
single policy on all of them (parameter sharing: each drone acts on its own
observation). An episode ends for every drone of a swarm when any of them
crashes or collides: the drones that did not end their episode themselves are
marked truncated, so their value is bootstrapped rather than zeroed.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, ClassVar

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecMonitor

from quadgym.agents.base import INTERFACE_KEYS, BudgetUnit
from quadgym.agents.sb3.algorithms import SB3Algorithm
from quadgym.agents.sb3.config import HOVER_PPO_DEFAULTS, PPOHyperConfig, rollout_steps
from quadgym.config import param
from quadgym.registry import make_parallel_env

#: Training-env defaults for the swarm, as for QuadHover-v0: starts spread through the air.
SWARM_TRAIN_ENV = {
    "start_height_noise": 1.5,
    "start_xy_noise": 0.1,
    "start_tilt_noise": 0.3,
    "start_vel_noise": 0.5,
}


class SwarmVecEnv(VecEnv):
    """SB3 ``VecEnv`` whose slots are the agents of several parallel swarm envs.

    Each slot's step info is its agent's (``position_error``, ``crashed``..., which the
    training recipes read; the swarm makes new dicts every step, so they are not copied),
    with SB3's ``terminal_observation`` and ``TimeLimit.truncated`` where its swarm's
    episode ended.
    """

    def __init__(self, envs: list, seed: int = 0):
        self.envs = envs
        self.agents = envs[0].possible_agents
        self.n_agents = len(self.agents)
        first = self.agents[0]
        super().__init__(
            len(envs) * self.n_agents,
            envs[0].observation_space(first),
            envs[0].action_space(first),
        )
        self._seed = seed
        self._actions = None

    def _slots(self, obs: dict) -> np.ndarray:
        return np.stack([obs[a] for a in self.agents])

    def reset(self) -> np.ndarray:
        out = []
        for i, env in enumerate(self.envs):
            obs, _ = env.reset(seed=None if self._seed is None else self._seed + i)
            out.append(self._slots(obs))
        self._seed = None
        return np.concatenate(out)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        n = self.n_agents
        obs_out, rew_out, done_out, infos = [], [], [], []
        for i, env in enumerate(self.envs):
            acts = {a: self._actions[i * n + j] for j, a in enumerate(self.agents)}
            obs, rew, term, trunc, info = env.step(acts)
            over = any(term.values()) or any(trunc.values()) or not env.agents
            slot_obs = self._slots(obs)
            rew_out.append([rew[a] for a in self.agents])
            done_out.append([over] * n)
            slots = [info.get(a, {}) for a in self.agents]
            if over:
                for j, a in enumerate(self.agents):
                    slots[j]["terminal_observation"] = slot_obs[j]
                    slots[j]["TimeLimit.truncated"] = not term[a]
                slot_obs = self._slots(env.reset()[0])
            infos += slots
            obs_out.append(slot_obs)
        return (
            np.concatenate(obs_out),
            np.asarray(rew_out, np.float32).ravel(),
            np.asarray(done_out).ravel(),
            infos,
        )

    def seed(self, seed: int | None = None):
        self._seed = seed
        return [seed]

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def get_attr(self, attr_name, indices=None):
        return [getattr(self.envs[0], attr_name)] * self.num_envs

    def set_attr(self, attr_name, value, indices=None) -> None:
        for env in self.envs:
            setattr(env, attr_name, value)

    def env_method(self, method_name, *args, indices=None, **kwargs):
        return [getattr(self.envs[0], method_name)(*args, **kwargs)] * self.num_envs

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False] * self.num_envs


@dataclasses.dataclass(frozen=True)
class PPOSharedConfig(PPOHyperConfig):
    """``ppo_shared``: the swarm, its training copies, and PPO's hyper-parameters."""

    num_drones: int = param(4, "drones per swarm (training and self.env)", ge=1)
    n_swarms: int = param(4, "parallel swarms whose drones are the training slots", ge=1)
    env_kwargs: dict | None = param(
        None, "swarm keywords of the training swarms, merged over SWARM_TRAIN_ENV"
    )
    eval_env_kwargs: dict = param(
        {},
        "swarm keywords of self.env (the one a user evaluates on; it takes env_kwargs' "
        "interface keys, action_type)",
    )

    def check(self) -> None:
        super().check()
        for name, kwargs in (
            ("env_kwargs", self.env_kwargs),
            ("eval_env_kwargs", self.eval_env_kwargs),
        ):
            if "num_drones" in (kwargs or {}):
                raise ValueError(f"{name}: num_drones is a config key of its own; set it directly")
        trained = self.interface()
        for key in set(INTERFACE_KEYS) & set(self.eval_env_kwargs):
            if key not in trained or self.eval_env_kwargs[key] != trained[key]:
                raise ValueError(
                    f"eval_env_kwargs: {key}={self.eval_env_kwargs[key]!r} would change what "
                    f"the policy trained with (env_kwargs: {trained.get(key, 'the default')!r}); "
                    "set it in env_kwargs, self.env takes it from there"
                )


class PPOShared(SB3Algorithm):
    """PPO with one policy shared by all drones of ``quad_swarm_v0``.

    Config: :class:`PPOSharedConfig`. ``learn``'s budget is in agent-steps (one
    drone, one control step). ``act`` takes and returns dicts keyed by agent. With
    ``asymmetric_critic`` the training swarms append each drone's own privileged vector
    (``privileged=True``) for the critic; the shared actor, ``act`` and an export read the
    swarm's own observation.
    """

    name = "ppo_shared"
    Config = PPOSharedConfig
    budget_unit = BudgetUnit.AGENT_STEPS
    supported_envs: ClassVar[tuple[str, ...]] = (
        "quad_swarm_v0",
        "quad_swap_v0",
        "quad_reform_v0",
        "quad_leader_v0",
    )
    config: PPOSharedConfig

    def make_env(self, env_id: str) -> Any:
        """The PettingZoo swarm a user evaluates on (``self.env``)."""
        c = self.config
        return make_parallel_env(
            env_id, num_drones=c.num_drones, **{**c.interface(), **c.eval_env_kwargs}
        )

    def make_training_venv(self, env_id: str) -> VecEnv:
        """The drones of ``n_swarms`` swarms as the slots of one ``VecEnv``."""
        c = self.config
        env_kwargs = self.critic_columns({**SWARM_TRAIN_ENV, **(c.env_kwargs or {})})
        envs = [
            make_parallel_env(env_id, num_drones=c.num_drones, **env_kwargs)
            for _ in range(c.n_swarms)
        ]
        return VecMonitor(SwarmVecEnv(envs, seed=c.seed))

    def sb3_defaults(self, env_id: str, venv: VecEnv) -> dict[str, Any]:
        """QuadHover-v0's PPO defaults, with ~2048 agent-steps a rollout."""
        return {**copy.deepcopy(HOVER_PPO_DEFAULTS), "n_steps": rollout_steps(venv.num_envs)}

    def act(self, observation: Any, deterministic: bool = True) -> Any:
        if isinstance(observation, dict):
            agents = list(observation)
            obs = self.actor_view(np.stack([observation[a] for a in agents]))
            actions, _ = self.model.predict(self._normalize(obs), deterministic=deterministic)
            return dict(zip(agents, actions, strict=True))
        return super().act(observation, deterministic)
