"""``HardShift-v0``: knowledge distillation in which the augmentor is the agent.

Nix, Burg, Sinz 2023, "HARD: Hard Augmentations for Robust Distillation"
(arXiv 2305.14890). A shift-invariant teacher (circular CNN, global max) is
distilled into an MLP student on signals whose pattern only ever starts in
a window of positions. Plain KD matches the teacher there and nowhere else;
an augmentor that finds inputs on which the two disagree (here: shifts that
move the pattern out of the window) and distils on them transfers the
teacher's invariance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from quadgym.config import param
from quadgym.envs.arguments import EnvConfig
from quadgym.envs.hard.data import DATASETS, Mnist1dData, ShiftData, ToyData, data_config, roll_rows
from quadgym.envs.hard.models import (
    MLPStudent,
    accuracy,
    kd_kl,
    shift_interpolate,
    train_teacher,
)
from quadgym.envs.lifecycle import EpisodeGuard

ACTION_TYPES = ("shift", "continuous", "additive")

#: Bound of an additive perturbation, signal units (the signals have unit RMS): ten times
#: a signal's typical size, far beyond any useful augmentation. Finite actions beyond it
#: are clipped to it; NaN/inf are refused.
MAX_PERTURBATION = 10.0

#: data sets drawn in this process, by (name, arguments) and task seed (MNIST-1D takes ~1 s)
_DATA: dict[tuple, ShiftData] = {}


@dataclass(frozen=True)
class HardShiftConfig(EnvConfig):
    """The arguments of HardShift-v0, checked before any data is drawn or model trained."""

    dataset: str = param("toy", "'toy' or 'mnist1d'", choices=DATASETS)
    action_type: str = param(
        "shift", "'shift', 'continuous' or 'additive' (see the action table)", choices=ACTION_TYPES
    )
    batch_size: int = param(32, "B, signals per step", ge=1)
    budget: int = param(600, "student updates per episode", ge=1)
    lr: float = param(1e-3, "the student's Adam step size", gt=0, le=1)
    temperature: float = param(
        4.0,
        "T of the distillation KL; tempered logits overflow float32 near 1e-37",
        ge=1e-3,
        le=1e3,
    )
    window: int = param(8, "training positions are 0 .. window-1; below the signal length", ge=1)
    task_seed: int = param(0, "draws the data set and trains the teacher", ge=0)
    data_kwargs: dict | None = param(
        None, "more data set arguments: ToyData's or Mnist1dData's fields but window"
    )

    def check(self) -> None:
        if "window" in (self.data_kwargs or {}):
            raise ValueError("data_kwargs: window is an argument of its own; set it directly")
        self.data_config()

    def data_config(self) -> ToyData | Mnist1dData:
        """The data set's checked arguments.

        Raises:
            ValueError, TypeError: an unknown data argument or a bad value, named.
        """
        try:
            return data_config(self.dataset, window=self.window, **(self.data_kwargs or {}))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{self.dataset} data: {exc}") from None


class HardShiftEnv(gym.Env):
    """
    ## Description

    The environment holds a data set of 1-D circular signals (:mod:`quadgym.envs.hard.data`),
    a teacher trained at construction from ``task_seed`` (exactly shift
    invariant, ≥ 97% accurate on the toy at every position), and a student
    MLP re-initialised at every reset. Each step the agent receives a batch
    of clean training signals and answers with an augmentation of each; the
    environment scores how much teacher and student disagree on the
    augmented batch, then makes one distillation update of the student on
    clean plus augmented signals. An episode is one distillation run of
    ``budget`` updates.

    ## Action Space

    | ``action_type`` | Space                               | Meaning                          |
    |-----------------|-------------------------------------|----------------------------------|
    | ``shift``       | ``MultiDiscrete([L] * B)``          | circular shift of each signal    |
    | ``continuous``  | ``Box(0, L, (B,), float32)``        | real shift, linear interpolation |
    | ``additive``    | ``Box(-10, 10, (B, L), float32)``   | a perturbation added to a signal |

    Shifts outside the space raise ``ValueError``; additive perturbations beyond
    ±10 (signal units: the signals have unit RMS) are clipped to it. NaN/inf or a
    wrong shape raise ``ValueError``.

    ## Observation Space

    ``Box(-inf, inf, (B, L), float32)``: ``batch_size`` clean training signals
    drawn uniformly (with replacement) from the training set.

    ## Rewards

    The mean over the batch of KL(teacher ‖ student) on the augmented signals
    at temperature ``temperature`` (times T²), measured before the update:
    the augmentor is paid for finding what the student has not yet learnt.
    ``info["kl"]`` has the per-signal values.

    ## Starting State

    A fresh student (its initial weights drawn from the reset seed) and an
    optimizer without history.

    ## Episode End

    Truncated after ``budget`` updates; never terminated. The last ``info``
    reports the student's accuracy on the evaluation set: ``acc_in_distribution``
    (pattern starts in the training window), ``acc_shifted`` (starts outside
    it, never seen in training) and ``acc_all``; ``teacher`` holds the same
    figures for the teacher.

    ## Info

    Every step: ``kl`` (B,), ``positions`` (B,) where each augmented pattern now
    starts (rounded; unchanged for additive actions), ``in_window`` (B,),
    ``updates``.

    ## Arguments

    | Parameter       | Default   | Description                                          |
    |-----------------|-----------|------------------------------------------------------|
    | ``dataset``     | ``toy``   | ``toy`` or ``mnist1d``                               |
    | ``action_type`` | ``shift`` | see the action table                                 |
    | ``batch_size``  | 32        | B, signals per step, >= 1                            |
    | ``budget``      | 600       | student updates per episode, >= 1                    |
    | ``lr``          | 1e-3      | the student's Adam step size, in (0, 1]              |
    | ``temperature`` | 4.0       | T of the distillation KL, in [1e-3, 1e3]             |
    | ``window``      | 8         | training positions are 0 .. window − 1; 1 <= window  |
    |                 |           | < L (32 for the toy, 40 for MNIST-1D)                |
    | ``task_seed``   | 0         | draws the data set and trains the teacher, >= 0      |
    | ``data_kwargs`` | ``None``  | more data set arguments (see below)                  |

    ``data_kwargs`` for ``toy`` (:class:`~quadgym.envs.hard.data.ToyData`):
    ``num_classes`` (8, >= 2), ``length`` (32, > window), ``template_width``
    (6, <= length), ``noise`` (0.3, in [0, 10]), ``num_train`` (512, >= 1),
    ``eval_per_position`` (4, >= 1); for ``mnist1d``
    (:class:`~quadgym.envs.hard.data.Mnist1dData`): ``num_samples`` (5000, >= 10).

    Every argument is checked before any data is drawn or teacher trained, as
    :class:`HardShiftConfig` (``env.config``): ``TypeError`` for a wrong type,
    ``ValueError`` for a value out of range or not finite, and an unknown
    ``data_kwargs`` key with the closest allowed one. ``step()`` before
    ``reset()`` or after the budget is spent raises ``ResetNeeded``; after
    ``close()``, ``EnvClosed``.

    Model handles for differentiable augmentors: :attr:`teacher`,
    :attr:`student`, :meth:`augment_tensor` and :meth:`disagreement`.

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        dataset: str = "toy",
        action_type: str = "shift",
        batch_size: int = 32,
        budget: int = 600,
        lr: float = 1e-3,
        temperature: float = 4.0,
        window: int = 8,
        task_seed: int = 0,
        data_kwargs: dict[str, Any] | None = None,
    ):
        self.config = config = HardShiftConfig.from_arguments(locals())
        data = config.data_config()
        key = (config.dataset, tuple(sorted(data.to_dict().items())))
        if (key, config.task_seed) not in _DATA:  # drawn once per process, read-only after
            _DATA[key, config.task_seed] = data.make(config.task_seed)
        self.data: ShiftData = _DATA[key, config.task_seed]
        self.teacher, self.teacher_accuracy = train_teacher(self.data, key, config.task_seed)
        self.dataset, self.action_type = config.dataset, config.action_type
        self.batch_size, self.budget = config.batch_size, config.budget
        self.lr, self.temperature = config.lr, config.temperature
        length = self.data.length
        self.observation_space = spaces.Box(-np.inf, np.inf, (self.batch_size, length), np.float32)
        if self.action_type == "shift":
            self.action_space = spaces.MultiDiscrete(np.full(self.batch_size, length))
        elif self.action_type == "continuous":
            self.action_space = spaces.Box(0.0, float(length), (self.batch_size,), np.float32)
        else:
            bound = MAX_PERTURBATION
            self.action_space = spaces.Box(-bound, bound, (self.batch_size, length), np.float32)
        self._x_train = torch.as_tensor(self.data.x_train)
        with torch.no_grad():  # the frozen teacher's logits of every clean training signal
            self._teacher_train = self.teacher(self._x_train)
        self._x_eval = torch.as_tensor(self.data.x_eval)
        self._y_eval = torch.as_tensor(self.data.y_eval)
        self._seen_eval = torch.as_tensor(self.data.in_window(self.data.pos_eval))
        self.student: MLPStudent | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._batch: np.ndarray | None = None
        self.updates = 0
        self._guard = EpisodeGuard(
            "HardShift-v0", over="the episode is over (budget spent); call reset()"
        )

    # ------------------------------------------------------------ model handles
    def augment_tensor(self, x: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """The augmented signals for clean ``x`` (B, L) and ``action`` as a tensor;
        differentiable in ``action`` for the continuous and additive types."""
        if self.action_type == "additive":
            return x + action
        return shift_interpolate(x, action.to(x.dtype))

    def disagreement(self, x: torch.Tensor) -> torch.Tensor:
        """Per-signal KL(teacher ‖ student) (B,) on ``x``, with gradients."""
        return kd_kl(self.teacher(x), self.student(x), self.temperature)

    def evaluate(self) -> dict[str, float]:
        """The student's accuracy on the evaluation set, split by position."""
        self._need_reset()
        correct = accuracy(self.student, self._x_eval, self._y_eval).float()
        return {
            "acc_in_distribution": float(correct[self._seen_eval].mean()),
            "acc_shifted": float(correct[~self._seen_eval].mean()),
            "acc_all": float(correct.mean()),
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything a distillation run in progress depends on (student, optimizer,
        generator, current batch), for checkpoints that resume bit-identically."""
        self._need_reset()
        return {
            "student": {k: v.clone() for k, v in self.student.state_dict().items()},
            "optimizer": self._optimizer.state_dict(),
            "np_random": self.np_random.bit_generator.state,
            "batch": self._batch.copy(),
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if self.student is None:
            self.reset()
        self.student.load_state_dict(state["student"])
        self._optimizer.load_state_dict(state["optimizer"])
        self.np_random.bit_generator.state = state["np_random"]
        self._batch = np.asarray(state["batch"]).copy()
        self.updates = int(state["updates"])
        self._guard.reset()  # the restored run goes on, unless its budget is spent
        self._guard.end(self.updates >= self.budget)

    @property
    def batch_positions(self) -> np.ndarray:
        """Pattern start positions (B,) of the current observation."""
        self._need_reset()
        return self.data.pos_train[self._batch]

    # -------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._guard.reset()
        super().reset(seed=seed)
        with torch.random.fork_rng():
            torch.manual_seed(int(self.np_random.integers(2**31)))
            self.student = MLPStudent(self.data.length, self.data.num_classes)
        self._optimizer = torch.optim.Adam(self.student.parameters(), lr=self.lr)
        self.updates = 0
        self._draw_batch()
        return self._obs(), {"updates": 0}

    def step(self, action: Any):
        self._guard.check_step()
        action = self._check_action(action)
        clean = self._x_train[self._batch]
        augmented = self._augment(clean, action)
        # one teacher pass (augmented half; the clean half's logits are cached) and one
        # student pass over clean + augmented: the augmented half's KL, detached, is the reward
        with torch.no_grad():
            teacher = torch.cat([self._teacher_train[self._batch], self.teacher(augmented)])
        per_signal = kd_kl(teacher, self.student(torch.cat([clean, augmented])), self.temperature)
        kl = per_signal[len(clean) :].detach()
        loss = per_signal.mean()
        self._optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._optimizer.step()
        self.updates += 1
        positions = self._augmented_positions(action)
        info: dict[str, Any] = {
            "kl": kl.numpy().astype(np.float64),
            "positions": positions,
            "in_window": self.data.in_window(positions),
            "updates": self.updates,
        }
        truncated = self.updates >= self.budget
        self._guard.end(truncated)
        if truncated:
            info.update(self.evaluate(), teacher=dict(self.teacher_accuracy))
        self._draw_batch()
        return self._obs(), float(kl.mean()), False, truncated, info

    def close(self) -> None:
        """Nothing to release; ``step()``/``reset()`` then raise ``EnvClosed``."""
        self._guard.close()

    # -------------------------------------------------------------- helpers
    def _draw_batch(self) -> None:
        self._batch = self.np_random.integers(len(self.data.y_train), size=self.batch_size)

    def _obs(self) -> np.ndarray:
        return self.data.x_train[self._batch].copy()

    def _need_reset(self) -> None:
        if self.student is None:
            raise RuntimeError("call reset() before step()")

    def _check_action(self, action: Any) -> np.ndarray:
        """``action`` as an array of the action space, or a ValueError naming what is wrong."""
        a = np.asarray(action)
        shape = self.action_space.shape
        if a.shape != shape:
            raise ValueError(f"action must have shape {shape} ({self.action_type}), got {a.shape}")
        if a.dtype.kind not in "iufb":
            raise ValueError(f"action must be numeric, got dtype {a.dtype}")
        if not np.all(np.isfinite(a)):
            bad = np.argwhere(~np.isfinite(a))[0].tolist()
            raise ValueError(f"action has a non-finite entry {a[tuple(bad)]} at index {bad}")
        length = self.data.length
        if self.action_type == "shift":
            if a.dtype.kind == "f" and np.any(a != np.round(a)):
                raise ValueError("shift actions must be integers; use action_type='continuous'")
            if np.any((a < 0) | (a >= length)):
                bad = a[(a < 0) | (a >= length)][0]
                raise ValueError(f"shift {bad} is outside the signal: allowed 0 .. {length - 1}")
            return a.astype(np.int64)
        if self.action_type == "continuous" and np.any((a < 0) | (a > length)):
            bad = a[(a < 0) | (a > length)][0]
            raise ValueError(f"shift {bad} is outside the signal: allowed [0, {length}]")
        if self.action_type == "additive":
            a = np.clip(a, -MAX_PERTURBATION, MAX_PERTURBATION)
        return a.astype(np.float32)

    def _augment(self, clean: torch.Tensor, action: np.ndarray) -> torch.Tensor:
        if self.action_type == "shift":
            return torch.as_tensor(roll_rows(clean.numpy(), action))
        return self.augment_tensor(clean, torch.as_tensor(action))

    def _augmented_positions(self, action: np.ndarray) -> np.ndarray:
        start = self.data.pos_train[self._batch]
        if self.action_type == "additive":
            return start.copy()
        return np.mod(start + np.round(action).astype(np.int64), self.data.length)
