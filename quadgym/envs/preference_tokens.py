"""The DPO 3D-properties toy with token sequences: responses share a vocabulary and prefixes.

Yan et al. 2024 (arXiv 2406.07327) explain the degradation of the chosen likelihood by
chosen and rejected responses that share most of their tokens: in a language model, pushing
the rejected sequence down drags the chosen one with it. ``PreferenceToy-v0`` cannot show
that (each response there has its own free parameters). Here a response is a sequence of
``length`` tokens from a vocabulary of ``vocab``; π_ref is a first-order Markov chain; the
policy the plugins train is autoregressive over the same tokens (sharing its parameters
across every prefix); and the pairs of :meth:`PreferenceTokensEnv.preference_pairs` are two
samples of one source that share a random prefix, the preferred one chosen by a
Bradley–Terry oracle. The source is π_ref itself (on-policy) or the chain with negated
logits (off-policy: responses π_ref rarely produces).

Every sequence is enumerated (V**L <= 65536), so every mass and log-likelihood is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quadgym.config import param
from quadgym.envs.arguments import EnvConfig
from quadgym.envs.outcomes import (
    MAX_BETA,
    MIN_BETA,
    TokenSequences,
    check_enumerable,
    check_pair_count,
    log_softmax,
)

#: where the pairs come from: π_ref's chain, or the chain with negated logits
SOURCES = ("on", "off")


@dataclass(frozen=True)
class PreferenceTokensConfig(EnvConfig):
    """The arguments of PreferenceTokens-v0, checked before anything is built."""

    vocab: int = param(6, "V, tokens; V**L <= 65536 so that every sequence is enumerated", ge=2)
    length: int = param(4, "L, tokens per response", ge=2)
    ref_scale: float = param(
        2.0,
        "standard deviation of π_ref's first-token and transition logits, nats; <= 10 so "
        "that every sequence keeps a probability > 0",
        gt=0,
        le=10,
    )
    beta: float = param(
        0.1, "KL regularisation strength β, reward units per nat", ge=MIN_BETA, le=MAX_BETA
    )
    task_seed: int = param(0, "draws π_ref and the latent scores", ge=0)

    def check(self) -> None:
        check_enumerable(self.vocab, self.length)


class PreferenceTokensEnv(TokenSequences):
    """
    ## Description

    A response is ``length`` tokens from a vocabulary of ``vocab``. π_ref is a Markov
    chain: first-token logits a and transition logits B (``ref_scale``·N(0, 1) draws);
    the latent score of a sequence is Σ_t w[t, y_t] + Σ_t u[y_{t−1}, y_t] (standard
    normal w, u), and a Bradley–Terry oracle prefers y to y' with probability
    σ(r(y) − r(y')). :meth:`preference_pairs` builds chosen/rejected pairs from the
    on-policy source (π_ref) or the off-policy one (the chain with logits −a, −B).
    ``ref_token_logits`` gives π_ref's next-token logits after every prefix of every
    sequence, so that an autoregressive policy can start exactly at π_ref.

    ## Action Space

    ``Discrete(vocab)``: the next token.

    ## Observation Space

    ``MultiDiscrete([vocab + 1] * length)``: the tokens so far, padded with ``vocab``.

    ## Rewards

    0 until the last token; then the latent score of the sequence.

    ## Episode End

    Termination after ``length`` tokens.

    ## Arguments

    | Parameter      | Default | Description                                         |
    |----------------|---------|-----------------------------------------------------|
    | ``vocab``      | 6       | V >= 2; V^L <= 65536 (every sequence listed)        |
    | ``length``     | 4       | L >= 2                                              |
    | ``ref_scale``  | 2.0     | std of π_ref's logits, nats, in (0, 10]             |
    | ``beta``       | 0.1     | KL regularisation strength, in [1e-6, 1e6]          |
    | ``task_seed``  | 0       | draws π_ref and the scores, >= 0                    |

    Checked before anything is built, as :class:`PreferenceTokensConfig` (``env.config``):
    ``TypeError`` for a wrong type, ``ValueError`` for a value out of range, naming the
    argument and what is allowed. ``step()`` before ``reset()`` or after the last token
    raises ``ResetNeeded``; after ``close()``, ``EnvClosed``.

    ## Version History

    * v0: initial version.
    """

    def __init__(
        self,
        vocab: int = 6,
        length: int = 4,
        ref_scale: float = 2.0,
        beta: float = 0.1,
        task_seed: int = 0,
    ):
        self.config = config = PreferenceTokensConfig.from_arguments(locals())
        vocab, length = config.vocab, config.length
        self._make_sequences(
            vocab, length, "PreferenceTokens-v0", over="the response is finished; call reset()"
        )
        self.beta = config.beta
        rng = np.random.default_rng(config.task_seed)
        first = config.ref_scale * rng.normal(size=vocab)
        trans = config.ref_scale * rng.normal(size=(vocab, vocab))
        w, u = rng.normal(size=(length, vocab)), rng.normal(size=(vocab, vocab))
        #: first-token and transition logits of each source chain
        self.chains = {"on": (first, trans), "off": (-first, -trans)}
        seq = self.outcomes
        self.rewards = w[np.arange(length), seq].sum(1) + u[seq[:, :-1], seq[:, 1:]].sum(1)
        #: (N, L, V) π_ref's next-token logits after each prefix of each sequence
        self.ref_token_logits = np.concatenate(
            [np.broadcast_to(first, (len(seq), 1, vocab)), trans[seq[:, :-1]]], axis=1
        )
        self.ref_policy = np.exp(self.log_probs("on"))

    # -------------------------------------------------------------- sources
    def log_probs(self, source: str) -> np.ndarray:
        """(N,) ln probability of every sequence under the ``source`` chain (nats)."""
        first, trans = self._chain(source)
        seq = self.outcomes
        lp = log_softmax(first)[seq[:, 0]]
        return lp + log_softmax(trans)[seq[:, :-1], seq[:, 1:]].sum(1)

    def _chain(self, source: str) -> tuple[np.ndarray, np.ndarray]:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        return self.chains[source]

    def preference_pairs(
        self, source: str = "on", n: int = 512, seed: int | None = None
    ) -> dict[str, np.ndarray]:
        """``n`` chosen/rejected pairs from the ``source`` chain.

        Per pair: y from the chain; y' shares y's first k tokens (k uniform in 0..L−1)
        and continues from the chain, redrawn until y' ≠ y; one oracle judgement
        decides which is chosen. Returns the plugins' pair arrays: ``prompt`` (all 0),
        ``y`` (chosen), ``y2`` (rejected), ``r``, ``r2`` (their scores),
        ``first_preferred`` (all True) and ``shared`` (k, tokens).

        Raises:
            ValueError: an unknown source, n < 1.
        """
        first, trans = self._chain(source)
        n = check_pair_count(n)
        rng = np.random.default_rng(seed)
        p_first, p_trans = np.exp(log_softmax(first)), np.exp(log_softmax(trans))

        def continue_from(prefix: list[int]) -> list[int]:
            seq = list(prefix)
            while len(seq) < self.length:
                p = p_first if not seq else p_trans[seq[-1]]
                seq.append(int(rng.choice(self.vocab, p=p)))
            return seq

        rows = []
        for _ in range(n):
            y = continue_from([])
            k = int(rng.integers(self.length))
            y2 = continue_from(y[:k])
            while y2 == y:
                y2 = continue_from(y[:k])
            a, b = self.outcome_index([y, y2])
            prefer_first = rng.random() < 1 / (1 + np.exp(self.rewards[b] - self.rewards[a]))
            rows.append((a, b, k) if prefer_first else (b, a, k))
        arr = np.array(rows, dtype=np.int64)
        pairs = self.pair_arrays(arr[:, 0], arr[:, 1], np.ones(n, dtype=bool))
        return {**pairs, "shared": arr[:, 2]}
