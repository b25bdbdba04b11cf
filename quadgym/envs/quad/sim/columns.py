"""Arithmetic written once for one drone's Python floats and for n drones' NumPy columns.

A kernel written against this module's namespaces takes each quantity as a tuple of
components (a vector's x, y, z; a quaternion's x, y, z, w; a rotation matrix's nine
entries, row-major), each component either a Python float (one drone, :data:`FLOATS`) or
a NumPy array (n,) (n drones, :data:`COLUMNS`). The same expressions then serve n = 1 and
n = 4096: NumPy carries an overhead of ~1 µs per call that one drone's few hundred
operations cannot amortise (a cascaded PID on one drone spends ~95 % of its time in it),
while Python float arithmetic costs ~30 ns an operation and NumPy's per-element cost is a
few ns once n is large.

The two paths give the same numbers: +, −, ×, ÷ and √ are IEEE-exact in both, the
expressions fix the order of every sum, and NumPy's float64 ``arctan2``, ``arcsin``,
``cos``, ``sin`` and ``mod`` call the same C library (or the same algorithm) as
:mod:`math` (tests/test_columns.py compares them bit for bit). A square is written as a
product: NumPy computes an array's ``x ** 2`` as ``x * x``, Python a float's as C's
``pow``, which differs in the last bit on ~0.1 % of inputs.

The quaternion helpers are the elementwise formulas of
:func:`quadgym.envs.quad.sim.dynamics.quat_to_rot`, :func:`~.dynamics.quat_to_euler` and
:func:`~.dynamics.euler_to_quat`, tested equal to them.
"""

from __future__ import annotations

import math
import operator
from types import SimpleNamespace
from typing import Any

import numpy as np

#: Up to this many drones, Python floats drone by drone beat NumPy columns (a cascaded
#: PID call, measured: floats ~14 µs a drone, columns ~60 µs + ~1 µs a drone; reading
#: Bullet's state: ~2 µs a drone against ~6 µs a call).
FLOATS_UP_TO = 8


def _clip_float(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def _clip_column(x: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    return np.minimum(np.maximum(x, lo), hi)  # np.clip's values, without its Python layer


#: One drone: components are Python floats.
FLOATS = SimpleNamespace(
    sqrt=math.sqrt,
    cos=math.cos,
    sin=math.sin,
    exp=math.exp,
    hypot=math.hypot,
    atan2=math.atan2,
    asin=math.asin,
    maximum=max,
    minimum=min,
    clip=_clip_float,
    mod=operator.mod,  # Python's float % is NumPy's float mod (sign of the divisor)
    where=lambda cond, a, b: a if cond else b,
    any=bool,
)

#: n drones: components are NumPy arrays (n,).
COLUMNS = SimpleNamespace(
    sqrt=np.sqrt,
    cos=np.cos,
    sin=np.sin,
    exp=np.exp,
    hypot=np.hypot,
    atan2=np.arctan2,
    asin=np.arcsin,
    maximum=np.maximum,
    minimum=np.minimum,
    clip=_clip_column,
    mod=np.mod,
    where=np.where,
    any=np.any,
)


def rotation(x: Any, y: Any, z: Any, w: Any) -> tuple:
    """The rotation matrix (9 entries, row-major) of a unit quaternion (x, y, z, w)."""
    x2, y2, z2 = x + x, y + y, z + z
    xx, yy, zz = x * x2, y * y2, z * z2
    xy, xz, yz = x * y2, x * z2, y * z2
    wx, wy, wz = w * x2, w * y2, w * z2
    return (
        1.0 - (yy + zz),
        xy - wz,
        xz + wy,
        xy + wz,
        1.0 - (xx + zz),
        yz - wx,
        xz - wy,
        yz + wx,
        1.0 - (xx + yy),
    )


def body_z(x: Any, y: Any, z: Any, w: Any) -> tuple:
    """The body z axis in the world frame (the third column of :func:`rotation`, the same
    expressions) of a unit quaternion (x, y, z, w): where the thrust points."""
    x2, y2, z2 = x + x, y + y, z + z
    return x * z2 + w * y2, y * z2 - w * x2, 1.0 - (x * x2 + y * y2)


def quat_mul(a: tuple, b: tuple) -> tuple:
    """The Hamilton product a ⊗ b of quaternions (x, y, z, w): the elementwise formula of
    :func:`quadgym.envs.quad.sim.dynamics.quat_mul`."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def euler(xp: SimpleNamespace, x: Any, y: Any, z: Any, w: Any) -> tuple:
    """Roll, pitch, yaw (rad) of a quaternion (x, y, z, w): PyBullet's XYZ convention."""
    roll = xp.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = xp.asin(xp.clip(2 * (w * y - z * x), -1.0, 1.0))
    yaw = xp.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return roll, pitch, yaw


def quaternion(xp: SimpleNamespace, roll: Any, pitch: Any, yaw: Any) -> tuple:
    """The quaternion (x, y, z, w) of roll, pitch, yaw (rad), the inverse of :func:`euler`."""
    cr, sr = xp.cos(roll / 2), xp.sin(roll / 2)
    cp, sp = xp.cos(pitch / 2), xp.sin(pitch / 2)
    cy, sy = xp.cos(yaw / 2), xp.sin(yaw / 2)
    return (
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    )
