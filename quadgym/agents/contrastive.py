"""Offline preference and policy-gradient plugins over enumerable outcomes (PyTorch).

CoPG, IPO, DPO, naive off-policy policy gradient and on-policy RLOO, as in
Flet-Berliac et al. 2024 (Contrastive Policy Gradient). They train a softmax
policy over the outcomes an environment enumerates (the arms of
``CoPGBandit-v0``, the token sequences of ``CoPGSequence-v0``) from a
dataset of pairs the environment samples, and measure it exactly.

Notation: ρ(y) = ln π(y) − ln π_ref(y); R^π_β(y) = R(y) − β·ρ(y).

* ``copg``: maximise ℓ = (R^π_{β/2}(y) − R^π_{β/2}(y'))·ρ(y) + (R^π_{β/2}(y') − R^π_{β/2}(y))·ρ(y'),
  differentiated through every ρ; its gradient is
  (R^π_β(y) − R^π_β(y'))·∇ln π(y) + (R^π_β(y') − R^π_β(y))·∇ln π(y').
* ``ipo``: minimise (ρ(y_w) − ρ(y_l) − 1/(2β))² on Bradley–Terry labelled pairs.
* ``dpo``: minimise −ln σ(β·(ρ(y_w) − ρ(y_l))) on the same labels.
* ``pg``: the naive policy gradient on the off-policy samples, R^π_β(y)·∇ln π(y)
  (R^π_β held constant), with ``baseline="none"`` or ``"value"`` (the exact
  E_π[R] subtracted). Off-policy both are biased: E_μ[b·∇ln π] ≠ 0 for μ ≠ π.
  (Subtracting the regularised value J(π) = E_π[R^π_β] instead would make π*
  a fixed point for any μ, since R^{π*}_β is constant; the paper's baseline
  is the plain value.)
* ``rloo``: on-policy REINFORCE with a leave-one-out baseline on R^π_β, sampling
  from the current policy (it ignores the dataset).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from quadgym.agents.base import Algorithm
from quadgym.agents.checkpoint import read_checkpoint, write_checkpoint
from quadgym.envs.bandit import check_beta

# ----------------------------------------------------------------------------- policies


class TabularPolicy(nn.Module):
    """One free logit per (prompt, outcome), initialised at π_ref."""

    def __init__(self, ref_policy: np.ndarray, num_prompts: int = 1):
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
    encoding all N·L prefixes. The last layer starts at zero, so the
    initial policy is uniform over tokens, i.e. π_ref.
    """

    def __init__(self, outcomes: np.ndarray, vocab: int, hidden: int = 128):
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

    def next_token_log_probs(self, prefix: np.ndarray) -> torch.Tensor:
        """(V,) log-probabilities of the next token after a padded prefix (L,)."""
        x = nn.functional.one_hot(torch.as_tensor(prefix, dtype=torch.long), self.vocab + 1)
        return torch.log_softmax(self.net(x.to(torch.float64).reshape(1, -1)), dim=-1)[0]

    def log_probs(self, prompts: torch.Tensor | None = None) -> torch.Tensor:
        tok = torch.log_softmax(self.net(self.inputs), dim=-1)  # (N, L, V)
        lp = tok.gather(-1, self.targets[..., None])[..., 0].sum(-1)[None]  # (1, N)
        return lp if prompts is None else lp.expand(len(prompts), -1)


class PromptMLPPolicy(nn.Module):
    """Logits over responses from a one-hot prompt through a shared hidden layer.

    Parameters are shared across prompts, which is what lets a DPO update on
    one response move the others: a tabular per-prompt softmax cannot show the
    chosen likelihood falling, since DPO's gradient then raises π⁺ monotonically.
    """

    def __init__(
        self, num_prompts: int, num_responses: int, hidden: int = 16, rank: int = 2, seed: int = 0
    ):
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
        lp = torch.log_softmax(self.net(self.prompts_one_hot), dim=-1)
        return lp if prompts is None else lp[prompts]

    def fit(self, target: np.ndarray, steps: int = 3000, lr: float = 0.01) -> float:
        """Supervised fit to the distributions ``target`` (P, R) by minimising
        KL(target‖π); returns the final mean KL."""
        t = torch.as_tensor(target, dtype=torch.float64)
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        for _ in range(steps):
            kl = (t * (torch.log(t) - self.log_probs())).sum(-1).mean()
            opt.zero_grad()
            kl.backward()
            opt.step()
        return kl.item()


