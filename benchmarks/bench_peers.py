"""quadgym against its two peers, each on the peer's own workload, timed by the same loop.

    .venv/bin/python benchmarks/bench_peers.py --gpd-python /tmp/peers-gpd/bin/python \\
        --pyflyt-python /tmp/peers/bin/python [--repeats 5] [--hover-steps 5000] \\
        [--swarm-steps 2000] [--out benchmarks/results/peers.json]

Two pairs, each side with its own defaults:

* ``hover``: gym-pybullet-drones' ``HoverAviary`` (through ``gym.make("hover-aviary-v0")``,
  which constructs ``HoverAviary()``: one cf2x, ``pyb`` physics, 240 Hz physics, 30 Hz
  control, ``rpm`` actions of ±5 % around hover, 8 s episodes) against
  ``gym.make("QuadHover-v0")`` (one cf2x, ``pyb``, 240/30 Hz, ``rpm`` actions of ±50 %
  around hover, 8 s episodes). Uniform random actions within the action space's bounds,
  reset whenever an episode ends (terminated or truncated): env steps/s counting ``step()``
  only, steps/s of the full loop (steps and resets), mean ``reset()`` time;
* ``swarm``: PyFlyt's 4-agent quadrotor hover env (PettingZoo ``ParallelEnv``,
  ``MAQuadXHoverEnv()`` of ``PyFlyt.pz_envs``: 240 Hz physics, 40 Hz agents, angular-rate
  and thrust actions, 30 s episodes) against ``make_parallel_env("quad_swarm_v0",
  num_drones=4)``. Uniform random actions for every live agent, reset once every agent is
  done: live agent-steps/s counting ``step()`` only (each step counts the live agents that
  acted in it) and mean ``reset()`` time.

Both sides of a pair run the same function (:func:`hover_loop` or :func:`parallel_loop`),
each in a fresh process of its own interpreter: PyFlyt pins numpy < 2 and
gym-pybullet-drones has no PyPI release (install a checkout of its sources), so the peers
live in their own virtualenvs (``--gpd-python``, ``--pyflyt-python``) and this script
re-runs itself there with ``--worker``. Before the timed loop each process
makes the env, resets it and takes ``--warmup`` untimed steps (PyFlyt compiles its numba
kernels on the first reset, several seconds), then resets with the repeat's seed. The sides
alternate (peer, quadgym, peer, quadgym, ...) ``--repeats`` times and the figures are the
medians, so background load falls on both alike; every repeat is kept in the JSON, with
the ratios quadgym / peer of the medians. A peer that its interpreter cannot import is
skipped with a message (the default interpreter is this one, which does not hold them);
with neither peer, nothing is written.

Prints a table and writes the figures as JSON stamped by ``record.stamp``, with the
interpreter and package versions of each peer in ``meta.peers``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from record import arguments, stamp, write_result

SCRIPT = Path(__file__).resolve()

#: What each figure counts; the sides of a pair count them alike.
WORKLOADS = {
    "hover": {
        "step_only_steps_per_s": "uniform random actions within the action space's bounds, "
        "reset whenever an episode ends (terminated or truncated): env steps per second "
        "counting step() only",
        "loop_steps_per_s": "the same loop: env steps per second of step() plus reset()",
        "reset_ms": "mean time of the reset() calls of that loop",
        "episodes": "episodes that ended in the timed loop",
        "mean_episode_steps": "mean env steps of those episodes",
    },
    "swarm": {
        "agent_steps_per_s": "uniform random actions within the action space's bounds for "
        "every live agent, reset once every agent is done: live agent-steps per second "
        "counting step() only (each step counts the agents that acted in it)",
        "env_steps_per_s": "the same loop: env steps per second counting step() only",
        "loop_agent_steps_per_s": "the same loop: live agent-steps per second of step() "
        "plus reset()",
        "reset_ms": "mean time of the reset() calls of that loop",
        "live_agents_per_step": "mean live agents per step",
        "episodes": "episodes (every agent done) that ended in the timed loop",
        "mean_episode_steps": "mean env steps of those episodes",
    },
}

#: Figures of each pair whose quadgym / peer ratio is reported.
RATIOS = {
    "hover": ("step_only_steps_per_s", "loop_steps_per_s", "reset_ms"),
    "swarm": ("agent_steps_per_s", "loop_agent_steps_per_s", "reset_ms"),
}


# ----------------------------------------------------------------- the shared loops
def timed_loop(
    prepare: Callable[[int], tuple[Any, int]],
    step: Callable[[Any], bool],
    reset: Callable[[], Any],
    steps: int,
) -> dict[str, float]:
    """``steps`` steps: ``prepare(k)`` (untimed) gives step k's argument and the agents
    acting in it, ``step(argument)`` (timed) says whether the episode is over, and then
    ``reset()`` (timed apart) starts the next. Seconds in steps and resets, counts."""
    clock = time.perf_counter
    in_step = in_reset = 0.0
    live = length = 0
    lengths: list[int] = []
    for k in range(steps):
        argument, acting = prepare(k)
        live += acting
        t = clock()
        over = step(argument)
        in_step += clock() - t
        length += 1
        if over:
            t = clock()
            reset()
            in_reset += clock() - t
            lengths.append(length)
            length = 0
    episodes = max(len(lengths), 1)
    return {
        "in_step": in_step,
        "in_reset": in_reset,
        "live": live,
        "reset_ms": in_reset / episodes * 1e3,
        "episodes": len(lengths),
        "mean_episode_steps": sum(lengths) / episodes,
    }


def hover_loop(env: Any, steps: int, seed: int, warmup: int) -> dict[str, float]:
    """A Gymnasium env under uniform random actions, reset whenever an episode ends."""
    import numpy as np

    rng = np.random.default_rng(seed)
    space = env.action_space

    def draw(n: int) -> Any:
        return rng.uniform(space.low, space.high, size=(n, *space.shape)).astype(space.dtype)

    def over(action: Any) -> bool:
        _, _, term, trunc, _ = env.step(action)
        return bool(term or trunc)

    env.reset(seed=seed)
    warm = draw(warmup)
    timed_loop(lambda k: (warm[k], 1), over, env.reset, warmup)  # untimed warm-up
    env.reset(seed=seed)
    actions = draw(steps)
    r = timed_loop(lambda k: (actions[k], 1), over, env.reset, steps)
    return {
        "step_only_steps_per_s": steps / r["in_step"],
        "loop_steps_per_s": steps / (r["in_step"] + r["in_reset"]),
        "reset_ms": r["reset_ms"],
        "episodes": r["episodes"],
        "mean_episode_steps": r["mean_episode_steps"],
    }


def parallel_loop(env: Any, steps: int, seed: int, warmup: int) -> dict[str, float]:
    """A PettingZoo ParallelEnv under uniform random actions for every live agent, reset
    once every agent is done."""
    import numpy as np

    rng = np.random.default_rng(seed)
    agents = list(env.possible_agents)

    def draw(n: int) -> dict[str, Any]:
        out = {}
        for a in agents:
            space = env.action_space(a)
            out[a] = rng.uniform(space.low, space.high, size=(n, *space.shape)).astype(space.dtype)
        return out

    def acting(table: dict[str, Any]) -> Callable[[int], tuple[dict, int]]:
        def prepare(k: int) -> tuple[dict, int]:
            act = {a: table[a][k] for a in env.agents}
            return act, len(act)

        return prepare

    def over(act: dict) -> bool:
        env.step(act)
        return not env.agents

    env.reset(seed=seed)
    timed_loop(acting(draw(warmup)), over, env.reset, warmup)  # untimed warm-up
    env.reset(seed=seed)
    r = timed_loop(acting(draw(steps)), over, env.reset, steps)
    return {
        "agent_steps_per_s": r["live"] / r["in_step"],
        "env_steps_per_s": steps / r["in_step"],
        "loop_agent_steps_per_s": r["live"] / (r["in_step"] + r["in_reset"]),
        "reset_ms": r["reset_ms"],
        "live_agents_per_step": r["live"] / steps,
        "episodes": r["episodes"],
        "mean_episode_steps": r["mean_episode_steps"],
    }


# ----------------------------------------------------------------- the four sides
def _box(space: Any) -> dict[str, Any]:
    """An action Box as plain JSON: shape, dtype and (per-dimension) bounds."""
    return {
        "shape": list(space.shape),
        "dtype": str(space.dtype),
        "low": space.low.reshape(-1).tolist(),
        "high": space.high.reshape(-1).tolist(),
    }


def _make_gpd() -> tuple[Any, dict[str, Any]]:
    import gym_pybullet_drones  # noqa: F401  (registers hover-aviary-v0)
    import gymnasium as gym

    env = gym.make("hover-aviary-v0")
    u = env.unwrapped
    return env, {
        "env": "gym.make('hover-aviary-v0'), i.e. HoverAviary() with its defaults",
        "physics": u.PHYSICS.value,
        "physics_hz": u.PYB_FREQ,
        "control_hz": u.CTRL_FREQ,
        "action_type": u.ACT_TYPE.value,
        "action_space": _box(env.action_space),
        "rpm_per_action": "HOVER_RPM * (1 + 0.05 * a)",
        "observation_shape": list(env.observation_space.shape),
        "episode_seconds": u.EPISODE_LEN_SEC,
        "start_xyz": u.INIT_XYZS.reshape(-1).tolist(),
    }


def _make_quadgym_hover() -> tuple[Any, dict[str, Any]]:
    import gymnasium as gym

    import quadgym  # noqa: F401  (registers QuadHover-v0)

    env = gym.make("QuadHover-v0")
    c = env.unwrapped.config
    return env, {
        "env": "gym.make('QuadHover-v0') with its defaults",
        "physics": c.physics,
        "physics_hz": c.physics_hz,
        "control_hz": c.control_hz,
        "action_type": c.action_type,
        "action_space": _box(env.action_space),
        "rpm_per_action": "hover_rpm * (1 + 0.5 * a)",
        "observation_shape": list(env.observation_space.shape),
        "episode_seconds": c.episode_seconds,
    }


def _pyflyt_class() -> Any:
    """PyFlyt's 4-agent hover env: ``MAQuadXHoverEnv``, exported as ``MAQuadXHoverEnvV2``
    by PyFlyt.pz_envs in the releases that renamed it."""
    try:
        from PyFlyt.pz_envs import MAQuadXHoverEnv
    except ImportError:
        from PyFlyt.pz_envs import MAQuadXHoverEnvV2 as MAQuadXHoverEnv
    return MAQuadXHoverEnv


def _make_pyflyt() -> tuple[Any, dict[str, Any]]:
    cls = _pyflyt_class()
    env = cls()
    env.reset(seed=0)  # PyFlyt builds its Aviary (and compiles its numba kernels) here
    av = env.aviary
    return env, {
        "env": f"PyFlyt.pz_envs.{cls.__name__}() with its defaults",
        "agents": len(env.possible_agents),
        "physics_hz": av.physics_hz,
        "control_hz": round(1.0 / (env.env_step_ratio * av.step_period), 3),
        "physics_steps_per_env_step": env.env_step_ratio * av.updates_per_step,
        "flight_mode": env.flight_mode,
        "action_space": _box(env.action_space(env.possible_agents[0])),
        "observation_shape": list(env.observation_space(env.possible_agents[0]).shape),
        "episode_seconds": env.max_steps / round(1.0 / (env.env_step_ratio * av.step_period)),
        "flight_dome_size": env.flight_dome_size,
        "start_pos": env.start_pos.tolist(),
        "reset": "disconnects and rebuilds its Aviary (a new PyBullet client) each reset",
    }


def _make_quadgym_swarm() -> tuple[Any, dict[str, Any]]:
    from quadgym.registry import make_parallel_env

    env = make_parallel_env("quad_swarm_v0", num_drones=4)
    c = env.config
    return env, {
        "env": "make_parallel_env('quad_swarm_v0', num_drones=4) with its defaults",
        "agents": len(env.possible_agents),
        "physics": c.physics,
        "physics_hz": c.physics_hz,
        "control_hz": c.control_hz,
        "physics_steps_per_env_step": c.substeps,
        "action_type": c.action_type,
        "action_space": _box(env.action_space(env.possible_agents[0])),
        "observation_shape": list(env.observation_space(env.possible_agents[0]).shape),
        "episode_seconds": c.episode_seconds,
    }


#: Worker name -> (env factory, loop, distribution names whose versions the probe reports).
SIDES = {
    "gpd": (_make_gpd, hover_loop, ("gym-pybullet-drones", "numpy", "pybullet", "gymnasium")),
    "quadgym_hover": (_make_quadgym_hover, hover_loop, ("quadgym", "numpy", "pybullet")),
    "pyflyt": (
        _make_pyflyt,
        parallel_loop,
        ("PyFlyt", "numpy", "numba", "pybullet", "gymnasium", "pettingzoo"),
    ),
    "quadgym_swarm": (_make_quadgym_swarm, parallel_loop, ("quadgym", "numpy", "pybullet")),
}

#: The two pairs: peer worker, quadgym worker, the peer's name, its module, its steps option.
PAIRS = {
    "hover": {
        "peer": "gpd",
        "quadgym": "quadgym_hover",
        "peer_name": "gym-pybullet-drones",
        "module": "gym_pybullet_drones",
        "python_option": "gpd_python",
        "steps_option": "hover_steps",
    },
    "swarm": {
        "peer": "pyflyt",
        "quadgym": "quadgym_swarm",
        "peer_name": "PyFlyt",
        "module": "PyFlyt.pz_envs",
        "python_option": "pyflyt_python",
        "steps_option": "swarm_steps",
    },
}


def _versions(names: tuple[str, ...]) -> dict[str, str | None]:
    import platform

    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def worker(args: argparse.Namespace) -> None:
    """``--worker NAME``: one side once (or ``--probe NAME``: its imports and versions);
    the JSON goes to ``--worker-out``."""
    name = args.worker or args.probe
    make, loop, packages = SIDES[name]
    if args.probe:
        if name == "pyflyt":
            _pyflyt_class()
        else:
            make()[0].close()
        out: dict[str, Any] = {"versions": _versions(packages)}
    else:
        env, settings = make()
        figures = loop(env, args.steps, args.seed, args.warmup)
        env.close()
        out = {"settings": settings, "figures": figures}
    Path(args.worker_out).write_text(json.dumps(out))


# ----------------------------------------------------------------- the driver
def _run(python: str, extra: list[str], timeout: float = 3600) -> dict[str, Any]:
    """Run this script under ``python`` with ``extra`` and return its JSON; raises
    RuntimeError with the end of its output when it fails."""
    fd, out = tempfile.mkstemp(prefix="bench_peers.", suffix=".json")
    os.close(fd)
    try:
        done = subprocess.run(
            [python, str(SCRIPT), *extra, "--worker-out", out],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeError(lines[-1] if lines else f"exit code {done.returncode}")
        return json.loads(Path(out).read_text())
    finally:
        Path(out).unlink(missing_ok=True)


def probe(python: str, side: str) -> tuple[dict[str, Any] | None, str | None]:
    """(versions, None) when ``python`` can make ``side``'s env, else (None, why not)."""
    if not Path(python).exists():
        return None, f"no interpreter at {python}"
    try:
        return _run(python, ["--probe", side], timeout=600)["versions"], None
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        return None, str(e)


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


