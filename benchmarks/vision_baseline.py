"""QuadVisualReach-v0 learnt from pixels, and its two reference points, trained the same way.

    .venv/bin/python benchmarks/vision_baseline.py [--variants pixels,target,blind]
        [--seed 0] [--steps N] [--episodes 20] [--runs DIR]

Each variant runs the command a user would, ``scripts/train.py --env QuadVisualReach-v0
--algo ppo --steps N`` (:func:`train_command`: the ppo plugin's ``ENV_DEFAULTS`` for the
env, one torch thread, its 2 PyBullet copies in subprocesses), in a subprocess whose wall
clock is the training time (interpreter start and checkpoints included), one at a time:

- ``pixels``: the env's default observation, ``kin+rgb`` (the kinematics without the
  target, and the onboard camera): the policy has to find the red sphere in the image;
- ``target``: ``obs_type="kin"`` with ``target_in_obs=True`` (target − position appended):
  the same policy told where the target is, the upper bound;
- ``blind``: ``obs_type="kin"``: no image, no target, the lower bound (the target is
  drawn in view, so flying forward reaches some).

The references' ``env_kwargs`` repeat the training env's ``ENV_DEFAULTS`` entry
(``physics_hz`` 120, 2 s episodes) beside their observation, so that only what the
policy sees differs. Every run is then scored on ``--episodes`` episodes of the env with
its defaults (240 Hz, 4 s) and the variant's observation (reset seeds 1000, 1001, ...,
deterministic actions, ``quadgym.evaluation.score``): success rate (``reached``: within
0.2 m of the sphere's centre), final distance, time to reach (over the episodes that
reached), crashes.

A variant whose run directory under ``--runs`` already holds a run is scored, not
trained again: its training wall clock is read from the run's ``train_seconds.json``
(which this script writes after each training; null if absent), and its command and
budget from its ``state.json``.

Prints a table and writes ``benchmarks/results/vision_baseline.json`` (every episode's
metrics, the training wall clock and the 1-minute load average before and after each
training, stamped by ``record.stamp``). The machine is shared: the load says how much.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import sys
import tempfile
from pathlib import Path

import gymnasium as gym
import torch
from record import REPO, arguments, run_timed, stamp, write_result

from quadgym.agents.sb3.config import VISUAL_TRAIN_ENV
from quadgym.evaluation import interval, load_controller, score

ENV_ID = "QuadVisualReach-v0"
#: The training budget of every variant, env steps (the pixel policy's, measured to fit
#: in 30 minutes of wall clock on the shared 2-core machine).
STEPS = 150_000
#: What each variant observes (``gym.make`` keywords beside the env's defaults).
VARIANTS = {
    "pixels": {},
    "target": {"obs_type": "kin", "target_in_obs": True},
    "blind": {"obs_type": "kin"},
}
#: Episodes' reset seeds start here (the project's evaluation convention).
FIRST_SEED = 1000


def train_command(variant: str, seed: int, steps: int, out: Path) -> list[str]:
    """The ``scripts/train.py`` command line of ``variant`` at ``seed`` into ``out``."""
    observe = VARIANTS[variant]
    config = ["--config", f"env_kwargs={ {**VISUAL_TRAIN_ENV, **observe}!r}"] if observe else []
    return [
        sys.executable,
        "scripts/train.py",
        "--env",
        ENV_ID,
        "--algo",
        "ppo",
        "--steps",
        str(steps),
        "--seed",
        str(seed),
        *config,
        "--out",
        str(out),
    ]


def run_name(variant: str, seed: int) -> str:
    """The run directory's name (the pixel policy's is the shipped baseline's)."""
    suffix = "" if variant == "pixels" else f"-{variant}"
    return f"{ENV_ID}-ppo{suffix}-s{seed}"


