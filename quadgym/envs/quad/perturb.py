"""Perturbations a controller must survive before it meets a real Crazyflie; off by default.

They live in the physics and task layers, so every face (single, swarm, vector) gets
them and controllers see them only through their effects:

| name           | effect                                                          | unit        |
|----------------|-----------------------------------------------------------------|-------------|
| ``wind``       | a steady force on each drone's centre of mass, world frame      | N (x, y, z) |
| ``mass``       | the true mass over the URDF's (the PID and the action scaling   | factor      |
|                | keep the URDF's)                                                |             |
| ``inertia``    | the same for the principal moments of inertia                   | factor      |
| ``obs_noise``  | Gaussian noise on every observation entry (std, in each entry's | its unit    |
|                | unit), drawn from the env's seeded generator                    |             |
| ``action_delay`` | control steps between an action and its effect; the first     | steps       |
|                | steps of an episode apply the zero action                       |             |

A face takes ``perturb=`` as None (none), a preset name (:data:`PRESETS`), a dict or
``"key=value,key=value"`` text (``"wind=(0.02,0,0),mass=1.2"``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quadgym.config import param
from quadgym.envs.arguments import EnvConfig

#: Largest wind force per axis, N (the cf2x weighs 0.26 N).
MAX_WIND = 1.0


def _wind(name: str, value: tuple) -> tuple:
    if len(value) != 3 or not all(math.isfinite(v) and abs(v) <= MAX_WIND for v in value):
        raise ValueError(f"{name} must be 3 finite forces within ±{MAX_WIND} N, got {value!r}")
    return value


@dataclass(frozen=True)
class Perturbations(EnvConfig):
    """The perturbations of the module's table (defaults: none)."""

    wind: tuple[float, float, float] = param(
        (0.0, 0.0, 0.0), "steady force on each drone, world frame, N", check=_wind
    )
    mass: float = param(1.0, "true mass over the URDF's", gt=0.0, le=10.0)
    inertia: float = param(1.0, "true moments of inertia over the URDF's", gt=0.0, le=10.0)
    obs_noise: float = param(0.0, "std of the noise on each observation entry", ge=0.0, le=1.0)
    action_delay: int = param(0, "control steps between an action and its effect", ge=0, le=30)

    @property
    def physical(self) -> bool:
        """Whether the world's physics changes (wind, mass, inertia)."""
        return any(self.wind) or self.mass != 1.0 or self.inertia != 1.0


#: Named sets: ``mild`` is a breezy day and a loaded frame; ``harsh`` is worse on every count.
PRESETS: dict[str, dict[str, Any]] = {
    "none": {},
    "mild": {"wind": (0.01, 0.0, 0.0), "mass": 1.1, "obs_noise": 0.005, "action_delay": 1},
    "harsh": {
        "wind": (0.03, 0.02, 0.0),
        "mass": 1.25,
        "inertia": 1.2,
        "obs_noise": 0.02,
        "action_delay": 2,
    },
}


def parse_perturb(value: Any) -> Perturbations:
    """The :class:`Perturbations` of a face's ``perturb`` argument (see the module).

    Raises:
        ValueError: an unknown preset or key (naming the closest), a value out of range.
        TypeError: a value of the wrong type.
    """
    if value is None:
        return Perturbations()
    if isinstance(value, Perturbations):
        return value
    if isinstance(value, Mapping):
        return Perturbations.from_mapping(value)
    if not isinstance(value, str):
        raise TypeError(f"perturb must be None, a preset name, a dict or text, got {value!r}")
    if value in PRESETS:
        return Perturbations.from_mapping(PRESETS[value])
    if "=" not in value:
        raise ValueError(f"unknown perturb preset {value!r}; allowed: {', '.join(PRESETS)}")
    items, depth, word = [], 0, ""
    for ch in value:  # split at commas outside parentheses: wind=(0.1,0,0),mass=1.2
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            items.append(word)
            word = ""
        else:
            word += ch
    return Perturbations.from_strings([*items, word])


def canonical(value: Any) -> str | None:
    """``perturb`` in one normal form (None for no perturbation), for configs to compare."""
    p = parse_perturb(value)
    if p == Perturbations():
        return None
    changed = {k: v for k, v in p.to_dict().items() if v != getattr(Perturbations(), k)}
    return ",".join(f"{k}={tuple(v) if isinstance(v, list) else v}" for k, v in changed.items())
