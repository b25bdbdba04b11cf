"""Time to a hover policy that flies: PPO on QuadHover-v0 with the plugin defaults.

    .venv/bin/python benchmarks/time_to_hover.py [--steps 600000] [--every 50000] [--seeds 0]

Trains the ``ppo`` plugin (``rpm`` actions: per-motor speeds, the low-level
action type) and, every ``--every`` environment steps, evaluates the
deterministic policy on 20 episodes of the default QuadHover-v0 (PyBullet,
take-off from the ground with randomised xy and yaw), the criterion of the
plugin issue: final position error under 0.10 m in every episode and no
crash; and the stricter one of the trained baselines (``rl_baselines.py``):
within 0.10 m from under 3 s on, in every episode (``max_settle_s``, the
slowest episode's :func:`rl_baselines.settle_time`). Wall-clock counts
training only (evaluation time is excluded).
Prints a table per seed and writes the curves as JSON stamped by
``record.stamp`` (default ``benchmarks/results/time_to_hover.json``, or
``time_to_hover_vec<N>.json`` with ``--num-envs N``).
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from record import RESULTS, arguments, stamp, write_result
from rl_baselines import HOVER_SECONDS, distances, settle_time

import quadgym
from quadgym.evaluation import score

WORKLOADS = {
    "train_seconds": "wall-clock of algo.learn() only, cumulative; evaluation excluded",
    "mean_error, max_error, crashes": "deterministic policy on 20 episodes of the default "
    "QuadHover-v0 (PyBullet, ground starts, reset seeds 1000-1019): final position error, m",
    "max_settle_s": "the same episodes: the longest time until within 0.10 m for good, s",
}


def evaluate(algo: Any, count: int = 20) -> tuple[float, float, int, float]:
    """Mean and max final position error (m), crash count and the slowest episode's
    settle time (s) of ``algo``'s greedy policy."""
    env = gym.make("QuadHover-v0")
    flown = score(env, algo, [1000 + k for k in range(count)])
    settle = max(settle_time(distances(e), env.unwrapped.task.control_hz) for e in flown)
    env.close()
    errors = [e.metrics["final_error"] for e in flown]
    crashes = int(sum(e.metrics["crashed"] for e in flown))
    return float(np.mean(errors)), float(np.max(errors)), crashes, settle


def main() -> None:
    ap = arguments(__doc__, None)
    ap.add_argument("--steps", type=int, default=600_000)
    ap.add_argument("--every", type=int, default=50_000)
    ap.add_argument("--seeds", default="0")
    ap.add_argument(
        "--num-envs",
        type=int,
        default=0,
        help="train on this many lanes of the batched NumPy backend (0: 8 PyBullet envs)",
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    meta = stamp(
        algo="ppo (plugin defaults)",
        action_type="rpm",
        criterion="20 episodes, final error < 0.10 m, no crash (solved_at); within 0.10 m "
        "from under 3 s on, no crash (held_at)",
        torch_threads=torch.get_num_threads(),
    )
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        extra = {"num_envs": args.num_envs} if args.num_envs else {}
        algo = quadgym.make_algo("ppo", "QuadHover-v0", seed=seed, **extra)
        wall, done, solved, held, rows = 0.0, 0, None, None, []
        header = (
            f"{'steps':>9}{'train s':>9}{'mean err m':>12}{'max err m':>11}{'crashes':>9}"
            f"{'settle s':>10}"
        )
        print(f"seed {seed}\n{header}")
        while done < args.steps:
            t = time.perf_counter()
            algo.learn(args.every)
            wall += time.perf_counter() - t
            done += args.every
            mean_err, max_err, crashes, settle = evaluate(algo)
            rows.append(
                {
                    "steps": done,
                    "train_seconds": round(wall, 1),
                    "mean_error": mean_err,
                    "max_error": max_err,
                    "crashes": crashes,
                    "max_settle_s": settle,
                }
            )
            print(
                f"{done:>9}{wall:>9.1f}{mean_err:>12.3f}{max_err:>11.3f}{crashes:>9}{settle:>10.2f}"
            )
            if solved is None and max_err < 0.10 and crashes == 0:
                solved = rows[-1]
            if held is None and settle < HOVER_SECONDS and crashes == 0:
                held = rows[-1]
        runs.append({"seed": seed, "solved_at": solved, "held_at": held, "curve": rows})
        if solved:
            print(
                f"seed {seed}: criterion met at {solved['steps']} steps, "
                f"{solved['train_seconds'] / 60:.1f} min of training"
            )
        if held:
            print(
                f"seed {seed}: held within 0.10 m from under {HOVER_SECONDS:g} s on at "
                f"{held['steps']} steps, {held['train_seconds']:.0f} s of training"
            )
    name = f"time_to_hover_vec{args.num_envs}.json" if args.num_envs else "time_to_hover.json"
    write_result(args.out or RESULTS / name, meta, workloads=WORKLOADS, runs=runs)


if __name__ == "__main__":
    main()