def evaluate(variant: str, run: Path, episodes: int) -> list[dict[str, float]]:
    """The metrics of ``episodes`` seeded episodes of ``run``'s last checkpoint on the
    env with its defaults and the variant's observation."""
    env = gym.make(ENV_ID, **VARIANTS[variant])
    try:
        flown = score(
            env, load_controller(str(run), env), [FIRST_SEED + k for k in range(episodes)]
        )
    finally:
        env.close()
    return [e.metrics for e in flown]


def summary(scores: list[dict[str, float]]) -> dict[str, list[float]]:
    """Mean and 95 % t half-width of each metric (time to reach: over the episodes that
    reached; NaN if none did)."""
    out = {m: list(interval([s[m] for s in scores])) for m in ("reached", "final_error", "crashed")}
    times = [s["time_to_reach"] for s in scores if s["reached"]]
    out["time_to_reach"] = list(interval(times)) if times else [math.nan, math.nan]
    return out


def train(command: list[str], timing: Path) -> None:
    """Run ``command`` (a training) and write its wall clock, command line and the
    1-minute load average before and after it to ``timing``."""
    load = [round(os.getloadavg()[0], 2)]
    done, seconds, _ = run_timed(command, REPO)  # its CPU time misses the env workers'
    load.append(round(os.getloadavg()[0], 2))
    if done.returncode:
        sys.exit(f"{shlex.join(command)} failed:\n{done.stderr[-2000:]}")
    shown = shlex.join(["python", *command[1:-2]])
    record = {"command": shown, "seconds": round(seconds, 1), "load_avg_1min": load}
    timing.write_text(json.dumps(record) + "\n")


def main() -> None:
    ap = arguments(__doc__, "vision_baseline.json")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--runs", default="", help="parent of the run directories (default: a tmp dir)")
    args = ap.parse_args()
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        ap.error(f"unknown variants {unknown}; allowed: {', '.join(VARIANTS)}")
    torch.set_num_threads(1)
    meta = stamp(steps=args.steps, episodes=args.episodes, torch_threads=1)
    parent = Path(args.runs or tempfile.mkdtemp(prefix="vision_baseline."))
    results = []
    print(f"{'variant':<8} {'train s':>8} {'load':>11} {'reached':>14} {'final m':>13} {'t s':>11}")
    for variant in variants:
        out = parent / run_name(variant, args.seed)
        timing = out / "train_seconds.json"
        if not (out / "state.json").exists():
            train(train_command(variant, args.seed, args.steps, out), timing)
        trained = json.loads(timing.read_text()) if timing.exists() else {}
        state = json.loads((out / "state.json").read_text())
        scores = evaluate(variant, out, args.episodes)
        row = {
            "variant": variant,
            "observation": VARIANTS[variant] or {"obs_type": "kin+rgb"},
            "seed": state["config"]["seed"],
            "command": trained.get("command"),
            "config": state["config"],
            "steps": state["done"],
            "train_seconds": trained.get("seconds"),
            "load_avg_1min": trained.get("load_avg_1min"),
            "summary": summary(scores),
            "episodes": scores,
        }
        results.append(row)
        s = row["summary"]
        cells = [
            f"{s[m][0]:.2f} ± {s[m][1]:.2f}" for m in ("reached", "final_error", "time_to_reach")
        ]
        seconds, load = row["train_seconds"] or math.nan, row["load_avg_1min"] or [math.nan] * 2
        print(
            f"{variant:<8} {seconds:8.0f} {load[0]:5.1f}-{load[1]:<5.1f} {cells[0]:>14} "
            f"{cells[1]:>13} {cells[2]:>11}",
            flush=True,
        )
    write_result(
        args.out,
        meta,
        workload="ppo plugin on QuadVisualReach-v0 (ENV_DEFAULTS: 2 PyBullet copies in "
        "subprocesses, physics 120 Hz, 2 s episodes), scripts/train.py's wall clock in a "
        "subprocess, one at a time; scored on the env's defaults (240 Hz, 4 s) with each "
        "variant's observation, seeds 1000.., deterministic; summary: mean and 95 % t "
        "half-width over episodes",
        runs_dir=str(parent),
        results=results,
    )


if __name__ == "__main__":
    main()
