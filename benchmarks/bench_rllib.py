"""RLlib's sampling throughput on quad_swarm_v0 for 1 and 2 env runners (Ray on this machine).

    .venv/bin/python benchmarks/bench_rllib.py [--drones 4] [--agent-steps 16384] [--repeats 3]

For each number of remote env runners (each a Ray worker process with its own PyBullet
world), builds RLlib's PPO of ``quadgym.rllib.ppo_config`` (untrained policy, so the drones
fly random-ish actions with resets), warms up with one sampling round, then times
``--repeats`` rounds of ``synchronous_parallel_sample`` of ``--agent-steps`` agent-steps
split over the runners: samples only, no learner update. Prints agent-steps/s per runner
count and the speed-up over one runner; writes ``benchmarks/results/rllib.json``. Run it on
a quiet machine: the runners take one core each.
"""

from __future__ import annotations

import os
import statistics
import time

from record import arguments, stamp, write_result


def sample_rate(runners: int, drones: int, agent_steps: int, repeats: int) -> list[float]:
    """Agent-steps/s of ``repeats`` sampling rounds over ``runners`` env runners."""
    from ray.rllib.execution.rollout_ops import synchronous_parallel_sample

    from quadgym.rllib import ppo_config

    algo = ppo_config("quad_swarm_v0", drones, env_runners=runners, batch=agent_steps).build_algo()
    try:
        group = algo.env_runner_group
        kwargs = {"worker_set": group, "max_env_steps": agent_steps // drones, "concat": False}
        kwargs["_uses_new_env_runners"] = True  # episodes back, RLlib's new API stack
        synchronous_parallel_sample(**kwargs)  # warm-up
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            batches = synchronous_parallel_sample(**kwargs)
            seconds = time.perf_counter() - start
            done = sum(episode.agent_steps() for batch in batches for episode in batch)
            rates.append(done / seconds)
        return rates
    finally:
        algo.stop()


def main() -> None:
    ap = arguments(__doc__, "rllib.json")
    ap.add_argument("--drones", type=int, default=4)
    ap.add_argument("--agent-steps", type=int, default=16384)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import ray

    meta = stamp(drones=args.drones, agent_steps=args.agent_steps, repeats=args.repeats)
    ray.init("local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    rows = []
    try:
        for runners in (1, 2):
            rates = sample_rate(runners, args.drones, args.agent_steps, args.repeats)
            rows.append({"env_runners": runners, "agent_steps_per_s": rates})
            median = statistics.median(rates)
            speedup = median / statistics.median(rows[0]["agent_steps_per_s"])
            print(f"{runners} env runner(s): {median:,.0f} agent-steps/s (x{speedup:.2f})")
    finally:
        ray.shutdown()
    write_result(
        args.out,
        meta,
        workload="RLlib PPO env runners sampling quad_swarm_v0 (untrained policy, resets), "
        "synchronous_parallel_sample only, medians of --repeats rounds",
        results=rows,
    )


if __name__ == "__main__":
    main()
