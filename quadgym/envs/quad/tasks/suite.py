"""The task suite: each task's name, its object and the options it adds to the faces'.

A face (single, swarm, vector) takes ``task=`` (a name below) and the task's
options as further keyword arguments; :func:`task_options` checks them (an
unknown one is refused with the closest name) before anything is built, and
:meth:`QuadConfig.make_task <quadgym.envs.quad.config.QuadConfig.make_task>`
builds the task. The registered ids set ``task``: ``QuadHover-v0`` (hover),
``QuadTrack-v0`` (track), ``QuadLand-v0`` (land), ``QuadGates-v0`` (gates),
``QuadVisualReach-v0`` (visual_reach); the PettingZoo envs
``quad_swap_v0``, ``quad_reform_v0`` and ``quad_leader_v0`` the team tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quadgym.envs.arguments import EnvConfig
from quadgym.envs.quad.tasks.base import HoverTask
from quadgym.envs.quad.tasks.gates import GatesOptions, GatesTask
from quadgym.envs.quad.tasks.land import LandOptions, LandTask
from quadgym.envs.quad.tasks.teams import LeaderTask, ReformOptions, ReformTask, SwapTask
from quadgym.envs.quad.tasks.track import TrackOptions, TrackTask
from quadgym.envs.quad.tasks.visual_reach import VisualReachOptions, VisualReachTask

#: The env id of every drone task: the Gymnasium ones (one drone), then the PettingZoo
#: ones (one agent per drone). QuadVisualReach-v0 is left out: it hides its target from
#: the kinematic observation, where the model-based controllers (pid, lqr) read theirs.
TASK_ENVS = (
    "QuadHover-v0",
    "QuadTrack-v0",
    "QuadLand-v0",
    "QuadGates-v0",
    "quad_swarm_v0",
    "quad_swap_v0",
    "quad_reform_v0",
    "quad_leader_v0",
)

#: name -> (task class, its options' config, or None for a task without options)
TASKS: dict[str, tuple[type[HoverTask], type[EnvConfig] | None]] = {
    "hover": (HoverTask, None),
    "track": (TrackTask, TrackOptions),
    "land": (LandTask, LandOptions),
    "gates": (GatesTask, GatesOptions),
    "visual_reach": (VisualReachTask, VisualReachOptions),
    "swap": (SwapTask, None),
    "reform": (ReformTask, ReformOptions),
    "leader": (LeaderTask, TrackOptions),
}
TASK_NAMES = tuple(TASKS)
#: The Gymnasium id of each one-drone task (the single face with ``task`` set) and the
#: PettingZoo name of each team task (the swarm face with ``task`` set; other tasks on the
#: swarm face are ``quad_swarm_v0``): the names errors and metadata give.
SINGLE_ENVS = {
    "hover": "QuadHover-v0",
    "track": "QuadTrack-v0",
    "land": "QuadLand-v0",
    "gates": "QuadGates-v0",
    "visual_reach": "QuadVisualReach-v0",
}
TEAM_ENVS = {"swap": "quad_swap_v0", "reform": "quad_reform_v0", "leader": "quad_leader_v0"}
#: Tasks of several drones (:mod:`quadgym.envs.quad.tasks.teams`): at least two in one world.
TEAM_TASKS = ("swap", "reform", "leader")
#: Tasks with PyBullet bodies of their own (one drone, the PyBullet faces only).
BULLET_TASKS = ("gates", "visual_reach")


def task_options(task: str, options: Mapping[str, Any]) -> EnvConfig | None:
    """The checked options of ``task`` (None for a task without any).

    Raises:
        ValueError: an unknown task, or an option the task does not take (naming the
            closest one it does), or a value out of range.
        TypeError: a value of the wrong type.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; allowed: {', '.join(map(repr, TASK_NAMES))}")
    kind = TASKS[task][1]
    if kind is None:
        if options:
            key = next(iter(options))
            raise TypeError(
                f"unexpected argument {key!r}: the {task!r} task takes no options of its own"
            )
        return None
    return kind.from_mapping(options)


def build_task(task: str, options: EnvConfig | None, **common: Any) -> HoverTask:
    """The task object ``task`` with its checked ``options`` and the faces' shared
    task arguments ``common`` (model, action type, rates, box, tilt)."""
    cls = TASKS[task][0]
    return cls(**common) if options is None else cls(**common, options=options)
