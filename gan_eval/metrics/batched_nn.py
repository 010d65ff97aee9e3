"""The challenge's batched leave-one-out 1-NN accuracy for any labelling of a pool of cases.

``metrics.diversity`` computes the challenge's number for the one labelling that exists (these
cases are real, those generated). The permutation test relabels the pooled cases hundreds of
times and the rank confidence subsamples them; both need the same protocol (generated cases in
batches, each batch joined with every real case, leave-one-out nearest neighbour, real neighbour
wins exact ties) for a labelling given as index arrays into the pool's distances.

For a batch B joined with the real cases R (distances ``d`` from ``distances.PooledDistances``):

- a real case r is correct when its nearest other real case is at least as close as its nearest
  member of B:  min_{r' in R, r' != r} d(r, r') <= min_{b in B} d(r, b);
- a generated case b is correct when its nearest batch-mate is strictly closer than its nearest
  real case:    min_{b' in B, b' != b} d(b, b') <  min_{r in R} d(b, r).

That is ``np.argmin`` over the joined set ordered [real, batch] (first minimum wins), i.e. exactly
``loo_1nn_diversity``'s rule. The nearest-real distances do not depend on the batches and are
computed once per labelling, from the real cases' rows (one block); each batching then costs one
(n_r x m) gather reduced per batch and the batches' own distances (``PooledDistances.within``),
with no sorting.

A batch-mate with the bytes of a real case is left out of the generated case's batch-mates: it
is exactly as far from everything as that real case, so it is never strictly nearer than the
nearest real case, and leaving it out keeps that exact tie exact where the batch's distances and
the real cases' rows come from two computations that round differently (a pool too large to keep
its matrix, ``distances``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_eval.metrics.distances import PooledDistances


@dataclass(frozen=True)
class BatchAccuracy:
    overall: float     # mean over batches of the joined set's accuracy
    real: float        # mean over batches, real points only
    generated: float   # mean over batches, generated points only


class Labelling:
    """Real and generated cases of a pool, as index arrays into its ``distances.PooledDistances``."""

    def __init__(self, distances: PooledDistances, real: np.ndarray, generated: np.ndarray):
        if len(real) < 2:
            raise ValueError(f"leave-one-out 1-NN needs at least 2 real cases, got {len(real)}")
        self.distances = distances
        self.real = np.asarray(real)
        self.generated = np.asarray(generated)
        n_real = len(self.real)
        rows = distances.block(self.real, np.concatenate([self.real, self.generated]))  # a copy
        rows[np.arange(n_real), np.arange(n_real)] = np.inf  # leave-one-out: not its own neighbour
        self.real_nearest_real = rows[:, :n_real].min(axis=1)
        self.real_to_generated = rows[:, n_real:]
        self.generated_nearest_real = self.real_to_generated.min(axis=0)
        self.copies_real = np.isin(distances.representative[self.generated], distances.representative[self.real])

    def accuracy(self, batches: np.ndarray) -> BatchAccuracy:
        """Accuracy with the generated cases at positions ``batches`` (k, size) of ``generated``
        (positions, not pool indices: the protocol's permutation of the generated cases)."""
        k, size = batches.shape
        n_real = len(self.real)
        nearest_member = self.real_to_generated[:, batches.ravel()].reshape(n_real, k, size).min(axis=2)
        real_correct = (self.real_nearest_real[:, None] <= nearest_member).sum(axis=0)
        mates = self.distances.within(self.generated[batches])  # (k, size, size)
        idx = np.arange(size)
        mates[:, idx, idx] = np.inf
        if self.copies_real.any():  # never nearer than the nearest real case (module docstring)
            mates[np.broadcast_to(self.copies_real[batches][:, None, :], mates.shape)] = np.inf
        # A lone generated case has no batch-mate (inf): its neighbour is real, it is wrong.
        gen_correct = (mates.min(axis=2) < self.generated_nearest_real[batches]).sum(axis=1)
        return BatchAccuracy(overall=float(np.mean((real_correct + gen_correct) / (n_real + size))),
                             real=float(np.mean(real_correct / n_real)),
                             generated=float(np.mean(gen_correct / size)))


def protocol_batches(draws: np.random.Generator, n_generated: int, batch_size: int) -> np.ndarray:
    """One repetition's batches as ``loo_1nn_diversity`` draws them: positions ``(k, size)`` of
    the first ``k * size`` cases of a random permutation, ``size = min(batch_size, n_generated)``."""
    size = min(batch_size, n_generated)
    k = n_generated // size
    return draws.permutation(n_generated)[: k * size].reshape(k, size)
