"""Training recipes of the SB3 plugins that change what is optimised, never the physics.

:class:`SmoothnessPenalty` is the action-smoothness term of SimpleFlight (Chen et al.,
"What Matters in Learning a Zero-Shot Sim-to-Real RL Policy for Quadrotor Control"): each
step's reward loses ``weight`` times the mean squared difference between the action and
the one before it, so that a policy which chatters between motor commands (which a lagging
real motor cannot follow) pays for it in training. It wraps the training envs only: the
evaluation scores the task's own reward and metrics.
"""

from __future__ import annotations

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
