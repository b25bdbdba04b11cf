"""Fly N drones with the cascaded PID: take off, then circle at different heights.

    python scripts/fly_pid.py --drones 4 --physics pyb_gnd_drag_dw --output-dir results/fly
    python scripts/fly_pid.py --drones 2 --duration 4 --video results/fly/flight.mp4
    python scripts/fly_pid.py --drones 4 --duration 6 --camera --output-dir results/fly
    python scripts/fly_pid.py --drones 1 --gui

Writes ``flight.npz`` and ``flight.csv`` (time, per drone position, attitude,
set-point and motor RPM), ``flight.png`` (positions, attitudes, motor speeds)
and, with ``--video PATH``, an MP4 from a headless third-person camera that
follows the drones (each drone ringed in its plot colour, with its trail, a line
down to the ground and its set-point's cross). With ``--camera``, also
``onboard.png`` and ``onboard.mp4``: what each drone's forward camera sees (rgb,
depth, segmentation) under the third-person view, ``--camera-frames`` panels
spread over the flight in the PNG, every frame at 24 frames/s in the MP4. Prints
the tracking error of each drone and the real-time factor (of the flight alone:
filming is timed apart).
"""

import csv
import dataclasses
import sys
import time
from pathlib import Path
from typing import Literal

import numpy as np

from quadgym.cli import parse_args
from quadgym.config import TypedConfig, param
from quadgym.envs.quad.control.pid import TUNED_MODELS, CascadedPID
from quadgym.envs.quad.sensors.camera import MAX_SIDE, CameraModel, body_reach
from quadgym.envs.quad.sensors.pictures import FPS, OnboardRecorder
from quadgym.envs.quad.sensors.view import WorldCamera, drone_colour
from quadgym.envs.quad.sim.dynamics import State, quat_to_euler
from quadgym.envs.quad.sim.models import get_model
from quadgym.envs.quad.sim.world import World, gui_available, physics_modes
from quadgym.envs.quad.tasks.base import check_rates

#: Where the drones start: ``circle`` (0.5 m radius per 4 drones) or ``row`` (0.5 m apart).
START_FORMATIONS = ("circle", "row")

Model = Literal[TUNED_MODELS]  # the airframes the published PID gains are tuned for
Physics = Literal[tuple(physics_modes())]
Formation = Literal[START_FORMATIONS]


@dataclasses.dataclass(frozen=True)
class Args(TypedConfig):
    drones: int = param(4, "number of drones", ge=1)
    model: Model = param("cf2x", "drone model (one the PID gains are tuned for)")
    physics: Physics = param(
        "pyb", "physics mode: 'pyb' (Bullet) or 'dyn' (NumPy), plus '_gnd', '_drag', '_dw'"
    )
    duration: float = param(12.0, "flight time, s", gt=0)
    physics_hz: int = param(240, "physics rate, Hz", ge=1)
    control_hz: int = param(
        240, "PID rate, Hz; divides --physics-hz (the published gains chatter below ~100 Hz)", ge=1
    )
    formation: Formation = param("circle", "where the drones start on the ground")
    radius: float = param(0.3, "radius of each drone's circle, m", ge=0)
    period: float = param(6.0, "period of each circle, s", gt=0)
    takeoff: float = param(2.0, "take-off (climb) time, s", gt=0)
    gui: bool = param(False, "open the PyBullet GUI and fly in real time")
    video: str | None = param(None, "write an MP4 of the flight to this path")
    camera: bool = param(
        False, "write onboard.png and onboard.mp4: each drone's camera under the third-person view"
    )
    camera_frames: int = param(6, "panels of onboard.png, spread over the flight", ge=1, le=100)
    camera_width: int = param(64, "onboard camera image width, pixels", ge=1, le=MAX_SIDE)
    camera_height: int = param(48, "onboard camera image height, pixels", ge=1, le=MAX_SIDE)
    camera_tilt: float = param(
        0.0, "onboard camera pitch below body +x, degrees", ge=-90.0, le=90.0
    )
    output_dir: str = param("results/fly_pid", "where the log and the plot go")

    def check(self) -> None:
        """The control rate must divide the physics rate (whole substeps); the onboard
        camera's near plane must clear the drone's own body."""
        check_rates(self.physics_hz, self.control_hz)
        if self.camera:
            reach = body_reach(get_model(self.model))
            if self.lens().near <= reach:
                raise ValueError(
                    f"the onboard camera's near plane ({self.lens().near} m) lies inside the "
                    f"{self.model}'s body ({reach:.3f} m)"
                )

    def lens(self) -> CameraModel:
        """The onboard camera (QuadHover-v0's defaults but size and tilt)."""
        return CameraModel(self.camera_width, self.camera_height, tilt=self.camera_tilt)


