"""The reader study's scale and its arithmetic: five criteria rated 0-4, and pure functions of
rating rows (case scores, each reader's team means, the qualitative score and its interval,
agreement, how complete the reading is).

Only complete cases (all five criteria rated by that reader) count; the store
(:mod:`gan_eval.reader_study`) only writes complete cases, so incomplete ones only arise from
rows gathered elsewhere.

Real cases read in a visual Turing test (:mod:`gan_eval.turing`) are in the rows as the team
``REAL``: every result *for teams* leaves them out, so mixing them in never moves a team's score
or the agreement reported for the teams' cases; :func:`real_ceiling` gives their scores, the
ceiling of the scale as these readers use it.
"""

from __future__ import annotations

import numbers
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from .reader_agreement import (Agreement, AgreementIntervals, Interval, case_score_agreement,
                               case_score_agreement_intervals)
from .workspace import REAL


# --- criteria -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Criterion:
    key: str
    label: str      # short, for column headers and widgets
    question: str   # what the reader is asked


CRITERIA: tuple[Criterion, ...] = (
    Criterion("liver_morphology", "Liver morphology",
              "Is the liver morphology acceptable?"),
    Criterion("tumour_morphology", "Tumour morphology",
              "Is the tumour morphology consistent with HCC?"),
    Criterion("enhancement_pattern", "Enhancement pattern",
              "Is the lesion's contrast-enhancement pattern consistent with HCC?"),
    Criterion("necrosis", "Necrosis",
              "Is substantial necrosis present?"),
    Criterion("sequence_consistency", "Sequence consistency",
              "Is each sequence consistent with the expected sequence "
              "(T1 arterial, T1 portal-venous, T2)?"),
)
CRITERION_KEYS: tuple[str, ...] = tuple(c.key for c in CRITERIA)
RATING_MIN, RATING_MAX = 0, 4
MAX_CASE_SCORE = RATING_MAX * len(CRITERIA)  # 20


def check_ratings(reader: str, item_id: str, ratings: Mapping[str, int]) -> dict[str, int]:
    """A case's five ratings as {criterion: int}, in CRITERIA order; ValueError listing every
    problem (missing, unknown or out-of-scale criteria), naming the case and the reader."""
    problems = []
    missing = [key for key in CRITERION_KEYS if key not in ratings]
    if missing:
        problems.append(f"missing criteria {', '.join(missing)}")
    unknown = sorted(str(key) for key in ratings if key not in CRITERION_KEYS)
    if unknown:
        problems.append(f"unknown criteria {', '.join(unknown)}")
    for key in CRITERION_KEYS:
        value = ratings.get(key)
        if key in ratings and not (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                                   and RATING_MIN <= value <= RATING_MAX):
            problems.append(f"{key} must be an integer from {RATING_MIN} to {RATING_MAX}, got {value!r}")
    if problems:
        raise ValueError(
            f"Ratings of case {item_id} by reader {reader!r} were not saved: {'; '.join(problems)}. "
            f"Rate all {len(CRITERION_KEYS)} criteria, each an integer from {RATING_MIN} to {RATING_MAX}."
        )
    return {key: int(ratings[key]) for key in CRITERION_KEYS}


# --- rows and aggregation -----------------------------------------------------------------------

class Rating(NamedTuple):
    """One stored rating, un-blinded (the aggregation needs the team)."""

    reader: str
    team: str
    case_id: str
    criterion: str
    value: int


CaseKey = tuple[str, str, str]  # (reader, team, case_id)


def case_scores(rows: Iterable[Rating]) -> dict[CaseKey, int]:
    """Score 0-20 of each (reader, team, case) whose five criteria are all rated.

    Cases with a criterion missing are left out (a partial sum would not be on the 0-20 scale).
    """
    return {key: sum(values.values()) for key, values in _complete_cases(rows).items()}


def reader_team_scores(rows: Iterable[Rating]) -> dict[str, dict[str, float]]:
    """{reader: {team: mean of that reader's case scores for the team}}, real cases left out."""
    return _reader_team_scores(_teams(rows))


def qualitative_scores(rows: Iterable[Rating]) -> dict[str, float]:
    """{team: mean over readers of the reader's team score}, on the 0-20 scale, real cases left out.

    A reader counts for a team once they have completed at least one of its cases.
    """
    return _qualitative(_teams(rows))