# ------------------------------------------------------------------------------ losses


def copg_objective(lp, lp2, ref, ref2, r, r2, beta):
    """CoPG's ℓ(y, y'; π) per pair (to be maximised), differentiable through every ρ."""
    rho, rho2 = lp - ref, lp2 - ref2
    a, a2 = r - 0.5 * beta * rho, r2 - 0.5 * beta * rho2
    return (a - a2) * rho + (a2 - a) * rho2


def ipo_loss(rho_w, rho_l, beta):
    """IPO's squared loss per labelled pair."""
    return (rho_w - rho_l - 1.0 / (2.0 * beta)) ** 2


def dpo_loss(rho_w, rho_l, beta):
    """DPO's logistic loss per labelled pair."""
    return -nn.functional.logsigmoid(beta * (rho_w - rho_l))


def dpo_flex_loss(rho_w, rho_l, beta_plus, beta_minus):
    """DPO with separate β for the chosen (β⁺) and rejected (β⁻) terms."""
    return -nn.functional.logsigmoid(beta_plus * rho_w - beta_minus * rho_l)


def slic_loss(lp_w, lp_l, delta):
    """SLiC's calibration hinge max(0, δ − ln π(y_w) + ln π(y_l))."""
    return torch.relu(delta - lp_w + lp_l)


def ipo_fixed_point(data: dict, beta: float, ref_policy: np.ndarray) -> np.ndarray:
    """The tabular policy IPO converges to on ``data``, in closed form.

    IPO's loss depends on the logits s only through differences s_w − s_l, so
    it is a least-squares problem Σ_k (s_{w_k} − s_{l_k} − 1/(2β))²; its
    minimiser (unique up to a constant) gives π = softmax(ln π_ref + s).
    """
    n = len(ref_policy)
    w, lo = _winners(data)
    a = np.zeros((len(w), n))
    a[np.arange(len(w)), w] += 1.0
    a[np.arange(len(w)), lo] -= 1.0
    s = np.linalg.lstsq(a, np.full(len(w), 1.0 / (2.0 * beta)), rcond=None)[0]
    z = np.log(ref_policy) + s
    z = np.exp(z - z.max())
    return z / z.sum()


def _winners(data: dict) -> tuple[np.ndarray, np.ndarray]:
    first = np.asarray(data["first_preferred"], dtype=bool)
    return np.where(first, data["y"], data["y2"]), np.where(first, data["y2"], data["y"])


# ------------------------------------------------------------------------------ plugins


