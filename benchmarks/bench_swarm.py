"""Throughput of quad_swarm_v0 (PettingZoo ParallelEnv over one PyBullet world).

    .venv/bin/python benchmarks/bench_swarm.py [--steps 1000] [--out benchmarks/results/swarm.json]

For 4, 16 and 64 drones in ``pyb`` and ``pyb_gnd_drag_dw`` (240 Hz physics,
30 Hz control), two workloads:

* near hover with resets (full loop), drones starting at their targets 1 m up:
  ``rpm`` actions uniform within ±2 % of hover, env steps/s and agent-steps/s
  (live agents) counting ``step()`` and the resets of swarms whose agents
  have all left (open-loop motor commands drift out of the box after ~4 s);
  and the mean ``reset()`` time;
* random actions, step only (defaults: ground starts, :func:`workloads.swarm_random`):
  uniform random actions in [-1, 1] for every live agent, reset once all are
  done; live agent-steps/s (the samples RL receives; done drones leave the
  flight) and drone-steps/s (every drone of the world) counting ``step()``
  alone. This is the workload of PyFlyt's comparison in the README.

``--steps`` is the step count at 4 drones, scaled by 4 / drones (at least 50;
four times that for the random workload, whose episodes are short).
Prints a table and writes the figures as JSON stamped by ``record.stamp``.
"""

from __future__ import annotations

import time

import numpy as np
from record import arguments, stamp, write_result
from workloads import swarm_random

from quadgym.registry import make_parallel_env

WORKLOADS = {
    "env_steps_per_s": "near hover (rpm actions uniform within ±2 % of hover) with resets: "
    "full loop, step() plus reset() whenever every agent has left",
    "agent_steps_per_s": "the same loop, counting the live agents of each step",
    "reset_ms": "mean time of reset(seed=i) over 100 resets",
    "random_agent_steps_per_s": "random actions in [-1, 1], ground starts, reset once every "
    "agent is done: step() only, counting the live agents of each step",
    "random_drone_steps_per_s": "the same, counting every drone of the world",
}


def main() -> None:
    ap = arguments(__doc__, "swarm.json")
    ap.add_argument("--steps", type=int, default=1000)
    args = ap.parse_args()
    meta = stamp(physics_hz=240, control_hz=30)
    rows = []
    print(f"{'':<25}{'near hover, resets (full loop)':>38}{'random, step only':>34}")
    print(
        f"{'physics':<18}{'drones':>7}{'env steps/s':>13}{'agent-steps/s':>15}{'reset ms':>10}"
        f"{'agent-steps/s':>17}{'drone-steps/s':>17}"
    )
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
            rand = swarm_random(physics, n, max(200, args.steps * 16 // n))
            rows.append(
                {
                    "physics": physics,
                    "drones": n,
                    "env_steps_per_s": round(rate),
                    "agent_steps_per_s": round(agent_rate),
                    "reset_ms": round(reset_ms, 3),
                    "random_agent_steps_per_s": round(rand["agent_steps_per_s"]),
                    "random_drone_steps_per_s": round(rand["drone_steps_per_s"]),
                }
            )
            print(
                f"{physics:<18}{n:>7}{rate:>13,.0f}{agent_rate:>15,.0f}{reset_ms:>10.3f}"
                f"{rand['agent_steps_per_s']:>17,.0f}{rand['drone_steps_per_s']:>17,.0f}"
            )
    write_result(args.out, meta, workloads=WORKLOADS, results=rows)


if __name__ == "__main__":
    main()
