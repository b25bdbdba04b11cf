"""The scene the cameras look at: a gridded ground, obstacles and a visual target.

Every body here is loaded once per world and moved by a seeded reset, as the gates
of QuadGates-v0 are (:meth:`World.add_body <quadgym.envs.quad.sim.world.World.add_body>`
and :meth:`World.place <quadgym.envs.quad.sim.world.World.place>`).

* **Ground**: the world's collision plane, drawn as one textured quad of
  ``2 × GROUND_HALF`` m a side (two triangles: TinyRenderer's cost grows with
  triangles and pixels, not with the texture's repeats). The texture is a
  checker of 0.5 m tiles in two light greys with a darker line every metre
  (16 texels per metre), so heights and motion can be read off an image.
* **Obstacles** (:func:`parse_obstacles`): an explicit list of boxes and
  cylinders standing where they are given, or a named preset
  (:data:`OBSTACLE_PRESETS`) whose bodies a reset places anew around the start.
* **Target**: a red sphere (:func:`add_target`) that collides with nothing
  (its collision shape exists so that ray casts see it; Bullet's pair filter
  keeps the drones flying through it).

Segmentation ids (:data:`SEG_NOTHING`, ...): 0 nothing (sky, or beyond the far
plane), 1 the ground, 2 the target, 3 + i drone i, then ``3 + num_drones + j``
the j-th other scene body in the order it was added (obstacles, gates, pillars).
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Half the side of the ground's picture, m (its collision plane is infinite).
GROUND_HALF = 50.0
#: Texels of the ground texture per metre (one texture repeat per metre).
TEXELS_PER_METRE = 16
#: Segmentation id of nothing (sky, or beyond the far plane).
SEG_NOTHING = 0
#: Segmentation id of the ground.
SEG_GROUND = 1
#: Segmentation id of the visual target.
SEG_TARGET = 2
#: Segmentation id of drone 0 (drone i is ``SEG_DRONE + i``).
SEG_DRONE = 3

#: Colour of the target sphere (RGBA).
TARGET_RGBA = (0.9, 0.1, 0.1, 1.0)
#: Colour of the obstacles (RGBA).
OBSTACLE_RGBA = (0.2, 0.55, 0.25, 1.0)

#: Obstacle kinds and what their ``size`` holds, m.
OBSTACLE_KINDS = {"box": "half extents (x, y, z)", "cylinder": "(radius, half height)"}

#: Named obstacle sets: (count, kind, size) placed by each reset at a seeded bearing
#: around the start, between ``ring[0]`` and ``ring[1]`` m from it, standing on the ground.
OBSTACLE_PRESETS: dict[str, dict[str, Any]] = {
    "pillars": {"count": 4, "kind": "cylinder", "size": (0.08, 1.0), "ring": (2.0, 3.5)},
    "boxes": {"count": 4, "kind": "box", "size": (0.25, 0.25, 0.4), "ring": (2.0, 3.5)},
}


def _png(pixels: np.ndarray) -> bytes:
    """``pixels`` (h, w, 3) uint8 as PNG bytes (no dependency beyond zlib)."""
    h, w, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def ground_texture_pixels() -> np.ndarray:
    """(16, 16, 3) uint8: one metre of ground, a checker of 0.5 m tiles (205 and 170
    grey) with a 110-grey line along the metre's first texel row and column."""
    t = np.full((TEXELS_PER_METRE, TEXELS_PER_METRE, 3), 205, np.uint8)
    half = TEXELS_PER_METRE // 2
    t[:half, :half] = 170
    t[half:, half:] = 170
    t[0, :] = 110
    t[:, 0] = 110
    return t


def ground_texture_file() -> str:
    """Path of the ground texture as a PNG (PyBullet loads textures from files only),
    written once into the temporary directory, atomically, named by its content."""
    data = _png(ground_texture_pixels())
    path = os.path.join(tempfile.gettempdir(), f"quadgym-ground-{zlib.crc32(data):08x}.png")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".png")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return path


