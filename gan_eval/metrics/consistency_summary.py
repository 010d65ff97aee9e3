"""A submission's cross-sequence consistency (``metrics.consistency``, one value per case) in a few numbers.

Flag rule: a submission is flagged when its mean consistency is below the real set's 5th
percentile, i.e. its *average* case is less consistent than 95% of the real cases. Comparing with
the real set rather than a fixed threshold keeps the rule meaningful for any image size or
anatomy; using the mean (not a count of low cases) keeps a few odd cases in a good submission
from flagging it. The fraction of cases below that percentile is reported beside it (~5% for a
submission as consistent as the real set).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_eval.metrics.inputs import embeddings

FLAG_PERCENTILE = 5.0


@dataclass(frozen=True)
class ConsistencySummary:
    mean: float
    real_mean: float | None
    real_threshold: float | None       # the real set's 5th percentile
    fraction_below: float | None       # generated cases below that threshold
    flagged: bool | None               # None when the real set's values are unknown


def _values(scores: np.ndarray, name: str) -> np.ndarray:
    # Per-case scores are one column of numbers: the shared checks apply (finite, >= 2 cases).
    return embeddings(np.asarray(scores).reshape(-1, 1), name, what="consistency values")[:, 0]


def summarise_consistency(generated: np.ndarray, real: np.ndarray | None = None) -> ConsistencySummary:
    """Mean consistency of a submission and, given the real set's per-case values, the flag."""
    gen = _values(generated, "generated consistency")
    if real is None:
        return ConsistencySummary(float(gen.mean()), None, None, None, None)
    ref = _values(real, "real consistency")
    threshold = float(np.percentile(ref, FLAG_PERCENTILE))
    return ConsistencySummary(
        mean=float(gen.mean()),
        real_mean=float(ref.mean()),
        real_threshold=threshold,
        fraction_below=float((gen < threshold).mean()),
        flagged=bool(gen.mean() < threshold),
    )
