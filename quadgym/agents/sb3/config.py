"""Typed configs of the Stable-Baselines3 plugins (ppo, sac, td3, ppo_shared) and the
per-env defaults they fall back on (:data:`ENV_DEFAULTS`, keyed by env id).

Fields named after SB3 keywords are passed to SB3 unless None (None: the env's
default of :data:`ENV_DEFAULTS` for PPO on an env it lists, SB3's own otherwise);
``sb3_kwargs`` takes any other keyword of the SB3 class and is checked against its
``__init__``.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from typing import Any, ClassVar

from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm

from quadgym.agents.base import INTERFACE_KEYS, AlgoConfig
from quadgym.agents.sb3.extractors import SmallCombined
from quadgym.agents.schedule import Schedule
from quadgym.config import closest, param
from quadgym.envs.quad.tasks.suite import SPECS

#: PPO defaults on QuadHover-v0 (and, through ``ppo_shared``, quad_swarm_v0): 8 envs
#: × 256 steps per rollout (2048 samples, about 1 s of wall clock), small [64, 64]
#: networks (the state is 22 numbers), an initial action std of e^-1 ≈ 0.37 (a std
#: of 1 saturates the motors and flips the drone).
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


def rollout_steps(slots: int, samples: int = ROLLOUT_SAMPLES) -> int:
    """PPO's ``n_steps`` for about ``samples`` samples per rollout over ``slots``
    parallel envs (at least 16 steps)."""
    return max(16, samples // slots)


#: Samples per rollout of PPO on the batched backend (128 steps of 64 lanes): the GAE
#: sees 4 s of flight before it bootstraps, where 2048 samples over 64 lanes gave it 1 s.
BATCHED_SAMPLES = 8192

#: PPO keywords that replace the copies' defaults on the batched backend: minibatches of
#: 1024 and an initial action std of e^-1.5 ≈ 0.22. On QuadHover-v0, at 2048-sample
#: rollouts, minibatches of 512 and std 0.37, a 500k-step run took 2.8 s to settle within
#: 0.10 m of the target from the ground (4.9 s at 250k), and longer runs sat up to 0.14 m
#: off it (seed 1 at 750k); with these and BATCHED_SAMPLES, seeds 0-2 hold within 0.10 m
#: from 1.5-2.0 s on after 1.5 M steps (benchmarks/README.md).
BATCHED_PPO = {
    "batch_size": 1024,
    "policy_kwargs": {"net_arch": [64, 64], "log_std_init": -1.5},
}

#: PPO defaults on QuadVisualReach-v0 (see VISUAL_COPIES): rollouts of 2 × 512 steps,
#: minibatches of 256, 10 epochs, [64, 64] heads over :class:`SmallCombined` (16 image
#: keypoints, each (x, y) and a peak, beside the kinematics; on a vector observation the
#: kinematics alone, so the reference points without an image fly the same policy). Seed 0
#: reached the target in 19 of 20 evaluation episodes after 92k steps, 21.5 min of
#: scripts/train.py on the shared 2 cores at a load of 10-14; told the target, the same
#: policy reached 20/20, without an image 7/20 (benchmarks/results/vision_baseline.json).
VISUAL_PPO_DEFAULTS = {
    "n_steps": 512,
    "batch_size": 256,
    "n_epochs": 10,
    "learning_rate": 3e-4,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "policy_kwargs": {
        "features_extractor_class": SmallCombined,
        "net_arch": [64, 64],
        "log_std_init": -1.0,
    },
}

#: Training-env defaults on QuadVisualReach-v0: the physics (and the PID under the ``pid``
#: actions) at 120 Hz instead of 240, which halves an env step's cost. The PID's attitude
#: loop is stable above ~100 Hz (docs/design.md, "The PID"), and the oracle (the constant
#: set-point on the target) reaches every target of the evaluation seeds 1000-1019 in
#: 10.35 control steps on average at either rate, at most 11 (0.73 s); so episodes of 2 s
#: (30 steps) leave room, and a policy that misses costs half the steps it would in the
#: env's 4 s. Evaluation runs the env's defaults (240 Hz, 4 s).
VISUAL_TRAIN_ENV = {"physics_hz": 120, "episode_seconds": 2.0}

#: QuadVisualReach-v0 trains on 2 PyBullet copies, each in a process of its own: an env
#: step (~10 ms at 240 Hz, the Python PID ~60 % of it, rendering ~15 %) costs far more
#: than a sample's share of the PPO update (~0.1 ms per epoch), so the copies can use
#: both cores while the update waits. (Not measured against one process: this machine
#: was shared, and its scheduler gives each session a share, not each process.)
VISUAL_COPIES = 2


@dataclasses.dataclass(frozen=True)
class EnvDefaults:
    """What the single-agent SB3 plugins fall back on for one env id.

    Attributes:
        train_env: ``gym.make`` keywords of the training envs (the config's
            ``env_kwargs`` replaces them).
        ppo: PPO keywords on ``n_envs`` copies of the env (each typed config field
            that is set overrides its keyword).
        batched: PPO keywords that replace those of ``ppo`` on ``num_envs`` lanes
            of the batched backend.
        batched_samples: samples per rollout on the batched backend; ``n_steps``
            is this over the lanes (:func:`rollout_steps`), whatever their number.
        n_envs: PPO's copies of the env where the config's ``n_envs`` is None.
        subprocess: the copies each in a process of its own (SB3's ``SubprocVecEnv``)
            rather than one after the other in this one (``DummyVecEnv``).
    """

    train_env: dict[str, Any] = dataclasses.field(default_factory=dict)
    ppo: dict[str, Any] = dataclasses.field(default_factory=lambda: HOVER_PPO_DEFAULTS)
    batched: dict[str, Any] = dataclasses.field(default_factory=lambda: BATCHED_PPO)
    batched_samples: int = BATCHED_SAMPLES
    n_envs: int = 8
    subprocess: bool = False

    def ppo_keywords(self, lanes: int | None) -> dict[str, Any]:
        """PPO's keywords on ``n_envs`` copies (``lanes`` None) or on ``lanes`` lanes of
        the batched backend; a copy (SB3 writes into ``policy_kwargs``)."""
        if lanes is None:
            return copy.deepcopy(self.ppo)
        steps = rollout_steps(lanes, self.batched_samples)
        return copy.deepcopy({**self.ppo, **self.batched, "n_steps": steps})


#: QuadGates-v0 trains on PyBullet copies only (its frames are Bullet bodies) and keeps
#: the hover PPO defaults. Its baseline (benchmarks/rl_baselines.py) flies ``pid``
#: actions, set by the run's ``env_kwargs``; on ``rpm`` actions from the hover's air
#: starts, seed 0 passed no gate in 10 episodes after 300k steps (pid actions: 18 of 20);
#: with the robust options (motors, randomize='motors'), seeds 0-1 still passed none after
#: 2 M steps: they stay on the ground (baselines/README.md, "Gates on motor speeds").
#:
#: Per-env defaults of the single-agent SB3 plugins (ppo, sac, td3), which support
#: exactly these ids. Tuned for PPO on the batched backend (``num_envs``: the README's
#: commands); on PyBullet copies (``n_envs``) QuadHover-v0 keeps the defaults its
#: time_to_hover row measured, and QuadTrack-v0 and QuadLand-v0 take the same table
#: untried there. QuadTrack-v0 (circle) needs nothing of its own: its default starts are
#: at rest on the curve, and seed 0 tracks it within 0.022 m RMS after 500k steps.
def declared_defaults() -> dict[str, EnvDefaults]:
    """The defaults the one-drone tasks declare (their ``TaskSpec.sb3``: the training env,
    PPO keywords that replace the hover ones), in the tasks' order."""
    out = {}
    for spec in SPECS:
        if spec.team or spec.sb3 is None:
            continue
        declared = dict(spec.sb3)
        ppo = {**HOVER_PPO_DEFAULTS, **declared.pop("ppo", {})}
        out[spec.env_id] = EnvDefaults(ppo=ppo, **declared)
    return out


ENV_DEFAULTS: dict[str, EnvDefaults] = {
    **declared_defaults(),
    "QuadVisualReach-v0": EnvDefaults(
        train_env=VISUAL_TRAIN_ENV, ppo=VISUAL_PPO_DEFAULTS, n_envs=VISUAL_COPIES, subprocess=True
    ),
}


def sb3_keywords(sb3_class: type[BaseAlgorithm]) -> dict[str, inspect.Parameter]:
    """The keywords of ``sb3_class.__init__`` a config may set (the adapter gives
    ``policy`` and ``env``)."""
    params = inspect.signature(sb3_class.__init__).parameters
    internal = ("self", "policy", "env", "_init_setup_model")
    return {k: v for k, v in params.items() if k not in internal}


ENV_DEFAULT = (
    "None: PPO's default on the env (ENV_DEFAULTS; ppo_shared: QuadHover-v0's), else SB3's"
)


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
        None, "gym.make keywords of the training envs (None: the env's ENV_DEFAULTS train_env)"
    )
    learning_rate: float | None = param(None, f"Adam step size ({ENV_DEFAULT})", gt=0)
    batch_size: int | None = param(None, f"samples per gradient step ({ENV_DEFAULT})", ge=1)
    gamma: float | None = param(None, f"discount per env step ({ENV_DEFAULT})", ge=0, le=1)
    policy_kwargs: dict | None = param(
        None, f"keywords of the policy, e.g. net_arch, log_std_init ({ENV_DEFAULT})"
    )
    sb3_kwargs: dict = param({}, "any other keyword of the SB3 class (checked against it)")

    def interface(self) -> dict[str, Any]:
        """The interface keys of ``env_kwargs`` (``ENV_DEFAULTS``' training envs set none)."""
        return {k: v for k, v in (self.env_kwargs or {}).items() if k in INTERFACE_KEYS}

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

    n_envs: int = param(
        1,
        "copies of the env (in subprocesses where ENV_DEFAULTS says so, else a DummyVecEnv)",
        ge=1,
    )
    num_envs: int | None = param(
        None, "instead of n_envs: lanes of the env's batched backend (gym.make_vec)", ge=1
    )


