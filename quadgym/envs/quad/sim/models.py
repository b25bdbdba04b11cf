"""Drone models: every physical constant is read from a URDF, derived values are computed.

Each URDF in ``assets/`` carries the published constants of one airframe in a
``<properties>`` tag (arm length, thrust and torque coefficients, aerodynamic
coefficients, motor spin directions), its rigid-body mass and inertia in the
base link's ``<inertial>`` tag, and one ``prop<i>_link`` per motor whose joint
origin is the motor's position in the body frame. :class:`DroneModel` parses all
of that once; hover RPM, maximum RPM, maximum thrust and the ground-effect
clipping height are properties computed from those constants, never copied.

Units: SI throughout, except motor speeds, which are in revolutions per minute
(RPM) because the published ``kf`` and ``km`` are per RPM squared.
"""

from __future__ import annotations

import functools
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

#: Gravitational acceleration used by every backend (m/s^2), as in the paper.
GRAVITY = 9.8

#: The airframes shipped with quadgym, by name.
MODEL_NAMES = ("cf2x", "cf2p", "race")


@dataclass(frozen=True)
class DroneModel:
    """Constants of one quadcopter airframe, as read from its URDF.

    Attributes:
        name: model name (``cf2x``, ``cf2p`` or ``race``).
        urdf_path: the URDF this model was read from (PyBullet loads the same file).
        mass: kg.
        inertia: principal moments of inertia (ixx, iyy, izz), kg·m².
        arm: arm length, centre to motor, m.
        frame: ``"x"`` or ``"+"``.
        kf: thrust coefficient, N / RPM².
        km: yaw-torque coefficient, N·m / RPM².
        thrust2weight: maximum thrust over weight.
        max_speed_kmh: the airframe's published top speed, km/h.
        gnd_eff_coeff: ground-effect coefficient (dimensionless).
        prop_radius: propeller radius, m.
        drag_coeff: drag coefficients (xy, xy, z), kg·rad⁻¹ (per rad/s of summed
            propeller speed and per m/s of body-frame velocity).
        dw_coeff: downwash coefficients (k1 in N, k2 dimensionless, k3 in m) of the fit
            k1·(r_P/(4·δz))²·exp(−½·(δxy/(k2·δz + k3))²), as Python floats (the float
            path's arithmetic would otherwise run on NumPy scalars, ~3x slower).
        motor_pos: (4, 3) motor positions in the body frame, m.
        motor_spin: (4,) sign of each motor's yaw reaction torque (+1 or -1).
        collision_radius, collision_height: the collision cylinder, m.
        motor_tau: time constant of the motors' first-order lag (speed towards command),
            s; None where the URDF publishes none (the racer). cf2x and cf2p: 0.072 s,
            Eschmann, Albani and Loianno 2024 ("Data-Driven System Identification of
            Quadrotors Subject to Motor Delays", arXiv:2404.07837), identified on a
            Crazyflie from flight data.
    """

    name: str
    urdf_path: Path
    mass: float
    inertia: np.ndarray
    arm: float
    frame: str
    kf: float
    km: float
    thrust2weight: float
    max_speed_kmh: float
    gnd_eff_coeff: float
    prop_radius: float
    drag_coeff: np.ndarray
    dw_coeff: tuple[float, float, float]
    motor_pos: np.ndarray
    motor_spin: np.ndarray
    collision_radius: float
    collision_height: float
    motor_tau: float | None = None
    extras: dict = field(default_factory=dict, repr=False)

    # ----------------------------------------------------------------- derived
    # Scalars are computed once per model (the physics reads some every substep);
    # arrays stay properties, so no caller can change a shared copy.
    @cached_property
    def weight(self) -> float:
        """Weight m·g, N."""
        return self.mass * GRAVITY

    @cached_property
    def hover_rpm(self) -> float:
        """Motor speed at which four motors exactly carry the weight, RPM."""
        return math.sqrt(self.weight / (4.0 * self.kf))

    @cached_property
    def max_rpm(self) -> float:
        """Motor speed giving ``thrust2weight`` times the weight, RPM."""
        return math.sqrt(self.thrust2weight * self.weight / (4.0 * self.kf))

    @cached_property
    def max_thrust(self) -> float:
        """Total thrust of four motors at ``max_rpm``, N."""
        return 4.0 * self.kf * self.max_rpm**2

    @cached_property
    def max_speed(self) -> float:
        """Published top speed, m/s."""
        return self.max_speed_kmh / 3.6

    @cached_property
    def gnd_eff_h_clip(self) -> float:
        """Height below which the ground-effect formula is clipped, m.

        The ground-effect thrust grows as 1/h², so it is held at its value at
        this height below it. The height is chosen (as in gym-pybullet-drones)
        so that one propeller at full speed gains at most ``max_thrust / 15``:
        solving kf·ω_max²·k_gnd·(r/4h)² = max_thrust/15 for h.
        """
        return (
            0.25
            * self.prop_radius
            * math.sqrt((15.0 * self.max_rpm**2 * self.kf * self.gnd_eff_coeff) / self.max_thrust)
        )

    @property
    def inertia_matrix(self) -> np.ndarray:
        """Diagonal inertia tensor, kg·m²."""
        return np.diag(self.inertia)

    @property
    def mixer(self) -> np.ndarray:
        """(4, 3) map from (roll, pitch, yaw) commands to per-motor commands.

        Row i is motor i's share: roll ∝ y_i, pitch ∝ −x_i (so that a positive
        command produces a positive body torque), yaw ∝ the motor's reaction
        sign. Normalised so that an X frame has ±0.5 on roll and pitch and a +
        frame ±1 (the DSL/Crazyflie convention).
        """
        x, y = self.motor_pos[:, 0], self.motor_pos[:, 1]
        roll = y / (np.abs(y).sum() / 2.0)
        pitch = -x / (np.abs(x).sum() / 2.0)
        return np.stack([roll, pitch, self.motor_spin.astype(float)], axis=1)


