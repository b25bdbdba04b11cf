"""How a task declares itself: one :class:`TaskSpec` in its own module (``SPEC``, or
``SPECS`` for a module of several), from which every table is derived: the faces' ``task=``
choices and options (:mod:`.suite`), the Gymnasium ids and PettingZoo names
(:mod:`quadgym.registry`), the controllers' and the benchmark's tasks, and the SB3 plugins'
per-env defaults. Adding a task is one new module under ``tasks/`` and its tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TaskSpec:
    """A task's declaration.

    Attributes:
        name: the faces' ``task=`` value ("land").
        env_id: the Gymnasium id of a one-drone task ("QuadLand-v0"), or the PettingZoo
            name of a team task ("quad_swap_v0").
        task: the task class (a :class:`~quadgym.envs.quad.tasks.base.HoverTask`).
        options: the config of the keywords the task adds to the faces' (None: none).
        order: where the task stands in every table (the registry, the benchmark).
        team: several drones in one world (the swarm face; at least two drones).
        bullet: the task loads PyBullet bodies of its own (one drone, the PyBullet faces
            only; no batched backend).
        env_kwargs: keywords of the registered id beyond ``task=`` (e.g. a longer episode).
        model_based: the goal is in the kinematic observation, where the model-based
            controllers (pid, lqr) read it, so they and the benchmark fly the task.
        sb3: the SB3 plugins' training defaults on the id, as plain data (keys of
            :class:`~quadgym.agents.sb3.config.EnvDefaults`; ``ppo`` holds keywords that
            replace the hover PPO defaults); None: the SB3 plugins do not take the id
            unless their own table names it.
    """

    name: str
    env_id: str
    task: type
    options: type | None = None
    order: int = 100
    team: bool = False
    bullet: bool = False
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    model_based: bool = True
    sb3: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.team and self.bullet:
            raise ValueError(f"task {self.name!r}: a team task cannot load bodies of its own")
