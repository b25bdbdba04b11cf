"""The cascaded PID as an algorithm plugin: it does not learn, it flies."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.linalg import norm

from quadgym.agents.base import Algorithm, BudgetUnit, atomic_write_bytes
from quadgym.agents.capabilities import QuadControl
from quadgym.control.pid import CascadedPID
from quadgym.envs.quad.dynamics import State, quat_to_euler, rot_to_quat
from quadgym.envs.quad.gates import GatesTask


class PIDAgent(Algorithm):
    """Cascaded PID acting on QuadHover-v0 observations.

    It rebuilds the drone's state from the observation (position relative to
    the target, rotation matrix, velocity, body rates) and, per action type:

    * ``rpm``, ``one_d_rpm``: runs the cascaded PID towards the target and
      returns its normalised motor commands (their mean for ``one_d_rpm``);
    * ``pid``, ``one_d_pid``: the env already tracks a set-point; it asks for
      the target itself (action 0);
    * ``vel``: a velocity towards the target, ``VEL_GAIN`` (1/s) times the
      distance, at most the full command;
    * ``attitude``: the PID's position loop gives the collective thrust and the
      attitude, returned as thrust, roll and pitch set-points, and a yaw rate
      that turns the drone back to yaw 0.

    Its planner is what the observation shows: the goal point, approached
    through a set-point at most ``CARROT_UP`` m from the drone (``CARROT_DOWN``
    m below it: the published gains, run at the 30 Hz of the agent, saturate
    and tilt the drone past its limit on a 1 m step, and a landing must touch
    down slowly), and on QuadTrack-v0 the reference's velocity, estimated from
    the first observed reference point ahead, fed forward to the PID (``rpm``,
    ``attitude``) or added to the velocity command (``vel``).

    Config: only ``seed`` (unused: the controller is deterministic). Its budget
    (env steps) is counted but nothing is learnt, so ``learn`` makes no records.
    """

    #: Farthest the planner puts the PID's set-point from the drone, m: up and sideways,
    #: and downwards (a controlled descent, ~0.4 m/s with the published gains).
    CARROT_UP, CARROT_DOWN = 0.5, 0.15
    #: How far ahead a set-point action (``pid``) leads a moving goal, s: the position
    #: loop's lag (its velocity over position gain, ~0.4 s).
    LEAD_TIME = 0.4
    #: QuadGates-v0: the approach point's distance before a gate and the lead along its
    #: axis, m, and the distance from the axis at which the lead vanishes, m.
    GATE_APPROACH, GATE_ALIGN = 0.5, 0.2
    #: QuadGates-v0: the set-point's farthest distance (about 0.5 m/s of flight), m.
    GATE_CARROT = 0.4
    #: Speed command per metre from the target, 1/s (``vel`` actions).
    VEL_GAIN = 1.5
    #: Yaw-rate command per radian of yaw, 1/s (``attitude`` actions).
    YAW_GAIN = 2.0

    name = "pid"
    budget_unit = BudgetUnit.ENV_STEPS
    supported_envs = ("QuadHover-v0", "QuadTrack-v0", "QuadLand-v0", "QuadGates-v0")
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
        n, task = self.num_drones, self.task
        obs = np.asarray(observation, dtype=np.float64).reshape(n, -1)
        kind, maps = task.action_type, task.actions
        dt = 1.0 / task.control_hz
        rot = obs[:, 3:12].reshape(-1, 3, 3)
        state = State(-obs[:, 0:3], rot_to_quat(rot), obs[:, 12:15], obs[:, 15:18])
        error = self._waypoint(obs)  # where to fly, relative to the drone
        carrot = error * np.minimum(
            1.0, self._reach(error) / np.maximum(norm(error, axis=1, keepdims=True), 1e-9)
        )
        home = carrot - obs[:, 0:3]  # the set-point, relative to the goal (the state's origin)
        lead = self._reference_velocity(obs)
        if kind == "pid":
            action = (home if lead is None else home + self.LEAD_TIME * lead) / maps.pid_range
        elif kind == "one_d_pid":
            action = home[:, 2:3] / maps.pid_range
        elif kind in ("rpm", "one_d_rpm"):
            rpm = self.controller.compute(state, home, dt, target_vel=lead)
            if kind == "one_d_rpm":
                rpm = rpm.mean(axis=1, keepdims=True)
            action = (rpm / task.model.hover_rpm - 1.0) / maps.rpm_scale
        elif kind == "vel":
            command = self.VEL_GAIN * error + (0.0 if lead is None else lead)
            speed = np.linalg.norm(command, axis=1, keepdims=True)
            action = np.c_[command, np.minimum(speed / maps.vel_limit, 1.0)]
        else:  # attitude
            thrust, rot_des = self.controller.attitude_setpoint(state, home, dt, target_vel=lead)
            rpy_des = quat_to_euler(rot_to_quat(rot_des))
            yaw = quat_to_euler(state.quat)[:, 2]
            action = np.c_[
                thrust / task.model.weight - 1.0,
                rpy_des[:, :2] / maps.max_angle,
                -self.YAW_GAIN * yaw / maps.max_yaw_rate,
            ]
        action = np.clip(action, -1.0, 1.0).astype(np.float32)
        return action[0] if n == 1 else action

    def _waypoint(self, obs: np.ndarray) -> np.ndarray:
        """(n, 3) where the drone flies next, relative to it: the goal. On QuadGates-v0,
        far from the next gate (over 1 m ahead): a point ``GATE_APPROACH`` m before it on
        its axis; closer: the drone's own projection on the axis plus a lead along it
        that shrinks to 0 as the drone strays ``GATE_ALIGN`` m from the axis, so that it
        lines up first and then flies through."""
        error = obs[:, 0:3]
        if not isinstance(self.task, GatesTask):
            return error
        first = 18 + self.task.act_dim
        normal = np.c_[obs[:, first : first + 2], np.zeros(len(obs))]
        along = np.einsum("ni,ni->n", error, normal)[:, None]  # the gate is ahead if > 0
        offset = error - along * normal  # from the drone to the gate's axis
        lead = self.GATE_APPROACH * np.clip(
            1.0 - norm(offset, axis=1, keepdims=True) / self.GATE_ALIGN, 0.0, 1.0
        )
        near = offset + lead * normal
        return np.where(along > 1.0, error - self.GATE_APPROACH * normal, near)

    def _reach(self, error: np.ndarray) -> np.ndarray:
        """(n, 1) how far the set-point may lie from the drone, m, by direction (through
        gates never farther than ``GATE_CARROT``: slow enough to brake before a frame)."""
        down = error[:, 2:3] < 0.0
        up = self.GATE_CARROT if isinstance(self.task, GatesTask) else self.CARROT_UP
        return np.where(down, self.CARROT_DOWN, up)

    def _reference_velocity(self, obs: np.ndarray) -> np.ndarray | None:
        """(n, 3) the goal's velocity, m/s, where the observation shows where the goal
        will be (QuadTrack-v0's first reference point ahead); None elsewhere."""
        options = getattr(self.task, "options", None)
        if getattr(options, "lookahead", 0) < 1:
            return None
        first = 18 + self.task.act_dim
        return (obs[:, first : first + 3] - obs[:, 0:3]) / options.lookahead_dt

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
