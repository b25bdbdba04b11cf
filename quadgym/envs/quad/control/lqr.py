"""LQR about hover, from the project's own dynamics: numerical linearisation, discrete Riccati.

The state is x = [position (3) m, world velocity (3) m/s, roll, pitch, yaw (3) rad, body
rates (3) rad/s] and the input u = motor speeds − hover speed (4), RPM, held for one
control period (as ``rpm`` actions hold them). :func:`linearize` differentiates one
control period of :func:`quadgym.envs.quad.sim.physics.advance` (the ``dyn`` integrator, no
aerodynamic effects, no ground) about hover by central differences, so the model follows
the drone's URDF constants and the integrator exactly; :class:`LQR` solves the discrete
algebraic Riccati equation (SciPy) for the gain K of u = −K·(x − x_ref).

Weights by Bryson's rule: Q_ii = 1/x_max², R_ii = 1/u_max², with x_max and u_max in
:data:`STATE_SCALE` and :data:`INPUT_SCALE`.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_discrete_are

from quadgym.envs.quad.sim.dynamics import State, euler_to_quat, quat_to_euler
from quadgym.envs.quad.sim.models import DroneModel
from quadgym.envs.quad.sim.physics import advance

#: Acceptable excursion of each state (Bryson's rule): 0.1 m, 0.5 m/s, 0.2 rad, 2 rad/s.
STATE_SCALE = np.r_[np.full(3, 0.1), np.full(3, 0.5), np.full(3, 0.2), np.full(3, 2.0)]
#: Acceptable motor-speed excursion, as a fraction of the hover speed.
INPUT_SCALE = 0.3


def to_state(x: np.ndarray) -> State:
    """The :class:`State` of LQR states ``x`` (n, 12) (body rates stay body rates)."""
    x = np.atleast_2d(x)
    return State(x[:, 0:3].copy(), euler_to_quat(x[:, 6:9]), x[:, 3:6].copy(), x[:, 9:12].copy())


def from_state(state: State) -> np.ndarray:
    """LQR states (n, 12) of ``state``."""
    return np.c_[state.pos, state.vel, quat_to_euler(state.quat), state.ang_vel]


def linearize(
    model: DroneModel, dt: float, substeps: int, eps_x: float = 1e-5, eps_u: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(A (12, 12), B (12, 4)): x' ≈ A·x + B·u over one control period of ``substeps``
    physics steps of ``dt`` s, about hover at rest 1 m up, by central differences
    (``eps_x`` in each state's unit, ``eps_u`` RPM)."""
    hover = np.full((1, 4), model.hover_rpm)
    origin = np.r_[0.0, 0.0, 1.0, np.zeros(9)]

    def step(x: np.ndarray, u: np.ndarray) -> np.ndarray:
        s = advance(to_state(x), hover + u, model, None, dt, substeps, -np.inf)
        return from_state(s)[0] - origin

    a = np.zeros((12, 12))
    for i in range(12):
        d = np.zeros(12)
        d[i] = eps_x
        a[:, i] = (step(origin + d, np.zeros(4)) - step(origin - d, np.zeros(4))) / (2 * eps_x)
    b = np.zeros((12, 4))
    for j in range(4):
        d = np.zeros(4)
        d[j] = eps_u
        b[:, j] = (step(origin, d) - step(origin, -d)) / (2 * eps_u)
    return a, b


class LQR:
    """Discrete LQR about hover for ``model`` at a control period of ``substeps`` × ``dt``.

    Attributes:
        A, B: the linear model (:func:`linearize`).
        K: (4, 12) gain, RPM per unit of state error.
    """

    def __init__(self, model: DroneModel, dt: float, substeps: int) -> None:
        self.model = model
        self.A, self.B = linearize(model, dt, substeps)
        q = np.diag(1.0 / STATE_SCALE**2)
        r = np.diag(np.full(4, 1.0 / (INPUT_SCALE * model.hover_rpm) ** 2))
        p = solve_discrete_are(self.A, self.B, q, r)
        self.K = np.linalg.solve(r + self.B.T @ p @ self.B, self.B.T @ p @ self.A)

    @property
    def poles(self) -> np.ndarray:
        """Eigenvalues of the closed loop A − B·K (inside the unit circle: stable)."""
        return np.linalg.eigvals(self.A - self.B @ self.K)

    def rpm(self, error: np.ndarray) -> np.ndarray:
        """Motor speeds (n, 4), RPM, for state errors x − x_ref (n, 12)."""
        return self.model.hover_rpm - np.atleast_2d(error) @ self.K.T
