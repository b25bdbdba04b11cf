"""The control baseline on every task of the suite: the ``pid`` plugin, 20 seeded episodes.

    .venv/bin/python benchmarks/task_baselines.py [--episodes 20] [--run runs/DIR ...]

For QuadHover-v0, QuadTrack-v0 (circle, figure8, spline), QuadLand-v0 and
QuadGates-v0, in ``pyb`` physics (240 Hz / 30 Hz) with the defaults otherwise,
the ``pid`` plugin flies ``--episodes`` episodes (seeds 1000, 1001, ...; the
seeds ``scripts/evaluate.py`` uses) through each action type it can steer
with, and each episode is scored by its task's own ``summarize`` (hover: final
error and time to within 0.10 m; track: RMS error; land: landed, touchdown
speed and error; gates: gates passed, completed, time, collided; all:
crashed). ``--run`` adds trained runs of ``scripts/train.py`` (their own env
id and action type), scored the same way. Prints the table
(mean and 95 % t-interval over episodes) and writes
``benchmarks/results/task_baselines.json`` with every episode's metrics.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
from record import arguments, stamp, write_result

import quadgym
from quadgym.evaluation import controller_interface, interval, score

#: (label, env id, env kwargs) of the tasks scored.
TASKS = [
    ("hover", "QuadHover-v0", {}),
    ("track circle", "QuadTrack-v0", {"trajectory": "circle"}),
    ("track figure8", "QuadTrack-v0", {"trajectory": "figure8"}),
    ("track spline", "QuadTrack-v0", {"trajectory": "spline"}),
    ("land", "QuadLand-v0", {}),
    ("gates", "QuadGates-v0", {}),
]
ACTION_TYPES = ("rpm", "pid", "vel", "attitude")


def episodes(env: gym.Env, agent: Any, count: int) -> list[dict[str, float]]:
    """``count`` episodes of ``agent`` (deterministic actions) on ``env`` (seeds 1000...),
    each summarized by the env's task."""
    return [e.metrics for e in score(env, agent, [1000 + k for k in range(count)])]


def main() -> None:
    ap = arguments(__doc__, "task_baselines.json")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--run", nargs="*", default=[], help="run directories of scripts/train.py")
    args = ap.parse_args()
    meta = stamp(physics="pyb", physics_hz=240, control_hz=30, episodes=args.episodes)
    rows = []
    for label, env_id, kwargs in TASKS:
        for action_type in ACTION_TYPES:
            env = gym.make(env_id, action_type=action_type, **kwargs)
            agent = quadgym.make_algo("pid", env)
            scores = episodes(env, agent, args.episodes)
            rows.append({"task": label, "controller": f"pid ({action_type})", "episodes": scores})
            env.close()
    for run in map(Path, args.run):
        state = json.loads((run / "state.json").read_text())
        algo = quadgym.make_algo(state["algo"], state["env"], **state["config"])
        algo.load(run / "checkpoint.bin")
        env = gym.make(state["env"], **controller_interface(str(run)))
        scores = episodes(env, algo, args.episodes)
        label = f"{state['algo']} ({run.name})"
        rows.append({"task": state["env"], "controller": label, "episodes": scores})
    for row in rows:
        metrics = row["episodes"][0].keys()
        row["summary"] = {m: interval([e[m] for e in row["episodes"]]) for m in metrics}
        cells = "  ".join(
            f"{m} {mean:.3f}±{half:.3f}" for m, (mean, half) in row["summary"].items()
        )
        print(f"{row['task']:<15}{row['controller']:<24}{cells}")
    write_result(
        args.out,
        meta,
        workload="pid plugin (and trained runs) on every task, seeds 1000.., metrics from "
        "each task's summarize(); summary: mean and 95 % t half-width over episodes",
        results=rows,
    )


if __name__ == "__main__":
    main()
