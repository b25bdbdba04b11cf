"""The two kinds of env the contrastive plugins train on, one class per capability.

A plugin lists the :class:`Problem` classes it can solve; the first whose
capability protocol the env satisfies is chosen once, at construction, and
owns everything that depends on the kind of env:

* :class:`EnumerableProblem` (:class:`EnumerableOutcomes`: ``CoPGBandit-v0``):
  one prompt, outcomes with exact rewards; an off-policy pair dataset drawn
  from behaviour distributions μ1, μ2; a tabular policy; evaluation by exact
  regret and KL to π*.
* :class:`TokenProblem` (:class:`TokenOutcomes`: ``CoPGSequence-v0``): the same,
  with outcomes that are token sequences and an autoregressive policy that
  acts one token at a time.
* :class:`PromptedProblem` (:class:`PromptedPreferences`: ``PreferenceToy-v0``):
  prompts × responses with a preference oracle; a chosen/rejected dataset; a
  prompt MLP fitted to the initial model, which is also π_ref; evaluation by the
  probability mass on the chosen, rejected and unseen responses and by the loss's
  gradient with respect to the chosen and rejected probabilities.

Each also gives the env-dependent defaults of :class:`ContrastiveConfig`'s
``None`` settings (β, lr, batch size, schedule, hidden units).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from quadgym.agents.capabilities import (
    EnumerableOutcomes,
    PromptedPreferences,
    TokenOutcomes,
    satisfies,
)
from quadgym.agents.preference.config import ContrastiveConfig, PreferenceConfig
from quadgym.agents.preference.nets import AutoregressivePolicy, PromptMLPPolicy, TabularPolicy
from quadgym.agents.schedule import Schedule
from quadgym.envs.outcomes import check_beta

#: the arrays of a pair dataset, one entry per pair
DATA_KEYS = ("prompt", "y", "y2", "r", "r2", "first_preferred")

#: per-pair loss from (ln π(y_w), ln π(y_l), ln π_ref(y_w), ln π_ref(y_l))
PairLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def check_data(data: dict) -> dict:
    """``data`` if it is a usable pair dataset.

    Raises:
        ValueError: a missing array, arrays of different lengths, or no pair at all.
    """
    lacking = [k for k in DATA_KEYS if k not in data]
    if lacking:
        raise ValueError(f"the dataset lacks {', '.join(lacking)}; it needs {', '.join(DATA_KEYS)}")
    sizes = {k: len(data[k]) for k in DATA_KEYS}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"the dataset's arrays differ in length: {sizes}")
    if sizes["y"] == 0:
        raise ValueError("the dataset is empty; an offline algorithm needs at least one pair")
    return data


class Problem(abc.ABC):
    """An env of one kind with its pair dataset, rewards and reference policy.

    Attributes:
        task: the env (``env.unwrapped``).
        beta: the resolved KL weight (reward units per nat).
        data: the pair dataset (numpy arrays, see :data:`DATA_KEYS`).
        tensors: the same as torch tensors, for indexing batches.
        rewards: (P, N) reward of every (prompt, outcome).
    """

    #: the capability the env must have for this problem
    protocol: ClassVar[type]
    default_lr: ClassVar[float]
    default_batch_size: ClassVar[int]
    default_schedule: ClassVar[Schedule]
    default_hidden: ClassVar[int | None] = None

    def __init__(self, task: Any, config: ContrastiveConfig) -> None:
        self.task = task
        self.beta = check_beta(self.default_beta() if config.beta is None else config.beta)
        self.data = check_data(self.build_data(config) if config.data is None else config.data)
        self.tensors = {k: torch.as_tensor(np.asarray(self.data[k])) for k in DATA_KEYS}
        self.rewards = self.reward_table()

    def hidden(self, config: ContrastiveConfig) -> int | None:
        """Hidden units of the policy network (None for a network without)."""
        return self.default_hidden if config.hidden is None else config.hidden

    @abc.abstractmethod
    def default_beta(self) -> float:
        """β when the config leaves it None."""

    @abc.abstractmethod
    def build_data(self, config: ContrastiveConfig) -> dict:
        """The pair dataset the config describes (drawn with ``config.seed``)."""

    @abc.abstractmethod
    def reward_table(self) -> torch.Tensor:
        """(P, N) reward of every (prompt, outcome)."""

    @abc.abstractmethod
    def make_policy(self, config: ContrastiveConfig) -> nn.Module:
        """A fresh policy network (seed torch's global generator first)."""

    @abc.abstractmethod
    def reference(self, policy: nn.Module) -> torch.Tensor:
        """(P, N) ln π_ref, given the freshly made ``policy``."""

    def distribution(self, policy: nn.Module) -> np.ndarray:
        """The policy's exact distribution: (P, N) over every prompt's outcomes."""
        with torch.no_grad():
            p = torch.exp(policy.log_probs()).numpy()
        return p / p.sum(axis=-1, keepdims=True)

    @abc.abstractmethod
    def evaluate(
        self, policy: nn.Module, ref: torch.Tensor, pair_loss: PairLoss | None
    ) -> dict[str, Any]:
        """The metrics recorded after each epoch."""

    @abc.abstractmethod
    def action_probs(self, policy: nn.Module, observation: Any) -> np.ndarray:
        """The distribution of the next action given the env's ``observation``."""


class EnumerableProblem(Problem):
    """One prompt, outcomes with exact rewards (arms); see the module docstring."""

    protocol = EnumerableOutcomes
    default_lr = 0.01
    default_batch_size = 512
    default_schedule = "cosine"

    def default_beta(self) -> float:
        return self.task.beta

    def build_data(self, config: ContrastiveConfig) -> dict:
        mu1, mu2 = self.behaviour(config)
        return self.task.sample_pairs(mu1, mu2, config.n_pairs, seed=config.seed)

    def behaviour(self, config: ContrastiveConfig) -> tuple[np.ndarray, np.ndarray]:
        """(μ1, μ2): the config's, the paper's on 3 outcomes, else two fixed random ones
        with full support."""
        if config.mu1 is not None and config.mu2 is not None:
            return np.asarray(config.mu1, float), np.asarray(config.mu2, float)
        n = self.task.num_outcomes
        if n == 3:
            return np.array([0.1, 0.2, 0.7]), np.array([0.05, 0.05, 0.9])
        rng = np.random.default_rng(12345)
        return rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))

    def reward_table(self) -> torch.Tensor:
        return torch.as_tensor(self.task.rewards, dtype=torch.float64)[None]

    def make_policy(self, config: ContrastiveConfig) -> nn.Module:
        return TabularPolicy(self.task.ref_policy)

    def reference(self, policy: nn.Module) -> torch.Tensor:
        return torch.log(torch.as_tensor(self.task.ref_policy, dtype=torch.float64))[None]

    def distribution(self, policy: nn.Module) -> np.ndarray:
        """(N,): one prompt."""
        return super().distribution(policy)[0]

    def evaluate(
        self, policy: nn.Module, ref: torch.Tensor, pair_loss: PairLoss | None
    ) -> dict[str, Any]:
        """``regret`` (J(π*) − J(π), reward units), ``kl_to_optimal`` (KL(π‖π*), nats)
        and ``policy`` (the exact distribution, a list)."""
        pi = self.distribution(policy)
        opt = self.task.optimal_policy(self.beta)
        return {
            "regret": self.task.regret(pi, self.beta),
            "kl_to_optimal": float(np.sum(pi * (np.log(pi) - np.log(opt)))),
            "policy": pi.tolist(),
        }

    def action_probs(self, policy: nn.Module, observation: Any) -> np.ndarray:
        """The distribution over arms (the observation carries nothing)."""
        return self.distribution(policy)


