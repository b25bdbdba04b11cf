"""Typed configurations of the contrastive plugins (copg, ipo, dpo, dpo_flex, dpo_sft,
slic, pg, rloo).

Settings whose good value depends on the env (β, step size, batch size, schedule,
network width) default to ``None``, meaning "the env's default"; the plugin
resolves them once it knows which kind of problem the env poses (see
:mod:`quadgym.agents.preference.problems`). Units: β in reward units per nat,
budgets and horizons in epochs (passes over the dataset), log-likelihood margins
in nats.

* :class:`ContrastiveConfig`: copg, rloo (and the base of the others).
* :class:`PGConfig`: pg, adds ``baseline``.
* :class:`PreferenceConfig`: ipo, dpo, adds PreferenceToy-v0's dataset and network.
* :class:`DPOFlexConfig`, :class:`DPOSFTConfig`, :class:`SLiCConfig`: dpo_flex,
  dpo_sft, slic, add their loss's own weight or margin.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from quadgym.agents.base import AlgoConfig
from quadgym.config import param


def _check_beta(name: str, value: float | None) -> None:
    """Refuse a KL weight that is not > 0, in the words of the envs' own check."""
    if value is not None and not value > 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


@dataclasses.dataclass(frozen=True)
class ContrastiveConfig(AlgoConfig):
    """Configuration of copg and rloo, and the part every contrastive plugin shares."""

    beta: float | None = param(
        None,
        "KL weight β (reward units per nat), > 0; None: the env's own beta on the CoPG "
        "envs, 0.1 on PreferenceToy-v0",
    )
    lr: float | None = param(
        None, "Adam step size; None: 0.01 on the CoPG envs, 1e-3 on PreferenceToy-v0", gt=0
    )
    batch_size: int | None = param(
        None,
        "pairs per gradient step; None: 512 (the paper's) on the CoPG envs, 64 on PreferenceToy-v0",
        ge=1,
    )
    schedule: Literal["constant", "cosine"] | None = param(
        None,
        "learning-rate schedule: 'cosine' decays lr to 0 over `horizon` epochs, so the "
        "iterates settle on the fixed point; None: 'cosine' on the CoPG envs, 'constant' "
        "on PreferenceToy-v0 (whose dynamics are the point)",
    )
    horizon: int | None = param(
        None,
        "epochs over which the cosine schedule decays (scripts/train.py passes the run's "
        "total, so chunked and resumed runs follow one schedule); None: the end of each "
        "learn() call",
        ge=1,
    )
    hidden: int | None = param(
        None,
        "tanh units of the policy network's hidden layer; None: 128 on CoPGSequence-v0, "
        "16 on PreferenceToy-v0 (CoPGBandit-v0's tabular policy has none)",
        ge=1,
    )
    # ~48 bytes a pair measured (copg on CoPGSequence-v0: +46 MiB peak from 10⁴ to 10⁶
    # pairs): 10⁷ pairs take ~0.5 GB; 10¹¹ asked for 745 GiB and died in a MemoryError
    n_pairs: int = param(
        10_000,
        "CoPG envs: pairs (y, y') in the dataset (the paper's 10⁴; at most 10⁷, ~0.5 GB at "
        "~48 bytes a pair)",
        ge=1,
        le=10_000_000,
    )
    mu1: tuple[float, ...] | None = param(
        None,
        "CoPG envs: behaviour distribution of y, one probability per outcome (give mu2 "
        "too); None: (0.1, 0.2, 0.7) on a 3-outcome env, else a fixed random one",
    )
    mu2: tuple[float, ...] | None = param(
        None,
        "CoPG envs: behaviour distribution of y', one probability per outcome (give mu1 "
        "too); None: (0.05, 0.05, 0.9) on a 3-outcome env, else a fixed random one",
    )
    data: dict | None = param(
        None,
        "a dataset from the env (arrays prompt, y, y2, r, r2, first_preferred, one entry "
        "per pair) used instead of building one; not saved in checkpoints",
        cli=False,
    )

    def check(self) -> None:
        """β > 0 (refused in the words of the envs' own check), mu1 and mu2 given together."""
        _check_beta("beta", self.beta)
        if (self.mu1 is None) != (self.mu2 is None):
            given, other = ("mu1", "mu2") if self.mu2 is None else ("mu2", "mu1")
            raise ValueError(f"{given} was given without {other}; give both or neither")


@dataclasses.dataclass(frozen=True)
class PGConfig(ContrastiveConfig):
    """Configuration of pg, the naive off-policy policy gradient."""

    baseline: Literal["none", "value"] = param(
        "none", "subtracted from R^π_β: 'none', or 'value' (the exact E_π[R], reward units)"
    )


@dataclasses.dataclass(frozen=True)
class PreferenceConfig(ContrastiveConfig):
    """Configuration of the losses on labelled pairs (ipo, dpo), which also run on
    PreferenceToy-v0."""

    rank: int = param(
        2,
        "PreferenceToy-v0: dimensions of the response embedding (the policy's bottleneck; "
        "responses share features as similar texts do)",
        ge=1,
    )
    chosen: Literal["on", "off"] = param(
        "on",
        "PreferenceToy-v0: source of the chosen responses, the initial model's likely "
        "ones ('on') or another pool ('off')",
    )
    rejected: Literal["on", "off"] = param(
        "on", "PreferenceToy-v0: source of the rejected responses, 'on' or 'off' as chosen"
    )
    pairs_per_prompt: int = param(64, "PreferenceToy-v0: preference pairs per prompt", ge=1)


@dataclasses.dataclass(frozen=True)
class DPOFlexConfig(PreferenceConfig):
    """Configuration of dpo_flex: DPO with its own β on each term."""

    beta_plus: float | None = param(
        None, "β⁺ on the chosen term (reward units per nat), > 0; None: beta"
    )
    beta_minus: float | None = param(
        None, "β⁻ on the rejected term (reward units per nat), > 0; None: beta"
    )

    def check(self) -> None:
        """Also β⁺ > 0 and β⁻ > 0."""
        super().check()
        _check_beta("beta_plus", self.beta_plus)
        _check_beta("beta_minus", self.beta_minus)


@dataclasses.dataclass(frozen=True)
class DPOSFTConfig(PreferenceConfig):
    """Configuration of dpo_sft: DPO plus a likelihood term on the chosen response."""

    sft_weight: float = param(
        1.0, "λ, weight of −ln π(y_w) added to DPO's loss (per pair, nats)", ge=0
    )


@dataclasses.dataclass(frozen=True)
class SLiCConfig(PreferenceConfig):
    """Configuration of slic: a hinge on the log-likelihood margin."""

    delta: float = param(
        1.0, "δ, the margin ln π(y_w) − ln π(y_l) below which a pair is penalised (nats)", ge=0
    )
