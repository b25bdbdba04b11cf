"""Finite outcome sets scored exactly: the shared base of the CoPG and DPO toys.

Every outcome of these envs (an arm, a response, a token sequence) is enumerated, with a
reward and a reference probability, so the quantities an experiment measures are exact
sums: :class:`ScoredOutcomes` gives π* ∝ π_ref·exp(R/β), J(π) = E_π[R] − β·KL(π‖π_ref) and
the regret, and the pair arrays the offline plugins learn from. :class:`TokenSequences` is
the episode of the token-sequence envs (``CoPGSequence-v0``, ``PreferenceTokens-v0``): one
token per step, the finished sequence scored by its reward.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from quadgym.envs.lifecycle import EpisodeGuard

#: Smallest and largest β (reward units per nat) an env takes: with rewards bounded, they
#: keep R/β, and so π* ∝ π_ref·exp(R/β), finite.
MIN_BETA, MAX_BETA = 1e-6, 1e6
#: Most outcomes (V^L token sequences) an env enumerates.
MAX_OUTCOMES = 65536


def check_beta(beta: float) -> float:
    """``beta`` as a float, refused unless finite and > 0."""
    if not np.isfinite(beta) or beta <= 0:
        raise ValueError(f"beta must be a finite number > 0, got {beta!r}")
    return float(beta)


def check_distribution(p: Any, size: int, name: str, support: np.ndarray | None = None):
    """``p`` as a probability vector of length ``size``.

    Raises:
        ValueError: wrong length, negative entries, or a sum other than 1.
    Warns:
        UserWarning: when ``p`` lacks support where ``support`` (π_ref) has it,
            which breaks the assumption under which CoPG's maximiser is π*.
    """
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (size,):
        raise ValueError(f"{name} must have {size} entries, got shape {p.shape}")
    if np.any(~np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"{name} must be finite and non-negative, got {p.tolist()}")
    if abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(f"{name} must sum to 1, sums to {p.sum():.6g}")
    if support is not None and np.any((p == 0) & (support > 0)):
        missing = np.flatnonzero((p == 0) & (support > 0)).tolist()
        warnings.warn(
            f"{name} gives zero probability to outcomes {missing[:10]} that pi_ref supports; "
            "the off-policy optimum then need not be pi*",
            UserWarning,
            stacklevel=3,
        )
    return p


def check_pair_count(n: Any) -> int:
    """``n`` pairs, refused unless a positive integer."""
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive number of pairs, got {n!r}")
    return int(n)


def check_enumerable(vocab: int, length: int) -> None:
    """Refuse ``vocab**length`` sequences above :data:`MAX_OUTCOMES` (each is listed)."""
    if vocab**length > MAX_OUTCOMES:
        raise ValueError(
            f"vocab**length must be <= {MAX_OUTCOMES} to enumerate every sequence, got "
            f"vocab={vocab}, length={length} ({vocab}**{length})"
        )


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (shifted by its maximum, so it cannot overflow)."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """ln softmax over the last axis, nats."""
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class ScoredOutcomes:
    """Exact quantities over a finite set of outcomes with rewards and a reference policy.

    Subclasses set ``rewards`` (N,), ``ref_policy`` (N,) and ``beta``.
    """

    rewards: np.ndarray
    ref_policy: np.ndarray
    beta: float

    @property
    def num_outcomes(self) -> int:
        return self.rewards.shape[0]

    def optimal_policy(self, beta: float | None = None) -> np.ndarray:
        """π*(y) ∝ π_ref(y)·exp(R(y)/β)."""
        beta = check_beta(self.beta if beta is None else beta)
        return softmax(np.log(self.ref_policy) + self.rewards / beta)

    def objective(self, policy: Any, beta: float | None = None) -> float:
        """J(π) = E_π[R] − β·KL(π‖π_ref), exactly."""
        beta = check_beta(self.beta if beta is None else beta)
        pi = check_distribution(policy, self.num_outcomes, "policy")
        nz = pi > 0
        kl = float(np.sum(pi[nz] * (np.log(pi[nz]) - np.log(self.ref_policy[nz]))))
        return float(pi @ self.rewards) - beta * kl

    def regret(self, policy: Any, beta: float | None = None) -> float:
        """J(π*) − J(π) ≥ 0, which equals β·KL(π‖π*)."""
        return self.objective(self.optimal_policy(beta), beta) - self.objective(policy, beta)

    def pair_arrays(
        self, y: np.ndarray, y2: np.ndarray, first_preferred: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The plugins' arrays of pairs (y, y') of the one prompt: ``prompt`` (all 0),
        ``y``, ``y2`` (outcome indices), ``r``, ``r2`` (their rewards), ``first_preferred``."""
        return {
            "prompt": np.zeros(len(y), dtype=np.int64),
            "y": y,
            "y2": y2,
            "r": self.rewards[y],
            "r2": self.rewards[y2],
            "first_preferred": first_preferred,
        }

    def sample_pairs(
        self, mu1: Any, mu2: Any, n: int, seed: int | None = None
    ) -> dict[str, np.ndarray]:
        """An off-policy dataset of ``n`` pairs, y ~ mu1 and y' ~ mu2, independently.

        Returns arrays of length n: ``y``, ``y2`` (outcome indices), ``r``, ``r2``
        (their rewards) and ``first_preferred`` (a Bradley–Terry label drawn
        with P(y ≻ y') = σ(R(y) − R(y'))), plus ``prompt`` (all zero: one prompt).

        Raises:
            ValueError: behaviour distributions that are not distributions, n < 1.
        """
        mu1 = check_distribution(mu1, self.num_outcomes, "mu1", self.ref_policy)
        mu2 = check_distribution(mu2, self.num_outcomes, "mu2", self.ref_policy)
        n = check_pair_count(n)
        rng = np.random.default_rng(seed)
        y = rng.choice(self.num_outcomes, size=n, p=mu1)
        y2 = rng.choice(self.num_outcomes, size=n, p=mu2)
        p_first = 1.0 / (1.0 + np.exp(-(self.rewards[y] - self.rewards[y2])))
        return self.pair_arrays(y, y2, rng.random(n) < p_first)


