"""Onboard camera speed: frames/s of quadgym's cameras and of gym-pybullet-drones', env steps/s.

    .venv/bin/python benchmarks/bench_camera.py [--gpd-python /tmp/peers-gpd/bin/python] \\
        [--seconds 0.3] [--repeats 3] [--out benchmarks/results/camera.json]

A *frame* is one drone's image delivered to the agent (as the observation holds it:
uint8 rgb, depth in metres, segmentation ids). Three tables:

* ``frames``: for 1, 4 and 16 drones (quad_swarm_v0, a grid 0.5 m apart on the
  ground, after a seeded reset; one drone is QuadHover-v0's start), at 64x48 and
  128x96, for each image (rgb, depth, seg) and renderer (``tiny``: getCameraImage
  with TinyRenderer, one call per drone; ``rays``: one batched ray cast for every
  drone, depth and seg only): drones × captures / seconds of ``Cameras.capture``.
* ``env``: env steps/s (``step()`` only, uniform random actions, reset at each
  episode's end, outside the timer) with images at the default capture rate (a new
  frame every control step): QuadHover-v0 ``kin`` (no camera, the reference),
  ``rgb``, ``kin+rgb``, ``depth``, ``seg``; QuadVisualReach-v0 (its defaults:
  ``kin+rgb``, ``pid`` actions at 15 Hz); quad_swarm_v0 4 drones ``rgb`` (agent-steps/s).
* ``peer``: gym-pybullet-drones, in its own interpreter (``--gpd-python``; skipped
  when it cannot import the package): its ``BaseAviary._getDroneImages(0,
  segmentation=False)`` (the call its RGB observation makes: TinyRenderer, shadows
  on, far plane 1000 m) at 64x48 and 128x96 (``IMG_RES`` set before the loop), on
  ``HoverAviary(obs=ObservationType.RGB, ctrl_freq=24)`` after a reset (at its
  default 30 Hz the RGB env refuses to start: "frequencies incompatible with the
  desired video capture frame rate"), and that env's steps/s (a new frame every step
  at 24 Hz), timed like quadgym's.

Every figure is the median of ``--repeats`` runs of at least ``--seconds`` each (at
least two calls); quadgym and the peer alternate per repeat, each pinned to one
core (``os.sched_setaffinity``), so load from other work falls on both. The machine
is shared: the 1-minute load average at the start and end is in ``meta``; rerun
quiet before quoting. Defaults take about a minute. Prints the tables and writes
JSON stamped by ``record.stamp``, with the ratios quadgym rgb (tiny) / peer.
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
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
SIZES = ((64, 48), (128, 96))
DRONES = (1, 4, 16)
#: (image, renderer) pairs of the frames table
KINDS = (("rgb", "tiny"), ("depth", "tiny"), ("depth", "rays"), ("seg", "tiny"), ("seg", "rays"))

WORKLOADS = {
    "frames_per_s": "drones x Cameras.capture calls / seconds: one image per drone per call, "
    "as the observation holds it, drones on the ground after a seeded reset",
    "env_steps_per_s": "step() only, uniform random actions, reset outside the timer at each "
    "episode's end; a new frame every control step (default camera_hz)",
    "peer_frames_per_s": "gym-pybullet-drones BaseAviary._getDroneImages(0, segmentation=False) "
    "calls / seconds on HoverAviary(obs=RGB, ctrl_freq=24) after a reset",
    "peer_env_steps_per_s": "gym-pybullet-drones HoverAviary(obs=RGB, ctrl_freq=24): step() only, "
    "uniform random actions, reset outside the timer",
}


def timed(call: Callable[[], Any], seconds: float) -> float:
    """Calls per second of ``call`` over at least ``seconds`` s and two calls."""
    calls, start = 0, time.perf_counter()
    while True:
        call()
        calls += 1
        elapsed = time.perf_counter() - start
        if calls >= 2 and elapsed >= seconds:
            return calls / elapsed


def step_rate(env: Any, seconds: float, seed: int = 0) -> float:
    """A Gymnasium env's steps/s, ``step()`` only, random actions, resets untimed."""
    import numpy as np

    rng = np.random.default_rng(seed)
    space = env.action_space
    env.reset(seed=seed)
    steps, in_step = 0, 0.0
    while in_step < seconds or steps < 2:
        action = rng.uniform(space.low, space.high).astype(space.dtype)
        t = time.perf_counter()
        _, _, term, trunc, _ = env.step(action)
        in_step += time.perf_counter() - t
        steps += 1
        if term or trunc:
            env.reset()
    return steps / in_step


