"""Replay a multi-agent run of scripts/train_marl.py: evaluate, plot, and optionally film it.

    python scripts/replay_marl.py --run runs/swarm-4-s0
    python scripts/replay_marl.py --run runs/swarm-4-s0 --episodes 5 --video swarm.mp4

Plays ``--episodes`` episodes of quad_swarm_v0 from ground starts (seeds 1000, ...)
with the shared policy acting deterministically for every drone, prints the mean
final distance of each drone to its target and the crashes/collisions, and
writes ``replay.png`` (each drone's distance to its target over time, first
episode; final distances per drone over all episodes) and ``replay.json``.
"""

import dataclasses
import sys
from pathlib import Path

from quadgym.cli import parse_args
from quadgym.config import TypedConfig, param
from quadgym.replay import evaluate, report
from quadgym.runs.load import load_run, run_problem


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    run: str = param(dataclasses.MISSING, "run directory written by scripts/train_marl.py")
    episodes: int = param(20, "evaluation episodes from ground starts (seeds 1000, ...)", ge=1)
    video: str | None = param(None, "write an MP4 of the first episode here")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(Args, __doc__, argv, check=lambda a: run_problem(a.run))
    run = Path(args.run)
    state, algo = load_run(run)
    num_drones = int(state["config"].get("num_drones", 4))
    report(evaluate(algo, num_drones, args.episodes, args.video), run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
