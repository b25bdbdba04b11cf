"""Onboard cameras: one forward camera per drone, rendered through the world's client.

The sensor owns the camera model; the :class:`~quadgym.envs.quad.world.World`
owns the PyBullet client and the bodies. :class:`CameraModel` holds the
intrinsics and the mount; :class:`Cameras` turns the drones' state into
images and holds them between captures.

**Model.** A pinhole camera at the drone's centre of mass, looking along body
+x tilted down by ``tilt`` degrees about body y (its up is body z tilted
alike, so the image rolls, pitches and yaws with the body). ``fov`` is the
*vertical* field of view (degrees, as PyBullet's ``computeProjectionMatrixFOV``;
the horizontal one follows from the aspect ratio width/height). Nothing
nearer than ``near`` m or farther than ``far`` m is seen; ``near`` must clear
the drone's own body (:func:`body_reach`), so a drone never sees itself.

**Images.** ``rgb``: (H, W, 3) uint8, lit from a fixed direction, no shadows,
white where nothing is seen. ``depth``: (H, W, 1) float32, metres along the
optical axis (z-depth, as a depth camera reports it; at the image centre this
is the distance), in [near, far], ``far`` where nothing is hit. ``seg``:
(H, W, 1) int32 ids (:mod:`quadgym.envs.quad.scene`: 0 nothing, 1 ground, 2
target, 3 + i drone i, then the other scene bodies).

**Renderers** (``renderer=``):

* ``"tiny"``: PyBullet's ``getCameraImage`` with its CPU TinyRenderer, one
  call per drone giving rgb, depth (its z-buffer, linearised with near/far)
  and segmentation (skipped when not asked for) together.
* ``"rays"``: depth and segmentation from one batched ray cast for all drones
  (``rayTestBatch`` with all of Bullet's threads, one ray per pixel through the
  point TinyRenderer samples, the pixel's lower-left corner, from the near plane
  to the far plane); rgb, if asked for, still comes from TinyRenderer. Rays hit
  collision shapes, TinyRenderer draws visual shapes: they agree on the ground,
  the target and the obstacles (tests: depth within 1 %, segmentation on >= 99 %
  of pixels); a drone's collision cylinder is larger than its drawn frame.
* ``"egl"``: ``getCameraImage`` through PyBullet's EGL plugin (hardware OpenGL:
  use it on a machine with a GPU; without one Mesa's llvmpipe gives ~10 frames/s).
  The plugin is loaded into the world's client at the first capture.
* ``"auto"`` (default): ``"tiny"``, the fastest here at every measured size and
  drone count (``benchmarks/bench_camera.py``, one core: at 64x48 and one drone
  TinyRenderer ~1,300 frames/s, the ray cast ~200; at 128x96 ~430 and ~40).
"""

from __future__ import annotations

import math
import pkgutil
from dataclasses import dataclass
from typing import Any

import numpy as np
import pybullet as p
from gymnasium import spaces

from quadgym.envs.quad.dynamics import State, quat_to_rot
from quadgym.envs.quad.models import DroneModel
from quadgym.envs.quad.scene import SEG_NOTHING

#: What an observation can hold; ``obs_type`` joins some with "+" ("kin+rgb").
OBS_PARTS = ("kin", "rgb", "depth", "seg")
#: The image parts.
IMAGE_PARTS = OBS_PARTS[1:]
#: Camera renderers (see the module's docstring).
RENDERERS = ("auto", "tiny", "rays", "egl")
#: Largest image side, pixels.
MAX_SIDE = 1024
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


