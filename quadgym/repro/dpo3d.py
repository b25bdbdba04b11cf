"""DPO's 3D-properties on PreferenceToy-v0: the experiment core (Yan et al. 2024, arXiv
2406.07327). :mod:`quadgym.repro.dpo3d_run` runs it (``scripts/reproduce_dpo3d.py`` is its
command line, its docstring says what runs and what is written); :mod:`.dpo3d_tables` writes
the tables from results.json, :mod:`.dpo3d_figures` the figures, :mod:`.dpo_tokens` the
token-sequence toy.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

import quadgym
from quadgym.config import TypedConfig, param
from quadgym.stats import holm, paired_test, t_interval

SCENARIOS = ("on_on", "on_off", "off_on", "off_off")
#: the changes, their direction when the property shows, and their units
CHANGES: dict[str, tuple[str, str]] = {
    "drop_log10_rejected": ("rejected: Δ log10 mass", "decades"),
    "epochs_to_tenth": ("rejected below a tenth of its start at epoch", "epochs"),
    "dln_chosen": ("chosen: Δ ln mass", "nats"),
    "dln_chosen_from_peak": ("chosen: ln end − ln peak", "nats"),
    "d_unseen": ("unseen: Δ mass", "probability"),
}
#: per property, the change that measures it and its sign when the property is stronger
PROPERTIES: dict[str, tuple[str, int]] = {
    "drastic drop": ("drop_log10_rejected", -1),
    "degradation": ("dln_chosen", -1),
    "dispersion": ("d_unseen", +1),
}
#: the pools of the --full attempt, by rank under π_ref (0 = likeliest)
SAMPLED_POOLS: dict[str, tuple[int, int]] = {"top": (0, 4), "middle": (4, 8), "rarest": (6, 10)}


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    out: str = param("results/dpo3d", "output directory (results.json, tables.md, the figures)")
    seeds: int = param(5, "seeds per run: 0, 1, ... (the intervals need >= 2)", ge=1)
    epochs: int = param(300, "training epochs (passes over the 64 pairs per prompt)", ge=1)
    beta: float = param(0.1, "β of every method; β⁺ of dpo_flex (reward units per nat)", gt=0)
    lr: float = param(1e-3, "Adam step size", gt=0)
    beta_minus: tuple[float, ...] = param(
        (0.05, 0.02, 0.01), "β⁻ of dpo_flex, one run per value, each > 0"
    )
    sft_lambda: tuple[float, ...] = param((0.1, 1.0), "λ of dpo_sft, one run per value, each >= 0")
    token_epochs: int = param(
        100, "epochs of the token-sequence toy (passes over its 256 pairs)", ge=1
    )
    full: bool = param(
        False,
        "also the attempts with sampled-and-labelled pairs (top, middle and rarest pools "
        "under π_ref), with DPO and both fixes",
    )

    def check(self) -> None:
        """Each β⁻ is positive and each λ non-negative."""
        if any(b <= 0 for b in self.beta_minus):
            raise ValueError(f"beta_minus values must be > 0, got {self.beta_minus}")
        if any(lam < 0 for lam in self.sft_lambda):
            raise ValueError(f"sft_lambda values must be >= 0, got {self.sft_lambda}")


# ----------------------------------------------------------------- statistics
def paired(a: Any, b: Any, sign: int) -> dict[str, Any]:
    """:func:`quadgym.stats.paired_test` of ``a`` against ``b`` (paired by seed), with
    ``stronger``: on how many seeds sign·(a − b) > 0."""
    test = paired_test(a, b)
    test["stronger"] = test["higher"] if sign > 0 else test["lower"]
    return test


def changes(chosen: Any, rejected: Any, unseen: Any) -> dict[str, float]:
    """The changes of one run from its per-epoch masses (index 0 = before training);
    see the module docstring. ``epochs_to_tenth`` is NaN if it never happens."""
    c, r, u = (np.asarray(v, dtype=float) for v in (chosen, rejected, unseen))
    tenth = np.flatnonzero(r < 0.1 * r[0])
    return {
        "drop_log10_rejected": float(np.log10(r[-1] / r[0])),
        "epochs_to_tenth": float(tenth[0]) if tenth.size else float("nan"),
        "dln_chosen": float(np.log(c[-1] / c[0])),
        "dln_chosen_from_peak": float(np.log(c[-1] / c.max())),
        "d_unseen": float(u[-1] - u[0]),
    }


# ----------------------------------------------------------------- training
def sampled_pairs(
    env: Any, pool: tuple[int, int], pairs_per_prompt: int, seed: int
) -> dict[str, np.ndarray]:
    """The --full attempt's data: per prompt, pairs of distinct responses drawn uniformly
    from the responses ranked ``pool`` = [lo, hi) under π_ref, labelled by one oracle
    judgement each (chosen = the one the oracle prefers)."""
    rng = np.random.default_rng(seed)
    order = np.argsort(-env.ref_policy, axis=1)
    rows = []
    for x in range(env.num_prompts):
        candidates = order[x, pool[0] : pool[1]]
        for _ in range(pairs_per_prompt):
            y, y2 = rng.choice(candidates, size=2, replace=False)
            rows.append((x, y, y2) if env.compare(x, y, y2, rng) else (x, y2, y))
    return env.chosen_rejected_pairs(rows)


def train(algo: str, seed: int, epochs: int, task_seed: int = 0, **config: Any) -> dict[str, Any]:
    """One run on instance ``task_seed``: per-epoch ``chosen``, ``rejected``, ``unseen``
    masses (epoch 0 = π_ref first) and their ``changes``."""
    env = gym.make("PreferenceToy-v0", task_seed=task_seed)
    agent = quadgym.make_algo(algo, env, seed=seed, **config)
    keys = ("chosen", "rejected", "unseen")
    start = agent.evaluate()
    hist = [start] + agent.learn(epochs)
    run: dict[str, Any] = {k: [h[k] for h in hist] for k in keys}
    run["changes"] = changes(run["chosen"], run["rejected"], run["unseen"])
    return run


def train_sampled(algo: str, pool: str, seed: int, epochs: int, **config: Any) -> dict:
    """One --full attempt run: masses of the responses that are ever chosen (``chosen``),
    only ever rejected (``rejected``) and absent (``unseen``), per epoch, and the
    paper's per-pair mean ln π(y_w), ln π(y_l) (``ln_chosen``, ``ln_rejected``, nats)."""
    env = gym.make("PreferenceToy-v0")
    data = sampled_pairs(env.unwrapped, SAMPLED_POOLS[pool], 64, seed)
    agent = quadgym.make_algo(algo, env, seed=seed, data=data, **config)
    x, y, y2 = data["prompt"], data["y"], data["y2"]
    chosen = np.zeros(env.unwrapped.ref_policy.shape, dtype=bool)
    chosen[x, y] = True
    seen = chosen.copy()
    seen[x, y2] = True
    num_prompts = env.unwrapped.num_prompts
    rec: dict[str, list[float]] = {
        k: [] for k in ("chosen", "rejected", "unseen", "ln_chosen", "ln_rejected")
    }

    def record() -> None:
        p = agent.distribution()
        rec["chosen"].append(float(p[chosen].sum() / num_prompts))
        rec["rejected"].append(float(p[seen & ~chosen].sum() / num_prompts))
        rec["unseen"].append(float(p[~seen].sum() / num_prompts))
        rec["ln_chosen"].append(float(np.log(p[x, y]).mean()))
        rec["ln_rejected"].append(float(np.log(p[x, y2]).mean()))

    record()
    for _ in range(epochs):
        agent.learn(1)  # constant step size: the same run as learn(epochs)
        record()
    run: dict[str, Any] = dict(rec)
    run["changes"] = {
        "dln_pair_chosen": rec["ln_chosen"][-1] - rec["ln_chosen"][0],
        "dln_pair_rejected": rec["ln_rejected"][-1] - rec["ln_rejected"][0],
        "d_unseen": rec["unseen"][-1] - rec["unseen"][0],
        "dln_seen": float(np.log((1 - rec["unseen"][-1]) / (1 - rec["unseen"][0]))),
    }
    return run


