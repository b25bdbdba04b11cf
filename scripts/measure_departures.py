"""Measure, inside quadgym, what each departure from gym-pybullet-drones does to a 2 s flight.

    python scripts/measure_departures.py --output results/departures.json

The named flight ("the 2 s PID flight"): one cf2x from rest at (0, 0, 0.2) m flies
under the cascaded PID at 240 Hz to the set-point (0.5, 0.3, 0.6) m for 2 s; the
stacked flight: two cf2x held by the PID at (0, 0, 1) m and 0.3 m above it, 2 s.
Each departure is switched to gym-pybullet-drones' choice alone (Bullet's default
damping 0.04; ground effect on the propeller heights of the previous physics step;
drag from the previous control step's motor speeds; drag as Rᵀ·(−K·Σω·v); downwash
as the unbounded fit; DSLPIDControl's mixer; in ``dyn`` the roll and pitch lever
L/√2) and the largest distance between the two trajectories of a drone, m, is
printed and written as JSON. The landing: one cf2x
dropped with its motors off from rest at (0, 0, 0.1) m, rolled 0.1 rad, for the
duration; its final pose with the reference's ground (pybullet_data's plane.urdf: a
200 × 200 × 10 m box) or Bullet's default damping against quadgym's (an infinite
plane, no damping). The saturated flight: the PID from rest at (0, 0, 1) m to (2, 1,
2) m. gym-pybullet-drones itself is not needed.
"""

import contextlib
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pybullet as p
import pybullet_data

from quadgym.cli import parse_args
from quadgym.config import TypedConfig, param
from quadgym.envs.quad.control.pid import CascadedPID, PIDGains
from quadgym.envs.quad.sim import aero, physics, world
from quadgym.envs.quad.sim.dynamics import State, euler_to_quat, quat_to_euler
from quadgym.envs.quad.sim.models import get_model
from quadgym.files import atomic_write_bytes

#: Bullet's default linear and angular damping, which gym-pybullet-drones keeps.
BULLET_DAMPING = 0.04


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    duration: float = param(2.0, "flight time, s", gt=0)
    output: str = param("results/departures.json", "where the measured distances go")


class DSLMixerPID(CascadedPID):
    """The cascaded PID with DSLPIDControl's mixer: each motor's PWM clipped after mixing,
    the collective not kept inside the range the torque commands leave free. Built
    from quadgym's PID with an unbounded PWM range (no clamp, no clip), then clipped."""

    def __init__(self, model, num_drones: int = 1):
        published = PIDGains.for_model(model)
        self.pwm_range = (published.min_pwm, published.max_pwm)
        free = dataclasses.replace(published, min_pwm=-np.inf, max_pwm=np.inf)
        super().__init__(model, num_drones, free)

    def compute(self, *args, **kwargs) -> np.ndarray:
        g = self.gains
        pwm = (super().compute(*args, **kwargs) - g.pwm2rpm_const) / g.pwm2rpm_scale
        return g.pwm2rpm_scale * np.clip(pwm, *self.pwm_range) + g.pwm2rpm_const


def flight(
    mode: str,
    duration: float,
    kind: str = "named",
    damping: float = 0.0,
    pid: type = CascadedPID,
    lever: float = 1.0,
) -> np.ndarray:
    """(steps, n, 6) positions, m, and roll, pitch, yaw, rad, of a flight in ``mode``:
    ``named``, ``stacked``, ``saturated`` or ``landing`` (motors off); ``lever`` scales
    the motors' x and y in the flown airframe (the controller's mixer is normalised)."""
    model = get_model("cf2x")
    flown = dataclasses.replace(model, motor_pos=model.motor_pos * [lever, lever, 1.0])
    start, target = {
        "named": ([[0, 0, 0.2]], [[0.5, 0.3, 0.6]]),
        "stacked": ([[0, 0, 1.0], [0, 0, 1.3]], [[0, 0, 1.0], [0, 0, 1.3]]),
        "saturated": ([[0, 0, 1.0]], [[2.0, 1.0, 2.0]]),
        "landing": ([[0, 0, 0.1]], None),
    }[kind]
    sim = world.World(flown, len(start), mode, 240)
    for body in sim.body_ids if damping else []:
        p.changeDynamics(
            body, -1, linearDamping=damping, angularDamping=damping, physicsClientId=sim.client
        )
    state = State.at_rest(start)
    if kind == "landing":
        state.quat[:] = euler_to_quat(np.array([[0.1, 0.0, 0.0]]))
    sim.reset(state)
    control = pid(model, len(start))
    out = []
    for _ in range(int(round(duration * 240))):
        if target is None:
            rpm = np.zeros((1, 4))
        else:
            rpm = control.compute(sim.get_state(), np.array(target), 1 / 240)
        sim.step(rpm, 1)
        now = sim.get_state()
        out.append(np.concatenate([now.pos, quat_to_euler(now.quat)], axis=1))
    sim.close()
    return np.array(out)