def sphere_mesh(radius: float, subdivisions: int = 2) -> tuple[list, list, list]:
    """An icosphere of ``radius`` m: (vertices, triangle indices, unit normals). Its
    vertices lie on the sphere and its faces at most 1.8 % of the radius inside it
    (2 subdivisions, 320 triangles: 0.36 % of the depth of a 0.1 m sphere seen from
    0.5 m), so TinyRenderer draws what a ray cast against the exact sphere sees
    (PyBullet's own sphere visual is ~10 % of the radius off). A third subdivision
    (0.45 %) cost ~12 % of the frame rate of QuadVisualReach-v0's camera."""
    t = (1 + math.sqrt(5)) / 2
    verts = [
        *([-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0]),
        *([0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t]),
        *([t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]),
    ]
    faces = [
        *((0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11)),
        *((1, 5, 9), (5, 11, 4), (11, 10, 2), (10, 7, 6), (7, 1, 8)),
        *((3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9)),
        *((4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)),
    ]
    pts = [np.array(v, dtype=float) / np.linalg.norm(v) for v in verts]
    middle: dict[tuple[int, int], int] = {}  # edge -> its midpoint (an edge splits once)

    def mid(a: int, b: int) -> int:
        key = (min(a, b), max(a, b))
        if key not in middle:
            m = pts[a] + pts[b]
            pts.append(m / np.linalg.norm(m))
            middle[key] = len(pts) - 1
        return middle[key]

    for _ in range(subdivisions):
        faces = [
            tri
            for a, b, c in faces
            for tri in (
                (a, mid(a, b), mid(c, a)),
                (b, mid(b, c), mid(a, b)),
                (c, mid(c, a), mid(b, c)),
                (mid(a, b), mid(b, c), mid(c, a)),
            )
        ]
    unit = np.array(pts)
    return (unit * radius).tolist(), [i for f in faces for i in f], unit.tolist()


def cylinder_mesh(radius: float, half: float, segments: int = 48) -> tuple[list, list, list]:
    """A cylinder of ``radius`` m from z = −``half`` to +``half`` m about its centre:
    (vertices, triangle indices, unit normals); 48 sides put its flat faces within
    0.22 % of the radius (1 − cos(π/48)) of the round surface a ray cast sees."""
    ang = 2 * np.pi * np.arange(segments) / segments
    ring = np.c_[np.cos(ang), np.sin(ang), np.zeros(segments)]
    verts, normals, idx = [], [], []
    for z in (-half, half):  # the side: rings of radial normals
        verts += (ring * [radius, radius, 0] + [0, 0, z]).tolist()
        normals += ring.tolist()
    for k in range(segments):
        j = (k + 1) % segments
        idx += [k, j, segments + j, k, segments + j, segments + k]
    for z, sign in ((-half, -1.0), (half, 1.0)):  # the caps: a fan around the centre
        base = len(verts)
        verts += [[0.0, 0.0, z]] + (ring * [radius, radius, 0] + [0, 0, z]).tolist()
        normals += [[0.0, 0.0, sign]] * (segments + 1)
        for k in range(segments):
            a, b = base + 1 + k, base + 1 + (k + 1) % segments
            idx += [base, a, b] if sign > 0 else [base, b, a]
    return verts, idx, normals


def mesh(kind: str, size: tuple[float, ...]) -> tuple[list, list, list]:
    """The fine visual mesh of a round shape: ``"sphere"`` (radius,) or ``"cylinder"``
    (radius, half length), m."""
    return sphere_mesh(size[0]) if kind == "sphere" else cylinder_mesh(size[0], size[1])


#: Shapes of scene bodies, and how many numbers each one's size holds, m.
SHAPES = {"box": 3, "cylinder": 2, "sphere": 1}


@dataclass(frozen=True)
class Obstacle:
    """One obstacle: ``kind`` ("box" or "cylinder"), ``size`` (box: half extents (3,);
    cylinder: radius and half height, m) and the centre of its base on the ground
    ``at`` (x, y), m (it stands on the ground)."""

    kind: str
    size: tuple[float, ...]
    at: tuple[float, float]

    @property
    def height(self) -> float:
        """Half its height, m (the centre's height above the ground)."""
        return self.size[-1]


