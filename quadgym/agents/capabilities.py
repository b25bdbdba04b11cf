"""What a plugin needs from an environment, as ``typing.Protocol`` classes.

A plugin lists the protocols it needs in ``requires``; building it checks them
on ``env.unwrapped`` (:func:`check_capabilities`) and refuses an env that lacks
one, naming the protocol and the missing members. Any env with the members
qualifies, registered with quadgym or not. A member annotated with another
protocol is checked recursively (ToyCoding-v0's ``task``).
"""

from __future__ import annotations

import typing
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class EnumerableOutcomes(Protocol):
    """Outcomes that can be listed with their exact rewards (``CoPGBandit-v0``,
    ``CoPGSequence-v0``): exact evaluation and off-policy pair datasets."""

    rewards: np.ndarray  #: (N,) reward of each outcome
    ref_policy: np.ndarray  #: (N,) the reference policy π_ref
    beta: float  #: the env's KL weight
    outcomes: np.ndarray  #: (N, L) the tokens of each outcome (L = 1 for arms)

    @property
    def num_outcomes(self) -> int: ...

    def optimal_policy(self, beta: float | None = None) -> np.ndarray: ...

    def regret(self, policy: Any, beta: float | None = None) -> float: ...

    def sample_pairs(self, mu1: Any, mu2: Any, n: int, seed: int | None = None) -> dict: ...


@runtime_checkable
class TokenOutcomes(EnumerableOutcomes, Protocol):
    """Enumerable outcomes that are token sequences, generated token by token."""

    vocab: int  #: tokens per position
    length: int  #: tokens per outcome


@runtime_checkable
class PromptedPreferences(Protocol):
    """Prompts × responses with a preference oracle (``PreferenceToy-v0``)."""

    num_prompts: int
    num_responses: int
    scores: np.ndarray  #: (P, R) latent reward of each response
    ref_policy: np.ndarray  #: (P, R) the initial model's distributions

    def preference_dataset(
        self, chosen: str, rejected: str, pairs_per_prompt: int, seed: int = 0
    ) -> dict: ...

    def response_sets(self, data: dict) -> np.ndarray: ...


@runtime_checkable
class DistillationHandles(Protocol):
    """A distillation run the agent augments (``HardShift-v0``): the action type, the
    data, and differentiable handles on the teacher-student disagreement."""

    action_type: str
    batch_size: int
    data: Any  #: the signals (``length`` samples each) and their labels

    def augment_tensor(self, x: Any, action: Any) -> Any: ...

    def disagreement(self, x: Any) -> Any: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


@runtime_checkable
class CodingCorpus(Protocol):
    """A generator of (prompt, correct program) token sequences and their interpreter."""

    vocab_size: int
    max_length: int
    prompt_length: int
    max_program_length: int

    def corpus(self, rng: np.random.Generator, n: int, split: str = "train") -> np.ndarray: ...

    def sample(self, rng: np.random.Generator, n: int, split: str = "train") -> Any: ...

    def execute(self, prompt: Any, program: Any) -> Any: ...


@runtime_checkable
class ProgramCorpus(Protocol):
    """An env whose ``task`` generates a token corpus (``ToyCoding-v0``)."""

    task: CodingCorpus


@runtime_checkable
class QuadControl(Protocol):
    """A quadcopter env whose ``task`` exposes the drone model and action mapping
    (``QuadHover-v0``)."""

    task: Any  #: HoverTask: model, action_type, control_hz, rpm_scale
    num_drones: int


@runtime_checkable
class GateCourse(Protocol):
    """A drone task of gates flown in order whose observation shows the next gate's axis
    (its unit normal's x and y) right after the common entries (QuadGates-v0's task):
    what lets a planner line up before flying through."""

    centres: np.ndarray  #: (g, 3) the gates' centres, m
    yaws: np.ndarray  #: (g,) the gates' headings, rad
    passed: np.ndarray  #: (n,) gates each drone has passed


@runtime_checkable
class CrossingGoals(Protocol):
    """A team task whose drones cross each other's paths on the way to their goals
    (quad_swap_v0's): a planner keeps them apart in height until they are past."""

    crosses_paths: bool


def members(protocol: type) -> list[str]:
    """The attribute and method names a protocol declares (its own and inherited)."""
    names: list[str] = []
    for klass in reversed(protocol.__mro__):
        if klass in (Protocol, object, typing.Generic) or not getattr(klass, "_is_protocol", 0):
            continue
        own = list(getattr(klass, "__annotations__", {}))
        own += [k for k, v in vars(klass).items() if callable(v) or isinstance(v, property)]
        names += [n for n in own if not n.startswith("_") and n not in names]
    return names


def missing(obj: Any, protocol: type) -> list[str]:
    """Members of ``protocol`` that ``obj`` lacks (``task.corpus`` for nested ones)."""
    hints = typing.get_type_hints(protocol)
    out = []
    for name in members(protocol):
        if not hasattr(obj, name):
            out.append(name)
            continue
        nested = hints.get(name)
        if isinstance(nested, type) and getattr(nested, "_is_protocol", False):
            out += [f"{name}.{m}" for m in missing(getattr(obj, name), nested)]
    return out


def check_capabilities(
    obj: Any, protocols: tuple[type | tuple[type, ...], ...], plugin: str
) -> None:
    """Refuse ``obj`` unless it satisfies every entry of ``protocols``; an entry that
    is a tuple of protocols is met by any one of them.

    Raises:
        ValueError: naming the plugin, the first unmet entry and what is missing.
    """
    for entry in protocols:
        options = entry if isinstance(entry, tuple) else (entry,)
        gaps = {p: missing(obj, p) for p in options}
        if all(gaps.values()):
            needs = " or ".join(f"{p.__name__} ({_summary(p)})" for p in options)
            lacks = "; ".join(f"{p.__name__}: {', '.join(g)}" for p, g in gaps.items())
            raise ValueError(
                f"{plugin!r} needs an env with {needs}; {type(obj).__name__} lacks {lacks}"
            )


def satisfies(obj: Any, protocol: type) -> bool:
    """Whether ``obj`` has every member of ``protocol`` (nested protocols included)."""
    return not missing(obj, protocol)


def _summary(protocol: type) -> str:
    """The first sentence of the protocol's docstring, on one line."""
    return " ".join((protocol.__doc__ or "").split()).split(". ")[0].rstrip(".")
