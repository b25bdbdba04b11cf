"""Train one policy shared by N drones to take off to and hold a formation, then evaluate it.

    python scripts/train_marl.py --drones 4
    python scripts/train_marl.py --drones 2 --steps 2048 --episodes 2 --out runs/swarm-smoke

Runs ``scripts/train.py`` with the ``ppo_shared`` plugin on ``quad_swarm_v0``
(per-motor ``rpm`` actions; the budget counts agent-steps: one drone, one
30 Hz control step), then ``scripts/replay_marl.py``'s evaluation: ``--episodes``
episodes from the ground, the mean final distance of each drone to its target
and the crashes and collisions. Continue an interrupted run with
``python scripts/train.py --resume DIR``.
"""

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import quadgym
from quadgym.cli import parse_args
from quadgym.config import TypedConfig, param
from quadgym.replay import evaluate, report


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    drones: int = param(4, "drones in the formation, one agent each", ge=1)
    steps: int = param(400_000, "training budget, agent-steps (one drone, one control step)", ge=1)
    seed: int = param(0, "seed of the plugin (networks, environments)", ge=0)
    swarms: int = param(4, "swarms simulated in parallel during training", ge=1)
    episodes: int = param(20, "evaluation episodes after training", ge=1)
    out: str | None = param(None, "run directory; none: runs/swarm-<drones>-s<seed>")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(Args, __doc__, argv)
    out = Path(args.out or f"runs/swarm-{args.drones}-s{args.seed}")
    start = time.perf_counter()
    code = subprocess.call(  # the training CLI itself (scripts never import each other)
        [
            sys.executable,
            str(Path(__file__).with_name("train.py")),
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
    report(evaluate(algo, args.drones, args.episodes), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
