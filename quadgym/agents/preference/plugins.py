"""Offline preference and policy-gradient plugins over enumerable outcomes (PyTorch).

CoPG, IPO, DPO (and its variants), SLiC, naive off-policy policy gradient and
on-policy RLOO, as in Flet-Berliac et al. 2024 (Contrastive Policy Gradient).
They train a softmax policy over the outcomes an environment enumerates (the
arms of ``CoPGBandit-v0``, the token sequences of ``CoPGSequence-v0``, the
responses to each prompt of ``PreferenceToy-v0``) from a dataset of pairs the
environment samples, and measure it exactly. What differs between those envs
(dataset, π_ref, network, metrics, acting) is in ``problems`` (chosen by the
env's capabilities), the networks in ``nets``, the per-pair objectives in
``losses`` (re-exported here), the configs in ``config`` (all in this package).

Notation: ρ(y) = ln π(y) − ln π_ref(y); R^π_β(y) = R(y) − β·ρ(y).

* ``copg``: maximise ℓ = (R^π_{β/2}(y) − R^π_{β/2}(y'))·ρ(y) + (R^π_{β/2}(y') − R^π_{β/2}(y))·ρ(y'),
  differentiated through every ρ; its gradient is
  (R^π_β(y) − R^π_β(y'))·∇ln π(y) + (R^π_β(y') − R^π_β(y))·∇ln π(y').
* ``ipo``: minimise (ρ(y_w) − ρ(y_l) − 1/(2β))² on Bradley–Terry labelled pairs.
* ``dpo``: minimise −ln σ(β·(ρ(y_w) − ρ(y_l))) on the same labels; ``dpo_flex`` with
  β⁺ on the chosen and β⁻ on the rejected term; ``dpo_sft`` plus λ·(−ln π(y_w)).
* ``slic``: minimise max(0, δ − ln π(y_w) + ln π(y_l)).
* ``pg``: the naive policy gradient on the off-policy samples, R^π_β(y)·∇ln π(y)
  (R^π_β held constant), with ``baseline="none"`` or ``"value"`` (the exact
  E_π[R] subtracted). Off-policy both are biased: E_μ[b·∇ln π] ≠ 0 for μ ≠ π.
  (Subtracting the regularised value J(π) = E_π[R^π_β] instead would make π*
  a fixed point for any μ, since R^{π*}_β is constant; the paper's baseline
  is the plain value.)
* ``rloo``: on-policy REINFORCE with a leave-one-out baseline on R^π_β, sampling
  from the current policy (it ignores the dataset's outcomes, not its size).

The budget is in epochs (passes over the dataset); ``learn`` makes one record
per epoch: ``epoch`` (= ``step``, the epochs done), ``loss`` (mean over the
epoch's batches) and the problem's metrics (``regret``, ``kl_to_optimal``,
``policy`` on the CoPG envs; ``chosen``, ``rejected``, ``unseen``,
``grad_chosen``, ``grad_rejected`` on PreferenceToy-v0).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from quadgym.agents.base import Algorithm, BudgetUnit
from quadgym.agents.capabilities import EnumerableOutcomes, PromptedPreferences
from quadgym.agents.checkpoint import read_checkpoint, write_checkpoint
from quadgym.agents.preference.config import (
    ContrastiveConfig,
    DPOFlexConfig,
    DPOSFTConfig,
    PGConfig,
    PreferenceConfig,
    SLiCConfig,
)
from quadgym.agents.preference.losses import (
    copg_objective,
    dpo_flex_loss,
    dpo_loss,
    ipo_fixed_point,
    ipo_loss,
    slic_loss,
)
from quadgym.agents.preference.problems import (
    EnumerableProblem,
    PairLoss,
    Problem,
    PromptedProblem,
    TokenProblem,
    choose_problem,
)
from quadgym.agents.schedule import lr_schedule, refresh

__all__ = [
    "RLOO",
    "SLiC",
    "CoPG",
    "ContrastiveAlgorithm",
    "DPO",
    "DPOFlex",
    "DPOSFT",
    "IPO",
    "PolicyGradient",
    "PreferenceLoss",
    "copg_objective",
    "dpo_flex_loss",
    "dpo_loss",
    "ipo_fixed_point",
    "ipo_loss",
    "slic_loss",
]

Tensor = torch.Tensor


class ContrastiveAlgorithm(Algorithm):
    """Shared machinery: the problem, the policy, the Adam loop, checkpoints.

    Subclasses define :meth:`batch_loss`. ``problems`` lists the kinds of env the
    plugin can train on, most specific first; ``requires`` must be met by any env
    that one of them accepts.

    Attributes:
        problem: the env's kind with its dataset and rewards (chosen by capability).
        beta, lr, batch_size, schedule: the config's values, the env's defaults filled in.
        policy, ref: the network and ln π_ref, (P, N).
        epochs_done: epochs trained (the budget consumed; survives save/load).
    """

    Config: ClassVar[type[ContrastiveConfig]] = ContrastiveConfig
    budget_unit = BudgetUnit.EPOCHS
    headline = ("loss", "min")  # besides it, the problem's metrics (env-dependent)
    #: quadgym's ids it trains on; built directly, any env with ``requires`` qualifies
    supported_envs: ClassVar[tuple[str, ...]] = ("CoPGBandit-v0", "CoPGSequence-v0")
    requires: ClassVar[tuple[type | tuple[type, ...], ...]] = (EnumerableOutcomes,)
    problems: ClassVar[tuple[type[Problem], ...]] = (TokenProblem, EnumerableProblem)

    config: ContrastiveConfig

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        c = self.config
        self.task = self.env.unwrapped
        self.problem = choose_problem(self.task, self.problems)(self.task, c)
        self.beta = self.problem.beta
        self.lr = self.problem.default_lr if c.lr is None else c.lr
        self.batch_size = self.problem.default_batch_size if c.batch_size is None else c.batch_size
        self.schedule = self.problem.default_schedule if c.schedule is None else c.schedule
        self.gen = torch.Generator().manual_seed(c.seed)
        with torch.random.fork_rng(devices=[]):  # seeds the init without touching the caller's
            torch.manual_seed(c.seed)
            self.policy = self.problem.make_policy(c)
        self.ref = self.problem.reference(self.policy)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.lr)
        self.epochs_done = 0
        self._call_end = 0  # epochs_done at the end of the current learn() call
        self.scheduler = lr_schedule(self.optimizer, self.schedule, self._horizon)

    @property
    def data(self) -> dict:
        """The pair dataset (numpy arrays ``prompt``, ``y``, ``y2``, ``r``, ``r2``,
        ``first_preferred``)."""
        return self.problem.data

    @property
    def rewards(self) -> Tensor:
        """(P, N) reward of every (prompt, outcome)."""
        return self.problem.rewards

    @property
    def progress(self) -> int:
        """Epochs trained."""
        return self.epochs_done

    def _horizon(self) -> int:
        """Epochs over which the cosine schedule decays: the config's, else the end of
        the current learn() call."""
        return self.config.horizon or self._call_end

    # -------------------------------------------------------------- learning
    @abc.abstractmethod
    def batch_loss(self, idx: Tensor, lp_all: Tensor) -> Tensor:
        """Per-pair losses of the pairs ``idx`` given ln π of every outcome (P, N)."""

    def _learn(self, budget: int, emit: Callable[[dict], None]) -> None:
        """``budget`` epochs of shuffled mini-batches; one record per epoch."""
        n = len(self.data["y"])
        self._call_end = self.epochs_done + budget
        refresh(self.scheduler)
        for _ in range(budget):
            losses = []
            order = torch.randperm(n, generator=self.gen)
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                loss = self.batch_loss(idx, self.policy.log_probs()).mean()
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                losses.append(loss.item())
            self.scheduler.step()
            self.epochs_done += 1
            emit({"epoch": self.epochs_done, "loss": float(np.mean(losses)), **self.evaluate()})

    def metric_loss(self) -> PairLoss | None:
        """The per-pair loss whose gradients the prompted problem records (None: none)."""
        return None

    def distribution(self) -> np.ndarray:
        """The policy's exact distribution: (N,) on the CoPG envs, (P, N) with prompts."""
        return self.problem.distribution(self.policy)

    def evaluate(self) -> dict[str, Any]:
        """The problem's metrics of the current policy (see the module docstring)."""
        return self.problem.evaluate(self.policy, self.ref, self.metric_loss())

    # --------------------------------------------------------------- acting
    def act(self, observation: Any, deterministic: bool = True) -> int:
        """The most likely action (arm, next token, response), or one sampled with
        the plugin's generator (which the batch order also draws from)."""
        p = self.problem.action_probs(self.policy, observation)
        if deterministic:
            return int(np.argmax(p))
        return int(torch.multinomial(torch.as_tensor(p), 1, generator=self.gen))

    # ---------------------------------------------------------- checkpoints
    def save(self, path: str | Path) -> None:
        write_checkpoint(
            self,
            path,
            {
                "policy": self.policy.state_dict(),
                "ref": self.ref,
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "epochs_done": self.epochs_done,
                "generator": self.gen.get_state(),
            },
        )

    def load(self, path: str | Path) -> None:
        ckpt = read_checkpoint(self, path)
        self.policy.load_state_dict(ckpt["policy"])
        self.ref = ckpt["ref"]
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.epochs_done = ckpt["epochs_done"]
        if "scheduler" in ckpt:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        else:  # written before the scheduler was saved: it only counted epochs
            self.scheduler.last_epoch = self.epochs_done
        self.gen.set_state(ckpt["generator"])

    # --------------------------------------------------------------- helpers
    def _pair(self, idx: Tensor, lp_all: Tensor) -> tuple[Tensor, ...]:
        """(ln π, ln π, ln π_ref, ln π_ref, R, R) of y and y' of the pairs ``idx``."""
        d = self.problem.tensors
        x, y, y2 = d["prompt"][idx], d["y"][idx], d["y2"][idx]
        return (
            lp_all[x, y],
            lp_all[x, y2],
            self.ref[x, y],
            self.ref[x, y2],
            d["r"][idx],
            d["r2"][idx],
        )

    def _labelled(self, idx: Tensor, lp_all: Tensor) -> tuple[Tensor, ...]:
        """(ln π, ln π_ref) of winners and losers of the pairs ``idx`` under the labels."""
        d = self.problem.tensors
        x, first = d["prompt"][idx], d["first_preferred"][idx]
        w = torch.where(first, d["y"][idx], d["y2"][idx])
        lo = torch.where(first, d["y2"][idx], d["y"][idx])
        return lp_all[x, w], lp_all[x, lo], self.ref[x, w], self.ref[x, lo]