#: Column headings of the printed table.
LABELS = {
    "step_only_steps_per_s": "step/s (step)",
    "loop_steps_per_s": "step/s (loop)",
    "agent_steps_per_s": "agent-st/s (step)",
    "env_steps_per_s": "env st/s (step)",
    "loop_agent_steps_per_s": "agent-st/s (loop)",
    "reset_ms": "reset ms",
    "live_agents_per_step": "live/step",
    "episodes": "episodes",
    "mean_episode_steps": "steps/episode",
}


def _fmt(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}"


def print_pair(title: str, result: dict[str, Any]) -> None:
    """The medians and every repeat of both sides, then the ratios."""
    keys = list(result["median"]["peer"])
    print(f"\n{title}")
    print(f"{'side':<21}{'run':>7}" + "".join(f"{LABELS[k]:>19}" for k in keys))
    for side, label in (("peer", result["peer"]), ("quadgym", "quadgym")):
        rows = [("median", result["median"][side])]
        rows += [(f"#{i}", r) for i, r in enumerate(result["repeats"][side])]
        for j, (run, fig) in enumerate(rows):
            name = label if j == 0 else ""
            print(f"{name:<21}{run:>7}" + "".join(f"{_fmt(fig[k]):>19}" for k in keys))
    ratios = result["ratio_quadgym_over_peer"]
    print("ratio quadgym / peer: " + ", ".join(f"{k} {v:.3g}" for k, v in ratios.items()))