@dataclasses.dataclass(frozen=True)
class PPOHyperConfig(SB3Config):
    """PPO's hyper-parameters (``ppo`` and ``ppo_shared``)."""

    sb3_class = PPO

    n_steps: int | None = param(
        None,
        "env steps per env slot and rollout (None: on an env of ENV_DEFAULTS its ppo n_steps, "
        "or its batched_samples over num_envs lanes; about 2048 samples over ppo_shared's "
        "drones; SB3's 2048 elsewhere)",
        ge=1,
    )
    n_epochs: int | None = param(None, f"passes over each rollout ({ENV_DEFAULT})", ge=1)
    gae_lambda: float | None = param(None, f"GAE's λ ({ENV_DEFAULT})", ge=0, le=1)
    clip_range: float | None = param(None, "PPO's ratio clip ε (None: SB3's 0.2)", gt=0)
    ent_coef: float | None = param(None, "entropy bonus weight (None: SB3's 0)", ge=0)
    vf_coef: float | None = param(None, "value-loss weight (None: SB3's 0.5)", ge=0)
    max_grad_norm: float | None = param(None, "gradient norm clip (None: SB3's 0.5)", gt=0)
    asymmetric_critic: bool = param(
        False,
        "an asymmetric actor-critic: the training envs append the privileged vector (true "
        "state, episode time, perturbation parameters: the quad envs' privileged=True; "
        "ppo_shared: each drone its own) that the critic reads and the actor's features drop "
        "(quadgym.agents.sb3.asymmetric); the actor flies and is exported on the env's own "
        "observation",
    )
    action_smoothness: float = param(
        0.0,
        "weight λ of the action-smoothness penalty: each training step's reward (ppo_shared: "
        "each drone's) loses λ·mean((a_t − a_{t−1})²) (quadgym.agents.sb3.recipes; 0: none)",
        ge=0.0,
    )
    precision_bonus: float = param(
        0.0,
        "weight w of the precision bonus: each training step's reward (ppo_shared: each "
        "drone's) gains w·exp(−d/precision_radius), d the step's position error, m "
        "(quadgym.agents.sb3.recipes; 0: none)",
        ge=0.0,
    )
    precision_radius: float = param(
        0.05, "length scale of the precision bonus's peak at the goal, m", gt=0.0
    )
    precision_warmup: int = param(
        0,
        "training steps (env steps; ppo_shared: agent-steps) over which the precision "
        "bonus's weight rises linearly from 0 to precision_bonus (a reward curriculum; 0: "
        "the full weight from the start)",
        ge=0,
    )
    schedule: Schedule = param(
        "constant",
        "learning-rate schedule: 'cosine' decays learning_rate to 0 over horizon, so the "
        "last updates settle the policy instead of moving it (quadgym.agents.schedule), "
        "or 'constant'",
    )
    horizon: int | None = param(
        None,
        "training steps (env steps; ppo_shared: agent-steps) the cosine schedule spans "
        "(scripts/train.py gives the run's total; None: the end of each learn call)",
        ge=1,
    )


@dataclasses.dataclass(frozen=True)
class PPOConfig(VecEnvConfig, PPOHyperConfig):
    """``ppo``: PPO on copies of a Gymnasium env."""

    n_envs: int | None = param(
        None,
        "copies of the env (None: the env's ENV_DEFAULTS n_envs, 8 where it has none); "
        "in subprocesses where ENV_DEFAULTS says so, else in a DummyVecEnv",
        ge=1,
    )


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
