"""Reproduce Figure 1 of "Contrastive Policy Gradient" (Flet-Berliac et al. 2024).

    python scripts/reproduce_copg.py --out results/copg --seeds 3
    python scripts/reproduce_copg.py --out results/copg-constant --lr 1e-3 --schedule constant

The paper's toy: a 3-armed bandit, R = (2.5, 2, 1), β = 0.5, π_ref uniform;
10⁴ off-policy pairs y ~ μ1 = (0.1, 0.2, 0.7), y' ~ μ2 = (0.05, 0.05, 0.9);
Adam, batch 512. The paper trains with lr 1e-3 for 100 epochs, which leaves
CoPG short of π*; here lr 1e-2 with a cosine decay to 0 over 100 epochs,
with which every method settles on its fixed point (the final regret is the
one reported: a method that dips and drifts away is not judged at its dip).

Methods: CoPG, IPO and DPO (Bradley–Terry labels), off-policy policy gradient
without a baseline (``pg``) and with the exact value E_π[R] as baseline
(``pg_value``), and on-policy RLOO for reference. Then the same on the
``CoPGSequence-v0`` task (V = 4, L = 4, 256 sequences, an autoregressive
MLP policy, lr 3e-3) into ``OUT/sequence/``.

Writes ``regret.png`` and ``results.json`` (per method: ``final_regret`` and
``final_policy`` per seed, ``regret_curve`` per seed; ``optimal_policy``;
``setup``).
"""

import dataclasses
import json
import time
from pathlib import Path

import gymnasium as gym
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import quadgym  # noqa: E402
from quadgym.agents.schedule import Schedule  # noqa: E402
from quadgym.cli import parse_args  # noqa: E402
from quadgym.config import TypedConfig, param  # noqa: E402

METHODS = {  # result key -> (plugin, extra config)
    "copg": ("copg", {}),
    "ipo": ("ipo", {}),
    "dpo": ("dpo", {}),
    "pg": ("pg", {"baseline": "none"}),
    "pg_value": ("pg", {"baseline": "value"}),
    "rloo": ("rloo", {}),
}


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    out: str = param("results/copg", "output directory (results.json, regret.png, sequence/)")
    seeds: int = param(3, "seeds per method: 0, 1, ...", ge=1)
    epochs: int = param(100, "training epochs (passes over the pairs)", ge=1)
    lr: float = param(1e-2, "Adam step size on the bandit", gt=0)
    sequence_lr: float = param(3e-3, "Adam step size on the sequence task", gt=0)
    batch_size: int = param(512, "pairs per gradient step", ge=1)
    n_pairs: int = param(10_000, "off-policy pairs (y, y') in the data set", ge=1)
    beta: float = param(0.5, "β, the strength of the KL regularisation towards π_ref", gt=0)
    schedule: Schedule = param(
        "cosine", "learning rate: constant, or cosine decay to 0 over --epochs"
    )


def run(env_id: str, lr: float, args: Args, mu: dict) -> dict:
    """Every method on every seed; returns the results dict written to JSON."""
    env = gym.make(env_id).unwrapped
    results: dict = {
        "optimal_policy": env.optimal_policy(args.beta).tolist(),
        "reference_regret": env.regret(env.ref_policy, args.beta),
        "setup": {**args.to_dict(), "env": env_id, "lr": lr, **mu},
    }
    for key, (plugin, extra) in METHODS.items():
        rec = {"final_regret": [], "final_policy": [], "regret_curve": [], "seconds": []}
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            algo = quadgym.make_algo(
                plugin,
                env_id,
                seed=seed,
                lr=lr,
                beta=args.beta,
                batch_size=args.batch_size,
                n_pairs=args.n_pairs,
                schedule=args.schedule,
                **mu,
                **extra,
            )
            hist = algo.learn(args.epochs)
            rec["final_regret"].append(hist[-1]["regret"])
            rec["final_policy"].append(hist[-1]["policy"])
            rec["regret_curve"].append([h["regret"] for h in hist])
            rec["seconds"].append(time.perf_counter() - t0)
        results[key] = rec
        print(
            f"  {key:<9} final regret {np.mean(rec['final_regret']):.2e} "
            f"(seeds: {', '.join(f'{r:.2e}' for r in rec['final_regret'])})"
        )
    return results


def plot(results: dict, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, key in enumerate(METHODS):
        curves = np.maximum(np.array(results[key]["regret_curve"]), 1e-12)  # log scale floor
        epochs = np.arange(1, curves.shape[1] + 1)
        mean = curves.mean(axis=0)
        ax.plot(epochs, mean, color=f"C{i}", label=key)
        ax.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), color=f"C{i}", alpha=0.2)
    ax.axhline(results["reference_regret"], color="k", ls=":", lw=1, label="π_ref")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("regret J(π*) − J(π)")
    ax.set_title(title + " (mean, band: min–max over seeds)")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(Args, __doc__, argv)
    torch.set_num_threads(1)
    out = Path(args.out)

    print("bandit (paper Figure 1)")
    mu = {"mu1": [0.1, 0.2, 0.7], "mu2": [0.05, 0.05, 0.9]}
    bandit = run("CoPGBandit-v0", args.lr, args, mu)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(bandit, indent=1))
    plot(bandit, out / "regret.png", "CoPG bandit")

    print("sequence task (V=4, L=4)")
    rng = np.random.default_rng(12345)  # behaviour policies with full support
    n = gym.make("CoPGSequence-v0").unwrapped.num_outcomes
    mu = {"mu1": rng.dirichlet(np.ones(n)).tolist(), "mu2": rng.dirichlet(np.ones(n)).tolist()}
    seq = run("CoPGSequence-v0", args.sequence_lr, args, mu)
    (out / "sequence").mkdir(exist_ok=True)
    (out / "sequence" / "results.json").write_text(json.dumps(seq, indent=1))
    plot(seq, out / "sequence" / "regret.png", "CoPG sequence task")
    print(f"wrote {out / 'results.json'}, {out / 'regret.png'} and {out / 'sequence'}/")


if __name__ == "__main__":
    main()
