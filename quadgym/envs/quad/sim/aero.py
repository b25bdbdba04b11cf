"""Aerodynamic effects of the "Learning to Fly" paper, batched over drones.

Shared by the PyBullet backend (applied as external forces) and the NumPy
integrator. Each function returns forces and torques for ``n`` drones at once;
downwash, a pairwise effect, is computed as (n, n) array work.

References: Panerati et al. 2021, "Learning to Fly — a Gym Environment with
PyBullet Physics for Reinforcement Learning of Multi-agent Quadcopter Control";
ground effect after Shi et al. 2019, "Neural Lander".
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from quadgym.envs.quad.sim.columns import COLUMNS, FLOATS
from quadgym.envs.quad.sim.models import DroneModel

#: Horizontal distance beyond which the ``reference`` downwash is not computed, m
#: (gym-pybullet-drones' cut; the ``bounded`` model needs none: it is continuous).
DOWNWASH_RANGE = 10.0

#: Up to this many drones :func:`downwash_floats` beats :func:`downwash` (measured per
#: call: 2 drones ~5 µs on floats against ~50 µs in arrays, 4 ~24 against ~49, 8 ~140
#: against ~53).
DOWNWASH_FLOATS_UP_TO = 4

#: The downwash models: ``bounded`` (the default: the paper's fit inside its region,
#: faded to zero outside it and capped by momentum theory) and ``reference``
#: (gym-pybullet-drones' ``BaseAviary._downwash`` as it is, kept to measure against it).
DOWNWASH_MODELS = ("bounded", "reference")


def ground_effect(rpm: np.ndarray, prop_z: np.ndarray, upright: np.ndarray, model: DroneModel):
    """Extra thrust of each propeller near the ground.

    G_i = kf·ω_i²·k_gnd·(r_P / (4·h_i))², with the propeller height h_i held at
    ``model.gnd_eff_h_clip`` from below, and zero for a drone that is not
    upright (body z pointing down), as in the paper.

    Args:
        rpm: (n, 4) motor speeds, RPM.
        prop_z: (n, 4) propeller heights above the ground, m.
        upright: (n,) bool, the body z axis points up.
        model: airframe constants.

    Returns:
        (n, 4) extra thrust per propeller along body z, N.
    """
    return ground_thrust(COLUMNS, model, rpm, prop_z) * upright[:, None]


def ground_thrust(xp: SimpleNamespace, model: DroneModel, rpm: Any, prop_z: Any) -> Any:
    """:func:`ground_effect` of an upright drone, elementwise: one propeller's floats
    (``xp`` = ``FLOATS``) or arrays of any shape (``COLUMNS``), N."""
    h = xp.maximum(prop_z, model.gnd_eff_h_clip)
    q = model.prop_radius / (4.0 * h)
    return model.kf * model.gnd_eff_coeff * (rpm * rpm) * (q * q)


def propeller_heights(pos: np.ndarray, rot: np.ndarray, model: DroneModel) -> np.ndarray:
    """(n, 4) world heights of the four propellers of drones at ``pos`` with attitude ``rot``."""
    return pos[:, 2:3] + rot[:, 2, :] @ model.motor_pos.T


def propeller_height(z: Any, r20: Any, r21: Any, r22: Any, mx: Any, my: Any, mz: Any) -> Any:
    """One propeller's world height, m, in floats: :func:`propeller_heights`' sum for the
    centre's height ``z``, the rotation matrix's third row (r20, r21, r22) and the
    body-frame motor position (mx, my, mz) (tests/test_columns.py: equal to it)."""
    return z + (r20 * mx + r21 * my + r22 * mz)


def drag(rpm: np.ndarray, vel_world: np.ndarray, rot: np.ndarray, model: DroneModel) -> np.ndarray:
    """Rotor drag in the body frame, (n, 3) N.

    D = −K_D · (Σ_i 2π·ω_i/60) · v_body, with K_D = diag(k_xy, k_xy, k_z): it
    opposes the body-frame velocity and grows with the summed propeller speed
    (rad/s). The body-frame velocity is Rᵀ·v_world.
    """
    v_body = np.einsum("nji,nj->ni", rot, vel_world)
    spin = rpm.sum(axis=1, keepdims=True) * (2.0 * np.pi / 60.0)
    return -model.drag_coeff * spin * v_body


def drag_force(coeff: Any, rpm: tuple, vel: tuple, rot: tuple) -> tuple:
    """:func:`drag` of one drone in floats: drag coefficients (3), motor speeds (4),
    world velocity (3), rotation matrix (9, row-major); the body-frame force (3), N
    (tests/test_columns.py: equal to :func:`drag`)."""
    spin = (rpm[0] + rpm[1] + rpm[2] + rpm[3]) * (2.0 * np.pi / 60.0)
    vx, vy, vz = vel
    return tuple(
        -coeff[k] * spin * (rot[k] * vx + rot[3 + k] * vy + rot[6 + k] * vz) for k in range(3)
    )


def downwash_fit(dz: np.ndarray, dxy: np.ndarray, model: DroneModel) -> np.ndarray:
    """The paper's downwash fit W = k1·(r_P/(4·δz))²·exp(−½·(δxy/(k2·δz + k3))²), N.

    ``dz`` > 0 (m) is how far the upper drone is above, ``dxy`` (m) the horizontal
    distance between the centres: the ``reference`` term of :func:`downwash_pair`. On the
    axis it is k1·(r_P/(4·δz))² (0.0758/δz² N on cf2x, δz in m).

    The fitted width k2·δz + k3 of the lateral profile crosses zero at δz = −k3/k2 (0.69 m
    with the shipped 0.16, −0.11), where the plume is a line, and is negative below it
    (only its square is used): a plume that narrows as it descends to 0.69 m is the fit,
    not a jet. The width's size is held at 1e-6 m or more so that it stays finite.
    """
    return downwash_pair(COLUMNS, model, dz, dxy, None, "reference")


def downwash_onset(model: DroneModel) -> float:
    """Vertical separation over which the bounded downwash ramps in, m: one rotor diameter.

    The upper drone's slipstream leaves its rotor discs and contracts to its far-wake
    area within about a rotor diameter below them (classical slipstream contraction);
    a drone less than that below is beside the discs, not in the wake, and the fit's
    1/δz² has no support there (it would give 2.4 N to two cf2x side by side 1 mm
    apart in height). 2·r_P = 0.046 m on cf2x.
    """
    return 2.0 * model.prop_radius


def downwash(
    pos: np.ndarray,
    model: DroneModel,
    thrust: np.ndarray | None = None,
    kind: str = "bounded",
) -> np.ndarray:
    """Downwash from drones above, (n, 3) force in each drone's body frame, N.

    A drone j above drone i (δz = z_j − z_i > 0, horizontal distance δxy) pushes
    it along its body −z; the contributions of all drones above add up; the upper
    drone feels nothing.

    **Source.** The form and the constants (k1, k2, k3) = (2267.18, 0.16, −0.11) are
    those of Panerati et al. 2021 and of the gym-pybullet-drones URDFs (the same
    three for cf2x, cf2p and the racer). Neither the paper nor the repository
    gives the data or the separations they were fitted on, so the fit is taken
    as a shape, not a measurement. It is large: on axis it is 0.0758/δz² N on cf2x,
    0.30 N (1.15 weights) at 0.5 m, where Neural-Swarm (Shi et al. 2020, Fig. 3,
    Crazyflie under Crazyflie, as read off by others: ~4 g at 0.5 m, ~10 g at
    0.2 m) measured about 0.04 N.

    **Bound (momentum theory).** The upper drone's rotors give the air momentum at
    the rate T_j = kf·Σω_j² (its thrust, N); the wake is a free jet whose axial
    momentum flux stays T_j. Stopping all of it on the lower drone pushes with
    T_j, so W ≤ T_j. On hovering cf2x: T = m·g = 0.2646 N; disc area
    A = 4·π·r_P² = 6.73e-3 m²; induced speed v_i = √(T/(2·ρ·A)) = 4.0 m/s
    (ρ = 1.225 kg/m³); far wake 2·v_i = 8.0 m/s through A/2 = 3.4e-3 m², a flux of
    ρ·(A/2)·(2v_i)² = T. The lower drone's discs (A) are wider than that wake, so
    they can take all of it: the bound is T_j itself, not a fraction. The fit
    reaches it on axis at δz = √(k1·(r_P/4)²/T) = 0.535 m (hovering cf2x).

    **Region and what happens outside it** (``bounded``): the fit's amplitude
    k1·(r_P/(4δz))² is capped at T_j (below 0.535 m on axis for hovering cf2x) and
    ramped in by the smoothstep s(δz/h) = 3x² − 2x³ over h = :func:`downwash_onset`
    (0.046 m on cf2x): zero at δz = 0 (side by side, equal heights) and for drones
    below, continuous with a continuous slope at δz = h, and everywhere
    W ≤ T_j. The fit's Gaussian keeps the lateral shape. Far away it fades as
    1/δz² (a round jet's centreline dynamic pressure falls as 1/z²); no horizontal
    cut is needed. Inside the region (δz ≥ h and fit ≤ T_j) the model equals the
    reference to round-off.

    **Frame.** The force acts along the lower drone's body −z: what the descending
    wake does is take thrust from the lower rotors (more inflow through the discs,
    less blade lift), and rotor thrust lies along the rotor axis. This is
    gym-pybullet-drones' frame (``LINK_FRAME``). For a level lower drone it is
    the world's −z; tilted by θ the world-frame model (quadgym before issue 32)
    pushed straight down, this one W·cosθ down and W·sinθ sideways. The wake is
    taken as vertical (δz, δxy are world-frame), right for an upper drone near
    hover, as the fit assumes.

    Args:
        pos: (n, 3) world positions, m.
        model: airframe constants (one airframe per world).
        thrust: (n,) each drone's current thrust kf·Σω², N, the bound of the wake
            it sheds; None: its weight (hover). Unused by ``reference``.
        kind: one of :data:`DOWNWASH_MODELS`.

    Returns:
        (n, 3) body-frame force: only the z component, ≤ 0, is non-zero.

    Raises:
        ValueError: ``kind`` not in :data:`DOWNWASH_MODELS`, or ``thrust`` not of shape (n,).
    """
    _check_kind(kind)
    n = len(pos)
    if thrust is None:
        thrust = np.full(n, model.weight)
    thrust = np.asarray(thrust, dtype=float)
    if thrust.shape != (n,):
        raise ValueError(f"thrust must have shape ({n},), one per drone, got {thrust.shape}")
    dz = pos[None, :, 2] - pos[:, None, 2]  # [i, j] = z_j - z_i
    dxy = np.hypot(pos[None, :, 0] - pos[:, None, 0], pos[None, :, 1] - pos[:, None, 1])
    above = dz > 0.0
    safe_dz = np.where(above, dz, 1.0)
    if kind == "reference":
        above &= dxy < DOWNWASH_RANGE
    w = downwash_pair(COLUMNS, model, safe_dz, dxy, thrust[None, :], kind)
    force = np.zeros_like(pos, dtype=float)
    force[:, 2] = -np.where(above, w, 0.0).sum(axis=1)
    return force


def _check_kind(kind: str) -> None:
    if kind not in DOWNWASH_MODELS:
        raise ValueError(f"unknown downwash model {kind!r}; allowed: {DOWNWASH_MODELS}")


def downwash_pair(
    xp: SimpleNamespace, model: DroneModel, dz: Any, dxy: Any, thrust: Any, kind: str
) -> Any:
    """The push of one upper drone on one lower one (:func:`downwash`'s term), N: ``dz`` >
    0 above it, ``dxy`` beside it (m), the upper drone's ``thrust`` (N; unused by
    ``reference``, whose horizontal cut the caller applies); floats or arrays.

    The fit's amplitude times its lateral profile (:func:`downwash_fit`), for ``bounded``
    capped at ``thrust`` and ramped in over :func:`downwash_onset`. Written out in one
    body: the float path calls it for every pair of drones at every physics step.
    """
    radius, (k1, k2, k3) = model.prop_radius, model.dw_coeff
    q = radius / (4.0 * dz)
    amplitude = k1 * (q * q)
    if kind != "reference":
        x = xp.minimum(dz / downwash_onset(model), 1.0)  # dz > 0: x > 0
        amplitude = (3.0 * (x * x) - 2.0 * x**3) * xp.minimum(amplitude, thrust)
    u = dxy / xp.maximum(abs(k2 * dz + k3), 1e-6)  # only u² is used: the width's sign is not
    return amplitude * xp.exp(-0.5 * (u * u))


def downwash_floats(pos: list, model: DroneModel, thrust: list, kind: str = "bounded") -> list:
    """:func:`downwash` on Python floats for a few drones: each drone's body z force (N,
    <= 0) from its world position ``pos`` (n lists of 3, m) and the drones' ``thrust``
    (n floats, N), pair by pair through :func:`downwash_pair` (tests/test_columns.py:
    equal to the batched one to round-off: ``math.hypot`` is not NumPy's ``hypot``; with
    NumPy's the two are equal on every one of 2,000 random 5-drone swarms, with Python's
    on ~98 %, and it costs ~1 µs a call on floats).

    Each unordered pair is visited once, the lower drone taking the upper one's push; in
    the order (i, j), i < j, every drone's pushes still add up in the order of the drones
    above it, as the batched sum adds them (δz and δxy are exact under swapping the two)."""
    _check_kind(kind)
    hypot, pair, cut = FLOATS.hypot, downwash_pair, kind == "reference"
    totals = [0.0] * len(pos)
    for i, (xi, yi, zi) in enumerate(pos):
        for j in range(i + 1, len(pos)):
            xj, yj, zj = pos[j]
            dz = zj - zi
            if dz == 0.0 or dz != dz:  # side by side (or NaN): neither is above
                continue
            dxy = hypot(xj - xi, yj - yi)
            if cut and dxy >= DOWNWASH_RANGE:
                continue
            if dz > 0.0:  # j above i
                totals[i] += pair(FLOATS, model, dz, dxy, thrust[j], kind)
            else:  # i above j
                totals[j] += pair(FLOATS, model, -dz, dxy, thrust[i], kind)
    return [-total for total in totals]
