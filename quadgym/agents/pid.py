"""The cascaded PID as an algorithm plugin: it does not learn, it flies."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from quadgym.agents.base import Algorithm, BudgetUnit, atomic_write_bytes
from quadgym.agents.capabilities import QuadControl
from quadgym.control.pid import CascadedPID
from quadgym.envs.quad.dynamics import State, rot_to_quat


class PIDAgent(Algorithm):
    """Cascaded PID acting on QuadHover-v0 observations.

    With ``action_type="rpm"`` it rebuilds the drone's state from the
    observation (position relative to the target, rotation matrix, velocity,
    body rates), runs the cascaded PID towards the target and returns the
    normalised motor commands. With ``action_type="pid"`` the env already
    tracks a set-point, and the agent asks for the target itself (action 0).

    Config: only ``seed`` (unused: the controller is deterministic). Its budget
    (env steps) is counted but nothing is learnt, so ``learn`` makes no records.
    """

    name = "pid"
    budget_unit = BudgetUnit.ENV_STEPS
    supported_envs = ("QuadHover-v0",)
    requires = (QuadControl,)

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.task = self.env.unwrapped.task
        self.num_drones = self.env.unwrapped.num_drones
        self.controller = CascadedPID(self.task.model, self.num_drones)
        self.steps_done = 0

    @property
    def progress(self) -> int:
        return self.steps_done

    def _learn(self, budget: int, emit: Callable[[dict], None]) -> None:
        """Nothing to learn: the budget is counted and no record is made."""
        self.steps_done += budget

    def reset(self) -> None:
        self.controller.reset()

    def act(self, observation: np.ndarray, deterministic: bool = True) -> np.ndarray:
        obs = np.asarray(observation, dtype=np.float64).reshape(self.num_drones, -1)
        if self.task.action_type == "pid":
            action = np.zeros((self.num_drones, 3))
        else:
            rot = obs[:, 3:12].reshape(-1, 3, 3)
            state = State(-obs[:, 0:3], rot_to_quat(rot), obs[:, 12:15], obs[:, 15:18])
            rpm = self.controller.compute(
                state, np.zeros((self.num_drones, 3)), 1.0 / self.task.control_hz
            )
            action = np.clip((rpm / self.task.model.hover_rpm - 1.0) / self.task.rpm_scale, -1, 1)
        action = action.astype(np.float32)
        return action[0] if self.num_drones == 1 else action

    def save(self, path: str | Path) -> None:
        state = {"algo": self.name, "steps_done": self.steps_done}
        atomic_write_bytes(path, json.dumps(state).encode())

    def load(self, path: str | Path) -> None:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} is not a readable pid checkpoint: {exc}") from None
        if not isinstance(data, dict) or data.get("algo") != self.name:
            algo = data.get("algo") if isinstance(data, dict) else None
            raise ValueError(f"{path} is a checkpoint of {algo!r}, not of 'pid'")
        self.steps_done = int(data.get("steps_done", 0))
