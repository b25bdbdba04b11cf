"""Pictures of what the onboard cameras see, next to the third-person view.

:class:`OnboardRecorder` films a flight in *panels*, one per recorded frame:
the third-person view (:class:`~quadgym.envs.quad.sensors.view.ThirdPerson`, with the
drones' trails and set-points) on top, and below it one row per drone of its
camera's rgb, depth and segmentation images side by side, each scaled up by a
whole factor to at least :data:`MIN_TILE` pixels wide. The panels stream into an
MP4 (imageio's ffmpeg, a dependency); a few, spread over the flight, make the
PNG strip (panels side by side, :data:`GAP` pixels apart).

Panel size, for ``n`` drones, images of W x H pixels scaled by s and P parts:
width P·W·s, height ¾·P·W·s (the third-person view) + n·(H·s + :data:`GAP`),
each rounded up to even (video encoders need even sides); a strip of F panels
is F·width + (F − 1)·:data:`GAP` wide. At the default 64x48, s = 2: 384 wide,
288 + n·98 tall.

Colours: where the camera hits nothing, every tile shows :data:`SKY` (a pale blue), so
the horizon reads at a glance (the rgb image a policy observes keeps TinyRenderer's white
there: only the picture is painted, where the segmentation says nothing was hit); depth
on a log scale from ``near`` (yellow) to ``far`` (dark blue); segmentation ids
(:mod:`quadgym.envs.quad.sim.scene`) as ground grey, target red, drone i its colour in
the third-person view and the plots (:data:`~quadgym.envs.quad.sensors.view.PALETTE`),
other bodies shades of green.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np

from quadgym.envs.quad.sensors.camera import IMAGE_PARTS, CameraModel, Cameras
from quadgym.envs.quad.sensors.view import PALETTE, ThirdPerson
from quadgym.envs.quad.sim.dynamics import State
from quadgym.envs.quad.sim.scene import SEG_DRONE, SEG_GROUND, SEG_NOTHING, SEG_TARGET

#: Smallest width of an onboard tile, pixels (images are scaled up by a whole factor).
MIN_TILE = 128
#: Pixels between the rows of a panel and between the panels of a strip (white).
GAP = 2
#: Frames per second of the MP4 by default.
FPS = 24
#: Colour of the sky (nothing hit) in every onboard tile (RGB, uint8).
SKY = np.array([186, 214, 240], np.uint8)


def tile_scale(model: CameraModel) -> int:
    """The whole factor that makes an onboard image at least :data:`MIN_TILE` wide."""
    return max(1, math.ceil(MIN_TILE / model.width))


def colour_depth(depth: np.ndarray, model: CameraModel) -> np.ndarray:
    """(H, W, 3) uint8 of depth images (H, W, 1) m: log scale from ``near`` (viridis'
    yellow) to ``far`` (its dark blue), :data:`SKY` where nothing is hit (depth = far)."""
    from matplotlib import colormaps

    d = np.asarray(depth, dtype=np.float64)[..., 0]
    t = np.log(np.clip(d, model.near, model.far) / model.near) / math.log(model.far / model.near)
    rgb = (colormaps["viridis_r"](t)[..., :3] * 255).round().astype(np.uint8)
    rgb[d >= model.far * (1 - 1e-3)] = SKY  # the z-buffer gives far within ~1e-5
    return rgb


def colour_seg(seg: np.ndarray, num_drones: int) -> np.ndarray:
    """(H, W, 3) uint8 of segmentation images (H, W, 1) of a world of ``num_drones``
    drones (see the module)."""
    ids = np.asarray(seg)[..., 0]
    top = max(int(ids.max()) + 1, SEG_DRONE + num_drones)
    lut = np.empty((top, 3), np.uint8)
    lut[SEG_NOTHING], lut[SEG_GROUND], lut[SEG_TARGET] = SKY, 150, (230, 25, 25)
    drones = np.arange(num_drones)
    lut[SEG_DRONE + drones] = PALETTE[drones % len(PALETTE)]
    greens = np.array([(40, 110, 50), (90, 160, 70), (30, 70, 40), (140, 190, 100)], np.uint8)
    others = np.arange(SEG_DRONE + num_drones, top)
    lut[others] = greens[(others - SEG_DRONE - num_drones) % len(greens)]
    return lut[ids]


@functools.cache
def _font() -> Any:
    """Pillow's default font at 13 pixels (loaded once)."""
    from PIL import ImageFont

    return ImageFont.load_default(13)


