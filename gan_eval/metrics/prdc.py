"""Precision, recall, density and coverage (Naeem et al. 2020, "Reliable fidelity and diversity
metrics for generative models"), from k-nearest-neighbour balls in embedding space.

- precision: fraction of generated cases inside some real case's k-NN ball (fidelity);
- recall: fraction of real cases inside some generated case's k-NN ball (diversity);
- density: mean number of real balls containing a generated case, divided by k (fidelity, robust
  to real outliers; 1 on average for a matching distribution, can exceed 1);
- coverage: fraction of real cases whose ball contains at least one generated case.

The paper recommends k=5 for density/coverage; precision/recall use k=3 here (Kynkaanniemi et al.
2019). Numbers equal those of the authors' ``prdc`` package called with the same k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_eval.metrics.distances import kth_neighbour_distance, pairwise
from gan_eval.metrics.inputs import embedding_pair

K_PRECISION_RECALL = 3
K_DENSITY_COVERAGE = 5


@dataclass(frozen=True)
class PRDCResult:
    precision: float
    recall: float
    density: float
    coverage: float


def prdc(real: np.ndarray, generated: np.ndarray, k_precision_recall: int = K_PRECISION_RECALL,
         k_density_coverage: int = K_DENSITY_COVERAGE) -> PRDCResult:
    """Precision/recall with k-NN balls of ``k_precision_recall``, density/coverage with ``k_density_coverage``."""
    real, generated = embedding_pair(real, generated)
    for k in (k_precision_recall, k_density_coverage):
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if k >= min(len(real), len(generated)):
            raise ValueError(f"k={k} nearest neighbours need more than {k} cases in each set, "
                             f"got {len(real)} real and {len(generated)} generated")
    real_within = pairwise(real)
    gen_within = pairwise(generated)
    cross = pairwise(real, generated)  # (n_real, n_generated)

    real_radius = kth_neighbour_distance(real_within, k_precision_recall)
    gen_radius = kth_neighbour_distance(gen_within, k_precision_recall)
    precision = (cross < real_radius[:, None]).any(axis=0).mean()
    recall = (cross < gen_radius[None, :]).any(axis=1).mean()

    real_radius = kth_neighbour_distance(real_within, k_density_coverage)
    density = (cross < real_radius[:, None]).sum(axis=0).mean() / k_density_coverage
    coverage = (cross.min(axis=1) < real_radius).mean()
    return PRDCResult(precision=float(precision), recall=float(recall), density=float(density),
                      coverage=float(coverage))