def seeds_of(fn: Callable[[int], dict], n: int) -> dict[str, Any]:
    """``fn(seed)`` for seeds 0..n-1, gathered: per-seed lists of every curve and change."""
    runs = [fn(s) for s in range(n)]
    out: dict[str, Any] = {k: [r[k] for r in runs] for k in runs[0] if k != "changes"}
    out["changes"] = {k: [r["changes"][k] for r in runs] for k in runs[0]["changes"]}
    return out


def run_grid(args: Args) -> dict[str, dict]:
    """Every run of the default grid (and of --full), keyed ``method/data``."""
    common = {"beta": args.beta, "lr": args.lr}
    grid: dict[str, tuple[str, dict]] = {}
    for sc in SCENARIOS:
        grid[f"dpo/{sc}"] = ("dpo", {})
    for sc in ("on_on", "off_off"):
        for b in args.beta_minus:
            grid[f"dpo_flex β⁻={b:g}/{sc}"] = (
                "dpo_flex",
                {"beta_plus": args.beta, "beta_minus": b},
            )
        for lam in args.sft_lambda:
            grid[f"dpo_sft λ={lam:g}/{sc}"] = ("dpo_sft", {"sft_weight": lam})
    grid["ipo/on_on"] = ("ipo", {})
    grid["slic/on_on"] = ("slic", {})
    runs: dict[str, dict] = {}
    for key, (algo, extra) in grid.items():
        chosen, rejected = key.split("/")[1].split("_")
        cfg = {**common, **extra, "chosen": chosen, "rejected": rejected}
        t0 = time.perf_counter()
        runs[key] = seeds_of(lambda s, a=algo, c=cfg: train(a, s, args.epochs, **c), args.seeds)
        runs[key]["seconds"] = time.perf_counter() - t0
        print(f"  {key:<26} {runs[key]['seconds']:5.1f} s", flush=True)
    if args.full:
        fixes = {"dpo": ("dpo", {}), **fix_runs(args)}
        for pool in SAMPLED_POOLS:
            for name, (algo, extra) in fixes.items():
                key = f"{name}/sampled_{pool}"
                cfg = {**common, **extra}
                t0 = time.perf_counter()
                runs[key] = seeds_of(
                    lambda s, a=algo, c=cfg, p=pool: train_sampled(a, p, s, args.epochs, **c),
                    args.seeds,
                )
                runs[key]["seconds"] = time.perf_counter() - t0
                print(f"  {key:<26} {runs[key]['seconds']:5.1f} s", flush=True)
    return runs


