"""GPT against Future Token Prediction on ToyCoding-v0 (Walker 2024, arXiv 2410.18160).

    python scripts/reproduce_ftp.py --out results/ftp --seeds 3
    python scripts/reproduce_ftp.py --out results/ftp-few --corpus-size 2000 --runs gpt,ftp

ToyCoding-v0: write exactly K operations (+1, +3, *2, -2) that take a
register from x to t without leaving 0..R-1; prompts are split by a fixed
hash into training and held-out sets, and success is measured by running
the programs the models write (greedy) for 500 held-out prompts.

Four runs per seed, all with AdamW (cosine schedule), batch 128:

* ``gpt``: causal transformer (d_model, layers) with a next-token head, ``steps``.
* ``ftp``: the same encoder; each top-layer vector is projected to M pseudo-tokens
  which a one-layer decoder attends to while predicting the next N tokens, loss
  weights γ^k; ``steps``.
* ``gpt_matched_params``: GPT with as many encoder layers as brings its parameter
  count closest to FTP's; ``steps``.
* ``gpt_matched_compute``: ``gpt`` trained for as many steps as take it the
  wall-clock time FTP took (measured on seed 0 of this run).

``--corpus-size n`` trains every run on one fixed set of n training programs
instead of fresh ones (the data-limited regime; docs/ftp.md). ``--runs`` picks
some of the four; the matched runs need ``ftp`` (and ``gpt``, for compute).

Writes ``results.json`` (per run key: ``success_rate`` greedy and
``success_rate_sampled`` (one per seed), ``params``, ``train_seconds``,
``adjacent_cosine`` (mean cosine of neighbouring top-layer vectors over held-out
programs), ``curve`` (success rate at every ``eval_every`` steps, per seed),
``steps``; and ``setup``) and ``success.png`` (success rate against steps).
"""

import dataclasses
import json
import time
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")
import gymnasium as gym  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import quadgym  # noqa: E402
from quadgym.cli import parse_args  # noqa: E402
from quadgym.config import TypedConfig, param  # noqa: E402

#: The runs, in the order they train: the matched ones are sized from ``ftp`` and ``gpt``.
RUNS = ("ftp", "gpt", "gpt_matched_params", "gpt_matched_compute")
Run = Literal[RUNS]
#: What each matched run is sized from.
NEEDS = {"gpt_matched_params": ("ftp",), "gpt_matched_compute": ("ftp", "gpt")}


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    out: str = param("results/ftp", "output directory (results.json, success.png)")
    seeds: int = param(3, "seeds per run: 0, 1, ...", ge=1)
    steps: int = param(
        3000, "training steps (gradient updates) of gpt, ftp, gpt_matched_params", ge=1
    )
    eval_every: int = param(500, "steps between evaluations on held-out prompts", ge=1)
    eval_prompts: int = param(500, "held-out prompts per evaluation", ge=1)
    d_model: int = param(64, "transformer width", ge=1)
    layers: int = param(2, "encoder layers of gpt and ftp", ge=1)
    n_future: int = param(3, "tokens ftp predicts from each position (N)", ge=1)
    pseudo_len: int = param(4, "pseudo-tokens per top-layer vector in ftp (M)", ge=1)
    gamma: float = param(0.5, "ftp's loss weight γ^k of the k-th future token", gt=0)
    lr: float = param(2e-3, "AdamW peak step size (cosine schedule)", gt=0)
    batch_size: int = param(128, "programs per step", ge=1)
    value_range: int = param(32, "register values 0..R-1 of ToyCoding-v0 (R)", ge=2)
    min_ops: int = param(3, "fewest operations in a program (K)", ge=1)
    max_ops: int = param(6, "most operations in a program (K)", ge=1)
    corpus_size: int | None = param(
        None, "train on one fixed set of this many programs; none: fresh programs every step", ge=1
    )
    runs: tuple[Run, ...] = param(RUNS, "the runs to make, comma-separated")

    def check(self) -> None:
        """At least one run, and the runs a matched run is sized from."""
        if not self.runs:
            raise ValueError("runs must name at least one run")
        for run, needs in NEEDS.items():
            missing = [n for n in needs if run in self.runs and n not in self.runs]
            if missing:
                raise ValueError(
                    f"runs: {run} is sized from {' and '.join(needs)}; add {', '.join(missing)}"
                )


