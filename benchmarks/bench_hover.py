"""Throughput of QuadHover-v0 (PyBullet backend): env steps/s and resets/s.

    .venv/bin/python benchmarks/bench_hover.py [--steps 3000] [--out benchmarks/results/hover.json]

For every paper physics mode and 1, 4 and 10 drones in one world (one joint
agent), with 240 Hz physics and 30 Hz control (8 substeps), random ``rpm``
actions, through ``gym.make`` (its wrappers included):

* ``step/s``: env steps per second counting only ``step()``;
* ``reset ms``: mean time of one ``reset()``;
* ``loop/s``: steps per second of an RL loop with uniform random actions in
  [-1, 1], resetting whenever an episode ends (random full-range actions
  crash within a second or two, so resets are frequent).

Prints a table and writes the figures as JSON with the machine's description.
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

import quadgym  # noqa: F401

MODES = ["pyb", "dyn", "pyb_gnd", "pyb_drag", "pyb_dw", "pyb_gnd_drag_dw"]
DRONES = [1, 4, 10]


def measure(physics: str, drones: int, steps: int) -> dict:
    env = gym.make("QuadHover-v0", physics=physics, num_drones=drones, episode_seconds=1e6)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    small = rng.uniform(-0.05, 0.05, size=(steps,) + env.action_space.shape).astype(np.float32)
    t = time.perf_counter()
    for a in small:  # near hover: no episode ends, only step() is timed
        env.step(a)
    step_rate = steps / (time.perf_counter() - t)
    n_resets = 500
    t = time.perf_counter()
    for i in range(n_resets):
        env.reset(seed=i)
    reset_ms = (time.perf_counter() - t) / n_resets * 1e3
    env.close()
    env = gym.make("QuadHover-v0", physics=physics, num_drones=drones)
    env.reset(seed=0)
    full = rng.uniform(-1, 1, size=(steps,) + env.action_space.shape).astype(np.float32)
    episodes = 0
    t = time.perf_counter()
    for a in full:
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
            episodes += 1
    loop_rate = steps / (time.perf_counter() - t)
    env.close()
    return {
        "physics": physics,
        "drones": drones,
        "steps_per_s": round(step_rate),
        "drone_steps_per_s": round(step_rate * drones),
        "reset_ms": round(reset_ms, 4),
        "resets_per_s": round(1e3 / reset_ms),
        "loop_steps_per_s": round(loop_rate),
        "loop_episodes": episodes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "hover.json"))
    args = ap.parse_args()
    rows = []
    print(
        f"{'physics':<18}{'drones':>7}{'step/s':>10}{'reset ms':>10}{'resets/s':>10}{'loop/s':>9}"
    )
    for drones in DRONES:
        for physics in MODES:
            r = measure(physics, drones, args.steps)
            rows.append(r)
            print(
                f"{physics:<18}{drones:>7}{r['steps_per_s']:>10}{r['reset_ms']:>10.3f}"
                f"{r['resets_per_s']:>10}{r['loop_steps_per_s']:>9}"
            )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": "python benchmarks/bench_hover.py",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "physics_hz": 240,
        "control_hz": 30,
        "date": time.strftime("%Y-%m-%d"),
    }
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
