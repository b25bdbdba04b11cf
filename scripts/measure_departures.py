"""Measure, inside quadgym, what each departure from gym-pybullet-drones does to a 2 s flight.

    python scripts/measure_departures.py --output results/departures.json

The named flight ("the 2 s PID flight"): one cf2x from rest at (0, 0, 0.2) m flies
under the cascaded PID at 240 Hz to the set-point (0.5, 0.3, 0.6) m for 2 s; the
stacked flight: two cf2x held by the PID at (0, 0, 1) m and 0.3 m above it, 2 s.
Each departure is switched to gym-pybullet-drones' choice alone (Bullet's default
damping 0.04; ground effect on the propeller heights of the previous physics step;
drag from the previous control step's motor speeds; drag as Rᵀ·(−K·Σω·v); downwash
as the unbounded fit) and the largest distance between the two trajectories of a
drone, m, is printed and written as JSON. gym-pybullet-drones itself is not needed.
"""

import contextlib
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pybullet as p

from quadgym.cli import parse_args
from quadgym.config import TypedConfig, param
from quadgym.envs.quad.control.pid import CascadedPID
from quadgym.envs.quad.sim import aero, physics
from quadgym.envs.quad.sim.dynamics import State
from quadgym.envs.quad.sim.models import get_model
from quadgym.envs.quad.sim.world import World
from quadgym.files import atomic_write_bytes

#: Bullet's default linear and angular damping, which gym-pybullet-drones keeps.
BULLET_DAMPING = 0.04


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    duration: float = param(2.0, "flight time, s", gt=0)
    output: str = param("results/departures.json", "where the measured distances go")


def flight(mode: str, duration: float, stacked: bool = False, damping: float = 0.0) -> np.ndarray:
    """(steps, n, 3) positions of the named flight (or the stacked one) in ``mode``."""
    model = get_model("cf2x")
    n = 2 if stacked else 1
    world = World(model, n, mode, 240)
    for body in world.body_ids if damping else []:
        p.changeDynamics(
            body, -1, linearDamping=damping, angularDamping=damping, physicsClientId=world.client
        )
    start = [[0, 0, 1.0], [0, 0, 1.3]] if stacked else [[0, 0, 0.2]]
    target = np.array(start if stacked else [[0.5, 0.3, 0.6]], dtype=float)
    world.reset(State.at_rest(start))
    pid = CascadedPID(model, n)
    out = []
    for _ in range(int(round(duration * 240))):
        world.step(pid.compute(world.get_state(), target, 1 / 240), 1)
        out.append(world.get_state().pos.copy())
    world.close()
    return np.array(out)


@contextlib.contextmanager
def patched(name: str, replacement):
    """``aero.<name>`` replaced while the block runs. The one-drone flights are flown on
    aero_wrench's batched path meanwhile (the path that calls these array functions; its
    one-drone float path gives the same numbers, tests/test_columns.py)."""
    original, floats_up_to = getattr(aero, name), physics.AERO_FLOATS_UP_TO
    setattr(aero, name, replacement(original))
    physics.AERO_FLOATS_UP_TO = 0
    try:
        yield
    finally:
        setattr(aero, name, original)
        physics.AERO_FLOATS_UP_TO = floats_up_to


def stale(original):
    """The propeller heights of the previous physics step (the reference reads its link
    states before Bullet has moved them)."""
    last = {}

    def heights(pos, rot, model):
        now = original(pos, rot, model)
        before = last.get("h", now)
        last["h"] = now
        return before

    return heights


def previous_rpm(original):
    """Drag from the motor speeds of the previous control step."""
    last = {}

    def drag(rpm, vel, rot, model):
        if "now" not in last or not np.array_equal(rpm, last["now"]):
            last["before"], last["now"] = last.get("now", rpm), rpm.copy()
        return original(last["before"], vel, rot, model)

    return drag


def world_product(original):
    """Rᵀ·(−K·Σω·v_world), gym-pybullet-drones' drag."""

    def drag(rpm, vel, rot, model):
        spin = rpm.sum(axis=1, keepdims=True) * (2.0 * np.pi / 60.0)
        return np.einsum("nji,nj->ni", rot, -model.drag_coeff * spin * vel)

    return drag


def main(argv: list[str] | None = None) -> int:
    args = parse_args(Args, __doc__, argv)
    t = args.duration
    rows = {}

    def gap(a, b):
        return float(np.linalg.norm(a - b, axis=-1).max())

    rows["bullet default damping (pyb)"] = gap(
        flight("pyb", t), flight("pyb", t, damping=BULLET_DAMPING)
    )
    ground = flight("pyb_gnd", t)
    with patched("propeller_heights", stale):
        rows["stale propeller heights (pyb_gnd)"] = gap(ground, flight("pyb_gnd", t))
    drag = flight("pyb_drag", t)
    with patched("drag", previous_rpm):
        rows["drag from previous rpm (pyb_drag)"] = gap(drag, flight("pyb_drag", t))
    with patched("drag", world_product):
        rows["drag on world velocity (pyb_drag)"] = gap(drag, flight("pyb_drag", t))
    bounded = flight("pyb_dw", t, stacked=True)
    with patched(
        "downwash", lambda f: lambda pos, model, thrust, kind: f(pos, model, thrust, "reference")
    ):
        rows["unbounded downwash fit, 0.3 m (pyb_dw)"] = gap(
            bounded, flight("pyb_dw", t, stacked=True)
        )
    for name, metres in rows.items():
        print(f"{name}: {1000 * metres:.4g} mm")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"duration_s": t, "largest_distance_m": rows}
    atomic_write_bytes(out, json.dumps(record, indent=2).encode() + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
