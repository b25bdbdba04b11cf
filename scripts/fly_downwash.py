"""Fly one drone across above another and plot the lower one's height deviation.

    python scripts/fly_downwash.py --output-dir results/downwash
    python scripts/fly_downwash.py --separations 0.3,0.5,1.0 --speed 0.1 --integrator dyn

The paper's downwash demonstration: the lower drone holds (0, 0, 1) m under the
cascaded PID while the upper one, also under the PID, crosses above it along x at
``--speed`` from −``--span`` to +``--span`` at each vertical separation. Each
separation is flown three times: without downwash, with quadgym's bounded model
(the default of every ``*_dw`` mode) and with gym-pybullet-drones' fit
(``downwash_model="reference"``), which the bounded model equals where the fit is
valid (on the axis, below 0.535 m the fit exceeds the upper drone's thrust). Writes
``downwash.png`` (lower drone's height deviation, mm, against the horizontal
offset of the upper drone, m, one panel per separation) and ``downwash.json``
(the largest sink of each curve, mm), and prints the sinks.
"""

import dataclasses
import io
import json
import sys
from pathlib import Path
from typing import Literal

import numpy as np

from quadgym.cli import parse_args
from quadgym.config import TypedConfig, param
from quadgym.envs.quad.control.pid import TUNED_MODELS, CascadedPID
from quadgym.envs.quad.sim.dynamics import State
from quadgym.envs.quad.sim.models import get_model
from quadgym.envs.quad.sim.world import World
from quadgym.files import atomic_write_bytes

#: The three flights of each separation: label -> (physics mode, downwash model).
FLIGHTS = {
    "no downwash": ("", "bounded"),
    "bounded (quadgym)": ("_dw", "bounded"),
    "reference fit (gym-pybullet-drones)": ("_dw", "reference"),
}

#: Height the lower drone holds, m.
LOWER_HEIGHT = 1.0


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    model: Literal[TUNED_MODELS] = param("cf2x", "drone model (one the PID gains are tuned for)")
    integrator: Literal["pyb", "dyn"] = param("pyb", "physics integrator: Bullet or NumPy")
    separations: tuple[float, ...] = param(
        (0.3, 0.5, 1.0), "vertical separations, m, one panel each (>= 0.05)"
    )
    speed: float = param(0.1, "speed of the upper drone along x, m/s", gt=0)
    span: float = param(0.5, "the upper drone crosses from x = -span to +span, m", gt=0)
    settle: float = param(2.0, "hover time before the crossing, s", ge=0)
    control_hz: int = param(240, "PID and physics rate, Hz", ge=100)
    output_dir: str = param("results/downwash", "where downwash.png and downwash.json go")

    def check(self) -> None:
        """Each separation once, above the airframes' contact (2 x 0.025 m on cf2x)."""
        if not self.separations or len(set(self.separations)) < len(self.separations):
            raise ValueError(f"separations must name each value once, got {self.separations}")
        if min(self.separations) < 0.05:
            raise ValueError(f"separations must be >= 0.05 m, got {min(self.separations)}")


def fly(args: Args, dz: float, suffix: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(offset, deviation): the upper drone's x minus the lower's, m, and the lower
    drone's height minus LOWER_HEIGHT, m, at every control step of the crossing."""
    model = get_model(args.model)
    world = World(model, 2, args.integrator + suffix, args.control_hz)
    world.physics = world.physics._replace(downwash_model=kind)
    start = np.array([[0.0, 0.0, LOWER_HEIGHT], [-args.span, 0.0, LOWER_HEIGHT + dz]])
    world.reset(State.at_rest(start))
    pid = CascadedPID(model, 2)
    dt = 1.0 / args.control_hz
    settle = int(round(args.settle * args.control_hz))
    cross = int(round(2 * args.span / args.speed * args.control_hz))
    offset, deviation = [], []
    for k in range(settle + cross):
        sp, vel = start.copy(), np.zeros((2, 3))
        if k >= settle:
            sp[1, 0] += args.speed * (k - settle) * dt
            vel[1, 0] = args.speed
        state = world.get_state()
        world.step(pid.compute(state, sp, dt, target_vel=vel), 1)
        if k >= settle:
            offset.append(state.pos[1, 0] - state.pos[0, 0])
            deviation.append(state.pos[0, 2] - LOWER_HEIGHT)
    world.close()
    return np.array(offset), np.array(deviation)


def plot(path: Path, args: Args, curves: dict) -> None:
    import matplotlib.pyplot as plt

    n = len(args.separations)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.6), sharey=True, squeeze=False)
    styles = {"no downwash": ("0.5", "-"), "bounded (quadgym)": ("C0", "-")}
    for ax, dz in zip(axes[0], args.separations, strict=True):
        for label, (offset, dev) in curves[dz].items():
            colour, ls = styles.get(label, ("C3", "--"))
            ax.plot(offset, 1000 * dev, color=colour, ls=ls, lw=1.4, label=label)
        ax.set_title(f"upper drone {dz:g} m above")
        ax.set_xlabel("horizontal offset of the upper drone (m)")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("lower drone's height deviation (mm)")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    fig.suptitle(
        f"Downwash: two {args.model} under the PID, {args.integrator}, upper drone at "
        f"{args.speed:g} m/s"
    )
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(Args, __doc__, argv)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    curves, sinks = {}, {}
    for dz in args.separations:
        curves[dz] = {label: fly(args, dz, *how) for label, how in FLIGHTS.items()}
        sinks[f"{dz:g}"] = {
            label: round(-1000 * float(dev.min()), 3) for label, (_, dev) in curves[dz].items()
        }
        print(
            f"{dz:g} m above: largest sink (mm) "
            + ", ".join(f"{label} {mm:.2f}" for label, mm in sinks[f"{dz:g}"].items())
        )
    plot(out / "downwash.png", args, curves)
    record = {"args": dataclasses.asdict(args), "largest_sink_mm": sinks}
    atomic_write_bytes(out / "downwash.json", json.dumps(record, indent=2).encode() + b"\n")
    print(f"wrote {out / 'downwash.png'} and {out / 'downwash.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