def _obstacle(value: Any, index: int) -> Obstacle:
    """One entry of an obstacle list, checked."""
    where = f"obstacles[{index}]"
    if isinstance(value, Obstacle):
        value = (value.kind, value.size, value.at)
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise ValueError(
            f"{where} must be (kind, size, (x, y)) with kind in {tuple(OBSTACLE_KINDS)}, "
            f"got {value!r}"
        )
    kind, size, at = value
    if kind not in OBSTACLE_KINDS:
        raise ValueError(f"{where}: unknown kind {kind!r}; allowed: {tuple(OBSTACLE_KINDS)}")
    try:
        size = tuple(float(s) for s in size)
        at = tuple(float(a) for a in at)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: size and (x, y) must be numbers, got {value!r}") from None
    want = 3 if kind == "box" else 2
    if len(size) != want or len(at) != 2:
        raise ValueError(
            f"{where}: a {kind} takes size = {OBSTACLE_KINDS[kind]} and at = (x, y), m; "
            f"got size {size!r}, at {at!r}"
        )
    if not all(math.isfinite(s) and 0.0 < s <= 100.0 for s in size):
        raise ValueError(f"{where}: sizes must be in (0, 100] m, got {size!r}")
    if not all(math.isfinite(a) and abs(a) <= 1e4 for a in at):
        raise ValueError(f"{where}: (x, y) must be finite within ±1e4 m, got {at!r}")
    return Obstacle(kind, size, at)


def parse_obstacles(name: str, value: Any) -> str | tuple | None:
    """``obstacles`` in normal form: None (none), a preset name of
    :data:`OBSTACLE_PRESETS`, or a tuple of (kind, size, (x, y)) entries.

    Raises:
        ValueError: an unknown preset or kind, a wrong size or position (naming the entry).
        TypeError: entries that are not numbers.
    """
    if value is None or value == ():
        return None
    if isinstance(value, str):
        if value not in OBSTACLE_PRESETS:
            raise ValueError(
                f"unknown {name} preset {value!r}; allowed: "
                f"{', '.join(map(repr, OBSTACLE_PRESETS))}, None, or a list of "
                "(kind, size, (x, y))"
            )
        return value
    if not isinstance(value, list | tuple):
        raise TypeError(f"{name} must be None, a preset name or a list, got {value!r}")
    return tuple((o.kind, o.size, o.at) for o in (_obstacle(v, i) for i, v in enumerate(value)))


def _shape(kind: str, size: tuple[float, ...]) -> tuple:
    """A :meth:`World.add_body` shape of an obstacle, its base at the body's origin."""
    return (kind, size, (0.0, 0.0, size[-1]))


class Scene:
    """The obstacles of ``obstacles`` (as :func:`parse_obstacles` returns it) in a
    world: loaded by the constructor (once), placed by :meth:`reset`."""

    def __init__(self, world: Any, obstacles: str | tuple | None) -> None:
        self.world = world
        self.obstacles = obstacles
        self.preset = OBSTACLE_PRESETS.get(obstacles) if isinstance(obstacles, str) else None
        self.fixed: tuple = () if self.preset or obstacles is None else obstacles
        if self.preset:
            shape = _shape(self.preset["kind"], self.preset["size"])
            self.bodies = [
                world.add_body([shape], OBSTACLE_RGBA) for _ in range(self.preset["count"])
            ]
        else:
            self.bodies = [world.add_body([_shape(k, s)], OBSTACLE_RGBA) for k, s, _ in self.fixed]
            for body, (_, _, at) in zip(self.bodies, self.fixed, strict=True):
                world.place(body, np.array([at[0], at[1], 0.0]))

    def reset(self, rng: np.random.Generator, origin: np.ndarray, heading: float) -> None:
        """Place a preset's obstacles: each at a seeded distance from ``origin`` (3,)
        within the preset's ring, at a bearing drawn from ``heading`` (rad) + 60° to
        300° (never straight ahead, where a visual target is drawn). Fixed obstacles
        stay where they stand; no draws are made then."""
        if not self.preset:
            return
        low, high = self.preset["ring"]
        for body in self.bodies:
            bearing = heading + rng.uniform(math.pi / 3, 5 * math.pi / 3)
            dist = rng.uniform(low, high)
            xy = origin[:2] + dist * np.array([math.cos(bearing), math.sin(bearing)])
            self.world.place(body, np.array([xy[0], xy[1], 0.0]))


def add_target(world: Any, radius: float) -> int:
    """The visual target: a sphere of ``radius`` m, red, segmentation id
    :data:`SEG_TARGET`, colliding with nothing (ray casts still see it); returns its
    body id. Place it with ``world.place``."""
    return world.add_body(
        [("sphere", (radius,), (0.0, 0.0, 0.0))], TARGET_RGBA, collide=False, label=SEG_TARGET
    )