def label(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` with ``text`` in its top-left corner (white, black outline)."""
    from PIL import Image, ImageDraw

    pic = Image.fromarray(image)
    ImageDraw.Draw(pic).text(
        (3, 2),
        text,
        fill=(255, 255, 255),
        font=_font(),
        stroke_width=2,
        stroke_fill=(0, 0, 0),
    )
    return np.asarray(pic)


def _even(image: np.ndarray) -> np.ndarray:
    """``image`` padded with white to even height and width."""
    h, w = image.shape[:2]
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255)


def panel(
    third: np.ndarray, images: dict[str, np.ndarray], model: CameraModel, caption: str = ""
) -> np.ndarray:
    """One panel (see the module): the third-person image ``third`` over every drone's
    row of ``images`` {part: (n, H, W, C)} (in the order of :data:`IMAGE_PARTS`),
    ``caption`` in its corner, each tile labelled with its part (the first of a row with
    its drone too: ``drone 0: rgb``, ``depth``, ``seg``).

    Raises:
        ValueError: no image part, or ``third`` not as wide as a row of tiles.
    """
    s = tile_scale(model)
    parts = [x for x in IMAGE_PARTS if x in images]
    if not parts:
        raise ValueError(f"images must hold some of {IMAGE_PARTS}, got {sorted(images)}")
    if third.shape[1] != len(parts) * model.width * s:
        raise ValueError(
            f"the third-person image is {third.shape[1]} px wide; a row of {len(parts)} "
            f"tiles is {len(parts) * model.width * s} px"
        )
    n = len(images[parts[0]])
    rows = [label(third, caption) if caption else third]
    for i in range(n):
        tiles = []
        for k, part in enumerate(parts):
            img = images[part][i]
            if part == "rgb" and "seg" in images:  # the sky, white in what the policy sees
                img = np.where(images["seg"][i] == SEG_NOTHING, SKY, img).astype(np.uint8)
            elif part == "depth":
                img = colour_depth(img, model)
            elif part == "seg":
                img = colour_seg(img, n)
            tile = np.ascontiguousarray(np.repeat(np.repeat(img, s, axis=0), s, axis=1))
            tiles.append(label(tile, f"drone {i}: {part}" if k == 0 else part))
        row = np.concatenate(tiles, axis=1)
        rows += [np.full((GAP, row.shape[1], 3), 255, np.uint8), row]
    return _even(np.concatenate(rows, axis=0))


def strip(panels: list[np.ndarray]) -> np.ndarray:
    """``panels`` side by side, :data:`GAP` white pixels apart."""
    h = panels[0].shape[0]
    gap = np.full((h, GAP, 3), 255, np.uint8)
    out = [panels[0]]
    for pic in panels[1:]:
        out += [gap, pic]
    return np.concatenate(out, axis=1)


class Spread:
    """``k`` items of a stream of unknown length, spread evenly over it, in bounded
    memory: every ``stride``-th item is kept, the stride doubling (and every other
    kept item dropped) whenever more than 4k are held, and the last item; so each
    pick lies within stride/2 < count/(4k) items of an even spread."""

    def __init__(self, k: int) -> None:
        self.k, self.count, self.stride = k, 0, 1
        self.kept: list[tuple[int, Any]] = []  # (index in the stream, item)
        self.last: tuple[int, Any] | None = None

    def add(self, item: Any) -> None:
        """Offer the stream's next item."""
        if self.count % self.stride == 0:
            self.kept.append((self.count, item))
            if len(self.kept) > 4 * self.k:
                self.kept = self.kept[::2]
                self.stride *= 2
        self.last = (self.count, item)
        self.count += 1

    def pick(self, with_index: bool = False) -> list[Any]:
        """``k`` (or all, if fewer) items from the first to the last: for each of ``k``
        evenly spaced stream positions the kept item nearest to it (as (stream index,
        item) pairs if ``with_index``)."""
        kept = list(self.kept)
        if self.last is not None and (not kept or kept[-1][0] != self.last[0]):
            kept.append(self.last)
        index = np.array([i for i, _ in kept])
        wanted = np.linspace(0, index[-1], min(self.k, len(kept))) if kept else []
        chosen = np.unique([int(np.abs(index - w).argmin()) for w in wanted])
        out = [kept[c] for c in chosen]
        return out if with_index else [item for _, item in out]


class OnboardRecorder:
    """Records panels of the drones of ``world`` (a :class:`~quadgym.envs.quad.sim.world.
    World`) seen by cameras of ``model`` (rgb, depth and seg, TinyRenderer) and by a
    third-person camera; streams them to ``video`` (an MP4 path, or None) at ``fps``
    frames per second and keeps about ``frames`` of them, spread over the flight, for
    :meth:`strip`.

    Raises:
        ValueError: ``frames`` not an integer in [1, 100], ``fps`` not one in [1, 1000].
    """

    def __init__(
        self,
        world: Any,
        model: CameraModel,
        frames: int = 6,
        video: str | Path | None = None,
        fps: int = FPS,
    ) -> None:
        if not isinstance(frames, int | np.integer) or not 1 <= frames <= 100:
            raise ValueError(f"frames must be an integer in [1, 100], got {frames!r}")
        if not isinstance(fps, int | np.integer) or not 1 <= fps <= 1000:
            raise ValueError(f"fps must be an integer in [1, 1000], got {fps!r}")
        self.world, self.model, self.frames = world, model, int(frames)
        self.cameras = Cameras(world, model, IMAGE_PARTS, "tiny")
        width = len(IMAGE_PARTS) * model.width * tile_scale(model)
        self.third = ThirdPerson(width, width * 3 // 4)
        self._writer = None
        if video is not None:
            import imageio.v2 as imageio

            Path(video).parent.mkdir(parents=True, exist_ok=True)
            self._writer = imageio.get_writer(
                str(video), fps=int(fps), codec="libx264", macro_block_size=1
            )
        self._kept = Spread(self.frames)

    def record(self, state: State, time: float, set_points: np.ndarray | None = None) -> None:
        """Add the panel of the drones at ``state`` (their set-points ``set_points``
        (n, 3) m, if any), captioned with the flight ``time``, s."""
        third = self.third.render(self.world.client, state.pos, set_points)
        images = self.cameras.capture(state)
        pic = panel(third, images, self.model, f"t = {time:.2f} s")
        if self._writer is not None:
            self._writer.append_data(pic)
        self._kept.add(pic)

    @property
    def recorded(self) -> int:
        """Panels recorded so far."""
        return self._kept.count

    def strip(self) -> np.ndarray:
        """``frames`` of the kept panels (fewer if fewer were recorded), evenly spread
        from the first to the last recorded, side by side.

        Raises:
            RuntimeError: nothing was recorded.
        """
        if not self._kept.count:
            raise RuntimeError("no panel recorded: call record() first")
        return strip(self._kept.pick())

    def close(self) -> None:
        """Finish the MP4 (again does nothing)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def write_strip(self, path: str | Path) -> Path:
        """Write :meth:`strip` as a PNG to ``path``; returns the path."""
        import imageio.v2 as imageio

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        imageio.imwrite(path, self.strip())
        return path
