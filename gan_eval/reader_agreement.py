"""Inter-reader agreement of the reader study: ICC(2,1), Kendall's W and Krippendorff's alpha of
the readers' case scores, with bootstrap intervals.

Kept apart from :mod:`gan_eval.reader_study` (the store) and :mod:`gan_eval.reader_scores` (the
aggregation) because these are general statistics of an (n cases, k readers) score matrix,
checked on their own against published values; ``reader_scores.agreement`` feeds them the
study's case scores.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Mapping, NamedTuple

import krippendorff
import numpy as np
from scipy.stats import rankdata

CaseScores = Mapping[tuple[str, str, str], float]  # {(reader, team, case_id): case score}


class Interval(NamedTuple):
    """A statistic and its bootstrap percentile interval; ``low`` and ``high`` are None when no
    resample gives a value (the statistic is undefined on every one)."""

    estimate: float
    low: float | None
    high: float | None


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


@dataclass(frozen=True)
class AgreementIntervals:
    """Agreement with 95% intervals (see :func:`case_score_agreement_intervals`).

    ``icc`` and ``kendall_w`` are over the ``n_cases`` cases every reader completed, as in
    :class:`Agreement`; ``krippendorff_alpha`` (ordinal) is over the ``n_cases_alpha`` cases read
    by at least two readers, since alpha takes missing reads as they come. Each is None when
    undefined, and ``reason`` says why (the first reason met).
    """

    icc: Interval | None
    kendall_w: Interval | None
    krippendorff_alpha: Interval | None
    n_readers: int
    n_cases: int
    n_cases_alpha: int
    reason: str | None = None


def case_score_agreement(scores: CaseScores) -> Agreement:
    """ICC(2,1) and Kendall's W of {(reader, team, case_id): case score}, over the cases that every
    reader present has scored (a reader or case with a gap would bias both statistics)."""
    readers, matrix, reason = _shared_matrix(scores)
    if reason is not None:
        return Agreement(None, None, len(readers), len(matrix), reason)
    icc, w = icc_2_1(matrix), kendalls_w(matrix)
    if icc is None or w is None:
        reason = _NO_VARIANCE
    return Agreement(icc, w, len(readers), len(matrix), reason)


def case_score_agreement_intervals(scores: CaseScores, n_boot: int = 1000, seed: int = 0,
                                   level: float = 0.95) -> AgreementIntervals:
    """ICC(2,1), Kendall's W and Krippendorff's alpha of the case scores, each with a percentile
    bootstrap interval over cases.

    Cases are resampled, readers kept: these statistics describe how far *these* readers agree,
    and their sampling error comes from which cases were read. One resample draws as many cases
    as there are, with replacement; a resample on which a statistic is undefined (no variance) is
    dropped for that statistic. The random stream is fixed: ``numpy.random.default_rng(seed)``
    first draws the ICC/W resamples, an (n_boot, n_cases) integer array, then the alpha ones, an
    (n_boot, n_cases_alpha) array; so the same seed gives the same intervals.
    """
    readers, matrix, reason = _shared_matrix(scores)
    rng = np.random.default_rng(seed)
    icc = w = None
    if reason is None:
        draws = rng.integers(0, len(matrix), size=(n_boot, len(matrix)))
        icc = _bootstrap(icc_2_1, matrix, draws, level)
        w = _bootstrap(kendalls_w, matrix, draws, level)
        reason = None if icc is not None and w is not None else _NO_VARIANCE
    by_reader = _reader_by_case(scores, readers)   # (readers, cases read by >= 2), NaN where unread
    alpha = None
    if by_reader.shape[1]:
        draws = rng.integers(0, by_reader.shape[1], size=(n_boot, by_reader.shape[1]))
        alpha = _bootstrap(krippendorff_alpha, by_reader.T, draws, level)
    return AgreementIntervals(icc, w, alpha, len(readers), len(matrix), by_reader.shape[1],
                              reason or (None if alpha is not None else _NO_VARIANCE))


def krippendorff_alpha(matrix: np.ndarray) -> float | None:
    """Krippendorff's alpha, ordinal, of an (n cases, k readers) score matrix with NaN for a case a
    reader did not read (the ``krippendorff`` package, which takes readers as rows).

    alpha = 1 - D_o / D_e: the disagreement observed between readers of the same case over the
    disagreement expected by chance from all scores pooled, with the ordinal distance (how many
    scores given lie between two values), so that a 14 against a 15 counts less than a 14 against
    a 20 and no interval scale is assumed. It uses every case read by at least two readers, so
    unlike ICC and W it needs no case read by all. None, like ICC and W, with fewer than 2 such
    cases (one case cannot show agreement beyond chance), or when every score is the same (D_e = 0).
    """
    pairable = matrix[np.sum(~np.isnan(matrix), axis=1) >= 2]   # the package drops the other cases
    if len(pairable) < 2 or np.unique(pairable[~np.isnan(pairable)]).size < 2:
        return None
    return float(krippendorff.alpha(reliability_data=matrix.T, level_of_measurement="ordinal"))


_NO_VARIANCE = "case scores do not vary, so agreement is undefined"


def _shared_matrix(scores: CaseScores) -> tuple[list[str], np.ndarray, str | None]:
    """(readers, (cases every reader scored) x readers matrix, why agreement cannot be computed)."""
    readers = sorted({reader for reader, _, _ in scores})
    by_case = _by_case(scores)
    shared = sorted(case for case, by_reader in by_case.items() if len(by_reader) == len(readers))
    matrix = np.array([[by_case[case][reader] for reader in readers] for case in shared], dtype=float)
    if len(readers) < 2:
        return readers, matrix, f"agreement needs at least 2 readers, found {len(readers)}"
    if len(shared) < 2:
        return readers, matrix, (f"agreement needs at least 2 cases completed by all {len(readers)} readers, "
                                 f"found {len(shared)}")
    return readers, matrix, None


def _reader_by_case(scores: CaseScores, readers: list[str]) -> np.ndarray:
    """(readers, cases read by at least 2 of them) matrix, NaN where a reader did not read the case."""
    by_case = _by_case(scores)
    cases = sorted(case for case, by_reader in by_case.items() if len(by_reader) >= 2)
    return np.array([[by_case[case].get(reader, np.nan) for case in cases] for reader in readers],
                    dtype=float).reshape(len(readers), len(cases))


def _by_case(scores: CaseScores) -> dict[tuple[str, str], dict[str, float]]:
    """{(team, case_id): {reader: score}}."""
    by_case: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for (reader, team, case_id), score in scores.items():
        by_case[(team, case_id)][reader] = score
    return by_case


def _bootstrap(statistic: Callable[[np.ndarray], float | None], matrix: np.ndarray, draws: np.ndarray,
               level: float) -> Interval | None:
    """``statistic`` of ``matrix`` (cases x readers) and its percentile interval over the rows
    resampled as ``draws`` says; None when the statistic is undefined on ``matrix`` itself."""
    estimate = statistic(matrix)
    if estimate is None:
        return None
    values = [v for v in (statistic(matrix[rows]) for rows in draws) if v is not None]
    if not values:
        return Interval(estimate, None, None)
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return Interval(estimate, float(low), float(high))


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
