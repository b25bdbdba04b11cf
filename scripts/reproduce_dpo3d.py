"""Reproduce DPO's 3D-properties on PreferenceToy-v0 (Yan et al. 2024, arXiv 2406.07327),
measured as changes from the start of training.

    python scripts/reproduce_dpo3d.py --out results/dpo3d
    python scripts/reproduce_dpo3d.py --out results/dpo3d-full --full
    python scripts/reproduce_dpo3d.py --out results/dpo3d-quick --seeds 2 --epochs 50 \
        --beta-minus 0.01 --sft-lambda 1.0

PreferenceToy-v0: 4 prompts, 10 responses, a Bradley–Terry oracle; the policy
is a prompt MLP with a rank-2 response embedding, first fitted to π_ref (and
then π_ref is that fitted model). Each run trains ``--epochs`` passes over 64
pairs per prompt with Adam (lr 1e-3, batch 64, β = 0.1) and records, before
training and after every epoch, the probability mass on the chosen, rejected and
unseen responses (mean over prompts).

Runs (``--seeds`` seeds each; the seed draws the pairs and the network's start):
plain DPO in the four scenarios (chosen on/off-policy × rejected on/off-policy);
the two fixes, DPO with β⁻ below β⁺ = β (``dpo_flex``) and DPO + λ·SFT on the
chosen responses (``dpo_sft``), on on-policy and on off-policy data; IPO and SLiC on
on-policy data. With ``--full``: also the attempts at an off-policy setting in which
the properties are stronger than on-policy (pairs sampled from a pool and labelled
by the oracle, so a response can be chosen in one pair and rejected in another).

Each property as a change from the start (epoch 0 = π_ref) to the last epoch:
* drastic drop: Δ log10 rejected = log10 rejected(T)/rejected(0) (decades), and
  the first epoch at which the rejected mass is below a tenth of its start;
* degradation: Δ ln chosen = ln chosen(T)/chosen(0) (nats), and the fall from the
  peak, ln chosen(T) − max_t ln chosen(t) (nats, ≤ 0);
* dispersion: Δ unseen = unseen(T) − unseen(0) (probability mass).
Every number: mean over seeds with a 95 % t-interval; comparisons paired by seed,
two-sided paired t-test (``scipy.stats.ttest_rel``), with on how many seeds the
first setting shows the property more strongly.

Writes to ``--out``: ``results.json`` (``setup``; ``runs``: per run key the per-seed
lists ``chosen``, ``rejected``, ``unseen`` (epochs 0..T) and ``changes``;
``summary``; ``comparisons``; ``seconds``), ``tables.md`` (the tables printed),
``figure.png`` (the paper's figure redrawn: the mass of the chosen, rejected and unseen
responses over training and its ln, one column per scenario, on- to off-policy) and
``fixes.png`` (the same for DPO and each fix on on-policy data).
"""

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import quadgym  # noqa: E402
from quadgym.cli import parse_args  # noqa: E402
from quadgym.config import TypedConfig, param  # noqa: E402
from quadgym.stats import paired_test, t_interval  # noqa: E402

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
    a = np.array(rows, dtype=np.int64)
    return {
        "prompt": a[:, 0],
        "y": a[:, 1],
        "y2": a[:, 2],
        "first_preferred": np.ones(len(a), dtype=bool),
        "r": env.scores[a[:, 0], a[:, 1]],
        "r2": env.scores[a[:, 0], a[:, 2]],
    }


def train(algo: str, seed: int, epochs: int, **config: Any) -> dict[str, Any]:
    """One run: per-epoch ``chosen``, ``rejected``, ``unseen`` masses (epoch 0 = π_ref
    first) and their ``changes``."""
    env = gym.make("PreferenceToy-v0")
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
        fixes = {
            "dpo": ("dpo", {}),
            f"dpo_flex β⁻={min(args.beta_minus):g}": (
                "dpo_flex",
                {"beta_plus": args.beta, "beta_minus": min(args.beta_minus)},
            ),
            f"dpo_sft λ={max(args.sft_lambda):g}": (
                "dpo_sft",
                {"sft_weight": max(args.sft_lambda)},
            ),
        }
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


def comparisons(runs: dict[str, dict]) -> list[dict[str, Any]]:
    """Paired tests over seeds: off- against on-policy DPO, and each fix against DPO on
    the same data, one per property (for the sampled attempt, its own changes)."""
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
    return out


def fmt(x: float) -> str:
    """2 significant digits (3 for |x| >= 100); n/a for NaN."""
    if not np.isfinite(x):
        return "n/a"
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.2g}"


def fmt_ci(ci: Any) -> str:
    """``mean [low, high]``."""
    mean, low, high = ci
    return f"{fmt(mean)} [{fmt(low)}, {fmt(high)}]"


def fmt_p(p: float) -> str:
    """A p-value: 3 decimals, or 1 significant digit below 1e-3."""
    return "n/a" if not np.isfinite(p) else f"{p:.1g}" if p < 1e-3 else f"{p:.3f}"


