"""Tasks for several drones at once (the swarm's; at least two drones each).

Each starts in the air, every drone at rest at its formation point (plus the
start noise); the goals:

| task   | PettingZoo env | goal of drone i                                           |
|--------|----------------|-----------------------------------------------------------|
| swap   | quad_swap_v0   | formation point n−1−i: the order reversed (on a grid or a |
|        |                | line every path crosses the centre)                       |
| reform | quad_reform_v0 | point i until ``at`` s, then point i of the second        |
|        |                | formation (``formation2`` at ``spacing2`` m, same centre  |
|        |                | and altitude)                                             |
| leader | quad_leader_v0 | drone 0, the leader (starting on its reference): the      |
|        |                | reference of QuadTrack-v0 around point 0 (its options);   |
|        |                | the others: the leader's actual position plus their       |
|        |                | formation offset from point 0                             |

Rewards, crash and collision rules are the swarm's: each agent's reward is
the hover reward towards its own current goal, ``max(0, 1 − d / 2 m)``; a
crash or a collision (two live drones closer than ``collision_distance``) ends
the team's episode (``end_together``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from quadgym.config import param
from quadgym.envs.arguments import EnvConfig
from quadgym.envs.quad.sim.dynamics import State
from quadgym.envs.quad.tasks.base import FORMATIONS, HoverTask, StartNoise, formation_points
from quadgym.envs.quad.tasks.spec import TaskSpec
from quadgym.envs.quad.tasks.track import TrackOptions, TrackTask


@dataclass
class AirStart(HoverTask):
    """A team task whose drones start at rest, in the air, at their formation points."""

    def episode_start(
        self,
        rng: np.random.Generator,
        rows: np.ndarray,
        start: np.ndarray,
        target: np.ndarray,
        noise: StartNoise,
    ) -> State:
        """Drones ``rows`` at rest at their formation points (plus ``noise``)."""
        return self.sample_start(rng, np.asarray(target, dtype=float)[rows], noise)


@dataclass
class SwapTask(AirStart):
    """Every drone flies to the formation point of its mirror, n−1−i (see the table)."""

    #: The drones cross each other's paths (the planners' CrossingGoals capability).
    crosses_paths: ClassVar[bool] = True

    def goal(self, target: np.ndarray, steps: np.ndarray, state: State | None = None) -> np.ndarray:
        return target[::-1]


@dataclass(frozen=True)
class ReformOptions(EnvConfig):
    """The arguments the formation change adds."""

    formation2: str = param(
        "line", "the formation after the change: 'line', 'circle' or 'grid'", choices=FORMATIONS
    )
    spacing2: float = param(0.5, "neighbour distance of the second formation, m", gt=0.0, le=100)
    at: float = param(4.0, "time of the change, s", ge=0.0)


@dataclass
class ReformTask(AirStart):
    """Hold the formation, then change to another at ``at`` seconds (see the table)."""

    options: ReformOptions = field(default_factory=ReformOptions)

    def second(self, target: np.ndarray) -> np.ndarray:
        """(n, 3) the second formation's points: same centre (x, y) and altitude."""
        o = self.options
        altitude = float(np.mean(target[:, 2]))
        pts = formation_points(o.formation2, len(target), o.spacing2, altitude)
        pts[:, :2] += np.mean(target[:, :2], axis=0)
        return pts

    def goal(self, target: np.ndarray, steps: np.ndarray, state: State | None = None) -> np.ndarray:
        after = np.asarray(steps) >= round(self.options.at * self.control_hz)
        return np.where(after[:, None], self.second(target), target)


@dataclass
class LeaderTask(TrackTask):
    """Drone 0 follows a reference; the others keep their formation offset from it."""

    options: TrackOptions = field(default_factory=TrackOptions)

    def episode_start(
        self,
        rng: np.random.Generator,
        rows: np.ndarray,
        start: np.ndarray,
        target: np.ndarray,
        noise: StartNoise,
    ) -> State:
        """The formation in the air, at rest; the leader's reference is placed to start
        at the leader's point (its centre shifted by the curve's start offset)."""
        self.draw(rng, rows, target)
        self._targets = np.array(target, dtype=float)  # the formation, for the offsets
        self._centre[0] -= self.reference(np.zeros((1, 3)), np.zeros(1))[0]
        return self.sample_start(rng, np.asarray(target, dtype=float)[rows], noise)

    def goal(self, target: np.ndarray, steps: np.ndarray, state: State | None = None) -> np.ndarray:
        seconds = np.asarray(steps)[:1] / self.control_hz
        lead = self.reference(self._centre[:1], seconds)  # the leader's reference
        anchor = lead if state is None else state.pos[:1]  # before any state: the reference
        goal = anchor + (target - target[:1])
        goal[0] = lead[0]
        return goal

    def extra_observation(self, state: State, target: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """The leader's reference ahead, shifted by each drone's formation offset, relative
        to the drone: followers see where their place is going."""
        n = len(state)
        offset = self._targets - self._targets[:1]
        leader = np.zeros(n, dtype=np.int64)
        ahead = self.ahead(state, steps, np.repeat(self._centre[:1], n, 0), leader)
        return ahead + np.tile(offset, self.options.lookahead)


#: The declarations every table derives from (tasks/spec.py).
SPECS = (
    TaskSpec("swap", "quad_swap_v0", SwapTask, order=5, team=True),
    TaskSpec("reform", "quad_reform_v0", ReformTask, ReformOptions, order=6, team=True),
    TaskSpec("leader", "quad_leader_v0", LeaderTask, TrackOptions, order=7, team=True),
)
