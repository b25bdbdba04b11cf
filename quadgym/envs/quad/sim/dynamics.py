"""Quadcopter rigid-body dynamics, written once for one drone and for n drones.

This module is the single source of truth for motion in the ``dyn`` physics mode
and in the vector backend. The law itself (:func:`accelerations`, :func:`derivative`)
and the steps over it (:func:`euler_step`, :func:`rk4_step`, the ground rule
:func:`contact`) are kernels over :mod:`.columns`' components: each drone's state is a
tuple of 13 numbers, Python floats drone by drone up to :data:`FLOATS_UP_TO` drones
(NumPy's ~1 µs per call outweighs one drone's ~100 operations) and (n,) NumPy columns
beyond, the same expressions giving the same doubles either way. The array helpers
(:class:`State`, :func:`step`, :func:`quat_to_rot`, ...) take arrays with a leading
batch axis ``n`` (one row per drone).

Conventions:
    * World frame z up; gravity ``GRAVITY`` along −z.
    * Quaternions are (x, y, z, w), as in PyBullet, and rotate body to world.
    * Linear velocity is in the world frame (m/s); angular velocity is in the
      body frame (rad/s), as a gyroscope measures it.
    * Motor speeds are in RPM; thrust = kf·ω², reaction torque = km·ω².

The integrator is semi-implicit Euler (velocities first, then positions with
the new velocities), with the attitude advanced by the exact exponential of
the body rate over the step; it is what Bullet does for a free body, which is
why ``pyb`` and ``dyn`` agree closely. The classical fourth-order Runge-Kutta
method over the same derivative is an option (``integrator="rk4"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from quadgym.envs.quad.sim.columns import COLUMNS, FLOATS, body_z
from quadgym.envs.quad.sim.columns import quat_mul as quat_mul_parts
from quadgym.envs.quad.sim.models import GRAVITY, DroneModel


@dataclass
class State:
    """Kinematic state of ``n`` drones; every field has a leading batch axis.

    Attributes:
        pos: (n, 3) position, m.
        quat: (n, 4) attitude quaternion (x, y, z, w), body to world.
        vel: (n, 3) linear velocity in the world frame, m/s.
        ang_vel: (n, 3) angular velocity in the body frame, rad/s.
    """

    pos: np.ndarray
    quat: np.ndarray
    vel: np.ndarray
    ang_vel: np.ndarray

    @classmethod
    def at_rest(cls, pos: np.ndarray, dtype: type = np.float64) -> State:
        """Drones at ``pos`` (n, 3), level, not moving."""
        pos = np.array(pos, dtype=dtype).reshape(-1, 3)
        n = pos.shape[0]
        quat = np.zeros((n, 4), dtype=dtype)
        quat[:, 3] = 1.0
        return cls(pos, quat, np.zeros((n, 3), dtype=dtype), np.zeros((n, 3), dtype=dtype))

    def copy(self) -> State:
        return State(self.pos.copy(), self.quat.copy(), self.vel.copy(), self.ang_vel.copy())

    def take(self, rows: np.ndarray) -> State:
        """The drones ``rows`` (indices), as a new State."""
        return State(self.pos[rows], self.quat[rows], self.vel[rows], self.ang_vel[rows])

    def put(self, rows: np.ndarray, other: State) -> None:
        """Write ``other`` into the drones ``rows`` (indices), in place."""
        self.pos[rows], self.quat[rows] = other.pos, other.quat
        self.vel[rows], self.ang_vel[rows] = other.vel, other.ang_vel

    def __len__(self) -> int:
        return self.pos.shape[0]


def _quadratic_rotation_map() -> np.ndarray:
    """(16, 9) matrix C with R.ravel() = (q ⊗ q).ravel() @ C for a unit quaternion q.

    Each entry of a rotation matrix is a quadratic form in (x, y, z, w), e.g.
    R00 = w² + x² − y² − z², R01 = 2(xy − wz); written as one matrix product
    it costs a single call instead of a dozen small array operations.
    """
    x, y, z, w = range(4)
    terms = {
        0: [(w, w, 1), (x, x, 1), (y, y, -1), (z, z, -1)],
        1: [(x, y, 2), (w, z, -2)],
        2: [(x, z, 2), (w, y, 2)],
        3: [(x, y, 2), (w, z, 2)],
        4: [(w, w, 1), (x, x, -1), (y, y, 1), (z, z, -1)],
        5: [(y, z, 2), (w, x, -2)],
        6: [(x, z, 2), (w, y, -2)],
        7: [(y, z, 2), (w, x, 2)],
        8: [(w, w, 1), (x, x, -1), (y, y, -1), (z, z, 1)],
    }
    c = np.zeros((16, 9))
    for entry, products in terms.items():
        for a, b, k in products:
            c[4 * a + b, entry] += k
    return c


_ROT_MAP = _quadratic_rotation_map()


#: Batch size from which elementwise formulas beat one small matrix product
#: (measured: the product wins by ~5x at n = 1 and ~1.3x at 64, the elementwise form by
#: ~2x at 4096).
_ELEMENTWISE_FROM = 256


def quat_to_rot(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) of unit quaternions (n, 4) in (x, y, z, w) order."""
    if q.shape[0] < _ELEMENTWISE_FROM:
        qq = (q[:, :, None] * q[:, None, :]).reshape(-1, 16)
        return (qq @ _ROT_MAP.astype(q.dtype, copy=False)).reshape(-1, 3, 3)
    x, y, z, w = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    x2, y2, z2 = x + x, y + y, z + z
    xx, yy, zz = x * x2, y * y2, z * z2
    xy, xz, yz = x * y2, x * z2, y * z2
    wx, wy, wz = w * x2, w * y2, w * z2
    r = np.empty((q.shape[0], 3, 3), dtype=q.dtype)
    r[:, 0, 0] = 1.0 - (yy + zz)
    r[:, 0, 1] = xy - wz
    r[:, 0, 2] = xz + wy
    r[:, 1, 0] = xy + wz
    r[:, 1, 1] = 1.0 - (xx + zz)
    r[:, 1, 2] = yz - wx
    r[:, 2, 0] = xz - wy
    r[:, 2, 1] = yz + wx
    r[:, 2, 2] = 1.0 - (xx + yy)
    return r


