"""Landing (QuadLand-v0): from the air onto a pad, touching down slowly.

The pad lies on the ground below the face's target point. Each episode the
drone starts at rest ``height`` m above the pad's level, displaced uniformly by
up to ``offset`` m in x and y (plus the face's start noise). The episode ends at
touchdown (the drone's centre within 5 mm of its resting height): a *landing*
if it descended slower than ``max_touchdown_speed`` at the step before, within
``pad_radius`` m of the pad's centre (horizontally) and upright (tilt under
``max_tilt``); anything else is a failed touchdown. The hover crash rules
(tilt, box around the pad) end it too.

Reward per step: max(0, 1 − d/2 m) with d the distance to the pad's centre (at
resting height), and at a landing the reward of the steps the episode had
left, as if the drone had sat on the pad until the end: landing is worth
exactly as much as being there for the rest of the episode, and ending it any
other way forfeits that. The step's info says how many steps that was
(``credited_steps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from quadgym.config import param
from quadgym.envs.arguments import EnvConfig
from quadgym.envs.quad.sim.dynamics import State
from quadgym.envs.quad.tasks.base import HoverTask, StartNoise
from quadgym.envs.quad.tasks.spec import TaskSpec

#: Height above the resting height within which a drone touches the ground, m (as the
#: hover crash rule's ground impact).
TOUCH = 0.005


@dataclass(frozen=True)
class LandOptions(EnvConfig):
    """The arguments QuadLand-v0 adds to QuadHover-v0's."""

    height: float = param(1.0, "start height above the pad's level, m", gt=0.0, le=100.0)
    offset: float = param(
        0.3, "start displacement from above the pad, uniform ± in x and y, m", ge=0.0, le=100.0
    )
    pad_radius: float = param(0.1, "landing within this distance of the pad's centre, m", gt=0.0)
    max_touchdown_speed: float = param(
        0.5, "descent speed at touchdown above which it fails, m/s", gt=0.0, le=10.0
    )


@dataclass
class LandTask(HoverTask):
    """Land on the pad of :class:`LandOptions` (see the module's rules)."""

    options: LandOptions = field(default_factory=LandOptions)
    metric_goals: ClassVar[dict[str, str | None]] = {
        "landed": "max",
        "touchdown_speed": "min",
        "touchdown_error": "min",
        "crashed": "min",
        "seconds": None,
        "effort": "min",
    }
    success_rule: ClassVar[str] = "landed on the pad"

    def success(self, metrics: dict[str, float]) -> bool:
        """Landed (on the pad, slower than the touchdown limit: the module's rules)."""
        return bool(metrics["landed"])

    def __post_init__(self) -> None:
        super().__post_init__()
        self._rest = self.model.collision_height / 2.0

    def goal(self, target: np.ndarray, steps: np.ndarray, state: State | None = None) -> np.ndarray:
        """The pad's centre at resting height, below ``target``."""
        pad = np.array(target, dtype=float)
        pad[:, 2] = self._rest
        return pad

    def max_error(self, start: np.ndarray, target: np.ndarray) -> float:
        o = self.options
        return float(max(o.height, o.offset) + self.box + 0.5)

    def episode_start(
        self,
        rng: np.random.Generator,
        rows: np.ndarray,
        start: np.ndarray,
        target: np.ndarray,
        noise: StartNoise,
    ) -> State:
        """At rest ``height`` m above the pad, ± ``offset`` m in x and y, plus ``noise``."""
        o = self.options
        above = self.goal(target[rows], np.zeros(len(rows), dtype=np.int64))
        above[:, :2] += rng.uniform(-o.offset, o.offset, size=(len(rows), 2))
        above[:, 2] += o.height
        return self.sample_start(rng, above, noise)

    def summarize(self, infos: list[dict[str, Any]]) -> dict[str, float]:
        """``landed`` (0 or 1), ``touchdown_speed`` (m/s) and ``touchdown_error`` (distance
        to the pad's centre, m) at touchdown (NaN without one), ``crashed`` and
        ``seconds`` flown."""
        last = infos[-1]
        down = bool(last["touchdown"])
        return {
            "landed": float(last["landed"]),
            "touchdown_speed": float(last["touchdown_speed"]) if down else np.nan,
            "touchdown_error": float(last["position_error"]) if down else np.nan,
            **self._episode(infos),
        }

    def judge(
        self,
        state: State,
        goal: np.ndarray,
        prev_vz: np.ndarray,
        rest_height: float,
        steps: np.ndarray,
        max_steps: int,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """See the module's rules. Info: ``position_error`` (distance to the pad's
        centre, m), ``crashed``, ``touchdown``, ``landed``, ``touchdown_speed``
        (descent speed at touchdown, m/s; 0 before it: ``touchdown`` tells them
        apart; not NaN, which no two episodes would compare equal on) and
        ``credited_steps`` (the steps left that a landing's reward pays, 0 otherwise:
        what a reward wrapper needs to pay its own term for them as well)."""
        o = self.options
        reward, crashed, details = super().judge(
            state, goal, prev_vz, rest_height, steps, max_steps
        )
        x, y = state.quat[:, 0], state.quat[:, 1]
        upright = x * x + y * y <= self._tilt_xy2
        touchdown = state.pos[:, 2] < rest_height + TOUCH
        near = np.hypot(*(goal - state.pos)[:, :2].T) <= o.pad_radius
        landed = touchdown & near & upright & (prev_vz >= -o.max_touchdown_speed)
        credited = np.where(landed, max_steps - np.asarray(steps), 0)
        reward = reward + credited
        speed = np.where(touchdown, -prev_vz, 0.0)
        details.update(
            touchdown=touchdown, landed=landed, touchdown_speed=speed, credited_steps=credited
        )
        return reward, touchdown | crashed, details


#: Training-env defaults of the SB3 plugins on QuadLand-v0: the default starts (1 m above
#: the pad, ±0.3 m) up to 0.5 m higher, tilted up to ±0.3 rad and moving up to ±0.5 m/s per
#: axis, so that the policy has met more than the evaluation's starts at rest (with
#: γ = 0.98 it lands from those alone as well: 20/20 on seeds 0-2 after 500k steps).
LAND_TRAIN_ENV = {"start_height_noise": 0.5, "start_tilt_noise": 0.3, "start_vel_noise": 0.5}

#: PPO on QuadLand-v0: QuadHover-v0's defaults with γ = 0.98. A landing pays the steps
#: left as one reward; at γ = 0.99 hovering near the pad is worth almost as much (seed 0
#: on the batched backend, default starts: 0/20 landings after 1.5 M steps, 20/20 at 2 M
#: taking 6-7 s to come down, 0/20 again at 3 M; with LAND_TRAIN_ENV 0/20 until 1 M); at
#: 0.98 seeds 0-2 land in 20/20 from 500k steps on.
LAND_PPO = {"gamma": 0.98}

#: The declaration every table derives from (tasks/spec.py): the id, the options, the
#: SB3 plugins' training defaults. Nothing else in the code base names this task.
SPEC = TaskSpec(
    "land",
    "QuadLand-v0",
    LandTask,
    LandOptions,
    order=2,
    sb3={"train_env": LAND_TRAIN_ENV, "ppo": LAND_PPO},
)
