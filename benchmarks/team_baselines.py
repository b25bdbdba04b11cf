"""The control baseline on the multi-agent tasks: a PID per drone, 20 seeded episodes each.

    .venv/bin/python benchmarks/team_baselines.py [--episodes 20] [--drones 4]

quad_swarm_v0 (formation from ground starts), quad_swap_v0, quad_reform_v0 and
quad_leader_v0, ``pyb`` physics (240 / 30 Hz), ``pid`` actions (each drone's
cascaded PID tracks a set-point at the physics rate), the envs' defaults
otherwise (4 drones, a 0.5 m grid). Each agent's action is a set-point offset
from its own current goal: 0, except on quad_swap_v0, where the planner layers
the drones in height while they cross: drone i flies ``LAYER`` m × (i − (n−1)/2)
above its goal while more than ``NEAR`` m away from it horizontally, the layer
shrinking in proportion below that (straight paths through the centre at one
height collide; a sudden 0.45 m drop saturates the PID at low thrust and
tips the drone); on quad_leader_v0 every drone leads its goal by the
reference's motion (the set-point ``LEAD`` times the step from its goal to the
first observed point ahead, which is ``lookahead_dt`` s ahead: the position
loop lags ~0.4 s). Scored per episode:
``completed`` (every drone within 0.10 m of its goal at the end, no crash, no
collision), ``collided``, ``crashed``, ``max_final_error`` (m). Prints the
table (mean and 95 % t-interval over episodes) and writes
``benchmarks/results/team_baselines.json``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from record import arguments, stamp, write_result

from quadgym.evaluation import interval
from quadgym.registry import make_parallel_env

ENVS = ("quad_swarm_v0", "quad_swap_v0", "quad_reform_v0", "quad_leader_v0")
#: Height between the swap's layers, m, and the horizontal distance to the goal within
#: which a drone leaves its layer, m.
LAYER, NEAR = 0.3, 0.3
#: quad_leader_v0: the set-point's lead over the goal, in steps to the point ahead.
LEAD = 1.6


def set_points(env: Any, obs: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """Each live agent's ``pid`` action: its goal, or (swap) its layer above it."""
    out = {}
    n = env.num_drones
    for agent in env.agents:
        action = np.zeros(3, dtype=np.float32)
        if name == "quad_swap_v0":
            i = env._index[agent]
            far = min(1.0, np.hypot(*obs[agent][:2]) / NEAR)
            action[2] = LAYER * (i - (n - 1) / 2) * far
        elif name == "quad_leader_v0":
            first = 18 + env.task.act_dim  # the first reference point ahead
            action[:] = LEAD * (obs[agent][first : first + 3] - obs[agent][:3])
        out[agent] = np.clip(action, -1.0, 1.0)
    return out


def episode(name: str, drones: int, seed: int) -> dict[str, float]:
    """One seeded episode of the per-drone PID on ``name``, scored."""
    env = make_parallel_env(name, num_drones=drones, action_type="pid")
    obs, _ = env.reset(seed=seed)
    crashed = collided = False
    errors = np.zeros(drones)
    while env.agents:
        agents = list(env.agents)
        obs, _, term, trunc, infos = env.step(set_points(env, obs, name))
        for agent in agents:
            crashed |= bool(infos[agent]["crashed"])
            collided |= bool(infos[agent]["collided"])
            errors[env._index[agent]] = infos[agent]["position_error"]
    env.close()
    ok = not crashed and not collided and errors.max() < 0.10
    return {
        "completed": float(ok),
        "collided": float(collided),
        "crashed": float(crashed),
        "max_final_error": float(errors.max()),
    }


def main() -> None:
    ap = arguments(__doc__, "team_baselines.json")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--drones", type=int, default=4)
    args = ap.parse_args()
    meta = stamp(physics="pyb", physics_hz=240, control_hz=30, drones=args.drones)
    rows = []
    for name in ENVS:
        scores = [episode(name, args.drones, 1000 + k) for k in range(args.episodes)]
        summary = {m: interval([s[m] for s in scores]) for m in scores[0]}
        rows.append(
            {"env": name, "controller": "pid per drone", "episodes": scores, "summary": summary}
        )
        cells = "  ".join(f"{m} {mean:.3f}±{half:.3f}" for m, (mean, half) in summary.items())
        print(f"{name:<16}{cells}")
    write_result(
        args.out,
        meta,
        workload="a PID per drone (pid actions, swap: height layers) on every multi-agent env, "
        "seeds 1000..; summary: mean and 95 % t half-width over episodes",
        results=rows,
    )


if __name__ == "__main__":
    main()