def normalised_qualitative(score: float) -> float:
    """A 0-20 qualitative score on the 0-1 scale of the quantitative score."""
    return score / MAX_CASE_SCORE


def criterion_means(rows: Iterable[Rating]) -> dict[str, dict[str, float]]:
    """{team: {criterion: mean over readers of the reader's mean over the team's cases}}, real cases
    left out.

    Averaged the same way as the qualitative score, over complete cases only, so a team's five
    criterion means add up to its qualitative score.
    """
    return _criterion_means(_teams(rows))


@dataclass(frozen=True)
class Ceiling:
    """The real cases' scores: what the readers give the real thing, the ceiling a team can hope
    to reach on their scale (few readers give real cases a full 20). Averaged as a team's
    qualitative score and criterion means are; ``n_readers`` readers completed ``n_cases`` real
    cases between them."""

    qualitative: float
    criterion_means: dict[str, float]
    n_readers: int
    n_cases: int


def real_ceiling(rows: Iterable[Rating]) -> Ceiling | None:
    """The real cases' :class:`Ceiling`; None when no real case has a complete read."""
    real = [row for row in rows if row.team == REAL]
    score = _qualitative(real).get(REAL)
    if score is None:
        return None
    complete = case_scores(real)
    return Ceiling(score, _criterion_means(real)[REAL], len({reader for reader, _, _ in complete}),
                   len({case_id for _, _, case_id in complete}))


def agreement(rows: Iterable[Rating]) -> Agreement:
    """ICC(2,1) and Kendall's W of the readers' case scores (readers with a complete case), over
    the cases every such reader has completed (see :mod:`gan_eval.reader_agreement`); real cases
    left out."""
    return case_score_agreement(case_scores(_teams(rows)))


def agreement_intervals(rows: Iterable[Rating], n_boot: int = 1000, seed: int = 0,
                        level: float = 0.95) -> AgreementIntervals:
    """ICC(2,1), Kendall's W and Krippendorff's alpha (ordinal) of the teams' case scores, with
    intervals resampling cases (:func:`gan_eval.reader_agreement.case_score_agreement_intervals`)."""
    return case_score_agreement_intervals(case_scores(_teams(rows)), n_boot, seed, level)


def qualitative_intervals(rows: Iterable[Rating], n_boot: int = 2000, seed: int = 0,
                          level: float = 0.95) -> dict[str, Interval]:
    """{team: qualitative score and its percentile interval}, a two-stage bootstrap over readers and
    cases; real cases left out.

    A team's score has two sources of error: the jury is a sample of readers (some are severe,
    some lenient) and its selected cases a sample of its output. So each resample draws the
    readers with replacement, and within each team its cases with replacement (the cases with a
    complete read), then scores every team exactly as :func:`qualitative_scores` does: a drawn
    reader counts for a team when they completed at least one of its drawn cases, duplicates
    count as often as drawn. The reader draw is shared by all teams, as the same jury read them
    all. Resampling both factors counts the reader x case interaction twice, so the interval is
    slightly wide (conservative) rather than narrow. A resample where nobody read any drawn case
    of a team (readers with disjoint cases) is dropped for that team.

    The random stream is fixed: ``numpy.random.default_rng(seed)`` draws the readers, an
    (n_boot, n_readers) integer array over the sorted readers, then for each team in sorted order
    its cases, an (n_boot, n_cases) array over its sorted case ids; the same seed gives the same
    intervals.
    """
    scores = case_scores(_teams(rows))
    point = _qualitative(_teams(rows))
    readers = sorted({reader for reader, _, _ in scores})
    rng = np.random.default_rng(seed)
    reader_draws = rng.integers(0, len(readers), size=(n_boot, len(readers)))
    intervals = {}
    for team in sorted(point):
        cases = sorted({case_id for _, t, case_id in scores if t == team})
        matrix = np.full((len(readers), len(cases)), np.nan)
        for (reader, t, case_id), score in scores.items():
            if t == team:
                matrix[readers.index(reader), cases.index(case_id)] = score
        case_draws = rng.integers(0, len(cases), size=(n_boot, len(cases)))
        sample = matrix[reader_draws[:, :, None], case_draws[:, None, :]]   # (resample, reader, case)
        n_read = np.sum(~np.isnan(sample), axis=2)
        reader_means = np.nansum(sample, axis=2) / np.maximum(n_read, 1)
        n_counted = np.sum(n_read > 0, axis=1)
        team_scores = np.sum(np.where(n_read > 0, reader_means, 0.0), axis=1) / np.maximum(n_counted, 1)
        kept = team_scores[n_counted > 0]
        low, high = np.quantile(kept, [(1 - level) / 2, (1 + level) / 2]) if kept.size else (None, None)
        intervals[team] = Interval(point[team], None if low is None else float(low),
                                   None if high is None else float(high))
    return intervals


