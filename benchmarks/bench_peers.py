"""quadgym against its two peers, each on the peer's own workload, timed by the same loop.

    .venv/bin/python benchmarks/bench_peers.py --peer-python /work/peers-venv/bin/python \\
        [--gpd-python PY] [--pyflyt-python PY] [--before DIR] [--workloads hover,pid,...] \\
        [--repeats 5] [--hover-steps 5000] [--swarm-steps 2000] [--out FILE]

The workloads, each side with its own defaults:

* ``hover``: gym-pybullet-drones' ``HoverAviary`` (through ``gym.make("hover-aviary-v0")``,
  which constructs ``HoverAviary()``: one cf2x, ``pyb`` physics, 240 Hz physics, 30 Hz
  control, ``rpm`` actions of ±5 % around hover, 8 s episodes) against
  ``gym.make("QuadHover-v0")`` (one cf2x, ``pyb``, 240/30 Hz, ``rpm`` actions of ±50 %
  around hover, 8 s episodes). Uniform random actions within the action space's bounds,
  reset whenever an episode ends (terminated or truncated): env steps/s counting ``step()``
  only, steps/s of the full loop (steps and resets), mean ``reset()`` time;
* ``pid``: the same ``HoverAviary`` (its ``rpm`` step rate) against ``QuadHover-v0`` with
  ``action_type="pid"`` (position set-points, the PID at 240 Hz: 8 calls per env step);
* ``gnd_drag_dw`` and ``dyn``: ``HoverAviary(physics=...)`` against ``QuadHover-v0`` with
  ``physics=...``, each in that mode (``rpm`` actions);
* ``gates``: ``QuadGates-v0`` with ``action_type="pid"`` (the gates baseline's training
  env); no peer;
* ``swarm``: PyFlyt's 4-agent quadrotor hover env (PettingZoo ``ParallelEnv``,
  ``MAQuadXHoverEnv()`` of ``PyFlyt.pz_envs``: 240 Hz physics, 40 Hz agents, angular-rate
  and thrust actions, 30 s episodes) against ``make_parallel_env("quad_swarm_v0",
  num_drones=4)``. Uniform random actions for every live agent, reset once every agent is
  done: live agent-steps/s counting ``step()`` only (each step counts the live agents that
  acted in it) and mean ``reset()`` time. Its physics is ``pyb_dw`` (downwash among the
  drones, the team tasks' default since issue 32; PyFlyt models none);
* ``swarm_pyb``: the same with ``physics="pyb"``, the swarm's default when issue 33 set its
  goal against PyFlyt.

Every side of a workload runs the same function (:func:`hover_loop` or
:func:`parallel_loop`), each in a fresh process of its own interpreter: PyFlyt pins numpy
< 2 and gym-pybullet-drones has no PyPI release (install a checkout of its sources), so the
peers live in their own virtualenv (``--peer-python``, or one each: ``--gpd-python``,
``--pyflyt-python``) and this script
re-runs itself there with ``--worker``. quadgym's side imports this checkout's quadgym
(``PYTHONPATH`` set to it, whatever the interpreter has installed); ``--before DIR`` adds a
side that imports the quadgym of another source tree (e.g. ``git worktree add DIR
<commit>``) under the same interpreter, so a change is timed against its starting point in
the same run. Before the timed loop each process makes the env, resets it and takes
``--warmup`` untimed steps (PyFlyt compiles its numba kernels on the first reset, several
seconds), then resets with the repeat's seed; the actions of every step are drawn before
the timer starts.

The clock is the process's CPU time (``time.process_time``), not the wall clock: the
machine may be shared, and CPU-seconds are what another process's load disturbs least
(caches and a shared core still do, so each run also records the 1-minute load average
before and after its timed loop). The sides alternate (peer, quadgym, before, peer, ...)
``--repeats`` times and the figures are the medians, so background load falls on all of
them alike; every repeat is kept in the JSON, with the ratios of the medians quadgym /
peer and quadgym / before. A peer that its interpreter cannot import is skipped with a
message (the default interpreter is this one, which does not hold them) and quadgym's
side is measured alone.

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
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from record import REPO, arguments, git_commit, stamp, write_result

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
        "load_1min": "the 1-minute load average before and after the timed loop, their mean",
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
        "load_1min": "the 1-minute load average before and after the timed loop, their mean",
    },
}

#: Figures of each kind of loop whose ratios (quadgym / peer, quadgym / before) are reported.
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
    ``reset()`` (timed apart) starts the next. CPU-seconds of this process in steps and
    resets, counts, and the 1-minute load average around the loop."""
    clock = time.process_time
    load_before = os.getloadavg()[0]
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
        "load_1min": (load_before + os.getloadavg()[0]) / 2,
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
        "load_1min": r["load_1min"],
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
        "load_1min": r["load_1min"],
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


