"""The typed config of an env's constructor arguments, built from the constructor's ``locals()``.

Every quadgym env checks its arguments first, as a :class:`EnvConfig` (a
:class:`quadgym.config.TypedConfig`: types, bounds, rules between fields), so
that an invalid argument is refused by name before anything is built (a
PyBullet client, a data set, a trained teacher). The env keeps its keyword
signature and passes ``locals()``; its config stays readable as ``env.config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Self

from quadgym.config import TypedConfig


@dataclass(frozen=True)
class EnvConfig(TypedConfig):
    """A config of some of an env constructor's arguments."""

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> Self:
        """The config of a constructor's arguments (its ``locals()``): every field
        found by name; absent ones keep their defaults, other names are ignored."""
        return cls(**{f.name: arguments[f.name] for f in fields(cls) if f.name in arguments})
