"""Inter-reader agreement of the reader study: ICC(2,1) and Kendall's W of the readers' case scores.

Kept apart from :mod:`gan_eval.reader_study` (the store and the score aggregation) because these
are general statistics of an (n cases, k readers) score matrix, checked on their own against
published values; ``reader_study.agreement`` feeds them the study's case scores.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy.stats import rankdata


@dataclass(frozen=True)
class Agreement:
    """Inter-reader agreement on case scores over the cases every reader has completed.

    ``icc`` is ICC(2,1) (two-way random effects, absolute agreement, single rater; Shrout &
    Fleiss 1979); ``kendall_w`` is Kendall's coefficient of concordance with the tie correction.
    Either is None when it is undefined, and ``reason`` says why.
    """

    icc: float | None
    kendall_w: float | None
    n_readers: int
    n_cases: int
    reason: str | None = None


def case_score_agreement(scores: Mapping[tuple[str, str, str], float]) -> Agreement:
    """ICC(2,1) and Kendall's W of {(reader, team, case_id): case score}, over the cases that every
    reader present has scored (a reader or case with a gap would bias both statistics)."""
    readers = sorted({reader for reader, _, _ in scores})
    by_case: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for (reader, team, case_id), score in scores.items():
        by_case[(team, case_id)][reader] = score
    shared = sorted(case for case, by_reader in by_case.items() if len(by_reader) == len(readers))
    if len(readers) < 2:
        return Agreement(None, None, len(readers), len(shared),
                         f"agreement needs at least 2 readers, found {len(readers)}")
    if len(shared) < 2:
        return Agreement(None, None, len(readers), len(shared),
                         f"agreement needs at least 2 cases completed by all {len(readers)} readers, "
                         f"found {len(shared)}")
    matrix = np.array([[by_case[case][reader] for reader in readers] for case in shared], dtype=float)
    icc, w = icc_2_1(matrix), kendalls_w(matrix)
    reason = None
    if icc is None or w is None:
        reason = "case scores do not vary, so agreement is undefined"
    return Agreement(icc, w, len(readers), len(shared), reason)


def icc_2_1(matrix: np.ndarray) -> float | None:
    """ICC(2,1) of an (n cases, k readers) score matrix; None when no score varies."""
    n, k = matrix.shape
    grand = matrix.mean()
    ss_cases = k * ((matrix.mean(axis=1) - grand) ** 2).sum()
    ss_readers = n * ((matrix.mean(axis=0) - grand) ** 2).sum()
    ss_error = ((matrix - grand) ** 2).sum() - ss_cases - ss_readers
    ms_cases = ss_cases / (n - 1)
    ms_readers = ss_readers / (k - 1)
    ms_error = ss_error / ((n - 1) * (k - 1))
    denominator = ms_cases + (k - 1) * ms_error + k * (ms_readers - ms_error) / n
    if not denominator > 1e-12:
        return None
    return float((ms_cases - ms_error) / denominator)


def kendalls_w(matrix: np.ndarray) -> float | None:
    """Kendall's W (tie-corrected) of an (n cases, k readers) matrix; None when every reader ties all."""
    n, k = matrix.shape
    ranks = rankdata(matrix, axis=0)  # each reader ranks the cases, ties get mean ranks
    rank_sums = ranks.sum(axis=1)
    s = ((rank_sums - rank_sums.mean()) ** 2).sum()
    ties = sum(float((counts ** 3 - counts).sum())
               for counts in (np.unique(matrix[:, j], return_counts=True)[1] for j in range(k)))
    denominator = k ** 2 * (n ** 3 - n) - k * ties
    if denominator <= 0:
        return None
    return float(12 * s / denominator)
