"""Evaluate a run written by scripts/train.py: mean return, success rate, plot and video.

    python scripts/evaluate.py --run runs/QuadHover-v0-ppo-s0
    python scripts/evaluate.py --run runs/QuadHover-v0-ppo-s0 --episodes 5 --video hover.mp4
    python scripts/evaluate.py --run runs/QuadVisualReach-v0-ppo-s0 --onboard

Loads the run's configuration and last checkpoint, plays ``--episodes``
episodes with deterministic actions (seeds 1000, 1001, ...; the env takes the
run's action type), prints the mean return and, for drone envs, the success rate
by the task's own rule (``task.success``: hover ends within 0.10 m uncrashed, gates
completes the course, landing lands, visual reach reaches), the final position
errors (how many ended under ``--tolerance`` m uncrashed) and the task's own metrics
(``task.summarize``: e.g. gates passed, landings, RMS tracking error), and writes
``evaluation.png`` (return per episode; for drone envs the distance to the
target over time) and ``evaluation.json`` into ``--out`` (default
``results/evaluate/<run's name>``, never into the run, which may be a shipped one).
A run of a multi-agent env (``ppo_shared`` on the swarm or a team task) is refused by
name: ``scripts/benchmark.py --tasks ENV --controllers RUN`` scores those.
``--video`` films the first ``--video-episodes`` episodes (default 1) from a
third-person camera that follows the drones; ``--onboard`` (drone envs) writes
``onboard.png`` and ``onboard.mp4`` into ``--out``: what each drone's camera sees in
the first episode (rgb, depth and segmentation, the env's camera model; its policy
sees the parts its ``obs_type`` names) under the third-person view, with the drone's
goal marked.
"""

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from quadgym.cli import parse_args  # noqa: E402
from quadgym.config import TypedConfig, param  # noqa: E402
from quadgym.envs.quad.sensors.pictures import OnboardRecorder  # noqa: E402
from quadgym.evaluation import controller_interface, interface_conflict  # noqa: E402
from quadgym.files import atomic_write_bytes  # noqa: E402
from quadgym.outdir import out_problem, save_figure  # noqa: E402
from quadgym.registry import ENV_SPECS, PARALLEL_ENVS  # noqa: E402
from quadgym.runs.load import load_run, read_state, run_problem  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    run: str = param(dataclasses.MISSING, "run directory written by scripts/train.py")
    episodes: int = param(20, "evaluation episodes (seeds 1000, 1001, ...)", ge=1)
    tolerance: float = param(
        0.10, "radius of the final-error count and the plot's line, m (not the success rule)", gt=0
    )
    out: str | None = param(
        None, "where the results go (default results/evaluate/<the run directory's name>)"
    )
    video: str | None = param(None, "write an MP4 of the first --video-episodes here (drone envs)")
    video_episodes: int = param(1, "episodes --video films, one after another", ge=1)
    onboard: bool = param(
        False,
        "write onboard.png and onboard.mp4 into --out: each drone's camera under the "
        "third-person view, first episode (drone envs)",
    )
    onboard_frames: int = param(6, "panels of onboard.png, spread over the episode", ge=1, le=100)
    env_kwargs: dict[str, Any] = param(
        {},
        "keyword arguments of the evaluation env, a Python dict: \"{'physics': 'dyn'}\" (it "
        "takes the run's action_type from its training env)",
    )


#: The env class whose runs ``--onboard`` can film (it has a PyBullet world and cameras).
DRONE_ENTRY = "quadgym.envs.quad.single:QuadHoverEnv"


def not_a_run(args: Any) -> str | None:
    """Why ``args.run`` is not a run directory of scripts/train.py (or, with
    ``--onboard``, not one of a drone env), or None if it is."""
    run = Path(args.run)
    if not (run / "state.json").is_file() or not (run / "checkpoint.bin").is_file():
        return f"{run} has no state.json and checkpoint.bin; is it a run directory?"
    try:  # the run's state: what names its plugin and env, each field checked by name
        env_id = read_state(run)["env"]
    except ValueError as exc:
        return str(exc)
    if env_id in PARALLEL_ENVS:  # a PettingZoo team: benchmark.py scores those
        return (
            f"{run} is a run of the multi-agent env {env_id}, which this script does not fly; "
            f"score it with: python scripts/benchmark.py --tasks {env_id} --controllers {run}"
        )
    # where the results go, checked before any episode is flown
    problem = out_problem(out_dir(args), "--out")
    if problem is None and getattr(args, "video", None):
        problem = out_problem(Path(args.video).absolute().parent, "--video")
    if problem:
        return problem
    conflict = interface_conflict(str(run), getattr(args, "env_kwargs", {}))
    if conflict:
        return f"--env-kwargs: {conflict}"
    if getattr(args, "onboard", False):
        if ENV_SPECS.get(env_id, {}).get("entry_point") != DRONE_ENTRY:
            drones = sorted(k for k, v in ENV_SPECS.items() if v["entry_point"] == DRONE_ENTRY)
            return f"--onboard films drone envs ({', '.join(drones)}); {run} is a run of {env_id}"
    return run_problem(run)  # read safely, before building anything


def out_dir(args: Any) -> Path:
    """Where the results go: ``--out``, else ``results/evaluate/<run name>`` (git-ignored),
    so that evaluating a shipped run leaves the repository as it was."""
    out = getattr(args, "out", None)
    return Path(out) if out else Path("results", "evaluate", Path(args.run).resolve().name)


