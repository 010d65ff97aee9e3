"""FRD, the Fréchet radiomic distance (Konz et al. 2024, arXiv 2412.01496), and how far rankings
under different feature spaces agree.

FRD is the Fréchet distance (``metrics.fid``) between the real and the generated cases'
radiomic features (``gan_eval.radiomics``) after each feature is standardised by the *real*
cases' mean and standard deviation: radiomic features live on unrelated scales (an entropy in
bits, a long-run emphasis in pixels squared), and standardising by the real set makes each count
in units of the real variability, the same transform for every submission. Features constant
over the real cases carry no scale and are left out. Konz et al. report log(FRD); the distance
itself is reported here, on the same footing as FID (the logarithm does not change a ranking).

Rank agreement: Kendall's tau-b between the orderings of the submissions by their Fréchet
distance in two feature spaces (the default backbone, radiomics, Inception when its weights are
present): 1 = the same ranking, 0 = unrelated, -1 = reversed. With few submissions it is coarse
(for 6 submissions one swapped pair moves it by 0.13).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np
from scipy.stats import kendalltau

from gan_eval.metrics.fid import frechet_distance
from gan_eval.metrics.inputs import embedding_pair


def standardise_by_real(real: np.ndarray, generated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets in units of the real cases' per-feature mean and standard deviation (features
    constant over the real cases dropped)."""
    real, generated = embedding_pair(real, generated)
    mean, sd = real.mean(axis=0), real.std(axis=0)
    varies = sd > 0
    if not varies.any():
        raise ValueError("real: every feature is constant over the real cases; nothing to standardise")
    return (real[:, varies] - mean[varies]) / sd[varies], (generated[:, varies] - mean[varies]) / sd[varies]


def frechet_radiomic_distance(real: np.ndarray, generated: np.ndarray) -> float:
    """FRD between radiomic feature matrices (module docstring)."""
    return frechet_distance(*standardise_by_real(real, generated))


def rank_agreement(distances: Mapping[str, Mapping[str, float | None]]) -> dict[str, float | None]:
    """Kendall's tau-b between each pair of feature spaces' orderings of the submissions.

    ``distances`` maps a feature space to {submission: Fréchet distance}; submissions missing or
    None in either space of a pair are left out of that pair. Keys are ``"space A / space B"``;
    None where fewer than 2 submissions are shared or a space ranks them all equal.
    """
    agreement: dict[str, float | None] = {}
    for a, b in combinations(distances, 2):
        shared = [s for s in distances[a] if distances[a][s] is not None and distances[b].get(s) is not None]
        tau = kendalltau([distances[a][s] for s in shared], [distances[b][s] for s in shared]).statistic \
            if len(shared) >= 2 else None
        agreement[f"{a} / {b}"] = None if tau is None or not np.isfinite(tau) else float(tau)
    return agreement
