"""Batched cascaded PID for quadcopters, after the DSL Crazyflie controller.

The cascade, for ``n`` drones at once:

1. **Position loop**: position and velocity errors → a desired thrust vector
   (N), whose projection on the current body z axis is the collective thrust
   and whose direction (with the yaw set-point) is the desired attitude.
2. **Attitude loop**: the rotation error between current and desired attitude
   and the body-rate error → body torque commands, in PWM units.
3. **Motor mixer**: collective thrust (as a PWM level) plus the mixer times
   the torque commands → per-motor PWM, clipped to the motor's range, then
   RPM = scale·PWM + const.

Gains, PWM range and the PWM → RPM map are the published ones for the
Crazyflie 2.x (Panerati et al. 2021, DSL PID); like the original, they are
not offered for the racer, whose yaw authority (km/kf is a tenth of the
Crazyflie's against a longer arm) they do not suit: pass tuned gains for it.

Unlike the original, the mixer keeps the collective inside the PWM range the
torque commands leave free (thrust saturates before attitude authority does).

The D term of the attitude loop acts, as in the published controller, on the
Euler-angle rates estimated by differencing the attitude over one control
period (wrapped to ±π). That average over the period matters: fed the
instantaneous gyro rates instead, the discrete loop chatters at its torque
limit at 30-48 Hz.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quadgym.envs.quad.sim.dynamics import State, cross, euler_to_quat, quat_to_euler, quat_to_rot
from quadgym.envs.quad.sim.models import DroneModel

#: Airframes the published gains were tuned for.
TUNED_MODELS = ("cf2x", "cf2p")


@dataclass(frozen=True)
class PIDGains:
    """Gains and motor map of the cascaded PID.

    Position gains are in N per (m, m·s, m/s) of error; attitude gains in PWM
    units per (rad, rad·s, rad/s); the motor map is RPM = pwm2rpm_scale·PWM +
    pwm2rpm_const with PWM in [min_pwm, max_pwm].
    """

    p_pos: tuple[float, float, float] = (0.4, 0.4, 1.25)
    i_pos: tuple[float, float, float] = (0.05, 0.05, 0.05)
    d_pos: tuple[float, float, float] = (0.2, 0.2, 0.5)
    p_att: tuple[float, float, float] = (70000.0, 70000.0, 60000.0)
    i_att: tuple[float, float, float] = (0.0, 0.0, 500.0)
    d_att: tuple[float, float, float] = (20000.0, 20000.0, 12000.0)
    min_pwm: float = 20000.0
    max_pwm: float = 65535.0
    pwm2rpm_scale: float = 0.2685
    pwm2rpm_const: float = 4070.3
    #: clip of the position integral (x, y, z), m·s
    i_pos_limit: tuple[float, float, float] = (2.0, 2.0, 0.15)
    #: clip of the attitude integral (roll, pitch, yaw), rad·s
    i_att_limit: tuple[float, float, float] = (1.0, 1.0, 1500.0)
    #: clip of each torque command, PWM units
    max_torque_pwm: float = 3200.0

    @classmethod
    def for_model(cls, model: DroneModel) -> PIDGains:
        """The published gains, which exist for the Crazyflie models only.

        Raises:
            ValueError: for another airframe; pass ``gains=`` explicitly for it.
        """
        if model.name not in TUNED_MODELS:
            raise ValueError(
                f"the cascaded PID has published gains for {', '.join(TUNED_MODELS)} only, not "
                f"{model.name!r}; pass gains=PIDGains(...) tuned for that airframe"
            )
        return cls()


class CascadedPID:
    """Position → attitude → mixer PID for ``num_drones`` drones, batched.

    Args:
        model: the airframe (mass, kf, mixer geometry).
        num_drones: batch size.
        gains: defaults to :meth:`PIDGains.for_model`.
    """

    def __init__(self, model: DroneModel, num_drones: int = 1, gains: PIDGains | None = None):
        self.model = model
        self.num_drones = num_drones
        self.gains = gains or PIDGains.for_model(model)
        g = self.gains
        self._p_pos, self._i_pos, self._d_pos = (np.array(v) for v in (g.p_pos, g.i_pos, g.d_pos))
        self._p_att, self._i_att, self._d_att = (np.array(v) for v in (g.p_att, g.i_att, g.d_att))
        self._i_pos_lim, self._i_att_lim = np.array(g.i_pos_limit), np.array(g.i_att_limit)
        self._mixer = model.mixer
        self.reset()

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Zero the integrators (of the drones where ``mask`` is true, or all)."""
        if mask is None:
            self.int_pos = np.zeros((self.num_drones, 3))
            self.int_att = np.zeros((self.num_drones, 3))
            self.last_rpy = np.zeros((self.num_drones, 3))
            self.yaw_sp = np.zeros(self.num_drones)  # compute_attitude's yaw set-point, rad
            self._fresh = np.ones(self.num_drones, dtype=bool)
        else:
            self.int_pos[mask] = 0.0
            self.int_att[mask] = 0.0
            self._fresh[mask] = True

    def compute(
        self,
        state: State,
        target_pos: np.ndarray,
        dt: float,
        target_vel: np.ndarray | None = None,
        target_yaw: np.ndarray | float = 0.0,
    ) -> np.ndarray:
        """Motor speeds (n, 4), RPM, that drive the drones towards the set-points.

        Args:
            state: current state of the n drones.
            target_pos: (n, 3) position set-points, m.
            dt: time since the previous call (the control period), s.
            target_vel: (n, 3) velocity set-points, m/s (default zero).
            target_yaw: yaw set-points, rad, scalar or (n,).
        """
        rot = quat_to_rot(state.quat)
        thrust, rot_des = self._position_loop(state, rot, target_pos, dt, target_vel, target_yaw)
        return self._attitude_loop(state, rot, thrust, rot_des, dt)

    def attitude_setpoint(
        self,
        state: State,
        target_pos: np.ndarray,
        dt: float,
        target_vel: np.ndarray | None = None,
        target_yaw: np.ndarray | float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stage 1 alone: the collective thrust (n,) N and desired attitude (n, 3, 3)
        (body→world) the position loop asks of the attitude loop, for the same
        set-points as :meth:`compute` (its integrator advances as there)."""
        return self._position_loop(
            state, quat_to_rot(state.quat), target_pos, dt, target_vel, target_yaw
        )

    def _position_loop(
        self,
        state: State,
        rot: np.ndarray,
        target_pos: np.ndarray,
        dt: float,
        target_vel: np.ndarray | None,
        target_yaw: np.ndarray | float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stage 1: position and velocity errors → collective thrust (n,) N and desired
        attitude (n, 3, 3): body z along the thrust vector, body x towards the yaw."""
        model = self.model
        n = len(state)
        pos_e = target_pos - state.pos
        vel_e = (0.0 if target_vel is None else target_vel) - state.vel
        self.int_pos = np.clip(self.int_pos + pos_e * dt, -self._i_pos_lim, self._i_pos_lim)
        thrust_vec = self._p_pos * pos_e + self._i_pos * self.int_pos + self._d_pos * vel_e
        thrust_vec[:, 2] += model.weight
        collective = np.maximum(0.0, np.einsum("ni,ni->n", thrust_vec, rot[:, :, 2]))
        z_des = thrust_vec / np.maximum(np.linalg.norm(thrust_vec, axis=1, keepdims=True), 1e-9)
        yaw = np.broadcast_to(np.asarray(target_yaw, dtype=float), (n,))
        x_c = np.stack([np.cos(yaw), np.sin(yaw), np.zeros(n)], axis=1)
        y_des = cross(z_des, x_c)
        y_des /= np.maximum(np.linalg.norm(y_des, axis=1, keepdims=True), 1e-9)
        x_des = cross(y_des, z_des)
        return collective, np.stack([x_des, y_des, z_des], axis=2)

    def compute_attitude(
        self,
        state: State,
        thrust: np.ndarray,
        roll: np.ndarray,
        pitch: np.ndarray,
        yaw_rate: np.ndarray,
        dt: float,
    ) -> np.ndarray:
        """Motor speeds (n, 4), RPM, for the Crazyflie commander's attitude set-point:
        collective thrust (n,) N, roll and pitch (n,) rad, yaw rate (n,) rad/s.

        The yaw set-point starts at the drone's yaw at the first call after a reset
        and integrates ``yaw_rate`` over ``dt`` at every call; the attitude loop and
        mixer are those of :meth:`compute`.
        """
        rot = quat_to_rot(state.quat)
        yaw_now = quat_to_euler(state.quat)[:, 2]
        start = np.where(self._fresh, yaw_now, self.yaw_sp)
        self.yaw_sp = np.mod(start + yaw_rate * dt + np.pi, 2 * np.pi) - np.pi
        rpy = np.stack([roll, pitch, self.yaw_sp], axis=1)
        rot_des = quat_to_rot(euler_to_quat(rpy))
        return self._attitude_loop(state, rot, np.maximum(thrust, 0.0), rot_des, dt)

    def _attitude_loop(
        self,
        state: State,
        rot: np.ndarray,
        collective: np.ndarray,
        rot_des: np.ndarray,
        dt: float,
    ) -> np.ndarray:
        """Stages 2 and 3: torques towards the attitude ``rot_des`` (n, 3, 3), then the
        mixer with the collective thrust (n,) N; motor speeds (n, 4), RPM."""
        g, model = self.gains, self.model
        thrust_pwm = (np.sqrt(collective / (4.0 * model.kf)) - g.pwm2rpm_const) / g.pwm2rpm_scale
        # 2. attitude loop: e_R = vee(R_desᵀR − RᵀR_des) (twice the small-angle error)
        e_mat = np.einsum("nji,njk->nik", rot_des, rot) - np.einsum("nji,njk->nik", rot, rot_des)
        rot_e = np.stack([e_mat[:, 2, 1], e_mat[:, 0, 2], e_mat[:, 1, 0]], axis=1)
        self.int_att = np.clip(self.int_att - rot_e * dt, -self._i_att_lim, self._i_att_lim)
        rpy = quat_to_euler(state.quat)
        # the first call after a reset has no history: take zero rate
        self.last_rpy = np.where(self._fresh[:, None], rpy, self.last_rpy)
        self._fresh[:] = False
        rpy_rate = (np.mod(rpy - self.last_rpy + np.pi, 2 * np.pi) - np.pi) / dt
        self.last_rpy = rpy
        torque_pwm = -self._p_att * rot_e - self._d_att * rpy_rate + self._i_att * self.int_att
        torque_pwm = np.clip(torque_pwm, -g.max_torque_pwm, g.max_torque_pwm)
        # 3. mixer. The collective is kept inside the range the torque commands leave
        # free, so that saturation costs thrust, never attitude authority.
        diff = torque_pwm @ self._mixer.T
        headroom = np.minimum(np.abs(diff).max(axis=1), 0.5 * (g.max_pwm - g.min_pwm))
        thrust_pwm = np.clip(thrust_pwm, g.min_pwm + headroom, g.max_pwm - headroom)
        pwm = np.clip(thrust_pwm[:, None] + diff, g.min_pwm, g.max_pwm)
        return g.pwm2rpm_scale * pwm + g.pwm2rpm_const
