"""A submission's cross-sequence consistency (``metrics.consistency``, one value per case) in a few numbers.

Flag rule: a submission is flagged when *more of its cases* fall below the real set's 5th
percentile than cases like the real ones would (``metrics.excess``: a one-sided beta-binomial
test that accounts for the percentile being estimated from the real cases; flagged at p <
0.01). About 5% of a submission as consistent as the real set is below that percentile. The
rule tests the count, not the mean: a mix of 70% consistent and 30% inconsistent cases has a
mean near the real one, yet 30% of its cases are broken (on the demo's sets such a mix has a
mean above the real 5th percentile and was not flagged by the former mean rule). Comparing with
the real set rather than a fixed threshold keeps the rule meaningful for any image size or
anatomy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_eval.metrics.excess import ALPHA, excess_pvalue
from gan_eval.metrics.inputs import embeddings

FLAG_PERCENTILE = 5.0


@dataclass(frozen=True)
class ConsistencySummary:
    mean: float
    real_mean: float | None
    real_threshold: float | None       # the real set's 5th percentile
    fraction_below: float | None       # generated cases below that threshold
    pvalue: float | None               # of so many cases below it, under exchangeability
    flagged: bool | None               # None when the real set's values are unknown


def _values(scores: np.ndarray, name: str) -> np.ndarray:
    # Per-case scores are one column of numbers: the shared checks apply (finite, >= 2 cases).
    return embeddings(np.asarray(scores).reshape(-1, 1), name, what="consistency values")[:, 0]


def summarise_consistency(generated: np.ndarray, real: np.ndarray | None = None) -> ConsistencySummary:
    """Mean consistency of a submission and, given the real set's per-case values, the flag."""
    gen = _values(generated, "generated consistency")
    if real is None:
        return ConsistencySummary(float(gen.mean()), None, None, None, None, None)
    ref = _values(real, "real consistency")
    threshold = float(np.percentile(ref, FLAG_PERCENTILE))
    below = int((gen < threshold).sum())
    pvalue = excess_pvalue(below, len(gen), int((ref < threshold).sum()), len(ref))
    return ConsistencySummary(
        mean=float(gen.mean()),
        real_mean=float(ref.mean()),
        real_threshold=threshold,
        fraction_below=below / len(gen),
        pvalue=pvalue,
        flagged=pvalue < ALPHA,
    )
