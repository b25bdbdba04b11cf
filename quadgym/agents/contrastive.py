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

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from quadgym.agents.base import Algorithm, atomic_write_bytes
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
        beta: regularisation strength (default: the env's).
        lr: Adam learning rate (default 0.01).
        batch_size: pairs per update (512, the paper's).
        n_pairs: dataset size (10⁴, the paper's).
        mu1, mu2: behaviour distributions of y and y' (defaults: the paper's
            (0.1, 0.2, 0.7) and (0.05, 0.05, 0.9) on the 3-armed bandit; on other
            envs, two fixed random distributions with full support).
        seed: seeds the dataset, the initialisation and the batch order.
        schedule: ``"constant"`` or ``"cosine"`` (the learning rate decays to 0 over
            the epochs of each ``learn`` call, so the iterates settle on the fixed
            point instead of jittering around it; default).
        data: a dataset from ``env.sample_pairs`` to use instead of sampling one.

    ``learn(budget)`` runs ``budget`` epochs (passes over the dataset) and
    returns one record per epoch: ``epoch``, ``loss``, ``regret`` and
    ``kl_to_optimal`` (KL(π‖π*)), ``policy`` (the exact distribution).
    """

    supported_envs: ClassVar[tuple[str, ...]] = ("CoPGBandit-v0", "CoPGSequence-v0")

    def __init__(self, env: str | gym.Env, **config: Any) -> None:
        super().__init__(env, **config)
        self.task = self.env.unwrapped
        c = self.config
        self.beta = check_beta(c.get("beta", self.task.beta))
        self.lr = float(c.get("lr", 0.01))
        self.batch_size = int(c.get("batch_size", 512))
        self.seed = int(c.get("seed", 0))
        self.schedule = c.get("schedule", "cosine")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")
        if self.lr <= 0 or self.batch_size < 1:
            raise ValueError(f"need lr > 0 and batch_size >= 1, got {self.lr}, {self.batch_size}")
        torch.manual_seed(self.seed)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.data = c.get("data") or self.task.sample_pairs(
            *self._behaviour(), int(c.get("n_pairs", 10_000)), seed=self.seed
        )
        if len(self.data["y"]) == 0:
            raise ValueError("the dataset is empty; an offline algorithm needs at least one pair")
        self.policy = self._make_policy()
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=self.lr)
        self.ref = torch.log(torch.as_tensor(self.task.ref_policy, dtype=torch.float64))
        self.rewards = torch.as_tensor(self.task.rewards, dtype=torch.float64)
        self.epochs_done = 0

    def _behaviour(self) -> tuple[np.ndarray, np.ndarray]:
        c, n = self.config, self.task.num_outcomes
        if "mu1" in c and "mu2" in c:
            return np.asarray(c["mu1"], float), np.asarray(c["mu2"], float)
        if n == 3:
            return np.array([0.1, 0.2, 0.7]), np.array([0.05, 0.05, 0.9])
        rng = np.random.default_rng(12345)
        return rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))

    def _make_policy(self) -> nn.Module:
        if hasattr(self.task, "vocab"):
            return AutoregressivePolicy(self.task.outcomes, self.task.vocab)
        return TabularPolicy(self.task.ref_policy)

    # -------------------------------------------------------------- learning
    def batch_loss(self, idx: torch.Tensor, lp_all: torch.Tensor) -> torch.Tensor:
        """Mean loss of the pairs ``idx`` given log π of every outcome (N,)."""
        raise NotImplementedError

    def learn(self, budget: int, callback: Callable[[dict], Any] | None = None) -> list[dict]:
        n = len(self.data["y"])
        self._tensors = {
            k: torch.as_tensor(np.asarray(v)) for k, v in self.data.items() if k != "prompt"
        }
        history = []
        budget = int(budget)
        for epoch in range(budget):
            if self.schedule == "cosine":
                for group in self.optimizer.param_groups:
                    group["lr"] = self.lr * 0.5 * (1 + np.cos(np.pi * epoch / budget))
            losses = []
            order = torch.randperm(n, generator=self.gen)
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                lp_all = self.policy.log_probs()[0]
                loss = self.batch_loss(idx, lp_all)
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
        """The policy's exact distribution over outcomes."""
        with torch.no_grad():
            p = torch.exp(self.policy.log_probs()[0]).numpy()
        return p / p.sum()

    def evaluate(self) -> dict:
        pi = self.distribution()
        opt = self.task.optimal_policy(self.beta)
        return {
            "regret": self.task.regret(pi, self.beta),
            "kl_to_optimal": float(np.sum(pi * (np.log(pi) - np.log(opt)))),
            "policy": pi.tolist(),
        }

    # --------------------------------------------------------------- acting
    def act(self, observation: np.ndarray, deterministic: bool = True):
        if isinstance(self.policy, TabularPolicy):
            p = self.distribution()
        else:
            with torch.no_grad():
                p = torch.exp(self.policy.next_token_log_probs(observation)).numpy()
        if deterministic:
            return int(np.argmax(p))
        return int(torch.multinomial(torch.as_tensor(p), 1, generator=self.gen))

    # ---------------------------------------------------------- checkpoints
    def save(self, path: str | Path) -> None:
        buf = io.BytesIO()
        torch.save(
            {
                "algo": self.name,
                "env": getattr(self.env.spec, "id", None),
                "policy": self.policy.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "epochs_done": self.epochs_done,
                "generator": self.gen.get_state(),
                "config": json.dumps(
                    {k: v for k, v in self.config.items() if k != "data"}, default=str
                ),
            },
            buf,
        )
        atomic_write_bytes(path, buf.getvalue())

    def load(self, path: str | Path) -> None:
        try:
            ckpt = torch.load(path, weights_only=False)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
            raise ValueError(f"{path} is not a readable checkpoint: {exc}") from None
        env_id = getattr(self.env.spec, "id", None)
        if ckpt.get("algo") != self.name or ckpt.get("env") != env_id:
            raise ValueError(
                f"{path} is a checkpoint of {ckpt.get('algo')!r} on {ckpt.get('env')!r}, "
                f"not of {self.name!r} on {env_id!r}"
            )
        self.policy.load_state_dict(ckpt["policy"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.epochs_done = ckpt["epochs_done"]
        self.gen.set_state(ckpt["generator"])

    # --------------------------------------------------------------- helpers
    def _pair(self, idx: torch.Tensor, lp_all: torch.Tensor):
        d = self._tensors
        y, y2 = d["y"][idx], d["y2"][idx]
        return lp_all[y], lp_all[y2], self.ref[y], self.ref[y2], d["r"][idx], d["r2"][idx]

    def _labelled(self, idx: torch.Tensor, lp_all: torch.Tensor):
        d = self._tensors
        first = d["first_preferred"][idx]
        w = torch.where(first, d["y"][idx], d["y2"][idx])
        lo = torch.where(first, d["y2"][idx], d["y"][idx])
        return lp_all[w] - self.ref[w], lp_all[lo] - self.ref[lo]


class CoPG(ContrastiveAlgorithm):
    """Contrastive Policy Gradient: converges to π* from off-policy pairs."""

    name = "copg"

    def batch_loss(self, idx, lp_all):
        return -copg_objective(*self._pair(idx, lp_all), self.beta).mean()


class IPO(ContrastiveAlgorithm):
    """Identity Preference Optimisation on Bradley–Terry labels."""

    name = "ipo"

    def batch_loss(self, idx, lp_all):
        return ipo_loss(*self._labelled(idx, lp_all), self.beta).mean()


class DPO(ContrastiveAlgorithm):
    """Direct Preference Optimisation on Bradley–Terry labels."""

    name = "dpo"

    def batch_loss(self, idx, lp_all):
        return dpo_loss(*self._labelled(idx, lp_all), self.beta).mean()


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
                value = (torch.exp(lp_all) * self.rewards).sum()
                adv, adv2 = adv - value, adv2 - value
        return -(adv * lp + adv2 * lp2).mean()


class RLOO(ContrastiveAlgorithm):
    """On-policy REINFORCE leave-one-out on R^π_β; each epoch draws as many samples
    from the current policy as the dataset has responses."""

    name = "rloo"

    def batch_loss(self, idx, lp_all):
        k = 2 * len(idx)
        with torch.no_grad():
            y = torch.multinomial(torch.exp(lp_all), k, replacement=True, generator=self.gen)
            reward = self.rewards[y] - self.beta * (lp_all[y] - self.ref[y])
            adv = reward - (reward.sum() - reward) / (k - 1)
        return -(adv * lp_all[y]).mean()