def quat_to_euler(q: np.ndarray) -> np.ndarray:
    """Roll, pitch, yaw (n, 3), rad, of quaternions (n, 4) (x, y, z, w).

    The fixed-axis XYZ convention PyBullet's ``getEulerFromQuaternion`` uses:
    the rotation is yaw·pitch·roll applied to body vectors.
    """
    x, y, z, w = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    roll = np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0))
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return np.stack([roll, pitch, yaw], axis=-1)


def euler_to_quat(rpy: np.ndarray) -> np.ndarray:
    """Quaternions (n, 4) (x, y, z, w) of roll, pitch, yaw angles (n, 3), the inverse of
    :func:`quat_to_euler`."""
    rpy = np.asarray(rpy, dtype=float).reshape(-1, 3)
    cr, sr = np.cos(rpy[:, 0] / 2), np.sin(rpy[:, 0] / 2)
    cp, sp = np.cos(rpy[:, 1] / 2), np.sin(rpy[:, 1] / 2)
    cy, sy = np.cos(rpy[:, 2] / 2), np.sin(rpy[:, 2] / 2)
    return np.stack(
        [
            sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy,
        ],
        axis=-1,
    )


def _hamilton_map() -> np.ndarray:
    """(16, 4) matrix H with (a ⊗ b) = (a_i·b_j).ravel() @ H, the Hamilton product of
    (x, y, z, w) quaternions as one bilinear map."""
    x, y, z, w = range(4)
    terms = {
        x: [(w, x, 1), (x, w, 1), (y, z, 1), (z, y, -1)],
        y: [(w, y, 1), (x, z, -1), (y, w, 1), (z, x, 1)],
        z: [(w, z, 1), (x, y, 1), (y, x, -1), (z, w, 1)],
        w: [(w, w, 1), (x, x, -1), (y, y, -1), (z, z, -1)],
    }
    h = np.zeros((16, 4))
    for out, products in terms.items():
        for i, j, k in products:
            h[4 * i + j, out] = k
    return h


