"""GPT against Future Token Prediction on ToyCoding-v0 (Walker 2024, arXiv 2410.18160).

    python scripts/reproduce_ftp.py --out results/ftp            # default run, < 5 min on one core
    python scripts/reproduce_ftp.py --out results/ftp-full --full  # the long version

The default run is the data-limited comparison the tests pin, against the fair
baseline: ``ftp`` and ``gpt_regularised`` trained for 800 steps on one fixed set of
1000 training programs, 5 seeds, evaluated on 300 held-out prompts (add
``--runs ftp,gpt,gpt_regularised`` for the unregularised GPT too, about 20 s more a
seed). ``--full`` is the long version: fresh programs every step, 3000 steps, all
five runs below, 500 held-out prompts. Any of
``--steps``, ``--corpus-size``, ``--runs``, ``--eval-prompts`` given explicitly
overrides the preset. Wall times on one core: docs/ftp.md.

ToyCoding-v0: write exactly K operations (+1, +3, *2, -2) that take a
register from x to t without leaving 0..R-1; prompts are split by a fixed
hash into training and held-out sets, and success is measured by running
the programs the models write (greedy) for 500 held-out prompts.

Five runs per seed, all with AdamW (cosine schedule), batch 128:

* ``gpt``: causal transformer (d_model, layers) with a next-token head, ``steps``.
* ``ftp``: the same encoder; each top-layer vector is projected to M pseudo-tokens
  which a one-layer decoder attends to while predicting the next N tokens, loss
  weights γ^k; ``steps``.
* ``gpt_regularised``: ``gpt`` with what a practitioner would add against
  overfitting: dropout, stronger weight decay, and early stopping on the next-token
  loss of held-out training-split programs (the best weights are kept); ``steps``.
* ``gpt_matched_params``: GPT with as many encoder layers as brings its parameter
  count closest to FTP's; ``steps``.
* ``gpt_matched_compute``: ``gpt`` trained for as many steps as take it the
  wall-clock time FTP took (measured on seed 0 of this run).

``--corpus-size n`` trains every run on one fixed set of n training programs
(with ``--full`` too; ``--full`` alone trains on fresh ones every step).
``--runs`` picks some of the five; the matched runs need ``ftp`` (and ``gpt``,
for compute).

Writes ``results.json`` (per run key: ``success_rate`` greedy and
``success_rate_sampled`` (one per seed), ``params``, ``train_seconds``,
``adjacent_cosine`` (mean cosine of neighbouring top-layer vectors over held-out
programs), ``curve`` (success rate at every ``eval_every`` steps, per seed),
``steps``; and ``setup``; and ``summary``: per run the mean over seeds with its 95 %
t-interval of success and cosine, and ``ftp`` against ``gpt`` paired by seed,
quadgym.stats) and ``success.png`` (success rate against steps).
"""

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")
import gymnasium as gym  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import quadgym  # noqa: E402
from quadgym.cli import parse_args  # noqa: E402
from quadgym.config import TypedConfig, param  # noqa: E402
from quadgym.stats import paired_test, t_interval  # noqa: E402

