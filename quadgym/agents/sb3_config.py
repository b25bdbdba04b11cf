"""Typed configs of the Stable-Baselines3 plugins (ppo, sac, td3, ppo_shared) and the
QuadHover-v0 defaults they fall back on.

Fields named after SB3 keywords are passed to SB3 unless None (None: the QuadHover-v0
default of :data:`HOVER_PPO_DEFAULTS` for PPO there, SB3's own otherwise); ``sb3_kwargs``
takes any other keyword of the SB3 class and is checked against its ``__init__``.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from typing import Any, ClassVar

from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm

from quadgym.agents.base import AlgoConfig
from quadgym.config import closest, param

#: Training-env defaults on QuadHover-v0: starts spread over the air around the
#: target (up to 1.5 m above the ground, ±0.5 m in xy, ±0.3 rad of tilt, ±0.5 m/s).
#: From ground starts alone, PPO settles on staying put (0.5 reward a step, no risk)
#: and never learns to fly; from the air it learns to hover first, and take-off
#: from the ground (the evaluation start) follows.
HOVER_TRAIN_ENV = {
    "start_height_noise": 1.5,
    "start_xy_noise": 0.5,
    "start_tilt_noise": 0.3,
    "start_vel_noise": 0.5,
}

#: PPO defaults on QuadHover-v0: 8 envs × 256 steps per rollout (2048 samples, about
#: 1 s of wall clock), small [64, 64] networks (the state is 22 numbers), an initial
#: action std of e^-1 ≈ 0.37 (a std of 1 saturates the motors and flips the drone).
HOVER_PPO_DEFAULTS = {
    "n_steps": 256,
    "batch_size": 512,
    "n_epochs": 10,
    "learning_rate": 3e-4,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "policy_kwargs": {"net_arch": [64, 64], "log_std_init": -1.0},
}

#: samples per rollout the QuadHover-v0 PPO default keeps whatever the number of env slots
ROLLOUT_SAMPLES = 2048


def rollout_steps(slots: int) -> int:
    """PPO's ``n_steps`` for about :data:`ROLLOUT_SAMPLES` samples per rollout over
    ``slots`` parallel envs (at least 16 steps)."""
    return max(16, ROLLOUT_SAMPLES // slots)


def sb3_keywords(sb3_class: type[BaseAlgorithm]) -> dict[str, inspect.Parameter]:
    """The keywords of ``sb3_class.__init__`` a config may set (the adapter gives
    ``policy`` and ``env``)."""
    params = inspect.signature(sb3_class.__init__).parameters
    internal = ("self", "policy", "env", "_init_setup_model")
    return {k: v for k, v in params.items() if k not in internal}


HOVER_DEFAULT = "None: the QuadHover-v0 default for PPO (HOVER_PPO_DEFAULTS), else SB3's"


@dataclasses.dataclass(frozen=True)
class SB3Config(AlgoConfig):
    """Keys of every SB3 adapter.

    A field named after a keyword of :attr:`sb3_class` (``learning_rate``,
    ``gamma``...) is passed to it unless it is None; ``sb3_kwargs`` passes any
    other keyword, refused here unless the SB3 class takes it.
    """

    sb3_class: ClassVar[type[BaseAlgorithm]]

    normalize: bool = param(True, "wrap the training envs in VecNormalize (obs and returns)")
    env_kwargs: dict | None = param(
        None, "gym.make keywords of the training envs (None: HOVER_TRAIN_ENV on QuadHover-v0)"
    )
    learning_rate: float | None = param(None, f"Adam step size ({HOVER_DEFAULT})", gt=0)
    batch_size: int | None = param(None, f"samples per gradient step ({HOVER_DEFAULT})", ge=1)
    gamma: float | None = param(None, f"discount per env step ({HOVER_DEFAULT})", ge=0, le=1)
    policy_kwargs: dict | None = param(
        None, f"keywords of the policy, e.g. net_arch, log_std_init ({HOVER_DEFAULT})"
    )
    sb3_kwargs: dict = param({}, "any other keyword of the SB3 class (checked against it)")

    def check(self) -> None:
        accepted = sb3_keywords(self.sb3_class)
        own = [f.name for f in dataclasses.fields(self)]
        for key in self.sb3_kwargs:
            if key in own:
                raise ValueError(f"sb3_kwargs: {key!r} is a config key of its own; set it directly")
            if key not in accepted:
                hint = closest(key, [k for k in accepted if k not in own])
                if not hint and closest(key, own):
                    hint = f"{closest(key, own)} (a config key: set it directly)"
                raise ValueError(
                    f"sb3_kwargs: {self.sb3_class.__name__} takes no keyword {key!r}{hint}"
                )

    def sb3_arguments(self) -> dict[str, Any]:
        """Keywords for :attr:`sb3_class`: the typed ones that are set, then ``sb3_kwargs``."""
        accepted = sb3_keywords(self.sb3_class)
        typed = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name in accepted and getattr(self, f.name) is not None
        }
        # copies: SB3 writes into policy_kwargs, which must not change the config
        return {**copy.deepcopy(typed), **self.sb3_kwargs}


@dataclasses.dataclass(frozen=True)
class VecEnvConfig(SB3Config):
    """Keys of the single-agent adapters: how many copies of the env to train on."""

    n_envs: int = param(1, "copies of the env in a DummyVecEnv", ge=1)
    num_envs: int | None = param(
        None, "instead of n_envs: lanes of the env's batched backend (gym.make_vec)", ge=1
    )


@dataclasses.dataclass(frozen=True)
class PPOHyperConfig(SB3Config):
    """PPO's hyper-parameters (``ppo`` and ``ppo_shared``)."""

    sb3_class = PPO

    n_steps: int | None = param(
        None,
        "env steps per env slot and rollout (None: 256 on QuadHover-v0, about 2048 samples "
        "over num_envs lanes or ppo_shared's drones; SB3's 2048 elsewhere)",
        ge=1,
    )
    n_epochs: int | None = param(None, f"passes over each rollout ({HOVER_DEFAULT})", ge=1)
    gae_lambda: float | None = param(None, f"GAE's λ ({HOVER_DEFAULT})", ge=0, le=1)
    clip_range: float | None = param(None, "PPO's ratio clip ε (None: SB3's 0.2)", gt=0)
    ent_coef: float | None = param(None, "entropy bonus weight (None: SB3's 0)", ge=0)
    vf_coef: float | None = param(None, "value-loss weight (None: SB3's 0.5)", ge=0)
    max_grad_norm: float | None = param(None, "gradient norm clip (None: SB3's 0.5)", gt=0)


