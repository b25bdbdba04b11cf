"""Onboard cameras: one forward camera per drone, rendered through the world's client.

The sensor owns the camera model; the :class:`~quadgym.envs.quad.sim.world.World`
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
(H, W, 1) int32 ids (:mod:`quadgym.envs.quad.sim.scene`: 0 nothing, 1 ground, 2
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

import pkgutil
from typing import Any

import numpy as np
import pybullet as p
from gymnasium import spaces

from quadgym.envs.quad.sensors.camera_model import (  # noqa: F401 - re-exported
    IMAGE_PARTS,
    LIGHT,
    MAX_FAR,
    MAX_RAYS,
    MAX_SIDE,
    OBS_PARTS,
    RENDERERS,
    CameraModel,
    body_reach,
    parse_obs_type,
)
from quadgym.envs.quad.sim.dynamics import State, quat_to_rot
from quadgym.envs.quad.sim.scene import SEG_NOTHING


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
        """Segmentation ids (:mod:`~quadgym.envs.quad.sim.scene`) of Bullet body ids (-1:
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
