"""How much of an env step is PyBullet itself: the floor of the PyBullet backend.

    .venv/bin/python benchmarks/bullet_share.py [--steps 3000] [--out FILE]

For each workload (QuadHover-v0 ``pyb`` with ``rpm`` actions, with ``action_type="pid"``,
in ``pyb_gnd_drag_dw``; QuadGates-v0 with ``pid`` actions; ``quad_swarm_v0`` with 4 drones
and its defaults, the PyFlyt comparison's side, whose live agents act and which resets once
every agent is done): uniform random actions drawn before the loop, reset when an episode
ends, ``--steps`` steps timed in CPU-seconds
(``time.process_time``) twice in one process: once as they are (env steps/s), once with
every PyBullet function the world calls wrapped by a CPU timer, which gives the share of
the step spent inside PyBullet (the wrappers' own cost, measured apart, falls outside
the share; they make the wrapped run slower, which is why the rate comes from the
other). What is left is Python and NumPy: the ceiling a faster Python side can lift.
The 1-minute load average before and after is recorded with each row.

quadgym is imported from ``--tree`` (default: this checkout, whatever the interpreter has
installed), so an earlier commit's tree (``git worktree add DIR <commit>``) can be measured
by the same script.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pybullet as p
from record import REPO, arguments, git_commit, stamp, write_result

#: Workload -> (env id, keyword arguments).
WORKLOADS = {
    "hover_rpm": ("QuadHover-v0", {}),
    "hover_pid": ("QuadHover-v0", {"action_type": "pid"}),
    "gnd_drag_dw": ("QuadHover-v0", {"physics": "pyb_gnd_drag_dw"}),
    "gates_pid": ("QuadGates-v0", {"action_type": "pid"}),
    "swarm": ("quad_swarm_v0", {"num_drones": 4}),
}

#: The PyBullet functions a world calls while stepping and resetting.
BULLET = (
    "stepSimulation",
    "applyExternalForce",
    "applyExternalTorque",
    "getBasePositionAndOrientation",
    "getBaseVelocity",
    "resetBasePositionAndOrientation",
    "resetBaseVelocity",
    "restoreState",
    "performCollisionDetection",
    "getContactPoints",
)


def _loop(env: Any, actions: np.ndarray) -> float:
    """CPU-seconds of ``len(actions)`` steps (resets included). A parallel env's live
    agents act (row i of a step's actions is agent i's) and it resets once all are done."""
    clock = time.process_time
    if hasattr(env, "possible_agents"):
        agents = list(env.possible_agents)
        rows = [dict(zip(agents, a, strict=True)) for a in actions]
        spent = 0.0
        for row in rows:
            act = {agent: row[agent] for agent in env.agents}  # untimed, as bench_peers does
            start = clock()
            env.step(act)
            if not env.agents:
                env.reset()
            spent += clock() - start
        return spent
    start = clock()
    for a in actions:
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
    return clock() - start


def measure(env_id: str, options: dict[str, str], steps: int, seed: int = 0) -> dict[str, Any]:
    """Steps/s as it is, and the share of the CPU time inside PyBullet's functions."""
    load_before = os.getloadavg()[0]
    from quadgym.registry import list_parallel_envs, make_parallel_env

    if env_id in list_parallel_envs():  # a row of actions per step, one per agent
        env = make_parallel_env(env_id, **options)
        space = env.action_space(env.possible_agents[0])
        shape = (len(env.possible_agents), *space.shape)
    else:
        env = gym.make(env_id, **options)
        space = env.action_space
        shape = space.shape
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    actions = rng.uniform(space.low, space.high, size=(steps, *shape)).astype(space.dtype)
    _loop(env, actions[:50])  # warm-up
    env.reset(seed=seed)
    plain = _loop(env, actions)
    inside = {name: 0.0 for name in BULLET}
    calls = dict.fromkeys(BULLET, 0)
    originals = {name: getattr(p, name) for name in BULLET}
    clock = time.process_time

    def timed(name: str, f: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            t = clock()
            out = f(*args, **kwargs)
            inside[name] += clock() - t
            calls[name] += 1
            return out

        return call

    # a wrapper's own cost inside its interval: one clock() call and the call through it
    t = clock()
    for _ in range(20000):
        clock()
    per_clock = (clock() - t) / 20000
    try:
        for name, f in originals.items():
            setattr(p, name, timed(name, f))
        env.reset(seed=seed)
        wrapped = _loop(env, actions)
    finally:
        for name, f in originals.items():
            setattr(p, name, f)
    env.close()
    n_calls = sum(calls.values())
    bullet = sum(inside.values()) - n_calls * per_clock
    return {
        "env": env_id,
        "options": options,
        "steps": steps,
        "env_steps_per_s": steps / plain,
        "us_per_step": plain / steps * 1e6,
        "bullet_us_per_step": bullet / steps * 1e6,
        "bullet_share": bullet / plain,
        "bullet_calls_per_step": n_calls / steps,
        "bullet_us_per_step_by_function": {
            k: v / steps * 1e6 for k, v in inside.items() if calls[k]
        },
        "wrapped_run_s": wrapped,
        "plain_run_s": plain,
        "load_1min": [load_before, os.getloadavg()[0]],
    }


def main() -> None:
    ap = arguments(__doc__, "bullet_share.json")
    ap.add_argument("--steps", type=int, default=3000, help="timed env steps per workload")
    ap.add_argument("--tree", default=str(REPO), help="source tree to import quadgym from")
    args = ap.parse_args()
    if args.steps < 100:
        ap.error(f"--steps must be >= 100, got {args.steps}")
    tree = Path(args.tree).resolve()
    if not (tree / "quadgym" / "__init__.py").is_file():
        ap.error(f"--tree {args.tree!r}: no quadgym/__init__.py there")
    sys.path.insert(0, str(tree))
    quadgym = importlib.import_module("quadgym")  # registers the envs
    commit = git_commit(tree)
    meta = stamp(
        steps=args.steps,
        clock="time.process_time",
        quadgym={"tree": str(tree), "commit": commit, "imported": quadgym.__file__},
    )
    rows = {}
    for name, (env_id, options) in WORKLOADS.items():
        rows[name] = r = measure(env_id, options, args.steps)
        print(
            f"{name:<12} {r['env_steps_per_s']:8,.0f} env steps/s, {r['us_per_step']:6.0f} µs a "
            f"step, {r['bullet_us_per_step']:5.0f} µs in PyBullet ({100 * r['bullet_share']:.0f} %,"
            f" {r['bullet_calls_per_step']:.0f} calls), load {r['load_1min'][0]:.1f}",
            flush=True,
        )
    write_result(args.out, meta, workloads=rows)


if __name__ == "__main__":
    main()
