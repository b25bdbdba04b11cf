"""Replay a multi-agent run of scripts/train_marl.py: evaluate, plot, and optionally film it.

    python scripts/replay_marl.py --run runs/swarm-4-s0
    python scripts/replay_marl.py --run runs/swarm-4-s0 --episodes 5 --video swarm.mp4

Plays ``--episodes`` episodes of quad_swarm_v0 from ground starts (seeds 1000, ...)
with the shared policy acting deterministically for every drone, prints the mean
final distance of each drone to its target and the crashes/collisions, and
writes ``replay.png`` (each drone's distance to its target over time, first
episode; final distances per drone over all episodes) and ``replay.json``.
"""

import dataclasses
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from evaluate import load_run, not_a_run  # noqa: E402

from quadgym.cli import parse_args  # noqa: E402
from quadgym.config import TypedConfig, param  # noqa: E402
from quadgym.registry import make_parallel_env  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    run: str = param(dataclasses.MISSING, "run directory written by scripts/train_marl.py")
    episodes: int = param(20, "evaluation episodes from ground starts (seeds 1000, ...)", ge=1)
    video: str | None = param(None, "write an MP4 of the first episode here")


def evaluate(algo, num_drones: int, episodes: int, video: str | None = None) -> dict:
    """Final distances (episodes × drones), failures and the first episode's traces."""
    env = make_parallel_env(
        "quad_swarm_v0", num_drones=num_drones, render_mode="rgb_array" if video else None
    )
    finals, crashed, collided, traces, frames = [], 0, 0, [], []
    for ep in range(episodes):
        obs, _ = env.reset(seed=1000 + ep)
        last, trace = {}, []
        while env.agents:
            obs, _, term, _, info = env.step(algo.act({a: obs[a] for a in env.agents}))
            last.update(info)
            trace.append([last[a]["position_error"] for a in env.possible_agents])
            crashed += sum(info[a]["crashed"] for a in info)
            collided += sum(info[a]["collided"] for a in info)
            if video and ep == 0:
                frames.append(env.render())
        finals.append(trace[-1])
        if ep == 0:
            traces = trace
    env.close()
    if video and frames:
        import imageio.v2 as imageio

        imageio.mimwrite(video, frames, fps=env.metadata["render_fps"], macro_block_size=1)
    finals = np.array(finals)
    return {
        "final_distance": finals.tolist(),
        "mean_final_distance_per_drone": finals.mean(axis=0).tolist(),
        "crashed": int(crashed),
        "collided": int(collided),
        "first_episode_trace": traces,
    }


def report(result: dict, out: Path) -> None:
    per_drone = result["mean_final_distance_per_drone"]
    print("mean final distance per drone (m): " + ", ".join(f"{d:.3f}" for d in per_drone))
    print(
        f"crashes {result['crashed']}, collisions {result['collided']} "
        f"over {len(result['final_distance'])} episodes"
    )
    (out / "replay.json").write_text(json.dumps(result, indent=1))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    trace = np.array(result["first_episode_trace"])
    for i in range(trace.shape[1]):
        axes[0].plot(np.arange(len(trace)) / 30, trace[:, i], label=f"drone_{i}")
    axes[0].set_yscale("log")
    axes[0].axhline(0.15, color="k", ls=":")
    axes[0].set_xlabel("time (s)")
    axes[0].set_ylabel("distance to own target (m)")
    axes[0].legend(fontsize=7)
    finals = np.array(result["final_distance"])
    axes[1].boxplot(finals)
    axes[1].set_xticks(
        range(1, finals.shape[1] + 1), [f"drone_{i}" for i in range(finals.shape[1])]
    )
    axes[1].set_ylabel("final distance (m), all episodes")
    fig.tight_layout()
    fig.savefig(out / "replay.png", dpi=90)
    plt.close(fig)
    print(f"wrote {out / 'replay.json'} and {out / 'replay.png'}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(Args, __doc__, argv, check=not_a_run)
    run = Path(args.run)
    state, algo = load_run(run)
    num_drones = int(state["config"].get("num_drones", 4))
    report(evaluate(algo, num_drones, args.episodes, args.video), run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