_HAMILTON = _hamilton_map()


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton products a ⊗ b of (n, 4) quaternions in (x, y, z, w) order."""
    if a.shape[0] < _ELEMENTWISE_FROM:
        prod = (a[:, :, None] * b[:, None, :]).reshape(-1, 16)
        return prod @ _HAMILTON.astype(a.dtype, copy=False)
    ax, ay, az, aw = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    bx, by, bz, bw = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    out = np.empty_like(a)
    out[:, 0] = aw * bx + ax * bw + ay * bz - az * by
    out[:, 1] = aw * by - ax * bz + ay * bw + az * bx
    out[:, 2] = aw * bz + ax * by - ay * bx + az * bw
    out[:, 3] = aw * bw - ax * bx - ay * by - az * bz
    return out


_NEXT, _PREV = [1, 2, 0], [2, 0, 1]


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross products of (n, 3) arrays (``np.cross`` costs ~10x more on small n)."""
    return a[:, _NEXT] * b[:, _PREV] - a[:, _PREV] * b[:, _NEXT]


def wrench_matrix(model: DroneModel) -> np.ndarray:
    """(4, 4) matrix W with [thrust, τx, τy, τz] = ω² @ W for motor speeds ω (RPM).

    Thrust of motor i is kf·ω_i² along body z at (x_i, y_i); its torque about
    the centre of mass is r_i × F_i = (y_i·F_i, −x_i·F_i, 0); its reaction
    torque about body z is spin_i·km·ω_i².
    """
    x, y = model.motor_pos[:, 0], model.motor_pos[:, 1]
    return np.stack(
        [np.full(4, model.kf), model.kf * y, -model.kf * x, model.km * model.motor_spin], axis=1
    )


def motor_wrench(rpm: np.ndarray, model: DroneModel) -> np.ndarray:
    """(n, 4) collective thrust (N) and body torques (N·m) of motor speeds (n, 4) in RPM."""
    return (rpm * rpm) @ wrench_matrix(model)


#: Drones up to which the kernels below run drone by drone on Python floats, beyond that
#: once on NumPy columns (measured, one ``dyn`` substep of physics.advance on a shared
#: machine: ~7 µs a drone on floats; ~150 µs on columns from 12 to 64 drones, ~0.6 ms at
#: 4096, where the previous (n, 3, 3) array code took ~1 ms).
FLOATS_UP_TO = 16

#: The component order of one drone's state in the kernels: position (3), quaternion (4),
#: linear velocity (3), body rates (3).
N_COMPONENTS = 13


def namespace(n: int) -> SimpleNamespace:
    """The arithmetic the kernels run on for ``n`` drones: floats up to :data:`FLOATS_UP_TO`."""
    return FLOATS if n <= FLOATS_UP_TO else COLUMNS


def components(xp: SimpleNamespace, state: State) -> list:
    """``state`` as the kernels take it: a list of :data:`N_COMPONENTS`-tuples, one per drone
    of Python floats (``FLOATS``), or one of (n,) columns for every drone (``COLUMNS``)."""
    a = np.concatenate((state.pos, state.quat, state.vel, state.ang_vel), axis=1)
    if xp is FLOATS:
        return a.tolist()
    return [tuple(a.T.copy())]  # contiguous columns


