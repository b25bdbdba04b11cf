"""The per-pair objectives of the preference plugins, and IPO's closed-form fixed point.

Notation: ρ(y) = ln π(y) − ln π_ref(y) (nats); rewards R in the env's units;
β, the KL weight, in reward units per nat. Every function works elementwise
on tensors of pairs and returns one value per pair.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def copg_objective(
    lp: torch.Tensor,
    lp2: torch.Tensor,
    ref: torch.Tensor,
    ref2: torch.Tensor,
    r: torch.Tensor,
    r2: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """CoPG's ℓ(y, y'; π) per pair (to be maximised), differentiable through every ρ.

    ℓ = (R^π_{β/2}(y) − R^π_{β/2}(y'))·ρ(y) + (R^π_{β/2}(y') − R^π_{β/2}(y))·ρ(y'),
    with R^π_β(y) = R(y) − β·ρ(y); ``lp``/``ref`` are ln π and ln π_ref of y,
    ``lp2``/``ref2`` of y', ``r``/``r2`` their rewards.
    """
    rho, rho2 = lp - ref, lp2 - ref2
    a, a2 = r - 0.5 * beta * rho, r2 - 0.5 * beta * rho2
    return (a - a2) * rho + (a2 - a) * rho2


def ipo_loss(rho_w: torch.Tensor, rho_l: torch.Tensor, beta: float) -> torch.Tensor:
    """IPO's squared loss (ρ(y_w) − ρ(y_l) − 1/(2β))² per labelled pair."""
    return (rho_w - rho_l - 1.0 / (2.0 * beta)) ** 2


def dpo_loss(rho_w: torch.Tensor, rho_l: torch.Tensor, beta: float) -> torch.Tensor:
    """DPO's logistic loss −ln σ(β·(ρ(y_w) − ρ(y_l))) per labelled pair."""
    return -nn.functional.logsigmoid(beta * (rho_w - rho_l))


def dpo_flex_loss(
    rho_w: torch.Tensor, rho_l: torch.Tensor, beta_plus: float, beta_minus: float
) -> torch.Tensor:
    """DPO with separate β for the chosen (β⁺) and rejected (β⁻) terms:
    −ln σ(β⁺·ρ(y_w) − β⁻·ρ(y_l))."""
    return -nn.functional.logsigmoid(beta_plus * rho_w - beta_minus * rho_l)


def slic_loss(lp_w: torch.Tensor, lp_l: torch.Tensor, delta: float) -> torch.Tensor:
    """SLiC's calibration hinge max(0, δ − ln π(y_w) + ln π(y_l)); no reference."""
    return torch.relu(delta - lp_w + lp_l)


def winners(data: dict) -> tuple[np.ndarray, np.ndarray]:
    """(winner, loser) outcome indices of every pair under the dataset's labels."""
    first = np.asarray(data["first_preferred"], dtype=bool)
    return np.where(first, data["y"], data["y2"]), np.where(first, data["y2"], data["y"])


def ipo_fixed_point(data: dict, beta: float, ref_policy: np.ndarray) -> np.ndarray:
    """The tabular policy IPO converges to on ``data`` (one prompt), in closed form.

    IPO's loss depends on the logits s only through differences s_w − s_l, so
    it is a least-squares problem Σ_k (s_{w_k} − s_{l_k} − 1/(2β))²; its
    minimiser (unique up to a constant) gives π = softmax(ln π_ref + s).
    """
    n = len(ref_policy)
    w, lo = winners(data)
    a = np.zeros((len(w), n))
    a[np.arange(len(w)), w] += 1.0
    a[np.arange(len(w)), lo] -= 1.0
    s = np.linalg.lstsq(a, np.full(len(w), 1.0 / (2.0 * beta)), rcond=None)[0]
    z = np.log(ref_policy) + s
    z = np.exp(z - z.max())
    return z / z.sum()