class CoPG(ContrastiveAlgorithm):
    """Contrastive Policy Gradient: converges to π* from off-policy pairs."""

    name = "copg"

    def batch_loss(self, idx: Tensor, lp_all: Tensor) -> Tensor:
        return -copg_objective(*self._pair(idx, lp_all), self.beta)


class PreferenceLoss(ContrastiveAlgorithm):
    """A loss on labelled (winner, loser) pairs; subclasses define :meth:`pair_loss`.

    Runs on the CoPG envs and on prompted preferences (PreferenceToy-v0).
    """

    Config: ClassVar[type[ContrastiveConfig]] = PreferenceConfig
    supported_envs: ClassVar[tuple[str, ...]] = (
        "CoPGBandit-v0",
        "CoPGSequence-v0",
        "PreferenceToy-v0",
        "PreferenceTokens-v0",
    )
    requires: ClassVar[tuple[type | tuple[type, ...], ...]] = (
        (EnumerableOutcomes, PromptedPreferences),
    )
    problems: ClassVar[tuple[type[Problem], ...]] = (
        PromptedProblem,
        TokenProblem,
        EnumerableProblem,
    )

    @abc.abstractmethod
    def pair_loss(self, lp_w: Tensor, lp_l: Tensor, ref_w: Tensor, ref_l: Tensor) -> Tensor:
        """Per-pair loss from ln π and ln π_ref of the chosen and rejected responses."""

    def batch_loss(self, idx: Tensor, lp_all: Tensor) -> Tensor:
        return self.pair_loss(*self._labelled(idx, lp_all))

    def metric_loss(self) -> PairLoss | None:
        return self.pair_loss


