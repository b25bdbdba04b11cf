"""Physics modes and the NumPy integrator loop shared by every backend.

A mode names an integrator (``pyb``: Bullet, ``dyn``: :mod:`dynamics`) and the
aerodynamic effects switched on. :func:`aero_wrench` sums the enabled effects
for ``n`` drones; :func:`advance` is the ``dyn`` loop over physics substeps,
used by the PyBullet world in ``dyn`` modes and by the vector backend alike,
so the two cannot drift apart.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from quadgym.envs.quad.sim import aero, dynamics
from quadgym.envs.quad.sim.columns import FLOATS
from quadgym.envs.quad.sim.dynamics import State, per_drone
from quadgym.envs.quad.sim.models import DroneModel
from quadgym.envs.quad.sim.perturb import Disturbances

_EFFECTS = ("gnd", "drag", "dw")

#: Up to this many drones :func:`aero_wrench` works in Python floats, drone by drone
#: (measured per call: one drone ~15 µs on floats against ~34 µs in arrays; four ~100 µs
#: either way, the pairwise downwash included).
AERO_FLOATS_UP_TO = 1


class Physics(NamedTuple):
    """A physics mode: which integrator and which aerodynamic effects.

    ``downwash_model`` (one of :data:`aero.DOWNWASH_MODELS`) is not part of a mode's
    name: every ``*_dw`` mode flies ``bounded``; ``physics._replace(downwash_model=
    "reference")`` on a World's ``physics`` flies gym-pybullet-drones' fit, to compare.
    """

    integrator: str  # "pyb" or "dyn"
    ground_effect: bool
    drag: bool
    downwash: bool
    downwash_model: str = "bounded"

    @property
    def has_aero(self) -> bool:
        return self.ground_effect or self.drag or self.downwash


def physics_modes() -> list[str]:
    """Every accepted physics mode name: ``pyb`` or ``dyn``, then any of ``_gnd``,
    ``_drag``, ``_dw`` in that order. The paper's six are ``pyb``, ``dyn``,
    ``pyb_gnd``, ``pyb_drag``, ``pyb_dw`` and ``pyb_gnd_drag_dw``."""
    names = []
    for integrator in ("pyb", "dyn"):
        for r in range(len(_EFFECTS) + 1):
            for combo in itertools.combinations(_EFFECTS, r):
                names.append("_".join((integrator,) + combo))
    return names


def parse_physics(name: str) -> Physics:
    """The :class:`Physics` of a mode name.

    Raises:
        ValueError: for a name not in :func:`physics_modes`.
    """
    if not isinstance(name, str) or name not in physics_modes():
        raise ValueError(
            f"unknown physics mode {name!r}; allowed: 'pyb' or 'dyn' followed by any of "
            "'_gnd', '_drag', '_dw' in that order, e.g. 'pyb', 'dyn', 'pyb_gnd', 'pyb_drag', "
            "'pyb_dw', 'pyb_gnd_drag_dw'"
        )
    parts = name.split("_")
    return Physics(parts[0], "gnd" in parts, "drag" in parts, "dw" in parts)


def aero_wrench(
    physics: Physics, model: DroneModel, state: State, rot: np.ndarray, rpm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Total aerodynamic force and torque, both in the body frame, (n, 3) each.

    Ground effect acts at each propeller (so it also makes a torque when the
    propellers are at different heights); drag at the centre of mass; downwash
    along each lower drone's body −z, bounded by the thrust kf·Σω² of the drone
    above (see :func:`aero.downwash`).
    """
    n = len(state)
    if n <= AERO_FLOATS_UP_TO:  # one drone on floats: NumPy's per-call overhead dominates
        motors, coeff = model.motor_pos.tolist(), model.drag_coeff.tolist()
        rows = [
            local_wrench(physics, model, motors, coeff, *drone)
            for drone in zip(
                state.pos.tolist(),
                rot.reshape(n, 9).tolist(),
                state.vel.tolist(),
                rpm.tolist(),
                strict=True,
            )
        ]
        force = np.array([f for f, _ in rows], dtype=float).reshape(n, 3)
        torque = np.array([t for _, t in rows], dtype=float).reshape(n, 3)
    else:
        force = np.zeros((n, 3))
        torque = np.zeros((n, 3))
        if physics.ground_effect:
            g = aero.ground_effect(
                rpm, aero.propeller_heights(state.pos, rot, model), rot[:, 2, 2] > 0.0, model
            )
            force[:, 2] += g.sum(axis=1)
            torque[:, 0] += g @ model.motor_pos[:, 1]
            torque[:, 1] -= g @ model.motor_pos[:, 0]
        if physics.drag:
            force += aero.drag(rpm, state.vel, rot, model)
    if physics.downwash and n > 1:
        thrust = model.kf * (rpm * rpm).sum(axis=1)
        force += aero.downwash(state.pos, model, thrust, physics.downwash_model)
    return force, torque


