"""Train one policy shared by N drones to take off to and hold a formation, then evaluate it.

    python scripts/train_marl.py --drones 4 [--steps 400000] [--seed 0] [--out runs/swarm-4]

Runs ``scripts/train.py`` with the ``ppo_shared`` plugin on ``quad_swarm_v0``
(per-motor ``rpm`` actions; the budget counts agent-steps: one drone, one
30 Hz control step), then ``scripts/replay_marl.py``'s evaluation: 20 episodes
from the ground, the mean final distance of each drone to its target and the
crashes and collisions. Continue an interrupted run with
``python scripts/train.py --resume DIR``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import replay_marl
import train

import quadgym


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--drones", type=int, default=4)
    ap.add_argument("--steps", type=int, default=400_000, help="agent-steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--swarms", type=int, default=4, help="parallel swarms in training")
    ap.add_argument("--episodes", type=int, default=20, help="evaluation episodes")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.drones < 1:
        ap.error(f"--drones must be at least 1, got {args.drones}")
    out = Path(args.out or f"runs/swarm-{args.drones}-s{args.seed}")
    start = time.perf_counter()
    code = train.main(
        [
            "--env",
            "quad_swarm_v0",
            "--algo",
            "ppo_shared",
            "--steps",
            str(args.steps),
            "--seed",
            str(args.seed),
            "--out",
            str(out),
            "--config",
            f"num_drones={args.drones}",
            f"n_swarms={args.swarms}",
        ]
    )
    if code:
        return code
    minutes = (time.perf_counter() - start) / 60
    print(f"trained {args.steps} agent-steps in {minutes:.1f} min")
    algo = quadgym.make_algo(
        "ppo_shared", "quad_swarm_v0", num_drones=args.drones, n_swarms=args.swarms, seed=args.seed
    )
    algo.load(out / "checkpoint.bin")
    replay_marl.report(replay_marl.evaluate(algo, args.drones, args.episodes), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