def _make_gpd(physics: str = "pyb") -> tuple[Any, dict[str, Any]]:
    import gym_pybullet_drones  # noqa: F401  (registers hover-aviary-v0)
    import gymnasium as gym
    from gym_pybullet_drones.utils.enums import Physics

    if physics == "pyb":
        env, made = gym.make("hover-aviary-v0"), "HoverAviary() with its defaults"
    else:
        env = gym.make("hover-aviary-v0", physics=Physics(physics))
        made = f"HoverAviary(physics=Physics({physics!r})), its other defaults"
    u = env.unwrapped
    return env, {
        "env": f"gym.make('hover-aviary-v0'), i.e. {made}",
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


def _make_quadgym_hover(env_id: str = "QuadHover-v0", **options: str) -> tuple[Any, dict[str, Any]]:
    import gymnasium as gym

    import quadgym  # noqa: F401  (registers QuadHover-v0)

    env = gym.make(env_id, **options)
    c = env.unwrapped.config
    given = ", ".join(f"{k}={v!r}" for k, v in options.items())
    return env, {
        "env": f"gym.make({env_id!r}{', ' + given if given else ''}), its other defaults",
        "quadgym": quadgym.__file__,
        "physics": c.physics,
        "physics_hz": c.physics_hz,
        "control_hz": c.control_hz,
        "action_type": c.action_type,
        "action_space": _box(env.action_space),
        "rpm_per_action": "hover_rpm * (1 + 0.5 * a)" if c.action_type == "rpm" else None,
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


def _make_quadgym_swarm(**options: Any) -> tuple[Any, dict[str, Any]]:
    import quadgym
    from quadgym.registry import make_parallel_env

    env = make_parallel_env("quad_swarm_v0", num_drones=4, **options)
    c = env.config
    given = "".join(f", {k}={v!r}" for k, v in options.items())
    return env, {
        "env": f"make_parallel_env('quad_swarm_v0', num_drones=4{given}), its other defaults",
        "quadgym": quadgym.__file__,
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


GPD = ("gym-pybullet-drones", "numpy", "pybullet", "gymnasium")
QUADGYM = ("quadgym", "numpy", "pybullet")

#: Worker name -> (env factory, loop, distribution names whose versions the probe reports).
SIDES = {
    "gpd": (_make_gpd, hover_loop, GPD),
    "gpd_gnd_drag_dw": (partial(_make_gpd, "pyb_gnd_drag_dw"), hover_loop, GPD),
    "gpd_dyn": (partial(_make_gpd, "dyn"), hover_loop, GPD),
    "quadgym_hover": (_make_quadgym_hover, hover_loop, QUADGYM),
    "quadgym_pid": (partial(_make_quadgym_hover, action_type="pid"), hover_loop, QUADGYM),
    "quadgym_gnd_drag_dw": (
        partial(_make_quadgym_hover, physics="pyb_gnd_drag_dw"),
        hover_loop,
        QUADGYM,
    ),
    "quadgym_dyn": (partial(_make_quadgym_hover, physics="dyn"), hover_loop, QUADGYM),
    "quadgym_gates": (
        partial(_make_quadgym_hover, "QuadGates-v0", action_type="pid"),
        hover_loop,
        QUADGYM,
    ),
    "pyflyt": (
        _make_pyflyt,
        parallel_loop,
        ("PyFlyt", "numpy", "numba", "pybullet", "gymnasium", "pettingzoo"),
    ),
    "quadgym_swarm": (_make_quadgym_swarm, parallel_loop, QUADGYM),
    "quadgym_swarm_pyb": (partial(_make_quadgym_swarm, physics="pyb"), parallel_loop, QUADGYM),
}

_GPD_PEER = {
    "peer_name": "gym-pybullet-drones",
    "module": "gym_pybullet_drones",
    "python_option": "gpd_python",
}

#: The workloads: peer worker (None: quadgym alone), quadgym worker, the kind of loop
#: (its figures), the peer's name, its module, its interpreter option, the steps option.
PAIRS = {
    "hover": {"peer": "gpd", "quadgym": "quadgym_hover", "kind": "hover", **_GPD_PEER},
    "pid": {"peer": "gpd", "quadgym": "quadgym_pid", "kind": "hover", **_GPD_PEER},
    "gnd_drag_dw": {
        "peer": "gpd_gnd_drag_dw",
        "quadgym": "quadgym_gnd_drag_dw",
        "kind": "hover",
        **_GPD_PEER,
    },
    "dyn": {"peer": "gpd_dyn", "quadgym": "quadgym_dyn", "kind": "hover", **_GPD_PEER},
    "gates": {"peer": None, "quadgym": "quadgym_gates", "kind": "hover", "peer_name": None},
    "swarm": {
        "peer": "pyflyt",
        "quadgym": "quadgym_swarm",
        "kind": "swarm",
        "peer_name": "PyFlyt",
        "module": "PyFlyt.pz_envs",
        "python_option": "pyflyt_python",
    },
    # The swarm without downwash, its default when issue 33 set the x12 goal (issue 32 then
    # made pyb_dw the team tasks' default); PyFlyt models no downwash either.
    "swarm_pyb": {
        "peer": "pyflyt",
        "quadgym": "quadgym_swarm_pyb",
        "kind": "swarm",
        "peer_name": "PyFlyt",
        "module": "PyFlyt.pz_envs",
        "python_option": "pyflyt_python",
    },
}

#: Timed steps per run of each kind of loop: the option that sets them.
STEPS_OPTION = {"hover": "hover_steps", "swarm": "swarm_steps"}


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
def run_worker(
    python: str,
    extra: list[str],
    tree: Path | None = None,
    timeout: float = 3600,
    script: Path = SCRIPT,
    environ: dict[str, str] | None = None,
) -> Any:
    """Run ``script`` (this one by default) under ``python`` with ``extra`` and
    ``--worker-out FILE`` (quadgym imported from ``tree`` when given, ``environ`` added to
    the environment) and return the JSON it wrote there; raises RuntimeError with the end
    of its output when it fails."""
    fd, out = tempfile.mkstemp(prefix=f"{script.stem}.", suffix=".json")
    os.close(fd)
    env = {**os.environ, **(environ or {})}
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])
    try:
        done = subprocess.run(
            [python, str(script), *extra, "--worker-out", out],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
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
        return run_worker(python, ["--probe", side], timeout=600)["versions"], None
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
    "load_1min": "load (1 min)",
}


def _fmt(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}"


def print_pair(title: str, result: dict[str, Any]) -> None:
    """The medians and every repeat of every side, then the ratios."""
    keys = list(result["median"]["quadgym"])
    print(f"\n{title}")
    print(f"{'side':<21}{'run':>7}" + "".join(f"{LABELS[k]:>19}" for k in keys))
    for side in result["median"]:
        label = result["peer"] if side == "peer" else side
        rows = [("median", result["median"][side])]
        rows += [(f"#{i}", r) for i, r in enumerate(result["repeats"][side])]
        for j, (run, fig) in enumerate(rows):
            name = label if j == 0 else ""
            print(f"{name:<21}{run:>7}" + "".join(f"{_fmt(fig[k]):>19}" for k in keys))
    for key, ratios in result.items():
        if key.startswith("ratio_"):
            shown = ", ".join(f"{k} {v:.3g}" for k, v in ratios.items())
            print(f"{key.removeprefix('ratio_').replace('_', ' ')}: {shown}")


def _tree_label(tree: Path) -> dict[str, Any]:
    """Where a quadgym side imports from, and that tree's commit when it is a checkout."""
    return {"tree": str(tree), "commit": git_commit(tree)}


def measure(
    pair: str, spec: dict[str, Any], args: argparse.Namespace, peer_python: str | None
) -> dict[str, Any]:
    """Every side of one workload ``--repeats`` times, alternating; medians and ratios."""
    steps = getattr(args, STEPS_OPTION[spec["kind"]])
    sides: dict[str, tuple[str, str, Path | None]] = {}
    if peer_python is not None:
        sides["peer"] = (spec["peer"], peer_python, None)
    sides["quadgym"] = (spec["quadgym"], sys.executable, REPO)
    if args.before:
        sides["before"] = (spec["quadgym"], sys.executable, Path(args.before).resolve())
    repeats: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    settings: dict[str, Any] = {}
    for r in range(args.repeats):
        for side, (name, python, tree) in sides.items():
            extra = ["--worker", name, "--steps", str(steps), "--seed", str(r)]
            got = run_worker(python, [*extra, "--warmup", str(args.warmup)], tree)
            repeats[side].append(got["figures"])
            settings[side] = got["settings"]
            shown = ", ".join(f"{k} {_fmt(v)}" for k, v in got["figures"].items())
            print(f"[{pair} #{r}] {side} ({name}): {shown}", flush=True)
    median = {side: _median(runs) for side, runs in repeats.items()}
    result: dict[str, Any] = {
        "peer": spec["peer_name"] if peer_python is not None else None,
        "steps_per_run": steps,
        "settings": settings,
        "median": median,
        "repeats": repeats,
    }
    for other in ("peer", "before"):
        if other in median:
            result[f"ratio_quadgym_over_{other}"] = {
                k: median["quadgym"][k] / median[other][k] for k in RATIOS[spec["kind"]]
            }
    return result


def main() -> None:
    ap = arguments(__doc__, "peers.json")
    ap.add_argument(
        "--peer-python",
        default=sys.executable,
        help="interpreter with the peers, one virtualenv for both (default: this one); "
        "--gpd-python and --pyflyt-python override it for one peer",
    )
    ap.add_argument(
        "--gpd-python",
        default="",
        help="interpreter with gym-pybullet-drones (default: --peer-python)",
    )
    ap.add_argument(
        "--pyflyt-python",
        default="",
        help="interpreter with PyFlyt (default: --peer-python)",
    )
    ap.add_argument(
        "--before",
        default="",
        help="a source tree whose quadgym is timed too, alternating (e.g. a worktree of an "
        "earlier commit)",
    )
    ap.add_argument(
        "--workloads",
        default=",".join(PAIRS),
        help=f"comma-separated, from {', '.join(PAIRS)} (default: all)",
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
    args.gpd_python = args.gpd_python or args.peer_python
    args.pyflyt_python = args.pyflyt_python or args.peer_python
    if args.worker or args.probe:
        worker(args)
        return
    chosen = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in chosen if w not in PAIRS]
    if unknown or not chosen:
        ap.error(f"--workloads {args.workloads!r}: allowed are {', '.join(PAIRS)}")
    if args.before and not (Path(args.before) / "quadgym" / "__init__.py").is_file():
        ap.error(f"--before {args.before!r}: no quadgym/__init__.py there")
    if args.repeats < 1:
        ap.error(f"--repeats must be >= 1, got {args.repeats}")

    meta = stamp(
        repeats=args.repeats,
        hover_steps=args.hover_steps,
        swarm_steps=args.swarm_steps,
        warmup_steps=args.warmup,
        workloads=chosen,
        clock="time.process_time (CPU-seconds of the measured process)",
        quadgym=_tree_label(REPO),
        before=_tree_label(Path(args.before).resolve()) if args.before else None,
    )
    peers: dict[str, Any] = {}
    probed: dict[str, str | None] = {}
    payload: dict[str, Any] = {}
    for pair in chosen:
        spec = PAIRS[pair]
        python = None
        if spec["peer"] is not None:
            python = getattr(args, spec["python_option"])
            if spec["peer"] not in probed:
                versions, why = probe(python, spec["peer"])
                probed[spec["peer"]] = None if versions is None else python
                if versions is None:
                    print(
                        f"{spec['peer_name']} skipped: {spec['module']} is not importable "
                        f"with {python} ({why}); quadgym measured alone. Install it in its "
                        f"own virtualenv and pass --{spec['python_option'].replace('_', '-')}"
                    )
                    peers[f"{spec['peer_name']} ({spec['peer']})"] = {
                        "python": python,
                        "skipped": why,
                    }
                else:
                    peers[f"{spec['peer_name']} ({spec['peer']})"] = {
                        "python": python,
                        "versions": versions,
                    }
            python = probed[spec["peer"]]
        payload[pair] = measure(pair, spec, args, python)
    meta["peers"] = peers
    for pair, result in payload.items():
        against = result["peer"] or "no peer"
        print_pair(
            f"{pair}: quadgym vs {against}, {result['steps_per_run']} steps per run, "
            f"medians of {args.repeats}",
            result,
        )
    write_result(args.out, meta, workloads=WORKLOADS, **payload)


if __name__ == "__main__":
    main()
