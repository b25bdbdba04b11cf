"""The third-person camera of videos: it frames the drones and draws their trails.

:class:`World.render <quadgym.envs.quad.sim.world.World.render>` and the onboard
recorder (:mod:`quadgym.envs.quad.sensors.pictures`) film a flight through a
:class:`ThirdPerson` camera. A viewer should be able to tell where every drone
is, how high, where it has been and where it is asked to go:

* **Framing** (:func:`frame`, :class:`ThirdPerson`): the camera looks at the
  middle of the bounding box of the drones, the feet of their drop lines on the
  ground, their set-points and any other point to keep in view, from a fixed yaw
  and pitch, from the distance at which the smallest sphere
  about that middle holding every point, plus :data:`PAD` m, fills
  :data:`FILL` of the smaller half field of view. A sphere seen within the
  view cone lies inside the image, so every drone is in the picture. Between
  frames of a video the aim point follows the drones smoothly and the camera
  backs off at once but closes in slowly; the distance is never below what the
  current points need, and the far plane lies beyond twice the distance.
* **Overlays**, drawn in NumPy on the rendered image (PyBullet's debug lines do
  not show in ``getCameraImage``'s TinyRenderer): a ring around each drone in
  its colour (:func:`drone_colour`, the colour of drone i in the plots), its
  recent path (the last ``trail`` frames, fading), a line dropped to the ground
  ending in a 5 cm circle on it (its height, read against the ground's 0.5 m
  checker), and its set-point as a 10 cm cross. World points are projected with
  the camera's own OpenGL matrices (:meth:`Shot.project`) and hidden where the
  rendered depth shows something in front of them (trails behind an obstacle).

Cost (one core of this 2-core machine, shared, load 8-12): the render is
TinyRenderer's, ~35-60 ms at 320x240 and ~100-200 ms at 640x480 with the
ground filling the picture; the overlays of 4 drones add ~12 ms at 640x480
(measured by timing :meth:`Shot.render` and :func:`draw_overlays` apart).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pybullet as p
from numpy.typing import ArrayLike

from quadgym.envs.quad.sensors.camera_model import MAX_VIDEO_SIDE, VIDEO_HEIGHT, VIDEO_WIDTH

#: Drone colours (RGB, uint8): matplotlib's tab10 without its red, which is the
#: visual target's; drone i has colour ``i % 9``.
PALETTE = np.array(
    [
        [int(h[k : k + 2], 16) for k in (0, 2, 4)]
        for h in "1f77b4 ff7f0e 2ca02c 9467bd 8c564b e377c2 7f7f7f bcbd22 17becf".split()
    ],
    dtype=np.uint8,
)
#: Fraction of the smaller half field of view the framed points fill.
FILL = 0.9
#: Margin added to the radius of the framed points, m (a drone's size and more).
PAD = 0.15
#: Smallest framed radius, m (one drone is not filmed from a few centimetres).
MIN_RADIUS = 0.5
#: Fraction of the way the aim point and a closing-in distance move per frame.
SMOOTHING = 0.2
#: Frames of each drone's trail.
TRAIL = 48
#: Clipping planes of the third-person camera, m.
NEAR, FAR = 0.05, 100.0
#: Light direction of the third-person render (the onboard cameras' light).
LIGHT = (0.4, 0.3, 1.0)
#: A point is drawn unless the rendered depth is nearer than its own by this much, m.
DEPTH_SLACK = 0.05


def as_points(name: str, value: object, count: int | None = None) -> np.ndarray:
    """``value`` as a (k, 3) float array of finite points, m (``count`` rows if given).

    Raises:
        ValueError: not numbers of that shape, or not finite (naming ``name``).
    """
    try:
        pts = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be points (k, 3), m, got {value!r}") from None
    shape = pts.shape
    if pts.ndim == 1:
        pts = pts[None]
    rows = pts.shape[0] if pts.ndim == 2 else -1
    if pts.ndim != 2 or pts.shape[1] != 3 or (count is not None and rows != count):
        want = f"({count}, 3)" if count is not None else "(k, 3)"
        raise ValueError(f"{name} must be {want} points, m, got shape {shape}")
    if not np.isfinite(pts).all():
        raise ValueError(f"{name} must be finite, got {value!r}")
    return pts


def drone_colour(i: int) -> tuple[float, float, float]:
    """Drone ``i``'s colour as matplotlib takes it (RGB in [0, 1])."""
    return tuple(float(c) / 255 for c in PALETTE[i % len(PALETTE)])


