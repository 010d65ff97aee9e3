"""The pixel grid an anatomy is painted on, and how shapes become partial-volume pixels.

A :class:`Canvas` maps every pixel to body coordinates (the pose: scale, rotation, shift) and
composites tissues one over another, each blended by how much of the pixel its shape covers.
Shapes are evaluated only inside their pixel windows, and small shapes in batches
(:meth:`Canvas.paint_shapes`): an image holds over a hundred shapes, most of them small.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from .anatomy import Pose
from .contrast import TISSUE_INDEX
from .shapes import Blob, Shape, Tube, blobs_sd, tubes_sd

PARTIAL_VOLUME_PX = 1.6  # width of the partial-volume ramp across organ boundaries, in pixels
_FAR = np.float32(1e3)  # signed distance of "far outside every shape"

Window = tuple[slice, slice]  # (rows, columns) of the pixels a shape can touch


@lru_cache(maxsize=8)
def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre row and column coordinates, shared by every rendering of one size."""
    rows = np.arange(size, dtype=np.float32)[:, None] + np.float32(0.5)
    cols = np.arange(size, dtype=np.float32)[None, :] + np.float32(0.5)
    return rows, cols


class Canvas:
    """One rendering's pixel grid: body coordinates of every pixel and the tissue composite.

    ``layers`` holds the three sequence intensities plus the local texture amplitude; painting
    a tissue blends it over what lies beneath by its partial-volume fraction.
    """

    def __init__(self, pose: Pose, size: int, tissue: np.ndarray) -> None:
        self.size = size
        self.tissue = tissue  # (4, len(TISSUE_NAMES)): three sequences and the texture amplitude
        self.scale = pose.fill * size / 2  # pixels per body unit
        self.px = np.float32(1.0 / self.scale)  # body units per pixel
        self.cos, self.sin = math.cos(pose.angle), math.sin(pose.angle)
        self.cx, self.cy = size / 2 * (1 + pose.shift_x), size / 2 * (1 + pose.shift_y)
        rows, cols = _pixel_grid(size)
        dc = (cols - np.float32(self.cx)) * self.px
        dr = (rows - np.float32(self.cy)) * self.px
        self.x = dc * np.float32(self.cos) + dr * np.float32(self.sin)
        self.y = dr * np.float32(self.cos) - dc * np.float32(self.sin)
        self.layers = np.zeros((4, size, size), dtype=np.float32)

    def window(self, shape: Shape, pad: float = 0.0) -> Window | None:
        """The pixel window covering a shape's bounding box plus ``pad`` (None when off-image)."""
        x0, x1, y0, y1 = shape.bbox
        pad += 2 * float(self.px)
        mx, my, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 + pad, (y1 - y0) / 2 + pad
        col = self.cx + self.scale * (mx * self.cos - my * self.sin)  # plain floats: called often
        row = self.cy + self.scale * (mx * self.sin + my * self.cos)
        c, s = abs(self.cos), abs(self.sin)
        half_c, half_r = self.scale * (hx * c + hy * s), self.scale * (hx * s + hy * c)
        r0, r1 = max(int(row - half_r), 0), min(math.ceil(row + half_r), self.size)
        c0, c1 = max(int(col - half_c), 0), min(math.ceil(col + half_c), self.size)
        return (slice(r0, r1), slice(c0, c1)) if r0 < r1 and c0 < c1 else None

    def union_window(self, shapes: Sequence[Shape], pad: float = 0.0) -> Window | None:
        """The smallest window holding every shape's window."""
        windows = [w for w in (self.window(s, pad) for s in shapes) if w is not None]
        if not windows:
            return None
        return (slice(min(w[0].start for w in windows), max(w[0].stop for w in windows)),
                slice(min(w[1].start for w in windows), max(w[1].stop for w in windows)))

    def carve(self, target: np.ndarray, shape: Shape, margin: float) -> None:
        """Remove ``shape`` grown by ``margin`` from the whole-grid field ``target``, in place."""
        win = self.window(shape, margin)
        if win is not None:
            region = target[win]
            np.maximum(region, np.float32(margin) - shape.sd(self.x[win], self.y[win]), out=region)

    def empty_field(self) -> np.ndarray:
        """A whole-grid signed distance far outside everything, for shapes to be recorded into."""
        return np.full((self.size, self.size), _FAR, dtype=np.float32)

    def field(self, shape: Shape, pad: float = 0.0) -> np.ndarray:
        """The shape's signed distance on the whole grid, computed only inside its window."""
        out = self.empty_field()
        win = self.window(shape, pad)
        if win is not None:
            out[win] = shape.sd(self.x[win], self.y[win])
        return out

    def values(self, tissue: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tissue's ``(4, h, w)`` values, to be modulated pixel by pixel before painting."""
        return np.broadcast_to(self.tissue[:, TISSUE_INDEX[tissue], None, None], (4,) + shape).copy()

    def blend(self, win: Window, alpha: np.ndarray, values: np.ndarray | str) -> None:
        """Blend a tissue (name or ``(4, h, w)`` values) over ``win`` with coverage ``alpha``."""
        if isinstance(values, str):
            values = self.tissue[:, TISSUE_INDEX[values], None, None]
        region = self.layers[(slice(None),) + win]
        change = np.subtract(values, region)  # in place from here: blends cover most of the image
        change *= alpha
        region += change

    def coverage(self, sd: np.ndarray) -> np.ndarray:
        """Partial-volume fraction: a linear ramp ``PARTIAL_VOLUME_PX`` pixels wide across the
        boundary (a box-blurred label map), 0.5 exactly on it."""
        alpha = np.float32(0.5) - sd * np.float32(self.scale / PARTIAL_VOLUME_PX)
        return np.minimum(np.maximum(alpha, 0, out=alpha), 1, out=alpha)

    def paint(self, win: Window, sd: np.ndarray, values: np.ndarray | str) -> None:
        self.blend(win, self.coverage(sd), values)

    def paint_field(self, sd: np.ndarray, values: np.ndarray | str) -> Window | None:
        """Paint a whole-grid field, limited to the window where it is inside; returns it."""
        win = bounding_window(sd < np.float32(PARTIAL_VOLUME_PX) * self.px)
        if win is not None:
            self.paint(win, sd[win], values)
        return win

    def paint_shapes(self, shapes: Sequence[Shape], tissue: str, clip: np.ndarray | None = None,
                     inset: float = 0.0, record: np.ndarray | None = None) -> None:
        """Paint the union of ``shapes``, each shrunk by ``inset`` and intersected with the
        whole-grid field ``clip``; ``record`` (a whole-grid field) receives their union.

        Shapes of one kind and similar size are evaluated together, on equal-sized patches
        gathered around each (a batch pads every patch to its largest one).
        """
        for kind, batch_sd in ((Blob, blobs_sd), (Tube, tubes_sd)):
            placed = [(s, w) for s in shapes if isinstance(s, kind) and (w := self.window(s)) is not None]
            placed.sort(key=lambda item: _area(item[1]))
            while placed:
                batch = [item for item in placed if _area(item[1]) <= 3 * _area(placed[0][1])]
                placed = placed[len(batch):]
                self._paint_batch(batch, batch_sd, tissue, clip, inset, record)

    def _paint_batch(self, placed: list[tuple[Shape, Window]], batch_sd: Callable[..., np.ndarray], tissue: str,
                     clip: np.ndarray | None, inset: float, record: np.ndarray | None) -> None:
        """One batch of :meth:`paint_shapes`: shapes of one kind with their windows."""
        shapes = [shape for shape, _ in placed]
        if len(placed) == 1:  # one shape: work on its own window, nothing to gather
            win = placed[0][1]
            sd = batch_sd(shapes, self.x[win], self.y[win])
            if inset:
                sd += np.float32(inset)
            if clip is not None:
                np.maximum(sd, clip[win], out=sd)
            if record is not None:
                np.minimum(record[win], sd, out=record[win])
            self.paint(win, sd, tissue)
            return
        # Equal-sized patches, addressed by flat pixel indices (cheaper than 2-D fancy indexing).
        h = max(w[0].stop - w[0].start for _, w in placed)
        w_ = max(w[1].stop - w[1].start for _, w in placed)
        top = np.array([min(w[0].start, self.size - h) for _, w in placed])
        left = np.array([min(w[1].start, self.size - w_) for _, w in placed])
        rows = (top[:, None] + np.arange(h))[:, :, None]
        cols = (left[:, None] + np.arange(w_))[:, None, :]
        index = rows * self.size + cols
        sd = batch_sd(shapes, self.x.ravel().take(index), self.y.ravel().take(index))
        if inset:
            sd += np.float32(inset)
        if clip is not None:
            np.maximum(sd, clip.ravel().take(index), out=sd)
        if record is not None:
            np.minimum.at(record.reshape(-1), index.ravel(), sd.ravel())
        # Overlapping patches of one tissue: paint the union of their coverages once.
        r0, c0 = int(top.min()), int(left.min())
        union = np.zeros((int(top.max()) + h - r0, int(left.max()) + w_ - c0), dtype=np.float32)
        local = (rows - r0) * union.shape[1] + (cols - c0)
        np.maximum.at(union.reshape(-1), local.ravel(), self.coverage(sd).ravel())
        self.blend((slice(r0, r0 + union.shape[0]), slice(c0, c0 + union.shape[1])), union, tissue)


def _area(win: Window) -> int:
    return (win[0].stop - win[0].start) * (win[1].stop - win[1].start)


def bounding_window(mask: np.ndarray) -> Window | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)
