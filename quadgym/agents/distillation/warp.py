"""``hard_warp``: a learned spatial-transformer augmentor for ``HardShift-v0`` that is not
handed the shift family.

HARD (Nix, Burg, Sinz 2023, arXiv 2305.14890) trains an augmentation model to produce
inputs on which teacher and student disagree, under a bound on how large a
transformation may be, alternating with the student's distillation on the augmented
inputs. Its simplest augmentation model is a spatial transformer. Here, in 1-D:

* a generator (an MLP of the signal and a noise vector) outputs the coefficients of a
  smooth displacement field d(i) = c₀ + Σ_k a_k·cos(2πki/L) + b_k·sin(2πki/L),
  k = 1 .. ``modes``, in samples;
* the signal is resampled as x'(i) = x(i − d(i)) by linear interpolation
  (:func:`~quadgym.envs.hard.models.warp_interpolate`), differentiable in d;
* the size bound: |c₀| ≤ ``max_shift``·L (c₀ is the angle of a 2-vector, so that at
  the default 0.5 the map is smooth across the wrap from −L/2 to L/2), and the modes'
  amplitudes are bounded so that the field's slope stays below ``max_slope`` < 1: the
  warp stretches and compresses but never folds the signal;
* the environment receives only the difference x' − x as an ``additive`` action: it is
  not told that an augmentation is a shift, and neither is the generator, whose field
  can stretch, compress and move each part of a signal separately. Whether it ends up
  shifting is measured (:meth:`AugmentorAlgorithm.induced_shifts`, by cross-correlation).

Options (typed ``param`` fields of :class:`HARDWarpConfig`, all off by default):

* ``sampler="nearest"`` reads x(i − d(i)) at the nearest sample instead of interpolating:
  linear interpolation at a fractional displacement averages neighbouring samples, a blur
  that no evaluation signal has; the nearest sample keeps every value one of the signal's
  own (score estimator only: it is not differentiable in d).
* HARD with the standard augmentation. ``standard="random_shift"`` is the standard
  augmentation of a shift-invariant task (that of ``kd_random_shift``: a uniform integer
  circular shift). With ``warp_fraction`` < 1 the generator warps that fraction of each
  step's augmented signals (drawn at random) and the others get the standard augmentation
  alone, so that a batch mixes standard and learned samples; with ``compose=True`` the
  generator warps signals that were first shifted by the standard augmentation (it sees
  the shifted signal; the whole field is s + d, since a warp of a roll by an integer s is
  the warp by the field moved by s, exactly). The student's step is unchanged (the clean
  batch and as many augmented signals), so the budget equals ``kd_random_shift``'s.

The generator is trained to *maximise* the teacher–student KL on its warped signals
(minus ``size_coef`` times the mean squared displacement in units of L), one Adam step
per student update, by one of two estimators (``estimator``):

* ``pathwise``: gradient ascent through the sampler and the frozen teacher and current
  student (the environment's :meth:`disagreement` handle), the paper's way;
* ``score``: the coefficients are drawn from a Gaussian around the generator's output
  (learned log standard deviation), and the gradient is REINFORCE's on the per-signal
  KL the environment pays (``info["kl"]``), batch-mean baseline; it compares whole
  warps instead of following the local slope of a KL that is rugged in the displacement.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from quadgym.agents.distillation.plugins import AugmentorAlgorithm, AugmentorConfig
from quadgym.config import param
from quadgym.envs.hard.data import roll_rows
from quadgym.envs.hard.env import MAX_PERTURBATION
from quadgym.envs.hard.models import fourier_modes, warp_interpolate, warp_nearest

Estimator = Literal["pathwise", "score"]
Standard = Literal["none", "random_shift"]
Sampler = Literal["linear", "nearest"]


@dataclasses.dataclass(frozen=True)
class HARDWarpConfig(AugmentorConfig):
    """``hard_warp``: a spatial-transformer generator trained to maximise disagreement."""

    estimator: Estimator = param("score", "'pathwise' (gradient ascent) or 'score' (REINFORCE)")
    lr: float = param(3e-3, "Adam step size of the generator (0 freezes it)", ge=0)
    modes: int = param(6, "Fourier modes of the displacement field beyond the constant", ge=0)
    max_shift: float = param(
        0.5, "bound on the field's constant part |c0|, as a fraction of L", gt=0, le=0.5
    )
    max_slope: float = param(
        0.1, "bound on the slope of the field's modes (< 1: no folding)", ge=0, lt=1
    )
    size_coef: float = param(
        0.0, "penalty per unit of mean squared displacement in units of L (d/L)²", ge=0
    )
    noise_dim: int = param(16, "size of the noise vector given to the generator", ge=0)
    hidden: int = param(64, "hidden width of the generator MLP (units)", ge=1)
    init_std: float = param(1.0, "score: initial std of the coefficients' Gaussian", gt=0)
    ent_coef: float = param(0.01, "score: weight of the Gaussian's entropy bonus (per nat)", ge=0)
    sampler: Sampler = param(
        "linear",
        "how a warped signal is read between samples: 'linear' (differentiable; blurs at "
        "fractional displacements) or 'nearest' (the nearest sample, no blur; score only)",
    )
    standard: Standard = param(
        "none",
        "the standard augmentation: 'random_shift' (a uniform integer circular shift) or "
        "'none'; given to the signals the generator does not warp, and with compose=True "
        "to those it warps, before it warps them",
    )
    warp_fraction: float = param(
        1.0,
        "fraction of a step's augmented signals the generator warps (drawn at random; "
        "rounded to whole signals, at least one); the others get the standard augmentation only",
        gt=0,
        le=1,
    )
    compose: bool = param(
        False, "the generator warps signals that got the standard augmentation first"
    )

    def check(self) -> None:
        super().check()
        if self.sampler == "nearest" and self.estimator == "pathwise":
            raise ValueError(
                "sampler='nearest' is not differentiable in the displacement: use it with "
                "estimator='score', or sampler='linear' with 'pathwise'"
            )
        if self.standard != "none" and self.warp_fraction == 1 and not self.compose:
            raise ValueError(
                f"standard={self.standard!r} would never be applied: set warp_fraction < 1 "
                "(a batch mixes standard and warped signals) or compose=True"
            )
        if self.standard == "none" and self.compose:
            raise ValueError("compose=True needs a standard augmentation (standard='random_shift')")


class WarpGenerator(nn.Module):
    """Displacement fields (B, L), in samples, from signals (B, L) and noise (B, noise_dim).

    The MLP's raw output (B, 2 + 2·modes) is the 2-vector whose angle is the constant
    part and the pre-``tanh`` amplitudes of the modes; :meth:`field` maps any raw output
    (the MLP's, or a Gaussian draw around it) to a field within the bounds.
    """

    def __init__(
        self,
        length: int,
        modes: int,
        max_shift: float,
        max_slope: float,
        noise_dim: int,
        hidden: int,
    ):
        super().__init__()
        self.length, self.modes, self.noise_dim = length, modes, noise_dim
        self.max_shift = max_shift
        self.net = nn.Sequential(
            nn.Linear(length + noise_dim, hidden), nn.Tanh(), nn.Linear(hidden, 2 + 2 * modes)
        )
        basis, bound = fourier_modes(length, modes, max_slope)  # slope below max_slope
        self.register_buffer("basis", basis)
        self.register_buffer("bound", bound)

    def raw(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The MLP's output (B, 2 + 2·modes)."""
        return self.net(torch.cat([x, z], dim=-1))

    def field(self, raw: torch.Tensor) -> torch.Tensor:
        """The displacement field (B, L) of raw outputs (B, 2 + 2·modes), in samples."""
        turn = torch.atan2(raw[:, 1], raw[:, 0]) / (2 * torch.pi)  # (-1/2, 1/2]
        shift = 2 * self.max_shift * self.length * turn
        amplitudes = self.bound * torch.tanh(raw[:, 2:])
        return shift[:, None] + amplitudes @ self.basis


class HARDWarp(AugmentorAlgorithm):
    """A spatial-transformer augmentor trained to maximise the teacher–student disagreement
    (config: :class:`HARDWarpConfig`); the env sees additive perturbations."""

    name = "hard_warp"
    logged = (*AugmentorAlgorithm.logged, "log_std")
    Config = HARDWarpConfig
    action_type = "additive"
    config: HARDWarpConfig

    def __init__(self, env: str | gym.Env = "HardShift-v0", **config: Any) -> None:
        super().__init__(env, **config)
        c, length = self.config, self.task.data.length

        def build() -> nn.Module:
            gen = WarpGenerator(length, c.modes, c.max_shift, c.max_slope, c.noise_dim, c.hidden)
            # a learned log std per raw coefficient (used by the score estimator only)
            gen.log_std = nn.Parameter(torch.full((2 + 2 * c.modes,), math.log(c.init_std)))
            return gen

        self.generator, self.optimizer = self._trainable(build, c.lr)
        # the score estimator's draw (generator input, noise, raw draw, warped rows), until update()
        self._draw: tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray] | None = None

    def modules(self) -> dict[str, Any]:
        return {"generator": self.generator, "optimizer": self.optimizer}

    def _noise(self, batch: int, deterministic: bool) -> torch.Tensor:
        if deterministic:
            return torch.zeros(batch, self.config.noise_dim)
        return torch.randn(batch, self.config.noise_dim, generator=self.gen)

    def _standard(self, obs: np.ndarray, deterministic: bool) -> tuple[np.ndarray, np.ndarray]:
        """The standard augmentation's integer shifts (B,) and which signals the generator
        warps (B,) bool (``warp_fraction`` of them, at least one). The shifts are 0 for
        ``standard="none"``, and on the warped signals unless ``compose``. Drawn from the
        NumPy generator only when used, so that the defaults draw exactly what they drew
        before these options existed."""
        n, c = len(obs), self.config
        shifts, warped = np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)
        if c.standard == "none" and c.warp_fraction == 1:
            return shifts, warped
        rng = self._draw_rng(obs, deterministic)
        if c.standard == "random_shift":
            shifts = rng.integers(self.task.data.length, size=n)
        if c.warp_fraction < 1:
            warped = np.zeros(n, dtype=bool)
            warped[rng.choice(n, size=max(1, round(c.warp_fraction * n)), replace=False)] = True
        if not c.compose:
            shifts[warped] = 0
        return shifts, warped

    @staticmethod
    def _inputs(obs: np.ndarray, x: torch.Tensor, shifts: np.ndarray) -> torch.Tensor:
        """What the generator sees: the signals ``x`` (float32 ``obs``) rolled by the
        standard ``shifts``; ``x`` itself when no signal is shifted (the default)."""
        if not shifts.any():
            return x
        return torch.as_tensor(roll_rows(obs, shifts), dtype=torch.float32)

    @staticmethod
    def _total(generated: torch.Tensor, shifts: np.ndarray, warped: np.ndarray) -> torch.Tensor:
        """The whole displacement field (B, L) applied to the clean signals: the standard
        shift plus the generator's field on the warped rows (x(i − s − d(i)) is the warp by
        d of x rolled by s, exactly, for an integer s)."""
        base = torch.as_tensor(shifts, dtype=generated.dtype)[:, None]
        return base + generated * torch.as_tensor(warped, dtype=generated.dtype)[:, None]

    def _action(self, x: torch.Tensor, field: torch.Tensor) -> np.ndarray:
        """The additive action x' − x of the warped signals (read by the ``sampler``),
        within the env's bound."""
        sample = warp_nearest if self.config.sampler == "nearest" else warp_interpolate
        delta = sample(x, field) - x
        return delta.detach().clamp(-MAX_PERTURBATION, MAX_PERTURBATION).numpy()

    def _penalty(self, field: torch.Tensor) -> torch.Tensor:
        """Per-signal size penalty (B,): ``size_coef`` · mean over positions of (d/L)²."""
        return self.config.size_coef * (field / self.task.data.length).pow(2).mean(dim=-1)

    def warp_field(self, observation: np.ndarray, deterministic: bool = True) -> torch.Tensor:
        """Whole displacement fields (B, L) for a batch (the standard shift included),
        without gradients: the generator's output at zero noise (deterministic) or a
        training draw."""
        x = torch.as_tensor(observation, dtype=torch.float32)
        shifts, warped = self._standard(observation, deterministic)
        inputs = self._inputs(observation, x, shifts)
        with torch.no_grad():
            raw = self.generator.raw(inputs, self._noise(len(x), deterministic))
            if not deterministic and self.config.estimator == "score":
                eps = torch.randn(raw.shape, generator=self.gen)
                raw = raw + self.generator.log_std.exp() * eps
            return self._total(self.generator.field(raw), shifts, warped)

    def act(self, observation: np.ndarray, deterministic: bool = True) -> np.ndarray:
        x = torch.as_tensor(observation, dtype=torch.float32)
        return self._action(x, self.warp_field(observation, deterministic))

    def augment(self, obs: np.ndarray) -> np.ndarray:
        """Draw warps for the batch (after the standard augmentation); ``pathwise`` also
        takes its ascent step here, on the disagreement of the warped signals, before the
        student's update."""
        x = torch.as_tensor(obs, dtype=torch.float32)
        shifts, warped = self._standard(obs, deterministic=False)
        inputs = self._inputs(obs, x, shifts)
        z = self._noise(len(x), deterministic=False)
        if self.config.estimator == "score":
            with torch.no_grad():
                mean = self.generator.raw(inputs, z)
                eps = torch.randn(mean.shape, generator=self.gen)
                raw = mean + self.generator.log_std.exp() * eps
                self._draw = (inputs, z, raw, warped)
                return self._action(x, self._total(self.generator.field(raw), shifts, warped))
        generated = self.generator.field(self.generator.raw(inputs, z))
        field = self._total(generated, shifts, warped)
        kl = self.task.disagreement(warp_interpolate(x, field))
        rows = torch.as_tensor(warped)
        loss = -(kl - self._penalty(generated))[rows].mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return self._action(x, field.detach())

    def update(self, obs: np.ndarray, action: np.ndarray, info: dict) -> dict:
        """``score``: one REINFORCE step on the KL the env paid for the warped signals,
        minus the size penalty (baseline and scale: their batch mean and deviation)."""
        if self.config.estimator != "score":
            return {}
        inputs, z, raw, warped = self._draw
        self._draw = None
        rows = torch.as_tensor(warped)
        mean, log_std = self.generator.raw(inputs, z), self.generator.log_std
        logp = (-0.5 * ((raw - mean) / log_std.exp()) ** 2 - log_std).sum(dim=-1)[rows]
        with torch.no_grad():
            reward = torch.as_tensor(info["kl"], dtype=torch.float32)
            reward = (reward - self._penalty(self.generator.field(raw)))[rows]
            advantage = reward - reward.mean()
            if len(reward) > 1:
                advantage = advantage / (reward.std() + 1e-8)
        entropy = log_std.sum()  # the Gaussian's entropy up to a constant, nats
        loss = -(advantage * logp).mean() - self.config.ent_coef * entropy
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return {"log_std": float(log_std.detach().mean())}
