"""Permutation tests: are these generated cases distinguishable from the real ones at this size?

Null hypothesis: real and generated cases come from one distribution, i.e. the n_r + m pooled
cases are exchangeable. Then the labels "real" and "generated" could be any n_r of the pooled
cases: the test draws ``permutations`` random relabellings (n_r of the pooled cases called real,
the other m generated), computes the statistic for each exactly as for the true labels, and
reports

    p = (1 + #{relabellings at least as extreme as the observed labels}) / (1 + permutations),

which is exact (uniform under the null, up to the resolution 1 / (permutations + 1)) whatever
the sample sizes, the dimension or the feature distribution. A small p says the cases are
distinguishable *at this sample size*; a large p from a small submission says only that too
few cases were given to tell.

- **1-NN accuracy** (``loo_pvalue``): the challenge's protocol (generated cases in batches of
  ``batch_size``, each joined with all real cases, leave-one-out 1-NN, real neighbour wins ties),
  averaged over ``repetitions`` random batchings, for the true and for each relabelled pool. Both
  directions count: the statistic is |accuracy - chance|, with the exact chance level of
  ``metrics.chance`` (the mean of the accuracy under relabelling), since an accuracy far below
  chance (copies of real cases) is as distinguishable as one far above. The labels are permuted
  across the whole pool and the protocol's batches drawn afresh for each relabelling: permuting
  each batch on its own would ignore that every batch shares the same real cases, whose labels
  are permuted once.
- **FID** (``fid_pvalue``): one-sided, large FID is evidence against the null.

Cost: one pooled distance matrix and one pooled Gram matrix; then per relabelling one FID from
the Gram matrix (``metrics.gram_fid``) and ``repetitions`` batched accuracies from the distances
(``metrics.batched_nn``), about 1-3 ms for 91 + 1000 cases. A pool too large to keep its matrices
(``metrics.pool``) computes each relabelling's real rows and batches instead: ~0.25 s per
relabelling for 91 + 10,000 cases in 1280-d, in ~60 MB instead of the matrices' 1.6 GB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_eval.metrics.batched_nn import Labelling, protocol_batches
from gan_eval.metrics.chance import chance_accuracy
from gan_eval.metrics.diversity import BATCH_SIZE
from gan_eval.metrics.inputs import embedding_pair, rng
from gan_eval.metrics.pool import Pool

PERMUTATIONS = 100  # p-values to 0.01: enough to tell "distinguishable at this size" (p < 0.01) apart
# Batchings averaged per labelling. More average out the batching noise (more power) at a cost
# per relabelling; a submission of at most one batch has the same batch every time anyway.
REPETITIONS = 1
_RATIO_ROUNDING = 1e-12


@dataclass(frozen=True)
class DistinguishabilityResult:
    loo_pvalue: float
    fid_pvalue: float
    chance_accuracy: float    # exact chance level of one batch joined with the real cases
    batch_size: int
    permutations: int


def distinguishability(real: np.ndarray, generated: np.ndarray, permutations: int = PERMUTATIONS,
                       batch_size: int = BATCH_SIZE, repetitions: int = REPETITIONS,
                       seed: int = 0, pool: Pool | None = None) -> DistinguishabilityResult:
    """Permutation p-values of the 1-NN accuracy and of FID (module docstring); ``pool``: these
    sets' ``metrics.pool.Pool``, when one exists."""
    real, generated = embedding_pair(real, generated)
    if permutations < 1:
        raise ValueError(f"permutations must be >= 1, got {permutations}")
    if repetitions < 1:
        raise ValueError(f"repetitions must be >= 1, got {repetitions}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n_r, m = len(real), len(generated)
    size = min(batch_size, m)
    chance = chance_accuracy(n_r, size).overall
    pool = pool or Pool(real, generated)
    distances, gram = pool.distances, pool.gram
    draws = rng(seed)

    def statistics(real_rows: np.ndarray) -> tuple[float, float]:
        is_real = np.zeros(n_r + m, dtype=bool)
        is_real[real_rows] = True
        labelling = Labelling(distances, np.flatnonzero(is_real), np.flatnonzero(~is_real))
        accuracy = np.mean([labelling.accuracy(protocol_batches(draws, m, size)).overall
                            for _ in range(repetitions if m > size else 1)])
        return abs(accuracy - chance), gram.complement_fid(np.flatnonzero(is_real))

    observed_acc, observed_fid = statistics(np.arange(n_r))
    null = np.array([statistics(draws.permutation(n_r + m)[:n_r]) for _ in range(permutations)])
    # An accuracy is a ratio of counts, so relabellings often tie with the observed value: ties
    # count as at least as extreme (the exact, conservative convention), equal ratios reached by
    # different sums as equal.
    as_extreme_acc = null[:, 0] >= observed_acc - _RATIO_ROUNDING
    return DistinguishabilityResult(
        loo_pvalue=float((1 + as_extreme_acc.sum()) / (1 + permutations)),
        fid_pvalue=float((1 + np.sum(null[:, 1] >= observed_fid)) / (1 + permutations)),
        chance_accuracy=chance, batch_size=size, permutations=permutations)
