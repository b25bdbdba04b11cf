"""A training's CPU time on this tree against another tree's, the same command, alternating.

    .venv/bin/python benchmarks/train_speed.py --before DIR --env QuadGates-v0 \\
        --steps 61440 [--config "env_kwargs={'action_type': 'pid'}" ...] [--repeats 2] \\
        [--out FILE]

Whether a change made a baseline's training faster is a question about the same command
on the same machine: a retrained baseline's wall clock, compared with the one recorded
when it was first trained, mixes the change with the machine, its load and the budget.
So this runs ``scripts/train.py --env ENV --algo ALGO --steps STEPS --seed SEED --threads 1
--config ...`` (each side's own ``scripts/train.py``, with ``PYTHONPATH`` set to its tree)
``--repeats`` times per side, the sides alternating (this tree, then ``--before``, then
this tree...), each into a fresh run directory, and records each run's CPU time (user +
system of the training process and of the processes it waited for: what another process's
load disturbs least), its wall clock and the 1-minute load average around it. It prints
the medians and their ratios (before over this tree: how many times the time this tree
saves). A training whose envs run in SB3's ``SubprocVecEnv`` (QuadVisualReach-v0's) starts
them from a fork server, whose children's CPU time is not counted: compare its wall clocks,
on a quiet machine.

Writes ``benchmarks/results/train_speed.json`` by default (stamped by ``record.stamp``).
"""

from __future__ import annotations

import os
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

from record import REPO, arguments, git_commit, run_timed, stamp, write_result


def train_once(tree: Path, argv: list[str], out: Path) -> dict[str, float]:
    """One training of ``argv`` (scripts/train.py's arguments) with ``tree``'s code into
    ``out``: its CPU and wall seconds and the load around it."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "scripts/train.py", *argv, "--out", str(out)]
    load = os.getloadavg()[0]
    done, wall, cpu = run_timed(command, tree, env)
    if done.returncode:
        sys.exit(f"{shlex.join(command)} in {tree} failed:\n{done.stderr[-2000:]}")
    return {
        "cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "load_1min": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


def main() -> None:
    ap = arguments(__doc__, "train_speed.json")
    ap.add_argument("--before", required=True, help="the other source tree (git worktree)")
    ap.add_argument("--env", required=True)
    ap.add_argument("--algo", default="ppo")
    ap.add_argument("--steps", type=int, required=True, help="the training budget")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--config", nargs="*", default=[], help="scripts/train.py's --config words")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    before = Path(args.before).resolve()
    if not (before / "scripts" / "train.py").is_file():
        ap.error(f"--before {args.before!r} holds no scripts/train.py")
    if args.steps < 1 or args.repeats < 1:
        ap.error("--steps and --repeats must be >= 1")
    argv = [
        *("--env", args.env, "--algo", args.algo, "--steps", str(args.steps)),
        *("--seed", str(args.seed), "--threads", "1"),
    ]
    if args.config:
        argv += ["--config", *args.config]
    trees = {"quadgym": REPO, "before": before}
    meta = stamp(
        train_args=shlex.join(argv),
        repeats=args.repeats,
        clock="CPU time of the training process and its waited-for children (RUSAGE_CHILDREN)",
        trees={side: {"tree": str(t), "commit": git_commit(t)} for side, t in trees.items()},
    )
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in trees}
    with tempfile.TemporaryDirectory(prefix="train_speed.") as parent:
        for k in range(args.repeats):
            for side, tree in trees.items():
                run = train_once(tree, argv, Path(parent) / f"{side}_{k}")
                runs[side].append(run)
                print(f"{side:<8} #{k}  CPU {run['cpu_s']:8.1f} s  wall {run['wall_s']:8.1f} s")
    medians, ratios = {}, {}
    for clock in ("cpu_s", "wall_s"):
        medians[clock] = {
            side: statistics.median(r[clock] for r in rs) for side, rs in runs.items()
        }
        ratios[clock] = medians[clock]["before"] / medians[clock]["quadgym"]
        m = medians[clock]
        print(
            f"median {clock}: before {m['before']:.1f}, this tree {m['quadgym']:.1f}, "
            f"before / this tree x{ratios[clock]:.2f}"
        )
    write_result(args.out, meta, runs=runs, medians=medians, ratios_before_over_quadgym=ratios)


if __name__ == "__main__":
    main()
