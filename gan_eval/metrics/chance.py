"""The exact chance level of leave-one-out 1-NN accuracy for given set sizes.

Null hypothesis: the generated cases come from the real distribution, so the n_r + m cases of a
joined set (n_r real, m generated) are exchangeable. Then, for any case, its nearest other case
is equally likely to be each of the other n_r + m - 1 (continuous features: no ties), whatever the
geometry. A real case is classified correctly when that neighbour is one of the other n_r - 1 real
cases, a generated case when it is one of the other m - 1 generated cases:

    P(correct | real)      = (n_r - 1) / (n_r + m - 1)
    P(correct | generated) = (m - 1)   / (n_r + m - 1)
    chance accuracy        = (n_r (n_r - 1) + m (m - 1)) / ((n_r + m)(n_r + m - 1))

So "50% = indistinguishable" holds only for balanced sets: the challenge's batch of 100 against
91 real cases gives 49.85%, a batch of 50 gives 53.9%, and 14 cases 76.7% (with 1000 against 91,
84.7%). The same value is the exact mean of the accuracy under the permutation test's relabelling
(``metrics.distinguishability``): relabelling keeps the counts, so any fixed neighbour pair has
the same labels with that probability.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChanceAccuracy:
    overall: float
    real: float
    generated: float


def chance_accuracy(n_real: int, n_generated: int) -> ChanceAccuracy:
    """Expected 1-NN accuracy (overall, on real points, on generated points) under exchangeability."""
    if n_real < 1 or n_generated < 1 or n_real + n_generated < 2:
        raise ValueError(f"chance accuracy needs at least one real and one generated case and two in all, "
                         f"got {n_real} real and {n_generated} generated")
    total = n_real + n_generated
    return ChanceAccuracy(
        overall=(n_real * (n_real - 1) + n_generated * (n_generated - 1)) / (total * (total - 1)),
        real=(n_real - 1) / (total - 1),
        generated=(n_generated - 1) / (total - 1),
    )
