"""Signed-distance shapes, the two primitives every organ outline is built from.

A shape's ``sd`` is its signed distance in body units (negative inside) on arrays of body
coordinates. Distances rather than masks let organs be combined by smooth union, intersection
and carving, give anti-aliased partial-volume edges at any image size, and let one boundary be
shared exactly by the three sequences and the lesion mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np

# ``(k, amplitude, phase)`` for each Fourier harmonic perturbing a :class:`Blob`'s radius.
Harmonics = tuple[tuple[int, float, float], ...]


@dataclass(frozen=True)
class Blob:
    """A rotated ellipse whose radius is perturbed by Fourier harmonics.

    ``harmonics`` holds ``(k, amplitude, phase)``: the boundary lies at normalised radius
    ``1 + sum(amplitude * cos(k * theta + phase))``.
    """

    cx: float
    cy: float
    a: float
    b: float
    angle: float = 0.0
    harmonics: Harmonics = ()

    def sd(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return blobs_sd((self,), x, y)

    @cached_property
    def bbox(self) -> tuple[float, float, float, float]:
        """``(x0, x1, y0, y1)`` holding the shape (cached: windows are looked up often)."""
        r = max(self.a, self.b) * (1 + sum(abs(amp) for _, amp, _ in self.harmonics))
        return self.cx - r, self.cx + r, self.cy - r, self.cy + r


@dataclass(frozen=True)
class Tube:
    """A straight vessel segment from ``(x0, y0)`` to ``(x1, y1)``, radius tapering ``r0`` -> ``r1``."""

    x0: float
    y0: float
    x1: float
    y1: float
    r0: float
    r1: float

    def sd(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return tubes_sd((self,), x, y)

    @cached_property
    def bbox(self) -> tuple[float, float, float, float]:
        r = max(self.r0, self.r1)
        return (min(self.x0, self.x1) - r, max(self.x0, self.x1) + r,
                min(self.y0, self.y1) - r, max(self.y0, self.y1) + r)


Shape = Blob | Tube


def _parameters(rows: list[tuple[float, ...]], ndim: int) -> list[np.ndarray]:
    """Per-shape parameter columns shaped to broadcast against ``(n, h, w)`` patches, or plain
    float32 scalars for a single shape on ``(h, w)`` (or point) coordinates."""
    table = np.array(rows, dtype=np.float32)
    if ndim == 3:
        return list(table.T[:, :, None, None])
    return list(table[0])


def blobs_sd(blobs: Sequence[Blob], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Signed distances of ``n`` blobs, each on its own patch of ``(n, h, w)`` coordinates (or of
    one blob on ``(h, w)`` or point coordinates). Vectorised over shapes because numpy's per-call
    overhead, not arithmetic, dominates for the many small shapes of an image."""
    orders = sorted({k for b in blobs for k, _, _ in b.harmonics})
    rows = []
    for b in blobs:
        c, s = math.cos(b.angle), math.sin(b.angle)
        row = [b.cx, b.cy, c / b.a, s / b.a, c / b.b, s / b.b, 1 / b.a, 1 / b.b]
        for order in orders:  # harmonic k as A cos(k theta) - B sin(k theta)
            row += [sum(amp * math.cos(ph) for k, amp, ph in b.harmonics if k == order),
                    sum(amp * math.sin(ph) for k, amp, ph in b.harmonics if k == order)]
        rows.append(row)
    cx, cy, ca, sa, cb, sb, inv_a, inv_b, *coefficients = _parameters(rows, x.ndim)
    # In-place arithmetic throughout: the body and liver cover most of the image.
    dx, dy = x - cx, y - cy
    u = dx * ca
    u += dy * sa  # normalised ellipse coordinates
    v = dy * cb
    v -= dx * sb
    rho = u * u
    rho += v * v
    np.sqrt(rho, out=rho)
    rho += np.float32(1e-6)
    radius: np.ndarray | np.float32 = np.float32(1.0)
    if orders:
        # cos/sin(k theta) by complex powers of (u + iv) / rho: arctan2 and cos cost far more.
        cos1, sin1 = u / rho, v / rho
        ck, sk, k = cos1, sin1, 1
        radius = np.ones_like(rho)
        for order, a_k, b_k in zip(orders, coefficients[::2], coefficients[1::2]):
            while k < order:
                ck, sk, k = ck * cos1 - sk * sin1, sk * cos1 + ck * sin1, k + 1
            radius += ck * a_k
            radius -= sk * b_k
    # Scale by 1 / |grad rho| so the value is a distance in body units near the boundary.
    u *= inv_a
    u *= u
    v *= inv_b
    v *= v
    u += v
    u += np.float32(1e-12)
    np.sqrt(u, out=u)
    out = rho - radius
    out *= rho
    out /= u
    return out


def tubes_sd(tubes: Sequence[Tube], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Signed distances of ``n`` tubes on their ``(n, h, w)`` patches (see :func:`blobs_sd`)."""
    rows = []
    for t in tubes:
        dx, dy = t.x1 - t.x0, t.y1 - t.y0
        rows.append((t.x0, t.y0, dx, dy, 1 / (dx * dx + dy * dy + 1e-12), t.r0, t.r1 - t.r0))
    x0, y0, dx, dy, norm, r0, dr = _parameters(rows, x.ndim)
    px, py = x - x0, y - y0
    along = (px * dx + py * dy) * norm
    np.minimum(np.maximum(along, 0, out=along), 1, out=along)  # position along the segment
    ex, ey = px - along * dx, py - along * dy
    return np.sqrt(ex * ex + ey * ey) - (r0 + along * dr)


def smooth_union(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum: the union of two shapes with a fillet of size ``k``."""
    h = np.clip(np.float32(0.5) + np.float32(0.5 / k) * (b - a), 0, 1)
    return b + (a - b) * h - np.float32(k) * h * (1 - h)
