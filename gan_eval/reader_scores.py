"""The reader study's scale and its arithmetic: five criteria rated 0-4, and pure functions of
rating rows (case scores, each reader's team means, the qualitative score, agreement).

Only complete cases (all five criteria rated by that reader) count; the store
(:mod:`gan_eval.reader_study`) only writes complete cases, so incomplete ones only arise from
rows gathered elsewhere.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, NamedTuple

import numpy as np

from .reader_agreement import Agreement, case_score_agreement


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
    """{reader: {team: mean of that reader's case scores for the team}}."""
    scores: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for (reader, team, _), score in case_scores(rows).items():
        scores[reader][team].append(score)
    return {reader: {team: float(np.mean(s)) for team, s in teams.items()} for reader, teams in scores.items()}


def qualitative_scores(rows: Iterable[Rating]) -> dict[str, float]:
    """{team: mean over readers of the reader's team score}, on the 0-20 scale.

    A reader counts for a team once they have completed at least one of its cases.
    """
    per_team: dict[str, list[float]] = defaultdict(list)
    for teams in reader_team_scores(rows).values():
        for team, score in teams.items():
            per_team[team].append(score)
    return {team: float(np.mean(s)) for team, s in sorted(per_team.items())}


def normalised_qualitative(score: float) -> float:
    """A 0-20 qualitative score on the 0-1 scale of the quantitative score."""
    return score / MAX_CASE_SCORE


def criterion_means(rows: Iterable[Rating]) -> dict[str, dict[str, float]]:
    """{team: {criterion: mean over readers of the reader's mean over the team's cases}}.

    Averaged the same way as the qualitative score, over complete cases only, so a team's five
    criterion means add up to its qualitative score.
    """
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


def agreement(rows: Iterable[Rating]) -> Agreement:
    """ICC(2,1) and Kendall's W of the readers' case scores (readers with a complete case), over
    the cases every such reader has completed (see :mod:`gan_eval.reader_agreement`)."""
    return case_score_agreement(case_scores(rows))


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
