"""LQR about hover as an algorithm plugin: the control baseline beyond the PID.

Its gain comes from the project's own dynamics, linearised about hover at the env's
control period (:mod:`quadgym.envs.quad.control.lqr`), so it follows the airframe's URDF
constants; it sets motor speeds, so it needs ``action_type="rpm"``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from quadgym.agents.model_based.base import ModelBasedAgent
from quadgym.envs.quad.control.lqr import LQR, from_state


class LQRAgent(ModelBasedAgent):
    """Discrete LQR on the state read off the observation, towards the planner's set-point
    (with the reference's velocity on QuadTrack-v0): u = −K·(x − x_ref), motor speeds
    hover + u, clipped to the action range.

    Raises:
        ValueError: an env whose action type is not ``rpm`` (the LQR commands motor
            speeds), or an airframe without a physics rate divisible into control steps.
    """

    name = "lqr"

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        if self.task.action_type != "rpm":
            raise ValueError(
                f"lqr sets motor speeds: it needs action_type='rpm', got {self.task.action_type!r}"
            )
        world = self.env.unwrapped.world
        self.controller = LQR(self.task.model, world.dt, self.env.unwrapped.substeps)

    def reset(self) -> None:
        """Nothing to reset: the LQR has no internal state."""

    def control(self, observation: np.ndarray) -> np.ndarray:
        obs, state = self.observed(observation)
        _, home, lead = self.plan(obs)
        x = from_state(state)
        reference = np.zeros_like(x)
        reference[:, 0:3] = home
        if lead is not None:
            reference[:, 3:6] = lead
        rpm = self.controller.rpm(x - reference)
        task = self.task
        action = (rpm / task.model.hover_rpm - 1.0) / task.actions.rpm_scale
        return np.clip(action, -1.0, 1.0).astype(np.float32)