# ---------------------------------------------------------------------- quadgym
def quadgym_frames(seconds: float) -> list[dict[str, Any]]:
    """One run of the frames table."""
    from quadgym.envs.quad.sensors.camera import CameraModel, Cameras
    from quadgym.registry import make_parallel_env

    rows = []
    for n in DRONES:
        env = make_parallel_env("quad_swarm_v0", num_drones=n, formation="grid")
        env.reset(seed=0)
        for width, height in SIZES:
            model = CameraModel(width, height)
            for image, renderer in KINDS:
                cams = Cameras(env.world, model, (image,), renderer)
                rate = n * timed(lambda c=cams, s=env._state: c.capture(s), seconds)
                size = f"{width}x{height}"
                row = {"drones": n, "size": size, "image": image, "renderer": renderer}
                rows.append({**row, "frames_per_s": rate})
        env.close()
    return rows


def quadgym_env(seconds: float) -> list[dict[str, Any]]:
    """One run of the env table."""
    import gymnasium as gym
    import numpy as np

    import quadgym  # noqa: F401 - registers the ids
    from quadgym.registry import make_parallel_env

    rows = []
    for env_id, kwargs in (
        ("QuadHover-v0", {"obs_type": "kin"}),
        ("QuadHover-v0", {"obs_type": "rgb"}),
        ("QuadHover-v0", {"obs_type": "kin+rgb"}),
        ("QuadHover-v0", {"obs_type": "depth"}),
        ("QuadHover-v0", {"obs_type": "seg"}),
        ("QuadVisualReach-v0", {}),
    ):
        env = gym.make(env_id, **kwargs)
        rows.append({"env": env_id, **kwargs, "env_steps_per_s": step_rate(env, seconds)})
        env.close()
    swarm = make_parallel_env("quad_swarm_v0", num_drones=4, obs_type="rgb")
    rng = np.random.default_rng(0)
    swarm.reset(seed=0)
    agent_steps, in_step = 0, 0.0
    while in_step < seconds:
        acts = {a: rng.uniform(-1, 1, 4).astype(np.float32) for a in swarm.agents}
        t = time.perf_counter()
        swarm.step(acts)
        in_step += time.perf_counter() - t
        agent_steps += len(acts)
        if not swarm.agents:
            swarm.reset()
    swarm.close()
    row = {"env": "quad_swarm_v0", "num_drones": 4, "obs_type": "rgb"}
    rows.append({**row, "agent_steps_per_s": agent_steps / in_step})
    return rows


# ------------------------------------------------------------------------- peer
def peer_run(seconds: float) -> dict[str, Any]:
    """One run of gym-pybullet-drones' camera and RGB env (in its interpreter)."""
    import numpy as np
    from gym_pybullet_drones.envs.HoverAviary import HoverAviary
    from gym_pybullet_drones.utils.enums import ObservationType

    out: dict[str, Any] = {}
    env = HoverAviary(obs=ObservationType.RGB, ctrl_freq=24)
    env.reset(seed=0)
    for width, height in SIZES:
        env.IMG_RES = np.array([width, height])
        rate = timed(lambda: env._getDroneImages(0, segmentation=False), seconds)
        out[f"frames_per_s_{width}x{height}"] = rate
    env.IMG_RES = np.array([64, 48])
    out["env_steps_per_s"] = step_rate(env, seconds)
    env.close()
    return out


