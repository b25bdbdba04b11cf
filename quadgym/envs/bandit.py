"""The Contrastive Policy Gradient toys: a K-armed bandit and a short-sequence task.

Flet-Berliac et al. 2024, "Contrastive Policy Gradient: Aligning LLMs on
sequence-level scores in a supervised-friendly fashion" (arXiv 2406.19185).
With the regularised reward R^π_β(y) = R(y) − β·ln(π(y)/π_ref(y)), the
optimal policy is π*(y) ∝ π_ref(y)·exp(R(y)/β), and the objective
J(π) = E_π[R] − β·KL(π‖π_ref).

Both environments have a finite, enumerable set of outcomes (arms, or all
V^L token sequences), so every quantity an experiment needs is computed
exactly: :meth:`ScoredOutcomes.optimal_policy`, ``objective``, ``regret``; and
they build the off-policy datasets of pairs the offline algorithms learn from
(:meth:`ScoredOutcomes.sample_pairs`). That base, and the token-sequence episode
(:class:`~quadgym.envs.outcomes.TokenSequences`), are quadgym.envs.outcomes', shared with
the DPO toys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from quadgym.config import param
from quadgym.envs.arguments import EnvConfig
from quadgym.envs.lifecycle import EpisodeGuard
from quadgym.envs.outcomes import (
    MAX_BETA,
    MAX_OUTCOMES,
    MIN_BETA,
    ScoredOutcomes,
    TokenSequences,
    check_beta,
    check_distribution,
    check_enumerable,
    softmax,
)

#: what this module gave before the shared base moved to quadgym.envs.outcomes
__all__ = [
    "MAX_BETA",
    "MAX_OUTCOMES",
    "MAX_REWARD",
    "MAX_TESTS",
    "MIN_BETA",
    "BanditConfig",
    "CoPGBanditEnv",
    "CoPGSequenceEnv",
    "ScoredOutcomes",
    "SequenceConfig",
    "check_beta",
    "check_distribution",
    "softmax",
]

#: Largest |reward| (reward units) an env takes: with β >= MIN_BETA it keeps R/β, and so
#: π* ∝ π_ref·exp(R/β), finite.
MAX_REWARD = 1e6
#: Most hidden tests (each is checked on every outcome at construction).
MAX_TESTS = 100


def _arm_rewards(name: str, value: tuple[float, ...]) -> tuple[float, ...]:
    """At least two arms, each reward within ±MAX_REWARD."""
    if len(value) < 2:
        raise ValueError(f"{name} must hold K >= 2 arms, got {len(value)}")
    for i, r in enumerate(value):
        if abs(r) > MAX_REWARD:
            raise ValueError(f"{name}[{i}] must be in [-{MAX_REWARD:g}, {MAX_REWARD:g}], got {r!r}")
    return value


@dataclass(frozen=True)
class BanditConfig(EnvConfig):
    """The arguments of CoPGBandit-v0, checked before anything is built."""

    rewards: tuple[float, ...] = param(
        (2.5, 2.0, 1.0),
        f"R per arm, reward units; K >= 2 arms, each within ±{MAX_REWARD:g}",
        check=_arm_rewards,
    )
    beta: float = param(
        0.5, "KL regularisation strength β, reward units per nat", ge=MIN_BETA, le=MAX_BETA
    )
    ref_policy: tuple[float, ...] | None = param(
        None, "π_ref: one probability > 0 per arm, summing to 1; None: uniform"
    )

    def check(self) -> None:
        if self.ref_policy is not None:
            ref = check_distribution(self.ref_policy, len(self.rewards), "ref_policy")
            if np.any(ref == 0):
                raise ValueError("ref_policy must give every arm positive probability")


@dataclass(frozen=True)
class SequenceConfig(EnvConfig):
    """The arguments of CoPGSequence-v0, checked before anything is built."""

    vocab: int = param(4, "V, tokens; V**L <= 65536 so that every sequence is enumerated", ge=2)
    length: int = param(4, "L, tokens per sequence", ge=1)
    num_tests: int = param(
        4,
        "hidden constraints; each is checked on every sequence at construction",
        ge=1,
        le=MAX_TESTS,
    )
    reward_scale: float = param(
        1.0,
        "reward per passed test, reward units; with at most 100 tests, every reward "
        "stays within ±1e6",
        gt=0,
        le=MAX_REWARD / MAX_TESTS,
    )
    beta: float = param(
        0.5, "KL regularisation strength β, reward units per nat", ge=MIN_BETA, le=MAX_BETA
    )
    task_seed: int = param(0, "draws the hidden tests", ge=0)

    def check(self) -> None:
        check_enumerable(self.vocab, self.length)


class CoPGBanditEnv(ScoredOutcomes, gym.Env):
    """
    ## Description

    The K-armed bandit of the Contrastive Policy Gradient paper (Figure 1):
    one step per episode, the action is an arm, the reward is R[arm]. The
    experiments train policies offline from pairs the env samples, and
    measure them exactly with ``optimal_policy``, ``objective`` and ``regret``.

    ## Action Space

    ``Discrete(K)``: the arm.

    ## Observation Space

    ``Box(0, 1, (1,), float32)``, always 0: there is a single prompt.

    ## Rewards

    R[arm]; defaults R = (2.5, 2, 1).

    ## Starting State and Episode End

    Every episode is one step: it terminates after the first action.

    ## Arguments

    | Parameter     | Default     | Description                                     |
    |---------------|-------------|-------------------------------------------------|
    | ``rewards``   | (2.5, 2, 1) | R per arm; K >= 2 arms, each within ±1e6        |
    | ``beta``      | 0.5         | KL regularisation strength, in [1e-6, 1e6]      |
    | ``ref_policy``| uniform     | π_ref: K probabilities > 0 summing to 1         |

    Checked before anything is built, as :class:`BanditConfig` (``env.config``):
    ``TypeError`` for a wrong type, ``ValueError`` for a value that is out of
    range or not finite, naming the argument and what is allowed. The bounds keep
    R/β, and so π*, finite.

    ``step()`` before ``reset()`` or after the episode's one step raises
    ``ResetNeeded``; after ``close()``, ``EnvClosed`` (both
    :mod:`quadgym.envs.lifecycle`).

    ## Version History

    * v0: initial version.
    """

    metadata = {"render_modes": []}

    def __init__(self, rewards: Any = (2.5, 2.0, 1.0), beta: float = 0.5, ref_policy: Any = None):
        self.config = config = BanditConfig.from_arguments(locals())
        self.rewards = np.asarray(config.rewards, dtype=np.float64)
        k = self.rewards.size
        self.beta = config.beta
        ref = np.full(k, 1.0 / k) if config.ref_policy is None else config.ref_policy
        self.ref_policy = np.asarray(ref, dtype=np.float64)
        self.action_space = spaces.Discrete(k)
        self.observation_space = spaces.Box(0.0, 1.0, (1,), np.float32)
        #: outcome table: outcome i is arm i
        self.outcomes = np.arange(k)[:, None]
        self._guard = EpisodeGuard("CoPGBandit-v0")

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._guard.reset()
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        self._guard.check_step()
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not an arm in 0..{self.action_space.n - 1}")
        self._guard.end()
        return np.zeros(1, dtype=np.float32), float(self.rewards[int(action)]), True, False, {}

    def close(self) -> None:
        """Nothing to release; ``step()``/``reset()`` then raise ``EnvClosed``."""
        self._guard.close()


class CoPGSequenceEnv(TokenSequences):
    """
    ## Description

    A sequence-level task in the spirit of CoPG's real use: the agent emits
    ``length`` tokens from a vocabulary of ``vocab``; only the finished
    sequence is scored, by a hidden set of "unit tests" (constraints drawn
    from ``task_seed``): each is either "token t at position i" or "token a
    appears before token b" or "token t appears at least twice". The score
    is the number of tests passed times ``reward_scale``. With the small
    defaults (V = 4, L = 4: 256 sequences) π*, J and the regret stay exactly
    computable by enumeration.

    ## Action Space

    ``Discrete(vocab)``: the next token.

    ## Observation Space

    ``MultiDiscrete([vocab + 1] * length)``: the tokens so far, padded with
    ``vocab``.

    ## Rewards

    0 until the last token; then passed tests × ``reward_scale``.

    ## Episode End

    Termination after ``length`` tokens.

    ## Arguments

    | Parameter       | Default | Description                                   |
    |-----------------|---------|-----------------------------------------------|
    | ``vocab``       | 4       | V >= 2; V^L <= 65536 (every sequence listed)  |
    | ``length``      | 4       | L >= 1                                        |
    | ``num_tests``   | 4       | hidden constraints, 1 .. 100                  |
    | ``reward_scale``| 1.0     | reward per passed test, in (0, 1e4]           |
    | ``beta``        | 0.5     | KL regularisation strength, in [1e-6, 1e6]    |
    | ``task_seed``   | 0       | draws the hidden tests, >= 0                  |

    π_ref is uniform over tokens at every step (so uniform over sequences).

    Checked before anything is built, as :class:`SequenceConfig` (``env.config``):
    ``TypeError`` for a wrong type, ``ValueError`` for a value that is out of
    range or not finite, naming the argument and what is allowed. ``step()``
    before ``reset()`` or after the last token raises ``ResetNeeded``; after
    ``close()``, ``EnvClosed``.

    ## Version History

    * v0: initial version.
    """

    def __init__(
        self,
        vocab: int = 4,
        length: int = 4,
        num_tests: int = 4,
        reward_scale: float = 1.0,
        beta: float = 0.5,
        task_seed: int = 0,
    ):
        self.config = config = SequenceConfig.from_arguments(locals())
        vocab, length = config.vocab, config.length
        self._make_sequences(
            vocab, length, "CoPGSequence-v0", over="the sequence is finished; call reset()"
        )
        self.beta = config.beta
        rng = np.random.default_rng(config.task_seed)
        self.tests = []
        for _ in range(config.num_tests):
            kind = rng.integers(3) if length > 1 else 0
            if kind == 0:
                self.tests.append(("at", int(rng.integers(length)), int(rng.integers(vocab))))
            elif kind == 1:
                a, b = rng.choice(vocab, size=2, replace=False)
                self.tests.append(("before", int(a), int(b)))
            else:
                self.tests.append(("twice", int(rng.integers(vocab)), 0))
        self.reward_scale = config.reward_scale
        self.rewards = self.reward_scale * np.array([self.passed(s) for s in self.outcomes], float)
        self.ref_policy = np.full(len(self.outcomes), 1.0 / len(self.outcomes))

    def passed(self, seq: Any) -> int:
        """How many hidden tests the token sequence passes."""
        seq = [int(t) for t in seq]
        if len(seq) != self.length or any(not 0 <= t < self.vocab for t in seq):
            raise ValueError(f"a sequence is {self.length} tokens in 0..{self.vocab - 1}: {seq}")
        count = 0
        for kind, a, b in self.tests:
            if kind == "at":
                count += seq[a] == b
            elif kind == "before":
                count += a in seq and b in seq and seq.index(a) < len(seq) - 1 - seq[::-1].index(b)
            else:
                count += seq.count(a) >= 2
        return count