@dataclass(frozen=True)
class Shot:
    """One third-person camera: it looks at ``target`` (3,) m from ``distance`` m,
    turned ``yaw`` degrees about z and ``pitch`` degrees about the horizontal
    (negative: from above), with a vertical field of view of ``fov`` degrees onto a
    ``width`` x ``height`` pixel image; it sees from :data:`NEAR` to ``far`` m."""

    target: tuple[float, float, float]
    distance: float
    yaw: float = 30.0
    pitch: float = -35.0
    fov: float = 50.0
    width: int = VIDEO_WIDTH
    height: int = VIDEO_HEIGHT
    far: float = FAR

    @cached_property
    def matrices(self) -> tuple[list[float], list[float]]:
        """The view and projection matrices as ``getCameraImage`` takes them (16 each,
        column-major), computed by PyBullet."""
        view = p.computeViewMatrixFromYawPitchRoll(
            list(self.target), self.distance, self.yaw, self.pitch, 0.0, 2
        )
        proj = p.computeProjectionMatrixFOV(self.fov, self.width / self.height, NEAR, self.far)
        return list(view), list(proj)

    @cached_property
    def _transform(self) -> np.ndarray:
        """(4, 4) projection @ view, row-major: world -> clip coordinates."""
        view, proj = (np.array(m).reshape(4, 4).T for m in self.matrices)
        return proj @ view

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image positions and depths of world ``points`` (k, 3), m: (k, 2) float
        (column, row) in pixels, pixel (r, c) covering [c, c + 1) x [r, r + 1), and
        (k,) depth along the optical axis, m (not positive: behind the camera)."""
        pts = np.asarray(points, dtype=float).reshape(-1, 3)
        clip = pts @ self._transform[:, :3].T + self._transform[:, 3]
        w = clip[:, 3]
        safe = np.where(np.abs(w) > 1e-12, w, 1e-12)
        col = (clip[:, 0] / safe + 1) * self.width / 2
        row = (1 - clip[:, 1] / safe) * self.height / 2
        return np.c_[col, row], w

    def render(self, client: int) -> tuple[np.ndarray, np.ndarray]:
        """The (height, width, 3) uint8 image through TinyRenderer in PyBullet client
        ``client``, and its (height, width) depth along the optical axis, m."""
        view, proj = self.matrices
        _, _, rgba, zbuf, _ = p.getCameraImage(
            self.width,
            self.height,
            view,
            proj,
            lightDirection=LIGHT,
            shadow=0,
            flags=p.ER_NO_SEGMENTATION_MASK,
            renderer=p.ER_TINY_RENDERER,
            physicsClientId=client,
        )
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(self.height, self.width, 4)[:, :, :3]
        z = np.asarray(zbuf, dtype=np.float64).reshape(self.height, self.width)
        depth = self.far * NEAR / (self.far - (self.far - NEAR) * z)
        return rgb.copy(), depth


def half_fov(fov: float, aspect: float) -> float:
    """The smaller of the vertical and horizontal half fields of view, rad, of a
    vertical field of view ``fov`` degrees and an image ``aspect`` (width/height)."""
    v = math.radians(fov) / 2
    return min(v, math.atan(math.tan(v) * aspect))


def frame(
    points: np.ndarray,
    fov: float = 50.0,
    aspect: float = 4 / 3,
    centre: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """(aim point (3,), distance m) that shows every one of ``points`` (k, 3), m:
    the sphere about ``centre`` (default: the middle of their bounding box) holding
    them all, its radius plus :data:`PAD` (at least :data:`MIN_RADIUS`), fills
    :data:`FILL` of the smaller half field of view (see the module)."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    if centre is None:
        centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
    radius = max(MIN_RADIUS, float(np.linalg.norm(pts - centre, axis=1).max()) + PAD)
    return np.asarray(centre, dtype=float), radius / math.sin(FILL * half_fov(fov, aspect))


