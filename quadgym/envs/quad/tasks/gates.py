"""Waypoints through gates, past obstacles (QuadGates-v0): one drone, a seeded course.

A course of ``gates`` square gates (PyBullet bodies: a frame of four bars,
``opening`` m inside, bars ``bar`` m thick) starts ``spacing`` m ahead of the
start along +x; each next gate is ``spacing`` m further along the course's
heading, shifted sideways by up to ± ``jitter`` m, at a height drawn from
``heights`` (m, opening centre), turned by up to ± ``turn`` rad about z (the
gate faces the way it must be flown through: its normal, local +x). Up to
``obstacles`` pillars (0.1 m square, 2 m tall) stand between gates, off the
straight line between them. All bodies load once, with the world; each reset
draws a new course and moves them.

The drone starts on the ground at the face's start (plus the start noise). A
gate counts when the drone's centre crosses its plane forwards, between two
control steps, inside the opening; the goal is the next gate's centre. Touching
a frame or a pillar is a collision and ends the episode (``collided``), as do
the hover crash rules (box around the next gate). Passing the last gate ends
it with success.

Observation entries of its own (after the hover observation, which points at
the next gate's centre): the next gate's normal (cos, sin of its yaw), and the
gate after it (or the last gate again) relative to the drone (3). Reward per
step: max(0, 1 − d/``reward_scale``) with d the distance to the next gate's
centre, plus 10 for each gate passed, plus, when the last gate is passed, the
steps the episode had left (as QuadLand-v0's landing). Metrics:
``gates_passed``, ``completed``, ``time`` (s, to the last gate), ``collided``.
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

#: Reward for each gate passed.
GATE_BONUS = 10.0
#: Pillar half-width and height, m.
PILLAR = (0.05, 1.0)


@dataclass(frozen=True)
class GatesOptions(EnvConfig):
    """The arguments QuadGates-v0 adds to QuadHover-v0's."""

    gates: int = param(3, "gates in a course", ge=1, le=20)
    opening: float = param(0.5, "inner side of a gate's square opening, m", gt=0.1, le=5.0)
    bar: float = param(0.05, "thickness of a gate's frame bars, m", gt=0.0, le=0.5)
    spacing: float = param(1.5, "distance between consecutive gates, m", gt=0.2, le=20.0)
    jitter: float = param(0.5, "± sideways shift of each gate from the course line, m", ge=0.0)
    heights: tuple[float, float] = param(
        (0.7, 1.3), "range of the gates' opening centre heights, m"
    )
    turn: float = param(0.4, "± yaw of each gate from the course heading, rad", ge=0.0, le=1.2)
    obstacles: int = param(2, "pillars between the gates", ge=0, le=20)

    def check(self) -> None:
        low, high = self.heights
        if not (math.isfinite(low) and math.isfinite(high)) or not 0.0 < low <= high <= 100.0:
            raise ValueError(f"heights must be 0 < low <= high <= 100 m, got {self.heights!r}")
        if low - self.opening / 2 - self.bar < 0.0:
            raise ValueError(
                f"heights={self.heights!r} put a gate of opening {self.opening:g} m and bar "
                f"{self.bar:g} m into the ground; raise the lower height"
            )


