"""The arguments of the three quad faces, as validated, frozen configs.

:class:`QuadConfig` holds every argument that QuadHover-v0 (``single.py``), the
PettingZoo swarm (``swarm.py``) and the batched vector env (``vector.py``)
share, each with its type, default and a one-line doc with units; the
face-specific ones sit in :class:`SwarmConfig` and :class:`VectorConfig`. Each
face keeps its keyword signature, builds its configs from it first (so nothing,
least of all a PyBullet client, is made from an invalid argument) and reads
everything else from them.

They are :class:`quadgym.config.TypedConfig` s, checked like every other config of
quadgym: the annotation and bounds of each field, its ``check`` for what they
cannot say (physics modes, points), then :meth:`~QuadConfig.check` for rules
between fields. Values are stored in normal form (Python scalars, tuples,
strings), so configs compare equal across faces, hash, and round-trip through
``to_dict`` / JSON.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from quadgym.config import param
from quadgym.envs.arguments import EnvConfig
from quadgym.envs.quad.sensors.camera_model import (
    IMAGE_PARTS,
    MAX_FAR,
    MAX_SIDE,
    MAX_VIDEO_SIDE,
    RENDERERS,
    VIDEO_HEIGHT,
    VIDEO_WIDTH,
    CameraModel,
    body_reach,
    parse_obs_type,
)
from quadgym.envs.quad.sim.models import MODEL_NAMES, DroneModel, get_model
from quadgym.envs.quad.sim.perturb import (
    Perturbations,
    Randomization,
    canonical,
    canonical_randomize,
    parse_perturb,
    parse_randomize,
)
from quadgym.envs.quad.sim.physics import Physics, parse_physics
from quadgym.envs.quad.tasks.base import (
    ACTION_TYPES,
    FORMATIONS,
    HoverTask,
    StartNoise,
    check_rates,
    formation_points,
)
from quadgym.envs.quad.tasks.suite import BULLET_TASKS, TASK_NAMES, TEAM_TASKS, build_task

#: One point (x, y, z), m.
Point = tuple[float, float, float]

RENDER_MODES = ("rgb_array", "human")

#: Largest |coordinate| of a start or target, m (also the bound of heights, start
#: noises and the flight box): float32 observations and ``state()`` keep about a
#: millimetre of resolution there (a target 1e300 m away gave NaN observations).
MAX_COORDINATE = 1e4
#: Largest start velocity noise, m/s: the observation's velocity range (faster
#: starts saturate it, and 1e300 m/s gave NaN in Bullet).
MAX_START_SPEED = 10.0
#: Highest physics rate, Hz: ~3,000 substeps per 30 Hz step already.
MAX_PHYSICS_HZ = 100_000
#: Most past actions the observation may carry (``action_history``): 64 steps are over 2 s
#: at 30 Hz, far beyond any motor lag or delay the perturbations model.
MAX_ACTION_HISTORY = 64
#: Longest leak time constant of the observed error integral (``error_integral``), s.
MAX_INTEGRAL_TAU = 600.0
_AUTORESET = {m.name.lower(): m for m in AutoresetMode}


def _physics(name: str, value: str) -> str:
    """A physics mode name, refused with the grammar of the names."""
    try:
        parse_physics(value)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    return value


def _point_rows(name: str, value: Any, *, single: bool) -> Point | tuple[Point, ...]:
    """Finite points as tuples: an (N, 3) array as N (x, y, z) tuples, or (``single``)
    one (3,) point as one tuple.

    Raises:
        TypeError: ``value`` is not numbers.
        ValueError: another shape, or a NaN/inf coordinate.
    """
    allowed = f"a finite {'(3,) point or ' if single else ''}(N, 3) array of points, m"
    try:
        pts = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {allowed}; got {value!r}") from None
    if not np.all(np.isfinite(pts)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if pts.size and np.abs(pts).max() > MAX_COORDINATE:
        raise ValueError(
            f"{name} must lie within ±{MAX_COORDINATE:g} m, got a coordinate of "
            f"{np.abs(pts).max():g}"
        )
    if single and pts.shape == (3,):
        return tuple(pts.tolist())
    if pts.ndim == 2 and pts.shape[1] == 3 and len(pts):
        return tuple(map(tuple, pts.tolist()))
    raise ValueError(f"{name} must be {allowed}; got shape {pts.shape}")


def _points(name: str, value: tuple | None) -> Point | tuple[Point, ...] | None:
    """None, one point (3,) or points (N, 3); :meth:`QuadConfig.check` matches N to
    ``num_drones``."""
    return None if value is None else _point_rows(name, value, single=True)


def _formation(name: str, value: str | tuple) -> str | tuple[Point, ...]:
    """A formation name, or (N, 3) target points."""
    if not isinstance(value, str):
        return _point_rows(name, value, single=False)
    if value not in FORMATIONS:
        allowed = ", ".join(map(repr, FORMATIONS))
        raise ValueError(f"unknown {name} {value!r}; allowed: {allowed} or an (N, 3) array")
    return value


def _autoreset(name: str, value: Any) -> str:
    """An ``AutoresetMode``, its value (``"NextStep"``) or snake case (``"next_step"``),
    as snake case."""
    for snake, mode in _AUTORESET.items():
        if value is mode or (isinstance(value, str) and value in (snake, mode.value)):
            return snake
    allowed = ", ".join(map(repr, _AUTORESET))
    if not isinstance(value, str):
        raise TypeError(f"{name} must be an AutoresetMode or one of {allowed}, got {value!r}")
    raise ValueError(f"unknown {name} {value!r}; allowed: {allowed}")


@dataclass(frozen=True)
class QuadConfig(EnvConfig):
    """The arguments the quad faces share. Defaults are QuadHover-v0's; a face whose
    signature has other defaults (the swarm: 4 drones; the vector env: ``dyn``) passes
    them. ``QuadConfig.describe()`` lists every field with its type, default and doc.
    """

    task: str = param(
        "hover",
        "what the drones are asked to do: one of the declared tasks (one drone: "
        + ", ".join(repr(t) for t in TASK_NAMES if t not in TEAM_TASKS)
        + "; several drones: "
        + ", ".join(map(repr, TEAM_TASKS))
        + ")",
        choices=TASK_NAMES,
    )
    drone_model: str = param(
        "cf2x", "airframe, a URDF in assets/: 'cf2x', 'cf2p' or 'race'", choices=MODEL_NAMES
    )
    # the downwash's (n, n) pairwise arrays take ~32 bytes a pair (measured: +86 MiB peak
    # from 1000 to 2000 drones): 10⁴ drones need ~3.2 GB; 10⁶ asked for ~32 TB (and hours of
    # loading bodies into PyBullet) and hung
    num_drones: int = param(
        1, "drones in one world (at most 10000: ~3.2 GB of pairwise downwash work)", ge=1, le=10_000
    )
    physics: str = param(
        "pyb",
        "physics mode: integrator 'pyb' (Bullet) or 'dyn' (NumPy), plus '_gnd', '_drag', '_dw'",
        check=_physics,
    )
    physics_hz: int = param(240, "physics rate, Hz", ge=1, le=MAX_PHYSICS_HZ)
    control_hz: int = param(30, "control rate, Hz; must divide physics_hz", ge=1)
    action_type: str = param(
        "rpm",
        "'rpm', 'one_d_rpm': motor speeds, 0.5-1.5 × hover; 'pid', 'one_d_pid': position "
        "set-points ±1 m; 'vel': velocity set-points up to 1 m/s; 'attitude': thrust 0-2 m·g, "
        "roll and pitch ±π/6 rad, yaw rate ±π/2 rad/s (the last four PID-tracked)",
        choices=ACTION_TYPES,
    )
    start: tuple | None = param(
        None,
        "nominal start, (3,) or (num_drones, 3), m; None: a row along x, 0.5 m apart",
        check=_points,
    )
    start_height: float = param(
        0.0, "start height above the resting height, m", ge=0.0, le=MAX_COORDINATE
    )
    target: tuple | None = param(
        None, "target, (3,) or (num_drones, 3), m; None: 1 m above the start", check=_points
    )
    start_xy_noise: float = param(
        0.1, "± uniform start noise in x and y, m", ge=0.0, le=MAX_COORDINATE
    )
    start_yaw_noise: float = param(
        0.3, "± uniform start noise of yaw, rad; <= π", ge=0.0, le=math.pi
    )
    start_tilt_noise: float = param(
        0.0, "± uniform start noise of roll and pitch, rad; <= π/2", ge=0.0, le=math.pi / 2
    )
    start_vel_noise: float = param(
        0.0, "± uniform start noise of each velocity axis, m/s", ge=0.0, le=MAX_START_SPEED
    )
    start_height_noise: float = param(
        0.0, "extra start height, uniform in [0, this], m", ge=0.0, le=MAX_COORDINATE
    )
    episode_seconds: float = param(8.0, "episode length, s; at least one control step", gt=0.0)
    max_tilt: float = param(
        1.2, "tilt from upright beyond which a drone has crashed, rad; <= π", gt=0.0, le=math.pi
    )
    box: float = param(
        2.0, "half-width of the flight box around the target, m", gt=0.0, le=MAX_COORDINATE
    )
    render_mode: str | None = param(
        None,
        "None, 'rgb_array' (a third-person camera following the drones) or 'human' (PyBullet GUI)",
        choices=RENDER_MODES,
    )
    render_width: int = param(
        VIDEO_WIDTH, "width of render()'s rgb_array frames, pixels", ge=16, le=MAX_VIDEO_SIDE
    )
    render_height: int = param(
        VIDEO_HEIGHT, "height of render()'s rgb_array frames, pixels", ge=16, le=MAX_VIDEO_SIDE
    )
    perturb: Any = param(
        None,
        "perturbations (wind, mass, inertia, obs_noise, action_delay): None, 'mild', "
        "'harsh', a dict or 'key=value,...' text; stored as that text",
        check=lambda name, value: canonical(value),
    )
    randomize: Any = param(
        None,
        "per-episode ranges of the perturbations, each drone or lane its own draw from the "
        "env's seeded generator: None, 'mild', a dict or 'key=(low,high),...' text (keys of "
        "perturb); a randomised key replaces perturb's value; stored as that text",
        check=lambda name, value: canonical_randomize(value),
    )
    motors: bool = param(
        False,
        "motors as part of the model: each motor's speed lags its command, first order, with "
        "the airframe's published time constant (cf2x, cf2p: 0.072 s; a perturb motor_tau "
        "replaces it), and the observation carries the four motor speeds",
    )
    action_history: int = param(
        0,
        "memory in the observation: the k actions before the previous one (newest first), so "
        "that it carries the last k + 1 actions; 0: the previous action alone",
        ge=0,
        le=MAX_ACTION_HISTORY,
    )
    error_integral: float = param(
        0.0,
        "memory in the observation: the leaky integral of the position error (goal − "
        "position, m·s), I ← e^(−Δt/τ)·I + Δt·e each control step, with this leak time "
        "constant τ, s (the RL analogue of the PID's integral); 0: not observed",
        ge=0.0,
        le=MAX_INTEGRAL_TAU,
    )
    error_integral_radius: float | None = param(
        None,
        "anti-windup of error_integral: the error is added only while the drone is within "
        "this distance of its goal, m (farther, the integral only leaks), so that an approach "
        "from afar does not wind it up; None: always added",
        gt=0.0,
        le=MAX_COORDINATE,
    )
    privileged: bool = param(
        False,
        "append the privileged vector (the true state, the episode's time and its perturbation "
        "parameters: quadgym.envs.quad.episode.PRIVILEGED) to the observation, for an "
        "asymmetric critic in training; a policy must not read it (the asymmetric_critic of ppo "
        "and ppo_shared slices it off the actor)",
    )

    obs_type: str = param(
        "kin",
        "observation: 'kin' (the kinematic vector), 'rgb', 'depth', 'seg' (images of the "
        "onboard camera), or parts joined by '+' (e.g. 'kin+rgb': a Dict)",
        check=parse_obs_type,
    )
    camera_width: int = param(64, "onboard camera image width, pixels", ge=1, le=MAX_SIDE)
    camera_height: int = param(48, "onboard camera image height, pixels", ge=1, le=MAX_SIDE)
    camera_fov: float = param(
        60.0, "onboard camera vertical field of view, degrees, in (0, 180)", gt=0.0, lt=180.0
    )
    camera_near: float = param(
        0.1, "onboard camera near plane, m; beyond the drone's own body", gt=0.0
    )
    camera_far: float = param(
        20.0, "onboard camera far plane, m (depth where nothing is hit)", gt=0.0, le=MAX_FAR
    )
    camera_tilt: float = param(
        0.0, "onboard camera pitch below body +x, degrees", ge=-90.0, le=90.0
    )
    camera_hz: int | None = param(
        None, "camera frames per second; must divide control_hz; None: control_hz", ge=1
    )
    camera_renderer: str = param(
        "auto",
        "'auto' (= 'tiny'), 'tiny' (getCameraImage, CPU), 'rays' (depth and seg by batched "
        "ray casts), 'egl' (PyBullet's EGL plugin, for a GPU)",
        choices=RENDERERS,
    )

    def check(self) -> None:
        check_rates(self.physics_hz, self.control_hz)
        if self.camera_near >= self.camera_far:
            raise ValueError(
                f"camera_near={self.camera_near!r} must be below camera_far={self.camera_far!r}"
            )
        reach = body_reach(self.model)
        if self.image_parts and self.camera_near <= reach:
            raise ValueError(
                f"camera_near={self.camera_near!r} m lies inside the {self.drone_model}'s own "
                f"body, which reaches {reach:.3f} m from the camera; use camera_near > {reach:.3f}"
            )
        if self.camera_hz is not None and self.control_hz % self.camera_hz:
            divisors = [d for d in range(1, self.control_hz + 1) if self.control_hz % d == 0]
            raise ValueError(
                f"camera_hz={self.camera_hz} does not divide control_hz={self.control_hz} (frames "
                f"are held for whole control steps); choose one of {divisors}"
            )
        if self.privileged and "kin" not in self.obs_type.split("+"):
            raise ValueError(
                f"privileged=True appends to the kinematic vector, which obs_type="
                f"{self.obs_type!r} does not observe; use an obs_type with 'kin' "
                f"(e.g. 'kin+{self.obs_type}')"
            )
        if self.motors and self.model.motor_tau is None:
            with_tau = [m for m in MODEL_NAMES if get_model(m).motor_tau is not None]
            raise ValueError(
                f"motors=True needs the airframe's motor time constant, which "
                f"drone_model={self.drone_model!r} does not publish; allowed: "
                f"{', '.join(with_tau)} (or perturb='motor_tau=...' for a lag of your own)"
            )
        if self.task in BULLET_TASKS and self.num_drones != 1:
            raise ValueError(
                f"task {self.task!r} flies one drone through its course, got "
                f"num_drones={self.num_drones}"
            )
        if self.task in TEAM_TASKS and self.num_drones < 2:
            raise ValueError(
                f"task {self.task!r} needs at least 2 drones in one world, got "
                f"num_drones={self.num_drones} (the vector backend has one per lane)"
            )
        for name in ("start", "target"):
            pts = getattr(self, name)
            if pts is not None and isinstance(pts[0], tuple) and len(pts) != self.num_drones:
                raise ValueError(
                    f"{name} holds {len(pts)} points but num_drones={self.num_drones}; "
                    "give one (x, y, z) or one per drone"
                )
        if round(self.episode_seconds * self.control_hz) < 1:
            raise ValueError(
                f"episode_seconds={self.episode_seconds!r} is shorter than one control step "
                f"(1/control_hz = {1 / self.control_hz:g} s)"
            )

    # ------------------------------------------------------------- derived
    @property
    def model(self) -> DroneModel:
        """The airframe (parsed once per process)."""
        return get_model(self.drone_model)

    @property
    def physics_mode(self) -> Physics:
        """The integrator and aerodynamic effects ``physics`` names."""
        return parse_physics(self.physics)

    @property
    def substeps(self) -> int:
        """Physics steps per control step."""
        return self.physics_hz // self.control_hz

    @property
    def image_parts(self) -> tuple[str, ...]:
        """The image parts of ``obs_type`` (none for ``"kin"``)."""
        return tuple(x for x in self.obs_type.split("+") if x in IMAGE_PARTS)

    @property
    def camera(self) -> CameraModel:
        """The onboard camera's model of the ``camera_*`` arguments."""
        return CameraModel(
            self.camera_width,
            self.camera_height,
            self.camera_fov,
            self.camera_near,
            self.camera_far,
            self.camera_tilt,
        )

    @property
    def camera_period(self) -> int:
        """Control steps per camera frame."""
        return 1 if self.camera_hz is None else self.control_hz // self.camera_hz

    @property
    def start_noise(self) -> StartNoise:
        """The start-state perturbations: the one place they are built."""
        return StartNoise(
            self.start_xy_noise,
            self.start_yaw_noise,
            self.start_tilt_noise,
            self.start_vel_noise,
            self.start_height_noise,
        )

    @property
    def perturbations(self) -> Perturbations:
        """The :class:`~quadgym.envs.quad.sim.perturb.Perturbations` of ``perturb``, with
        the airframe's motor time constant where ``motors`` is on and ``perturb`` sets none
        (the motor model is the perturbations' motor lag, one copy of it)."""
        p = parse_perturb(self.perturb)
        if self.motors and not p.motor_tau:
            return dataclasses.replace(p, motor_tau=self.model.motor_tau)
        return p

    @property
    def randomization(self) -> Randomization:
        """The :class:`~quadgym.envs.quad.sim.perturb.Randomization` of ``randomize``."""
        return parse_randomize(self.randomize)

    def make_task(self, options: EnvConfig | None = None) -> HoverTask:
        """The task of these arguments, with its checked ``options``
        (:func:`~quadgym.envs.quad.tasks.suite.task_options`; None for hover)."""
        return build_task(
            self.task,
            options,
            model=self.model,
            action_type=self.action_type,
            control_hz=self.control_hz,
            box=self.box,
            max_tilt=self.max_tilt,
            perturb=self.perturbations,
            camera=self.camera,
            motor_obs=self.motors,
            action_history=self.action_history,
            error_integral=self.error_integral,
            error_integral_radius=self.error_integral_radius,
            randomize=self.randomization,
        )

    def nominal_points(self, rest_height: float) -> tuple[np.ndarray, np.ndarray]:
        """(num_drones, 3) nominal starts and targets, m: ``start`` (default a row along x,
        0.5 m apart) at ``rest_height + start_height``, and ``target`` (default 1 m above)."""
        n = self.num_drones
        row = np.c_[np.arange(n) * 0.5, np.zeros((n, 2))]
        start = row if self.start is None else np.broadcast_to(self.start, (n, 3)).copy()
        start[:, 2] = rest_height + self.start_height
        if self.target is None:
            return start, start + [0.0, 0.0, 1.0]
        return start, np.broadcast_to(self.target, (n, 3)).astype(float)