def train(name: str, seed: int, steps: int, args: Args, **net) -> dict:
    """One model, one seed: the curve, final scores, parameters and seconds."""
    env = gym.make(
        "ToyCoding-v0", value_range=args.value_range, min_ops=args.min_ops, max_ops=args.max_ops
    )
    algo = quadgym.make_algo(
        name,
        env,
        seed=seed,
        lr=args.lr,
        batch_size=args.batch_size,
        horizon=steps,
        corpus_size=args.corpus_size,
        **net,
    )
    curve, seconds = [], 0.0
    while algo.steps_done < steps:
        start = time.perf_counter()
        algo.learn(min(args.eval_every, steps - algo.steps_done))
        seconds += time.perf_counter() - start
        curve.append((algo.steps_done, algo.evaluate(args.eval_prompts)))
    return {
        "success_rate": curve[-1][1],
        "success_rate_sampled": algo.evaluate(args.eval_prompts, greedy=False),
        "adjacent_cosine": algo.adjacent_cosine(args.eval_prompts),
        "params": algo.params,
        "train_seconds": seconds,
        "curve": curve,
    }


def matched_layers(args: Args, target: int) -> int:
    """Encoder depth whose GPT parameter count is closest to ``target``."""
    env = gym.make("ToyCoding-v0", value_range=args.value_range, max_ops=args.max_ops)
    counts = {
        layers: quadgym.make_algo("gpt", env, d_model=args.d_model, layers=layers).params
        for layers in range(1, 13)
    }
    return min(counts, key=lambda k: abs(counts[k] - target))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(Args, __doc__, argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    enc = {"d_model": args.d_model, "layers": args.layers}
    ftp_net = {**enc, "n_future": args.n_future, "pseudo_len": args.pseudo_len, "gamma": args.gamma}
    results: dict = {"setup": args.to_dict()}
    plan: dict[str, tuple[str, dict, int]] = {
        "gpt": ("gpt", enc, args.steps),
        "ftp": ("ftp", ftp_net, args.steps),
    }
    runs: dict[str, dict] = {}
    for seed in range(args.seeds):
        for key in RUNS:
            if key not in args.runs:
                continue
            if key == "gpt_matched_params" and key not in plan:
                layers = matched_layers(args, runs["ftp"]["params"][0])
                plan[key] = ("gpt", {**enc, "layers": layers}, args.steps)
                results["setup"]["matched_params_layers"] = layers
            if key == "gpt_matched_compute" and key not in plan:
                ratio = runs["ftp"]["train_seconds"][0] / runs["gpt"]["train_seconds"][0]
                steps = int(round(args.steps * ratio / args.eval_every)) * args.eval_every
                plan[key] = ("gpt", enc, steps)
                results["setup"]["matched_compute_steps"] = steps
            name, net, steps = plan[key]
            r = train(name, seed, steps, args, **net)
            run = runs.setdefault(key, {"steps": steps})
            for field, value in r.items():
                run.setdefault(field, []).append(value)
            print(
                f"  {key:<20} seed {seed}: success {r['success_rate']:.3f} "
                f"(sampled {r['success_rate_sampled']:.3f}), cosine {r['adjacent_cosine']:.3f}, "
                f"{r['params']} params, {r['train_seconds']:.0f} s",
                flush=True,
            )
    for key, run in runs.items():
        run["params"] = run["params"][0]
        results[key] = run
    (out / "results.json").write_text(json.dumps(results, indent=1))

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, (key, run) in enumerate(runs.items()):
        curves = np.array([[s for _, s in c] for c in run["curve"]])
        steps = [t for t, _ in run["curve"][0]]
        ax.plot(steps, curves.mean(0), color=f"C{i}", label=f"{key} ({run['params'] // 1000}k)")
        ax.fill_between(steps, curves.min(0), curves.max(0), color=f"C{i}", alpha=0.2)
    ax.set_xlabel("training steps (batch 128)")
    ax.set_ylabel("success rate, held-out prompts (greedy)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "success.png", dpi=90)
    plt.close(fig)
    print(f"wrote {out / 'results.json'}, {out / 'success.png'}")


if __name__ == "__main__":
    main()
