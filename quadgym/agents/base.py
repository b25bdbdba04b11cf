"""The protocol every algorithm plugin implements.

A plugin is built from an environment (an id or an instance) and keyword
configuration, checked against the plugin's typed :attr:`Algorithm.Config`
before anything is built; the env is then checked against the capabilities
the plugin :attr:`~Algorithm.requires`. ``learn(budget, callback)`` trains for
``budget`` units of the plugin's :attr:`~Algorithm.budget_unit` and returns one
record per update, each stamped with its absolute position under
:data:`POSITION` (the budget consumed so far, :attr:`Algorithm.progress`);
``act(observation)`` returns an action; ``save(path)``/``load(path)`` write and
read a checkpoint.

Writing a plugin: subclass :class:`Algorithm`, set ``name``, ``budget_unit``,
``Config`` (a frozen dataclass deriving from :class:`AlgoConfig`) and, if it
needs more than a Gymnasium env, ``requires``; implement ``progress``,
``_learn(budget, emit)`` (call ``emit(record)`` once per update), ``act``,
``save`` and ``load``.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from quadgym.agents.capabilities import check_capabilities
from quadgym.config import TypedConfig, param
from quadgym.files import atomic_write_bytes  # noqa: F401 - where plugins have found it

#: the key under which every record carries its absolute position (budget consumed)
POSITION = "step"


class BudgetUnit(enum.StrEnum):
    """What one unit of a plugin's training budget is."""

    ENV_STEPS = "env_steps"  #: one step of one environment
    AGENT_STEPS = "agent_steps"  #: one control step of one agent of a multi-agent env
    EPOCHS = "epochs"  #: one pass over a fixed dataset
    UPDATES = "updates"  #: one gradient step on a fresh batch


#: Env keywords that shape what a policy observes and how it acts (its spaces and their
#: meaning). A policy trained with one of them set must act in an env with the same value:
#: ``rpm`` and ``vel`` actions are both 4 numbers in [-1, 1], so the shape alone cannot
#: tell a velocity policy flown as motor speeds; a policy of "kin" observations cannot
#: read "kin+rgb" ones; the observation's memory (action history, error integral) changes its
#: width and meaning.
INTERFACE_KEYS = (
    "action_type",
    "obs_type",
    "motors",
    "action_history",
    "error_integral",
    "error_integral_radius",
)


@dataclasses.dataclass(frozen=True)
class AlgoConfig(TypedConfig):
    """Configuration every plugin takes."""

    seed: int = param(0, "seeds the plugin's data, initialisation and sampling", ge=0)

    def interface(self) -> dict[str, Any]:
        """The :data:`INTERFACE_KEYS` the plugin's policy was built for (env keywords; {}:
        the env's defaults). The plugin's own env and every evaluation env take them."""
        return {}


class Algorithm(abc.ABC):
    """Base class of quadgym's algorithm plugins.

    Attributes:
        name: the plugin's registry name.
        Config: the plugin's typed configuration (an :class:`AlgoConfig` dataclass).
        budget_unit: what ``learn``'s budget counts.
        supported_envs: quadgym's env ids the plugin trains on (``("*",)``: any env);
            other packages' envs qualify by the capabilities in ``requires``.
        requires: ``typing.Protocol`` classes the env (``env.unwrapped``) must satisfy;
            a tuple of protocols in it is met by any one of them.
        config: the checked configuration of this instance.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type[AlgoConfig]] = AlgoConfig
    budget_unit: ClassVar[BudgetUnit] = BudgetUnit.ENV_STEPS
    supported_envs: ClassVar[tuple[str, ...]] = ("*",)
    requires: ClassVar[tuple[type | tuple[type, ...], ...]] = ()
    #: (metrics.csv column, "min" or "max"): what a sweep compares runs on unless told
    #: (scripts/tune.py); None where the plugin has no one column worth ranking by.
    headline: ClassVar[tuple[str, str] | None] = None
    #: Every column the plugin's records carry, where that does not depend on the env
    #: (tune.py refuses a --metric outside it before Ray starts); None: it depends.
    logged: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, env: str | gym.Env | Any, **config: Any) -> None:
        self.config = self.make_config(config)
        self.env = self.make_env(env) if isinstance(env, str) else env
        try:
            check_capabilities(self.env.unwrapped, self.requires, self.name)
        except ValueError:
            if isinstance(env, str):  # we built it: release it
                self.env.close()
            raise

    @classmethod
    def make_config(cls, config: dict[str, Any]) -> AlgoConfig:
        """``config`` checked against :attr:`Config`; errors name the plugin and the field.

        Raises:
            ValueError: an unknown key (with the closest allowed one) or a value out of range.
            TypeError: a value of the wrong type.
        """
        try:
            return cls.Config.from_mapping(config)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{cls.name}: {exc}") from None

    def make_env(self, env_id: str) -> Any:
        """The env for ``env_id`` with the config's interface: ``gym.make``, or the
        PettingZoo ``ParallelEnv`` of a multi-agent id (unless the plugin needs more)."""
        from quadgym.registry import PARALLEL_ENVS, make_parallel_env

        if env_id in PARALLEL_ENVS:
            return make_parallel_env(env_id, **self.config.interface())
        return gym.make(env_id, **self.config.interface())

    @classmethod
    def supports(cls, env_id: str | None) -> bool:
        """Whether this plugin can run on ``env_id``: one of ``supported_envs``, or, for a
        plugin that states its ``requires``, any env quadgym does not register (a user's
        own: its capabilities are then checked on the instance)."""
        from quadgym.registry import ENV_SPECS, PARALLEL_ENVS

        if "*" in cls.supported_envs or env_id in cls.supported_envs:
            return True
        return bool(cls.requires) and env_id not in ENV_SPECS and env_id not in PARALLEL_ENVS

    @property
    @abc.abstractmethod
    def progress(self) -> int:
        """Budget consumed so far, in :attr:`budget_unit` (survives save/load)."""

    def learn(self, budget: int, callback: Callable[[dict], Any] | None = None) -> list[dict]:
        """Train for ``budget`` units of :attr:`budget_unit`; return one record per update.

        Every record carries ``POSITION``: :attr:`progress` when it was made, so that a
        chunked or resumed run's records are positioned by the budget they consumed.
        ``callback`` receives each record as it is made.

        Raises:
            ValueError: ``budget`` is not a positive integer.
        """
        if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 1:
            raise ValueError(f"budget must be a positive integer, got {budget!r}")
        history: list[dict] = []

        def emit(record: dict) -> None:
            stamped = {POSITION: int(self.progress), **record}
            history.append(stamped)
            if callback is not None:
                callback(stamped)

        self._learn(int(budget), emit)
        return history

    @abc.abstractmethod
    def _learn(self, budget: int, emit: Callable[[dict], None]) -> None:
        """Train for ``budget`` units; call ``emit(record)`` after each update, once
        :attr:`progress` counts it."""

    @abc.abstractmethod
    def act(self, observation: Any, deterministic: bool = True) -> Any:
        """The action for ``observation``."""

    def reset(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Forget per-episode memory (called at the start of each episode)."""

    @abc.abstractmethod
    def save(self, path: str | Path) -> None:
        """Write a checkpoint to ``path``."""

    @abc.abstractmethod
    def load(self, path: str | Path) -> None:
        """Restore the state written by :meth:`save`."""
