"""Train RLlib's PPO on a quadgym PettingZoo env (one policy shared by the drones, or one
each), then evaluate it as scripts/train_marl.py does; or on a Gymnasium id (QuadHover-v0).

    python scripts/train_rllib.py --drones 4 --steps 400000
    python scripts/train_rllib.py --env QuadHover-v0 --steps 300000 --env-runners 2
    python scripts/train_rllib.py --drones 2 --steps 8192 --episodes 2 --out runs/rllib-smoke
    python scripts/train_rllib.py --policies per_agent --env-runners 2 --address HOST:6379

Ray starts embedded (or joins ``--address`` / ``RAY_ADDRESS``); ``--env-runners N`` samples
in N remote env runners, each building its own PyBullet world (0, the default: in the
driver). Sampling in the driver, a run repeats: the same seed trains to the same weights in
any process, whatever its hash seed (RLlib sees the drones by number:
``quadgym.rllib.QuadParallelEnv``). With two or more runners a run does not
repeat, as RLlib takes their samples in the order they finish: four runs of the same 4-drone
command on 2 runners ended with their farthest drone 0.08, 0.08, 0.21 and 0.48 m from its
place. The budget counts agent-steps (one drone, one 30 Hz control step), as
``ppo_shared``'s; each training iteration is ``--batch`` of them. Writes into ``--out`` (a
new or empty directory; the same run-directory rules as scripts/train.py,
``quadgym.runs.DirRun``): ``state.json`` (the arguments and the iteration the last
checkpoint holds), ``checkpoint/`` (RLlib's ``save_to_path`` after the last iteration and
every ``--checkpoint-every`` iterations: a link to ``checkpoint-<iteration>/``, each saved
whole before ``state.json`` and the link move to it), ``metrics.csv`` (one row per
iteration: agent-steps, mean episode return, wall clock) and scripts/replay_marl.py's
``replay.json`` and ``replay.png`` for ``--episodes`` evaluation episodes from the ground
(seeds 1000..., greedy actions): the mean final distance of each drone to its target,
crashes and collisions. On a Gymnasium id: ``evaluation.json``, the task's own metrics
(``summarize``: for QuadHover-v0 the final error, time to within 0.1 m, crashes) over
``--episodes`` seeded episodes of the env as ``gym.make`` builds it.

A killed run continues with ``--resume DIR`` (optionally a larger ``--steps``): from the last
checkpoint, the rows logged after it dropped; killed before its first checkpoint, it starts
over; killed during the evaluation, it evaluates again.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from quadgym.cli import parse_args
from quadgym.config import TypedConfig, param
from quadgym.evaluation import ray_address
from quadgym.files import atomic_write_bytes
from quadgym.outdir import out_problem
from quadgym.registry import PARALLEL_ENVS, make_parallel_env
from quadgym.replay import evaluate, report
from quadgym.runs import DirRun, RunError, new_run_problem
from quadgym.runs.log import LogError, keep_rows

#: The columns of metrics.csv.
COLUMNS = ["iteration", "agent_steps", "mean_return", "seconds"]
#: What the evaluation writes (removed before it runs again).
EVALUATION = ("replay.json", "replay.png", "evaluation.json")
#: The arguments --resume may change (the rest are the run's), and not saved with the run.
RESUMABLE = ("steps", "episodes", "address", "resume")
UNSAVED = ("out", "resume", "address")
#: --steps and --episodes when not given (a new run).
DEFAULTS = {"steps": 400_000, "episodes": 20}


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    env: str = param("quad_swarm_v0", "a quadgym PettingZoo env id, or a Gymnasium one (one agent)")
    drones: int = param(4, "drones, one agent each", ge=1)
    steps: int | None = param(
        None, "training budget, agent-steps (default 400000; with --resume the run's)", ge=1
    )
    batch: int = param(2048, "agent-steps per training iteration", ge=64)
    policies: str = param(
        "shared", "'shared' (one for all drones) or 'per_agent'", choices=("shared", "per_agent")
    )
    env_runners: int = param(0, "remote env runners (0: sample in the driver)", ge=0)
    seed: int = param(0, "RLlib's seed", ge=0)
    threads: int = param(
        1, "torch threads of the driver: its learner, and its sampling with --env-runners 0", ge=1
    )
    episodes: int | None = param(
        None, "evaluation episodes after training (default 20; with --resume the run's)", ge=1
    )
    checkpoint_every: int = param(
        0, "also save checkpoint/ every this many iterations (0: only at the end)", ge=0
    )
    out: str | None = param(None, "run directory; none: runs/rllib-<env>-<drones>-s<seed>")
    resume: str | None = param(None, "continue the run in this directory (--steps may grow)")
    address: str | None = param(None, "Ray cluster address (default RAY_ADDRESS, else local)")
    env_kwargs: dict[str, Any] = param(
        {},
        "keyword arguments of the training env, a Python dict merged over its training starts: "
        "\"{'physics': 'pyb'}\" (the evaluation flies the env as built by default)",
    )


def default_out(args: Args) -> Path:
    return Path(args.out or f"runs/rllib-{args.env}-{args.drones}-s{args.seed}").resolve()


def problem(args: Args) -> str | None:
    """Why the arguments cannot run (checked before Ray starts), or None."""
    if args.resume:
        defaults = Args()
        changed = [
            f"--{f.name.replace('_', '-')}"
            for f in dataclasses.fields(Args)
            if f.name not in RESUMABLE and getattr(args, f.name) != getattr(defaults, f.name)
        ]
        if changed:
            return (
                f"--resume continues the saved run; it takes only --steps, --episodes and "
                f"--address, not {', '.join(changed)}"
            )
        if not Path(args.resume, "state.json").is_file():
            return f"--resume {args.resume}: no state.json there; is it a run directory?"
        return out_problem(args.resume, "--resume")
    return env_kwargs_problem(args) or new_run_problem(default_out(args))


def env_kwargs_problem(args: Args) -> str | None:
    """Why ``--env-kwargs`` do not make the training env (it is built once and closed, so
    that a misspelt keyword is refused here rather than inside a Ray env runner), or None."""
    if not args.env_kwargs:
        return None
    import gymnasium as gym

    from quadgym.agents.sb3.shared import SWARM_TRAIN_ENV

    try:
        if args.env in PARALLEL_ENVS:
            kwargs = {**SWARM_TRAIN_ENV, **args.env_kwargs, "num_drones": args.drones}
            env = make_parallel_env(args.env, **kwargs)
        else:
            env = gym.make(args.env, **args.env_kwargs)
    except (TypeError, ValueError) as exc:
        return f"--env-kwargs {args.env_kwargs}: {exc}"
    env.close()
    return None


def opened(args: Args) -> tuple[DirRun, Args]:
    """The run directory (created, or reopened by --resume, its --steps/--episodes
    changes recorded) and the run's arguments."""
    if not args.resume:
        args = args.replace(**{k: getattr(args, k) or v for k, v in DEFAULTS.items()})
        saved = {k: v for k, v in args.to_dict().items() if k not in UNSAVED}
        return DirRun.create(default_out(args), saved), args.replace(out=str(default_out(args)))
    run = DirRun.reopen(Path(args.resume).resolve())
    asked = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not None}
    try:
        run_args = Args(**{**run.state["args"], **asked, "address": args.address})
    except (TypeError, ValueError) as exc:
        raise RunError(f"{run.path / 'state.json'} field args is invalid: {exc}") from None
    done = run.state.get("agent_steps", 0)
    if run_args.steps < done:
        raise RunError(
            f"--steps {run_args.steps} is below the {done} agent-steps {run.path} has done"
        )
    run.state["resumes"].append({"at": run.state["position"], **asked})
    run.state["args"] = {k: v for k, v in run_args.to_dict().items() if k not in UNSAVED}
    run.write_state()
    return run, run_args


