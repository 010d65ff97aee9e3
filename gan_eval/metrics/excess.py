"""Are there more generated cases beyond a threshold taken from the real set than chance gives?

Used by per-case checks calibrated on the real set (cross-sequence consistency below the real
5th percentile, a suspicious orientation): a submission is flagged when the *count* of its cases
past the threshold is too large to come from cases like the real ones, not when its mean is off
(a mean hides a 30% minority of broken cases among good ones).

Null: the m generated values and the n_r real values are exchangeable. The threshold is fixed by
the real values, and j of the n_r real values lie past it. A new exchangeable value lies past it
with a probability p that is itself uncertain, since it was estimated from n_r cases: as for the
(j + 1)-th order statistic of n_r values, p ~ Beta(j + 1, n_r - j) (rounded up: conservative).
Given p the count is Binomial(m, p), so unconditionally it is beta-binomial:

    count ~ BetaBinomial(m, j + 1, n_r - j),     p-value = P(count >= observed).

The threshold's own uncertainty is what makes this honest with 91 real cases: a 5th percentile
of 91 values could be anywhere from the 2nd to the 10th percentile of the population.
"""

from __future__ import annotations

from scipy.stats import betabinom

ALPHA = 0.01  # flag when the excess is this unlikely under the null


def excess_pvalue(count: int, n_generated: int, real_past: int, n_real: int) -> float:
    """P(at least ``count`` of ``n_generated`` exchangeable cases lie past a threshold that
    ``real_past`` of ``n_real`` real cases lie past)."""
    if not (0 <= count <= n_generated and 0 <= real_past < n_real):
        raise ValueError(f"need 0 <= count <= n_generated and 0 <= real_past < n_real, got count={count}, "
                         f"n_generated={n_generated}, real_past={real_past}, n_real={n_real}")
    return float(betabinom.sf(count - 1, n_generated, real_past + 1, n_real - real_past))
