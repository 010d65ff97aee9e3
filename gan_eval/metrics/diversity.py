"""Diversity exactly as the SFR 2021 challenge computed it: leave-one-out 1-NN accuracy.

The generated cases are cut into random batches of ``batch_size`` (100); each batch is joined
with *all* real cases and every point of the joined set is classified by its nearest other point
(Euclidean); a point is correct when that neighbour has its own label (real / generated). The
accuracy is averaged over the batches, and the whole thing repeated ``repetitions`` (100) times
with fresh random batches. ``Diversity = 1 - 2 |accuracy - 0.5|``: 1 when the classifier is at
chance (generated indistinguishable from real), 0 when it is always right (collapsed or far
off) or always wrong (generated cases are copies of real ones, so each point's nearest
neighbour is its twin of the other label).

Why batches: leave-one-out 1-NN is only meaningful with balanced classes; 100 generated cases
against the challenge's 91 real ones are near balance, 1000 against 91 are not.

Batches: with ``n_batches=None`` every repetition uses as many whole batches as fit
(``n_generated // batch_size``: exactly the challenge's 10 for 1000 cases; the left-over cases
differ from one repetition to the next). There is no cap at 10: every batch has the same expected
accuracy, so a larger submission gets the same mean with less spread by using all its cases.
Fewer cases than ``batch_size`` make one batch of all of them.

Cost: the pooled distances, read a block of rows at a time, and for each generated case the list
of the generated cases nearer than its nearest real case (at most ``LIST_BYTES`` in all, not the
n_generated^2 neighbour order, which is 400 MB at 10,000 cases), then ~0.2 ms per repetition.

Randomness: repetition ``r`` batches the cases in the order of the ``r``-th
``permutation(n_generated)`` drawn from ``np.random.default_rng(seed)``.

Ties: as ``np.argmin`` over the joined set ordered [real cases, batch] picks the first minimum,
a tie between a real and a generated neighbour goes to the real one (so an exact copy of a real
case is never "correctly" recognised through another copy). Ties are exact, not decided by
rounding: the distances are the pool's, in which every copy has its original's row
(``distances.PooledDistances``). The rule matters only for exact copies, and there it decides the score:
on 1000 exact copies of the demo's 91 real cases (default backbone) the accuracy is 15.9% and
the diversity 0.32 with this rule (generated points are never right: their nearest neighbour,
at distance 0, is their real original; real points are right a third of the time, those with no
copy in the batch); with the opposite rule (a generated neighbour wins ties) it would be 40.6%
and 0.81, rewarding copies as diverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_eval.metrics.distances import PooledDistances, kth_neighbour_distance, row_blocks
from gan_eval.metrics.inputs import embedding_pair, rng
from gan_eval.metrics.pool import Pool

BATCH_SIZE = 100    # the challenge's
REPETITIONS = 100   # the challenge's
LIST_BYTES = 2**25  # 32 MB: the generated cases' lists of nearer generated cases (_Neighbours)


@dataclass(frozen=True)
class DiversityResult:
    accuracy: float             # mean over repetitions and batches, all points of the joined sets
    accuracy_real: float        # same, real points only
    accuracy_generated: float   # same, generated points only
    accuracy_std: float         # standard deviation over repetitions of the per-repetition accuracy
    diversity: float            # 1 - 2 |accuracy - 0.5|
    batch_size: int
    n_batches: int
    repetitions: int


def diversity_from_accuracy(accuracy: float) -> float:
    """The challenge's ``Diversity = 1 - 2 |accuracy - 0.5|``."""
    return float(1.0 - 2.0 * abs(accuracy - 0.5))


def _batching(n_generated: int, batch_size: int, n_batches: int | None) -> tuple[int, int]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    size = min(batch_size, n_generated)
    fit = n_generated // size
    if n_batches is None:
        return size, fit
    if not 1 <= n_batches <= fit:
        raise ValueError(f"n_batches must be between 1 and {fit} for {n_generated} generated cases "
                         f"in batches of {size}, got {n_batches}")
    return size, n_batches


def loo_1nn_diversity(real: np.ndarray, generated: np.ndarray, batch_size: int = BATCH_SIZE,
                      n_batches: int | None = None, repetitions: int = REPETITIONS, seed: int = 0,
                      pool: Pool | None = None) -> DiversityResult:
    """Leave-one-out 1-NN accuracy of real vs generated, batched as in the challenge (module
    docstring); ``pool``: these sets' ``metrics.pool.Pool``, when one exists."""
    real, generated = embedding_pair(real, generated)
    if repetitions < 1:
        raise ValueError(f"repetitions must be >= 1, got {repetitions}")
    n_real, n_gen = len(real), len(generated)
    size, batches = _batching(n_gen, batch_size, n_batches)
    neighbours = _Neighbours((pool or Pool(real, generated)).distances, n_real, n_gen)

    draws = rng(seed)
    acc = np.empty(repetitions)
    acc_real = np.empty(repetitions)
    acc_gen = np.empty(repetitions)
    for r in range(repetitions):
        batch_of = np.full(n_gen, -1)  # -1: left out of this repetition
        batch_of[draws.permutation(n_gen)[: batches * size]] = np.arange(batches * size) // size
        real_correct = neighbours.real_correct(batch_of, batches)
        gen_correct = neighbours.generated_correct(batch_of, batches)
        acc[r] = np.mean((real_correct + gen_correct) / (n_real + size))
        acc_real[r] = np.mean(real_correct / n_real)
        acc_gen[r] = np.mean(gen_correct / size)

    accuracy = float(acc.mean())
    return DiversityResult(
        accuracy=accuracy,
        accuracy_real=float(acc_real.mean()),
        accuracy_generated=float(acc_gen.mean()),
        accuracy_std=float(acc.std()),
        diversity=diversity_from_accuracy(accuracy),
        batch_size=size,
        n_batches=batches,
        repetitions=repetitions,
    )