class ContrastiveAlgorithm(Algorithm):
    """Shared machinery: dataset, policy, Adam loop, exact evaluation, checkpoints.

    Config (keyword arguments):
        beta: regularisation strength (default: the env's, 0.1 on PreferenceToy-v0).
        lr: Adam learning rate (default 0.01; 1e-3 on PreferenceToy-v0).
        batch_size: pairs per update (512, the paper's; 64 on PreferenceToy-v0).
        hidden, rank: PreferenceToy-v0's policy, a prompt MLP with ``hidden`` tanh
            units, a ``rank``-dimensional bottleneck and a response embedding
            (defaults 16 and 2: responses share a low-dimensional embedding, as
            similar texts share features in a language model).
        n_pairs: dataset size on the CoPG envs (10⁴, the paper's).
        mu1, mu2: behaviour distributions of y and y' on the CoPG envs (defaults:
            the paper's (0.1, 0.2, 0.7) and (0.05, 0.05, 0.9) on the 3-armed bandit;
            otherwise two fixed random distributions with full support).
        chosen, rejected: ``"on"`` or ``"off"``, the sources of the
            PreferenceToy-v0 dataset (default on, on); ``pairs_per_prompt`` (64).
        seed: seeds the dataset, the initialisation and the batch order.
        schedule: ``"constant"`` or ``"cosine"`` (the learning rate decays to 0 over
            ``horizon`` epochs, by default those of each ``learn`` call, so the
            iterates settle on the fixed point instead of jittering around it;
            default on the CoPG envs,
            ``constant`` on PreferenceToy-v0 whose dynamics are the point).
        data: a dataset from the env to use instead of building one.

    ``learn(budget)`` runs ``budget`` epochs (passes over the dataset) and
    returns one record per epoch: ``epoch``, ``loss``, and on the CoPG envs
    ``regret``, ``kl_to_optimal`` (KL(π‖π*)) and ``policy`` (the exact
    distribution); on PreferenceToy-v0 ``chosen``, ``rejected``, ``unseen``
    (probability mass on each set, mean over prompts) and ``grad_chosen``,
    ``grad_rejected`` (mean |∂loss/∂π| of the chosen and rejected responses).
    """

    supported_envs: ClassVar[tuple[str, ...]] = ("CoPGBandit-v0", "CoPGSequence-v0")
    uses_horizon = True

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.task = self.env.unwrapped
        c = self.config
        self.prompted = hasattr(self.task, "response_sets")
        self.beta = check_beta(c.get("beta", 0.1 if self.prompted else self.task.beta))
        self.lr = float(c.get("lr", 1e-3 if self.prompted else 0.01))
        self.batch_size = int(c.get("batch_size", 64 if self.prompted else 512))
        self.seed = int(c.get("seed", 0))
        self.schedule = c.get("schedule", "constant" if self.prompted else "cosine")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")
        if self.lr <= 0 or self.batch_size < 1:
            raise ValueError(f"need lr > 0 and batch_size >= 1, got {self.lr}, {self.batch_size}")
        torch.manual_seed(self.seed)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.data = c.get("data") or self._build_data()
        if len(self.data["y"]) == 0:
            raise ValueError("the dataset is empty; an offline algorithm needs at least one pair")
        self.policy = self._make_policy()
        # π_ref: the env's on the CoPG envs; on the prompted toy the fitted initial model
        with torch.no_grad():
            if self.prompted:
                self.ref = self.policy.log_probs().detach().clone()
                self.sets = self.task.response_sets(self.data)
            else:
                self.ref = torch.log(torch.as_tensor(self.task.ref_policy, dtype=torch.float64))
                self.ref = self.ref[None]
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.lr)
        self.rewards = torch.as_tensor(
            self.task.rewards if not self.prompted else self.task.scores, dtype=torch.float64
        ).reshape(self.ref.shape)
        self.epochs_done = 0

    def _build_data(self) -> dict:
        c = self.config
        if self.prompted:
            return self.task.preference_dataset(
                c.get("chosen", "on"),
                c.get("rejected", "on"),
                int(c.get("pairs_per_prompt", 64)),
                seed=self.seed,
            )
        return self.task.sample_pairs(
            *self._behaviour(), int(c.get("n_pairs", 10_000)), seed=self.seed
        )

    def _behaviour(self) -> tuple[np.ndarray, np.ndarray]:
        c, n = self.config, self.task.num_outcomes
        if "mu1" in c and "mu2" in c:
            return np.asarray(c["mu1"], float), np.asarray(c["mu2"], float)
        if n == 3:
            return np.array([0.1, 0.2, 0.7]), np.array([0.05, 0.05, 0.9])
        rng = np.random.default_rng(12345)
        return rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))

    def _make_policy(self) -> nn.Module:
        if self.prompted:
            policy = PromptMLPPolicy(
                self.task.num_prompts,
                self.task.num_responses,
                hidden=int(self.config.get("hidden", 16)),
                rank=int(self.config.get("rank", 2)),
                seed=self.seed,
            )
            policy.fit(self.task.ref_policy)
            return policy
        if hasattr(self.task, "vocab"):
            return AutoregressivePolicy(self.task.outcomes, self.task.vocab)
        return TabularPolicy(self.task.ref_policy)

    # -------------------------------------------------------------- learning
    def batch_loss(self, idx: torch.Tensor, lp_all: torch.Tensor) -> torch.Tensor:
        """Per-pair losses of the pairs ``idx`` given log π of every outcome (P, N)."""
        raise NotImplementedError

    def learn(self, budget: int, callback: Callable[[dict], Any] | None = None) -> list[dict]:
        n = len(self.data["y"])
        self._tensors = {k: torch.as_tensor(np.asarray(v)) for k, v in self.data.items()}
        history = []
        budget = int(budget)
        horizon = int(self.config.get("horizon") or self.epochs_done + budget)
        for _ in range(budget):
            if self.schedule == "cosine":
                frac = min(self.epochs_done / horizon, 1.0)
                for group in self.optimizer.param_groups:
                    group["lr"] = self.lr * 0.5 * (1 + np.cos(np.pi * frac))
            losses = []
            order = torch.randperm(n, generator=self.gen)
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                loss = self.batch_loss(idx, self.policy.log_probs()).mean()
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                losses.append(loss.item())
            self.epochs_done += 1
            record = {"epoch": self.epochs_done, "loss": float(np.mean(losses)), **self.evaluate()}
            history.append(record)
            if callback is not None:
                callback(record)
        return history

    def distribution(self) -> np.ndarray:
        """The policy's exact distribution over outcomes, (N,) (or (P, N) with prompts)."""
        with torch.no_grad():
            p = torch.exp(self.policy.log_probs()).numpy()
        p = p / p.sum(axis=-1, keepdims=True)
        return p if self.prompted else p[0]

    def evaluate(self) -> dict:
        pi = self.distribution()
        if self.prompted:
            return {
                **{
                    name: float(pi[self.sets == k].sum() / self.task.num_prompts)
                    for k, name in ((1, "chosen"), (2, "rejected"), (0, "unseen"))
                },
                **self.gradient_magnitudes(),
            }
        opt = self.task.optimal_policy(self.beta)
        return {
            "regret": self.task.regret(pi, self.beta),
            "kl_to_optimal": float(np.sum(pi * (np.log(pi) - np.log(opt)))),
            "policy": pi.tolist(),
        }

    def gradient_magnitudes(self) -> dict:
        """Mean |∂loss/∂π(y)| over the dataset for chosen and rejected responses,
        treating the two probabilities of each pair as free variables."""
        with torch.no_grad():
            lp = self.policy.log_probs()
        d = (
            self._tensors
            if hasattr(self, "_tensors")
            else {k: torch.as_tensor(np.asarray(v)) for k, v in self.data.items()}
        )
        x, y, y2 = d["prompt"], d["y"], d["y2"]
        p_w = torch.exp(lp[x, y]).requires_grad_()
        p_l = torch.exp(lp[x, y2]).requires_grad_()
        loss = self.pair_loss(torch.log(p_w), torch.log(p_l), self.ref[x, y], self.ref[x, y2])
        g_w, g_l = torch.autograd.grad(loss.sum(), (p_w, p_l))
        return {"grad_chosen": g_w.abs().mean().item(), "grad_rejected": g_l.abs().mean().item()}

    def pair_loss(self, lp_w, lp_l, ref_w, ref_l) -> torch.Tensor:
        """Per-pair loss from the log-probabilities of chosen and rejected responses
        (preference losses only)."""
        raise NotImplementedError

    # --------------------------------------------------------------- acting
    def act(self, observation: Any, deterministic: bool = True):
        if self.prompted:
            p = self.distribution()[int(observation)]
        elif isinstance(self.policy, TabularPolicy):
            p = self.distribution()
        else:
            with torch.no_grad():
                p = torch.exp(self.policy.next_token_log_probs(observation)).numpy()
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
        self.gen.set_state(ckpt["generator"])

    # --------------------------------------------------------------- helpers
    def _pair(self, idx: torch.Tensor, lp_all: torch.Tensor):
        d = self._tensors
        x, y, y2 = d["prompt"][idx], d["y"][idx], d["y2"][idx]
        return (
            lp_all[x, y],
            lp_all[x, y2],
            self.ref[x, y],
            self.ref[x, y2],
            d["r"][idx],
            d["r2"][idx],
        )

    def _labelled(self, idx: torch.Tensor, lp_all: torch.Tensor):
        """(ln π, ln π_ref) of winners and losers under the dataset's labels."""
        d = self._tensors
        x, first = d["prompt"][idx], d["first_preferred"][idx]
        w = torch.where(first, d["y"][idx], d["y2"][idx])
        lo = torch.where(first, d["y2"][idx], d["y"][idx])
        return lp_all[x, w], lp_all[x, lo], self.ref[x, w], self.ref[x, lo]