class Cameras:
    """The onboard cameras of every drone of ``world``: the images of ``parts``
    (some of :data:`IMAGE_PARTS`) through ``renderer``, a new frame every ``period``
    control steps (held between).

    Raises:
        ValueError: an unknown part or renderer.
    """

    def __init__(
        self,
        world: Any,
        model: CameraModel,
        parts: tuple[str, ...],
        renderer: str = "auto",
        period: int = 1,
    ) -> None:
        if renderer not in RENDERERS:
            raise ValueError(f"unknown camera renderer {renderer!r}; allowed: {RENDERERS}")
        if not parts or any(x not in IMAGE_PARTS for x in parts):
            raise ValueError(f"camera parts must be some of {IMAGE_PARTS}, got {parts!r}")
        self.world, self.model, self.parts = world, model, tuple(parts)
        self.renderer = "tiny" if renderer == "auto" else renderer
        self.period = int(period)
        self._projection = model.projection()
        self._rays = model.pixel_rays()
        self._lookup = np.zeros(1, dtype=np.int32)
        self._held: dict[str, np.ndarray] | None = None
        self._egl: int | None = None

    # ------------------------------------------------------------ spaces
    def space(self, part: str, num_labels: int) -> spaces.Box:
        """One drone's Box of image ``part``; segmentation ids below ``num_labels``."""
        h, w, m = self.model.height, self.model.width, self.model
        if part == "rgb":
            return spaces.Box(0, 255, (h, w, 3), np.uint8)
        if part == "depth":
            return spaces.Box(np.float32(m.near), np.float32(m.far), (h, w, 1), np.float32)
        return spaces.Box(0, max(num_labels - 1, 0), (h, w, 1), np.int32)

    # ----------------------------------------------------------- capture
    def observe(self, state: State, steps: int) -> dict[str, np.ndarray]:
        """Every drone's images {part: (n, H, W, C)} after ``steps`` control steps of
        the episode: captured now when ``steps`` is a multiple of the period (so at
        every reset), else the frames last captured."""
        if self._held is None or steps % self.period == 0:
            self._held = self.capture(state)
        return self._held

    def capture(self, state: State) -> dict[str, np.ndarray]:
        """Render every drone's images now, {part: (n, H, W, C)} (see the module)."""
        world = self.world
        world.sync_bullet()
        rot = quat_to_rot(state.quat)
        want = set(self.parts)
        out: dict[str, np.ndarray] = {}
        from_rays = self.renderer == "rays" and want & {"depth", "seg"}
        drawn = want - ({"depth", "seg"} if from_rays else set())
        if drawn:
            out.update(self._draw(state.pos, rot, drawn))
        if from_rays:
            depth, seg = self._cast(state.pos, rot)
            out["depth"], out["seg"] = depth, seg
        return {part: out[part] for part in self.parts}

    def _labels(self, raw: np.ndarray) -> np.ndarray:
        """Segmentation ids (:mod:`~quadgym.envs.quad.scene`) of Bullet body ids (-1:
        nothing), int32."""
        labels = self.world.labels
        if len(self._lookup) != max(labels) + 2:
            lookup = np.full(max(labels) + 2, SEG_NOTHING, dtype=np.int32)
            for body, label in labels.items():
                lookup[body + 1] = label
            self._lookup = lookup
        return self._lookup[np.asarray(raw) + 1]

    def _draw(self, pos: np.ndarray, rot: np.ndarray, want: set[str]) -> dict[str, np.ndarray]:
        """getCameraImage per drone: TinyRenderer, or OpenGL through the EGL plugin."""
        cid, m = self.world.client, self.model
        if self.renderer == "egl":
            self._load_egl()
        renderer = p.ER_BULLET_HARDWARE_OPENGL if self.renderer == "egl" else p.ER_TINY_RENDERER
        flags = 0 if "seg" in want else p.ER_NO_SEGMENTATION_MASK
        views = self.model.views(pos, rot).tolist()
        n = len(pos)
        rgb = np.empty((n, m.height, m.width, 3), np.uint8) if "rgb" in want else None
        zbuf = np.empty((n, m.height, m.width), np.float32) if "depth" in want else None
        seg = np.empty((n, m.height, m.width), np.int32) if "seg" in want else None
        for i, view in enumerate(views):
            _, _, px, z, s = p.getCameraImage(
                m.width,
                m.height,
                view,
                self._projection,
                lightDirection=LIGHT,
                shadow=0,
                flags=flags,
                renderer=renderer,
                physicsClientId=cid,
            )
            if rgb is not None:
                rgb[i] = np.reshape(px, (m.height, m.width, 4))[:, :, :3]
            if zbuf is not None:
                zbuf[i] = np.reshape(z, (m.height, m.width))
            if seg is not None:
                seg[i] = np.reshape(s, (m.height, m.width))
        out = {}
        if rgb is not None:
            out["rgb"] = rgb
        if zbuf is not None:
            out["depth"] = m.linear_depth(zbuf)[..., None]
        if seg is not None:
            out["seg"] = self._labels(seg)[..., None]
        return out

    def _cast(self, pos: np.ndarray, rot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Depth and segmentation of every drone from one batched ray cast (chunks of
        :data:`MAX_RAYS`), each ray from the near plane to the far plane."""
        m, cid = self.model, self.world.client
        dirs = np.einsum("nij,kj->nki", rot, self._rays).reshape(-1, 3)  # (n·H·W, 3)
        origin = np.repeat(pos, len(self._rays), axis=0)
        start, end = origin + m.near * dirs, origin + m.far * dirs
        hits = []
        for k in range(0, len(dirs), MAX_RAYS):
            hits += p.rayTestBatch(
                start[k : k + MAX_RAYS], end[k : k + MAX_RAYS], numThreads=0, physicsClientId=cid
            )
        body = np.fromiter((h[0] for h in hits), np.int32, len(hits))
        frac = np.fromiter((h[2] for h in hits), np.float64, len(hits))
        depth = np.where(body >= 0, m.near + frac * (m.far - m.near), m.far).astype(np.float32)
        shape = (len(pos), m.height, m.width, 1)
        return depth.reshape(shape), self._labels(body).reshape(shape)

    def _load_egl(self) -> None:
        """Load PyBullet's EGL renderer plugin into the world's client (once).

        Raises:
            RuntimeError: the plugin is not installed or does not load (no EGL).
        """
        if self._egl is not None:
            return
        module = pkgutil.get_loader("eglRenderer")
        plugin = (
            p.loadPlugin(
                module.get_filename(), "_eglRendererPlugin", physicsClientId=self.world.client
            )
            if module is not None
            else -1
        )
        if plugin < 0:
            raise RuntimeError(
                "camera renderer 'egl' needs PyBullet's eglRenderer plugin and a working EGL "
                "(libEGL, a GPU driver or Mesa); use renderer 'tiny' (CPU) instead"
            )
        self._egl = plugin


class Observer:
    """A face's observation of ``obs_type`` (:func:`parse_obs_type`): the task's
    kinematic vector and the images of :class:`Cameras` on ``world``'s drones, as
    one Box (one part) or a ``Dict`` keyed by part (several)."""

    def __init__(
        self, world: Any, obs_type: str, model: CameraModel, renderer: str, period: int
    ) -> None:
        self.world = world
        self.parts = tuple(parse_obs_type("obs_type", obs_type).split("+"))
        images = tuple(x for x in self.parts if x in IMAGE_PARTS)
        self.cameras = Cameras(world, model, images, renderer, period)

    @classmethod
    def of(cls, world: Any, config: Any) -> Observer | None:
        """The observer of a face's :class:`~quadgym.envs.quad.config.QuadConfig`
        (``obs_type`` and ``camera_*``); None for ``"kin"`` (the task's vector alone)."""
        if not config.image_parts:
            return None
        return cls(
            world, config.obs_type, config.camera, config.camera_renderer, config.camera_period
        )

    def space(self, kin: spaces.Box, lead: tuple[int, ...] = ()) -> spaces.Space:
        """The observation space given the kinematic Box ``kin`` of one drone; ``lead``
        is a leading shape of every part (the single face's ``(num_drones,)``)."""
        labels = max(self.world.labels.values()) + 1
        boxes = {}
        for part in self.parts:
            box = kin if part == "kin" else self.cameras.space(part, labels)
            if lead:
                shape = lead + box.shape
                box = spaces.Box(
                    np.broadcast_to(box.low, shape),
                    np.broadcast_to(box.high, shape),
                    dtype=box.dtype,
                )
            boxes[part] = box
        return boxes[self.parts[0]] if len(boxes) == 1 else spaces.Dict(boxes)

    def observe(self, kin: np.ndarray | None, state: State, steps: int) -> dict[str, np.ndarray]:
        """{part: (n, ...)} for every drone: ``kin`` (n, k) (None when ``obs_type`` has
        no ``kin``) and the images after ``steps`` control steps (see
        :meth:`Cameras.observe`)."""
        images = self.cameras.observe(state, steps)
        return {part: kin if part == "kin" else images[part] for part in self.parts}

    def pick(self, parts: dict[str, np.ndarray], index: Any) -> Any:
        """The observation of row(s) ``index`` of :meth:`observe`'s arrays: an array
        for one part, a dict for several (copies: held frames are shared)."""
        if len(self.parts) == 1:
            return parts[self.parts[0]][index].copy()
        return {part: parts[part][index].copy() for part in sorted(parts)}  # as spaces.Dict
