"""Throughput of the batched NumPy backend behind gym.make_vec("QuadHover-v0").

    .venv/bin/python benchmarks/bench_vector.py [--seconds 2] [--out benchmarks/results/vector.json]

For 1, 64, 1024 and 4096 lanes (float64, one thread), two workloads, each
timed for about ``--seconds``:

* ``physics drone-steps/s`` (near hover, physics only):
  :func:`quadgym.envs.quad.sim.physics.advance` alone, one drone advanced one
  240 Hz physics step (motor wrench, rigid body, quaternion, ground rule),
  with the ``dyn`` physics, at hover RPM with 1 % noise;
* ``env steps/s`` (random actions with resets, full loop): full ``step()``
  calls at 30 Hz control (8 substeps each) with random actions in [-1, 1],
  including observation, reward, crash checks and autoreset (random actions
  crash often, so resets are frequent).

Prints a table and writes the figures as JSON stamped by ``record.stamp``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from record import arguments, stamp, write_result

import quadgym  # noqa: F401
from quadgym.envs.quad.sim import dynamics
from quadgym.envs.quad.sim.models import get_model
from quadgym.envs.quad.sim.physics import advance
from quadgym.envs.quad.tasks.base import HoverTask, StartNoise

LANES = [1, 64, 1024, 4096]
WORKLOADS = {
    "physics_drone_steps_per_s": "near hover (hover RPM with 1 % noise), physics.advance() only, "
    "dyn physics, drone-steps at 240 Hz",
    "env_steps_per_s": "random actions in [-1, 1] with resets: full step() at 30 Hz with "
    "observation, reward, crash checks and autoreset, summed over lanes",
    "env_drone_physics_steps_per_s": "env_steps_per_s times 8 physics substeps",
}


def timed(fn: Callable[[], object], seconds: float) -> float:
    """Calls of ``fn`` per second over about ``seconds``."""
    fn()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        calls += 1
    return calls / (time.perf_counter() - start)


def main() -> None:
    ap = arguments(__doc__, "vector.json")
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    meta = stamp(dtype="float64", physics_hz=240, control_hz=30)
    model = get_model("cf2x")
    wmat = dynamics.wrench_matrix(model)
    rest = model.collision_height / 2
    rows = []
    print(f"{'':>6}{'near hover':>24}{'random actions with resets':>36}")
    print(f"{'':>6}{'physics only':>24}{'full loop':>36}")
    print(
        f"{'lanes':>6}{'physics drone-steps/s':>24}{'env steps/s':>14}{'drone-steps/s in env':>22}"
    )
    for n in LANES:
        rng = np.random.default_rng(0)
        state = HoverTask(model).sample_start(
            rng, np.tile([0, 0, 1.0], (n, 1)), StartNoise(0.1, 0.3, 0.1, 0.1)
        )
        rpm = model.hover_rpm * (1 + 0.01 * rng.standard_normal((n, 4)))
        phys = (
            timed(
                lambda s=state, r=rpm: advance(s, r, model, None, 1 / 240, 8, rest, wmat),
                args.seconds,
            )
            * 8
            * n
        )
        envs = gym.make_vec("QuadHover-v0", num_envs=n)
        envs.reset(seed=0)
        actions = rng.uniform(-1, 1, size=(64, n, 4)).astype(np.float32)
        counter = iter(range(10**12))

        def env_call(envs=envs, actions=actions, counter=counter):
            envs.step(actions[next(counter) % 64])

        env_rate = timed(env_call, args.seconds) * n
        rows.append(
            {
                "lanes": n,
                "physics_drone_steps_per_s": round(phys),
                "env_steps_per_s": round(env_rate),
                "env_drone_physics_steps_per_s": round(env_rate * 8),
            }
        )
        print(f"{n:>6}{phys:>24,.0f}{env_rate:>14,.0f}{env_rate * 8:>22,.0f}")
    write_result(args.out, meta, workloads=WORKLOADS, results=rows)


if __name__ == "__main__":
    main()