@contextlib.contextmanager
def patched(name: str, replacement, module=aero):
    """``module.<name>`` replaced while the block runs. The flights are flown on
    aero_wrench's batched path meanwhile (the path that calls aero's array functions; the
    float paths of one drone's aero wrench and of a few drones' downwash give the same
    numbers to round-off, tests/test_columns.py)."""
    original = getattr(module, name)
    floats_up_to = physics.AERO_FLOATS_UP_TO, aero.DOWNWASH_FLOATS_UP_TO
    setattr(module, name, replacement(original))
    physics.AERO_FLOATS_UP_TO = aero.DOWNWASH_FLOATS_UP_TO = 0
    try:
        yield
    finally:
        setattr(module, name, original)
        physics.AERO_FLOATS_UP_TO, aero.DOWNWASH_FLOATS_UP_TO = floats_up_to


def reference_ground(original):
    """gym-pybullet-drones' ground: pybullet_data's plane.urdf (a box, lateral friction 1)."""

    def ground(client: int) -> int:
        path = Path(pybullet_data.getDataPath()) / "plane.urdf"
        return p.loadURDF(str(path), physicsClientId=client)

    return ground


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
        return float(np.linalg.norm(a[..., :3] - b[..., :3], axis=-1).max())

    def rms(a, b):
        return float(np.sqrt((np.linalg.norm(a[..., :3] - b[..., :3], axis=-1) ** 2).mean()))

    def rest(a, b):
        """The landed pose's difference: position, m, and the largest angle, deg."""
        angle = np.degrees(np.abs(a[-1, :, 3:] - b[-1, :, 3:]).max())
        return {"m": gap(a[-1:], b[-1:]), "deg": float(angle)}

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
    bounded = flight("pyb_dw", t, "stacked")
    with patched(
        "downwash", lambda f: lambda pos, model, thrust, kind: f(pos, model, thrust, "reference")
    ):
        unbounded = flight("pyb_dw", t, "stacked")
    rows["unbounded downwash fit, 0.3 m (pyb_dw)"] = gap(bounded, unbounded)
    # gym-pybullet-drones' dyn: torques with the lever L/√2 (0.02807 m), not the joints' 0.028
    model = get_model("cf2x")
    lever = model.arm / np.sqrt(2.0) / np.abs(model.motor_pos[0, 0])
    rows["lever arm L/sqrt2 (dyn)"] = gap(flight("dyn", t), flight("dyn", t, lever=lever))
    named, saturated = flight("pyb", t), flight("pyb", t, "saturated")
    mixer = {
        "named": (named, flight("pyb", t, pid=DSLMixerPID)),
        "saturated": (saturated, flight("pyb", t, "saturated", pid=DSLMixerPID)),
    }
    rows["DSLPIDControl mixer (pyb)"] = gap(*mixer["named"])
    landed = flight("pyb", t, "landing")
    with patched("add_ground", reference_ground, world):
        landing = {"plane.urdf ground (pyb)": rest(landed, flight("pyb", t, "landing"))}
    landing["bullet default damping (pyb)"] = rest(
        landed, flight("pyb", t, "landing", damping=BULLET_DAMPING)
    )
    for name, metres in rows.items():
        print(f"{name}: {1000 * metres:.4g} mm")
    for name, (ours, dsl) in mixer.items():
        print(f"DSLPIDControl mixer, {name} flight: RMS {1000 * rms(ours, dsl):.4g} mm")
    for name, pose in landing.items():
        print(f"landed pose, {name}: {1000 * pose['m']:.4g} mm, {pose['deg']:.4g} deg")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "duration_s": t,
        "largest_distance_m": rows,
        "mixer_saturated_flight": {"largest_m": gap(*mixer["saturated"])}
        | {"rms_m": {k: rms(*v) for k, v in mixer.items()}},
        "landed_pose": landing,
    }
    atomic_write_bytes(out, json.dumps(record, indent=2).encode() + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
