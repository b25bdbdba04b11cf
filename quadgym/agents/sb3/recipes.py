"""Training recipes of the SB3 plugins that change what is optimised, never the physics.

:class:`SmoothnessPenalty` is the action-smoothness term of SimpleFlight (Chen et al.,
"What Matters in Learning a Zero-Shot Sim-to-Real RL Policy for Quadrotor Control"): each
step's reward loses ``weight`` times the mean squared difference between the action and
the one before it, so that a policy which chatters between motor commands (which a lagging
real motor cannot follow) pays for it in training. It wraps the training envs only: the
evaluation scores the task's own reward and metrics.

:class:`PrecisionBonus` sharpens a task's reward near its goal. The quad tasks' reward,
1 − distance/2 m, is linear, so holding a drone 9 cm off rather than 3 cm costs 3 % of a
step's reward, which PPO's noisy advantages do not resolve; a heavier drone then hovers
with a steady offset. The bonus ``weight``·exp(−distance/``radius``) adds a peak of width
``radius`` at the goal (Eschmann et al. and Chen et al. both weight position error
steeply near the goal). Training envs only, like the smoothness term. A step whose
reward stands for the steps left of its episode (a landing on QuadLand-v0: the task pays
them as if the drone sat on the pad, info ``credited_steps``) is paid the bonus at the
goal for each of them too. Without that, landing ended the bonus, and two landing seeds
of three learned to hover over the pad for it and never landed (issue 31's measurements,
baselines/README.md).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper


class SmoothnessPenalty(VecEnvWrapper):
    """Subtract ``weight``·mean((a_t − a_{t−1})²) from each env's reward; a_{t−1} is 0 at
    an episode's first step (as the envs' own previous-action observation is).

    Args:
        venv: the training envs (before ``VecNormalize``, so that the penalty is part of
            the returns it normalises).
        weight: λ ≥ 0, reward per unit of mean squared action change.
    """

    def __init__(self, venv: VecEnv, weight: float) -> None:
        super().__init__(venv)
        self.weight = float(weight)
        self.previous = np.zeros((venv.num_envs, int(np.prod(venv.action_space.shape))))
        self._actions = self.previous

    def reset(self) -> np.ndarray:
        self.previous = np.zeros_like(self.previous)
        return self.venv.reset()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=float).reshape(self.previous.shape)
        self.venv.step_async(actions)

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        change = np.mean((self._actions - self.previous) ** 2, axis=1)
        rewards = rewards - self.weight * change.astype(rewards.dtype)
        self.previous = np.where(np.asarray(dones)[:, None], 0.0, self._actions)
        return obs, rewards, dones, infos


class PrecisionBonus(VecEnvWrapper):
    """Add ``weight``·exp(−d/``radius``) to each env's reward, d the step's
    ``position_error`` info (m), which every quad task reports, and ``weight`` for each of
    the step's ``credited_steps`` (info; 0 without it): the steps left that the task's
    reward pays as if at the goal.

    With ``warmup`` the weight grows linearly from 0 to ``weight`` over the first
    ``warmup`` env steps of training, read from ``clock`` (the model's step counter, which a
    resumed run restores, so that a resume does not restart the ramp): a reward curriculum
    in the manner of Eschmann et al., whose cost weights grow as training goes on. Measured
    reason (issue 31): at weight 2 from the start, one hover seed of three never learned to
    take off.

    Args:
        venv: the training envs (before ``VecNormalize``).
        weight: reward at the goal itself, ≥ 0.
        radius: the peak's length scale, m, > 0.
        warmup: env steps over which the weight rises from 0 (0: none).
        clock: the env steps trained so far (needed with ``warmup``).

    Raises:
        KeyError: an env whose step infos have no ``position_error`` (at the first step).
        ValueError: ``warmup`` without a ``clock``.
    """

    def __init__(
        self,
        venv: VecEnv,
        weight: float,
        radius: float,
        warmup: int = 0,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if warmup and clock is None:
            raise ValueError("PrecisionBonus: warmup needs a clock (the env steps trained)")
        super().__init__(venv)
        self.weight, self.radius = float(weight), float(radius)
        self.warmup, self.clock = int(warmup), clock

    def current_weight(self) -> float:
        """The bonus's weight now: ``weight``, or its share of the warmup done."""
        if not self.warmup:
            return self.weight
        return self.weight * min(1.0, self.clock() / self.warmup)

    def reset(self) -> np.ndarray:
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        try:
            dist = np.array([info["position_error"] for info in infos], dtype=float)
        except KeyError:
            raise KeyError(
                "precision_bonus needs an env whose step infos carry 'position_error' (m), "
                "as the quad tasks' do"
            ) from None
        credited = np.array([info.get("credited_steps", 0) for info in infos], dtype=float)
        bonus = self.current_weight() * (np.exp(-dist / self.radius) + credited)
        return obs, rewards + bonus.astype(rewards.dtype), dones, infos
