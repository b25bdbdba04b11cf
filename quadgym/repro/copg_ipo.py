"""IPO against CoPG on the bandit beyond the paper's one setting: IPO's fixed points (with
unlimited data, and on a sample in closed form), IPO with its own regulariser τ tuned, and
bandits with other reward vectors and numbers of arms.

IPO's regulariser τ (its β) need not equal CoPG's KL weight β: the two are in different
units (IPO regresses log-ratios on 1/(2τ), CoPG weighs a KL in reward units per nat). The
fair baseline is IPO at the τ that brings it closest to the KL-regularised optimum π*_β
on the same data: τ is chosen on the *selection* seeds (0 .. n − 1: the grid of the main
run) by the mean KL(π_IPO(τ)‖π*_β) over the behaviour pairs, and reported on fresh
*confirmation* seeds (n .. 2n − 1), where CoPG is trained too. IPO's answer is its exact
fixed point on the data set (:func:`quadgym.agents.preference.losses.ipo_fixed_point`),
which the trained IPO reaches (tests/test_copg.py).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import gymnasium as gym
import numpy as np

from quadgym.agents.preference.losses import ipo_fixed_point
from quadgym.repro.copg import (
    BEHAVIOURS,
    Args,
    across_pairs,
    adjust_holm,
    total_variation,
    train_cell,
)
from quadgym.stats import paired_test, t_interval

RANDOM_PAIRS = 2000  # random behaviour pairs for IPO's unlimited-data fixed point
#: IPO's regulariser τ searched, as multiples of β: 2^(k/4), k = −16 .. 16 (β/16 .. 16β)
TAU_FACTORS = tuple(2.0 ** (k / 4) for k in range(-16, 17))
#: the other bandits: name -> rewards (reward units), arms sorted best first
BANDITS: dict[str, tuple[float, ...]] = {
    "K=3, R=(3, 1.5, 0)": (3.0, 1.5, 0.0),
    "K=5, R=(2, 1.8, 1, 0.5, 0)": (2.0, 1.8, 1.0, 0.5, 0.0),
    "K=10, R=(3, 2.7, ..., 0)": tuple(float(round(3 - k / 3, 6)) for k in range(10)),
}
#: the β of the other bandits
BANDIT_BETA = 0.5


def ipo_population_fixed_point(
    mu1: Any, mu2: Any, rewards: Any, beta: float, ref_policy: Any
) -> np.ndarray:
    """IPO's tabular fixed point with unlimited pairs y ~ ``mu1``, y' ~ ``mu2`` and
    Bradley–Terry labels P(y ≻ y') = σ(R(y) − R(y')).

    Per ordered pair (a, b) the expected loss p·(d − c)² + (1 − p)·(d + c)², with
    d = s_a − s_b, c = 1/(2β) and p = σ(R_a − R_b), is least at d = c·(2p − 1); the
    logits s solve the least squares over all pairs weighted by μ1(a)·μ2(b) (pairs a = b
    add a constant), and π = softmax(ln π_ref + s), as in ``ipo_fixed_point`` on a sample.
    """
    r, mu1, mu2 = (np.asarray(v, dtype=float) for v in (rewards, mu1, mu2))
    n, c = r.size, 1.0 / (2.0 * beta)
    rows, targets, weights = [], [], []
    for a, b in itertools.permutations(range(n), 2):
        row = np.zeros(n)
        row[a], row[b] = 1.0, -1.0
        rows.append(row)
        targets.append(c * (2.0 / (1.0 + np.exp(-(r[a] - r[b]))) - 1.0))
        weights.append(np.sqrt(mu1[a] * mu2[b]))
    w = np.array(weights)
    s = np.linalg.lstsq(np.array(rows) * w[:, None], np.array(targets) * w, rcond=None)[0]
    z = np.log(np.asarray(ref_policy, dtype=float)) + s
    z = np.exp(z - z.max())
    return z / z.sum()


def ipo_population(env: Any, betas: tuple[float, ...], seed: int = 0) -> dict[str, dict]:
    """Per β: KL(π_IPO‖π*) in nats of IPO's unlimited-data fixed point on each behaviour
    pair (``pairs``), and its range over ``RANDOM_PAIRS`` random pairs with full support
    (μ1, μ2 ~ Dirichlet(1, ..., 1), ``random_range``)."""
    rng = np.random.default_rng(seed)
    n = env.num_outcomes
    randoms = [(rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))) for _ in range(RANDOM_PAIRS)]
    out = {}
    for beta in betas:
        opt = env.optimal_policy(beta)

        def kl(mu1: Any, mu2: Any, beta: float = beta, opt: np.ndarray = opt) -> float:
            pi = ipo_population_fixed_point(mu1, mu2, env.rewards, beta, env.ref_policy)
            return float(np.sum(pi * np.log(pi / opt)))

        on_random = [kl(m1, m2) for m1, m2 in randoms]
        out[f"{beta:g}"] = {
            "pairs": {p: kl(m1, m2) for p, (m1, m2) in BEHAVIOURS.items()},
            "random_range": [min(on_random), max(on_random)],
        }
    return out


def kl(p: Any, q: Any) -> float:
    """KL(p‖q) in nats."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    return float(np.sum(p * np.log(p / q)))