class ThirdPerson:
    """A camera that follows the drones from frame to frame and draws their trails,
    drop lines and set-points (see the module). :meth:`reset` at a new episode."""

    def __init__(
        self,
        width: int = VIDEO_WIDTH,
        height: int = VIDEO_HEIGHT,
        yaw: float = 30.0,
        pitch: float = -35.0,
        fov: float = 50.0,
        trail: int = TRAIL,
    ) -> None:
        for name, v in (("width", width), ("height", height), ("trail", trail)):
            if not isinstance(v, int | np.integer) or not 1 <= v <= MAX_VIDEO_SIDE:
                raise ValueError(f"{name} must be an integer in [1, {MAX_VIDEO_SIDE}], got {v!r}")
        for name, v in (("yaw", yaw), ("pitch", pitch)):
            if not math.isfinite(v):
                raise ValueError(f"{name} must be finite (degrees), got {v!r}")
        if not -89.0 <= pitch <= 0.0:
            raise ValueError(f"pitch must be in [-89, 0] degrees (from above), got {pitch!r}")
        if not (math.isfinite(fov) and 0.0 < fov < 180.0):
            raise ValueError(f"fov must be in (0, 180) degrees, got {fov!r}")
        self.width, self.height, self.yaw, self.pitch, self.fov = width, height, yaw, pitch, fov
        self.trails: deque[np.ndarray] = deque(maxlen=int(trail))
        self._aim: np.ndarray | None = None
        self._distance = 0.0

    def reset(self) -> None:
        """Forget the trails and the smoothed aim (a new episode starts elsewhere)."""
        self.trails.clear()
        self._aim = None

    def follow(self, points: np.ndarray) -> Shot:
        """The shot of the next frame showing every one of ``points`` (k, 3), m: the aim
        moves :data:`SMOOTHING` of the way to their middle, the distance backs off at
        once and closes in by :data:`SMOOTHING` of the way (see the module)."""
        pts = np.asarray(points, dtype=float).reshape(-1, 3)
        middle, _ = frame(pts, self.fov, self.width / self.height)
        first = self._aim is None
        self._aim = middle if first else self._aim + SMOOTHING * (middle - self._aim)
        _, need = frame(pts, self.fov, self.width / self.height, centre=self._aim)
        if first or need >= self._distance:
            self._distance = need
        else:
            self._distance += SMOOTHING * (need - self._distance)
        return self.shot(self._aim, self._distance)

    def shot(self, target: np.ndarray, distance: float) -> Shot:
        """This camera's shot at ``target`` (3,) from ``distance`` m."""
        return Shot(
            tuple(float(x) for x in target),
            float(distance),
            self.yaw,
            self.pitch,
            self.fov,
            self.width,
            self.height,
            max(FAR, 2 * float(distance)),
        )

    def render(
        self,
        client: int,
        pos: np.ndarray,
        set_points: np.ndarray | None = None,
        include: np.ndarray | None = None,
        fixed: tuple[np.ndarray, float] | None = None,
    ) -> np.ndarray:
        """The (height, width, 3) uint8 frame of the drones at ``pos`` (n, 3), m, in
        PyBullet client ``client``, with their set-points ``set_points`` (n, 3) if
        given. The camera frames the drones, the set-points and ``include`` (k, 3),
        or looks at ``fixed`` = (aim point, distance) if given. Each call adds a
        point to every drone's trail.

        Raises:
            ValueError: points of the wrong shape or not finite.
        """
        pos = as_points("pos", pos)
        if set_points is not None:
            set_points = as_points("set_points", set_points, len(pos))
        if include is not None:
            include = as_points("include", include)
        if self.trails and self.trails[-1].shape != pos.shape:
            self.trails.clear()  # another swarm: start again
        self.trails.append(pos.copy())
        if fixed is not None:
            shot = self.shot(np.asarray(fixed[0], dtype=float), float(fixed[1]))
        else:
            extra = [x for x in (set_points, include) if x is not None]
            ground = pos * [1.0, 1.0, 0.0]  # where the drop lines end
            shot = self.follow(np.concatenate([pos, ground, *extra]))
        image, depth = shot.render(client)
        return draw_overlays(image, depth, shot, np.array(self.trails), set_points)


# --------------------------------------------------------------- drawing


