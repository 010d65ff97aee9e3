"""Visual Turing test: real cases mixed, blinded, into the reading; for every case each reader
also says whether it is real or generated, and how sure they are.

The design, and why:

- **Which real cases.** The same K-means rule that selects each team's cases, run on the real
  set's features (:func:`select_real_cases`, default 10): the real cases span the real set's
  variety as a team's cases span its output. Hand-picked real cases would be the typical (or the
  striking) ones, and the test would measure the pick.
- **How they enter.** As the team ``REAL`` (``gan_eval.workspace.REAL``, a name no team may
  take) in the selection given to ``ReaderStudy.register_items`` (:func:`reading_pool`): the same
  opaque item ids, the same shuffled order, nothing to tell them apart but the images. Every
  result for teams leaves them out (:mod:`gan_eval.reader_scores`).
- **The answer.** ``says`` is ``"real"`` or ``"generated"``; ``confidence`` is 1 (guessing),
  2 (fairly sure) or 3 (certain). Three named levels rather than a 50-100% slider: a reader
  cannot calibrate a percentage over some 70 cases, and labelled levels are answered the same
  way from the first case to the last. Call and confidence together make a 6-point ordinal
  scale, from certain-real to certain-generated, whose ROC area (:attr:`Detection.auc`) uses the
  confidence; the other results use the call alone.

Results count reads, one per (reader, case) with a verdict; pooled values are over all reads
(not means of the readers' values), so a reader who read more weighs more. Positive = generated:

- sensitivity = generated reads called generated / generated reads;
- specificity = real reads called real / real reads;
- accuracy = reads called right / reads;
- a team's ``taken_for_real`` = reads of its cases called real / reads of its cases. Compare it
  with the real cases' own ``taken_for_real`` (= specificity): a generator the jury cannot tell
  from the real thing is taken for real as often as the real cases are, not 100% of the time.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from .selection import select_cases
from .workspace import REAL

SAYS_REAL, SAYS_GENERATED = "real", "generated"
ANSWERS = (SAYS_REAL, SAYS_GENERATED)
CONFIDENCE_LABELS = {1: "guessing", 2: "fairly sure", 3: "certain"}
CONFIDENCE_MIN, CONFIDENCE_MAX = min(CONFIDENCE_LABELS), max(CONFIDENCE_LABELS)
QUESTION = "Is this case real or generated?"
DEFAULT_REAL_CASES = 10
# The pooled entry of turing_summary: starts with a character no team name may start with
# (workspace.check_team_name), so it never meets a team.
POOLED = "(all reads)"


class Verdict(NamedTuple):
    """A reader's answer to :data:`QUESTION` for one case."""

    says: str        # "real" or "generated"
    confidence: int  # 1 guessing, 2 fairly sure, 3 certain


class VerdictRow(NamedTuple):
    """One stored verdict, un-blinded (results need the team)."""

    reader: str
    team: str
    case_id: str
    says: str
    confidence: int


def check_verdict(reader: str, item_id: str, verdict: object) -> Verdict:
    """``verdict`` (a :class:`Verdict` or any (says, confidence) pair) as a Verdict; ValueError
    naming the case and the reader otherwise."""
    if isinstance(verdict, (tuple, list)) and len(verdict) == 2:
        says, confidence = verdict
        if (says in ANSWERS and isinstance(confidence, numbers.Integral) and not isinstance(confidence, bool)
                and CONFIDENCE_MIN <= confidence <= CONFIDENCE_MAX):
            return Verdict(says, int(confidence))
    raise ValueError(
        f"Ratings of case {item_id} by reader {reader!r} were not saved: the verdict must be "
        f"(\"real\" or \"generated\", confidence {CONFIDENCE_MIN} to {CONFIDENCE_MAX}), got {verdict!r}."
    )


def select_real_cases(real_features: np.ndarray, real_case_ids: Sequence[str], k: int = DEFAULT_REAL_CASES,
                      seed: int = 0) -> list[str]:
    """The real cases mixed into the reading: the case nearest each of ``k`` K-means centres of the
    real set (:func:`gan_eval.selection.select_cases`, the teams' rule), in cluster order."""
    if len(real_case_ids) != len(real_features):
        raise ValueError(f"{len(real_case_ids)} real case ids for {len(real_features)} feature rows.")
    return [real_case_ids[i] for i in select_cases(real_features, k, seed)]