#: The runs, in the order they train: the matched ones are sized from ``ftp`` and ``gpt``.
RUNS = ("ftp", "gpt", "gpt_regularised", "gpt_matched_params", "gpt_matched_compute")
Run = Literal[RUNS]
#: What each matched run is sized from.
NEEDS = {"gpt_matched_params": ("ftp",), "gpt_matched_compute": ("ftp", "gpt")}
#: (default run, ``--full``) values of the fields left at None.
PRESETS = {
    "steps": (800, 3000),
    "corpus_size": (1000, None),
    "runs": (("ftp", "gpt_regularised"), RUNS),
    "eval_prompts": (300, 500),
}


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    out: str = param("results/ftp", "output directory (results.json, success.png)")
    full: bool = param(
        False,
        "the long version: fresh programs, 3000 steps, all five runs, 500 held-out prompts",
    )
    seeds: int = param(5, "seeds per run: 0, 1, ...", ge=1)
    steps: int | None = param(
        None,
        "training steps (gradient updates) of gpt, ftp, gpt_matched_params; none: 800, "
        "3000 with --full",
        ge=1,
    )
    eval_every: int = param(400, "steps between evaluations on held-out prompts", ge=1)
    eval_prompts: int | None = param(
        None, "held-out prompts per evaluation; none: 300, 500 with --full", ge=1
    )
    d_model: int = param(64, "transformer width", ge=1)
    layers: int = param(2, "encoder layers of gpt and ftp", ge=1)
    n_future: int = param(3, "tokens ftp predicts from each position (N)", ge=1)
    pseudo_len: int = param(4, "pseudo-tokens per top-layer vector in ftp (M)", ge=1)
    gamma: float = param(0.5, "ftp's loss weight γ^k of the k-th future token", gt=0)
    reg_dropout: float = param(0.1, "gpt_regularised: dropout in the encoder", ge=0, lt=1)
    reg_weight_decay: float = param(0.1, "gpt_regularised: AdamW weight decay", ge=0)
    reg_early_stop_every: int = param(
        50, "gpt_regularised: updates between early-stopping checks (0: off)", ge=0
    )
    reg_patience: int = param(4, "gpt_regularised: checks without improvement to stop", ge=1)
    lr: float = param(2e-3, "AdamW peak step size (cosine schedule)", gt=0)
    batch_size: int = param(128, "programs per step", ge=1)
    value_range: int = param(32, "register values 0..R-1 of ToyCoding-v0 (R)", ge=2)
    min_ops: int = param(3, "fewest operations in a program (K)", ge=1)
    max_ops: int = param(6, "most operations in a program (K)", ge=1)
    corpus_size: int | None = param(
        None,
        "train on one fixed set of this many programs; none: 1000 programs in the default "
        "run, fresh programs every step with --full",
        ge=1,
    )
    runs: tuple[Run, ...] | None = param(
        None, "the runs to make, comma-separated; none: ftp,gpt_regularised; all five with --full"
    )

    def resolved(self, field: str) -> Any:
        """``field``'s value, or the preset of the default run or ``--full`` if None
        (``corpus_size`` None with ``--full``: fresh programs)."""
        value = getattr(self, field)
        return PRESETS[field][int(self.full)] if value is None else value

    def check(self) -> None:
        """At least one run, and the runs a matched run is sized from."""
        runs = self.resolved("runs")
        if not runs:
            raise ValueError("runs must name at least one run")
        for run, needs in NEEDS.items():
            missing = [n for n in needs if run in runs and n not in runs]
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
        corpus_size=args.resolved("corpus_size"),
        **net,
    )
    n_eval = args.resolved("eval_prompts")
    curve, seconds = [], 0.0
    while algo.steps_done < steps:
        start = time.perf_counter()
        algo.learn(min(args.eval_every, steps - algo.steps_done))
        seconds += time.perf_counter() - start
        curve.append((algo.steps_done, algo.evaluate(n_eval)))
    return {
        "success_rate": curve[-1][1],
        "success_rate_sampled": algo.evaluate(n_eval, greedy=False),
        "adjacent_cosine": algo.adjacent_cosine(n_eval),
        "params": algo.params,
        "validation_loss": algo.validation_loss(),
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


#: What the summary compares: greedy success, adjacent cosine, next-token loss (nats).
FIELDS = ("success_rate", "adjacent_cosine", "validation_loss")


def summary(runs: dict[str, dict]) -> dict[str, dict]:
    """Per run: mean and 95 % t-interval over seeds of :data:`FIELDS` (``[mean, low,
    high]``); ``ftp_vs_<run>``: ``ftp`` against each other run, paired by seed."""
    out: dict[str, dict] = {
        key: {f: list(t_interval(run[f])) for f in FIELDS} for key, run in runs.items()
    }
    for key in runs:
        if key != "ftp" and "ftp" in runs:
            out[f"ftp_vs_{key}"] = {f: paired_test(runs["ftp"][f], runs[key][f]) for f in FIELDS}
    return out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(Args, __doc__, argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    enc = {"d_model": args.d_model, "layers": args.layers}
    ftp_net = {**enc, "n_future": args.n_future, "pseudo_len": args.pseudo_len, "gamma": args.gamma}
    results: dict = {"setup": {**args.to_dict(), **{f: args.resolved(f) for f in PRESETS}}}
    n_steps, runs_wanted = args.resolved("steps"), args.resolved("runs")
    plan: dict[str, tuple[str, dict, int]] = {
        "gpt": ("gpt", enc, n_steps),
        "ftp": ("ftp", ftp_net, n_steps),
        "gpt_regularised": (
            "gpt",
            {
                **enc,
                "dropout": args.reg_dropout,
                "weight_decay": args.reg_weight_decay,
                "early_stop_every": args.reg_early_stop_every,
                "patience": args.reg_patience,
            },
            n_steps,
        ),
    }
    runs: dict[str, dict] = {}
    for seed in range(args.seeds):
        for key in RUNS:
            if key not in runs_wanted:
                continue
            if key == "gpt_matched_params" and key not in plan:
                layers = matched_layers(args, runs["ftp"]["params"][0])
                plan[key] = ("gpt", {**enc, "layers": layers}, n_steps)
                results["setup"]["matched_params_layers"] = layers
            if key == "gpt_matched_compute" and key not in plan:
                ratio = runs["ftp"]["train_seconds"][0] / runs["gpt"]["train_seconds"][0]
                steps = int(round(n_steps * ratio / args.eval_every)) * args.eval_every
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
                f"next-token loss {r['validation_loss']:.3f}, "
                f"{r['params']} params, {r['train_seconds']:.0f} s",
                flush=True,
            )
    for key, run in runs.items():
        run["params"] = run["params"][0]
        results[key] = run
    results["summary"] = summary(runs)
    for key, line in results["summary"].items():
        print(f"  {key}: {line}")
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