def tables(runs: dict[str, dict], summary: dict, tests: list[dict], n: int) -> str:
    """The markdown tables: the changes per run (mean [95 % t-interval]), the per-seed
    values of DPO's, and the paired comparisons."""
    grid = [k for k in summary if not k.split("/")[1].startswith("sampled")]
    lines = [
        f"### Changes from the start (epoch 0) to the last epoch; {n} seeds, "
        "mean [95 % t-interval]",
        "",
        "| run | " + " | ".join(f"{v[0]} ({v[1]})" for v in CHANGES.values()) + " |",
        "|---" * (len(CHANGES) + 1) + "|",
    ]
    for key in grid:
        lines.append(
            f"| {key} | " + " | ".join(fmt_ci(summary[key][c]["ci"]) for c in CHANGES) + " |"
        )
    lines += [
        "",
        "### DPO per seed: start mass → change",
        "",
        "| run | seed | chosen(0) | rejected(0) | unseen(0) | "
        + " | ".join(v[0] for v in CHANGES.values())
        + " |",
        "|---" * (len(CHANGES) + 5) + "|",
    ]
    for key in (f"dpo/{sc}" for sc in SCENARIOS):
        run = runs[key]
        for s in range(n):
            starts = [f"{run[k][s][0]:.3g}" for k in ("chosen", "rejected", "unseen")]
            vals = [fmt(summary[key][c]["seeds"][s]) for c in CHANGES]
            lines.append(f"| {key} | {s} | " + " | ".join(starts + vals) + " |")
    sampled = [k for k in summary if k.split("/")[1].startswith("sampled")]
    if sampled:
        names = {
            "dln_pair_chosen": "Δ mean ln π(y_w) (nats)",
            "dln_pair_rejected": "Δ mean ln π(y_l) (nats)",
            "d_unseen": "Δ unseen mass",
            "dln_seen": "Δ ln seen mass (nats)",
        }
        lines += [
            "",
            "### Attempt: sampled-and-labelled pairs (--full); mean [95 % t-interval]",
            "",
            "| run | " + " | ".join(names.values()) + " |",
            "|---" * (len(names) + 1) + "|",
        ]
        for key in sampled:
            lines.append(
                f"| {key} | " + " | ".join(fmt_ci(summary[key][c]["ci"]) for c in names) + " |"
            )
        lines += ["", "Per seed, DPO:", "", "| run | " + " | ".join(names.values()) + " |"]
        lines.append("|---" * (len(names) + 1) + "|")
        for key in (k for k in sampled if k.startswith("dpo/")):
            cells = [", ".join(fmt(v) for v in summary[key][c]["seeds"]) for c in names]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Paired comparisons over seeds (two-sided paired t-test)",
        "",
        "Difference A − B of the change that measures the property, mean [95 % t-interval]; "
        "k/n: seeds on which A shows the property more strongly than B.",
        "",
        "| A | B | property (change) | A − B | p | k/n |",
        "|---|---|---|---|---|---|",
    ]
    for t in tests:
        ci = (t["diff"], *t["diff_ci"])
        lines.append(
            f"| {t['a']} | {t['b']} | {t['property']} ({t['change']}) | {fmt_ci(ci)} | "
            f"{fmt_p(t['p'])} | {t['stronger']}/{t['n']} |"
        )
    lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------- figures
def panel(ax: Any, run: dict, title: str, log: bool) -> None:
    """The chosen, rejected and unseen masses per epoch (``log``: their ln), mean over
    seeds, band min–max over seeds."""
    for i, key in enumerate(("chosen", "rejected", "unseen")):
        arr = np.array(run[key])
        arr = np.log(np.maximum(arr, 1e-300)) if log else arr
        x = np.arange(arr.shape[1])
        ax.plot(x, arr.mean(0), color=f"C{i}", label=key)
        ax.fill_between(x, arr.min(0), arr.max(0), color=f"C{i}", alpha=0.2)
    ax.set_ylim(*((-25, 0.5) if log else (-0.02, 1.02)))
    if log:
        ax.set_xlabel("epoch")
    else:
        ax.set_title(title, fontsize=9)


def plot(runs: dict[str, dict], keys: list[str], path: Path, titles: dict[str, str]) -> None:
    """One column per run key: the masses (top) and their ln (bottom)."""
    fig, axes = plt.subplots(
        2, len(keys), figsize=(3.6 * len(keys), 5.6), sharex=True, sharey="row", squeeze=False
    )
    for col, key in enumerate(keys):
        panel(axes[0, col], runs[key], titles.get(key, key), log=False)
        panel(axes[1, col], runs[key], titles.get(key, key), log=True)
    axes[0, 0].set_ylabel("probability mass\n(mean over prompts)")
    axes[1, 0].set_ylabel("ln probability mass")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(Args, __doc__, argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    runs = run_grid(args)
    summary = summarise(runs)
    tests = comparisons(runs)
    text = tables(runs, summary, tests, args.seeds)
    print(text)
    (out / "tables.md").write_text(text)
    titles = {
        "dpo/on_on": "DPO, on-policy (chosen & rejected)",
        "dpo/off_off": "DPO, off-policy (chosen & rejected)",
        "dpo/on_off": "DPO, chosen on, rejected off",
        "dpo/off_on": "DPO, chosen off, rejected on",
    }
    plot(runs, [f"dpo/{sc}" for sc in SCENARIOS], out / "figure.png", titles)
    fixes = ["dpo/on_on"] + [
        k for k in runs if k.startswith(("dpo_flex", "dpo_sft")) and k.endswith("/on_on")
    ]
    plot(runs, fixes, out / "fixes.png", titles)
    results = {
        "setup": {
            **args.to_dict(),
            "env": "PreferenceToy-v0",
            "pairs_per_prompt": 64,
            "batch_size": 64,
            "policy_rank": 2,
        },
        "runs": runs,
        "summary": summary,
        "comparisons": tests,
        "seconds": time.perf_counter() - t0,
    }
    (out / "results.json").write_text(json.dumps(results))
    print(f"wrote {out}/results.json, tables.md, figure.png, fixes.png")
    print(f"{results['seconds']:.0f} s")
    return results


if __name__ == "__main__":
    main()
