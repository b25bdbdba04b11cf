"""Throughput of QuadHover-v0 (PyBullet backend): env steps/s and resets/s.

    .venv/bin/python benchmarks/bench_hover.py [--steps 3000] [--out benchmarks/results/hover.json]

For every paper physics mode and 1, 4 and 10 drones in one world (one joint
agent), with 240 Hz physics and 30 Hz control (8 substeps), ``rpm`` actions,
through ``gym.make`` (its wrappers included), two workloads:

* ``step/s`` (near hover, step only): env steps per second counting only
  ``step()``, with uniform actions in [-0.05, 0.05] (within 5 % of hover RPM),
  no time limit, and a reset (not timed) when open-loop drift takes a drone
  out of its box (after ~2.5 s for one drone). Results up to commit 36b5a8e
  came from a loop that did not reset and went on stepping drones that had
  left their box;
* ``reset ms``: mean time of one ``reset()`` (500 resets, after the above);
* ``random step/s`` (random actions, step only) and ``loop/s`` (random actions
  with resets, full loop): an RL loop with uniform random actions in [-1, 1],
  resetting whenever an episode ends (random full-range actions crash within
  a second or two, so resets are frequent), counting ``step()`` alone and
  steps plus resets (:func:`workloads.hover_random`). The first is the
  workload of gym-pybullet-drones' comparison in the README.

Prints a table and writes the figures as JSON stamped by ``record.stamp``
(command, date, commit, machine, versions).
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
from record import arguments, stamp, write_result
from workloads import hover_random

import quadgym  # noqa: F401

MODES = ["pyb", "dyn", "pyb_gnd", "pyb_drag", "pyb_dw", "pyb_gnd_drag_dw"]
DRONES = [1, 4, 10]
WORKLOADS = {
    "steps_per_s": "near hover (uniform actions in [-0.05, 0.05]), step() only, reset (not "
    "timed) when drift ends an episode",
    "drone_steps_per_s": "steps_per_s times the number of drones",
    "reset_ms": "mean time of reset(seed=i) over 500 resets",
    "random_steps_per_s": "random actions in [-1, 1] with resets: step() only",
    "loop_steps_per_s": "random actions in [-1, 1] with resets: full loop, step() plus "
    "reset() whenever an episode ends (loop_episodes of them)",
}


def measure(physics: str, drones: int, steps: int) -> dict[str, str | int | float]:
    """The figures of one physics mode and drone count (see WORKLOADS)."""
    env = gym.make("QuadHover-v0", physics=physics, num_drones=drones, episode_seconds=1e6)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    small = rng.uniform(-0.05, 0.05, size=(steps,) + env.action_space.shape).astype(np.float32)
    in_step = 0.0
    for a in small:  # near hover: only step() is timed
        t = time.perf_counter()
        _, _, term, trunc, _ = env.step(a)
        in_step += time.perf_counter() - t
        if term or trunc:  # open-loop drift leaves the box after a few seconds
            env.reset()
    step_rate = steps / in_step
    n_resets = 500
    t = time.perf_counter()
    for i in range(n_resets):
        env.reset(seed=i)
    reset_ms = (time.perf_counter() - t) / n_resets * 1e3
    env.close()
    rand = hover_random(physics, drones, steps)
    return {
        "physics": physics,
        "drones": drones,
        "steps_per_s": round(step_rate),
        "drone_steps_per_s": round(step_rate * drones),
        "reset_ms": round(reset_ms, 4),
        "resets_per_s": round(1e3 / reset_ms),
        "random_steps_per_s": round(rand["step_only_steps_per_s"]),
        "loop_steps_per_s": round(rand["loop_steps_per_s"]),
        "loop_episodes": rand["episodes"],
    }


def main() -> None:
    ap = arguments(__doc__, "hover.json")
    ap.add_argument("--steps", type=int, default=3000)
    args = ap.parse_args()
    meta = stamp(physics_hz=240, control_hz=30)
    rows = []
    print(
        f"{'':<25}{'near hover':>10}{'':>20}{'random actions, resets':>24}\n"
        f"{'physics':<18}{'drones':>7}{'step/s':>10}{'reset ms':>10}{'resets/s':>10}"
        f"{'step/s':>12}{'loop/s':>12}"
    )
    for drones in DRONES:
        for physics in MODES:
            r = measure(physics, drones, args.steps)
            rows.append(r)
            print(
                f"{physics:<18}{drones:>7}{r['steps_per_s']:>10}{r['reset_ms']:>10.3f}"
                f"{r['resets_per_s']:>10}{r['random_steps_per_s']:>12}{r['loop_steps_per_s']:>12}"
            )
    write_result(args.out, meta, workloads=WORKLOADS, results=rows)


if __name__ == "__main__":
    main()