def store(xp: SimpleNamespace, parts: list, state: State) -> State:
    """Write the kernels' ``parts`` (as :func:`components` gives them) back into ``state``,
    in place, and return it."""
    a = np.array(parts, dtype=state.pos.dtype) if xp is FLOATS else np.stack(parts[0], axis=1)
    state.pos[:], state.quat[:] = a[:, 0:3], a[:, 3:7]
    state.vel[:], state.ang_vel[:] = a[:, 7:10], a[:, 10:13]
    return state


def per_drone(xp: SimpleNamespace, value: Any, n: int) -> list:
    """A parameter of the kernels, one entry per part of :func:`components`: ``value`` is
    None, a constant (a float or a (k,) vector, the same for every drone) or one row per
    drone ((n, 1) for a scalar such as a randomised mass, (n, k) for a vector)."""
    parts = n if xp is FLOATS else 1
    if value is None:
        return [None] * parts
    a = np.asarray(value, dtype=float)
    if a.ndim == 0:
        return [float(a)] * parts
    if a.ndim == 1:
        return [tuple(a.tolist())] * parts
    if a.shape[1] == 1:
        a = a[:, 0]
        return a.tolist() if xp is FLOATS else [a]
    if xp is FLOATS:
        return a.tolist()
    return [tuple(a.T)]


def accelerations(
    xp: SimpleNamespace,
    quat: tuple,
    ang_vel: tuple,
    wrench: tuple,
    mass: Any,
    inertia: tuple,
    force: tuple | None = None,
    torque: tuple | None = None,
) -> tuple[tuple, tuple]:
    """The rigid-body law, written once: linear acceleration (world frame, m/s²) and angular
    acceleration (body frame, rad/s²) of a drone at attitude ``quat`` turning at ``ang_vel``
    (body, rad/s) under ``wrench`` (collective thrust along body z, N; body torques, N·m),
    an optional extra world-frame ``force`` (N) and body ``torque`` (N·m). Components are
    floats or columns (:mod:`.columns`).
    """
    thrust, tx, ty, tz = wrench
    zx, zy, zz = body_z(*quat)
    a = thrust / mass
    ax, ay, az = zx * a, zy * a, zz * a
    if force is not None:
        ax, ay, az = ax + force[0] / mass, ay + force[1] / mass, az + force[2] / mass
    az = az - GRAVITY
    if torque is not None:
        tx, ty, tz = tx + torque[0], ty + torque[1], tz + torque[2]
    wx, wy, wz = ang_vel
    jx, jy, jz = inertia
    # Euler's equations with the gyroscopic term: J·ω̇ = τ − ω × (J·ω). With J diagonal,
    # (ω × Jω)_i = ω_j·ω_k·(J_k − J_j) for (i, j, k) cyclic: two products, not a cross.
    return (ax, ay, az), (
        (tx - wy * wz * (jz - jy)) / jx,
        (ty - wz * wx * (jx - jz)) / jy,
        (tz - wx * wy * (jy - jx)) / jz,
    )


def rotate(xp: SimpleNamespace, quat: tuple, ang_vel: tuple, dt: float) -> tuple:
    """A unit quaternion turned by the body rates ``ang_vel`` held for ``dt``:
    q ⊗ exp(ω·dt/2), normalised."""
    wx, wy, wz = ang_vel
    angle = xp.sqrt(wx * wx + wy * wy + wz * wz) * dt
    half = 0.5 * angle
    # sin(θ/2)/|ω| with its limit dt/2 as |ω| → 0.
    scale = xp.where(angle > 1e-12, xp.sin(half) / xp.maximum(angle, 1e-12) * dt, 0.5 * dt)
    x, y, z, w = quat_mul_parts(quat, (wx * scale, wy * scale, wz * scale, xp.cos(half)))
    norm = xp.sqrt(x * x + y * y + z * z + w * w)
    return x / norm, y / norm, z / norm, w / norm


