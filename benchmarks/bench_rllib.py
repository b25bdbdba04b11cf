"""Sample throughput of RLlib's env runners on quad_swarm_v0: 1 against 2 runners.

    .venv/bin/python benchmarks/bench_rllib.py [--drones 4] [--steps 2048] [--repeats 5] \\
        [--out benchmarks/results/rllib.json]

Each remote env runner (a Ray actor: its own process, its own PyBullet world) samples with
the policy of a freshly built :func:`quadgym.rllib.ppo_config` (exploring: Gaussian actions
around an untrained mean, the swarm's training starts). The timed unit is one call of
``sample(num_timesteps=--steps)`` on every runner at once (``foreach_env_runner``), the
workload of one PPO iteration's sampling; samples are counted from the episodes the
runners return (agent-steps: one drone, one 30 Hz control step), not from the request.
Rows:

* ``in-process``: the driver's own env runner (``env_runners=0``, what
  ``scripts/train_rllib.py`` does by default), sampling alone;
* ``1 runner`` / ``2 runners``: remote runners, each asked for ``--steps``.

The figure is the median of ``--repeats`` calls after one untimed warm-up call, and the
speed-up is agent-steps/s over the single remote runner's. The bare env loop (random
actions, no Ray, no policy) is the ceiling one runner can reach. Learning is not timed.
Prints a table and writes the figures as JSON stamped by ``record.stamp``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from record import arguments, stamp, write_result

from quadgym.agents.sb3.shared import SWARM_TRAIN_ENV
from quadgym.registry import make_parallel_env

WORKLOADS = {
    "agent_steps_per_s": "sample(num_timesteps=--steps) on every env runner at once, exploring "
    "with an untrained PPO policy from the swarm's training starts: agent-steps counted in the "
    "returned episodes / wall time of the call (median of --repeats)",
    "env_loop_agent_steps_per_s": "the bare env: uniform random actions for every live agent "
    "from the same starts, reset when all are done, no Ray and no policy (one process)",
}


def env_loop(drones: int, steps: int) -> float:
    """Agent-steps/s of the bare env with random actions (step and reset, one process)."""
    env = make_parallel_env("quad_swarm_v0", num_drones=drones, **SWARM_TRAIN_ENV)
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    count, start = 0, time.perf_counter()
    while count < steps:
        count += len(env.agents)
        env.step({a: rng.uniform(-1, 1, 4).astype(np.float32) for a in env.agents})
        if not env.agents:
            env.reset()
    rate = count / (time.perf_counter() - start)
    env.close()
    return rate


def sampled(episodes_per_runner: list) -> int:
    """Agent-steps in the episode chunks the runners returned."""
    return sum(e.agent_steps() for episodes in episodes_per_runner for e in episodes)


def runner_rate(runners: int, drones: int, steps: int, repeats: int) -> dict:
    """Median agent-steps/s of ``runners`` remote env runners (0: the driver's own)."""
    from quadgym.rllib import ppo_config

    algo = ppo_config("quad_swarm_v0", drones, env_runners=runners).build_algo()
    try:
        group = algo.env_runner_group

        def call() -> int:
            if runners == 0:
                return sampled([group.local_env_runner.sample(num_timesteps=steps)])
            out = group.foreach_env_runner(
                lambda r: r.sample(num_timesteps=steps), local_env_runner=False
            )
            return sampled(out)

        call()  # warm-up: first episodes, module on the runners
        rates, counts = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            n = call()
            rates.append(n / (time.perf_counter() - start))
            counts.append(n)
    finally:
        algo.stop()
    return {
        "env_runners": runners,
        "agent_steps_per_s": round(statistics.median(rates)),
        "all_repeats": [round(r) for r in rates],
        "agent_steps_per_call": counts,
    }


def main() -> None:
    ap = arguments(__doc__, "rllib.json")
    ap.add_argument("--drones", type=int, default=4)
    ap.add_argument("--steps", type=int, default=2048, help="env steps per runner per call")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    import ray

    meta = stamp(drones=args.drones, steps_per_call=args.steps, repeats=args.repeats)
    ceiling = env_loop(args.drones, args.steps * args.drones)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        rows = [runner_rate(n, args.drones, args.steps, args.repeats) for n in (0, 1, 2)]
    finally:
        ray.shutdown()
    one = rows[1]["agent_steps_per_s"]
    for row in rows:
        row["speedup_vs_1_runner"] = round(row["agent_steps_per_s"] / one, 2)
    print(f"bare env loop, one process: {ceiling:,.0f} agent-steps/s")
    print(f"{'sampler':<14}{'agent-steps/s':>15}{'speed-up':>10}")
    for row in rows:
        name = "in-process" if row["env_runners"] == 0 else f"{row['env_runners']} runner(s)"
        print(f"{name:<14}{row['agent_steps_per_s']:>15,}{row['speedup_vs_1_runner']:>10.2f}")
    write_result(
        args.out,
        meta,
        workloads=WORKLOADS,
        env_loop_agent_steps_per_s=round(ceiling),
        results=rows,
    )


if __name__ == "__main__":
    main()