@dataclass
class GatesTask(HoverTask):
    """Fly the course of :class:`GatesOptions` (see the module's rules)."""

    options: GatesOptions = field(default_factory=GatesOptions)
    reward_scale: float = 4.0
    metric_goals: ClassVar[dict[str, str | None]] = {
        "gates_passed": "max",
        "completed": "max",
        "time": "min",
        "collided": "min",
        "crashed": "min",
        "seconds": None,
        "effort": "min",
    }
    success_rule: ClassVar[str] = "completed the course"

    def success(self, metrics: dict[str, float]) -> bool:
        """Passed every gate of the course."""
        return bool(metrics["completed"])

    def __post_init__(self) -> None:
        super().__post_init__()
        self.extra_dim = 5
        self._world = None
        self._gate_ids: list[int] = []
        self._pillar_ids: list[int] = []
        g = self.options.gates
        self.centres = np.zeros((g, 3))
        self.yaws = np.zeros(g)
        self.passed = np.zeros(1, dtype=np.int64)  # gates passed, per drone
        self._through = np.zeros(1, dtype=bool)  # passed one in the last step
        self._last = np.zeros((1, 3))

    # ----------------------------------------------------------------- scene
    def attach(self, world: Any) -> None:
        """Load the gates and pillars into ``world`` (once, before the first reset)."""
        o = self.options
        half_in, b = o.opening / 2, o.bar / 2
        span = half_in + o.bar  # outer half-size
        bars = [
            ((b, b, span), (0.0, -(half_in + b), 0.0)),  # left post
            ((b, b, span), (0.0, half_in + b, 0.0)),  # right post
            ((b, half_in, b), (0.0, 0.0, half_in + b)),  # top bar
            ((b, half_in, b), (0.0, 0.0, -(half_in + b))),  # bottom bar
        ]
        self._world = world
        self._gate_ids = [world.add_static(bars) for _ in range(o.gates)]
        pillar = [((PILLAR[0], PILLAR[0], PILLAR[1]), (0.0, 0.0, PILLAR[1]))]
        grey = (0.5, 0.5, 0.55, 1.0)
        self._pillar_ids = [world.add_static(pillar, grey) for _ in range(o.obstacles)]

    def episode_start(
        self,
        rng: np.random.Generator,
        rows: np.ndarray,
        start: np.ndarray,
        target: np.ndarray,
        noise: StartNoise,
    ) -> State:
        """Draw a course from the start, place the bodies, and start on the ground."""
        if self._world is None:
            raise RuntimeError("the gates task needs a PyBullet world (attach() it first)")
        o = self.options
        origin = np.asarray(start, dtype=float)[0]
        heading, point = 0.0, origin[:2].copy()
        for k in range(o.gates):
            heading += rng.uniform(-o.turn, o.turn) / 2  # the course bends gently
            point = point + o.spacing * np.array([math.cos(heading), math.sin(heading)])
            side = np.array([-math.sin(heading), math.cos(heading)])
            xy = point + rng.uniform(-o.jitter, o.jitter) * side
            self.centres[k] = [xy[0], xy[1], rng.uniform(*o.heights)]
            self.yaws[k] = heading + rng.uniform(-o.turn, o.turn) / 2
            self._world.place(self._gate_ids[k], self.centres[k], self.yaws[k])
        for j, body in enumerate(self._pillar_ids):  # beside the line between two gates
            k = j % o.gates
            a = origin if k == 0 else self.centres[k - 1]
            mid = (a[:2] + self.centres[k, :2]) / 2
            side = np.array([-math.sin(self.yaws[k]), math.cos(self.yaws[k])])
            offset = rng.choice([-1.0, 1.0]) * rng.uniform(0.35, 0.7)
            self._world.place(body, [*(mid + offset * side), 0.0])
        state = self.sample_start(rng, np.asarray(start, dtype=float)[rows], noise)
        self.passed = np.zeros(len(start), dtype=np.int64)
        self._through = np.zeros(len(start), dtype=bool)
        self._last = state.pos.copy()
        return state

    # ------------------------------------------------------------ the course
    def progress(self, state: State) -> None:
        """Count the gates the drones flew through since the last call."""
        g = self.options.gates
        through = self.crossed(self._last, state.pos, np.minimum(self.passed, g - 1))
        self._through = through & (self.passed < g)
        self.passed = self.passed + self._through
        self._last = state.pos.copy()

    def goal(self, target: np.ndarray, steps: np.ndarray, state: State | None = None) -> np.ndarray:
        """The next gate's centre (the last one once all are passed)."""
        return self.centres[np.minimum(self.passed, self.options.gates - 1)]

    def extra_observation(self, state: State, target: np.ndarray, steps: np.ndarray) -> np.ndarray:
        g = self.options.gates
        k = np.minimum(self.passed, g - 1)
        after = np.minimum(k + 1, g - 1)
        normal = np.stack([np.cos(self.yaws[k]), np.sin(self.yaws[k])], axis=1)
        return np.concatenate([normal, self.centres[after] - state.pos], axis=1)

    def extra_bounds(self, max_error: float) -> np.ndarray:
        o = self.options
        reach = o.gates * (o.spacing + o.jitter) + max(o.heights) + self.box
        return np.r_[1.0, 1.0, np.full(3, reach)]

    def max_error(self, start: np.ndarray, target: np.ndarray) -> float:
        o = self.options
        return float(o.gates * (o.spacing + o.jitter) + max(o.heights) + self.box)

    def crossed(self, before: np.ndarray, after: np.ndarray, k: np.ndarray) -> np.ndarray:
        """(n,) bool: the segments ``before`` → ``after`` (n, 3) cross gate ``k`` (n,)
        forwards, through its opening (the crossing point within ± opening/2 of the
        centre, sideways and vertically)."""
        c, yaw = self.centres[k], self.yaws[k]
        normal = np.stack([np.cos(yaw), np.sin(yaw), np.zeros_like(yaw)], axis=1)
        d0 = np.einsum("ni,ni->n", before - c, normal)
        d1 = np.einsum("ni,ni->n", after - c, normal)
        forwards = (d0 < 0.0) & (d1 >= 0.0)
        frac = np.where(forwards, d0 / np.where(forwards, d0 - d1, 1.0), 0.0)
        hit = before + frac[:, None] * (after - before) - c
        side = np.abs(-np.sin(yaw) * hit[:, 0] + np.cos(yaw) * hit[:, 1])
        half = self.options.opening / 2
        return forwards & (side <= half) & (np.abs(hit[:, 2]) <= half)

    def judge(
        self,
        state: State,
        goal: np.ndarray,
        prev_vz: np.ndarray,
        rest_height: float,
        steps: np.ndarray,
        max_steps: int,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """See the module's rules. Info: ``position_error`` (to the next gate's centre,
        m), ``crashed``, ``collided``, ``gates_passed`` and ``completed``."""
        g = self.options.gates
        reward, crashed, details = super().judge(
            state, goal, prev_vz, rest_height, steps, max_steps
        )
        bodies = self._gate_ids + self._pillar_ids
        collided = np.array([self._world.touching(i, bodies) for i in range(len(state))])
        completed = self.passed >= g
        reward = reward + GATE_BONUS * self._through
        reward = np.where(completed, reward + (max_steps - np.asarray(steps)), reward)
        details.update(collided=collided, gates_passed=self.passed.copy(), completed=completed)
        return reward, crashed | collided | completed, details

    def summarize(self, infos: list[dict[str, Any]]) -> dict[str, float]:
        """``gates_passed``, ``completed`` (0 or 1), ``time`` (s, to the last gate; NaN
        if not), ``collided`` (0 or 1), and the crash and time every task reports."""
        last = infos[-1]
        done = bool(last["completed"])
        return {
            "gates_passed": float(last["gates_passed"]),
            "completed": float(done),
            "time": len(infos) / self.control_hz if done else np.nan,
            "collided": float(any(info["collided"] for info in infos)),
            **self._episode(infos),
        }


#: The declaration every table derives from (tasks/spec.py): 15 s episodes, Bullet bodies.
SPEC = TaskSpec(
    "gates",
    "QuadGates-v0",
    GatesTask,
    GatesOptions,
    order=3,
    bullet=True,
    env_kwargs={"episode_seconds": 15.0},
    sb3={},
)
