"""Softmax policies over enumerable outcomes, for the preference plugins (PyTorch, float64).

Each network returns ``log_probs(prompts)``: the log-probability of every outcome,
(P, N) for all prompts or (B, N) for a batch of prompt indices, so that a loss
can index any pair and the exact distribution is always at hand.

* :class:`TabularPolicy`: one free logit per (prompt, outcome) — the arms of
  ``CoPGBandit-v0``.
* :class:`AutoregressivePolicy`: a next-token MLP, ln π(y) = Σ_t ln p(y_t | y_<t) —
  the token sequences of ``CoPGSequence-v0``.
* :class:`PromptMLPPolicy`: a prompt MLP with a low-rank response embedding —
  ``PreferenceToy-v0``, whose shared parameters let an update on one response
  move the others.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import nn


class TabularPolicy(nn.Module):
    """One free logit per (prompt, outcome), initialised at π_ref."""

    def __init__(self, ref_policy: np.ndarray, num_prompts: int = 1) -> None:
        super().__init__()
        init = torch.log(torch.as_tensor(ref_policy, dtype=torch.float64))
        self.logits = nn.Parameter(init.expand(num_prompts, -1).clone())

    def log_probs(self, prompts: torch.Tensor | None = None) -> torch.Tensor:
        """(P, N) log-probabilities of every outcome, or (B, N) for ``prompts`` (B,)."""
        lp = torch.log_softmax(self.logits, dim=-1)
        return lp if prompts is None else lp[prompts]


class AutoregressivePolicy(nn.Module):
    """A small MLP that predicts the next token from the one-hot prefix.

    ln π(y) = Σ_t ln p(y_t | y_<t); evaluated for every outcome at once by
    encoding all N·L prefixes. The last layer starts at zero, so the initial
    policy is uniform over tokens, i.e. π_ref; or, given ``base_logits`` (N, L, V),
    π_ref's next-token logits after every prefix, the network's output is added to
    them and the initial policy is that π_ref exactly. The first layer takes torch's
    default initialisation from the global generator (seed it first).
    """

    def __init__(
        self,
        outcomes: np.ndarray,
        vocab: int,
        hidden: int = 128,
        base_logits: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        n, length = outcomes.shape
        self.vocab, self.length = vocab, length
        seq = torch.as_tensor(outcomes, dtype=torch.long)
        # prefixes[i, t] = outcome i's first t tokens, padded with `vocab`
        prefixes = torch.full((n, length, length), vocab, dtype=torch.long)
        for t in range(length):
            prefixes[:, t, :t] = seq[:, :t]
        one_hot = nn.functional.one_hot(prefixes, vocab + 1).to(torch.float64)
        self.register_buffer("inputs", one_hot.reshape(n, length, -1))
        self.register_buffer("targets", seq)
        self.net = nn.Sequential(
            nn.Linear(length * (vocab + 1), hidden), nn.Tanh(), nn.Linear(hidden, vocab)
        ).to(torch.float64)
        nn.init.zeros_(self.net[2].weight)
        nn.init.zeros_(self.net[2].bias)
        base = None
        if base_logits is not None:
            base = torch.as_tensor(np.asarray(base_logits), dtype=torch.float64)
            if base.shape != (n, length, vocab):
                got = tuple(base.shape)
                raise ValueError(f"base_logits must have shape {(n, length, vocab)}, got {got}")
        self.register_buffer("base", base)  # None: not in the state dict

    def next_token_log_probs(self, prefix: np.ndarray) -> torch.Tensor:
        """(V,) log-probabilities of the next token after a padded prefix (L,)."""
        prefix = torch.as_tensor(prefix, dtype=torch.long)
        x = nn.functional.one_hot(prefix, self.vocab + 1)
        logits = self.net(x.to(torch.float64).reshape(1, -1))[0]
        if self.base is not None:
            t = int((prefix < self.vocab).sum())
            # the base after this prefix: that of any sequence which starts with it
            match = (self.targets[:, :t] == prefix[:t]).all(-1).nonzero()[0, 0]
            logits = logits + self.base[match, t]
        return torch.log_softmax(logits, dim=-1)

    def log_probs(self, prompts: torch.Tensor | None = None) -> torch.Tensor:
        """(1, N) log-probabilities of every sequence (one prompt), or (B, N)."""
        logits = self.net(self.inputs)  # (N, L, V)
        tok = torch.log_softmax(logits if self.base is None else logits + self.base, dim=-1)
        lp = tok.gather(-1, self.targets[..., None])[..., 0].sum(-1)[None]  # (1, N)
        return lp if prompts is None else lp.expand(len(prompts), -1)


class PromptMLPPolicy(nn.Module):
    """Logits over responses from a one-hot prompt through a shared hidden layer.

    Parameters are shared across prompts, which is what lets a DPO update on
    one response move the others: a tabular per-prompt softmax cannot show the
    chosen likelihood falling, since DPO's gradient then raises π⁺ monotonically.
    ``hidden`` tanh units feed a ``rank``-dimensional bottleneck, the response
    embedding (similar texts share features in a language model).
    """

    def __init__(
        self, num_prompts: int, num_responses: int, hidden: int = 16, rank: int = 2, seed: int = 0
    ) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("prompts_one_hot", torch.eye(num_prompts, dtype=torch.float64))
        self.net = nn.Sequential(
            nn.Linear(num_prompts, hidden),
            nn.Tanh(),
            nn.Linear(hidden, rank),
            nn.Linear(rank, num_responses),
        ).to(torch.float64)
        with torch.no_grad():
            for param in self.net.parameters():
                param.copy_(torch.randn(param.shape, generator=g, dtype=torch.float64) * 0.5)

    def log_probs(self, prompts: torch.Tensor | None = None) -> torch.Tensor:
        """(P, R) log-probabilities of every response, or (B, R) for ``prompts`` (B,)."""
        lp = torch.log_softmax(self.net(self.prompts_one_hot), dim=-1)
        return lp if prompts is None else lp[prompts]

    def fit(self, target: np.ndarray, steps: int = 3000, lr: float = 0.01) -> float:
        """Supervised fit to the distributions ``target`` (P, R) by minimising
        KL(target‖π) with Adam; returns the final mean KL (nats).

        The fit is deterministic in the starting weights, the target and the settings,
        so its result is remembered for the process: every plugin built for the same
        env and seed starts from the same fitted model without refitting it.
        """
        t = torch.as_tensor(target, dtype=torch.float64)
        key = hashlib.sha256(t.numpy().tobytes() + repr((t.shape, steps, lr)).encode())
        for param in self.state_dict().values():
            key.update(param.numpy().tobytes())
        cached = _FITTED.get(key.digest())
        if cached is not None:
            self.load_state_dict(cached[0])
            return cached[1]
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        for _ in range(steps):
            kl = (t * (torch.log(t) - self.log_probs())).sum(-1).mean()
            opt.zero_grad()
            kl.backward()
            opt.step()
        if len(_FITTED) >= 64:
            _FITTED.pop(next(iter(_FITTED)))
        _FITTED[key.digest()] = ({k: v.clone() for k, v in self.state_dict().items()}, kl.item())
        return kl.item()


#: fitted weights and final KL of :meth:`PromptMLPPolicy.fit`, by a digest of its inputs
_FITTED: dict[bytes, tuple[dict[str, torch.Tensor], float]] = {}
