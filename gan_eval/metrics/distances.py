"""Euclidean distances between embedding sets, fast (BLAS) and exact where it matters.

The Gram-matrix form |x|^2 + |y|^2 - 2 x.y is ~50x faster than pairwise differences but loses
precision for near-identical points (catastrophic cancellation): two identical cases come out at
~1e-7 of their norm instead of 0. Nearest-neighbour metrics decide ties and detect copies exactly
there, so pairs that the Gram form puts within that rounding band are recomputed as the norm of
their difference: identical points are then exactly 0 apart.

Identical points must also be *equally far from everything else*: a k-NN radius that passes
through a real case must pass through its exact copy too. Two sets computed apart (real-real
centred on one mean, real-generated on another) give a real case and a copy of it distances that
differ in the last bits, so ties at a radius are decided by rounding: on 1000 exact copies of the
demo's 91 real cases (default backbone) that was 964 ties at the density radius and a density of
1.07 instead of the exact 0.962 (the ``prdc`` package, whose sklearn distances round too:
0.965). ``PooledDistances`` computes one matrix over the stacked sets in which every copy of a
point is given that point's own row and column, so such ties are exact and the strict comparisons (``<`` a radius) of the metrics decide
them as exact arithmetic would. Distinct points at exactly equal distances (lattice data) are
the other kind of tie: ``PooledDistances.exact`` recomputes the distances that a comparison
finds within rounding of each other from the coordinates' differences, which is exact there.

Memory: a pool whose matrix fits in ``DENSE_BYTES`` (32 MB: ~2,000 cases) keeps it, as one
product and a few gathers are the fastest way to the hundreds of sub-matrices the metrics ask
for. A larger pool keeps its points and the real cases' rows and computes every other requested
block when asked, in row blocks of ``BLOCK_BYTES`` (``row_blocks``), because the whole matrix of
91 + 10,000 cases would take 815 MB (and its construction three times that). A block computed on its own is the same
to rounding, not to the last bit (BLAS sums a product's terms in an order that depends on the
shapes), so a decision never compares two numbers from two computations where exact arithmetic
ties them: each point's comparisons read its own row of one block, and the 1-NN protocol leaves
out the batch-mates that are copies of a real case (``batched_nn``), the one tie between blocks.
Distinct points at exactly equal distances, whose 1-NN ties rounding decides in either case,
can then be decided the other way (lattice data; PRDC recomputes them exactly, as above).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

# Pairs with squared distance below this fraction of |x|^2 + |y|^2 (after centring) are inside
# the Gram form's rounding error (a few float64 eps times the norms, times the dimension's
# accumulation) and are recomputed exactly.
_REFINE_BELOW = 1e-8
BLOCK_BYTES = 2**23   # 8 MB: one block of a computation done a block of rows at a time
DENSE_BYTES = 2**25   # 32 MB (~2,000 cases): pooled matrices up to this size are kept whole (module docstring)


def row_blocks(n_rows: int, row_bytes: int) -> Iterator[slice]:
    """Consecutive slices of ``range(n_rows)`` of at most ``BLOCK_BYTES`` of rows of ``row_bytes``
    each (at least one row)."""
    step = max(BLOCK_BYTES // max(row_bytes, 1), 1)
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _finish(sq: np.ndarray, xc: np.ndarray, yc: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> None:
    """In place: products ``x.y`` of centred rows (any leading batch axes) -> distances ``|x - y|``."""
    sq *= -2.0
    scale = sx[..., :, None] + sy[..., None, :]
    sq += scale  # |x|^2 + |y|^2 - 2 x.y, bit for bit (doubling and negation are exact)
    np.maximum(sq, 0.0, out=sq)
    scale *= _REFINE_BELOW
    near = np.nonzero(sq <= scale)
    if near[0].size:
        diff = xc[near[:-1]] - yc[near[:-2] + near[-1:]]
        sq[near] = np.einsum("ij,ij->i", diff, diff)
    np.sqrt(sq, out=sq)


def _distances(xc: np.ndarray, yc: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
    """``(n_x, n_y)`` distances between centred rows with squared norms ``sx``, ``sy``: one product
    (symmetric when ``yc is xc``), finished a row block at a time so that the temporaries stay small."""
    d = xc @ yc.T
    for part in row_blocks(len(d), d.shape[1] * d.itemsize):
        _finish(d[part], xc[part], yc, sx[part], sy)
    return d


def pairwise(x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """``(n_x, n_y)`` float64 Euclidean distances; ``pairwise(x)`` has an exact zero diagonal
    (a point's distance to itself is within rounding of 0, so it is recomputed: 0)."""
    same = y is None
    # Centring on a common point changes no distance and shrinks the norms, so less cancellation.
    centre = x.mean(axis=0) if same else (x.sum(axis=0) + y.sum(axis=0)) / (len(x) + len(y))
    xc = x - centre
    sx = np.einsum("ij,ij->i", xc, xc)
    if same:
        return _distances(xc, xc, sx, sx)
    d = np.empty((len(x), len(y)))
    for part in row_blocks(len(y), y.shape[1] * y.itemsize):  # y centred a block at a time: no copy of y
        yc = y[part] - centre
        d[:, part] = _distances(xc, yc, sx, np.einsum("ij,ij->i", yc, yc))
    return d


def kth_neighbour_distance(within: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest *other* point, given ``pairwise(x)``."""
    # Column 0 of the sorted row is the point itself (distance 0), so the k-th other is at index k.
    return np.partition(within, k, axis=1)[:, k]


class PooledDistances:
    """Distances within and between two stacked sets (real rows first), consistent for copies
    and exact at ties (module docstring).

    ``block(rows, cols)`` gives the distances between any of the pool's points, in which every copy
    of a point has that point's own row and column: the distinct points' ``pairwise``, kept whole
    for a pool that fits ``dense_bytes`` and otherwise computed for each block, except the real
    cases' rows, kept (module docstring);
    ``within(groups)`` the distances among the points of each group. ``exact`` recomputes chosen
    distances from the coordinates' differences, pair by pair of distinct points, so the same two
    points always get the same value and lattice data (small integers, where sums of squares are
    exact) get exact distances.
    """

    def __init__(self, real: np.ndarray, generated: np.ndarray, dense_bytes: int = DENSE_BYTES,
                 centred: np.ndarray | None = None):
        """``centred``: the stacked sets centred on their mean, where the caller has them (``Pool``
        shares one copy with its Gram matrix); made here otherwise."""
        self._sets = real, generated  # for ``exact``
        # Each row's representative: the first row with the same bytes (10x faster than
        # np.unique(axis=0), which sorts the rows).
        first: dict[bytes, int] = {}
        self.representative = np.array([first.setdefault(row.tobytes(), i)
                                        for i, row in enumerate(itertools.chain(real, generated))], dtype=np.intp)
        distinct = np.array(sorted(first.values()), dtype=np.intp)
        position = np.empty(len(self.representative), dtype=np.intp)
        position[distinct] = np.arange(len(distinct))
        self._distinct = position[self.representative]   # each row's row among the distinct points
        if centred is None:
            centred = np.concatenate([real, generated])
            centred -= centred.mean(axis=0)
        if len(distinct) < len(centred):
            centred = centred[distinct]
        self._centred = centred
        self._norms = np.einsum("ij,ij->i", centred, centred)
        self._matrix = self._real_rows = None
        if len(centred) ** 2 * centred.itemsize <= dense_bytes:
            self._matrix = _distances(centred, centred, self._norms, self._norms)
        else:  # the real cases' rows, which every metric reads, once (91 x 10,091: 7 MB)
            n_real = self._distinct[: len(real)].max() + 1  # the real cases' distinct rows come first
            self._real_rows = _distances(centred[:n_real], centred, self._norms[:n_real], self._norms)

    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """``(len(rows), len(cols))`` distances between the points ``rows`` and ``cols`` (indices)."""
        r, c = self._distinct[rows], self._distinct[cols]
        if self._matrix is not None:
            return self._matrix[np.ix_(r, c)]
        if r.max() < len(self._real_rows):
            return self._real_rows[np.ix_(r, c)]
        r_distinct, r_at = np.unique(r, return_inverse=True)
        c_distinct, c_at = np.unique(c, return_inverse=True)
        width = self._centred.shape[1] * self._centred.itemsize
        if len(c_distinct) * width > BLOCK_BYTES:  # many columns: against every point, no copy of them
            c_distinct, c_at = slice(None), c
        y, sy = self._centred[c_distinct], self._norms[c_distinct]
        d = np.empty((len(r_distinct), len(sy)))
        for part in row_blocks(len(r_distinct), len(sy) * d.itemsize + width):
            i = r_distinct[part]
            d[part] = _distances(self._centred[i], y, self._norms[i], sy)
        if np.array_equal(r_at, np.arange(len(d))) and np.array_equal(c_at, np.arange(d.shape[1])):
            return d  # asked in the distinct points' order: no copy
        return d[np.ix_(r_at, c_at)]

    def within(self, groups: np.ndarray) -> np.ndarray:
        """``(k, s, s)`` distances among the points of each row of ``groups`` ``(k, s)`` (indices)."""
        g = self._distinct[groups]
        if self._matrix is not None:
            return self._matrix[g[:, :, None], g[:, None, :]]
        d = np.empty(g.shape + g.shape[1:])
        for part in row_blocks(len(g), g.shape[1] * self._centred.shape[1] * self._centred.itemsize):
            x, norms = self._centred[g[part]], self._norms[g[part]]
            np.matmul(x, x.transpose(0, 2, 1), out=d[part])
            _finish(d[part], x, x, norms, norms)
        return d

    def exact(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Distances between the points ``rows[i]`` and ``cols[i]`` from their differences."""
        a, b = self.representative[rows], self.representative[cols]
        pairs, back = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)]), axis=1, return_inverse=True)
        sq = np.empty(pairs.shape[1])
        for part in row_blocks(len(sq), 3 * self._centred.shape[1] * self._centred.itemsize):
            diff = self._points(pairs[0, part]) - self._points(pairs[1, part])
            sq[part] = (diff * diff).sum(axis=1)
        return np.sqrt(sq)[back.ravel()]

    def _points(self, i: np.ndarray) -> np.ndarray:
        """The (uncentred) points ``i`` of the pool."""
        real, generated = self._sets
        is_real = i < len(real)
        out = np.empty((len(i), real.shape[1]))
        out[is_real], out[~is_real] = real[i[is_real]], generated[i[~is_real] - len(real)]
        return out
