"""QuadVisualReach-v0: fly to a red sphere that only the onboard camera shows.

## Description

One Crazyflie starts at rest in the air and must fly to a red sphere placed,
at random (seeded), where its forward camera sees it. The sphere's position is
**not** in the kinematic observation: the policy has to find it in the image.
The physics, actions and camera are QuadHover-v0's (:mod:`quadgym.envs.quad.single`'s
card); this card says what differs. Registered with ``task="visual_reach"``,
``obs_type="kin+rgb"``, ``action_type="pid"``, ``control_hz=15``,
``episode_seconds=4.0`` (60 steps); any of them can be passed to ``gym.make``.

Why these defaults: with ``pid`` actions the best action of an episode is one
constant, the target's offset from the start over ``pid_range`` (2 m), so a
pixel policy only has to read where the sphere is in the picture; ``vel`` or
``rpm`` actions would add a control loop to learn. 15 Hz halves the frames
rendered per second of flight (the PID still runs at 240 Hz), and an oracle
flying to the set-point arrives in ~0.7 s, so 4 s leaves room. ``"kin+rgb"``
gives the policy its attitude and velocity next to the picture (rgb alone
cannot tell the yaw, and the ``pid`` set-points are world-frame offsets).

## Action Space

QuadHover-v0's ``pid``: ``Box(-1, 1, (3,), float32)``, the position set-point
start + 2 m · a, tracked by the cascaded PID at the physics rate (``start``:
the episode's start point, below). Other ``action_type`` s work as on
QuadHover-v0, their set-points relative to the start point.

## Observation Space

``Dict`` (default ``obs_type="kin+rgb"``; any ``obs_type`` of QuadHover-v0):

| Key    | Space                            | Content                                      |
|--------|----------------------------------|----------------------------------------------|
| kin    | ``Box(float32)``, (18 + d (+3),) | QuadHover-v0's vector, its entries 0-2 being |
|        |                                  | start point − position (m); with             |
|        |                                  | ``target_in_obs`` then target − position (3) |
| rgb    | ``Box(0, 255, (48, 64, 3), uint8)`` | the onboard camera (QuadHover-v0's card)  |

Entries 0-2 and the box are about the start point, not the target: the
kinematics tell the policy how far it has flown, not where to go.
``target_in_obs=True`` appends target − position (bounds ±(box + 2 m)): the
reference point with the target known (with ``obs_type="kin"``, no image: the
same policy without one is the lower bound). Segmentation id of the sphere: 2.

## Rewards

``PROGRESS`` (10) × (distance to the target's centre before the step − after
it), m, plus ``SUCCESS_BONUS`` (10) in the step that reaches it. The progress
terms telescope: an episode's sum is 10 × the distance closed whatever the
path, so the shaping pays nothing for dithering, and the discount makes an
earlier arrival worth more. No crash penalty: a crash forfeits the bonus.

## Starting State

At rest, level, ``height`` m (1.0) above the ground at the face's ``start``
(default the origin), plus the start noise (±0.1 m in x and y, ±0.3 rad of
yaw). The sphere (``radius`` 0.1 m, red, colliding with nothing) is then
placed on a ray through the start image, drawn uniformly within ``spread``
(0.6) of the half fields of view in each direction (the whole sphere is in
the picture), at a distance uniform in ``distance`` (0.5-1.5 m), and at least
``radius`` + 0.1 m above the ground (redrawn up to 32 times, then raised).
Optional ``obstacles``: a preset (``"pillars"``: 4 cylinders 8 cm wide, 2 m
tall; ``"boxes"``: 4 boxes 0.5 × 0.5 × 0.8 m), placed by each reset 2-3.5 m
from the start at a bearing 60°-300° away from the heading (never straight
ahead), or a fixed list of ``(kind, size, (x, y))``. All bodies load once.

## Episode End

1. Termination (success): the drone's centre within ``success_radius``
   (0.2 m) of the sphere's; the episode ends at once (no hold).
2. Termination (crash): QuadHover-v0's rules (tilt beyond ``max_tilt``,
   leaving the ``box`` around the start point, ground impact faster than 1 m/s).
3. Truncation: ``episode_seconds`` (4 s, 60 steps at 15 Hz) elapse.

Info: ``position_error`` (distance to the sphere's centre, m), ``crashed``,
``reached``, ``time``, ``rpm``. Metrics (``summarize``): ``reached`` (0 or 1),
``time_to_reach`` (s, NaN if not), ``final_error`` (m), ``crashed``,
``seconds``, ``effort``.

## Arguments

```python
>>> import gymnasium as gym, quadgym
>>> env = gym.make("QuadVisualReach-v0", obs_type="kin+rgb", distance=(0.5, 1.5))
```

QuadHover-v0's arguments (its card), with the defaults above, and these
options, checked by :class:`VisualReachOptions` before anything is built:

| Parameter            | Type           | Default    | Description                          |
|----------------------|----------------|------------|--------------------------------------|
| ``distance``         | **tuple**      | (0.5, 1.5) | the target's distance range, m;      |
|                      |                |            | 0 < low <= high <= 20, low > radius  |
| ``spread``           | **float**      | 0.6        | bearing within this fraction of the  |
|                      |                |            | half fields of view; [0, 0.9]        |
| ``height``           | **float**      | 1.0        | start height above the ground, m     |
| ``radius``           | **float**      | 0.1        | radius of the sphere, m; (0, 1]      |
| ``success_radius``   | **float**      | 0.2        | success distance, m                  |
| ``target_in_obs``    | **bool**       | False      | append target − position to ``kin``  |
| ``obstacles``        | **str, list**  | None       | ``"pillars"``, ``"boxes"`` or a list |
|                      |                |            | of (kind, size, (x, y)), see above   |

One drone only (``num_drones=1``) and the PyBullet face only: the sphere and
the obstacles are Bullet bodies (the vector backend refuses the task).

## Version History

* v0: initial version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from quadgym.config import param
from quadgym.envs.arguments import EnvConfig
from quadgym.envs.quad.sensors.camera_model import CameraModel
from quadgym.envs.quad.sim.dynamics import State, quat_to_rot
from quadgym.envs.quad.sim.scene import Scene, add_target, parse_obstacles
from quadgym.envs.quad.tasks.base import HoverTask, StartNoise
from quadgym.envs.quad.tasks.spec import TaskSpec

#: Reward per metre of distance closed.
PROGRESS = 10.0
#: Reward at success.
SUCCESS_BONUS = 10.0
#: Clearance of the target above the ground beyond its radius, m.
CLEARANCE = 0.1


@dataclass(frozen=True)
class VisualReachOptions(EnvConfig):
    """The arguments QuadVisualReach-v0 adds to QuadHover-v0's."""

    distance: tuple[float, float] = param(
        (0.5, 1.5), "range of the target's distance from the start, m"
    )
    spread: float = param(
        0.6,
        "the target's bearing in the image, uniform within this fraction of the half fields "
        "of view",
        ge=0.0,
        le=0.9,
    )
    height: float = param(1.0, "start height above the ground, m", gt=0.1, le=100.0)
    radius: float = param(0.1, "radius of the target sphere, m", gt=0.0, le=1.0)
    success_radius: float = param(
        0.2, "success: the drone's centre within this distance of the target's, m", gt=0.0
    )
    target_in_obs: bool = param(
        False, "append target − position (3, m) to the kinematic observation (upper bound)"
    )
    obstacles: Any = param(
        None,
        "None, a preset ('pillars', 'boxes': placed by each reset around the start) or a "
        "list of (kind, size, (x, y)): 'box' half extents (3,), 'cylinder' (radius, half "
        "height), m",
        check=parse_obstacles,
    )

    def check(self) -> None:
        low, high = self.distance
        if not (math.isfinite(low) and math.isfinite(high)) or not 0.0 < low <= high <= 20.0:
            raise ValueError(f"distance must be 0 < low <= high <= 20 m, got {self.distance!r}")
        if low <= self.radius:
            raise ValueError(
                f"distance={self.distance!r} starts inside the target of radius {self.radius:g} "
                "m; raise the lower distance"
            )