def start_positions(n: int, formation: str, rest_height: float) -> np.ndarray:
    """Start points on the ground (one of :data:`START_FORMATIONS`): a circle of radius
    0.5 m per 4 drones, or a row 0.5 m apart."""
    if formation == "row":
        xy = np.c_[np.arange(n) * 0.5 - 0.25 * (n - 1), np.zeros(n)]
    else:
        r = 0.5 * max(1.0, n / 4)
        ang = 2 * np.pi * np.arange(n) / n
        xy = np.c_[r * np.cos(ang), r * np.sin(ang)]
    return np.c_[xy, np.full(n, rest_height)]


def set_points(t: float, start: np.ndarray, args: Args) -> np.ndarray:
    """(n, 3) set-points at time t: a linear climb to each drone's height (0.5 m, +0.15 m
    per drone), then a circle of ``radius`` around its start point."""
    n = start.shape[0]
    height = 0.5 + 0.15 * np.arange(n)
    sp = start.copy()
    if t < args.takeoff:
        sp[:, 2] = start[:, 2] + (height - start[:, 2]) * t / args.takeoff
        return sp
    phase = 2 * np.pi * (t - args.takeoff) / args.period + np.arange(n) * np.pi / 2
    sp[:, 0] += args.radius * (np.cos(phase) - np.cos(np.arange(n) * np.pi / 2))
    sp[:, 1] += args.radius * (np.sin(phase) - np.sin(np.arange(n) * np.pi / 2))
    sp[:, 2] = height
    return sp


