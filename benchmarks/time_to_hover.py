"""Time to a hover policy that flies: PPO on QuadHover-v0 with the plugin defaults.

    .venv/bin/python benchmarks/time_to_hover.py [--steps 600000] [--every 50000] [--seeds 0]

Trains the ``ppo`` plugin (``rpm`` actions: per-motor speeds, the low-level
action type) and, every ``--every`` environment steps, evaluates the
deterministic policy on 20 episodes of the default QuadHover-v0 (PyBullet,
take-off from the ground with randomised xy and yaw), the criterion of the
plugin issue: final position error under 0.10 m in every episode and no
crash. Wall-clock counts training only (evaluation time is excluded).
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

import quadgym

WORKLOADS = {
    "train_seconds": "wall-clock of algo.learn() only, cumulative; evaluation excluded",
    "mean_error, max_error, crashes": "deterministic policy on 20 episodes of the default "
    "QuadHover-v0 (PyBullet, ground starts, reset seeds 1000-1019): final position error, m",
}


def evaluate(algo: Any, episodes: int = 20) -> tuple[float, float, int]:
    """Mean and max final position error (m) and crash count of ``algo``'s greedy policy."""
    env = gym.make("QuadHover-v0")
    errors, crashes = [], 0
    for ep in range(episodes):
        obs, _ = env.reset(seed=1000 + ep)
        while True:
            obs, _, term, trunc, info = env.step(algo.act(obs))
            if term or trunc:
                break
        errors.append(info["position_error"])
        crashes += bool(term)
    return float(np.mean(errors)), float(np.max(errors)), crashes


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
        criterion="20 episodes, final error < 0.10 m, no crash",
        torch_threads=torch.get_num_threads(),
    )
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        extra = {"num_envs": args.num_envs} if args.num_envs else {}
        algo = quadgym.make_algo("ppo", "QuadHover-v0", seed=seed, **extra)
        wall, done, solved, rows = 0.0, 0, None, []
        header = f"{'steps':>9}{'train s':>9}{'mean err m':>12}{'max err m':>11}{'crashes':>9}"
        print(f"seed {seed}\n{header}")
        while done < args.steps:
            t = time.perf_counter()
            algo.learn(args.every)
            wall += time.perf_counter() - t
            done += args.every
            mean_err, max_err, crashes = evaluate(algo)
            rows.append(
                {
                    "steps": done,
                    "train_seconds": round(wall, 1),
                    "mean_error": mean_err,
                    "max_error": max_err,
                    "crashes": crashes,
                }
            )
            print(f"{done:>9}{wall:>9.1f}{mean_err:>12.3f}{max_err:>11.3f}{crashes:>9}")
            if solved is None and max_err < 0.10 and crashes == 0:
                solved = rows[-1]
        runs.append({"seed": seed, "solved_at": solved, "curve": rows})
        if solved:
            print(
                f"seed {seed}: criterion met at {solved['steps']} steps, "
                f"{solved['train_seconds'] / 60:.1f} min of training"
            )
    name = f"time_to_hover_vec{args.num_envs}.json" if args.num_envs else "time_to_hover.json"
    write_result(args.out or RESULTS / name, meta, workloads=WORKLOADS, runs=runs)


if __name__ == "__main__":
    main()