def main() -> None:
    ap = arguments(__doc__, "peers.json")
    ap.add_argument(
        "--gpd-python",
        default=sys.executable,
        help="interpreter with gym-pybullet-drones (default: this one)",
    )
    ap.add_argument(
        "--pyflyt-python",
        default=sys.executable,
        help="interpreter with PyFlyt (default: this one)",
    )
    ap.add_argument("--repeats", type=int, default=5, help="runs of each side (default 5)")
    ap.add_argument("--hover-steps", type=int, default=5000, help="timed env steps per run")
    ap.add_argument("--swarm-steps", type=int, default=2000, help="timed env steps per run")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps before each run")
    ap.add_argument("--worker", choices=list(SIDES), help=argparse.SUPPRESS)
    ap.add_argument("--probe", choices=list(SIDES), help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker or args.probe:
        worker(args)
        return

    meta = stamp(
        repeats=args.repeats,
        hover_steps=args.hover_steps,
        swarm_steps=args.swarm_steps,
        warmup_steps=args.warmup,
    )
    peers: dict[str, Any] = {}
    payload: dict[str, Any] = {}
    for pair, spec in PAIRS.items():
        python = getattr(args, spec["python_option"])
        versions, why = probe(python, spec["peer"])
        if versions is None:
            print(
                f"skipping {spec['peer_name']}: {spec['module']} is not importable with "
                f"{python} ({why}); install it in its own virtualenv and pass "
                f"--{spec['python_option'].replace('_', '-')}"
            )
            peers[spec["peer_name"]] = {"python": python, "skipped": why}
            continue
        peers[spec["peer_name"]] = {"python": python, "versions": versions}
        steps = getattr(args, spec["steps_option"])
        repeats: dict[str, list[dict[str, float]]] = {"peer": [], "quadgym": []}
        settings: dict[str, Any] = {}
        for r in range(args.repeats):
            for side, py in (("peer", python), ("quadgym", sys.executable)):
                name = spec[side]
                extra = ["--worker", name, "--steps", str(steps), "--seed", str(r)]
                got = _run(py, [*extra, "--warmup", str(args.warmup)])
                repeats[side].append(got["figures"])
                settings[side] = got["settings"]
                shown = ", ".join(f"{k} {_fmt(v)}" for k, v in got["figures"].items())
                print(f"[{pair} #{r}] {name}: {shown}", flush=True)
        median = {side: _median(runs) for side, runs in repeats.items()}
        payload[pair] = {
            "peer": spec["peer_name"],
            "steps_per_run": steps,
            "settings": settings,
            "median": median,
            "repeats": repeats,
            "ratio_quadgym_over_peer": {
                k: median["quadgym"][k] / median["peer"][k] for k in RATIOS[pair]
            },
        }
    meta["peers"] = peers
    for pair, result in payload.items():
        print_pair(
            f"{pair}: {result['peer']} vs quadgym, {result['steps_per_run']} steps "
            f"per run, medians of {args.repeats}",
            result,
        )
    if not payload:  # keep a recorded result rather than replace it by an empty one
        print("no peer was importable: nothing measured, nothing written")
        return
    write_result(args.out, meta, workloads=WORKLOADS, **payload)


if __name__ == "__main__":
    main()
