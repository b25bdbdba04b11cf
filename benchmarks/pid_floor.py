"""Where the floor of ``action_type="pid"`` is: what a faster PID could still gain.

    .venv/bin/python benchmarks/pid_floor.py [--repeats 5] [--steps 3000] \\
        [--numba-path DIR] [--out FILE]

One workload, ``gym.make("QuadHover-v0", action_type="pid")`` (one cf2x, ``pyb``, 240 Hz
physics, 30 Hz control, the cascaded PID called at 240 Hz: 8 calls per env step), under
uniform random actions drawn before the timer, reset whenever an episode ends, timed by
``bench_peers.hover_loop`` in CPU-seconds, each side in a fresh process, the sides
alternating ``--repeats`` times (figures: medians). The sides fly the same episodes:

* ``pid``: the env as it is;
* ``replayed``: the same env, seed and actions, with ``CascadedPID.compute`` replaced by a
  replay of the motor speeds the real PID returned in an untimed pass of the same loop
  (the flight is the same, bit for bit: every replayed call is checked to ask at the
  state the recording saw). It costs what an env step costs with a PID that costs
  nothing, so ``replayed / pid`` is the most any faster PID can gain;
* ``compiled`` (only when numba imports, e.g. ``--numba-path`` a ``pip install --target``
  directory): the project's own PID kernels (``control/pid.py``'s ``position_stage`` and
  ``attitude_stage``, ``sim/columns.py``'s ``rotation`` and ``euler``), unchanged, compiled
  by ``numba.njit`` over a namespace of compiled ``math`` functions and called in one
  compiled loop over the drones that reads the state's arrays as they are; its motor
  speeds are compared with the recording's after the timed loop (``compiled_equal``) and
  the CPU-seconds of importing numba and compiling are kept (``compile_cpu_s``). It
  measures what the issue's JIT candidate buys in the env's own loop, and what it costs
  every process that uses it;
* ``rpm``: ``gym.make("QuadHover-v0")``, ``rpm`` actions: an env step without a controller,
  the ceiling of every action type.

Prints a table and writes the figures as JSON stamped by ``record.stamp``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench_peers import hover_loop, run_worker
from record import REPO, arguments, stamp, write_result

SCRIPT = Path(__file__).resolve()
SIDES = ("pid", "replayed", "compiled", "rpm")
FIGURES = ("step_only_steps_per_s", "loop_steps_per_s", "episodes", "load_1min")


def _make(side: str) -> Any:
    import gymnasium as gym

    import quadgym  # noqa: F401  (registers QuadHover-v0)

    if side == "rpm":
        return gym.make("QuadHover-v0")
    return gym.make("QuadHover-v0", action_type="pid")


def _record(steps: int, seed: int, warmup: int) -> list[tuple[Any, Any]]:
    """(state position (n, 3) m, motor speeds (n, 4) RPM) of every PID call in one untimed
    pass of the loop."""
    from quadgym.envs.quad.control.pid import CascadedPID

    calls: list[tuple[Any, Any]] = []
    real = CascadedPID.compute

    def recording(self: CascadedPID, state: Any, *args: Any, **kwargs: Any) -> Any:
        rpm = real(self, state, *args, **kwargs)
        calls.append((state.pos.copy(), rpm.copy()))
        return rpm

    CascadedPID.compute = recording
    try:
        env = _make("pid")
        hover_loop(env, steps, seed, warmup)
        env.close()
    finally:
        CascadedPID.compute = real
    return calls


def _compiled_compute() -> Any:
    """A replacement of ``CascadedPID.compute`` (position set-points, zero target velocity,
    one yaw for all) that runs the project's kernels compiled by numba, in one compiled
    loop over the drones that takes the state's arrays as they are and keeps the PID's
    memory in an array (n, 11): the JIT candidate, without Python between the arrays and
    the kernels."""
    import math
    from collections import namedtuple

    import numpy as np
    from numba import njit

    from quadgym.envs.quad.control import pid
    from quadgym.envs.quad.sim import columns

    names = ("sqrt", "cos", "sin", "atan2", "asin", "maximum", "minimum", "clip", "mod", "where")
    space = namedtuple("Compiled", names)(
        njit(lambda a: math.sqrt(a)),
        njit(lambda a: math.cos(a)),
        njit(lambda a: math.sin(a)),
        njit(lambda a, b: math.atan2(a, b)),
        njit(lambda a: math.asin(a)),
        njit(lambda a, b: max(a, b)),
        njit(lambda a, b: min(a, b)),
        njit(lambda x, lo, hi: min(max(x, lo), hi)),
        njit(lambda a, b: a % b),
        njit(lambda c, a, b: a if c else b),
    )
    rotation, euler = njit(columns.rotation), njit(columns.euler)
    position_stage, attitude_stage = njit(pid.position_stage), njit(pid.attitude_stage)

    loops: dict[Any, Any] = {}

    def compiled_loop(c: Any) -> Any:
        """The loop with the constants ``c`` frozen in (an argument, numba would type
        their ~20 fields at every call), compiled once per set of constants."""
        if c in loops:
            return loops[c]

        @njit
        def run(dt, pos, quat, vel, target, yaw, memory, rpm):  # noqa: ANN001, ANN202
            # CascadedPID._drone's "compute" pass, drone by drone, on the same kernels
            for i in range(pos.shape[0]):
                x, y, z, w = quat[i, 0], quat[i, 1], quat[i, 2], quat[i, 3]
                m = memory[i]
                rot = rotation(x, y, z, w)
                collective, rot_des, int_pos = position_stage(
                    space,
                    c,
                    (pos[i, 0], pos[i, 1], pos[i, 2]),
                    (vel[i, 0], vel[i, 1], vel[i, 2]),
                    (target[i, 0], target[i, 1], target[i, 2]),
                    None,
                    yaw,
                    (m[0], m[1], m[2]),
                    rot,
                    dt,
                )
                rpy = euler(space, x, y, z, w)
                out, int_att = attitude_stage(
                    space, c, rot, rot_des, collective, rpy, (m[6], m[7], m[8]), m[10] != 0.0,
                    (m[3], m[4], m[5]), dt,
                )  # fmt: skip
                m[0], m[1], m[2] = int_pos
                m[3], m[4], m[5] = int_att
                m[6], m[7], m[8] = rpy
                m[10] = 0.0
                rpm[i, 0], rpm[i, 1], rpm[i, 2], rpm[i, 3] = out

        loops[c] = run
        return run

    def compute(self: Any, state: Any, target_pos: Any, dt: float, target_vel: Any = None,
                target_yaw: float = 0.0) -> Any:  # fmt: skip
        if target_vel is not None:
            raise NotImplementedError("the compiled side times position set-points only")
        n = len(state.pos)
        if not hasattr(self, "_compiled"):  # memory: int_pos, int_att, last_rpy, yaw_sp, fresh
            memory = np.zeros((n, 11))
            memory[:, 10] = 1.0
            fields = vars(self._c)
            constants = namedtuple("Constants", list(fields))(**fields)
            self._compiled = (compiled_loop(constants), memory)
            real_reset = self.reset

            def reset(mask: Any = None) -> None:
                real_reset(mask)
                rows = slice(None) if mask is None else mask
                memory[rows, 0:6] = 0.0
                memory[rows, 10] = 1.0

            self.reset = reset
        run, memory = self._compiled
        rpm = np.empty((n, 4))
        target = target_pos
        if not (isinstance(target, np.ndarray) and target.shape == (n, 3)):
            target = np.broadcast_to(np.asarray(target_pos, dtype=float), (n, 3))
        run(float(dt), state.pos, state.quat, state.vel, target, float(target_yaw), memory, rpm)
        return rpm

    return compute


def worker(args: argparse.Namespace) -> None:
    """``--worker SIDE``: one side once; its JSON goes to ``--worker-out``."""
    import numpy as np

    from quadgym.envs.quad.control.pid import CascadedPID

    side, out = args.worker, {}
    if side in ("replayed", "compiled"):
        calls = _record(args.steps, args.seed, args.warmup)
    if side == "replayed":
        feed, seen = iter(calls), []

        def replay(self: CascadedPID, state: Any, *_: Any, **__: Any) -> Any:
            seen.append(state.pos)  # compared after the timed loop
            return next(feed)[1]

        CascadedPID.compute = replay
    if side == "compiled":
        start = time.process_time()  # numba's import and the kernels' compilation
        got: list[Any] = []
        real = _compiled_compute()

        def keeping(self: CascadedPID, state: Any, *a: Any, **k: Any) -> Any:
            rpm = real(self, state, *a, **k)
            got.append(rpm)
            return rpm

        CascadedPID.compute = keeping
        first = _make("pid")  # compile before the timer (the timed env's PID shares the loop)
        first.reset(seed=args.seed)
        u = first.unwrapped
        u.episode.controller.compute(u.world.get_state(), np.zeros((1, 3)), 1 / 240)
        first.close()
        out["compile_cpu_s"] = time.process_time() - start
        got.clear()
    env = _make(side)
    figures = hover_loop(env, args.steps, args.seed, args.warmup)
    env.close()
    if side == "replayed":
        out["replayed_calls"] = len(calls)
        out["same_flight"] = 0 < len(seen) == len(calls) and all(
            np.array_equal(a, b) for a, (b, _) in zip(seen, calls, strict=True)
        )
    if side == "compiled":
        out["compiled_equal"] = 0 < len(got) == len(calls) and all(
            np.array_equal(a, b) for a, (_, b) in zip(got, calls, strict=True)
        )
    Path(args.worker_out).write_text(json.dumps({"figures": figures, **out}))


def main() -> None:
    ap = arguments(__doc__, "pid_floor.json")
    ap.add_argument("--repeats", type=int, default=5, help="runs of each side (default 5)")
    ap.add_argument("--steps", type=int, default=3000, help="timed env steps per run")
    ap.add_argument("--warmup", type=int, default=20, help="untimed steps before each run")
    ap.add_argument(
        "--numba-path",
        default="",
        help="a directory holding numba (pip install --target DIR numba): adds the 'compiled' side",
    )
    ap.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    for flag, value, least in (("repeats", args.repeats, 1), ("steps", args.steps, 100)):
        if value < least:
            ap.error(f"--{flag} must be >= {least}, got {value}")
    if args.warmup < 0:
        ap.error(f"--warmup must be >= 0, got {args.warmup}")
    numba = Path(args.numba_path).resolve() if args.numba_path else None
    if numba is not None and not (numba / "numba" / "__init__.py").is_file():
        ap.error(f"--numba-path {args.numba_path!r}: no numba/__init__.py there")
    sides = [s for s in SIDES if s != "compiled" or numba is not None]
    environ = {"PYTHONPATH": str(numba)} if numba is not None else None
    meta = stamp(
        repeats=args.repeats,
        steps=args.steps,
        warmup_steps=args.warmup,
        clock="time.process_time (CPU-seconds of the measured process)",
        numba_path=str(numba) if numba else None,
        numba=_numba_version(numba) if numba else None,
    )
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
    checks: dict[str, list[Any]] = {s: [] for s in sides}
    for r in range(args.repeats):
        for side in sides:
            extra = ["--worker", side, "--steps", str(args.steps), "--seed", str(r)]
            got = run_worker(
                sys.executable,
                [*extra, "--warmup", str(args.warmup)],
                REPO,
                script=SCRIPT,
                environ=environ if side == "compiled" else None,
            )
            runs[side].append(got.pop("figures"))
            checks[side].append(got)
            shown = ", ".join(f"{k} {runs[side][-1][k]:,.1f}" for k in FIGURES)
            print(f"[#{r}] {side}: {shown} {got or ''}", flush=True)
    median = {s: {k: statistics.median(x[k] for x in runs[s]) for k in FIGURES} for s in sides}
    base = median["pid"]["step_only_steps_per_s"]
    print(f"\nQuadHover-v0, {args.steps} steps per run, medians of {args.repeats}")
    print(f"{'side':<10}{'step/s (step)':>15}{'x pid':>8}{'step/s (loop)':>15}{'load':>7}")
    for s in sides:
        m = median[s]
        print(
            f"{s:<10}{m['step_only_steps_per_s']:>15,.0f}"
            f"{m['step_only_steps_per_s'] / base:>8.2f}{m['loop_steps_per_s']:>15,.0f}"
            f"{m['load_1min']:>7.2f}"
        )
    write_result(
        args.out,
        meta,
        workload="gym.make('QuadHover-v0', action_type='pid') (rpm: gym.make('QuadHover-v0')), "
        "bench_peers.hover_loop: uniform random actions drawn before the timer, reset when "
        "an episode ends; figures: medians over the repeats",
        median=median,
        ratio_over_pid={s: median[s]["step_only_steps_per_s"] / base for s in sides},
        repeats=runs,
        checks=checks,
    )


def _numba_version(numba: Path) -> str | None:
    """The version of the numba under ``numba`` (its dist-info), without importing it here."""
    found = sorted(numba.glob("numba-*.dist-info"))
    return found[0].name.removeprefix("numba-").removesuffix(".dist-info") if found else None


if __name__ == "__main__":
    main()