def draw_overlays(
    image: np.ndarray,
    depth: np.ndarray,
    shot: Shot,
    trails: np.ndarray,
    set_points: np.ndarray | None = None,
) -> np.ndarray:
    """``image`` with, per drone i of ``trails`` (frames, n, 3) (oldest first, the
    last row now): its trail, drop line, ground circle, set-point cross
    (``set_points`` (n, 3), if given) and ring, in :func:`drone_colour` i (see the
    module). ``depth`` (H, W) m is the render's, for hiding what lies behind."""
    out = image.astype(np.float32)
    frames, n = trails.shape[:2]
    ring = np.linspace(0, 2 * np.pi, 25)
    circle = 0.05 * np.c_[np.cos(ring), np.sin(ring), np.zeros_like(ring)]
    cross = 0.05 * np.array([[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]])
    fade = np.linspace(0.15, 0.9, max(frames - 1, 1))  # older trail segments fainter
    for i in range(n):
        colour = PALETTE[i % len(PALETTE)].astype(np.float32)
        now = trails[-1, i]
        ground = now * [1.0, 1.0, 0.0]
        # thin: the drop line and the circle on the ground
        feet = ground + circle
        starts, ends = np.r_[[now], feet[:-1]], np.r_[[ground], feet[1:]]
        alpha = np.r_[0.5, np.full(len(feet) - 1, 0.8)]
        draw_segments(out, depth, shot, starts, ends, colour, alpha, 1)
        # thick: the trail and the set-point's cross
        starts, ends, alpha = trails[:-1, i], trails[1:, i], fade[: frames - 1]
        if set_points is not None:
            sp = np.asarray(set_points, dtype=float).reshape(-1, 3)[i]
            starts, ends = np.r_[starts, sp + cross[0::2]], np.r_[ends, sp + cross[1::2]]
            alpha = np.r_[alpha, np.ones(3)]
        if len(starts):
            draw_segments(out, depth, shot, starts, ends, colour, alpha, 2)
        _ring(out, shot, now, colour)
    return np.clip(out, 0, 255).astype(np.uint8)


def _splat(
    out: np.ndarray,
    col: np.ndarray,
    row: np.ndarray,
    colour: np.ndarray,
    alpha: float | np.ndarray,
    width: int,
) -> None:
    """Blend ``colour`` with weight ``alpha`` (one, or one per point) into the pixels
    at (``row``, ``col``) (floats), ``width`` pixels wide; a pixel hit twice takes one
    of its weights."""
    h, w = out.shape[:2]
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float32), np.shape(col))
    r0, c0 = np.floor(row).astype(int), np.floor(col).astype(int)
    offsets = [(dr, dc) for dr in range(width) for dc in range(width)]
    rows = np.concatenate([r0 + dr for dr, _ in offsets])
    cols = np.concatenate([c0 + dc for _, dc in offsets])
    weight = np.tile(alpha, len(offsets))
    ok = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    flat, first = np.unique(rows[ok] * w + cols[ok], return_index=True)
    a = weight[ok][first][:, None]
    pixels = out.reshape(-1, 3)
    pixels[flat] = (1 - a) * pixels[flat] + a * colour


def draw_line(
    out: np.ndarray,
    depth: np.ndarray,
    shot: Shot,
    points: np.ndarray,
    colour: np.ndarray,
    alpha: float | np.ndarray,
    width: int,
) -> None:
    """The polyline through world ``points`` (k, 3), m (see :func:`draw_segments`)."""
    draw_segments(out, depth, shot, points[:-1], points[1:], colour, alpha, width)


