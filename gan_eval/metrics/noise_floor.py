"""The noise floor: what a perfect generator scores, measured as real versus real.

A perfect generator draws new cases from the real distribution, so its scores are those of one
sample of real cases against another. The real set is split at random into two disjoint halves
of equal size (45 and 45 of 91: matched sizes, one case left out when the count is odd), one
half plays the real set and the other the submission, and each metric is computed exactly as for
a submission; ``splits`` random splits give the floor's mean and spread.

How to read it: a submission whose KID is 0.0003 while real halves give 0.0000 +- 0.0020 is
indistinguishable from real by KID; an FID within the floor's spread likewise. The floor is
measured at the halves' size: for statistics whose value depends on the sample size (FID grows
as sets shrink; 1-NN accuracy's chance level is exact for balanced halves) the floor is higher
than a perfect generator would score against all real cases, i.e. a conservative reference.
Unbiased statistics (KID) and fractions of balls (precision, recall, coverage) compare directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from gan_eval.metrics import diversity, kid, memorisation, prdc
from gan_eval.metrics.fid import frechet_distance
from gan_eval.metrics.inputs import embeddings, rng

SPLITS = 20


@dataclass(frozen=True)
class FloorValue:
    mean: float
    sd: float


Metric = Callable[[np.ndarray, np.ndarray, int], Mapping[str, float]]


def _fid(a: np.ndarray, b: np.ndarray, seed: int) -> dict:
    return {"fid": frechet_distance(a, b)}


def _kid(a: np.ndarray, b: np.ndarray, seed: int) -> dict:
    return {"kid": kid.kernel_inception_distance(a, b, seed=seed).kid}


def _prdc(a: np.ndarray, b: np.ndarray, seed: int) -> dict:
    q = prdc.prdc(a, b)
    return {"precision": q.precision, "recall": q.recall, "density": q.density, "coverage": q.coverage}


def _diversity(a: np.ndarray, b: np.ndarray, seed: int) -> dict:
    # Halves are smaller than one challenge batch: one batch of everything, the same every time.
    d = diversity.loo_1nn_diversity(a, b, repetitions=1, seed=seed)
    return {"loo_accuracy": d.accuracy, "diversity_score": d.diversity}


def _memorisation(a: np.ndarray, b: np.ndarray, seed: int) -> dict:
    return {"memorized_fraction": memorisation.memorisation(a, b).fraction}


FLOOR_METRICS: tuple[Metric, ...] = (_fid, _kid, _prdc, _diversity, _memorisation)


def noise_floor(real: np.ndarray, splits: int = SPLITS, seed: int = 0) -> dict[str, FloorValue]:
    """Mean and spread of each metric between two random disjoint halves of ``real`` (module
    docstring). A metric that cannot be computed on halves this small (k-NN balls need more
    than k cases) is left out."""
    real = embeddings(real, "real")
    if splits < 1:
        raise ValueError(f"splits must be >= 1, got {splits}")
    half = len(real) // 2
    draws = rng(seed)
    values: dict[str, list[float]] = {}
    for s in range(splits):
        order = draws.permutation(len(real))
        a, b = real[order[:half]], real[order[half: 2 * half]]
        for metric in FLOOR_METRICS:
            try:
                out = metric(a, b, seed + s)
            except ValueError:
                continue  # e.g. k-NN balls on halves of fewer than k + 1 cases
            for key, value in out.items():
                values.setdefault(key, []).append(value)
    return {key: FloorValue(float(np.mean(v)), float(np.std(v))) for key, v in values.items() if len(v) == splits}