def euler_step(
    xp: SimpleNamespace,
    s: tuple,
    wrench: tuple,
    mass: Any,
    inertia: tuple,
    dt: float,
    force: tuple | None = None,
    torque: tuple | None = None,
) -> tuple:
    """One drone's state ``s`` (:data:`N_COMPONENTS` components) after ``dt`` seconds of
    semi-implicit Euler: velocities first, then positions with the new velocities, the
    attitude by the exact exponential of the new body rate (:func:`rotate`)."""
    px, py, pz, qx, qy, qz, qw, vx, vy, vz, wx, wy, wz = s
    (ax, ay, az), (bx, by, bz) = accelerations(
        xp, (qx, qy, qz, qw), (wx, wy, wz), wrench, mass, inertia, force, torque
    )
    vx, vy, vz = vx + ax * dt, vy + ay * dt, vz + az * dt
    wx, wy, wz = wx + bx * dt, wy + by * dt, wz + bz * dt
    q = rotate(xp, (qx, qy, qz, qw), (wx, wy, wz), dt)
    return (px + vx * dt, py + vy * dt, pz + vz * dt, *q, vx, vy, vz, wx, wy, wz)


def derivative(
    xp: SimpleNamespace,
    s: tuple,
    wrench: tuple,
    mass: Any,
    inertia: tuple,
    force: tuple | None = None,
    torque: tuple | None = None,
) -> tuple:
    """The time derivative of one drone's state ``s`` (:data:`N_COMPONENTS` components):
    velocity, q̇ = ½·q ⊗ (ω, 0), and :func:`accelerations`' linear and angular ones."""
    px, py, pz, qx, qy, qz, qw, vx, vy, vz, wx, wy, wz = s
    q = (qx, qy, qz, qw)
    acc, ang = accelerations(xp, q, (wx, wy, wz), wrench, mass, inertia, force, torque)
    dx, dy, dz, dw = quat_mul_parts(q, (wx, wy, wz, 0.0))
    return (vx, vy, vz, 0.5 * dx, 0.5 * dy, 0.5 * dz, 0.5 * dw, *acc, *ang)


def rk4_step(
    xp: SimpleNamespace,
    s: tuple,
    wrench: tuple,
    mass: Any,
    inertia: tuple,
    dt: float,
    force: tuple | None = None,
    torque: tuple | None = None,
) -> tuple:
    """One drone's state ``s`` after ``dt`` seconds of the classical fourth-order
    Runge-Kutta method over :func:`derivative` (the wrench and the extra force and torque
    held over the step, as motor commands are), the quaternion normalised at the end.
    An option (``integrator="rk4"``): its error falls ~16x when ``dt`` halves, where
    :func:`euler_step`'s falls ~2x."""

    def f(state: tuple) -> tuple:
        return derivative(xp, state, wrench, mass, inertia, force, torque)

    def plus(h: float, k: tuple) -> tuple:
        return tuple(a + h * b for a, b in zip(s, k, strict=True))

    k1 = f(s)
    k2 = f(plus(0.5 * dt, k1))
    k3 = f(plus(0.5 * dt, k2))
    k4 = f(plus(dt, k3))
    sixth = dt / 6.0
    out = [
        a + sixth * (b1 + 2.0 * b2 + 2.0 * b3 + b4)
        for a, b1, b2, b3, b4 in zip(s, k1, k2, k3, k4, strict=True)
    ]
    qx, qy, qz, qw = out[3:7]
    norm = xp.sqrt(qx * qx + qy * qy + qz * qz + qw * qw)
    out[3:7] = qx / norm, qy / norm, qz / norm, qw / norm
    return tuple(out)


#: The integrators of the ``dyn`` loop, by name: one step of one drone's state.
STEPPERS = {"euler": euler_step, "rk4": rk4_step}


