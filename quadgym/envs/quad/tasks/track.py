"""Trajectory tracking (QuadTrack-v0): follow a moving reference point.

The reference of each drone is a closed curve around the face's target point
``c`` (its centre), one lap every ``period`` seconds, angle θ = 2π·t/period:

| trajectory | reference at time t                                               | starts at      |
|------------|-------------------------------------------------------------------|----------------|
| circle     | c + r·(cos θ, sin θ, 0)                                           | c + (r, 0, 0)  |
| figure8    | c + r·(sin θ, sin θ·cos θ, 0) (Gerono's lemniscate)                | c              |
| spline     | periodic uniform cubic B-spline through ``knots`` control points  | the curve at 0 |
|            | drawn per episode, uniform in c ± (r, r, r/2)                     |                |

The drone starts at rest at the reference's start (plus the face's start
noise). It observes the hover observation towards the current reference
point, then the next ``lookahead`` reference points, ``lookahead_dt`` s apart,
relative to itself. Reward per step: max(0, 1 − e/``error_scale``) with e the
distance to the current reference point (m) (the hover reward with its scale);
the episode ends on the hover crash rules, the flight box centred on the
current reference point. The
metric is the RMS of e over an episode (``info["position_error"]`` per step).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from quadgym.config import param
from quadgym.envs.arguments import EnvConfig
from quadgym.envs.quad.sim.dynamics import State
from quadgym.envs.quad.tasks.base import HoverTask, StartNoise
from quadgym.envs.quad.tasks.spec import TaskSpec

TRAJECTORIES = ("circle", "figure8", "spline")


@dataclass(frozen=True)
class TrackOptions(EnvConfig):
    """The arguments QuadTrack-v0 adds to QuadHover-v0's."""

    trajectory: str = param(
        "circle", "reference curve: 'circle', 'figure8' or 'spline'", choices=TRAJECTORIES
    )
    radius: float = param(0.5, "size r of the curve (see the table), m", gt=0.0, le=100.0)
    period: float = param(8.0, "seconds per lap", gt=0.0, le=1e4)
    knots: int = param(6, "control points of a 'spline' reference", ge=4, le=64)
    lookahead: int = param(4, "future reference points observed", ge=0, le=50)
    lookahead_dt: float = param(0.25, "time between observed reference points, s", gt=0.0)
    error_scale: float = param(
        0.5, "tracking error at which the step reward reaches 0, m", gt=0.0, le=100.0
    )


#: Uniform cubic B-spline basis, rows: coefficients of 1, s, s², s³ for the 4 points.
_BSPLINE = np.array([[1, -3, 3, -1], [4, 0, -6, 3], [1, 3, 3, -3], [0, 0, 0, 1]]) / 6.0


