"""FID of any two sub-multisets of a pool of cases, from the pool's Gram matrix computed once.

Matched-size FID, FD-infinity, the permutation test, the rank confidence and the noise floor each
need hundreds of FIDs between subsets (or relabellings, or resamples) of the same cases. With
the pool's features X centred on their joint mean and G = X X^T, every term of ``metrics.fid``
is a function of G's entries: for a multiset A given by distinct indices i with counts c_i
(sum n_A) and likewise B,

    mu_A . mu_B          = c_A^T G_AB c_B / (n_A n_B)
    Tr S_A (n_A - 1)     = sum_i c_i G_ii - n_A mu_A . mu_A
    M_ij                 = sqrt(c_i c_j) (G_ij - x_i . mu_B - mu_A . x_j + mu_A . mu_B)    (i in A, j in B)
    Tr sqrt(S_A S_B)     = ||M||_* / sqrt((n_A - 1)(n_B - 1))

(a case drawn c times is c identical rows of the centred cross matrix, which together have the
singular values of one row scaled by sqrt(c)). Only the A x B block of G is gathered: the cost is
that of a small eigendecomposition, not of the feature dimension.
The nuclear norm comes from the eigenvalues of the smaller of M M^T, M^T M (accurate to ~1e-7 of
the largest singular value, ~1e-8 relative to FID: for resampling distributions and means of
many FIDs; a reported single FID is ``metrics.fid``'s).

B's own block is never read: c_B^T G_BB c_B = |s_B|^2 with s_B = sum_j c_j x_j, a d-vector, so
only A's rows of G are (the cross matrix and A's sums).

``complement_fid`` is the permutation test's case, B = every case not in A: its sums follow from
A's rows (c_B^T G_BB c_B = |s_all|^2 - 2 1_A^T G 1 + 1_A^T G_AA 1_A).

``batched_fids`` is the resampling case, one multiset A against K multisets B_1..B_K of equal
size given as index arrays *with repeats*: a case drawn c times is c equal rows, which is the
same as weight c (the singular values above), so no counting is needed, and the K FIDs are
computed together (one gather, batched products and eigendecompositions: no Python loop).

Memory: G is kept whole for a pool that fits ``distances.DENSE_BYTES`` (32 MB, ~2,000 cases);
a larger pool keeps its centred features and the real cases' rows (91 x 10,091 for the
challenge's real set against 10,000 cases: 7 MB, where G is 815 MB), and computes other rows
when asked (the permutation test's relabelled A).
"""

from __future__ import annotations

import numpy as np

from gan_eval.metrics.distances import DENSE_BYTES, row_blocks

_ROUNDING = 1e-10  # as metrics.fid: below this fraction of the terms' size, FID is 0