@dataclass
class VisualReachTask(HoverTask):
    """Reach the sphere of :class:`VisualReachOptions` (see the module's rules)."""

    options: VisualReachOptions = field(default_factory=VisualReachOptions)
    #: ``pid`` set-points span ±2 m around the start (targets lie up to 1.5 m away).
    pid_range: float = 2.0
    metric_goals: ClassVar[dict[str, str | None]] = {
        "reached": "max",
        "time_to_reach": "min",
        "final_error": "min",
        "crashed": "min",
        "seconds": None,
        "effort": "min",
    }
    success_rule: ClassVar[str] = "reached the target"

    def success(self, metrics: dict[str, float]) -> bool:
        """Reached the sphere (within ``success_radius``)."""
        return bool(metrics["reached"])

    def __post_init__(self) -> None:
        super().__post_init__()
        self.extra_dim = 3 if self.options.target_in_obs else 0
        self._lens = self.camera or CameraModel()
        self._world = None
        self._target_id: int | None = None
        self.scene: Scene | None = None
        self.targets = np.zeros((1, 3))
        self._origin = np.zeros((1, 3))
        self._dist = self._before = np.zeros(1)

    # ----------------------------------------------------------------- scene
    def attach(self, world: Any) -> None:
        """Load the target sphere and the obstacles into ``world`` (once)."""
        self._world = world
        self._target_id = add_target(world, self.options.radius)
        self.scene = Scene(world, self.options.obstacles)

    def episode_start(
        self,
        rng: np.random.Generator,
        rows: np.ndarray,
        start: np.ndarray,
        target: np.ndarray,
        noise: StartNoise,
    ) -> State:
        """Start ``height`` m up at the start (plus ``noise``), draw the target in view,
        place it and the obstacles."""
        if self._world is None:
            raise RuntimeError("the visual reach task needs a PyBullet world (attach() it first)")
        o = self.options
        above = np.array(start, dtype=float)[rows]
        above[:, 2] = o.height
        state = self.sample_start(rng, above, noise)
        self.targets = np.array([self.draw_target(rng, state, k) for k in range(len(state))])
        self._world.place(self._target_id, self.targets[0])
        yaw = float(np.arctan2(*quat_to_rot(state.quat)[0, [1, 0], 0]))
        self.scene.reset(rng, state.pos[0], yaw)
        self._origin = state.pos.copy()
        self._dist = self._distance(state)
        self._before = self._dist.copy()
        return state

    def draw_target(self, rng: np.random.Generator, state: State, k: int) -> np.ndarray:
        """(3,) a target point in view of drone ``k``'s camera at ``state`` (see the
        module's rules)."""
        o, lens = self.options, self._lens
        axes = quat_to_rot(state.quat[k : k + 1])[0] @ lens.mount()  # forward, right, up
        th, tv = lens.tan_half
        floor = o.radius + CLEARANCE
        for _ in range(32):
            u, v = rng.uniform(-o.spread, o.spread, size=2) * [th, tv]
            ray = axes @ np.array([1.0, u, v])
            point = state.pos[k] + rng.uniform(*o.distance) * ray / np.linalg.norm(ray)
            if point[2] >= floor:
                return point
        point[2] = floor
        return point

    # ------------------------------------------------------------- the task
    def _distance(self, state: State) -> np.ndarray:
        err = self.targets - state.pos
        return np.sqrt(np.einsum("ni,ni->n", err, err))

    def progress(self, state: State) -> None:
        """Keep the distance to the target before and after the last control step."""
        self._before, self._dist = self._dist, self._distance(state)

    def position_error(self, state: State, goal: np.ndarray) -> np.ndarray:
        """(n,) distance to the target's centre, m (not to the goal, the start point)."""
        return self._distance(state)

    def goal(self, target: np.ndarray, steps: np.ndarray, state: State | None = None) -> np.ndarray:
        """The episode's start point (not the target, which only the camera shows)."""
        return self._origin

    def max_error(self, start: np.ndarray, target: np.ndarray) -> float:
        return float(self.box + 0.5)

    def extra_observation(self, state: State, target: np.ndarray, steps: np.ndarray) -> np.ndarray:
        return self.targets - state.pos

    def extra_bounds(self, max_error: float) -> np.ndarray:
        return np.full(self.extra_dim, self.box + self.options.distance[1] + 0.5)

    def judge(
        self,
        state: State,
        goal: np.ndarray,
        prev_vz: np.ndarray,
        rest_height: float,
        steps: np.ndarray,
        max_steps: int,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """See the module's rules. Info: ``position_error`` (distance to the target's
        centre, m), ``crashed`` and ``reached``."""
        crashed = self.crashed(state, goal, prev_vz, rest_height)
        reached = self._dist <= self.options.success_radius
        reward = PROGRESS * (self._before - self._dist) + SUCCESS_BONUS * reached
        details = {"position_error": self._dist.copy(), "crashed": crashed, "reached": reached}
        return reward, crashed | reached, details

    def summarize(self, infos: list[dict[str, Any]]) -> dict[str, float]:
        """``reached`` (0 or 1), ``time_to_reach`` (s; NaN if not), ``final_error`` (m),
        and the crash, time and effort every task reports."""
        reached = bool(infos[-1]["reached"])
        return {
            "reached": float(reached),
            "time_to_reach": len(infos) / self.control_hz if reached else np.nan,
            "final_error": float(infos[-1]["position_error"]),
            **self._episode(infos),
        }


#: The declaration every table derives from (tasks/spec.py). Its target is hidden from
#: the kinematic observation, where the model-based controllers read theirs; its SB3
#: defaults name a feature extractor, so they stay in agents/sb3/config.py.
SPEC = TaskSpec(
    "visual_reach",
    "QuadVisualReach-v0",
    VisualReachTask,
    VisualReachOptions,
    order=4,
    bullet=True,
    env_kwargs={
        "obs_type": "kin+rgb",
        "action_type": "pid",
        "control_hz": 15,
        "episode_seconds": 4.0,
    },
    model_based=False,
)
