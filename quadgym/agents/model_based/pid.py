"""The cascaded PID as an algorithm plugin: it does not learn, it flies."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from quadgym.agents.model_based.base import ModelBasedAgent
from quadgym.envs.quad.control.pid import CascadedPID
from quadgym.envs.quad.sim.dynamics import quat_to_euler, rot_to_quat


class PIDAgent(ModelBasedAgent):
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

    Its planner (:class:`~quadgym.agents.model_based.base.ModelBasedAgent`) gives the
    set-point and, on QuadTrack-v0, the reference's velocity, fed forward to the
    PID (``rpm``, ``attitude``) or added to the velocity command (``vel``).
    """

    #: How far ahead a set-point action (``pid``) leads a moving goal, s: the position
    #: loop's lag (its velocity over position gain, ~0.4 s).
    LEAD_TIME = 0.4
    #: Speed command per metre from the target, 1/s (``vel`` actions).
    VEL_GAIN = 1.5
    #: Yaw-rate command per radian of yaw, 1/s (``attitude`` actions).
    YAW_GAIN = 2.0

    name = "pid"

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.controller = CascadedPID(self.task.model, self.num_drones)

    def reset(self) -> None:
        self.controller.reset()

    def control(self, observation: np.ndarray) -> np.ndarray:
        task = self.task
        obs, state = self.observed(observation)
        kind, maps = task.action_type, task.actions
        dt = 1.0 / task.control_hz
        error, home, lead = self.plan(obs)
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
        return np.clip(action, -1.0, 1.0).astype(np.float32)