def worker(args: argparse.Namespace) -> None:
    """``--worker peer|frames|env``: one run of one side, JSON to ``--worker-out``."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    run = {"peer": peer_run, "frames": quadgym_frames, "env": quadgym_env}[args.worker]
    Path(args.worker_out).write_text(json.dumps(run(args.seconds)))


def _run(python: str, side: str, seconds: float) -> Any:
    """One side once, in a fresh process of ``python``; None if it fails (printed)."""
    fd, out = tempfile.mkstemp(prefix="bench_camera.", suffix=".json")
    os.close(fd)
    try:
        command = [python, str(SCRIPT), "--worker", side, "--seconds", str(seconds)]
        done = subprocess.run(
            [*command, "--worker-out", out], capture_output=True, text=True, timeout=1800
        )
        if done.returncode:
            print(f"{side} in {python} failed: {done.stderr.strip().splitlines()[-1:]}")
            return None
        return json.loads(Path(out).read_text())
    finally:
        Path(out).unlink(missing_ok=True)


def _median_rows(runs: list[list[dict[str, Any]]], key: str) -> list[dict[str, Any]]:
    """Rows of the first run with ``key`` replaced by its median over the runs."""
    rows = []
    for k, row in enumerate(runs[0]):
        values = [run[k][key] for run in runs]
        rows.append({**row, key: round(statistics.median(values), 1), "runs": values})
    return rows


def main(argv: list[str] | None = None) -> None:
    from record import arguments, stamp, write_result

    ap = arguments(__doc__, "camera.json")
    ap.add_argument("--gpd-python", default="/tmp/peers-gpd/bin/python")
    ap.add_argument("--seconds", type=float, default=0.3, help="minimum seconds per figure")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--worker", choices=("peer", "frames", "env"), help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args)
        return
    meta = stamp(seconds=args.seconds, repeats=args.repeats, pinned_cores=1)
    frames, envs, peers = [], [], []
    for _ in range(args.repeats):
        peer = _run(args.gpd_python, "peer", args.seconds)
        if peer is not None:
            peers.append(peer)
        frames.append(_run(sys.executable, "frames", args.seconds))
        envs.append(_run(sys.executable, "env", args.seconds))
    frame_rows = _median_rows(frames, "frames_per_s")
    rated = [
        [{**r, "rate": r.get("env_steps_per_s") or r["agent_steps_per_s"]} for r in run]
        for run in envs
    ]
    env_rows = _median_rows(rated, "rate")
    peer = {k: round(statistics.median(p[k] for p in peers), 1) for k in peers[0]} if peers else {}
    print(f"{'drones':>6} {'size':>7} {'image':>6} {'renderer':>8} {'frames/s':>10}")
    for r in frame_rows:
        print(
            f"{r['drones']:>6} {r['size']:>7} {r['image']:>6} {r['renderer']:>8} "
            f"{r['frames_per_s']:>10,.0f}"
        )
    print(f"\n{'env':<38} {'steps/s':>10}")
    for r in env_rows:
        label = (
            r["env"]
            + " "
            + ",".join(
                f"{k}={v}"
                for k, v in r.items()
                if k not in ("env", "rate", "runs") and "_per_s" not in k
            )
        )
        print(f"{label:<38} {r['rate']:>10,.0f}")
    ratios = {}
    if peer:
        print("\ngym-pybullet-drones (its interpreter):", peer)
        for width, height in SIZES:
            size = f"{width}x{height}"
            key = (1, size, "rgb", "tiny")
            ours = next(
                r["frames_per_s"]
                for r in frame_rows
                if (r["drones"], r["size"], r["image"], r["renderer"]) == key
            )
            ratios[f"rgb_frames_{size}"] = round(ours / peer[f"frames_per_s_{size}"], 2)
        rgb_env = next(r["rate"] for r in env_rows if r.get("obs_type") == "rgb")
        ratios["rgb_env_steps"] = round(rgb_env / peer["env_steps_per_s"], 2)
        print("quadgym / gym-pybullet-drones:", ratios)
    write_result(
        args.out,
        meta,
        workloads=WORKLOADS,
        frames=frame_rows,
        env=env_rows,
        peer=peer,
        peer_runs=peers,
        ratios=ratios,
    )


if __name__ == "__main__":
    main()