class Reads(NamedTuple):
    """How much of a team the jury has read: ``done`` complete reads (reader x case) of its
    current cases, out of ``expected`` = readers x current cases."""

    done: int
    expected: int

    @property
    def complete(self) -> bool:
        return self.done == self.expected


def read_counts(rows: Iterable[Rating], cases: Mapping[str, Sequence[str]],
                readers: Iterable[str] = ()) -> dict[str, Reads]:
    """{team: :class:`Reads`} for every team of ``cases`` ({team: current case ids}).

    The readers expected to read everything are ``readers`` (the invited ones, as stored) and
    everyone with a complete read of a current case: a team scored on fewer reads than that (a
    reader has not finished, or the team was re-uploaded and its new cases are unread) is marked
    incomplete, since its score rests on part of the jury or part of its cases.
    """
    current = {(team, case_id) for team, ids in cases.items() for case_id in ids}
    done = [key for key in case_scores(rows) if key[1:] in current]
    jury = {reader for reader, _, _ in done} | set(readers)
    per_team = Counter(team for _, team, _ in done)
    return {team: Reads(per_team[team], len(jury) * len(set(ids))) for team, ids in sorted(cases.items())}


def _teams(rows: Iterable[Rating]) -> list[Rating]:
    return [row for row in rows if row.team != REAL]


def _reader_team_scores(rows: Iterable[Rating]) -> dict[str, dict[str, float]]:
    scores: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for (reader, team, _), score in case_scores(rows).items():
        scores[reader][team].append(score)
    return {reader: {team: float(np.mean(s)) for team, s in teams.items()} for reader, teams in scores.items()}


def _qualitative(rows: Iterable[Rating]) -> dict[str, float]:
    per_team: dict[str, list[float]] = defaultdict(list)
    for teams in _reader_team_scores(rows).values():
        for team, score in teams.items():
            per_team[team].append(score)
    return {team: float(np.mean(s)) for team, s in sorted(per_team.items())}


def _criterion_means(rows: Iterable[Rating]) -> dict[str, dict[str, float]]:
    per_reader: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for (reader, team, _), values in _complete_cases(rows).items():
        for key, value in values.items():
            per_reader[(reader, team)][key].append(value)
    per_team: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (_, team), by_key in per_reader.items():
        for key, values in by_key.items():
            per_team[team][key].append(float(np.mean(values)))
    return {team: {key: float(np.mean(by_key[key])) for key in CRITERION_KEYS}
            for team, by_key in sorted(per_team.items())}


def _complete_cases(rows: Iterable[Rating]) -> dict[CaseKey, dict[str, int]]:
    cases: dict[CaseKey, dict[str, int]] = defaultdict(dict)
    for row in rows:
        if row.criterion not in CRITERION_KEYS:
            raise ValueError(
                f"Unknown criterion {row.criterion!r} in the rating of case {row.case_id!r} of team "
                f"{row.team!r} by reader {row.reader!r}; expected one of {', '.join(CRITERION_KEYS)}."
            )
        cases[(row.reader, row.team, row.case_id)][row.criterion] = int(row.value)
    return {key: values for key, values in cases.items() if len(values) == len(CRITERION_KEYS)}


def unread_summary(progress: dict[str, dict[str, tuple[int, int]]]) -> list[str]:
    """What is left to read, one line per reader with unread cases, e.g. ``alice: 3 of 60 unread
    (good 2, small 1)``; empty when every reader has rated every case."""
    lines = []
    for reader, teams in progress.items():
        left = {team: total - rated for team, (rated, total) in teams.items() if rated < total}
        if left:
            total = sum(t for _, t in teams.values())
            detail = ", ".join(f"{team} {n}" for team, n in sorted(left.items()))
            lines.append(f"{reader}: {sum(left.values())} of {total} unread ({detail})")
    return lines