def main(argv: list[str] | None = None) -> int:
    parsed = parse_args(Args, __doc__, argv, check=problem)
    try:
        run, args = opened(parsed)
    except RunError as exc:
        print(f"train_rllib.py: error: {exc}", file=sys.stderr)
        return 2
    import ray
    import torch

    from quadgym.rllib import RLlibController, ppo_config

    torch.set_num_threads(args.threads)  # one is fastest for these small networks

    out = run.path
    metrics = out / "metrics.csv"
    try:  # the rows after the checkpoint (a killed run's) go; a torn last row too
        if metrics.exists():
            keep_rows(metrics, run.state["position"])
    except LogError as exc:
        print(f"train_rllib.py: error: {exc}", file=sys.stderr)
        return 2
    if not metrics.exists() or metrics.stat().st_size == 0:
        atomic_write_bytes(metrics, (",".join(COLUMNS) + "\r\n").encode())
    for stale in EVALUATION:  # an evaluation is only ever of the checkpoint beside it
        (out / stale).unlink(missing_ok=True)
    config = ppo_config(
        args.env,
        args.drones,
        args.policies,
        args.env_runners,
        args.seed,
        env_kwargs=args.env_kwargs,
        batch=args.batch,
    )
    ray.init(ray_address(args.address), include_dashboard=False, log_to_driver=False)
    start = time.perf_counter()
    try:
        algo = config.build_algo()
        steps = train(algo, run, args, metrics, start)
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
    run.state["evaluated"] = True
    run.write_state()
    return 0


def agent_steps(algo: Any) -> int:
    """The agent-steps ``algo`` has sampled (RLlib counts them per agent id)."""
    from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_AGENT_STEPS_SAMPLED_LIFETIME

    counts = algo.metrics.peek((ENV_RUNNER_RESULTS, NUM_AGENT_STEPS_SAMPLED_LIFETIME), default={})
    return int(sum(counts.values()))


def train(algo: Any, run: DirRun, args: Args, metrics: Path, start: float) -> int:
    """Train ``algo`` from the run's checkpoint to ``args.steps`` agent-steps, a row per
    iteration, committing checkpoints; returns the agent-steps done."""
    if run.checkpoint is not None:
        algo.restore_from_path(str(run.checkpoint))
    steps = run.state.get("agent_steps", 0)
    save = algo.save_to_path
    with metrics.open("a", newline="") as f:
        log = csv.writer(f)
        while steps < args.steps:
            result = algo.train()
            runners = result["env_runners"]
            steps = int(sum(runners["num_agent_steps_sampled_lifetime"].values()))
            mean_return = runners.get("episode_return_mean", float("nan"))
            seconds = time.perf_counter() - start
            iteration = result["training_iteration"]
            log.writerow([iteration, steps, mean_return, round(seconds, 1)])
            f.flush()
            print(
                f"iteration {iteration}: {steps} agent-steps, "
                f"mean return {mean_return:.1f}, {seconds:.0f} s",
                flush=True,
            )
            every = args.checkpoint_every
            if (every and iteration % every == 0) or steps >= args.steps:
                run.state["agent_steps"] = steps
                run.commit(iteration, lambda path: save(str(path)))
    if run.checkpoint is None or run.state.get("agent_steps", 0) < steps:
        run.state["agent_steps"] = steps  # nothing trained now (a resume after the end)
        run.commit(algo.training_iteration, lambda path: save(str(path)))
    return steps


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
    written = {"episodes": [run.metrics for run in runs], "mean": means}
    atomic_write_bytes(out / "evaluation.json", json.dumps(written, indent=1).encode())


if __name__ == "__main__":
    sys.exit(main())
