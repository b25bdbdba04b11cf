"""Throughput of the HARD and FTP toys: env steps, training updates and evaluation.

    .venv/bin/python benchmarks/bench_toys.py [--updates 100] [--out benchmarks/results/toys.json]

* ``ToyCoding-v0``: env steps/s writing random tokens through ``gym.make``.
* ``gpt``, ``ftp``: training steps/s (batch 128 sequences, default sizes) and
  held-out programs written and run per second (greedy, ``evaluate(500)``).
* ``HardShift-v0`` (toy data): env steps/s with shift 0 (each step measures the
  teacher-student KL on 32 signals and takes one distillation update), and
  updates/s of the ``hard``, ``hard_grad`` and ``hard_warp`` plugins and of
  ``hard_warp_mix`` (``hard_warp`` with ``sampler="nearest"``,
  ``standard="random_shift"``, ``warp_fraction=0.25``, as in
  ``scripts/reproduce_hard.py``): env step plus the augmentor's own update.

Torch runs on one thread. Each row names its workload. Prints a table and
writes the figures as JSON stamped by ``record.stamp``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch
from record import arguments, stamp, write_result

import quadgym


def rate(fn: Callable[[], object], count: int) -> float:
    """``count`` / seconds taken by ``fn()``."""
    start = time.perf_counter()
    fn()
    return count / (time.perf_counter() - start)


def coding_env_steps(n: int) -> None:
    """``n`` steps of ToyCoding-v0 with random tokens, resetting when an episode ends."""
    env = gym.make("ToyCoding-v0")
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(n):
        *_, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()


def hard_env_steps(n: int) -> None:
    """``n`` steps of HardShift-v0 with shift 0 (each one a KL measure and an update)."""
    env = gym.make("HardShift-v0", budget=n + 1)
    env.reset(seed=0)
    zero = np.zeros(env.action_space.shape, dtype=np.int64)
    for _ in range(n):
        env.step(zero)


def main() -> None:
    ap = arguments(__doc__, "toys.json")
    ap.add_argument("--updates", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(1)
    meta = stamp(torch_threads=torch.get_num_threads())
    n = args.updates
    rows = []

    def record(what: str, unit: str, workload: str, value: float) -> None:
        rows.append({"what": what, "unit": unit, "workload": workload, "per_s": round(value, 1)})
        print(f"{what:<38}{value:>12,.1f}  {unit}/s", flush=True)

    print(f"{'':<38}{'rate':>12}")
    record(
        "ToyCoding-v0 env",
        "env steps",
        "random tokens with resets, through gym.make",
        rate(lambda: coding_env_steps(20 * n), 20 * n),
    )
    for name in ("gpt", "ftp"):
        algo = quadgym.make_algo(name, "ToyCoding-v0", seed=0)
        algo.learn(5)  # warm-up
        record(
            f"{name} training (batch 128)",
            "steps",
            "learn(): training steps of 128 sequences, after 5 warm-up steps",
            rate(lambda a=algo: a.learn(n), n),
        )
        record(
            f"{name} evaluate(500), greedy",
            "programs",
            "evaluate(500): held-out programs written greedily and run",
            rate(lambda a=algo: a.evaluate(500), 500),
        )
    quadgym.make_algo("kd", "HardShift-v0")  # trains and caches the teacher outside the timing
    record(
        "HardShift-v0 env (toy, shift 0)",
        "env steps",
        "step() with shift 0: teacher-student KL on 32 signals and one distillation update",
        rate(lambda: hard_env_steps(n), n),
    )
    mix = {"sampler": "nearest", "standard": "random_shift", "warp_fraction": 0.25}
    for label, name, config in (
        ("hard", "hard", {}),
        ("hard_grad", "hard_grad", {}),
        ("hard_warp", "hard_warp", {}),
        ("hard_warp_mix", "hard_warp", mix),
    ):
        algo = quadgym.make_algo(name, "HardShift-v0", seed=0, **config)
        record(
            f"{label} (env step + augmentor)",
            "updates",
            "learn(): env step plus the augmentor's own update",
            rate(lambda a=algo: a.learn(n), n),
        )
    write_result(args.out, meta, results=rows)


if __name__ == "__main__":
    main()
