"""The onboard camera as geometry, without a renderer: what an observation can hold
(``obs_type``), the renderers' names, size limits, how far a drone's body reaches from its
camera, and :class:`CameraModel` (intrinsics, mount, view and projection matrices, pixel
rays). NumPy only, so the arguments of every face are checked without PyBullet; the
rendering itself is :mod:`quadgym.envs.quad.sensors.camera`'s."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from quadgym.envs.quad.sim.models import DroneModel

#: What an observation can hold; ``obs_type`` joins some with "+" ("kin+rgb").
OBS_PARTS = ("kin", "rgb", "depth", "seg")
#: The image parts.
IMAGE_PARTS = OBS_PARTS[1:]
#: Camera renderers (see the module's docstring).
RENDERERS = ("auto", "tiny", "rays", "egl")
#: Largest image side, pixels.
MAX_SIDE = 1024
#: Default size of a third-person video frame (``env.render()``'s), pixels: 640x480
#: (320x240 renders 2-3x faster: :mod:`~quadgym.envs.quad.sensors.view`).
VIDEO_WIDTH, VIDEO_HEIGHT = 640, 480
#: Largest side of a third-person video frame, pixels.
MAX_VIDEO_SIDE = 4096
#: Largest far plane, m.
MAX_FAR = 1000.0
#: Direction the light comes from (world frame; from above, a little from +x and +y).
LIGHT = (0.4, 0.3, 1.0)
#: Rays per ``rayTestBatch`` call (PyBullet returns nothing for 16,384 or more).
MAX_RAYS = 16000


def parse_obs_type(name: str, value: Any) -> str:
    """``obs_type`` in normal form: its parts (:data:`OBS_PARTS`) joined by "+" in
    the order kin, rgb, depth, seg.

    Raises:
        TypeError: not a string.
        ValueError: an unknown or repeated part, naming the allowed ones.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string such as 'kin+rgb', got {value!r}")
    parts = value.split("+")
    allowed = ", ".join(map(repr, OBS_PARTS))
    bad = [x for x in parts if x not in OBS_PARTS]
    if bad or len(set(parts)) != len(parts):
        raise ValueError(
            f"{name}={value!r}: give parts among {allowed} joined by '+', each once "
            f"(e.g. 'kin', 'rgb', 'kin+rgb', 'kin+depth+seg')"
        )
    return "+".join(x for x in OBS_PARTS if x in parts)