@dataclasses.dataclass(frozen=True)
class PPOConfig(VecEnvConfig, PPOHyperConfig):
    """``ppo``: PPO on copies of a Gymnasium env."""

    n_envs: int = param(8, "copies of the env in a DummyVecEnv", ge=1)


@dataclasses.dataclass(frozen=True)
class OffPolicyConfig(VecEnvConfig):
    """The hyper-parameters SAC and TD3 share (None: SB3's default)."""

    buffer_size: int | None = param(None, "replay buffer size (transitions)", ge=1)
    learning_starts: int | None = param(None, "env steps of random actions before learning", ge=0)
    tau: float | None = param(None, "target-network soft-update rate per update", ge=0, le=1)
    train_freq: int | None = param(None, "env steps between updates", ge=1)
    gradient_steps: int | None = param(
        None, "gradient steps per update (-1: as many as env steps since the last)", ge=-1
    )


@dataclasses.dataclass(frozen=True)
class SACConfig(OffPolicyConfig):
    """``sac``: Soft Actor-Critic."""

    sb3_class = SAC

    ent_coef: float | str | None = param(
        None, "entropy weight: a number, 'auto' or 'auto_<initial>' (None: SB3's 'auto')"
    )


@dataclasses.dataclass(frozen=True)
class TD3Config(OffPolicyConfig):
    """``td3``: Twin Delayed DDPG."""

    sb3_class = TD3

    policy_delay: int | None = param(None, "critic updates per actor update", ge=1)
    target_policy_noise: float | None = param(None, "std of the target smoothing noise", ge=0)
    target_noise_clip: float | None = param(None, "clip of the target smoothing noise", ge=0)