def behaviours_for(rewards: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The three behaviour pairs on any arms, as on the paper's: ``worst`` (μ1, μ2 ∝
    exp(−R), exp(−2R), R shifted to start at 0: mass on the worse arms), ``uniform``
    (μ1 = μ2 uniform) and ``best`` (∝ exp(R), exp(2R))."""
    r = np.asarray(rewards, dtype=float)
    r = (r - r.min()) / max(np.ptp(r), 1e-12) * 3  # a spread of 3 reward units
    soft = [np.exp(c * r) / np.exp(c * r).sum() for c in (-1.0, -2.0, 1.0, 2.0)]
    uniform = np.full(r.size, 1 / r.size)
    return {"worst": (soft[0], soft[1]), "uniform": (uniform, uniform), "best": (soft[2], soft[3])}


def ipo_answers(
    env: Any, pairs: dict, beta: float, taus: list[float], seeds: range, n_pairs: int
) -> dict[str, np.ndarray]:
    """IPO's fixed point per behaviour pair on each seed's data set (drawn exactly as the
    plugins draw it), at each τ: pair -> (len(taus), len(seeds), K) policies."""
    out = {}
    for pair, (mu1, mu2) in pairs.items():
        data = [env.sample_pairs(mu1, mu2, n_pairs, seed=s) for s in seeds]
        out[pair] = np.array(
            [[ipo_fixed_point(d, tau, env.ref_policy) for d in data] for tau in taus]
        )
    return out


def tuned_ipo(
    env_id: str, env_kwargs: dict, pairs: dict, beta: float, args: Args
) -> dict[str, Any]:
    """IPO with τ = β and with τ tuned on the selection seeds (0 .. args.seeds − 1), and
    CoPG (the default setting), on the confirmation seeds (args.seeds .. 2·args.seeds − 1):
    per method the per-pair KL(π‖π*) and the across-pairs statistics, seed by seed, with
    CoPG's paired tests against each IPO (``p_holm`` over the comparisons of this call).
    Also τ's best value per pair on the selection seeds (how much it depends on the data)."""
    env = gym.make(env_id, **env_kwargs).unwrapped
    opt = env.optimal_policy(beta)
    selection, confirmation = range(args.seeds), range(args.seeds, 2 * args.seeds)
    taus = [beta * f for f in TAU_FACTORS]
    chosen = ipo_answers(env, pairs, beta, taus, selection, args.n_pairs)
    mean_kl = {
        p: np.array([[kl(pi, opt) for pi in row] for row in a]).mean(1) for p, a in chosen.items()
    }
    best = int(np.argmin(np.mean(list(mean_kl.values()), axis=0)))
    tau = taus[best]
    confirm = ipo_answers(env, pairs, beta, [beta, tau], confirmation, args.n_pairs)
    cells: dict[str, dict[str, dict]] = {"ipo": {}, "ipo_tuned": {}, "copg": {}}
    for pair, (mu1, mu2) in pairs.items():
        for i, name in enumerate(("ipo", "ipo_tuned")):
            policies = confirm[pair][i]
            cells[name][pair] = {
                "kl": [kl(pi, opt) for pi in policies],
                "tv": [total_variation(pi, opt) for pi in policies],
                "policy": policies.tolist(),
            }
        mu = {"mu1": list(mu1), "mu2": list(mu2)}
        run = train_cell(
            "copg",
            env_id,
            beta,
            args.lr,
            args.schedule,
            args.epochs,
            mu,
            args,
            seeds=confirmation,
            env_kwargs=env_kwargs,
        )
        cells["copg"][pair] = {k: run[k] for k in ("kl", "tv", "policy")}
    across = {m: across_pairs(by_pair) for m, by_pair in cells.items()}
    summary: dict[str, dict] = {}
    tests = []
    for m, by_pair in cells.items():
        summary[m] = {
            "kl": {p: t_interval(c["kl"]) for p, c in by_pair.items()},
            "across": {k: t_interval(across[m][k]) for k in ("kl_spread", "tv_between")},
        }
        if m != "copg":
            vs = {
                k: paired_test(across["copg"][k], across[m][k]) for k in ("kl_spread", "tv_between")
            }
            vs.update({p: paired_test(cells["copg"][p]["kl"], c["kl"]) for p, c in by_pair.items()})
            summary[m]["copg_vs"] = vs
            tests += list(vs.values())
    adjust_holm(tests)
    per_pair_best = {p: taus[int(np.argmin(v))] for p, v in mean_kl.items()}
    return {
        "beta": beta,
        "tau": tau,
        "tau_per_pair": per_pair_best,
        "selection_seeds": list(selection),
        "confirmation_seeds": list(confirmation),
        "optimal_policy": opt.tolist(),
        "summary": summary,
    }


def ipo_tuned_grid(betas: tuple[float, ...], args: Args) -> dict[str, dict]:
    """:func:`tuned_ipo` on the paper's bandit at each β, with its three pairs."""
    out = {}
    for beta in betas:
        t0 = time.perf_counter()
        out[f"{beta:g}"] = tuned_ipo("CoPGBandit-v0", {}, BEHAVIOURS, beta, args)
        seconds = time.perf_counter() - t0
        print(f"  tuned IPO, β={beta:g}: τ = {out[f'{beta:g}']['tau']:.3g} ({seconds:.0f} s)")
    return out


def other_bandits(args: Args) -> dict[str, dict]:
    """:func:`tuned_ipo` at β = BANDIT_BETA on each bandit of :data:`BANDITS` (uniform
    π_ref) with the pairs of :func:`behaviours_for`."""
    out = {}
    for name, rewards in BANDITS.items():
        t0 = time.perf_counter()
        pairs = behaviours_for(rewards)
        out[name] = tuned_ipo("CoPGBandit-v0", {"rewards": rewards}, pairs, BANDIT_BETA, args)
        print(
            f"  {name}: τ = {out[name]['tau']:.3g}  ({time.perf_counter() - t0:.0f} s)", flush=True
        )
    return out
