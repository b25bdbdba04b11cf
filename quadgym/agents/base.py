"""The protocol every algorithm plugin implements.

A plugin is built from an environment (an id or an instance) and keyword
configuration; ``learn(budget, callback)`` trains for ``budget`` environment
steps and returns a history of metrics; ``act(observation)`` returns an
action; ``save(path)``/``load(path)`` write and read a checkpoint.
"""

from __future__ import annotations

import abc
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np


class Algorithm(abc.ABC):
    """Base class of quadgym's algorithm plugins.

    Attributes:
        name: the plugin's registry name.
        supported_envs: env ids the plugin can train on; ``("*",)`` for any.
        uses_horizon: whether ``scripts/train.py`` should pass the run's total budget
            as ``horizon`` (for a schedule that a resumed run must continue exactly).
    """

    name: ClassVar[str] = ""
    supported_envs: ClassVar[tuple[str, ...]] = ()
    #: whether the plugin takes a ``horizon`` config (its schedule's total budget)
    uses_horizon: ClassVar[bool] = False

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        self.env = gym.make(env) if isinstance(env, str) else env
        self.config = dict(config)

    @classmethod
    def supports(cls, env_id: str | None) -> bool:
        """Whether this plugin can run on ``env_id``."""
        return "*" in cls.supported_envs or env_id in cls.supported_envs

    @abc.abstractmethod
    def learn(self, budget: int, callback: Callable[[dict], Any] | None = None) -> list[dict]:
        """Train for ``budget`` environment steps; return one metrics dict per update."""

    @abc.abstractmethod
    def act(self, observation: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """The action for ``observation``."""

    def reset(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Forget per-episode memory (called at the start of each episode)."""

    @abc.abstractmethod
    def save(self, path: str | Path) -> None:
        """Write a checkpoint to ``path``."""

    @abc.abstractmethod
    def load(self, path: str | Path) -> None:
        """Restore the state written by :meth:`save`."""


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename, so that a
    reader never sees half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
