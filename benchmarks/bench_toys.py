"""Throughput of the HARD and FTP toys: env steps, training updates and evaluation.

    .venv/bin/python benchmarks/bench_toys.py [--updates 100]

* ``ToyCoding-v0``: env steps/s writing random tokens through ``gym.make``.
* ``gpt``, ``ftp``: training steps/s (batch 128 sequences, default sizes) and
  held-out programs written and run per second (greedy, ``evaluate(500)``).
* ``HardShift-v0`` (toy data): env steps/s with shift 0 (each step measures the
  teacher-student KL on 32 signals and takes one distillation update), and
  updates/s of the ``hard`` and ``hard_grad`` plugins (env step plus the
  augmentor's own update).

Torch runs on one thread. Prints a table and writes ``results/toys.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import quadgym


def rate(fn, count: int) -> float:
    """``count`` / seconds taken by ``fn()``."""
    start = time.perf_counter()
    fn()
    return count / (time.perf_counter() - start)


def coding_env_steps(n: int) -> None:
    env = gym.make("ToyCoding-v0")
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(n):
        *_, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()


def hard_env_steps(n: int) -> None:
    env = gym.make("HardShift-v0", budget=n + 1)
    env.reset(seed=0)
    zero = np.zeros(env.action_space.shape, dtype=np.int64)
    for _ in range(n):
        env.step(zero)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--updates", type=int, default=100)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "toys.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    n = args.updates
    rows = []

    def record(what: str, unit: str, value: float) -> None:
        rows.append({"what": what, "unit": unit, "per_s": round(value, 1)})
        print(f"{what:<34}{value:>12,.1f}  {unit}/s", flush=True)

    print(f"{'':<34}{'rate':>12}")
    record("ToyCoding-v0 env", "env steps", rate(lambda: coding_env_steps(20 * n), 20 * n))
    for name in ("gpt", "ftp"):
        algo = quadgym.make_algo(name, "ToyCoding-v0", seed=0)
        algo.learn(5)  # warm-up
        record(f"{name} training (batch 128)", "steps", rate(lambda a=algo: a.learn(n), n))
        record(
            f"{name} evaluate(500), greedy", "programs", rate(lambda a=algo: a.evaluate(500), 500)
        )
    quadgym.make_algo("kd", "HardShift-v0")  # trains and caches the teacher outside the timing
    record("HardShift-v0 env (toy, shift 0)", "env steps", rate(lambda: hard_env_steps(n), n))
    for name in ("hard", "hard_grad"):
        algo = quadgym.make_algo(name, "HardShift-v0", seed=0)
        record(f"{name} (env step + augmentor)", "updates", rate(lambda a=algo: a.learn(n), n))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": "python benchmarks/bench_toys.py",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
        "torch_threads": torch.get_num_threads(),
    }
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