class TokenProblem(EnumerableProblem):
    """Enumerable outcomes that are token sequences, generated token by token."""

    protocol = TokenOutcomes
    default_hidden = 128

    def make_policy(self, config: ContrastiveConfig) -> nn.Module:
        """The autoregressive policy, started at the env's π_ref when the env gives its
        next-token logits (``ref_token_logits``), else uniform."""
        base = getattr(self.task, "ref_token_logits", None)
        return AutoregressivePolicy(self.task.outcomes, self.task.vocab, self.hidden(config), base)

    def action_probs(self, policy: nn.Module, observation: Any) -> np.ndarray:
        """The next token's distribution after the padded prefix ``observation``."""
        with torch.no_grad():
            return torch.exp(policy.next_token_log_probs(observation)).numpy()


class PromptedProblem(Problem):
    """Prompts × responses with a preference oracle; see the module docstring."""

    protocol = PromptedPreferences
    default_lr = 1e-3
    default_batch_size = 64
    default_schedule = "constant"
    default_hidden = 16

    def __init__(self, task: Any, config: ContrastiveConfig) -> None:
        super().__init__(task, config)
        #: (P, R): 1 chosen, 2 rejected, 0 unseen in the dataset
        self.sets = task.response_sets(self.data)

    def default_beta(self) -> float:
        return 0.1

    def build_data(self, config: ContrastiveConfig) -> dict:
        c = _preference(config)
        return self.task.preference_dataset(c.chosen, c.rejected, c.pairs_per_prompt, seed=c.seed)

    def reward_table(self) -> torch.Tensor:
        return torch.as_tensor(self.task.scores, dtype=torch.float64)

    def make_policy(self, config: ContrastiveConfig) -> nn.Module:
        """A prompt MLP fitted to the env's initial model (3000 Adam steps)."""
        c = _preference(config)
        policy = PromptMLPPolicy(
            self.task.num_prompts,
            self.task.num_responses,
            hidden=self.hidden(c),
            rank=c.rank,
            seed=c.seed,
        )
        policy.fit(self.task.ref_policy)
        return policy

    def reference(self, policy: nn.Module) -> torch.Tensor:
        """The fitted initial model is π_ref."""
        with torch.no_grad():
            return policy.log_probs().detach().clone()

    def evaluate(
        self, policy: nn.Module, ref: torch.Tensor, pair_loss: PairLoss | None
    ) -> dict[str, Any]:
        """``chosen``, ``rejected``, ``unseen`` (probability mass on each set, mean over
        prompts) and, with a ``pair_loss``, ``grad_chosen``, ``grad_rejected``."""
        pi = self.distribution(policy)
        masses = {
            name: float(pi[self.sets == k].sum() / self.task.num_prompts)
            for k, name in ((1, "chosen"), (2, "rejected"), (0, "unseen"))
        }
        if pair_loss is None:
            return masses
        return {**masses, **self.gradient_magnitudes(policy, ref, pair_loss)}

    def gradient_magnitudes(
        self, policy: nn.Module, ref: torch.Tensor, pair_loss: PairLoss
    ) -> dict[str, float]:
        """Mean |∂loss/∂π(y)| over the dataset for chosen and rejected responses,
        treating the two probabilities of each pair as free variables."""
        with torch.no_grad():
            lp = policy.log_probs()
        x, y, y2 = self.tensors["prompt"], self.tensors["y"], self.tensors["y2"]
        p_w = torch.exp(lp[x, y]).requires_grad_()
        p_l = torch.exp(lp[x, y2]).requires_grad_()
        loss = pair_loss(torch.log(p_w), torch.log(p_l), ref[x, y], ref[x, y2])
        g_w, g_l = torch.autograd.grad(loss.sum(), (p_w, p_l))
        return {"grad_chosen": g_w.abs().mean().item(), "grad_rejected": g_l.abs().mean().item()}

    def action_probs(self, policy: nn.Module, observation: Any) -> np.ndarray:
        """The response distribution for the prompt ``observation``."""
        return self.distribution(policy)[int(observation)]


def _preference(config: ContrastiveConfig) -> PreferenceConfig:
    """``config`` if it has PreferenceToy-v0's settings (dataset sources, rank)."""
    if not isinstance(config, PreferenceConfig):
        got = type(config).__name__
        raise TypeError(f"prompted preferences need a PreferenceConfig, got {got}")
    return config


def choose_problem(task: Any, problems: Sequence[type[Problem]]) -> type[Problem]:
    """The first of ``problems`` whose capability ``task`` has.

    Raises:
        ValueError: ``task`` has none of them (the plugin's ``requires`` should have
            refused it already).
    """
    for problem in problems:
        if satisfies(task, problem.protocol):
            return problem
    names = " or ".join(p.protocol.__name__ for p in problems)
    raise ValueError(f"{type(task).__name__} is not an env with {names}")
