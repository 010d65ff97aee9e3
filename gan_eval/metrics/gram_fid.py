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
singular values of one row scaled by sqrt(c)). Only the A x B block and A's (or B's) own block of
G are gathered: the cost is that of the small SVD, not of the feature dimension. ``fid`` takes
the nuclear norm from an SVD (as ``frechet_distance``; equal within 1e-9 relative); ``fast_fid``
from the eigenvalues of the smaller of M M^T, M^T M (~10x faster, accurate to ~1e-7 of the
largest singular value), for resampling distributions.

``complement_fid`` is the permutation test's case, B = every case not in A: B's block sum comes
from G's row sums (c_B^T G_BB c_B = 1^T G 1 - 2 1_A^T G 1 + 1_A^T G_AA 1_A) and is never gathered.
"""

from __future__ import annotations

import numpy as np

_ROUNDING = 1e-10  # as metrics.fid: below this fraction of the terms' size, FID is 0


class PoolGram:
    """The Gram matrix of a pool of cases (features centred on their mean), for subset FIDs."""

    def __init__(self, pool: np.ndarray):
        centred = pool - pool.mean(axis=0)
        self.gram = centred @ centred.T
        self.diag = np.diag(self.gram).copy()
        self.row_sums = self.gram.sum(axis=1)
        self.total = float(self.row_sums.sum())
        self.size = len(pool)

    def fid(self, a: np.ndarray, b: np.ndarray, a_counts: np.ndarray | None = None,
            b_counts: np.ndarray | None = None) -> float:
        """FID between the multisets (distinct indices ``a`` with ``a_counts``) and ``b``; counts
        default to 1 each. Exact nuclear norm (SVD)."""
        return self._fid(a, b, a_counts, b_counts, exact=True)

    def fast_fid(self, a: np.ndarray, b: np.ndarray, a_counts: np.ndarray | None = None,
                 b_counts: np.ndarray | None = None) -> float:
        """``fid`` with the nuclear norm from an eigendecomposition: for resampling distributions."""
        return self._fid(a, b, a_counts, b_counts, exact=False)

    def complement_fid(self, a: np.ndarray) -> float:
        """Fast FID between the cases ``a`` (distinct) and all the others."""
        in_a = np.zeros(self.size, dtype=bool)
        in_a[a] = True
        b = np.flatnonzero(~in_a)
        n_a, n_b = len(a), len(b)
        g_aa = self.gram[np.ix_(a, a)]
        g_ab = self.gram[np.ix_(a, b)]
        sum_aa = g_aa.sum()
        sum_ab = self.row_sums[a].sum() - sum_aa
        sum_bb = self.total - 2.0 * self.row_sums[a].sum() + sum_aa
        trace_a, trace_b = self.diag[a].sum(), self.diag.sum() - self.diag[a].sum()
        cross = g_ab - (g_ab.sum(axis=1) / n_b)[:, None] - (g_ab.sum(axis=0) / n_a)[None, :] + sum_ab / (n_a * n_b)
        return _assemble(n_a, n_b, sum_aa, sum_bb, sum_ab, trace_a, trace_b, cross, exact=False)

    def _fid(self, a, b, a_counts, b_counts, exact: bool) -> float:
        ca = np.ones(len(a)) if a_counts is None else np.asarray(a_counts, dtype=float)
        cb = np.ones(len(b)) if b_counts is None else np.asarray(b_counts, dtype=float)
        n_a, n_b = ca.sum(), cb.sum()
        g_aa = self.gram[np.ix_(a, a)]
        g_bb = self.gram[np.ix_(b, b)]
        g_ab = self.gram[np.ix_(a, b)]
        ab_cb = g_ab @ cb                                  # n_b x_i . mu_B
        ca_ab = ca @ g_ab                                  # n_a mu_A . y_j
        sum_ab = ca_ab @ cb
        cross = g_ab - (ab_cb / n_b)[:, None] - (ca_ab / n_a)[None, :] + sum_ab / (n_a * n_b)
        cross *= np.sqrt(ca)[:, None] * np.sqrt(cb)[None, :]
        return _assemble(n_a, n_b, ca @ g_aa @ ca, cb @ g_bb @ cb, sum_ab, ca @ self.diag[a], cb @ self.diag[b],
                         cross, exact)


def _assemble(n_a: float, n_b: float, sum_aa: float, sum_bb: float, sum_ab: float, trace_a: float,
              trace_b: float, cross: np.ndarray, exact: bool) -> float:
    """FID from the block sums (c^T G c), the weighted traces and the centred cross matrix."""
    mm_a, mm_b, mm_ab = sum_aa / n_a**2, sum_bb / n_b**2, sum_ab / (n_a * n_b)
    tr_a = (trace_a - n_a * mm_a) / (n_a - 1)
    tr_b = (trace_b - n_b * mm_b) / (n_b - 1)
    if exact:
        nuclear = np.linalg.svd(cross, compute_uv=False).sum()
    else:
        small = cross @ cross.T if cross.shape[0] <= cross.shape[1] else cross.T @ cross
        nuclear = np.sqrt(np.clip(np.linalg.eigvalsh(small), 0.0, None)).sum()
    scale = mm_a + mm_b - 2.0 * mm_ab + tr_a + tr_b
    fid = scale - 2.0 * nuclear / np.sqrt((n_a - 1) * (n_b - 1))
    return float(fid) if fid > _ROUNDING * abs(scale) else 0.0