def draw_segments(
    out: np.ndarray,
    depth: np.ndarray,
    shot: Shot,
    starts: np.ndarray,
    ends: np.ndarray,
    colour: np.ndarray,
    alpha: float | np.ndarray,
    width: int,
) -> None:
    """Blend into ``out`` (H, W, 3) float the world segments ``starts`` -> ``ends`` (k, 3),
    m, weight ``alpha`` (one, or one per segment), ``width`` pixels wide: each sampled
    about every half pixel along its length in space (so perspective-correct), drawn
    where nothing in ``depth`` (H, W), m, lies more than :data:`DEPTH_SLACK` in front.
    Segments reaching behind the camera are left out."""
    starts, ends = np.asarray(starts, float), np.asarray(ends, float)
    a, za = shot.project(starts)
    b, zb = shot.project(ends)
    front = (za > NEAR) & (zb > NEAR)
    weight = np.broadcast_to(np.asarray(alpha, dtype=np.float32), (len(starts),))[front]
    starts, ends, a, b = starts[front], ends[front], a[front], b[front]
    count = np.minimum((np.linalg.norm(b - a, axis=1) * 2).astype(int) + 2, 4096)
    k = np.repeat(np.arange(len(count)), count)
    first = np.cumsum(count) - count
    t = (np.arange(len(k)) - first[k]) / (count[k] - 1)
    xy, z = shot.project(starts[k] + t[:, None] * (ends[k] - starts[k]))
    h, w = depth.shape
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    xy, z, weight = xy[inside], z[inside], weight[k[inside]]
    seen = z <= depth[xy[:, 1].astype(int), xy[:, 0].astype(int)] + DEPTH_SLACK
    _splat(out, xy[seen, 0], xy[seen, 1], colour, weight[seen], width)


def _ring(out: np.ndarray, shot: Shot, centre: np.ndarray, colour: np.ndarray) -> None:
    """A ring around world point ``centre`` (3,), m: 0.1 m or 7 pixels in radius,
    whichever is larger; drawn over everything (a drone is never hidden)."""
    (c, r), z = (a[0] for a in shot.project(centre[None]))
    if z <= NEAR:
        return
    metre = shot.height / (2 * math.tan(math.radians(shot.fov) / 2) * z)  # pixels per m at z
    radius = max(7.0, 0.1 * metre)
    ang = np.linspace(0, 2 * np.pi, max(int(4 * np.pi * radius), 16))
    _splat(out, c + radius * np.cos(ang), r + radius * np.sin(ang), colour, 1.0, 2)


class WorldCamera:
    """The third-person video camera of a :class:`~quadgym.envs.quad.sim.world.World`: a
    sensor that films the world from outside it (the world itself renders nothing). Its
    :class:`ThirdPerson` is made at the first :meth:`render` and remade when the size or
    angles change; its trails start anew whenever the world was reset since the last frame.
    """

    def __init__(self, world: Any) -> None:
        self.world = world
        self._view: ThirdPerson | None = None
        self._episode = world.episodes

    def render(
        self,
        width: int = VIDEO_WIDTH,
        height: int = VIDEO_HEIGHT,
        target: ArrayLike | None = None,
        distance: float | None = None,
        yaw: float = 30.0,
        pitch: float = -35.0,
        fov: float = 50.0,
        set_points: ArrayLike | None = None,
    ) -> np.ndarray:
        """An RGB image (height, width, 3) uint8 from a third-person camera, headless
        (:class:`ThirdPerson`): it frames the drones, their
        ``set_points`` (n, 3) m if given and ``target`` (3,) m if given, following them
        from call to call; with ``distance`` (m) it looks at ``target`` (default
        (0, 0, 0.5)) from there instead. Drawn over the picture: each drone's ring,
        trail (the positions of the last calls since :meth:`reset`), drop line to the
        ground and set-point cross. ``yaw``, ``pitch``, ``fov``: degrees.

        Raises:
            RuntimeError: the world is closed.
            ValueError: a size, angle or distance out of range.
        """
        world = self.world
        world._check_open()
        if world.episodes != self._episode:  # a new episode: no trail from the last one
            self._episode = world.episodes
            if self._view is not None:
                self._view.reset()
        if distance is not None and not (math.isfinite(distance) and 0.0 < distance <= 1e4):
            raise ValueError(f"distance must be in (0, 1e4] m, got {distance!r}")
        view = self._view
        wanted = (width, height, yaw, pitch, fov)
        if view is None or (view.width, view.height, view.yaw, view.pitch, view.fov) != wanted:
            view = self._view = ThirdPerson(width, height, yaw, pitch, fov)
        world.sync_bullet()
        include = None if target is None else as_points("target", target, 1)
        fixed = None
        if distance is not None:
            fixed = (np.array([0.0, 0.0, 0.5]) if include is None else include[0], distance)
        return view.render(world.client, world.get_state().pos, set_points, include, fixed)
