"""When an env may step: after ``reset()``, before its episode ends, never after ``close()``.

Gymnasium's ``OrderEnforcing`` wrapper (added by ``gym.make``) refuses ``step()``
before the first ``reset()``; nothing refuses a step after the episode ended or
after ``close()``, and the raw env classes (and the PettingZoo swarm) get no
wrapper at all. Every quadgym env holds an :class:`EpisodeGuard` that does all
three, so the rule and its messages live in one place:

* ``step()`` before the first ``reset()``: :class:`ResetNeeded`;
* ``step()`` after an episode terminated or truncated: :class:`ResetNeeded`
  (Gymnasium calls this undefined; we say so instead of carrying on), or, for
  an env whose state goes on meaning something (a crashed drone still lies on
  the ground), a warning once per episode, as Gymnasium's own CartPole does;
* ``step()`` or ``reset()`` after ``close()``: :class:`EnvClosed`.

Both errors are Gymnasium's own (``gymnasium.error.ResetNeeded`` and
``ClosedEnvironmentError``) and also ``RuntimeError`` s, which is what the toy envs
raised before.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, Literal

import gymnasium as gym


class ResetNeeded(gym.error.ResetNeeded, RuntimeError):
    """``step()`` before the first ``reset()`` or after the episode ended."""


class EnvClosed(gym.error.ClosedEnvironmentError, RuntimeError):
    """``step()`` or ``reset()`` after ``close()``."""


class EpisodeGuard:
    """The lifecycle of one env: new, running, over (the episode ended), closed.

    Args:
        name: the env's name, for messages, or a function giving it when a message is
            made (an env class that serves several ids learns its own from ``spec``
            after construction: :func:`env_name`).
        over: the message of a step after the episode ended (an env may say it in
            its own words, e.g. "the program is finished").
        after_end: ``"raise"`` :class:`ResetNeeded` on a step after the episode
            ended, or ``"warn"`` once per episode and let the step happen.
    """

    def __init__(
        self,
        name: str | Callable[[], str],
        over: str = "the episode is over (terminated or truncated); call reset()",
        after_end: Literal["raise", "warn"] = "raise",
    ) -> None:
        self._name = name
        self.over_message = over
        self.after_end = after_end
        self._state = "new"
        self._warned = False

    @property
    def name(self) -> str:
        """The env's name as messages give it."""
        return self._name() if callable(self._name) else self._name

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._state == "closed"

    @property
    def started(self) -> bool:
        """Whether ``reset()`` was called (and the env is not closed)."""
        return self._state in ("running", "over")

    def reset(self) -> None:
        """Record a ``reset()``; call it before the env touches its state.

        Raises:
            EnvClosed: after ``close()``.
        """
        self._refuse_closed("reset")
        self._state = "running"
        self._warned = False

    def check_step(self) -> None:
        """Refuse a ``step()`` the env cannot take.

        Raises:
            EnvClosed: after ``close()``.
            ResetNeeded: before the first ``reset()``, or after the episode ended
                (unless ``after_end="warn"``).
        """
        if self._state == "running":
            return
        self._refuse_closed("step")
        if self._state == "new":
            raise ResetNeeded(f"{self.name}: call reset() before step()")
        if self.after_end == "raise":
            raise ResetNeeded(f"{self.name}: {self.over_message}")
        if not self._warned:
            self._warned = True
            gym.logger.warn(
                f"{self.name}: step() after the episode ended (terminated or truncated); "
                "what follows is undefined: call reset() to start an episode"
            )

    def end(self, done: bool = True) -> None:
        """Record the step's outcome: ``done`` (terminated or truncated) ends the episode."""
        if done and self._state == "running":
            self._state = "over"

    def close(self) -> None:
        """Record a ``close()`` (calling it again does nothing)."""
        self._state = "closed"

    def _refuse_closed(self, call: str) -> None:
        if self._state == "closed":
            raise EnvClosed(f"{self.name} is closed: {call}() after close(); make a new env")


def env_name(env: Any, fallback: str) -> Callable[[], str]:
    """A name for :class:`EpisodeGuard` read when a message is made: the id ``gym.make``
    gave ``env`` (its ``spec``), else its PettingZoo ``metadata["name"]``, else
    ``fallback`` (a raw env class built by hand). It holds ``env`` weakly: a strong
    reference from the env's own guard would keep a dropped env (and its PyBullet
    client) alive until the garbage collector runs."""
    ref = weakref.ref(env)

    def name() -> str:
        owner = ref()
        spec = getattr(owner, "spec", None)
        given = getattr(owner, "metadata", {}).get("name")
        return getattr(spec, "id", None) or given or fallback

    return name
