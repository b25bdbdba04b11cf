"""Export a trained run's policy for deployment: ONNX, TorchScript or a NumPy .npz.

    python scripts/export.py --run baselines/QuadHover-v0-ppo-s0 --format onnx
    python scripts/export.py --run runs/QuadHover-v0-ppo-s0 --format numpy --out hover.npz

Writes the run's deterministic policy with its observation normalisation folded in: the
file takes the env's raw observation (float32, batch first) and returns the action the
plugin's ``act`` would, to float32 round-off (``quadgym/export.py``). ``onnx`` runs in
onnxruntime (``pip install "quadgym[export]"``); ``torchscript`` with ``torch.jit.load``;
``numpy`` with ``quadgym.deploy.MLPPolicy.load(path).act(obs)``, NumPy alone. Exportable:
MLP policies over kinematic observations (``ppo``, ``ppo_shared``). Default ``--out``:
``results/export/<run name>.<onnx|pt|npz>``.
"""

import dataclasses
import sys
from pathlib import Path

from quadgym.cli import parse_args
from quadgym.config import TypedConfig, param
from quadgym.export import FORMATS, export, mlp_policy
from quadgym.outdir import out_problem
from quadgym.runs.load import load_run, run_problem


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    run: str = param(dataclasses.MISSING, "run directory written by scripts/train.py")
    format: str = param("onnx", "the file's format", choices=tuple(FORMATS))
    out: str | None = param(None, "the file to write (default results/export/<run>.<suffix>)")


def out_path(args: Args) -> Path:
    """``--out``, else ``results/export/<run name><the format's suffix>``."""
    name = Path(args.run).resolve().name + FORMATS[args.format]
    return Path(args.out) if args.out else Path("results", "export", name)


def problem(args: Args) -> str | None:
    """Why the run cannot be exported to --out (checked before anything is built), or None."""
    run = Path(args.run)
    if not (run / "state.json").is_file() or not (run / "checkpoint.bin").is_file():
        return f"{run} has no state.json and checkpoint.bin; is it a run directory?"
    return out_problem(out_path(args).absolute().parent, "--out") or run_problem(run)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(Args, __doc__, argv, check=problem)
    import torch

    torch.set_num_threads(1)
    state, algo = load_run(Path(args.run))
    try:
        policy = mlp_policy(algo)
    except ValueError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 2
    out = out_path(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    export(policy, args.format, out)
    layers = " -> ".join(str(w.shape[1]) for w in policy.weights)
    print(
        f"wrote {out}: {state['algo']} on {state['env']}, {layers} -> {policy.weights[-1].shape[0]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