class PreferenceLoss(ContrastiveAlgorithm):
    """A loss on labelled (winner, loser) pairs; subclasses define :meth:`pair_loss`."""

    supported_envs: ClassVar[tuple[str, ...]] = (
        "CoPGBandit-v0",
        "CoPGSequence-v0",
        "PreferenceToy-v0",
    )

    def batch_loss(self, idx, lp_all):
        return self.pair_loss(*self._labelled(idx, lp_all))


class CoPG(ContrastiveAlgorithm):
    """Contrastive Policy Gradient: converges to π* from off-policy pairs."""

    name = "copg"

    def batch_loss(self, idx, lp_all):
        return -copg_objective(*self._pair(idx, lp_all), self.beta)


class IPO(PreferenceLoss):
    """Identity Preference Optimisation on Bradley–Terry labels."""

    name = "ipo"

    def pair_loss(self, lp_w, lp_l, ref_w, ref_l):
        return ipo_loss(lp_w - ref_w, lp_l - ref_l, self.beta)


class DPO(PreferenceLoss):
    """Direct Preference Optimisation on Bradley–Terry labels."""

    name = "dpo"

    def pair_loss(self, lp_w, lp_l, ref_w, ref_l):
        return dpo_loss(lp_w - ref_w, lp_l - ref_l, self.beta)


