"""Throughput of quad_swarm_v0 (PettingZoo ParallelEnv over one PyBullet world).

    .venv/bin/python benchmarks/bench_swarm.py [--steps 1000]

For 4, 16 and 64 drones in ``pyb`` and ``pyb_gnd_drag_dw`` (240 Hz physics,
30 Hz control, drones starting at their targets 1 m up, ``rpm`` actions
within ±2 % of hover): env steps/s and agent-steps/s (live agents) counting
``step()`` and the resets of swarms whose agents have all left (open-loop
motor commands drift out of the box after ~4 s), and the mean ``reset()`` time.
Prints a table and writes ``results/swarm.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from quadgym.registry import make_parallel_env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "swarm.json"))
    args = ap.parse_args()
    rows = []
    print(f"{'physics':<18}{'drones':>7}{'env steps/s':>13}{'agent-steps/s':>15}{'reset ms':>10}")
    for physics in ("pyb", "pyb_gnd_drag_dw"):
        for n in (4, 16, 64):
            env = make_parallel_env(
                "quad_swarm_v0",
                num_drones=n,
                physics=physics,
                formation="grid",
                spacing=1.0,
                episode_seconds=1e6,
                start_height_noise=0.0,
            )
            env.reset(seed=0)
            rng = np.random.default_rng(0)
            steps = max(50, args.steps * 4 // n)
            acts = rng.uniform(-0.02, 0.02, size=(steps, n, 4)).astype(np.float32)
            agent_steps = 0
            t = time.perf_counter()
            for k in range(steps):
                agent_steps += len(env.agents)
                env.step({a: acts[k, env._index[a]] for a in env.agents})
                if not env.agents:
                    env.reset()
            elapsed = time.perf_counter() - t
            rate, agent_rate = steps / elapsed, agent_steps / elapsed
            t = time.perf_counter()
            for i in range(100):
                env.reset(seed=i)
            reset_ms = (time.perf_counter() - t) / 100 * 1e3
            env.close()
            rows.append(
                {
                    "physics": physics,
                    "drones": n,
                    "env_steps_per_s": round(rate),
                    "agent_steps_per_s": round(agent_rate),
                    "reset_ms": round(reset_ms, 3),
                }
            )
            print(f"{physics:<18}{n:>7}{rate:>13,.0f}{agent_rate:>15,.0f}{reset_ms:>10.3f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": "python benchmarks/bench_swarm.py",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
