"""The task suite: each task's name, its object and the options it adds to the faces',
derived from the tasks' own declarations (:mod:`.spec`: a module's ``SPEC``).

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

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any

import quadgym.envs.quad.tasks as _tasks  # the package whose modules declare the tasks
from quadgym.config import closest
from quadgym.envs.arguments import EnvConfig
from quadgym.envs.quad.tasks.base import HoverTask
from quadgym.envs.quad.tasks.spec import TaskSpec


def _declared() -> tuple[TaskSpec, ...]:
    """Every task's declaration: the ``SPEC`` (or ``SPECS``) of each module of the tasks
    package, in their declared order."""
    found: list[TaskSpec] = []
    for info in pkgutil.iter_modules(_tasks.__path__):
        module = importlib.import_module(f"{_tasks.__name__}.{info.name}")
        found += [module.SPEC] if hasattr(module, "SPEC") else list(getattr(module, "SPECS", ()))
    names = [spec.name for spec in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RuntimeError(f"tasks declared twice: {twice}")
    return tuple(sorted(found, key=lambda spec: (spec.order, spec.name)))


#: Every task's declaration, in table order.
SPECS: tuple[TaskSpec, ...] = _declared()
#: name -> declaration.
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}

#: The env id of every drone task the model-based controllers and the benchmark fly: the
#: Gymnasium ones (one drone), then the PettingZoo ones (one agent per drone), the hover
#: swarm among them. A task whose goal the kinematic observation hides
#: (QuadVisualReach-v0, where pid and lqr read theirs) is left out.
TASK_ENVS = (
    *(s.env_id for s in SPECS if not s.team and s.model_based),
    "quad_swarm_v0",
    *(s.env_id for s in SPECS if s.team and s.model_based),
)

#: name -> (task class, its options' config, or None for a task without options)
TASKS: dict[str, tuple[type[HoverTask], type[EnvConfig] | None]] = {
    s.name: (s.task, s.options) for s in SPECS
}
TASK_NAMES = tuple(TASKS)
#: The Gymnasium id of each one-drone task (the single face with ``task`` set) and the
#: PettingZoo name of each team task (the swarm face with ``task`` set; other tasks on the
#: swarm face are ``quad_swarm_v0``): the names errors and metadata give.
SINGLE_ENVS = {s.name: s.env_id for s in SPECS if not s.team}
TEAM_ENVS = {s.name: s.env_id for s in SPECS if s.team}
#: Tasks of several drones: at least two in one world.
TEAM_TASKS = tuple(TEAM_ENVS)
#: Tasks with PyBullet bodies of their own (one drone, the PyBullet faces only).
BULLET_TASKS = tuple(s.name for s in SPECS if s.bullet)


def task_options(
    task: str, options: Mapping[str, Any], face_args: Iterable[str] = ()
) -> EnvConfig | None:
    """The checked options of ``task`` (None for a task without any). ``face_args`` are
    the arguments the face takes itself: the options are what the face did not take, so
    a misspelt face argument (``drone_modle``) lands here, and the closest name is sought
    among both.

    Raises:
        ValueError: an unknown task, or an option the task does not take (naming the
            closest argument of the face or the task), or a value out of range.
        TypeError: a value of the wrong type, or any option of a task without options.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; allowed: {', '.join(map(repr, TASK_NAMES))}")
    kind = TASKS[task][1]
    own = [f.name for f in fields(kind)] if kind is not None else []
    for key in options:
        if key in face_args:  # a field of the config that this face leaves out of its signature
            raise TypeError(
                f"this env does not take {key!r}, an argument of another quad face (the batched "
                "backend has no renderer or onboard camera; the swarm places its drones by "
                "formation, not start and target)"
            )
        if key not in own:
            takes = f"takes {', '.join(own)}" if own else "takes no options of its own"
            error = TypeError if kind is None else ValueError
            raise error(
                f"unexpected argument {key!r}{closest(key, [*face_args, *own])} The env's "
                f"arguments are {', '.join(face_args) or 'none'}; the {task!r} task {takes}."
            )
    return None if kind is None else kind.from_mapping(options)


def build_task(task: str, options: EnvConfig | None, **common: Any) -> HoverTask:
    """The task object ``task`` with its checked ``options`` and the faces' shared
    task arguments ``common`` (model, action type, rates, box, tilt)."""
    cls = TASKS[task][0]
    return cls(**common) if options is None else cls(**common, options=options)
