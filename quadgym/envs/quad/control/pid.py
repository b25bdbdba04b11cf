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
torque commands leave free (thrust saturates before attitude authority does);
``PIDGains(keep_attitude=False)`` is the original's mixer (each motor clipped after
mixing). tests/test_control.py shows what the clamp buys: a climb from a 0.5 rad roll
that saturates the motors stays upright and on its set-point with it, and turns over
and falls 1.4 m with the per-motor clip (in a saturated descent from 0.8 rad the clip
ended nearer its set-point, measured there too).

The D term of the attitude loop acts, as in the published controller, on the
Euler-angle rates estimated by differencing the attitude over one control
period (wrapped to ±π). That average over the period matters: fed the
instantaneous gyro rates instead, the discrete loop chatters at its torque
limit at 30-48 Hz.

The cascade is written once (:func:`position_stage`, :func:`attitude_stage`) over the
components of :mod:`~quadgym.envs.quad.sim.columns`: up to its ``FLOATS_UP_TO`` drones it
runs drone by drone on Python floats (~15x faster than NumPy for one drone, whose
~100 small-array calls cost ~1 µs each), beyond that once on NumPy columns; both give
the same numbers (tests/test_control.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from quadgym.envs.quad.sim import columns
from quadgym.envs.quad.sim.columns import COLUMNS, FLOATS, euler, quaternion, rotation
from quadgym.envs.quad.sim.dynamics import State
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
    #: True: the collective is kept inside the PWM range the torque commands leave free,
    #: so saturation costs thrust, never attitude authority; False: DSLPIDControl's
    #: mixer, each motor's PWM clipped after mixing (a saturated motor drops its share
    #: of the torque command)
    keep_attitude: bool = True

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


class _Constants(SimpleNamespace):
    """The gains and motor map as plain floats (per axis: tuples), read by the stages."""


def _constants(gains: PIDGains, model: DroneModel) -> _Constants:
    g = gains
    return _Constants(
        p_pos=g.p_pos,
        i_pos=g.i_pos,
        d_pos=g.d_pos,
        i_pos_limit=g.i_pos_limit,
        neg_p_att=tuple(-v for v in g.p_att),
        d_att=g.d_att,
        i_att=g.i_att,
        i_att_limit=g.i_att_limit,
        max_torque=g.max_torque_pwm,
        weight=float(model.weight),
        four_kf=4.0 * float(model.kf),
        min_pwm=g.min_pwm,
        max_pwm=g.max_pwm,
        half_span=0.5 * (g.max_pwm - g.min_pwm),
        keep_attitude=bool(g.keep_attitude),
        scale=g.pwm2rpm_scale,
        const=g.pwm2rpm_const,
        mixer=tuple(tuple(float(v) for v in row) for row in model.mixer),
    )


def position_stage(
    xp: SimpleNamespace,
    c: _Constants,
    pos: tuple,
    vel: tuple,
    target: tuple,
    target_vel: tuple | None,
    yaw: Any,
    int_pos: tuple,
    rot: tuple,
    dt: float,
) -> tuple[Any, tuple, tuple]:
    """Stage 1: position and velocity errors → the collective thrust (N), the desired
    attitude (9 entries, row-major; body z along the thrust vector, body x towards the
    yaw) and the new position integral (m·s), for components of :mod:`.columns`."""
    lo, hi = xp.maximum, xp.minimum
    px, py, pz = pos
    tx, ty, tz = target
    ex, ey, ez = tx - px, ty - py, tz - pz
    vx, vy, vz = vel
    if target_vel is None:
        wx, wy, wz = 0.0 - vx, 0.0 - vy, 0.0 - vz
    else:
        wx, wy, wz = target_vel[0] - vx, target_vel[1] - vy, target_vel[2] - vz
    lx, ly, lz = c.i_pos_limit
    ix = hi(lo(int_pos[0] + ex * dt, -lx), lx)
    iy = hi(lo(int_pos[1] + ey * dt, -ly), ly)
    iz = hi(lo(int_pos[2] + ez * dt, -lz), lz)
    (kpx, kpy, kpz), (kix, kiy, kiz), (kdx, kdy, kdz) = c.p_pos, c.i_pos, c.d_pos
    fx = kpx * ex + kix * ix + kdx * wx
    fy = kpy * ey + kiy * iy + kdy * wy
    fz = kpz * ez + kiz * iz + kdz * wz + c.weight
    collective = lo(0.0, fx * rot[2] + fy * rot[5] + fz * rot[8])
    norm = lo(xp.sqrt(fx * fx + fy * fy + fz * fz), 1e-9)
    zx, zy, zz = fx / norm, fy / norm, fz / norm
    cos_yaw, sin_yaw = xp.cos(yaw), xp.sin(yaw)
    # body y: z_des × (cos ψ, sin ψ, 0), normalised; body x: y_des × z_des
    yx, yy, yz = -(zz * sin_yaw), zz * cos_yaw, zx * sin_yaw - zy * cos_yaw
    norm = lo(xp.sqrt(yx * yx + yy * yy + yz * yz), 1e-9)
    yx, yy, yz = yx / norm, yy / norm, yz / norm
    xx, xy, xz = yy * zz - yz * zy, yz * zx - yx * zz, yx * zy - yy * zx
    return collective, (xx, yx, zx, xy, yy, zy, xz, yz, zz), (ix, iy, iz)


def attitude_stage(
    xp: SimpleNamespace,
    c: _Constants,
    rot: tuple,
    rot_des: tuple,
    collective: Any,
    rpy: tuple,
    last_rpy: tuple,
    fresh: Any,
    int_att: tuple,
    dt: float,
) -> tuple[tuple, tuple]:
    """Stages 2 and 3: torques towards the attitude ``rot_des``, then the mixer with the
    collective thrust (N). Returns the four motor speeds (RPM) and the new attitude
    integral; ``fresh`` (the first call after a reset: no history) takes zero rate."""
    lo, hi, where, mod = xp.maximum, xp.minimum, xp.where, xp.mod
    thrust_pwm = (xp.sqrt(collective / c.four_kf) - c.const) / c.scale
    r, d = rot, rot_des
    # 2. attitude loop: e_R = vee(R_desᵀR − RᵀR_des) (twice the small-angle error)
    e0 = (d[2] * r[1] + d[5] * r[4] + d[8] * r[7]) - (r[2] * d[1] + r[5] * d[4] + r[8] * d[7])
    e1 = (d[0] * r[2] + d[3] * r[5] + d[6] * r[8]) - (r[0] * d[2] + r[3] * d[5] + r[6] * d[8])
    e2 = (d[1] * r[0] + d[4] * r[3] + d[7] * r[6]) - (r[1] * d[0] + r[4] * d[3] + r[7] * d[6])
    l0, l1, l2 = c.i_att_limit
    i0 = hi(lo(int_att[0] - e0 * dt, -l0), l0)
    i1 = hi(lo(int_att[1] - e1 * dt, -l1), l1)
    i2 = hi(lo(int_att[2] - e2 * dt, -l2), l2)
    # Euler-angle rates over the control period, wrapped to ±π
    pi, tau = math.pi, 2 * math.pi
    (a0, a1, a2), (b0, b1, b2) = rpy, last_rpy
    w0 = (mod(a0 - where(fresh, a0, b0) + pi, tau) - pi) / dt
    w1 = (mod(a1 - where(fresh, a1, b1) + pi, tau) - pi) / dt
    w2 = (mod(a2 - where(fresh, a2, b2) + pi, tau) - pi) / dt
    (p0, p1, p2), (k0, k1, k2), (j0, j1, j2) = c.neg_p_att, c.d_att, c.i_att
    lim = c.max_torque
    t0 = hi(lo(p0 * e0 - k0 * w0 + j0 * i0, -lim), lim)
    t1 = hi(lo(p1 * e1 - k1 * w1 + j1 * i1, -lim), lim)
    t2 = hi(lo(p2 * e2 - k2 * w2 + j2 * i2, -lim), lim)
    # 3. mixer. The collective is kept inside the range the torque commands leave
    # free, so that saturation costs thrust, never attitude authority.
    m0, m1, m2, m3 = c.mixer
    d0 = t0 * m0[0] + t1 * m0[1] + t2 * m0[2]
    d1 = t0 * m1[0] + t1 * m1[1] + t2 * m1[2]
    d2 = t0 * m2[0] + t1 * m2[1] + t2 * m2[2]
    d3 = t0 * m3[0] + t1 * m3[1] + t2 * m3[2]
    bottom, top = c.min_pwm, c.max_pwm
    if c.keep_attitude:
        headroom = hi(lo(lo(abs(d0), abs(d1)), lo(abs(d2), abs(d3))), c.half_span)
        thrust_pwm = hi(lo(thrust_pwm, bottom + headroom), top - headroom)
    scale, const = c.scale, c.const
    rpm = (
        scale * hi(lo(thrust_pwm + d0, bottom), top) + const,
        scale * hi(lo(thrust_pwm + d1, bottom), top) + const,
        scale * hi(lo(thrust_pwm + d2, bottom), top) + const,
        scale * hi(lo(thrust_pwm + d3, bottom), top) + const,
    )
    return rpm, (i0, i1, i2)


#: The PID's memory of one drone (floats) or all (columns): position and attitude
#: integrals, the attitude of the last call, compute_attitude's yaw set-point and
#: whether the drone has had no call since its reset.
_MEMORY = ("int_pos", "int_att", "last_rpy", "yaw_sp", "fresh")


class CascadedPID:
    """Position → attitude → mixer PID for ``num_drones`` drones, batched.

    Up to ``columns.FLOATS_UP_TO`` drones it keeps its memory and runs as Python
    floats, drone by drone; beyond, as NumPy columns. ``int_pos``, ``int_att`` (n, 3),
    ``last_rpy`` (n, 3) and ``yaw_sp`` (n,) read the memory as arrays either way.

    Args:
        model: the airframe (mass, kf, mixer geometry).
        num_drones: batch size.
        gains: defaults to :meth:`PIDGains.for_model`.
    """

    def __init__(self, model: DroneModel, num_drones: int = 1, gains: PIDGains | None = None):
        self.model = model
        self.num_drones = num_drones
        self.gains = gains or PIDGains.for_model(model)
        self._c = _constants(self.gains, model)
        self._floats = num_drones <= columns.FLOATS_UP_TO
        self.reset()

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Zero the integrators (of the drones where ``mask`` is true, or all)."""
        n = self.num_drones
        if mask is None:
            zeros = (0.0, 0.0, 0.0)
            if self._floats:
                self._drones = [(zeros, zeros, zeros, 0.0, True) for _ in range(n)]
            else:
                self._drones = (
                    *(tuple(np.zeros(n) for _ in range(3)) for _ in range(3)),
                    np.zeros(n),  # compute_attitude's yaw set-point, rad
                    np.ones(n, dtype=bool),
                )
            return
        if self._floats:
            for i in np.arange(n)[mask].tolist():
                _, _, last_rpy, yaw_sp, _ = self._drones[i]
                self._drones[i] = ((0.0,) * 3, (0.0,) * 3, last_rpy, yaw_sp, True)
        else:
            int_pos, int_att, _, _, fresh = self._drones
            for column in (*int_pos, *int_att):
                column[mask] = 0.0
            fresh[mask] = True

    def _memory(self, name: str) -> np.ndarray:
        k = _MEMORY.index(name)
        if self._floats:
            return np.array([drone[k] for drone in self._drones], dtype=float)
        part = self._drones[k]
        return np.stack(part, axis=1) if isinstance(part, tuple) else part.copy()

    int_pos = property(lambda self: self._memory("int_pos"), doc="(n, 3) position integral, m·s")
    int_att = property(lambda self: self._memory("int_att"), doc="(n, 3) attitude integral, rad·s")
    last_rpy = property(lambda self: self._memory("last_rpy"), doc="(n, 3) last roll, pitch, yaw")
    yaw_sp = property(lambda self: self._memory("yaw_sp"), doc="(n,) yaw set-point, rad")

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
        return self._run(
            "compute", state, dt, *_set_points(len(state.pos), target_pos, target_vel, target_yaw)
        )

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
        n = len(state.pos)
        inputs = _set_points(n, target_pos, target_vel, target_yaw)
        collective, rot_des = self._run("setpoint", state, dt, *inputs)
        return collective, rot_des.reshape(-1, 3, 3)

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
        n = len(state.pos)
        inputs = (_per_drone(v, n) for v in (thrust, roll, pitch, yaw_rate))
        return self._run("attitude", state, dt, *inputs)

    # ------------------------------------------------------------------ the two paths
    def _run(self, kind: str, state: State, dt: float, *inputs: Any) -> Any:
        """One call of ``kind`` ("compute", "setpoint", "attitude") for every drone:
        drone by drone on floats or once on columns. ``inputs`` are the public method's
        set-points (float arrays (n, k) or (n,), None, or one float for all)."""
        n, dt = len(state.pos), float(dt)
        if self._floats:
            drones, drone, outs = self._drones, self._drone, []
            pos, quat, vel = state.pos.tolist(), state.quat.tolist(), state.vel.tolist()
            rows = [v.tolist() if isinstance(v, np.ndarray) else [v] * n for v in inputs]
            for i in range(n):
                ins = [row[i] for row in rows]
                out, drones[i] = drone(FLOATS, kind, dt, pos[i], quat[i], vel[i], *ins, drones[i])
                outs.append(out)
            if kind == "setpoint":
                return np.array([o[0] for o in outs]), np.array([o[1] for o in outs])
            return np.array(outs)
        columns = [_columns(a) for a in (state.pos, state.quat, state.vel, *inputs)]
        out, memory = self._drone(COLUMNS, kind, dt, *columns, self._drones)
        int_pos, int_att, last_rpy, yaw_sp, fresh = memory
        self._drones = (
            int_pos,
            int_att,
            last_rpy,
            yaw_sp,
            np.zeros(n, bool) if fresh is False else fresh,
        )
        if kind == "setpoint":
            return out[0], np.stack(np.broadcast_arrays(*out[1]), axis=1)
        return np.stack(out, axis=1)

    def _drone(self, xp: SimpleNamespace, kind: str, dt: float, pos, quat, vel, *rest) -> tuple:
        """One pass of the cascade over components (one drone's floats or all drones'
        columns): the output and the new memory (see :data:`_MEMORY`)."""
        c = self._c
        *inputs, (int_pos, int_att, last_rpy, yaw_sp, fresh) = rest
        rot = rotation(*quat)
        if kind == "attitude":
            thrust, roll, pitch, yaw_rate = inputs
            rpy = euler(xp, *quat)
            start = xp.where(fresh, rpy[2], yaw_sp)
            yaw_sp = xp.mod(start + yaw_rate * dt + math.pi, 2 * math.pi) - math.pi
            rot_des = rotation(*quaternion(xp, roll, pitch, yaw_sp))
            collective = xp.maximum(thrust, 0.0)
        else:
            target, target_vel, target_yaw = inputs
            collective, rot_des, int_pos = position_stage(
                xp, c, pos, vel, target, target_vel, target_yaw, int_pos, rot, dt
            )
            if kind == "setpoint":
                return (collective, rot_des), (int_pos, int_att, last_rpy, yaw_sp, fresh)
            rpy = euler(xp, *quat)
        rpm, int_att = attitude_stage(
            xp, c, rot, rot_des, collective, rpy, last_rpy, fresh, int_att, dt
        )
        return rpm, (int_pos, int_att, rpy, yaw_sp, False)


def _per_drone(value: Any, n: int, width: int = 0) -> Any:
    """``value`` as a float array (n,) or (n, width), or a float when it is one scalar
    for every drone (None stays None)."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.shape == ((n, width) if width else (n,)) and value.dtype == np.float64:
            return value
    elif not width and isinstance(value, (float, int)):
        return float(value)
    return np.broadcast_to(np.asarray(value, dtype=float), (n, width) if width else (n,))


def _set_points(n: int, target_pos: Any, target_vel: Any, target_yaw: Any) -> tuple:
    return _per_drone(target_pos, n, 3), _per_drone(target_vel, n, 3), _per_drone(target_yaw, n)


def _columns(value: Any) -> Any:
    """``value`` as columns: a (n, k) array as k arrays (n,); others as they are."""
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return tuple(value.T)
    return value