@dataclass(frozen=True)
class SwarmConfig(EnvConfig):
    """The swarm's own arguments (quad_swarm_v0)."""

    formation: str | tuple = param(
        "grid",
        "targets: 'line', 'circle', 'grid' or an (N, 3) array of points, m",
        check=_formation,
    )
    spacing: float = param(
        0.5,
        "distance between neighbouring targets of a named formation, m",
        gt=0.0,
        le=MAX_COORDINATE,
    )
    altitude: float = param(
        1.0, "height of a named formation's targets, m", ge=0.0, le=MAX_COORDINATE
    )
    k_neighbors: int = param(2, "nearest neighbours in each agent's observation", ge=0)
    collision_distance: float = param(
        0.1, "centre distance below which two live drones collide, m", ge=0.0
    )
    end_together: bool = param(
        True,
        "when a drone crashes or collides, every live agent's episode ends (the others "
        "truncated); False: agents leave one by one",
    )

    def targets(self, num_drones: int) -> np.ndarray:
        """(num_drones, 3) target points, m: the formation's.

        Raises:
            ValueError: a named formation of so many drones, so far apart, that its
                targets leave ±MAX_COORDINATE m (naming spacing and num_drones).
        """
        pts = formation_points(self.formation, num_drones, self.spacing, self.altitude)
        reach = float(np.abs(pts).max())
        if reach > MAX_COORDINATE:
            raise ValueError(
                f"formation {self.formation!r} of num_drones={num_drones} at "
                f"spacing={self.spacing:g} m reaches {reach:g} m; targets must lie within "
                f"±{MAX_COORDINATE:g} m (use a smaller spacing)"
            )
        return pts


@dataclass(frozen=True)
class VectorConfig(EnvConfig):
    """The batched vector env's own arguments."""

    num_envs: int = param(1, "independent lanes, one drone each", ge=1)
    autoreset_mode: Any = param(
        "next_step",
        "'next_step', 'same_step' or 'disabled' (or an AutoresetMode); stored as the first",
        check=_autoreset,
    )
    integrator: str = param(
        "euler",
        "'euler' (semi-implicit, as Bullet) or 'rk4' (fourth order: the same accuracy at a "
        "larger step, see benchmarks/bench_integrator.py)",
        choices=("euler", "rk4"),
    )

    @property
    def autoreset(self) -> AutoresetMode:
        """``autoreset_mode`` as Gymnasium's enum."""
        return _AUTORESET[self.autoreset_mode]
