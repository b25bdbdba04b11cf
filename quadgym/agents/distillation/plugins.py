"""Augmentors for ``HardShift-v0``: plain KD, hand-designed augmentations and HARD.

The environment distils its teacher into its student one update per step;
these plugins choose the augmentation of every training signal in the
batch (Nix, Burg, Sinz 2023, "HARD", arXiv 2305.14890).

* ``kd``: no augmentation (every shift 0): the student sees the training window only.
* ``kd_noise``: additive Gaussian noise of standard deviation ``noise_std``.
* ``kd_random_shift``: a uniform random circular shift, the augmentation one would
  design knowing that the teacher is shift invariant; with ``warp_slope`` > 0 and
  ``noise_std`` > 0 the strongest standard augmentation of 1-D signals we built: the
  shift, then a random smooth local warp (a displacement field of ``warp_modes`` Fourier
  modes with random amplitudes, its slope below ``warp_slope``, read at the nearest
  sample), then Gaussian noise, handed to the env as an additive perturbation.
* ``hard``: a learned augmentor, a categorical policy over integer shifts given the
  signal (an MLP), trained by REINFORCE on the per-signal disagreement the
  environment pays (``info["kl"]``), with the batch mean as baseline and an
  entropy bonus that keeps it from collapsing onto one shift.
* ``hard_grad``: a differentiable augmentor, an MLP of the signal and a noise
  vector that outputs a real shift (through an angle, so 0 and L meet), applied
  by linear interpolation and trained by gradient *ascent* on the
  teacher–student KL through the environment's model handles.

``learn(budget)`` runs ``budget`` environment steps (one student update
each; the budget unit is :attr:`BudgetUnit.ENV_STEPS`), starting a new
distillation run (episode) whenever one ends, and returns one record per step,
positioned at the steps done so far; ``self.final`` keeps the last run's
closing accuracies. Checkpoints hold the augmentor *and* the environment's run
in progress (student, optimizer, generator), so a resumed run continues
bit-identically.

Config (:class:`AugmentorConfig` and its subclasses): ``seed``, ``env_kwargs``
for ``gym.make`` (``dataset``, ``budget``, ...); ``kd_noise`` adds ``noise_std``,
``hard`` ``lr``/``ent_coef``/``hidden``, ``hard_grad`` ``lr``/``noise_dim``/``hidden``.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from quadgym.agents.base import AlgoConfig, Algorithm, BudgetUnit
from quadgym.agents.capabilities import DistillationHandles
from quadgym.agents.checkpoint import read_checkpoint, write_checkpoint
from quadgym.config import param
from quadgym.envs.hard.models import estimate_shift, fourier_modes, warp_nearest

ACCURACIES = ("acc_in_distribution", "acc_shifted", "acc_all")


@dataclasses.dataclass(frozen=True)
class AugmentorConfig(AlgoConfig):
    """Configuration of every HardShift-v0 plugin (``kd``, ``kd_random_shift``)."""

    env_kwargs: dict = param(
        {},
        "keywords for gym.make('HardShift-v0') when the plugin builds the env "
        "(dataset, budget in student updates, batch_size, window, task_seed, ...)",
    )

    def check(self) -> None:
        if "action_type" in self.env_kwargs:
            raise ValueError(
                "env_kwargs: action_type is the plugin's own (kd, kd_random_shift, hard: "
                "'shift'; kd_noise: 'additive'; hard_grad: 'continuous')"
            )


@dataclasses.dataclass(frozen=True)
class KDNoiseConfig(AugmentorConfig):
    """``kd_noise``: additive Gaussian input noise."""

    noise_std: float = param(0.5, "standard deviation of the noise (signal units)", ge=0)


@dataclasses.dataclass(frozen=True)
class KDRandomShiftConfig(AugmentorConfig):
    """``kd_random_shift``: uniform circular shifts, optionally with random local warps
    and noise on top (off by default: the plain shift, as an integer ``shift`` action)."""

    warp_slope: float = param(
        0.0, "largest slope of the random local warp's field (0: no warp; < 1: no fold)", ge=0, lt=1
    )
    warp_modes: int = param(6, "Fourier modes of the random local warp's field", ge=1)
    noise_std: float = param(0.0, "standard deviation of additive Gaussian noise", ge=0)


@dataclasses.dataclass(frozen=True)
class HARDConfig(AugmentorConfig):
    """``hard``: a categorical shift policy trained by REINFORCE."""

    lr: float = param(3e-3, "Adam step size of the policy (0 freezes it)", ge=0)
    ent_coef: float = param(0.01, "weight of the entropy bonus (per nat of entropy)", ge=0)
    hidden: int = param(64, "hidden width of the policy MLP (units)", ge=1)


@dataclasses.dataclass(frozen=True)
class HARDGradConfig(AugmentorConfig):
    """``hard_grad``: a differentiable shift generator trained by gradient ascent on the KL."""

    lr: float = param(1e-2, "Adam step size of the augmentor (0 freezes it)", ge=0)
    noise_dim: int = param(16, "size of the noise vector that makes it stochastic", ge=0)
    hidden: int = param(64, "hidden width of its MLP (units)", ge=1)


class AugmentorAlgorithm(Algorithm):
    """Shared loop of the HardShift-v0 plugins.

    Args:
        env: ``"HardShift-v0"`` (built with this plugin's ``action_type`` and the
            config's ``env_kwargs``) or an instance whose action type matches.
        config: see :attr:`Config`.

    Raises:
        ValueError: the env's ``action_type`` is not this plugin's.
    """

    Config: ClassVar[type[AugmentorConfig]] = AugmentorConfig
    budget_unit = BudgetUnit.ENV_STEPS
    supported_envs: ClassVar[tuple[str, ...]] = ("HardShift-v0",)
    requires = (DistillationHandles,)
    action_type: ClassVar[str] = "shift"
    #: every step's record (:meth:`_learn`); a subclass adds what its :meth:`update` returns
    logged: ClassVar[tuple[str, ...]] = ("episode", "reward", "out_of_window", *ACCURACIES)
    config: AugmentorConfig

    def __init__(self, env: str | gym.Env = "HardShift-v0", **config: Any) -> None:
        super().__init__(env, **config)
        self.task = self.env.unwrapped
        if self.task.action_type != self.action_type:
            raise ValueError(
                f"{self.name!r} needs a HardShift env with action_type={self.action_type!r}, "
                f"got {self.task.action_type!r}"
            )
        self.seed = self.config.seed
        self.rng = np.random.default_rng(self.seed)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.episodes = 0
        self.steps_done = 0
        self.final: dict[str, Any] = {}
        #: how often an augmented pattern started at each position, over all steps
        self.position_counts = np.zeros(self.task.data.length, dtype=np.int64)
        #: how often each circular shift 0 .. L-1 was induced (see :meth:`induced_shifts`)
        self.shift_counts = np.zeros(self.task.data.length, dtype=np.int64)
        self._obs: np.ndarray | None = None

    def make_env(self, env_id: str) -> gym.Env:
        """``env_id`` with this plugin's action type and the config's ``env_kwargs``."""
        return gym.make(env_id, action_type=self.action_type, **self.config.env_kwargs)

    @property
    def progress(self) -> int:
        """Environment steps (student updates) taken so far."""
        return self.steps_done

    # --------------------------------------------------------------- the loop
    def _learn(self, budget: int, emit: Callable[[dict], None]) -> None:
        for _ in range(budget):
            if self._obs is None:
                self._obs, _ = self.env.reset(seed=self.seed * 1000 + self.episodes)
            obs = self._obs
            action = self.augment(obs)
            self._obs, reward, _, truncated, info = self.env.step(action)
            shifts = self.induced_shifts(obs, action)
            positions = info["positions"]  # for additive actions: where the clean pattern starts
            if self.action_type == "additive":
                positions = np.mod(positions + shifts, self.task.data.length)
            np.add.at(self.position_counts, positions, 1)
            np.add.at(self.shift_counts, shifts, 1)
            record = {
                "episode": self.episodes,
                "reward": reward,
                "out_of_window": float(1.0 - np.mean(self.task.data.in_window(positions))),
                **self.update(obs, action, info),
                # the closing accuracies of a run; NaN on the steps before its end
                **{k: info.get(k, float("nan")) for k in ACCURACIES},
            }
            self.steps_done += 1
            if truncated:
                self.final = {**{k: info[k] for k in ACCURACIES}, "teacher": info["teacher"]}
                self.episodes += 1
                self._obs = None
            emit(record)

    def augment(self, obs: np.ndarray) -> np.ndarray:
        """The (sampled) augmentation of the batch ``obs`` used for training."""
        return self.act(obs, deterministic=False)

    def update(self, obs: np.ndarray, action: np.ndarray, info: dict) -> dict:
        """Learn from one step; returns metrics. Fixed augmentations learn nothing."""
        return {}

    def induced_shifts(self, obs: np.ndarray, action: np.ndarray) -> np.ndarray:
        """The circular shift (B,), 0 .. L-1, that ``action`` applied to each signal of
        ``obs``: the action itself (rounded) for shift actions; for additive ones the
        shift of best overlap between the clean and the augmented signal
        (:func:`~quadgym.envs.hard.models.estimate_shift`, cross-correlation)."""
        length = self.task.data.length
        if self.action_type == "additive":
            return estimate_shift(obs, obs + np.asarray(action, dtype=obs.dtype))
        return np.mod(np.round(np.asarray(action)).astype(np.int64), length)

    def _draw_rng(self, obs: np.ndarray, deterministic: bool) -> np.random.Generator:
        """The training generator, or one fixed by the seed and the observation."""
        if not deterministic:
            return self.rng
        return np.random.default_rng([self.seed, zlib.crc32(np.ascontiguousarray(obs).tobytes())])

    def _trainable(
        self, build: Callable[[], nn.Module], lr: float
    ) -> tuple[nn.Module, torch.optim.Adam]:
        """The network ``build()`` makes, initialised from the seed (leaving torch's
        global generator alone), and an Adam optimizer of step size ``lr`` over it."""
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            net = build()
        return net, torch.optim.Adam(net.parameters(), lr=lr)

    # ------------------------------------------------------------ checkpoints
    def modules(self) -> dict[str, Any]:
        """Named objects with ``state_dict``/``load_state_dict`` (nets, optimizers)."""
        return {}

    def save(self, path: str | Path) -> None:
        write_checkpoint(
            self,
            path,
            {
                "modules": {k: m.state_dict() for k, m in self.modules().items()},
                "seed": self.seed,
                "rng": self.rng.bit_generator.state,
                "generator": self.gen.get_state(),
                "counters": (self.episodes, self.steps_done),
                "position_counts": self.position_counts,
                "shift_counts": self.shift_counts,
                "run": None if self._obs is None else self.task.state_dict(),
                "obs": self._obs,
                "final": self.final,
            },
        )

    def load(self, path: str | Path) -> None:
        """Restore the augmentor, the run in progress and the seed it runs with."""
        ckpt = read_checkpoint(self, path)
        for key, module in self.modules().items():
            module.load_state_dict(ckpt["modules"][key])
        self.seed = int(ckpt["seed"])
        self.rng.bit_generator.state = ckpt["rng"]
        self.gen.set_state(ckpt["generator"])
        self.episodes, self.steps_done = ckpt["counters"]
        self.final = ckpt["final"]
        self.position_counts = np.asarray(ckpt["position_counts"]).copy()
        self.shift_counts = np.asarray(ckpt["shift_counts"]).copy()
        self._obs = ckpt["obs"]
        if ckpt["run"] is not None:
            self.env.reset()  # through the wrappers, which then allow step()
            self.task.load_state_dict(ckpt["run"])


class KD(AugmentorAlgorithm):
    """Plain knowledge distillation: every shift is 0."""

    name = "kd"

    def act(self, observation: np.ndarray, deterministic: bool = True) -> np.ndarray:
        return np.zeros(self.task.batch_size, dtype=np.int64)


class KDRandomShift(AugmentorAlgorithm):
    """Uniform random circular shifts (the augmentation that knows the answer); with
    ``warp_slope`` or ``noise_std`` the standard augmentation of shifts, random local
    warps and noise (an ``additive`` action: the augmented signal minus the clean one)."""

    name = "kd_random_shift"
    Config = KDRandomShiftConfig
    config: KDRandomShiftConfig

    @property
    def action_type(self) -> str:  # type: ignore[override]
        """``shift`` for plain shifts; ``additive`` with warps or noise."""
        c = self.config
        return "additive" if c.warp_slope > 0 or c.noise_std > 0 else "shift"

    def act(self, observation: np.ndarray, deterministic: bool = True) -> np.ndarray:
        rng = self._draw_rng(observation, deterministic)
        shifts = rng.integers(self.task.data.length, size=self.task.batch_size)
        if self.action_type == "shift":
            return shifts
        c, length = self.config, self.task.data.length
        basis, bound = fourier_modes(length, c.warp_modes, c.warp_slope)
        amplitudes = rng.uniform(-1, 1, size=(len(shifts), len(bound))) * bound.numpy()
        field = torch.as_tensor(shifts[:, None] + amplitudes @ basis.numpy(), dtype=torch.float32)
        x = torch.as_tensor(observation, dtype=torch.float32)
        warped = warp_nearest(x, field).numpy()
        noise = c.noise_std * rng.normal(size=warped.shape)
        return (warped + noise - observation).astype(np.float32)


class KDNoise(AugmentorAlgorithm):
    """Additive Gaussian input noise of standard deviation ``noise_std`` (default 0.5)."""

    name = "kd_noise"
    Config = KDNoiseConfig
    action_type = "additive"
    config: KDNoiseConfig

    def act(self, observation: np.ndarray, deterministic: bool = True) -> np.ndarray:
        rng = self._draw_rng(observation, deterministic)
        shape = self.task.action_space.shape
        return (self.config.noise_std * rng.normal(size=shape)).astype(np.float32)


class ShiftPolicy(nn.Module):
    """Logits (B, L) over integer shifts of each signal (B, L)."""

    def __init__(self, length: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(length, hidden), nn.ReLU(), nn.Linear(hidden, length))
        nn.init.zeros_(self.net[-1].weight)  # start uniform over shifts
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class HARD(AugmentorAlgorithm):
    """A learned shift policy trained by REINFORCE on the teacher–student disagreement
    (config: :class:`HARDConfig`)."""

    name = "hard"
    logged = (*AugmentorAlgorithm.logged, "policy_entropy")
    Config = HARDConfig
    config: HARDConfig

    def __init__(self, env: str | gym.Env = "HardShift-v0", **config: Any) -> None:
        super().__init__(env, **config)
        self.policy, self.optimizer = self._trainable(
            lambda: ShiftPolicy(self.task.data.length, self.config.hidden), self.config.lr
        )

    def modules(self) -> dict[str, Any]:
        return {"policy": self.policy, "optimizer": self.optimizer}

    def act(self, observation: np.ndarray, deterministic: bool = True) -> np.ndarray:
        with torch.no_grad():
            logits = self.policy(torch.as_tensor(observation, dtype=torch.float32))
        if deterministic:
            return logits.argmax(dim=-1).numpy()
        probs = torch.softmax(logits, dim=-1)
        return torch.multinomial(probs, 1, generator=self.gen)[:, 0].numpy()

    def update(self, obs: np.ndarray, action: np.ndarray, info: dict) -> dict:
        logits = self.policy(torch.as_tensor(obs, dtype=torch.float32))
        logp = torch.log_softmax(logits, dim=-1)
        chosen = logp.gather(1, torch.as_tensor(action)[:, None])[:, 0]
        kl = torch.as_tensor(info["kl"], dtype=torch.float32)
        advantage = (kl - kl.mean()) / (kl.std() + 1e-8)
        entropy = -(logp.exp() * logp).sum(dim=-1).mean()
        loss = -(advantage * chosen).mean() - self.config.ent_coef * entropy
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return {"policy_entropy": float(entropy.detach())}


class ShiftGenerator(nn.Module):
    """A real shift in [0, L) per signal from the signal and a noise vector.

    The MLP outputs a 2-vector whose angle is the shift as a fraction of a turn,
    so the map is smooth across the wrap from L back to 0.
    """

    def __init__(self, length: int, noise_dim: int = 16, hidden: int = 64):
        super().__init__()
        self.length, self.noise_dim = length, noise_dim
        self.net = nn.Sequential(
            nn.Linear(length + noise_dim, hidden), nn.Tanh(), nn.Linear(hidden, 2)
        )

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        uv = self.net(torch.cat([x, z], dim=-1))
        turn = torch.atan2(uv[:, 1], uv[:, 0]) / (2 * torch.pi)
        return torch.remainder(turn, 1.0) * self.length


class HARDGrad(AugmentorAlgorithm):
    """A differentiable shift augmentor trained by gradient ascent on the KL
    (config: :class:`HARDGradConfig`)."""

    name = "hard_grad"
    Config = HARDGradConfig
    action_type = "continuous"
    config: HARDGradConfig

    def __init__(self, env: str | gym.Env = "HardShift-v0", **config: Any) -> None:
        super().__init__(env, **config)
        c = self.config
        self.augmentor, self.optimizer = self._trainable(
            lambda: ShiftGenerator(self.task.data.length, c.noise_dim, c.hidden), c.lr
        )

    def modules(self) -> dict[str, Any]:
        return {"augmentor": self.augmentor, "optimizer": self.optimizer}

    def _noise(self, batch: int, deterministic: bool) -> torch.Tensor:
        if deterministic:
            return torch.zeros(batch, self.augmentor.noise_dim)
        return torch.randn(batch, self.augmentor.noise_dim, generator=self.gen)

    def act(self, observation: np.ndarray, deterministic: bool = True) -> np.ndarray:
        x = torch.as_tensor(observation, dtype=torch.float32)
        with torch.no_grad():
            s = self.augmentor(x, self._noise(len(x), deterministic))
        return np.clip(s.numpy(), 0.0, self.task.data.length).astype(np.float32)

    def augment(self, obs: np.ndarray) -> np.ndarray:
        """Sample shifts, take one ascent step on their disagreement, return those shifts."""
        x = torch.as_tensor(obs, dtype=torch.float32)
        z = self._noise(len(x), deterministic=False)
        shifts = self.augmentor(x, z)
        kl = self.task.disagreement(self.task.augment_tensor(x, shifts))
        self.optimizer.zero_grad()
        (-kl.mean()).backward()
        self.optimizer.step()
        return np.clip(shifts.detach().numpy(), 0.0, self.task.data.length).astype(np.float32)
