"""What a drone is asked to do, written once for the three faces: the task base and hover
(:mod:`.base`), tracking (:mod:`.track`), landing (:mod:`.land`), gates (:mod:`.gates`),
visual reach (:mod:`.visual_reach`), the team tasks (:mod:`.teams`); how actions become
motor speeds (:mod:`.actions`); the neighbour search of the swarm (:mod:`.neighbours`); and
the names of the tasks with their options (:mod:`.suite`)."""

from quadgym.envs.quad.tasks.base import (
    FORMATIONS,
    HoverTask,
    StartNoise,
    check_actions,
    check_rates,
    formation_points,
)

__all__ = [
    "FORMATIONS",
    "HoverTask",
    "StartNoise",
    "check_actions",
    "check_rates",
    "formation_points",
]
