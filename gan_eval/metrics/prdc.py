"""Precision, recall, density and coverage (Naeem et al. 2020, "Reliable fidelity and diversity
metrics for generative models"), from k-nearest-neighbour balls in embedding space.

- precision: fraction of generated cases inside some real case's k-NN ball (fidelity);
- recall: fraction of real cases inside some generated case's k-NN ball (diversity);
- density: mean number of real balls containing a generated case, divided by k (fidelity, robust
  to real outliers; 1 on average for a matching distribution, can exceed 1);
- coverage: fraction of real cases whose ball contains at least one generated case.

The paper recommends k=5 for density/coverage; precision/recall use k=3 here (Kynkaanniemi et al.
2019). Numbers equal those of the authors' ``prdc`` package called with the same k, with its
strict comparisons (a case exactly on a ball's radius is outside it).

All distances come from the pool's distances (``distances.PooledDistances``), so an exact copy of a real case
is at exactly that case's distances: a ball whose radius passes through a real case excludes its
copies too, as exact arithmetic does. With distances computed per pair of sets, those ties were
decided by rounding noise and density on exact copies was off by 0.1 (``prdc`` itself, with
sklearn's distances, is off in the third decimal there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_eval.metrics.distances import PooledDistances, row_blocks
from gan_eval.metrics.inputs import embedding_pair
from gan_eval.metrics.pool import Pool

K_PRECISION_RECALL = 3
K_DENSITY_COVERAGE = 5
# A distance this close (relative) to a ball's radius may be on either side by the Gram form's
# rounding (~1e-15 relative): it is recomputed exactly. Far above rounding, far below real gaps.
_TIE = 1e-10


@dataclass(frozen=True)
class PRDCResult:
    precision: float
    recall: float
    density: float
    coverage: float


def prdc(real: np.ndarray, generated: np.ndarray, k_precision_recall: int = K_PRECISION_RECALL,
         k_density_coverage: int = K_DENSITY_COVERAGE, pool: Pool | None = None) -> PRDCResult:
    """Precision/recall with k-NN balls of ``k_precision_recall``, density/coverage with
    ``k_density_coverage``; ``pool``: these sets' ``metrics.pool.Pool``, when one exists."""
    real, generated = embedding_pair(real, generated)
    for k in (k_precision_recall, k_density_coverage):
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if k >= min(len(real), len(generated)):
            raise ValueError(f"k={k} nearest neighbours need more than {k} cases in each set, "
                             f"got {len(real)} real and {len(generated)} generated")
    distances = (pool or Pool(real, generated)).distances
    real_rows = np.arange(len(real))
    gen_rows = len(real) + np.arange(len(generated))
    real_radius = _radius(distances, real_rows, k_precision_recall)
    gen_radius = _radius(distances, gen_rows, k_precision_recall)
    precision = _inside(distances, real_rows, gen_rows, real_radius).any(axis=0).mean()
    recall = _inside(distances, gen_rows, real_rows, gen_radius).any(axis=0).mean()

    real_radius = _radius(distances, real_rows, k_density_coverage)
    inside = _inside(distances, real_rows, gen_rows, real_radius)
    density = inside.sum(axis=0).mean() / k_density_coverage
    coverage = inside.any(axis=1).mean()
    return PRDCResult(precision=float(precision), recall=float(recall), density=float(density),
                      coverage=float(coverage))


def _radius(pool: PooledDistances, rows: np.ndarray, k: int) -> np.ndarray:
    """Each point's distance to its k-th nearest other point of the same set, recomputed exactly;
    a block of rows at a time (10,000 generated cases' own distances are 800 MB)."""
    neighbour = np.empty(len(rows), dtype=np.intp)
    for part in row_blocks(len(rows), len(rows) * 8):
        within = pool.block(rows[part], rows)
        neighbour[part] = rows[np.argpartition(within, k, axis=1)[:, k]]  # column 0 of the order is the point itself
    return pool.exact(rows, neighbour)


def _inside(pool: PooledDistances, centres: np.ndarray, points: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """``(centres, points)``: point strictly inside the ball of ``radius`` around the centre;
    comparisons within rounding of the radius are redone with exact distances."""
    d = pool.block(centres, points)
    inside = d < radius[:, None]
    i, j = np.nonzero(np.abs(d - radius[:, None]) <= _TIE * radius[:, None])
    inside[i, j] = pool.exact(centres[i], points[j]) < radius[i]
    return inside
