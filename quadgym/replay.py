"""A team policy's formation replay, shared by ``scripts/replay_marl.py``,
``scripts/train_marl.py`` and ``scripts/train_rllib.py``: episodes of ``quad_swarm_v0`` from
ground starts (seeds 1000, ...) with the policy acting deterministically for every drone, the
final distance of each drone to its target, crashes and collisions (:func:`evaluate`), and
``replay.json`` plus ``replay.png`` (:func:`report`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from quadgym.registry import make_parallel_env


def evaluate(algo: Any, num_drones: int, episodes: int, video: str | None = None) -> dict:
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
    """Print the per-drone means and write ``out/replay.json`` and ``out/replay.png``."""
    per_drone = result["mean_final_distance_per_drone"]
    print("mean final distance per drone (m): " + ", ".join(f"{d:.3f}" for d in per_drone))
    print(
        f"crashes {result['crashed']}, collisions {result['collided']} "
        f"over {len(result['final_distance'])} episodes"
    )
    (out / "replay.json").write_text(json.dumps(result, indent=1))
    fig = Figure(figsize=(11, 4))
    axes = fig.subplots(1, 2)
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
    print(f"wrote {out / 'replay.json'} and {out / 'replay.png'}")