@dataclass
class TrackTask(HoverTask):
    """Follow the reference of :class:`TrackOptions` (see the module's table)."""

    options: TrackOptions = field(default_factory=TrackOptions)
    metric_goals: ClassVar[dict[str, str | None]] = {
        "rms_error": "min",
        "max_error": "min",
        "crashed": "min",
        "seconds": None,
        "effort": "min",
    }
    success_rule: ClassVar[str] = "RMS error < 0.10 m, no crash"

    def success(self, metrics: dict[str, float]) -> bool:
        """Tracked the whole episode within 0.10 m RMS of the reference, uncrashed."""
        return metrics["rms_error"] < 0.10 and not metrics["crashed"]

    def __post_init__(self) -> None:
        self.reward_scale = self.options.error_scale
        super().__post_init__()
        self.extra_dim = 3 * self.options.lookahead
        self._knots: np.ndarray | None = None  # (n, knots, 3) offsets of 'spline'
        self._centre: np.ndarray | None = None  # (n, 3) the face's targets, at episode start

    # ------------------------------------------------------------- reference
    def reference(
        self, centre: np.ndarray, seconds: np.ndarray, drones: np.ndarray | None = None
    ) -> np.ndarray:
        """(n, 3) reference points, m, at times ``seconds`` (n,) into the episodes of
        ``drones`` (n,) indices, default 0..n-1, with centres ``centre`` (n, 3)."""
        o = self.options
        theta = (2.0 * math.pi / o.period) * seconds
        if o.trajectory == "circle":
            offset = np.stack([np.cos(theta), np.sin(theta), np.zeros_like(theta)], axis=1)
            return centre + o.radius * offset
        if o.trajectory == "figure8":
            s = np.sin(theta)
            offset = np.stack([s, s * np.cos(theta), np.zeros_like(theta)], axis=1)
            return centre + o.radius * offset
        u = (seconds / o.period % 1.0) * o.knots  # spline: position along the loop
        seg = np.minimum(np.floor(u).astype(np.int64), o.knots - 1)
        s = (u - seg)[:, None] ** np.arange(4)  # (n, 4): 1, s, s², s³
        weights = s @ _BSPLINE.T  # (n, 4) weights of points seg-1 .. seg+2
        rows = (np.arange(len(seg)) if drones is None else np.asarray(drones))[:, None]
        idx = (seg[:, None] + np.arange(-1, 3)) % o.knots
        return centre + np.einsum("nk,nkd->nd", weights, self._knots[rows, idx])

    def goal(self, target: np.ndarray, steps: np.ndarray, state: State | None = None) -> np.ndarray:
        """The reference point after ``steps`` control steps; ``target`` is the centre."""
        return self.reference(target, np.asarray(steps) / self.control_hz)

    # ------------------------------------------------------------- episodes
    def episode_start(
        self,
        rng: np.random.Generator,
        rows: np.ndarray,
        start: np.ndarray,
        target: np.ndarray,
        noise: StartNoise,
    ) -> State:
        """At rest at each reference's start (plus ``noise``), after :meth:`draw`.
        ``start`` is not used: the curve decides."""
        self.draw(rng, rows, target)
        first = self.reference(self._centre, np.zeros(len(target)))[rows]
        return self.sample_start(rng, first, noise)

    def draw(self, rng: np.random.Generator, rows: np.ndarray, target: np.ndarray) -> None:
        """What an episode of the drones ``rows`` varies: the centres (the face's
        targets, (n, 3) m) and a 'spline''s control points."""
        o = self.options
        n_all = len(target)
        self._centre = np.array(target, dtype=float)
        if o.trajectory == "spline":
            if self._knots is None or len(self._knots) != n_all:
                self._knots = np.zeros((n_all, o.knots, 3))
            half = np.array([o.radius, o.radius, o.radius / 2])
            self._knots[rows] = rng.uniform(-half, half, size=(len(rows), o.knots, 3))

    def extra_observation(self, state: State, target: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """The next ``lookahead`` reference points relative to the drone, (n, 3·lookahead)."""
        return self.ahead(state, steps, self._centre, np.arange(len(state)))

    def ahead(
        self, state: State, steps: np.ndarray, centre: np.ndarray, drones: np.ndarray
    ) -> np.ndarray:
        """(n, 3·lookahead): the reference of ``drones`` (n,) around ``centre`` (n, 3), at
        the next ``lookahead`` points ``lookahead_dt`` s apart, relative to each drone."""
        o = self.options
        seconds = np.asarray(steps) / self.control_hz
        points = [
            self.reference(centre, seconds + j * o.lookahead_dt, drones) - state.pos
            for j in range(1, o.lookahead + 1)
        ]
        return np.concatenate(points, axis=1) if points else np.zeros((len(state), 0))

    def extra_bounds(self, max_error: float) -> np.ndarray:
        return np.full(self.extra_dim, max_error)

    def summarize(self, infos: list[dict[str, Any]]) -> dict[str, float]:
        """``rms_error`` and ``max_error`` (m) of the distance to the reference over the
        episode, ``crashed`` (0 or 1) and ``seconds`` flown."""
        errors = np.array([info["position_error"] for info in infos], dtype=float)
        return {
            "rms_error": float(np.sqrt(np.mean(errors**2))),
            "max_error": float(errors.max()),
            **self._episode(infos),
        }


#: The declaration every table derives from (tasks/spec.py).
SPEC = TaskSpec("track", "QuadTrack-v0", TrackTask, TrackOptions, order=1, sb3={})