def reading_pool(selection: Mapping[str, Sequence[str]], real_cases: Sequence[str]) -> dict[str, list[str]]:
    """The selection to register and score with while the Turing test is on: the teams' selected
    cases and ``real_cases`` as the team ``REAL``."""
    if REAL in selection:
        raise ValueError(f"The selection already has a team {REAL!r}; that name is the real set's.")
    return {**{team: list(ids) for team, ids in selection.items()}, REAL: list(real_cases)}


@dataclass(frozen=True)
class Detection:
    """How well a set of reads tells generated cases from real ones (positive = generated).

    Each rate is None when its denominator is 0 (no read of that kind).
    """

    n_generated: int          # reads of generated cases
    n_real: int               # reads of real cases
    generated_called_generated: int
    real_called_real: int
    auc: float | None         # ROC area of the 6-point scale, see :func:`detection`

    @property
    def n_reads(self) -> int:
        return self.n_generated + self.n_real

    @property
    def sensitivity(self) -> float | None:
        return _ratio(self.generated_called_generated, self.n_generated)

    @property
    def specificity(self) -> float | None:
        return _ratio(self.real_called_real, self.n_real)

    @property
    def accuracy(self) -> float | None:
        return _ratio(self.generated_called_generated + self.real_called_real, self.n_reads)


class TeamVerdicts(NamedTuple):
    """``called_real`` of the ``n_reads`` reads of a team's cases said "real"."""

    called_real: int
    n_reads: int

    @property
    def taken_for_real(self) -> float | None:
        return _ratio(self.called_real, self.n_reads)


def detection(rows: Iterable[VerdictRow]) -> Detection:
    """Sensitivity, specificity and accuracy of the reads, and their ROC area.

    The ROC area scores each read on the 6-point scale (+confidence when called generated,
    -confidence when called real) and is the probability that a generated read scores above a
    real read, ties counting half (the Mann-Whitney form): 0.5 is chance, 1 a jury that always
    tells them apart; None without reads of both kinds.
    """
    generated, real = [], []
    for row in rows:
        score = row.confidence if row.says == SAYS_GENERATED else -row.confidence
        (real if row.team == REAL else generated).append(score)
    auc = None
    if generated and real:
        g, r = np.array(generated)[:, None], np.array(real)[None, :]
        auc = float(np.mean((g > r) + 0.5 * (g == r)))
    return Detection(len(generated), len(real), sum(s > 0 for s in generated), sum(s < 0 for s in real), auc)


def detection_by_reader(rows: Iterable[VerdictRow]) -> dict[str, Detection]:
    """{reader: :class:`Detection` of that reader's reads}."""
    by_reader: dict[str, list[VerdictRow]] = {}
    for row in rows:
        by_reader.setdefault(row.reader, []).append(row)
    return {reader: detection(reads) for reader, reads in sorted(by_reader.items())}


def team_verdicts(rows: Iterable[VerdictRow]) -> dict[str, TeamVerdicts]:
    """{team: :class:`TeamVerdicts`}, the real cases as team ``REAL``."""
    counts: dict[str, list[int]] = {}
    for row in rows:
        count = counts.setdefault(row.team, [0, 0])
        count[0] += row.says == SAYS_REAL
        count[1] += 1
    return {team: TeamVerdicts(*count) for team, count in sorted(counts.items())}


def turing_summary(rows: Iterable[VerdictRow]) -> dict[str, dict[str, float | int | None]]:
    """The test as a snapshot holds it (``reading["turing"]``): {team: {"taken_for_real", "n_reads"}}
    for every team with a verdict, ``REAL`` included, and :data:`POOLED`: {"accuracy",
    "sensitivity", "specificity", "auc", "n_reads"} over all reads. Empty without verdicts."""
    rows = list(rows)
    if not rows:
        return {}
    summary: dict[str, dict[str, float | int | None]] = {
        team: {"taken_for_real": v.taken_for_real, "n_reads": v.n_reads} for team, v in team_verdicts(rows).items()}
    pooled = detection(rows)
    summary[POOLED] = {"accuracy": pooled.accuracy, "sensitivity": pooled.sensitivity,
                       "specificity": pooled.specificity, "auc": pooled.auc, "n_reads": pooled.n_reads}
    return summary


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None