def local_wrench(
    physics: Physics,
    model: DroneModel,
    motors: list,
    coeff: list,
    pos: list,
    rot: list,
    vel: list,
    rpm: list,
) -> tuple[tuple, tuple]:
    """:func:`aero_wrench`'s ground effect and drag for one drone in Python floats
    (position, rotation matrix row-major, world velocity, motor speeds), through the
    same elementwise functions of :mod:`.aero` as the batched path: body force and
    torque."""
    fx = fy = fz = tx = ty = 0.0
    if physics.ground_effect:
        z, r20, r21, r22 = pos[2], rot[6], rot[7], rot[8]
        upright = r22 > 0.0
        g0, g1, g2, g3 = (
            aero.ground_thrust(FLOATS, model, w, aero.propeller_height(z, r20, r21, r22, *m))
            * upright
            for w, m in zip(rpm, motors, strict=True)
        )
        (x0, y0, _), (x1, y1, _), (x2, y2, _), (x3, y3, _) = motors
        fz += ((g0 + g1) + g2) + g3
        tx += g0 * y0 + g1 * y1 + g2 * y2 + g3 * y3
        ty -= g0 * x0 + g1 * x1 + g2 * x2 + g3 * x3
    if physics.drag:
        dx, dy, dz = aero.drag_force(coeff, rpm, vel, rot)
        fx, fy, fz = fx + dx, fy + dy, fz + dz
    return (fx, fy, fz), (tx, ty, 0.0)


def advance(
    state: State,
    rpm: np.ndarray,
    model: DroneModel,
    physics: Physics | None,
    dt: float,
    substeps: int,
    rest_height: float,
    wrench_matrix: np.ndarray | None = None,
    disturb: Disturbances | None = None,
    rows: np.ndarray | None = None,
    integrator: str = "euler",
) -> State:
    """Hold motor speeds ``rpm`` (n, 4) for ``substeps`` steps of ``dt`` s, in place.

    ``physics`` selects the aerodynamic effects (None: none). Each substep adds
    the aero wrench and the perturbations that act every substep (``disturb``, for
    the drones ``rows`` of it: wind and gusts, lagging motors, thrust spread),
    integrates with :func:`dynamics.euler_step` (``integrator="euler"``, the default) or
    :func:`dynamics.rk4_step` (``"rk4"``, the aero wrench and perturbations held over each
    step) and applies the ground contact rule (:func:`dynamics.contact`), on each drone's
    Python floats up to :data:`dynamics.FLOATS_UP_TO` drones, on NumPy columns beyond: the
    same expressions.

    Raises:
        ValueError: an ``integrator`` not in :data:`dynamics.STEPPERS`.
    """
    if integrator not in dynamics.STEPPERS:
        raise ValueError(
            f"integrator must be one of {', '.join(map(repr, dynamics.STEPPERS))}, "
            f"got {integrator!r}"
        )
    stepper = dynamics.STEPPERS[integrator]
    w = dynamics.wrench_matrix(model) if wrench_matrix is None else wrench_matrix
    wrench = (rpm * rpm) @ w
    if disturb is not None:  # each drone's drawn mass and inertia (randomize)
        model = disturb.body(model, rows)
    motors = disturb is not None and disturb.per_motor
    forces = disturb is not None and disturb.pushes
    aero = physics is not None and physics.has_aero
    # The state as the kernels take it, once for all substeps: each drone's floats up to
    # FLOATS_UP_TO drones, else every drone's columns (dynamics.namespace).
    n = len(state)
    xp = dynamics.namespace(n)
    parts = dynamics.components(xp, state)
    wrenches = per_drone(xp, wrench, n)
    mass, inertia = per_drone(xp, model.mass, n), per_drone(xp, model.inertia, n)
    spinning = rpm  # the speeds the rotors turn at (lagging motors: not the commands)
    for _ in range(substeps):
        force_w = torque_b = None
        if motors:
            wrenches = per_drone(xp, disturb.effective(rpm, rows) @ w, n)
            spinning = disturb.turning(rpm, rows)
        if aero:  # the aero wrench reads the current state
            now = dynamics.store(xp, parts, state)
            rot = dynamics.quat_to_rot(now.quat)
            force_b, torque_b = aero_wrench(physics, model, now, rot, spinning)
            force_w = np.einsum("nij,nj->ni", rot, force_b)
        if forces:
            force_w = disturb.force(rows) + (0.0 if force_w is None else force_w)
        parts = [
            dynamics.contact(xp, stepper(xp, s, *args, dt, f, t), rest_height)
            for s, *args, f, t in zip(
                parts,
                wrenches,
                mass,
                inertia,
                per_drone(xp, force_w, n),
                per_drone(xp, torque_b, n),
                strict=True,
            )
        ]
    return dynamics.store(xp, parts, state)