class TokenSequences(ScoredOutcomes, gym.Env):
    """The episode of a token-sequence env: ``length`` tokens of ``vocab``, one a step.

    Outcome i is the base-``vocab`` number i written in ``length`` digits (``outcomes``,
    (V^L, L)); a subclass calls :meth:`_make_sequences` and sets ``rewards``. The
    observation is the tokens so far padded with ``vocab``; the reward is 0 until the
    last token, then the finished sequence's ``rewards`` entry.
    """

    metadata = {"render_modes": []}

    def _make_sequences(self, vocab: int, length: int, env_id: str, over: str) -> None:
        """Enumerate the sequences and make the spaces and the episode guard
        (``over``: what ``step()`` after the last token is told)."""
        self.vocab, self.length = vocab, length
        self.outcomes = np.array(list(itertools.product(range(vocab), repeat=length)))
        self.action_space = spaces.Discrete(vocab)
        self.observation_space = spaces.MultiDiscrete([vocab + 1] * length)
        self._tokens: list[int] = []
        self._guard = EpisodeGuard(env_id, over=over)

    def outcome_index(self, seq: Any) -> Any:
        """Index in ``outcomes`` of a sequence (an int), or of each sequence of ``seq``
        (..., L) (an array): its base-V number."""
        seq = np.asarray(seq, dtype=np.int64)
        index = (seq * self.vocab ** np.arange(self.length - 1, -1, -1)).sum(-1)
        return int(index) if index.ndim == 0 else index

    def _obs(self) -> np.ndarray:
        obs = np.full(self.length, self.vocab, dtype=np.int64)
        obs[: len(self._tokens)] = self._tokens
        return obs

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._guard.reset()
        super().reset(seed=seed)
        self._tokens = []
        return self._obs(), {}

    def step(self, action):
        self._guard.check_step()
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not a token in 0..{self.vocab - 1}")
        self._tokens.append(int(action))
        done = len(self._tokens) == self.length
        reward = float(self.rewards[self.outcome_index(self._tokens)]) if done else 0.0
        self._guard.end(done)
        return self._obs(), reward, done, False, {}

    def close(self) -> None:
        """Nothing to release; ``step()``/``reset()`` then raise ``EnvClosed``."""
        self._guard.close()
