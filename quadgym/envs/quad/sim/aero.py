"""Aerodynamic effects of the "Learning to Fly" paper, batched over drones.

Shared by the PyBullet backend (applied as external forces) and the NumPy
integrator. Each function returns forces and torques for ``n`` drones at once;
downwash, a pairwise effect, is computed as (n, n) array work.

References: Panerati et al. 2021, "Learning to Fly — a Gym Environment with
PyBullet Physics for Reinforcement Learning of Multi-agent Quadcopter Control";
ground effect after Shi et al. 2019, "Neural Lander".
"""

from __future__ import annotations

import numpy as np

from quadgym.envs.quad.sim.models import DroneModel

#: Horizontal distance beyond which downwash is not computed, m.
DOWNWASH_RANGE = 10.0


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
    h = np.maximum(prop_z, model.gnd_eff_h_clip)
    g = model.kf * model.gnd_eff_coeff * (rpm * rpm) * (model.prop_radius / (4.0 * h)) ** 2
    return g * upright[:, None]


def propeller_heights(pos: np.ndarray, rot: np.ndarray, model: DroneModel) -> np.ndarray:
    """(n, 4) world heights of the four propellers of drones at ``pos`` with attitude ``rot``."""
    return pos[:, 2:3] + rot[:, 2, :] @ model.motor_pos.T


def drag(rpm: np.ndarray, vel_world: np.ndarray, rot: np.ndarray, model: DroneModel) -> np.ndarray:
    """Rotor drag in the body frame, (n, 3) N.

    D = −K_D · (Σ_i 2π·ω_i/60) · v_body, with K_D = diag(k_xy, k_xy, k_z): it
    opposes the body-frame velocity and grows with the summed propeller speed
    (rad/s). The body-frame velocity is Rᵀ·v_world.
    """
    v_body = np.einsum("nji,nj->ni", rot, vel_world)
    spin = rpm.sum(axis=1, keepdims=True) * (2.0 * np.pi / 60.0)
    return -model.drag_coeff * spin * v_body


def downwash(pos: np.ndarray, model: DroneModel) -> np.ndarray:
    """Downwash from drones above, (n, 3) world-frame force, N.

    A drone j above drone i (δz = z_j − z_i > 0, horizontal distance δxy)
    pushes it down with W = k1·(r_P/(4·δz))²·exp(−½·(δxy/(k2·δz + k3))²),
    the paper's fit: a Gaussian plume whose strength falls as 1/δz². The
    contributions of all drones above add up. Only the lower drone is
    affected; the upper drone feels nothing. Within ``DOWNWASH_RANGE`` only.
    """
    dz = pos[None, :, 2] - pos[:, None, 2]  # [i, j] = z_j - z_i
    dxy = np.hypot(pos[None, :, 0] - pos[:, None, 0], pos[None, :, 1] - pos[:, None, 1])
    above = (dz > 0.0) & (dxy < DOWNWASH_RANGE)
    k1, k2, k3 = model.dw_coeff
    safe_dz = np.where(above, dz, 1.0)
    width = k2 * safe_dz + k3
    # The fitted plume width k2·δz + k3 crosses zero at δz = −k3/k2; keep it finite.
    width = np.where(np.abs(width) < 1e-6, 1e-6, width)
    w = k1 * (model.prop_radius / (4.0 * safe_dz)) ** 2 * np.exp(-0.5 * (dxy / width) ** 2)
    force = np.zeros_like(pos)
    force[:, 2] = -np.where(above, w, 0.0).sum(axis=1)
    return force
