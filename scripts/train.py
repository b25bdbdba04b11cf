"""Train any quadgym algorithm plugin on any environment it supports.

    python scripts/train.py --env CoPGBandit-v0 --algo copg --steps 100 --out runs/copg
    python scripts/train.py --env QuadHover-v0 --algo ppo --steps 1000000 --config n_envs=8
    python scripts/train.py --resume runs/copg --steps 200     # continue to 200 in all

The budget (``--steps``) is in the plugin's unit: environment steps for the
online plugins (ppo, sac, td3), epochs over the dataset for the offline ones
(copg, ipo, dpo, ...). Training runs in chunks of ``--checkpoint-every``; after
each chunk the run directory gets ``checkpoint.bin`` (atomically replaced),
``state.json`` (progress), rows in ``metrics.csv`` and TensorBoard events in
``tb/``. Ctrl-C saves a checkpoint and exits cleanly. ``--resume DIR``
reloads the configuration and the last checkpoint and continues; for the
offline plugins the result is identical to an uninterrupted run of the same
seed, for SB3 it continues from the saved model and normalisation statistics
(SB3 does not save its environments' or rollout buffer's state, so the
continuation differs from an uninterrupted run in its random stream).
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import signal
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

import quadgym


def parse_config(items: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are Python literals (numbers, strings, lists, dicts)
    or bare strings.

    Raises:
        ValueError: an item without ``=`` or with an empty key.
    """
    config: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--config takes key=value, got {item!r}")
        try:
            config[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            config[key.strip()] = value
    return config


class RunLog:
    """metrics.csv and TensorBoard events of one run directory."""

    def __init__(self, out: Path):
        from torch.utils.tensorboard import SummaryWriter

        self.csv_path = out / "metrics.csv"
        self.writer = SummaryWriter(str(out / "tb"))
        self.fields: list[str] | None = None
        if self.csv_path.exists():
            with open(self.csv_path) as f:
                self.fields = next(csv.reader(f), None)

    def write(self, step: int, record: dict) -> None:
        row = {"step": step, **{k: v for k, v in record.items() if isinstance(v, int | float)}}
        if self.fields is None:
            self.fields = list(row)
            with open(self.csv_path, "w", newline="") as f:
                csv.writer(f).writerow(self.fields)
        with open(self.csv_path, "a", newline="") as f:
            csv.writer(f).writerow([row.get(k, "") for k in self.fields])
        for key, value in row.items():
            if key != "step":
                self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        self.writer.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--env", help=f"environment id: {', '.join(quadgym.list_envs())}")
    ap.add_argument("--algo", help=f"algorithm plugin: {', '.join(quadgym.list_algos())}")
    ap.add_argument("--steps", type=int, help="total budget in the plugin's unit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--num-envs",
        type=int,
        default=0,
        help="train on this many lanes of the env's batched backend (gym.make_vec)",
    )
    ap.add_argument("--config", nargs="*", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", help="run directory (default runs/<env>-<algo>-s<seed>)")
    ap.add_argument("--resume", metavar="DIR", help="continue the run in DIR")
    ap.add_argument(
        "--checkpoint-every",
        type=int,
        default=0,
        help="budget per chunk between checkpoints (default: a tenth of --steps)",
    )
    ap.add_argument(
        "--stop-after",
        type=int,
        default=0,
        help="train at most this much in this invocation, then checkpoint and exit "
        "(continue later with --resume)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: small networks run fastest on one thread)",
    )
    args = ap.parse_args(argv)

    if args.resume:
        out = Path(args.resume)
        state_path = out / "state.json"
        if not state_path.is_file():
            ap.error(f"--resume {out}: no state.json there; is it a run directory?")
        state = json.loads(state_path.read_text())
        env_id, algo_name, config = state["env"], state["algo"], state["config"]
        total = args.steps or state["total"]
    else:
        if not (args.env and args.algo and args.steps):
            ap.error("--env, --algo and --steps are required (or --resume DIR)")
        try:
            config = {"seed": args.seed, **parse_config(args.config)}
            if args.num_envs:
                config["num_envs"] = args.num_envs
        except ValueError as exc:
            ap.error(str(exc))
        env_id, algo_name, total = args.env, args.algo, args.steps
        out = Path(args.out or f"runs/{env_id}-{algo_name}-s{args.seed}")
        if out.exists() and not out.is_dir():
            ap.error(f"--out {out} is a file, not a directory")
        if (out / "state.json").exists():
            ap.error(f"--out {out} already holds a run; use --resume {out} or another --out")
        state = {"env": env_id, "algo": algo_name, "config": config, "done": 0, "total": total}
    if total < 1:
        ap.error(f"--steps must be positive, got {total}")
    import torch

    torch.set_num_threads(max(1, args.threads))
    try:
        algo = quadgym.make_algo(
            algo_name,
            env_id,
            **{**config, "horizon": total} if _takes_horizon(algo_name) else config,
        )
    except (ValueError, TypeError) as exc:
        ap.error(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint.bin"
    if args.resume and ckpt.exists():
        algo.load(ckpt)
    state["total"] = total
    chunk = args.checkpoint_every or max(1, total // 10)
    log = RunLog(out)
    bar = tqdm(total=total, initial=state["done"], desc=f"{algo_name} on {env_id}", unit="step")
    interrupted = False
    stop_at = state["done"] + args.stop_after if args.stop_after else total

    def on_sigint(signum, frame):
        nonlocal interrupted
        interrupted = True

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        while state["done"] < min(total, stop_at) and not interrupted:
            n = min(chunk, min(total, stop_at) - state["done"])
            start = state["done"]

            def record(rec: dict, start: int = start) -> None:
                # records carry their absolute position: epochs or environment steps
                log.write(int(rec.get("epoch", rec.get("timesteps", start))), rec)
                shown = {
                    k: f"{v:.4g}"
                    for k, v in rec.items()
                    if k in ("mean_return", "loss", "regret", "chosen")
                }
                bar.set_postfix(shown)

            algo.learn(n, callback=record)
            state["done"] += n
            bar.update(n)
            algo.save(ckpt)
            (out / "state.json").write_text(json.dumps(state, indent=1))
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
        log.close()
    if interrupted:
        algo.save(ckpt)
        (out / "state.json").write_text(json.dumps(state, indent=1))
        print(
            f"interrupted: checkpoint saved at {state['done']} of {total}; "
            f"continue with --resume {out}"
        )
        return 130
    print(f"done: {state['done']} in {out} (checkpoint.bin, metrics.csv, tb/)")
    return 0


def _takes_horizon(name: str) -> bool:
    """Whether the plugin's learning-rate schedule needs the run's total budget."""
    return bool(getattr(quadgym.registry.get_algo_class(name), "uses_horizon", False))


if __name__ == "__main__":
    sys.exit(main())