# ----------------------------------------------------------------- summaries
def summarise(runs: dict[str, dict]) -> dict[str, dict]:
    """Per run key and change: mean with its 95 % t-interval, and the per-seed values."""
    return {
        key: {k: {"ci": t_interval(v), "seeds": v} for k, v in run["changes"].items()}
        for key, run in runs.items()
    }


def with_holm(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``tests`` with ``p_holm``: each p adjusted by Holm's method over the whole list."""
    for test, adjusted in zip(tests, holm([t["p"] for t in tests]), strict=True):
        test["p_holm"] = adjusted
    return tests


def _over_instances(algo: str, scenario: str, args: Args, **extra: Any) -> dict[str, Any]:
    """``algo`` on ``scenario``'s data over instances: seed s on ``task_seed`` = s."""
    chosen, rejected = scenario.split("_")
    cfg = {"beta": args.beta, "lr": args.lr, "chosen": chosen, "rejected": rejected, **extra}
    return seeds_of(lambda s: train(algo, s, args.epochs, task_seed=s, **cfg), args.seeds)


def instances(args: Args) -> dict[str, Any]:
    """DPO on on- and on off-policy data over independent problem instances: seed s runs
    on PreferenceToy-v0 with ``task_seed`` = s (its own scores and π_ref), so the seeds are
    replicates of the problem, not only of the data and the start. Per scenario the
    per-instance changes, their t-intervals, and the paired off-against-on tests (Holm
    over the three properties)."""
    runs = {}
    for sc in ("on_on", "off_off"):
        t0 = time.perf_counter()
        runs[sc] = _over_instances("dpo", sc, args)
        print(f"  dpo/{sc} over instances  {time.perf_counter() - t0:5.1f} s", flush=True)
    tests = []
    for prop, (change, sign) in PROPERTIES.items():
        test = paired(runs["off_off"]["changes"][change], runs["on_on"]["changes"][change], sign)
        tests.append(
            {"a": "dpo/off_off", "b": "dpo/on_on", "property": prop, "change": change, **test}
        )
    return {
        "changes": {sc: run["changes"] for sc, run in runs.items()},
        "summary": {
            sc: {k: t_interval(v) for k, v in run["changes"].items()} for sc, run in runs.items()
        },
        "comparisons": with_holm(tests),
    }


def fix_runs(args: Args) -> dict[str, tuple[str, dict[str, Any]]]:
    """The strongest setting of each fix: run name -> (plugin, its config): ``dpo_flex``
    at the smallest β⁻, ``dpo_sft`` at the largest λ."""
    b, lam = min(args.beta_minus), max(args.sft_lambda)
    return {
        f"dpo_flex β⁻={b:g}": ("dpo_flex", {"beta_plus": args.beta, "beta_minus": b}),
        f"dpo_sft λ={lam:g}": ("dpo_sft", {"sft_weight": lam}),
    }


def instance_fixes(args: Args, dpo: dict[str, Any]) -> dict[str, Any]:
    """Each fix (:func:`fix_runs`) on on- and off-policy data over the independent
    instances of :func:`instances` (whose result is ``dpo``), and each against DPO on the
    same data and instance, paired by instance, one test per property (Holm over the
    table): the fixes replicated over problems, as DPO's properties are."""
    runs, tests = {}, []
    for sc in ("on_on", "off_off"):
        for name, (algo, extra) in fix_runs(args).items():
            key = f"{name}/{sc}"
            t0 = time.perf_counter()
            runs[key] = _over_instances(algo, sc, args, **extra)["changes"]
            print(f"  {key} over instances  {time.perf_counter() - t0:5.1f} s", flush=True)
            for prop, (change, sign) in PROPERTIES.items():
                test = paired(runs[key][change], dpo["changes"][sc][change], sign)
                tests.append(
                    {"a": key, "b": f"dpo/{sc}", "property": prop, "change": change, **test}
                )
    return {
        "changes": runs,
        "summary": {key: {k: t_interval(v) for k, v in ch.items()} for key, ch in runs.items()},
        "comparisons": with_holm(tests),
    }


def comparisons(runs: dict[str, dict]) -> list[dict[str, Any]]:
    """Paired tests over seeds: off- against on-policy DPO, and each fix against DPO on
    the same data, one per property (for the sampled attempt, its own changes); p-values
    Holm-adjusted over the whole list."""
    out = []

    def add(a: str, b: str, prop: str, change: str, sign: int) -> None:
        if a in runs and b in runs:
            test = paired(runs[a]["changes"][change], runs[b]["changes"][change], sign)
            out.append({"a": a, "b": b, "property": prop, "change": change, **test})

    for prop, (change, sign) in PROPERTIES.items():
        add("dpo/off_off", "dpo/on_on", prop, change, sign)
    add("dpo/on_on", "dpo/off_off", "degradation from the peak", "dln_chosen_from_peak", -1)
    for key in runs:
        method, data = key.split("/")
        if method.startswith(("dpo_flex", "dpo_sft")) and not data.startswith("sampled"):
            for prop, (change, sign) in PROPERTIES.items():
                add(key, f"dpo/{data}", prop, change, sign)
    sampled = {
        "drastic drop": ("dln_pair_rejected", -1),
        "degradation": ("dln_pair_chosen", -1),
        "dispersion": ("d_unseen", +1),
    }
    for pool in ("middle", "rarest"):
        for prop, (change, sign) in sampled.items():
            add(f"dpo/sampled_{pool}", "dpo/sampled_top", prop, change, sign)
    for key in runs:
        method, data = key.split("/")
        if data.startswith("sampled") and method != "dpo":
            for prop, (change, sign) in sampled.items():
                add(key, f"dpo/{data}", prop, change, sign)
    return with_holm(out)
