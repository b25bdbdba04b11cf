"""Reproduce DPO's 3D-properties on PreferenceToy-v0 (Yan et al. 2024, arXiv 2406.07327).

    python scripts/reproduce_dpo3d.py --out results/dpo3d --seeds 3
    python scripts/reproduce_dpo3d.py --out results/dpo3d-quick --seeds 1 --epochs 50 \
        --beta-minus 0.05,0.01 --sft-lambda 1.0

PreferenceToy-v0: 4 prompts, 10 responses, a Bradley–Terry oracle; the policy
is a prompt MLP with a rank-2 response embedding, first fitted to π_ref (and
then π_ref is that fitted model). Each run trains ``epochs`` passes over 64
pairs per prompt with Adam (lr 1e-3, batch 64, β = 0.1) and logs, every
epoch, the probability mass on the chosen, rejected and unseen responses
(mean over prompts).

Runs: plain DPO in the four scenarios (chosen on/off-policy × rejected
on/off-policy); the mitigations on on-policy data, DPO with β⁻ below β⁺ = β
and DPO + λ·SFT on the chosen responses; IPO and SLiC on on-policy data.

Writes ``results.json`` (per run key: ``chosen``, ``rejected``, ``unseen``,
one per-epoch list per seed; ``setup``) and ``scenarios.png``,
``mitigations.png``.
"""

import dataclasses
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import quadgym  # noqa: E402
from quadgym.cli import parse_args  # noqa: E402
from quadgym.config import TypedConfig, param  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    out: str = param("results/dpo3d", "output directory (results.json and the figures)")
    seeds: int = param(3, "seeds per run: 0, 1, ...", ge=1)
    epochs: int = param(300, "training epochs (passes over the 64 pairs per prompt)", ge=1)
    beta: float = param(0.1, "β of every method; β⁺ of dpo_flex", gt=0)
    lr: float = param(1e-3, "Adam step size", gt=0)
    beta_minus: tuple[float, ...] = param(
        (0.05, 0.02, 0.01), "β⁻ of dpo_flex, one run per value, each > 0"
    )
    sft_lambda: tuple[float, ...] = param((0.1, 1.0), "λ of dpo_sft, one run per value, each >= 0")

    def check(self) -> None:
        """Each β⁻ is positive and each λ non-negative."""
        if any(b <= 0 for b in self.beta_minus):
            raise ValueError(f"beta_minus values must be > 0, got {self.beta_minus}")
        if any(lam < 0 for lam in self.sft_lambda):
            raise ValueError(f"sft_lambda values must be >= 0, got {self.sft_lambda}")


def curves(algo: str, scenario: str, args: Args, **config) -> dict:
    chosen, rejected = scenario.split("_")
    out = {"chosen": [], "rejected": [], "unseen": []}
    for seed in range(args.seeds):
        agent = quadgym.make_algo(
            algo,
            "PreferenceToy-v0",
            chosen=chosen,
            rejected=rejected,
            seed=seed,
            beta=args.beta,
            lr=args.lr,
            **config,
        )
        hist = agent.learn(args.epochs)
        for key in out:
            out[key].append([h[key] for h in hist])
    c = np.array(out["chosen"])
    print(
        f"  {algo:<9}{scenario:<8}{str(config):<28} chosen: start {c[:, 0].mean():.3f} "
        f"peak {c.max(1).mean():.3f} end {c[:, -1].mean():.3f}; "
        f"unseen end {np.mean([u[-1] for u in out['unseen']]):.3f}"
    )
    return out


def panel(ax, run: dict, title: str) -> None:
    for i, key in enumerate(("chosen", "rejected", "unseen")):
        arr = np.array(run[key])
        ax.plot(arr.mean(0), color=f"C{i}", label=key)
        ax.fill_between(np.arange(arr.shape[1]), arr.min(0), arr.max(0), color=f"C{i}", alpha=0.2)
    ax.set_title(title, fontsize=9)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("epoch")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(Args, __doc__, argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "setup": {
            **args.to_dict(),
            "env": "PreferenceToy-v0",
            "pairs_per_prompt": 64,
            "batch_size": 64,
            "policy_rank": 2,
        }
    }
    for scenario in ("on_on", "on_off", "off_on", "off_off"):
        results[f"dpo/{scenario}"] = curves("dpo", scenario, args)
    for b in args.beta_minus:
        results[f"dpo_flex/beta_minus={b}"] = curves(
            "dpo_flex", "on_on", args, beta_plus=args.beta, beta_minus=b
        )
    for lam in args.sft_lambda:
        results[f"dpo_sft/lambda={lam}"] = curves("dpo_sft", "on_on", args, sft_weight=lam)
    results["ipo/on_on"] = curves("ipo", "on_on", args)
    results["slic/on_on"] = curves("slic", "on_on", args)
    (out / "results.json").write_text(json.dumps(results))

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), sharey=True)
    for ax, sc in zip(axes, ("on_on", "on_off", "off_on", "off_off"), strict=True):
        panel(
            ax,
            results[f"dpo/{sc}"],
            f"DPO, chosen {sc.split('_')[0]}-policy, rejected {sc.split('_')[1]}-policy",
        )
    axes[0].set_ylabel("probability mass (mean over prompts)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "scenarios.png", dpi=90)
    plt.close(fig)

    keys = [k for k in results if k.startswith(("dpo_flex", "dpo_sft", "ipo", "slic"))]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 3.6), sharey=True)
    for ax, key in zip(axes, keys, strict=True):
        panel(ax, results[key], key + " (on_on)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "mitigations.png", dpi=90)
    plt.close(fig)
    print(f"wrote {out / 'results.json'}, {out / 'scenarios.png'}, {out / 'mitigations.png'}")


if __name__ == "__main__":
    main()