def _floats(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split()], dtype=float)


def load_urdf_model(path: str | Path) -> DroneModel:
    """Parse one quadgym URDF into a :class:`DroneModel`.

    Raises:
        ValueError: when a required tag or attribute is missing.
    """
    path = Path(path)
    root = ET.parse(path).getroot()
    props = root.find("properties")
    if props is None:
        raise ValueError(f"{path}: no <properties> tag; quadgym URDFs carry their constants there")
    base = root.find("./link[@name='base_link']")
    if base is None:
        raise ValueError(f"{path}: no base_link")
    inertial = base.find("inertial")
    inertia_tag = inertial.find("inertia")
    collision = base.find("collision/geometry/cylinder")
    motors = []
    for i in range(4):
        joint = root.find(f"./joint[@name='prop{i}_joint']/origin")
        if joint is None:
            raise ValueError(f"{path}: missing prop{i}_joint; a quadcopter has four motors")
        motors.append(_floats(joint.get("xyz")))
    a = props.attrib
    try:
        return DroneModel(
            name=root.get("name"),
            urdf_path=path,
            mass=float(inertial.find("mass").get("value")),
            inertia=np.array([float(inertia_tag.get(k)) for k in ("ixx", "iyy", "izz")]),
            arm=float(a["arm"]),
            frame=a["frame"],
            kf=float(a["kf"]),
            km=float(a["km"]),
            thrust2weight=float(a["thrust2weight"]),
            max_speed_kmh=float(a["max_speed_kmh"]),
            gnd_eff_coeff=float(a["gnd_eff_coeff"]),
            prop_radius=float(a["prop_radius"]),
            drag_coeff=np.array(
                [float(a["drag_coeff_xy"]), float(a["drag_coeff_xy"]), float(a["drag_coeff_z"])]
            ),
            dw_coeff=(float(a["dw_coeff_1"]), float(a["dw_coeff_2"]), float(a["dw_coeff_3"])),
            motor_pos=np.array(motors),
            motor_spin=_floats(a["motor_spin"]),
            collision_radius=float(collision.get("radius")),
            collision_height=float(collision.get("length")),
            motor_tau=float(a["motor_tau"]) if "motor_tau" in a else None,
        )
    except KeyError as exc:
        raise ValueError(f"{path}: <properties> lacks attribute {exc}") from None


@functools.cache
def get_model(name: str) -> DroneModel:
    """The shipped drone model called ``name`` (cached: the URDF is parsed once).

    Raises:
        ValueError: for an unknown name; the message lists the known ones.
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown drone model {name!r}; known models: {', '.join(MODEL_NAMES)}")
    path = resources.files("quadgym.envs.quad") / "assets" / f"{name}.urdf"
    return load_urdf_model(Path(str(path)))