class IPO(PreferenceLoss):
    """Identity Preference Optimisation on Bradley–Terry labels."""

    name = "ipo"

    def pair_loss(self, lp_w: Tensor, lp_l: Tensor, ref_w: Tensor, ref_l: Tensor) -> Tensor:
        return ipo_loss(lp_w - ref_w, lp_l - ref_l, self.beta)


class DPO(PreferenceLoss):
    """Direct Preference Optimisation on Bradley–Terry labels."""

    name = "dpo"

    def pair_loss(self, lp_w: Tensor, lp_l: Tensor, ref_w: Tensor, ref_l: Tensor) -> Tensor:
        return dpo_loss(lp_w - ref_w, lp_l - ref_l, self.beta)


class DPOFlex(PreferenceLoss):
    """DPO with β⁺ (``beta_plus``) on the chosen term and β⁻ (``beta_minus``) on the
    rejected term, each ``beta`` unless given."""

    name = "dpo_flex"
    Config: ClassVar[type[ContrastiveConfig]] = DPOFlexConfig
    config: DPOFlexConfig

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        c = self.config
        self.beta_plus = self.beta if c.beta_plus is None else c.beta_plus
        self.beta_minus = self.beta if c.beta_minus is None else c.beta_minus

    def pair_loss(self, lp_w: Tensor, lp_l: Tensor, ref_w: Tensor, ref_l: Tensor) -> Tensor:
        return dpo_flex_loss(lp_w - ref_w, lp_l - ref_l, self.beta_plus, self.beta_minus)