class PoolGram:
    """The Gram matrix of a pool of cases, for subset FIDs, from their features centred on their
    mean (``centred``, kept as given: ``Pool`` shares it with its distances)."""

    def __init__(self, centred: np.ndarray, n_real: int = 0, dense_bytes: int = DENSE_BYTES):
        self.centred = centred
        self.diag = np.einsum("ij,ij->i", self.centred, self.centred)
        self.sum = self.centred.sum(axis=0)
        self.size = len(centred)
        self._gram = self._real_rows = None
        if self.size**2 * self.centred.itemsize <= dense_bytes:
            self._gram = self.centred @ self.centred.T
        else:  # the first n_real rows (the real cases: A of every resampling FID), once
            self._real_rows = self.centred[:n_real] @ self.centred.T

    def block(self, rows: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        """``G[rows][:, cols]`` (indices, repeats allowed; ``None``: every column)."""
        if self._gram is not None:
            g, at = self._gram, rows
        elif rows.max() < len(self._real_rows):
            g, at = self._real_rows, rows
        else:
            distinct, at = np.unique(rows, return_inverse=True)
            g = self.centred[distinct] @ self.centred.T
        return g[at] if cols is None else g[np.ix_(at, cols)]

    def complement_fid(self, a: np.ndarray) -> float:
        """Fast FID between the cases ``a`` (distinct) and all the others."""
        in_a = np.zeros(self.size, dtype=bool)
        in_a[a] = True
        b = np.flatnonzero(~in_a)
        n_a, n_b = len(a), len(b)
        g_a = self.block(a)
        g_aa, g_ab = g_a[:, a], g_a[:, b]
        sum_aa, sum_a_all = g_aa.sum(), g_a.sum()
        sum_ab = sum_a_all - sum_aa
        sum_bb = self.sum @ self.sum - 2.0 * sum_a_all + sum_aa
        trace_a, trace_b = self.diag[a].sum(), self.diag.sum() - self.diag[a].sum()
        cross = g_ab - (g_ab.sum(axis=1) / n_b)[:, None] - (g_ab.sum(axis=0) / n_a)[None, :] + sum_ab / (n_a * n_b)
        return _assemble(n_a, n_b, sum_aa, sum_bb, sum_ab, trace_a, trace_b, cross)

    def batched_fids(self, a: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Fast FIDs between the cases ``a`` and each row of ``groups`` ``(K, n)`` (indices, repeats
        allowed: a repeated index is a duplicated case), a block of groups at a time (the cross
        matrices of 100 groups of 1000 against 91 real cases are 73 MB)."""
        row_bytes = 3 * len(a) * groups.shape[1] * self.centred.itemsize
        return np.concatenate([self._batched_fids(a, groups[part]) for part in row_blocks(len(groups), row_bytes)])

    def _batched_fids(self, a: np.ndarray, groups: np.ndarray) -> np.ndarray:
        n_a, (k, n_b) = len(a), groups.shape
        g_a = self.block(a, np.concatenate([a, groups.ravel()]))
        g_aa, g_ab = g_a[:, :n_a], g_a[:, n_a:].reshape(n_a, k, n_b).transpose(1, 0, 2)
        counts = np.bincount((np.arange(k)[:, None] * self.size + groups).ravel(), minlength=k * self.size)
        sums_b = counts.reshape(k, self.size).astype(float) @ self.centred    # each group's s_B, (k, d)
        sum_aa, sum_bb = g_aa.sum(), np.einsum("ij,ij->i", sums_b, sums_b)
        row, col = g_ab.sum(axis=2), g_ab.sum(axis=1)             # (k, n_a), (k, n_b)
        sum_ab = row.sum(axis=1)
        cross = g_ab - (row / n_b)[:, :, None] - (col / n_a)[:, None, :] + (sum_ab / (n_a * n_b))[:, None, None]
        small = cross @ cross.transpose(0, 2, 1) if n_a <= n_b else cross.transpose(0, 2, 1) @ cross
        nuclear = np.sqrt(np.clip(np.linalg.eigvalsh(small), 0.0, None)).sum(axis=1)
        mm_a, mm_b, mm_ab = sum_aa / n_a**2, sum_bb / n_b**2, sum_ab / (n_a * n_b)
        tr_a = (self.diag[a].sum() - n_a * mm_a) / (n_a - 1)
        tr_b = (self.diag[groups].sum(axis=1) - n_b * mm_b) / (n_b - 1)
        scale = mm_a + mm_b - 2.0 * mm_ab + tr_a + tr_b
        fids = scale - 2.0 * nuclear / np.sqrt((n_a - 1) * (n_b - 1))
        return np.where(fids > _ROUNDING * np.abs(scale), fids, 0.0)


def _assemble(n_a: float, n_b: float, sum_aa: float, sum_bb: float, sum_ab: float, trace_a: float,
              trace_b: float, cross: np.ndarray) -> float:
    """FID from the block sums (1^T G 1), the traces and the centred cross matrix."""
    mm_a, mm_b, mm_ab = sum_aa / n_a**2, sum_bb / n_b**2, sum_ab / (n_a * n_b)
    tr_a = (trace_a - n_a * mm_a) / (n_a - 1)
    tr_b = (trace_b - n_b * mm_b) / (n_b - 1)
    small = cross @ cross.T if cross.shape[0] <= cross.shape[1] else cross.T @ cross
    nuclear = np.sqrt(np.clip(np.linalg.eigvalsh(small), 0.0, None)).sum()
    scale = mm_a + mm_b - 2.0 * mm_ab + tr_a + tr_b
    fid = scale - 2.0 * nuclear / np.sqrt((n_a - 1) * (n_b - 1))
    return float(fid) if fid > _ROUNDING * abs(scale) else 0.0
