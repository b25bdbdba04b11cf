"""Action types: how an agent's action in [-1, 1]^k becomes motor speeds.

One :class:`ActionMap` per task, shared by the three faces (single, swarm,
vector). Actions are clipped to [-1, 1] (finite values only: the faces refuse
NaN/inf before they get here). ``s`` is ``rpm_scale`` (0.5), ``r`` is
``pid_range`` (1 m), ``v`` is ``vel_limit`` (1 m/s), ``θ`` is ``max_angle``
(π/6 rad) and ``ψ'`` is ``max_yaw_rate`` (π/2 rad/s); ω_h is the hover RPM
and m·g the weight.

| action_type | dim | action                                   | −1 / 0 / +1                      |
|-------------|-----|------------------------------------------|----------------------------------|
| rpm         | 4   | speed of motor i                         | (1 − s)·ω_h / ω_h / (1 + s)·ω_h  |
| one_d_rpm   | 1   | speed of all four motors                 | (1 − s)·ω_h / ω_h / (1 + s)·ω_h  |
| pid         | 3   | position set-point, PID-tracked          | target − r / target / target + r |
| one_d_pid   | 1   | height set-point over the target's x, y  | z − r / z / z + r                |
| vel         | 4   | 0-2: direction (normalised; 0: none),    |                                  |
|             |     | 3: speed, PID-tracked velocity set-point | speed |a₃|·v along the direction |
| attitude    | 4   | 0: collective thrust                     | 0 / m·g / 2·m·g                  |
|             |     | 1-2: roll, pitch set-points              | −θ / 0 / +θ                      |
|             |     | 3: yaw rate set-point                    | −ψ' / 0 / +ψ'                    |

``vel`` is gym-pybullet-drones' VelocityAviary action (there the full speed is
3 % of the airframe's top speed, 0.25 m/s for the cf2x); the PID holds the
current yaw. ``attitude`` is the Crazyflie commander's set-point (roll, pitch,
yaw rate, thrust): the PID's attitude loop tracks roll, pitch and a yaw
set-point that integrates the yaw rate from the yaw at the episode's start.
Every PID-tracked type runs the PID at the physics rate (see
:meth:`ActionMap.inner_loop`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from quadgym.envs.quad.control.pid import CascadedPID
from quadgym.envs.quad.sim.columns import COLUMNS
from quadgym.envs.quad.sim.dynamics import State, quat_to_euler
from quadgym.envs.quad.sim.models import DroneModel

#: Action types every drone task understands, and each one's dimension.
ACTION_DIMS = {"rpm": 4, "one_d_rpm": 1, "pid": 3, "one_d_pid": 1, "vel": 4, "attitude": 4}
ACTION_TYPES = tuple(ACTION_DIMS)

#: The types whose set-points the cascaded PID tracks.
PID_TYPES = ("pid", "one_d_pid", "vel", "attitude")


def check_action_type(action_type: str) -> str:
    """``action_type`` if it is one of :data:`ACTION_TYPES`.

    Raises:
        ValueError: naming the value and the allowed ones.
    """
    if action_type not in ACTION_DIMS:
        raise ValueError(
            f"unknown action_type {action_type!r}; allowed: {', '.join(map(repr, ACTION_TYPES))}"
        )
    return action_type


@dataclass(frozen=True)
class ActionMap:
    """Actions in [-1, 1]^dim to motor speeds, for one action type (see the module table).

    Args:
        model: the airframe.
        action_type: one of :data:`ACTION_TYPES`.
        rpm_scale: relative motor-speed span of ``rpm`` and ``one_d_rpm``.
        pid_range: set-point span of ``pid`` and ``one_d_pid``, m.
        vel_limit: speed of a full ``vel`` command, m/s.
        max_angle: roll and pitch of a full ``attitude`` command, rad.
        max_yaw_rate: yaw rate of a full ``attitude`` command, rad/s.
    """

    model: DroneModel
    action_type: str = "rpm"
    rpm_scale: float = 0.5
    pid_range: float = 1.0
    vel_limit: float = 1.0
    max_angle: float = math.pi / 6
    max_yaw_rate: float = math.pi / 2

    def __post_init__(self) -> None:
        check_action_type(self.action_type)

    @property
    def dim(self) -> int:
        """Entries of one drone's action."""
        return ACTION_DIMS[self.action_type]

    def space(self) -> spaces.Box:
        """One drone's action space."""
        return spaces.Box(-1.0, 1.0, shape=(self.dim,), dtype=np.float32)

    def make_controller(self, num_drones: int) -> CascadedPID | None:
        """The PID this action type needs (None for ``rpm`` and ``one_d_rpm``).

        Raises:
            ValueError: an airframe without published PID gains (the racer).
        """
        if self.action_type not in PID_TYPES:
            return None
        return CascadedPID(self.model, num_drones)

    def inner_loop(self, substeps: int) -> tuple[int, int]:
        """How a control step splits: (motor-command updates, physics substeps each).

        Motor speeds of ``rpm`` types are held for the whole control step; the
        PID of the other types runs at the physics rate, as a flight controller
        runs much faster than the agent that gives it set-points (the published
        gains chatter at their torque limit below ~100 Hz).
        """
        return (1, substeps) if self.controller_free else (substeps, 1)

    @property
    def controller_free(self) -> bool:
        """Whether actions set motor speeds directly."""
        return self.action_type not in PID_TYPES

    def rpm(
        self,
        action: np.ndarray,
        state: State,
        target: np.ndarray,
        controller: CascadedPID | None,
        dt: float,
    ) -> np.ndarray:
        """Motor speeds (n, 4), RPM, for finite actions (n, dim), clipped to [-1, 1];
        ``target`` (n, 3) is the task's point (m), ``dt`` the time until the next
        motor-command update (s)."""
        return self.commander(COLUMNS.clip(action, -1.0, 1.0), target, controller)(state, dt)

    def commander(
        self, a: np.ndarray, target: np.ndarray, controller: CascadedPID | None
    ) -> Callable[[State, float], np.ndarray]:
        """:meth:`rpm` for one control step's actions ``a`` (n, dim), finite and already
        clipped to [-1, 1] (the episode core clips once for this and for the observed
        previous action), and target, as a function of the state and ``dt``: what does not
        change between the motor-command updates of a control step (the set-points) is
        worked out once, here."""
        kind = self.action_type
        hover = self.model.hover_rpm
        if kind in ("rpm", "one_d_rpm"):
            rpm = hover * (1.0 + self.rpm_scale * a)
            rpm = rpm if kind == "rpm" else np.repeat(rpm, 4, axis=1)
            return lambda state, dt: rpm
        if kind in ("pid", "one_d_pid"):
            if kind == "pid":
                setpoint = target + self.pid_range * a
            else:
                setpoint = target.copy()
                setpoint[:, 2] += self.pid_range * a[:, 0]
            return lambda state, dt: controller.compute(state, setpoint, dt)
        if kind == "vel":
            velocity = self.velocity(a)
            return lambda state, dt: controller.compute(
                state, state.pos, dt, target_vel=velocity, target_yaw=self._yaw(state)
            )
        thrust = self.model.weight * (1.0 + a[:, 0])  # attitude
        roll, pitch = self.max_angle * a[:, 1], self.max_angle * a[:, 2]
        yaw_rate = self.max_yaw_rate * a[:, 3]
        return lambda state, dt: controller.compute_attitude(
            state, thrust, roll, pitch, yaw_rate, dt
        )

    def velocity(self, action: np.ndarray) -> np.ndarray:
        """(n, 3) velocity set-points, m/s, of clipped ``vel`` actions (n, 4): the
        direction of entries 0-2 (none if they are all 0) at speed |a₃|·vel_limit."""
        direction = action[:, :3]
        norm = np.sqrt(np.einsum("ni,ni->n", direction, direction))[:, None]
        unit = np.divide(direction, norm, out=np.zeros_like(direction), where=norm > 0)
        return unit * (np.abs(action[:, 3:4]) * self.vel_limit)

    @staticmethod
    def _yaw(state: State) -> np.ndarray:
        """(n,) current yaw, rad: the ``vel`` PID holds it (it does not steer yaw)."""
        return quat_to_euler(state.quat)[:, 2]