class DPOSFT(PreferenceLoss):
    """DPO plus ``sft_weight`` (λ) times the negative log-likelihood of the chosen
    response."""

    name = "dpo_sft"
    Config: ClassVar[type[ContrastiveConfig]] = DPOSFTConfig
    config: DPOSFTConfig

    def pair_loss(self, lp_w: Tensor, lp_l: Tensor, ref_w: Tensor, ref_l: Tensor) -> Tensor:
        dpo = dpo_loss(lp_w - ref_w, lp_l - ref_l, self.beta)
        return dpo - self.config.sft_weight * lp_w


class SLiC(PreferenceLoss):
    """SLiC's hinge on the log-likelihood margin ``delta`` (δ); no reference."""

    name = "slic"
    Config: ClassVar[type[ContrastiveConfig]] = SLiCConfig
    config: SLiCConfig

    def pair_loss(self, lp_w: Tensor, lp_l: Tensor, ref_w: Tensor, ref_l: Tensor) -> Tensor:
        return slic_loss(lp_w, lp_l, self.config.delta)


class PolicyGradient(ContrastiveAlgorithm):
    """Naive off-policy policy gradient on both members of every pair, with
    ``baseline`` ``"none"`` or ``"value"`` (the exact E_π[R] subtracted)."""

    name = "pg"
    Config: ClassVar[type[ContrastiveConfig]] = PGConfig
    config: PGConfig

    def batch_loss(self, idx: Tensor, lp_all: Tensor) -> Tensor:
        lp, lp2, ref, ref2, r, r2 = self._pair(idx, lp_all)
        with torch.no_grad():
            adv = r - self.beta * (lp - ref)
            adv2 = r2 - self.beta * (lp2 - ref2)
            if self.config.baseline == "value":
                value = (torch.exp(lp_all[0]) * self.rewards[0]).sum()
                adv, adv2 = adv - value, adv2 - value
        return -(adv * lp + adv2 * lp2)


class RLOO(ContrastiveAlgorithm):
    """On-policy REINFORCE leave-one-out on R^π_β; each epoch draws as many samples
    from the current policy as the dataset has responses."""

    name = "rloo"

    def batch_loss(self, idx: Tensor, lp_all: Tensor) -> Tensor:
        k = 2 * len(idx)
        lp, ref, rewards = lp_all[0], self.ref[0], self.rewards[0]
        with torch.no_grad():
            y = torch.multinomial(torch.exp(lp), k, replacement=True, generator=self.gen)
            reward = rewards[y] - self.beta * (lp[y] - ref[y])
            adv = reward - (reward.sum() - reward) / (k - 1)
        return -(adv * lp[y])