def aims(env: Any) -> np.ndarray:
    """(n, 3) where the task asks each drone to go, m: the task's hidden ``targets``
    where it keeps them out of the goal (QuadVisualReach-v0), else the env's goal."""
    task = env.task
    return task.targets if hasattr(task, "targets") else env.goal


def main(argv: list[str] | None = None) -> int:
    args = parse_args(Args, __doc__, argv, check=not_a_run)
    import torch

    torch.set_num_threads(1)  # the policies are small: more threads only fight the simulator
    run, out = Path(args.run), out_dir(args)
    state, algo = load_run(run)
    out.mkdir(parents=True, exist_ok=True)
    kwargs = {**controller_interface(str(run)), **args.env_kwargs}
    if args.video:
        kwargs["render_mode"] = "rgb_array"
    env = gym.make(state["env"], **kwargs)
    task = getattr(env.unwrapped, "task", None)
    summarize = getattr(task, "summarize", None)  # the drone tasks' own metrics
    returns, errors, crashed, traces, frames, metrics = [], [], [], [], [], []
    onboard = None
    if args.onboard:
        drone_env = env.unwrapped
        onboard = OnboardRecorder(
            drone_env.world,
            drone_env.config.camera,
            args.onboard_frames,
            out / "onboard.mp4",
            fps=drone_env.task.control_hz,
        )
    for ep in range(args.episodes):
        obs, info = env.reset(seed=1000 + ep)
        algo.reset()
        total, trace, infos = 0.0, [], []
        if onboard is not None and ep == 0:
            onboard.record(drone_env.world.get_state(), 0.0, aims(drone_env))
        while True:
            obs, reward, term, trunc, info = env.step(algo.act(obs, deterministic=True))
            infos.append(info)
            total += reward
            if "position_error" in info:
                trace.append(float(np.max(info["position_error"])))
            if args.video and ep < args.video_episodes:
                frames.append(env.render())
            if onboard is not None and ep == 0:
                onboard.record(drone_env.world.get_state(), info["time"], aims(drone_env))
            if term or trunc:
                break
        if onboard is not None and ep == 0:
            onboard.close()
            onboard.write_strip(out / "onboard.png")
            print(f"wrote {out / 'onboard.png'} and {out / 'onboard.mp4'}")
        returns.append(total)
        traces.append(trace)
        if summarize is not None:
            metrics.append(summarize(infos))
        if trace:
            errors.append(trace[-1])
            crashed.append(bool(np.any(info.get("crashed", False))))
    result = {"episodes": args.episodes, "mean_return": float(np.mean(returns)), "returns": returns}
    print(
        f"{state['algo']} on {state['env']}: mean return {np.mean(returns):.3f} "
        f"over {args.episodes} episodes"
    )
    if metrics and hasattr(task, "success"):  # the task's own rule, not hover's on every task
        success = [task.success(m) for m in metrics]
        result.update(success=success, success_rate=float(np.mean(success)))
        result["success_rule"] = task.success_rule
        print(f"success rate {np.mean(success):.2f} ({task.success_rule})")
    if errors:
        within = [(e < args.tolerance) and not c for e, c in zip(errors, crashed, strict=True)]
        result.update(final_position_error=errors, crashed=crashed, tolerance=args.tolerance)
        result["within_tolerance"] = float(np.mean(within))
        print(
            f"final error mean {np.mean(errors):.3f} m, max {np.max(errors):.3f} m; "
            f"{sum(within)}/{len(within)} under {args.tolerance} m uncrashed; "
            f"crashes {sum(crashed)}"
        )
    if metrics:
        result["task_metrics"] = metrics
        values = {m: np.array([e[m] for e in metrics], dtype=float) for m in metrics[0]}
        # a metric NaN in every episode (time_to_reach when none arrives) stays NaN, quietly
        means = {
            m: float(np.nanmean(v)) if np.isfinite(v).any() else np.nan for m, v in values.items()
        }
        print("task metrics (mean): " + ", ".join(f"{m} {v:.3f}" for m, v in means.items()))
    atomic_write_bytes(out / "evaluation.json", json.dumps(result, indent=1).encode())
    fig, axes = plt.subplots(1, 2 if errors else 1, figsize=(11 if errors else 6, 4))
    axes = np.atleast_1d(axes)
    axes[0].bar(range(len(returns)), returns)
    axes[0].set_xlabel("episode")
    axes[0].set_ylabel("return")
    if errors:
        for trace in traces:
            axes[1].plot(np.arange(len(trace)) / env.unwrapped.task.control_hz, trace, lw=0.8)
        axes[1].axhline(args.tolerance, color="k", ls=":")
        axes[1].set_yscale("log")
        axes[1].set_xlabel("time (s)")
        axes[1].set_ylabel("distance to target (m)")
    fig.suptitle(f"{state['algo']} on {state['env']}")
    fig.tight_layout()
    save_figure(fig, out / "evaluation.png", dpi=90)
    if args.video and frames:
        filmed = min(args.video_episodes, args.episodes)
        print(f"{args.video}: the first {filmed} of {args.episodes} episodes (seeds from 1000)")
        import imageio.v2 as imageio

        imageio.mimwrite(
            args.video, frames, fps=env.metadata.get("render_fps", 30), macro_block_size=1
        )
    print(f"wrote {out / 'evaluation.json'} and {out / 'evaluation.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