class DPOFlex(PreferenceLoss):
    """DPO with β⁺ (config ``beta_plus``, default ``beta``) on the chosen term and β⁻
    (``beta_minus``, default ``beta``) on the rejected term."""

    name = "dpo_flex"

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.beta_plus = check_beta(config.get("beta_plus", self.beta))
        self.beta_minus = check_beta(config.get("beta_minus", self.beta))

    def pair_loss(self, lp_w, lp_l, ref_w, ref_l):
        return dpo_flex_loss(lp_w - ref_w, lp_l - ref_l, self.beta_plus, self.beta_minus)


class DPOSFT(PreferenceLoss):
    """DPO plus ``sft_weight`` (λ, default 1) times the negative log-likelihood of the
    chosen response."""

    name = "dpo_sft"

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.sft_weight = float(config.get("sft_weight", 1.0))
        if not np.isfinite(self.sft_weight) or self.sft_weight < 0:
            raise ValueError(f"sft_weight must be a finite number >= 0, got {self.sft_weight!r}")

    def pair_loss(self, lp_w, lp_l, ref_w, ref_l):
        return dpo_loss(lp_w - ref_w, lp_l - ref_l, self.beta) - self.sft_weight * lp_w


class SLiC(PreferenceLoss):
    """SLiC's hinge on the log-likelihood margin, ``delta`` (default 1.0); no reference."""

    name = "slic"

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.delta = float(config.get("delta", 1.0))

    def pair_loss(self, lp_w, lp_l, ref_w, ref_l):
        return slic_loss(lp_w, lp_l, self.delta)


class PolicyGradient(ContrastiveAlgorithm):
    """Naive off-policy policy gradient on both members of every pair.

    Config ``baseline``: ``"none"`` or ``"value"`` (the exact E_π[R] subtracted).
    """

    name = "pg"

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.baseline = config.get("baseline", "none")
        if self.baseline not in ("none", "value"):
            raise ValueError(f"baseline must be 'none' or 'value', got {self.baseline!r}")

    def batch_loss(self, idx, lp_all):
        lp, lp2, ref, ref2, r, r2 = self._pair(idx, lp_all)
        with torch.no_grad():
            adv = r - self.beta * (lp - ref)
            adv2 = r2 - self.beta * (lp2 - ref2)
            if self.baseline == "value":
                value = (torch.exp(lp_all[0]) * self.rewards[0]).sum()
                adv, adv2 = adv - value, adv2 - value
        return -(adv * lp + adv2 * lp2)


class RLOO(ContrastiveAlgorithm):
    """On-policy REINFORCE leave-one-out on R^π_β; each epoch draws as many samples
    from the current policy as the dataset has responses."""

    name = "rloo"

    def batch_loss(self, idx, lp_all):
        k = 2 * len(idx)
        lp, ref, rewards = lp_all[0], self.ref[0], self.rewards[0]
        with torch.no_grad():
            y = torch.multinomial(torch.exp(lp), k, replacement=True, generator=self.gen)
            reward = rewards[y] - self.beta * (lp[y] - ref[y])
            adv = reward - (reward.sum() - reward) / (k - 1)
        return -(adv * lp[y])
