"""The batched backend against l2f at equal accuracy: each integrator's error on one
manoeuvre, and the throughput at the step size that matches l2f's error at its 100 Hz.

    .venv/bin/python benchmarks/bench_integrator.py --l2f-python /work/peers-venv/bin/python \\
        [--lanes 4096] [--repeats 3] [--seconds 1.0] [--sim-seconds 4] [--out FILE]

The manoeuvre (a hover-to-tilt step): one cf2x from rest, level, at 1 m; motors 0 and 2
(one diagonal) at (1 + 0.002) and (1 - 0.002) times the hover RPM, the others at hover,
held for ``--seconds`` (1 s: it rolls and pitches to ~0.5-0.6 rad and drifts 0.6 m). The
reference is quadgym's RK4 at 12,800 Hz in float64. l2f simulates the same airframe: its
parameters are set to cf2x's (mass, inertia, rotor positions and spin directions, gravity;
thrust kf·ω² as its quadratic thrust curve over the normalised rotor speed ω / max_rpm;
torque constant km / kf), and its rotor speeds start at their commands, so its motor lag
does nothing. The reference is checked against l2f's own integrator at the same tiny step
(l2f computes in float32: they agree to its round-off).

Error of a run: over the samples every 0.1 s, the largest position error (m) and the
largest attitude error (the angle of q_ref⁻¹ ⊗ q, rad), against the reference. l2f's own
run at 12,800 Hz cannot serve as its reference: in float32, 12,800 position increments of
~1e-4 m added to ~1 m lose ~1e-7 m each (it ends ~8e-5 m off, recorded as
``l2f_fine_step_against_quadgym_reference``; l2f's errors against it are recorded too). Step
sizes: 30 (one step per control step of QuadHover-v0), 50, 100, 200, 240, 400, 800 and
1600 Hz for quadgym's ``euler`` (the default) and ``rk4`` (``integrator="rk4"``), and for
l2f.

Throughput: simulated lane-seconds per CPU-second at ``--lanes`` lanes (``time.process_time``,
which counts every thread; l2f with ``OMP_NUM_THREADS=1``, one core, as quadgym's NumPy),
quadgym's ``physics.advance`` (no aero: the bare integrator) against l2f's
``vector4096.step``, each in a fresh process, alternating, ``--repeats`` times, medians;
the 1-minute load average is recorded with each run. The comparison is at the step size
where each quadgym integrator's error is at most l2f's at 100 Hz (the largest such of
those tried), against l2f at 100 Hz; quadgym's RK4 at l2f's 100 Hz and its default (Euler
at 240 Hz) are timed too, for scale.

Prints the tables and writes the JSON (``record.stamp``: command, date, machine, load).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_peers import run_worker
from record import REPO, arguments, stamp, write_result

SCRIPT = Path(__file__).resolve()
HZ = (30, 50, 100, 200, 240, 400, 800, 1600)
REFERENCE_HZ = 12800
SAMPLE_S = 0.1
TILT = 0.002  # relative RPM step of motors 0 (+) and 2 (-)
START = (0.0, 0.0, 1.0)


# ----------------------------------------------------------------- the manoeuvre
def manoeuvre_spec() -> dict[str, Any]:
    """cf2x's constants and the motor speeds of the manoeuvre, as plain JSON (the l2f
    worker, in another interpreter, cannot import quadgym)."""
    from quadgym.envs.quad.sim.models import GRAVITY, get_model

    m = get_model("cf2x")
    rpm = [m.hover_rpm * (1 + TILT), m.hover_rpm, m.hover_rpm * (1 - TILT), m.hover_rpm]
    return {
        "mass": m.mass,
        "inertia": m.inertia.tolist(),
        "motor_pos": m.motor_pos.tolist(),
        "motor_spin": m.motor_spin.tolist(),
        "kf": m.kf,
        "km": m.km,
        "max_rpm": m.max_rpm,
        "gravity": GRAVITY,
        "rpm": rpm,
    }


def quadgym_run(integrator: str, hz: int, seconds: float, lanes: int = 1) -> list[list[float]]:
    """The manoeuvre in quadgym at ``hz`` with ``integrator``: the first lane's position
    and quaternion (x, y, z, w) at every sample (0.1 s)."""
    import numpy as np

    from quadgym.envs.quad.sim.dynamics import State
    from quadgym.envs.quad.sim.models import get_model
    from quadgym.envs.quad.sim.physics import advance

    m = get_model("cf2x")
    rpm = np.tile(manoeuvre_spec()["rpm"], (lanes, 1))
    state = State.at_rest(np.tile(START, (lanes, 1)))
    per_sample = round(SAMPLE_S * hz)
    out = []
    for _ in range(round(seconds / SAMPLE_S)):
        advance(state, rpm, m, None, 1.0 / hz, per_sample, -math.inf, integrator=integrator)
        out.append(state.pos[0].tolist() + state.quat[0].tolist())
    return out


def _l2f_parameters(l2f: Any, device: Any, env: Any, params: Any, spec: dict, hz: int) -> None:
    """Set l2f's ``params`` to cf2x's airframe (see the module's docstring) at ``hz``."""
    js = json.loads(l2f.parameters_to_json(device, env, params))
    dyn = js["dynamics"]
    j = spec["inertia"]
    thrust = spec["kf"] * spec["max_rpm"] ** 2  # N at the normalised speed 1
    dyn["rotor_positions"] = spec["motor_pos"]
    dyn["rotor_torque_directions"] = [[0.0, 0.0, s] for s in spec["motor_spin"]]
    dyn["rotor_thrust_coefficients"] = [[0.0, 0.0, thrust]] * 4
    dyn["rotor_torque_constants"] = [spec["km"] / spec["kf"]] * 4
    dyn["mass"] = spec["mass"]
    dyn["gravity"] = [0.0, 0.0, -spec["gravity"]]
    dyn["J"] = [[j[0], 0, 0], [0, j[1], 0], [0, 0, j[2]]]
    dyn["J_inv"] = [[1 / j[0], 0, 0], [0, 1 / j[1], 0], [0, 0, 1 / j[2]]]
    dyn["action_limit"] = {"min": 0.0, "max": 1.0}
    js["integration"]["dt"] = 1.0 / hz
    js["disturbances"]["random_force"] = {"mean": 0.0, "std": 0.0}
    js["disturbances"]["random_torque"] = {"mean": 0.0, "std": 0.0}
    js["mdp"]["action_noise"]["normalized_rpm"] = 0.0
    l2f.parameters_from_json(device, env, json.dumps(js), params)


def _l2f_commands(spec: dict) -> tuple[list[float], list[float]]:
    """l2f's actions in [-1, 1] (rotor speed (a + 1) / 2 of max_rpm) and the normalised
    rotor speeds they command."""
    speeds = [r / spec["max_rpm"] for r in spec["rpm"]]
    return [2 * s - 1 for s in speeds], speeds


def l2f_run(spec: dict, hz: int, seconds: float) -> list[list[float]]:
    """The manoeuvre in l2f (one env) at ``hz``: position and quaternion (x, y, z, w) at
    every sample."""
    import l2f

    device, env, params, rng = l2f.Device(), l2f.Environment(), l2f.Parameters(), l2f.Rng()
    l2f.initialize_environment(device, env)
    l2f.initialize_rng(device, rng, 0)
    l2f.initial_parameters(device, env, params)
    _l2f_parameters(l2f, device, env, params, spec, hz)
    action, speeds = _l2f_commands(spec)
    state, nxt = l2f.State(), l2f.State()
    l2f.initial_state(device, env, params, state)
    state.position, state.orientation = list(START), [1.0, 0.0, 0.0, 0.0]
    state.linear_velocity, state.angular_velocity, state.rpm = [0.0] * 3, [0.0] * 3, speeds
    per_sample = round(SAMPLE_S * hz)
    out = []
    for _ in range(round(seconds / SAMPLE_S)):
        for _ in range(per_sample):
            l2f.step(device, env, params, state, action, nxt, rng)
            state.assign(nxt)
        w, x, y, z = (float(v) for v in state.orientation)
        out.append([float(v) for v in state.position] + [x, y, z, w])
    return out


# ----------------------------------------------------------------- throughput workers
def quadgym_speed(integrator: str, hz: int, lanes: int, seconds: float) -> dict[str, float]:
    """CPU-seconds of ``seconds`` simulated seconds of ``lanes`` lanes in physics.advance."""
    import numpy as np

    from quadgym.envs.quad.sim.dynamics import State
    from quadgym.envs.quad.sim.models import get_model
    from quadgym.envs.quad.sim.physics import advance

    m = get_model("cf2x")
    rng = np.random.default_rng(0)
    rpm = m.hover_rpm * (1 + 0.01 * rng.normal(size=(lanes, 4)))
    state = State.at_rest(np.tile(START, (lanes, 1)))
    steps = round(seconds * hz)
    advance(state, rpm, m, None, 1.0 / hz, 2, -math.inf, integrator=integrator)  # warm-up
    load = os.getloadavg()[0]
    t = time.process_time()
    advance(state, rpm, m, None, 1.0 / hz, steps, -math.inf, integrator=integrator)
    cpu = time.process_time() - t
    return _rate(lanes, steps, hz, cpu, load)


def l2f_speed(spec: dict, hz: int, lanes: int, seconds: float) -> dict[str, float]:
    """CPU-seconds of ``seconds`` simulated seconds of ``lanes`` l2f lanes (vector step)."""
    import l2f
    import numpy as np

    vec = l2f.vector_selector[lanes]
    device = l2f.Device()
    env, params = vec.VectorEnvironment(), vec.VectorParameters()
    states, nxt, rng = vec.VectorState(), vec.VectorState(), vec.VectorRng()
    vec.initialize_environment(device, env)
    vec.initialize_rng(device, rng, 0)
    vec.initial_parameters(device, env, params)
    one, one_env = l2f.Parameters(), l2f.Environment()
    l2f.initialize_environment(device, one_env)
    l2f.initial_parameters(device, one_env, one)
    _l2f_parameters(l2f, device, one_env, one, spec, hz)
    params.parameters = [one] * lanes
    vec.initial_state(device, env, params, states)
    action, _ = _l2f_commands(spec)
    actions = np.tile(np.asarray(action, dtype=np.float32), (lanes, 1))
    actions += np.random.default_rng(0).normal(size=actions.shape).astype(np.float32) * 0.01
    steps = round(seconds * hz)
    vec.step(device, env, params, states, actions, nxt, rng)  # warm-up
    load = os.getloadavg()[0]
    t = time.process_time()
    for _ in range(steps // 2):
        vec.step(device, env, params, states, actions, nxt, rng)
        vec.step(device, env, params, nxt, actions, states, rng)
    cpu = time.process_time() - t
    return _rate(lanes, 2 * (steps // 2), hz, cpu, load)


def _rate(lanes: int, steps: int, hz: int, cpu: float, load: float) -> dict[str, float]:
    return {
        "sim_seconds_per_cpu_second": lanes * steps / hz / cpu,
        "lane_steps_per_cpu_second": lanes * steps / cpu,
        "cpu_seconds": cpu,
        "load_1min": (load + os.getloadavg()[0]) / 2,
    }


# ----------------------------------------------------------------- the driver
def _worker(args: Any) -> None:
    spec = json.loads(Path(args.spec).read_text())
    kind, hz = args.worker, args.hz
    if kind == "l2f_accuracy":
        out: Any = {str(h): l2f_run(spec, h, args.seconds) for h in [*HZ, REFERENCE_HZ]}
    elif kind == "l2f_speed":
        out = l2f_speed(spec, hz, args.lanes, args.sim_seconds)
    else:
        out = quadgym_speed(kind.removeprefix("quadgym_"), hz, args.lanes, args.sim_seconds)
    Path(args.worker_out).write_text(json.dumps(out))


def _run(python: str, extra: list[str], spec_path: str) -> Any:
    """A worker of this script under ``python`` (this checkout's quadgym, one OpenMP
    thread), its JSON."""
    extra = [*extra, "--spec", spec_path]
    return run_worker(python, extra, REPO, script=SCRIPT, environ={"OMP_NUM_THREADS": "1"})


def errors(run: list[list[float]], ref: list[list[float]]) -> dict[str, float]:
    """Largest position error (m) and attitude error (rad: the angle of q_ref⁻¹ ⊗ q, from
    its vector part, accurate for tiny angles) over the samples."""
    pos = att = 0.0
    for a, b in zip(run, ref, strict=True):
        pos = max(pos, math.dist(a[:3], b[:3]))
        ax, ay, az, aw = a[3:]
        bx, by, bz, bw = (-b[3], -b[4], -b[5], b[6])  # the conjugate of the reference
        x = bw * ax + bx * aw + by * az - bz * ay
        y = bw * ay - bx * az + by * aw + bz * ax
        z = bw * az + bx * ay - by * ax + bz * aw
        w = bw * aw - bx * ax - by * ay - bz * az
        att = max(att, 2 * math.atan2(math.sqrt(x * x + y * y + z * z), abs(w)))
    return {"position_m": pos, "attitude_rad": att}


def main() -> None:
    ap = arguments(__doc__, "integrator.json")
    ap.add_argument("--l2f-python", default="", help="interpreter with l2f (its own venv)")
    ap.add_argument("--lanes", type=int, default=4096, help="lanes for the throughput")
    ap.add_argument("--repeats", type=int, default=3, help="throughput runs of each side")
    ap.add_argument("--seconds", type=float, default=1.0, help="length of the manoeuvre, s")
    ap.add_argument("--sim-seconds", type=float, default=4.0, help="simulated s per timing")
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)
    ap.add_argument("--hz", type=int, default=100, help=argparse.SUPPRESS)
    ap.add_argument("--spec", default="", help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))  # this checkout's quadgym, whatever the interpreter has
    if args.worker:
        _worker(args)
        return
    if args.lanes not in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192):
        ap.error(f"--lanes must be a power of two from 1 to 8192 (l2f's builds), got {args.lanes}")
    if args.repeats < 1 or args.seconds <= 0 or args.sim_seconds <= 0:
        ap.error("--repeats must be >= 1 and --seconds, --sim-seconds > 0")
    if round(args.seconds / SAMPLE_S) * SAMPLE_S != args.seconds:
        ap.error(f"--seconds must be a multiple of {SAMPLE_S}, got {args.seconds}")
    l2f_python = args.l2f_python or None
    if l2f_python and not Path(l2f_python).exists():
        ap.error(f"--l2f-python {l2f_python!r}: no such interpreter")

    meta = stamp(
        manoeuvre=f"cf2x from rest at {START}, motors 0 and 2 at (1 ± {TILT}) x hover RPM, "
        f"{args.seconds} s",
        reference=f"quadgym rk4 at {REFERENCE_HZ} Hz, float64",
        sample_s=SAMPLE_S,
        lanes=args.lanes,
        repeats=args.repeats,
        sim_seconds_per_timing=args.sim_seconds,
        clock="time.process_time (CPU-seconds, every thread), OMP_NUM_THREADS=1",
    )
    spec = manoeuvre_spec()
    fd, spec_path = tempfile.mkstemp(prefix="bench_integrator_spec.", suffix=".json")
    os.close(fd)
    Path(spec_path).write_text(json.dumps(spec))
    try:
        ref = quadgym_run("rk4", REFERENCE_HZ, args.seconds)
        accuracy: dict[str, dict[str, dict[str, float]]] = {}
        for integrator in ("euler", "rk4"):
            accuracy[f"quadgym_{integrator}"] = {
                str(h): errors(quadgym_run(integrator, h, args.seconds), ref) for h in HZ
            }
        l2f_runs = None
        if l2f_python:
            l2f_runs = _run(
                l2f_python, ["--worker", "l2f_accuracy", "--seconds", str(args.seconds)], spec_path
            )
            # against the float64 reference: l2f's own fine step drifts in float32
            accuracy["l2f"] = {str(h): errors(l2f_runs[str(h)], ref) for h in HZ}
            own = l2f_runs[str(REFERENCE_HZ)]
            accuracy["l2f_against_its_own_fine_step"] = {
                str(h): errors(l2f_runs[str(h)], own) for h in HZ
            }
            accuracy["l2f_fine_step_against_quadgym_reference"] = errors(own, ref)
        print_accuracy(accuracy)

        target = accuracy["l2f"]["100"] if l2f_python else None
        chosen = {}
        for integrator in ("euler", "rk4"):
            table = accuracy[f"quadgym_{integrator}"]
            ok = [
                h
                for h in HZ
                if target is None
                or (
                    table[str(h)]["position_m"] <= target["position_m"]
                    and table[str(h)]["attitude_rad"] <= target["attitude_rad"]
                )
            ]
            chosen[integrator] = min(ok) if ok else None
        sides = {f"quadgym_{i}": h for i, h in chosen.items() if h is not None}
        sides["quadgym_rk4_100"] = 100  # l2f's step, for scale
        sides["quadgym_euler_240"] = 240  # the default rate, for scale
        if l2f_python:
            sides["l2f"] = 100
        repeats: dict[str, list[dict[str, float]]] = {s: [] for s in sides}
        for r in range(args.repeats):
            for side, hz in sides.items():
                kind = "l2f_speed" if side == "l2f" else side.removesuffix(f"_{hz}")
                python = l2f_python if side == "l2f" else sys.executable
                extra = ["--worker", kind, "--hz", str(hz), "--lanes", str(args.lanes)]
                got = _run(python, [*extra, "--sim-seconds", str(args.sim_seconds)], spec_path)
                repeats[side].append(got)
                print(
                    f"[#{r}] {side} at {hz} Hz: {got['sim_seconds_per_cpu_second']:,.0f} "
                    f"sim-s/CPU-s (load {got['load_1min']:.1f})",
                    flush=True,
                )
    finally:
        Path(spec_path).unlink(missing_ok=True)
    throughput = {
        side: {
            "hz": hz,
            "median": {k: statistics.median(x[k] for x in repeats[side]) for k in repeats[side][0]},
            "repeats": repeats[side],
        }
        for side, hz in sides.items()
    }
    ratios = {}
    if "l2f" in throughput:
        base = throughput["l2f"]["median"]["sim_seconds_per_cpu_second"]
        for side, t in throughput.items():
            ratios[f"{side}_over_l2f_100hz"] = t["median"]["sim_seconds_per_cpu_second"] / base
    print("\nthroughput at equal accuracy (simulated lane-seconds per CPU-second, medians)")
    for side, t in throughput.items():
        ratio = ratios.get(f"{side}_over_l2f_100hz")
        shown = f"  x{ratio:.2f} l2f" if ratio is not None else ""
        print(
            f"{side:<20} {t['hz']:>5} Hz {t['median']['sim_seconds_per_cpu_second']:>12,.0f}{shown}"
        )
    write_result(
        args.out,
        meta,
        accuracy=accuracy,
        matched_hz=chosen,
        throughput=throughput,
        ratios=ratios,
    )


def print_accuracy(accuracy: dict[str, Any]) -> None:
    print("error against the reference (max over samples every 0.1 s): position m / attitude rad")
    print(f"{'Hz':>6}" + "".join(f"{k:>30}" for k in accuracy if k.count("_") < 3))
    for h in HZ:
        cells = [
            f"{t[str(h)]['position_m']:.2e} / {t[str(h)]['attitude_rad']:.2e}"
            for k, t in accuracy.items()
            if k.count("_") < 3
        ]
        print(f"{h:>6}" + "".join(f"{c:>30}" for c in cells))
    if "l2f_fine_step_against_quadgym_reference" in accuracy:
        e = accuracy["l2f_fine_step_against_quadgym_reference"]
        print(
            f"l2f at {REFERENCE_HZ} Hz vs the reference: {e['position_m']:.2e} m / "
            f"{e['attitude_rad']:.2e} rad"
        )


if __name__ == "__main__":
    main()