def body_reach(model: DroneModel) -> float:
    """Distance from a drone's centre to the farthest point of its body (collision
    cylinder, propellers), m: a camera's near plane must lie beyond it."""
    arm = float(np.hypot(model.motor_pos[:, 0], model.motor_pos[:, 1]).max())
    radius = max(model.collision_radius, arm + model.prop_radius)
    return float(math.hypot(radius, model.collision_height / 2 + 0.01))


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics and mount of the onboard camera (see the module's docstring).

    Args:
        width, height: image size, pixels, 1 to :data:`MAX_SIDE`.
        fov: vertical field of view, degrees, in (0, 180).
        near, far: clipping planes, m, 0 < near < far <= :data:`MAX_FAR`.
        tilt: mount pitch below body +x, degrees, in [-90, 90].

    Raises:
        ValueError: a value out of range, naming it and the allowed range.
    """

    width: int = 64
    height: int = 48
    fov: float = 60.0
    near: float = 0.1
    far: float = 20.0
    tilt: float = 0.0

    def __post_init__(self) -> None:
        for side in ("width", "height"):
            v = getattr(self, side)
            if not isinstance(v, int | np.integer) or not 1 <= v <= MAX_SIDE:
                raise ValueError(f"camera {side} must be an integer in [1, {MAX_SIDE}], got {v!r}")
        if not (math.isfinite(self.fov) and 0.0 < self.fov < 180.0):
            raise ValueError(f"camera fov must be in (0, 180) degrees, got {self.fov!r}")
        if not (math.isfinite(self.near) and math.isfinite(self.far)):
            raise ValueError(f"camera near/far must be finite, got {self.near!r}, {self.far!r}")
        if not 0.0 < self.near < self.far <= MAX_FAR:
            raise ValueError(
                f"camera planes must satisfy 0 < near < far <= {MAX_FAR:g} m, got "
                f"near={self.near!r}, far={self.far!r}"
            )
        if not (math.isfinite(self.tilt) and -90.0 <= self.tilt <= 90.0):
            raise ValueError(f"camera tilt must be in [-90, 90] degrees, got {self.tilt!r}")

    @property
    def tan_half(self) -> tuple[float, float]:
        """tan of half the horizontal and of half the vertical field of view."""
        v = math.tan(math.radians(self.fov) / 2)
        return v * self.width / self.height, v

    def mount(self) -> np.ndarray:
        """(3, 3) camera axes in the body frame, as columns: forward (the optical
        axis), right, up."""
        t = math.radians(self.tilt)
        forward = [math.cos(t), 0.0, -math.sin(t)]
        up = [math.sin(t), 0.0, math.cos(t)]
        return np.array([forward, [0.0, -1.0, 0.0], up]).T

    def pixel_rays(self) -> np.ndarray:
        """(H·W, 3) body-frame directions through each pixel's sample point, row-major
        from the top-left, scaled so that each has a unit component along the optical
        axis (a point t·d lies at depth t). The sample point is where TinyRenderer
        samples the pixel: its lower-left corner (pixel (r, c) at x = 2c/W − 1,
        y = 1 − 2(r + 1)/H in normalised device coordinates), half a pixel from the
        centre, so that ray casts and ``getCameraImage`` give the same images."""
        th, tv = self.tan_half
        u = (2 * np.arange(self.width) / self.width - 1) * th
        v = (1 - 2 * (np.arange(self.height) + 1) / self.height) * tv
        uu, vv = np.meshgrid(u, v)
        cam = np.stack([np.ones_like(uu), uu, vv], axis=-1).reshape(-1, 3)
        return cam @ self.mount().T

    def projection(self) -> list[float]:
        """The OpenGL projection matrix (16, column-major), as PyBullet's
        ``computeProjectionMatrixFOV(fov, width/height, near, far)``."""
        f = 1.0 / self.tan_half[1]
        a, n, far = self.width / self.height, self.near, self.far
        return [
            *(f / a, 0.0, 0.0, 0.0),
            *(0.0, f, 0.0, 0.0),
            *(0.0, 0.0, (far + n) / (n - far), -1.0),
            *(0.0, 0.0, 2 * far * n / (n - far), 0.0),
        ]

    def views(self, pos: np.ndarray, rot: np.ndarray) -> np.ndarray:
        """(n, 16) OpenGL view matrices (column-major) of cameras on bodies at ``pos``
        (n, 3), m, turned by ``rot`` (n, 3, 3) body -> world."""
        axes = rot @ self.mount()  # (n, 3, 3): world forward, right, up as columns
        f, s, u = axes[:, :, 0], axes[:, :, 1], axes[:, :, 2]
        m = np.zeros((len(pos), 4, 4))
        m[:, 0, :3], m[:, 1, :3], m[:, 2, :3] = s, u, -f
        m[:, 0, 3] = -np.einsum("ni,ni->n", s, pos)
        m[:, 1, 3] = -np.einsum("ni,ni->n", u, pos)
        m[:, 2, 3] = np.einsum("ni,ni->n", f, pos)
        m[:, 3, 3] = 1.0
        return m.transpose(0, 2, 1).reshape(len(pos), 16)

    def linear_depth(self, zbuffer: np.ndarray) -> np.ndarray:
        """Depth along the optical axis, m, float32, of OpenGL z-buffer values in [0, 1]
        (1: nothing, mapped to ``far``)."""
        n, f = self.near, self.far
        z = f * n / (f - (f - n) * np.asarray(zbuffer, dtype=np.float64))
        return np.clip(z, n, f).astype(np.float32)
