"""Baselines on the multi-agent tasks: the PID per drone, and trained ppo_shared runs.

    .venv/bin/python benchmarks/team_baselines.py [--episodes 20] [--drones 4] [--run DIR ...]

quad_swarm_v0 (formation from ground starts), quad_swap_v0, quad_reform_v0 and
quad_leader_v0, the swarm's default physics (``pyb_dw`` since issue 32: downwash; 240 /
30 Hz), the envs' defaults otherwise (4
drones, a 0.5 m grid). The ``pid`` plugin flies every drone through ``pid``
actions (each drone's cascaded PID tracks a set-point at the physics rate): its
planner (``quadgym.agents.model_based.base``) aims each drone at its own goal, layers
the drones in height while they cross on quad_swap_v0, and leads the goal by the
reference's velocity on quad_leader_v0. ``--run`` adds trained ``ppo_shared`` runs
of ``scripts/train.py`` (each on its own env, through the action type it trained
with). Episodes: seeds 1000, 1001, ..., scored by the task's ``summarize_team``:
``completed`` (every drone within 0.10 m of its goal at the end, no crash, no
collision), ``collided``, ``crashed``, ``max_final_error`` (m), ``seconds``,
``effort``. Prints the table (mean and 95 % t-interval over episodes) and writes
``benchmarks/results/team_baselines.json``.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from record import arguments, stamp, write_result

import quadgym
from quadgym.envs.quad.swarm import SwarmEnv
from quadgym.evaluation import interval, score, score_many
from quadgym.registry import make_parallel_env

ENVS = ("quad_swarm_v0", "quad_swap_v0", "quad_reform_v0", "quad_leader_v0")


def pid_scores(name: str, drones: int, seeds: list[int]) -> list[dict[str, float]]:
    """The ``pid`` plugin (``pid`` actions) on ``name``, one episode per seed."""
    env = make_parallel_env(name, num_drones=drones, action_type="pid")
    try:
        return [e.metrics for e in score(env, quadgym.make_algo("pid", env), seeds)]
    finally:
        env.close()


def run_scores(run: Path, seeds: list[int]) -> tuple[str, list[dict[str, float]]]:
    """The env id of the run directory ``run`` and its last checkpoint's episodes there,
    one per seed."""
    env_id = json.loads((run / "state.json").read_text())["env"]
    return env_id, [e.metrics for e in score_many(env_id, str(run), seeds)]


def summarized(env: str, controller: str, scores: list[dict[str, float]]) -> dict[str, Any]:
    """A result row: every episode and the mean and 95 % t half-width of each metric
    (printed)."""
    summary = {m: interval([s[m] for s in scores]) for m in scores[0]}
    cells = "  ".join(f"{m} {mean:.3f}±{half:.3f}" for m, (mean, half) in summary.items())
    print(f"{env:<16}{controller:<28}{cells}", flush=True)
    return {"env": env, "controller": controller, "episodes": scores, "summary": summary}


def main() -> None:
    ap = arguments(__doc__, "team_baselines.json")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--drones", type=int, default=4)
    ap.add_argument("--run", nargs="*", default=[], help="ppo_shared run directories")
    args = ap.parse_args()
    default = inspect.signature(SwarmEnv).parameters["physics"].default
    meta = stamp(physics=default, physics_hz=240, control_hz=30, drones=args.drones)
    seeds = [1000 + k for k in range(args.episodes)]
    rows = [summarized(n, "pid per drone", pid_scores(n, args.drones, seeds)) for n in ENVS]
    for run in map(Path, args.run):
        env_id, scores = run_scores(run, seeds)
        rows.append(summarized(env_id, f"ppo_shared ({run.name})", scores))
    write_result(
        args.out,
        meta,
        workload="the pid plugin per drone (pid actions; its planner) on every multi-agent "
        "env, and the ppo_shared runs of --run, seeds 1000..; summary: mean and 95 % t "
        "half-width over episodes",
        results=rows,
    )


if __name__ == "__main__":
    main()