def no_display(args: Args) -> str | None:
    """--gui without a display (Bullet would abort the process), else None."""
    if args.gui and not gui_available():
        return "--gui needs a display and DISPLAY is not set; --video FILE films the flight"
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(Args, __doc__, argv, check=no_display)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = get_model(args.model)
    world = World(model, args.drones, args.physics, args.physics_hz, gui=args.gui)
    camera = WorldCamera(world)
    start = start_positions(args.drones, args.formation, world.rest_height)
    world.reset(State.at_rest(start))
    pid = CascadedPID(model, args.drones)
    substeps = args.physics_hz // args.control_hz
    steps = int(round(args.duration * args.control_hz))
    dt = 1.0 / args.control_hz
    video_every = max(1, args.control_hz // FPS)
    frames = []
    onboard = None
    if args.camera:
        onboard = OnboardRecorder(world, args.lens(), args.camera_frames, out / "onboard.mp4")
    filming = 0.0  # wall time spent on pictures, s
    log = {k: [] for k in ("t", "pos", "rpy", "vel", "set_point", "rpm")}
    wall = time.perf_counter()
    for k in range(steps):
        t = k * dt
        state = world.get_state()
        sp = set_points(t, start, args)
        sp_vel = (set_points(t + 1e-3, start, args) - sp) / 1e-3  # velocity feed-forward
        rpm = pid.compute(state, sp, dt, target_vel=sp_vel)
        for key, value in (
            ("t", t),
            ("pos", state.pos),
            ("rpy", quat_to_euler(state.quat)),
            ("vel", state.vel),
            ("set_point", sp),
            ("rpm", rpm),
        ):
            log[key].append(value)
        world.step(rpm, substeps)
        if (args.video or onboard) and (k % video_every == 0 or k == steps - 1):
            shot = time.perf_counter()
            after = world.get_state()
            if args.video:
                frames.append(camera.render(640, 480, set_points=sp))
            if onboard is not None:
                onboard.record(after, t + dt, sp)
            filming += time.perf_counter() - shot
        if args.gui:
            time.sleep(max(0.0, dt - (time.perf_counter() - wall) / (k + 1)))
    elapsed = time.perf_counter() - wall - filming
    if onboard is not None:
        onboard.close()
        onboard.write_strip(out / "onboard.png")
    world.close()
    data = {k: np.asarray(v) for k, v in log.items()}
    np.savez(out / "flight.npz", **data, model=args.model, physics=args.physics)
    write_csv(out / "flight.csv", data)
    plot(out / "flight.png", data, args)
    if args.video:
        write_video(args.video, frames, 24)
    tracking = np.linalg.norm(data["pos"] - data["set_point"], axis=2)
    after = data["t"] >= args.takeoff
    print(
        f"{args.drones} x {args.model}, physics {args.physics}, {args.duration:.1f} s flown "
        f"in {elapsed:.2f} s wall: real-time factor {args.duration / elapsed:.1f}x"
    )
    for i in range(args.drones):
        rms = np.sqrt(np.mean(tracking[after, i] ** 2)) if after.any() else float("nan")
        print(
            f"  drone {i}: RMS tracking error after take-off {100 * rms:.1f} cm, "
            f"final {100 * tracking[-1, i]:.1f} cm"
        )
    print(
        f"log: {out / 'flight.npz'}, {out / 'flight.csv'}; plot: {out / 'flight.png'}"
        + (f"; video: {args.video}" if args.video else "")
        + (f"; onboard: {out / 'onboard.png'}, {out / 'onboard.mp4'}" if onboard else "")
    )
    if args.video or onboard:
        print(f"filming took {filming:.2f} s wall")
    return 0


def write_csv(path: Path, data: dict[str, np.ndarray]) -> None:
    """One row per control step; columns t, then per drone x, y, z, roll, pitch, yaw,
    set-point x, y, z and the four motor speeds."""
    n = data["pos"].shape[1]
    cols = [
        "x",
        "y",
        "z",
        "roll",
        "pitch",
        "yaw",
        "sp_x",
        "sp_y",
        "sp_z",
        "rpm0",
        "rpm1",
        "rpm2",
        "rpm3",
    ]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t"] + [f"d{i}_{c}" for i in range(n) for c in cols])
        for k, t in enumerate(data["t"]):
            row = [f"{t:.4f}"]
            for i in range(n):
                vals = np.r_[
                    data["pos"][k, i], data["rpy"][k, i], data["set_point"][k, i], data["rpm"][k, i]
                ]
                row += [f"{v:.6g}" for v in vals]
            w.writerow(row)


def plot(path: Path, data: dict[str, np.ndarray], args: Args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t, n = data["t"], data["pos"].shape[1]
    fig, axes = plt.subplots(3, 3, figsize=(14, 9), sharex=True)
    for i in range(n):
        c = drone_colour(i)  # the drone's colour in the videos too
        for j, name in enumerate("xyz"):
            axes[0, j].plot(t, data["pos"][:, i, j], color=c, label=f"drone {i}")
            axes[0, j].plot(t, data["set_point"][:, i, j], color=c, ls="--", lw=0.8)
            axes[0, j].set_ylabel(f"{name} (m)")
            axes[1, j].plot(t, np.degrees(data["rpy"][:, i, j]), color=c)
            axes[1, j].set_ylabel(["roll", "pitch", "yaw"][j] + " (deg)")
        axes[2, 0].plot(t, data["rpm"][:, i].mean(axis=1), color=c)
        axes[2, 1].plot(t, data["rpm"][:, i].max(axis=1) - data["rpm"][:, i].min(axis=1), color=c)
        axes[2, 2].plot(
            t, np.linalg.norm(data["pos"][:, i] - data["set_point"][:, i], axis=1), color=c
        )
    axes[2, 0].set_ylabel("mean motor speed (RPM)")
    axes[2, 1].set_ylabel("motor speed spread (RPM)")
    axes[2, 2].set_ylabel("tracking error (m)")
    for ax in axes[2]:
        ax.set_xlabel("time (s)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(
        f"{n} x {args.model}, physics {args.physics}, PID at {args.control_hz} Hz "
        "(dashed: set-points)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_video(path: str, frames: list[np.ndarray], fps: int) -> None:
    import imageio.v2 as imageio

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1) as w:
        for frame in frames:
            w.append_data(frame)


if __name__ == "__main__":
    sys.exit(main())