def contact(xp: SimpleNamespace, s: tuple, rest_height: float) -> tuple:
    """The ground plane z = 0 as an inelastic, high-friction contact, on one state ``s``
    (:data:`N_COMPONENTS` components).

    A drone whose centre is below ``rest_height`` (half its collision height) is put back
    on the ground and stops: its linear and angular velocities are zeroed when it was
    moving into the ground. This is the contact rule of the ``dyn`` integrator and of the
    vector backend; ``pyb`` modes let Bullet collide instead.
    """
    below = s[2] < rest_height
    if not xp.any(below):
        return s
    px, py, pz, qx, qy, qz, qw, vx, vy, vz, wx, wy, wz = s
    sinking = below & (vz < 0.0)
    vx, vy, vz, wx, wy, wz = (xp.where(sinking, 0.0, v) for v in (vx, vy, vz, wx, wy, wz))
    return (px, py, xp.where(below, rest_height, pz), qx, qy, qz, qw, vx, vy, vz, wx, wy, wz)


def step(
    state: State,
    wrench: np.ndarray,
    model: DroneModel,
    dt: float,
    force_world: np.ndarray | None = None,
    torque_body: np.ndarray | None = None,
) -> State:
    """Advance ``state`` by ``dt`` seconds in place and return it (:func:`euler_step` on
    every drone; floats up to :data:`FLOATS_UP_TO` drones).

    Args:
        state: the drones' state, updated in place.
        wrench: (n, 4) collective thrust along body z (N) and body torques (N·m),
            from :func:`motor_wrench`.
        model: airframe constants (mass, inertia; per drone as (n, 1) and (n, 3) arrays
            where each has its own, as randomised episodes do).
        dt: time step, s.
        force_world: optional (n, 3) extra force in the world frame, N (aero).
        torque_body: optional (n, 3) extra torque in the body frame, N·m (aero).
    """
    n = len(state)
    xp = namespace(n)
    parts = [
        euler_step(xp, *args, dt, f, t)
        for *args, f, t in zip(
            components(xp, state),
            per_drone(xp, wrench, n),
            per_drone(xp, model.mass, n),
            per_drone(xp, model.inertia, n),
            per_drone(xp, force_world, n),
            per_drone(xp, torque_body, n),
            strict=True,
        )
    ]
    return store(xp, parts, state)


def rot_to_quat(rot: np.ndarray) -> np.ndarray:
    """Unit quaternions (n, 4) (x, y, z, w) of rotation matrices (n, 3, 3), w >= 0.

    Shepperd's method: pick the largest of w, x, y, z to divide by, so the
    result is accurate for every rotation.
    """
    m = rot
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cand = np.stack([m[:, 0, 0], m[:, 1, 1], m[:, 2, 2], tr], axis=1)
    k = cand.argmax(axis=1)
    q = np.empty((m.shape[0], 4))
    for i in range(4):
        sel = k == i
        if not sel.any():
            continue
        r = m[sel]
        if i == 3:
            s = np.sqrt(1.0 + tr[sel]) * 2
            q[sel] = np.stack(
                [
                    (r[:, 2, 1] - r[:, 1, 2]) / s,
                    (r[:, 0, 2] - r[:, 2, 0]) / s,
                    (r[:, 1, 0] - r[:, 0, 1]) / s,
                    0.25 * s,
                ],
                axis=1,
            )
        else:
            j, k2 = (i + 1) % 3, (i + 2) % 3
            s = np.sqrt(1.0 + r[:, i, i] - r[:, j, j] - r[:, k2, k2]) * 2
            qi = np.empty((r.shape[0], 4))
            qi[:, i] = 0.25 * s
            qi[:, j] = (r[:, j, i] + r[:, i, j]) / s
            qi[:, k2] = (r[:, k2, i] + r[:, i, k2]) / s
            qi[:, 3] = (r[:, k2, j] - r[:, j, k2]) / s
            q[sel] = qi
    q *= np.where(q[:, 3:4] < 0, -1.0, 1.0)
    return q / np.linalg.norm(q, axis=1, keepdims=True)
