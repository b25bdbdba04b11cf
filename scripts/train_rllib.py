"""Train RLlib's PPO on a quadgym PettingZoo env (one policy shared by the drones, or one
each), then evaluate it as scripts/train_marl.py does; or on a Gymnasium id (QuadHover-v0).

    python scripts/train_rllib.py --drones 4 --steps 400000
    python scripts/train_rllib.py --env QuadHover-v0 --steps 300000 --env-runners 2
    python scripts/train_rllib.py --drones 2 --steps 8192 --episodes 2 --out runs/rllib-smoke
    python scripts/train_rllib.py --policies per_agent --env-runners 2 --address HOST:6379

Ray starts embedded (or joins ``--address`` / ``RAY_ADDRESS``); ``--env-runners N`` samples in
N remote env runners, each building its own PyBullet world (0: in the driver). The budget
counts agent-steps (one drone, one 30 Hz control step), as ``ppo_shared``'s; each training
iteration is ``--batch`` of them. Writes into ``--out``: ``checkpoint/`` (RLlib's
``save_to_path``, after the last iteration and every ``--checkpoint-every`` iterations,
each written aside and renamed into place), ``metrics.csv`` (one row per iteration:
agent-steps, mean episode return, wall clock) and scripts/replay_marl.py's ``replay.json``
and ``replay.png`` for ``--episodes`` evaluation episodes from the ground (seeds 1000...,
greedy actions): the mean final distance of each drone to its target, crashes and
collisions. On a Gymnasium id: ``evaluation.json``, the task's own metrics (``summarize``:
for QuadHover-v0 the final error, time to within 0.1 m, crashes) over ``--episodes`` seeded
episodes of the env as ``gym.make`` builds it.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from quadgym.cli import parse_args
from quadgym.config import TypedConfig, param
from quadgym.evaluation import ray_address
from quadgym.registry import PARALLEL_ENVS
from quadgym.replay import evaluate, report


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    env: str = param("quad_swarm_v0", "a quadgym PettingZoo env id, or a Gymnasium one (one agent)")
    drones: int = param(4, "drones, one agent each", ge=1)
    steps: int = param(400_000, "training budget, agent-steps", ge=1)
    batch: int = param(2048, "agent-steps per training iteration", ge=64)
    policies: str = param(
        "shared", "'shared' (one for all drones) or 'per_agent'", choices=("shared", "per_agent")
    )
    env_runners: int = param(0, "remote env runners (0: sample in the driver)", ge=0)
    seed: int = param(0, "RLlib's seed", ge=0)
    episodes: int = param(20, "evaluation episodes after training", ge=1)
    checkpoint_every: int = param(
        0, "also save checkpoint/ every this many iterations (0: only at the end)", ge=0
    )
    out: str | None = param(None, "run directory; none: runs/rllib-<env>-<drones>-s<seed>")
    address: str | None = param(None, "Ray cluster address (default RAY_ADDRESS, else local)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(Args, __doc__, argv)
    import ray

    from quadgym.rllib import RLlibController, ppo_config

    out = Path(args.out or f"runs/rllib-{args.env}-{args.drones}-s{args.seed}").resolve()
    config = ppo_config(
        args.env, args.drones, args.policies, args.env_runners, args.seed, batch=args.batch
    )
    out.mkdir(parents=True, exist_ok=True)
    ray.init(ray_address(args.address), include_dashboard=False, log_to_driver=False)
    start = time.perf_counter()
    try:
        algo = config.build_algo()
        with (out / "metrics.csv").open("w", newline="") as f:
            log = csv.writer(f)
            log.writerow(["iteration", "agent_steps", "mean_return", "seconds"])
            steps = 0
            while steps < args.steps:
                result = algo.train()
                runners = result["env_runners"]
                # agent-steps: RLlib counts them per agent id
                steps = int(sum(runners["num_agent_steps_sampled_lifetime"].values()))
                mean_return = runners.get("episode_return_mean", float("nan"))
                seconds = time.perf_counter() - start
                log.writerow([result["training_iteration"], steps, mean_return, round(seconds, 1)])
                f.flush()
                print(
                    f"iteration {result['training_iteration']}: {steps} agent-steps, "
                    f"mean return {mean_return:.1f}, {seconds:.0f} s",
                    flush=True,
                )
                every = args.checkpoint_every
                if every and result["training_iteration"] % every == 0:
                    save(algo, out / "checkpoint")
        save(algo, out / "checkpoint")
        algo.stop()
    finally:
        ray.shutdown()
    minutes = (time.perf_counter() - start) / 60
    print(f"trained {steps} agent-steps in {minutes:.1f} min")
    controller = RLlibController(out / "checkpoint", args.policies)
    if args.env == "quad_swarm_v0":
        report(evaluate(controller, args.drones, args.episodes), out)
    elif args.env not in PARALLEL_ENVS:
        report_single(args.env, controller, args.episodes, out)
    return 0


def report_single(env_id: str, controller: object, episodes: int, out: Path) -> None:
    """Fly the policy greedily from ``episodes`` seeded starts (1000, ...) of ``env_id`` as a
    user builds it, print the task's metrics (mean over episodes) and write them to
    ``evaluation.json`` (written aside, renamed into place)."""
    from quadgym.evaluation import make_env, score

    env = make_env(env_id)
    try:
        runs = score(env, controller, list(range(1000, 1000 + episodes)))
    finally:
        env.close()
    means = {key: float(np.mean([run.metrics[key] for run in runs])) for key in runs[0].metrics}
    print(
        f"task metrics (mean over {episodes} episodes): "
        + ", ".join(f"{key} {value:.3f}" for key, value in means.items())
    )
    tmp = out / "evaluation.json.tmp"
    tmp.write_text(json.dumps({"episodes": [run.metrics for run in runs], "mean": means}, indent=1))
    tmp.replace(out / "evaluation.json")


def save(algo: object, path: Path) -> None:
    """``algo.save_to_path`` into a fresh directory renamed over ``path``: a kill leaves the
    previous checkpoint or the new one whole, never a half-written one."""
    tmp, old = path.with_name(path.name + ".tmp"), path.with_name(path.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    algo.save_to_path(str(tmp))
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