class _Neighbours:
    """Everything about who is whose nearest neighbour that does not depend on the batches.

    Computed once, a block of rows at a time, so each repetition costs ~0.2 ms instead of
    gathering 10 x (100 x 100) sub-matrices (~2 ms, random memory access).

    A real point is wrong in a batch when some batch member is strictly closer than its nearest
    other real case: the pairs (real i, generated j) with that property are listed once.
    A generated point is right when some batch-mate is strictly closer than its nearest real case,
    i.e. is one of the ``closer[i]`` generated points nearer than that: they are listed once
    (``listed``, in index order, at most ``width`` per point) and each repetition looks for a
    batch-mate among them. A point with more than ``width`` such points and no batch-mate among
    the listed ones (10,000 cases in batches of 100 list 838 each: probability 2e-4)
    is decided from its own distances to its batch-mates and the real cases, computed then.
    """

    # Batch-mates are looked for among the first FIRST listed points in one vectorised step; with
    # batches of 100 out of 1000 a point has none there with probability 0.9^64 ~ 0.1%, and only
    # those points are looked up in the rest of their list.
    FIRST = 64

    def __init__(self, distances: PooledDistances, n_real: int, n_generated: int) -> None:
        self.distances, self.n_real = distances, n_real
        pool = np.arange(n_real + n_generated)
        real_rows = distances.block(pool[:n_real], pool)
        real_nn_real = kth_neighbour_distance(real_rows[:, :n_real], 1)
        self.losing_real, self.closer_gen = np.nonzero(real_rows[:, n_real:] < real_nn_real[:, None])
        width = min(n_generated - 1, max(LIST_BYTES // (4 * n_generated), self.FIRST))
        self.closer = np.empty(n_generated, dtype=np.intp)
        parts = list(row_blocks(n_generated, len(pool) * 8))
        lists = [self._closer_ones(part, width) for part in parts]
        self.listed = np.full((n_generated, max(f.shape[1] for f in lists)), n_generated, dtype=np.int32)
        for part, first in zip(parts, lists):
            self.listed[part, : first.shape[1]] = first

    def _closer_ones(self, part: slice, width: int) -> np.ndarray:
        """Sets ``closer`` for the generated points ``part`` and returns their lists: the generated
        points strictly closer than their nearest real case (ties go to the real neighbour), at most
        ``width`` of them, in index order, then padding (index n_generated: in no batch)."""
        n_real, n_generated = self.n_real, len(self.closer)
        pool = np.arange(n_real + n_generated)
        rows = self.distances.block(pool[n_real:][part], pool)  # each point's own row: its comparisons agree
        gen_to_gen = rows[:, n_real:]
        gen_to_gen[np.arange(len(gen_to_gen)), np.arange(part.start, part.stop)] = np.inf  # leave-one-out
        closer = gen_to_gen < rows[:, :n_real].min(axis=1)[:, None]
        self.closer[part] = closer.sum(axis=1)
        first = np.argsort(~closer, axis=1, kind="stable")[:, : min(width, self.closer[part].max())]
        first[np.arange(first.shape[1]) >= self.closer[part, None]] = n_generated
        return first.astype(np.int32)

    def real_correct(self, batch_of: np.ndarray, batches: int) -> np.ndarray:
        """Number of real points classified correctly, per batch."""
        batch = batch_of[self.closer_gen]
        used = batch >= 0
        wrong = np.zeros((self.n_real, batches), dtype=bool)
        wrong[self.losing_real[used], batch[used]] = True
        return self.n_real - wrong.sum(axis=0)

    def generated_correct(self, batch_of: np.ndarray, batches: int) -> np.ndarray:
        """Number of generated points classified correctly, per batch."""
        batch = np.append(batch_of, -2)  # the padding's batch: none
        inside = batch_of >= 0
        correct = (batch[self.listed[:, : self.FIRST]] == batch_of[:, None]).any(axis=1)
        rest = np.flatnonzero(inside & ~correct & (self.closer > self.FIRST))
        correct[rest] = (batch[self.listed[rest, self.FIRST:]] == batch_of[rest, None]).any(axis=1)
        for i in np.flatnonzero(inside & ~correct & (self.closer > self.listed.shape[1])):
            correct[i] = self._beyond_list(i, batch_of)
        correct &= inside
        return np.bincount(batch_of[correct], minlength=batches)

    def _beyond_list(self, i: int, batch_of: np.ndarray) -> bool:
        """Whether some batch-mate of generated point ``i`` is strictly closer than its nearest real case."""
        mates = np.flatnonzero(batch_of == batch_of[i])
        mates = mates[mates != i]
        row = self.distances.block(np.array([self.n_real + i]), np.concatenate([np.arange(self.n_real),
                                                                               self.n_real + mates]))[0]
        return bool(row[self.n_real:].min(initial=np.inf) < row[: self.n_real].min())
