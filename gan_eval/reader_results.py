"""The reader study's results over its stored rows: ratings and verdicts un-blinded, their CSV
exports, and every aggregate of :mod:`gan_eval.reader_scores` and :mod:`gan_eval.turing`.

:class:`StudyResults` is mixed into :class:`gan_eval.reader_study.ReaderStudy`, which provides the
connections (``_connection``, ``_reading``) and reader names (``_stored_reader``); kept apart so
that the store (schema, pool, reading, open/closed) reads on its own.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import IO, Iterable, Mapping, NamedTuple, Sequence

from . import turing
from .csv_safe import write_rows
from .reader_names import normalise_reader
from .reader_scores import (CRITERION_KEYS, Agreement, AgreementIntervals, CaseKey, Ceiling, Interval, Rating, Reads,
                            agreement, agreement_intervals, case_scores, criterion_means, qualitative_intervals,
                            qualitative_scores, read_counts, reader_team_scores, real_ceiling)
from .turing import Detection, VerdictRow

Selection = Mapping[str, Sequence[str]]  # {team: selected case ids, in selection order}
EXPORT_COLUMNS = ("reader", "team", "case_id", "item_id", "criterion", "value", "rated_at", "stale")
VERDICT_EXPORT_COLUMNS = ("reader", "team", "case_id", "item_id", "says", "confidence", "rated_at", "stale")


class StoredRating(NamedTuple):
    """One stored rating, un-blinded, with where it was read and whether it still counts."""

    reader: str
    team: str
    case_id: str
    criterion: str
    value: int
    item_id: str
    rated_at: str
    position: int
    stale: bool          # the case is no longer selected (or the team was removed)


class StudyResults:
    """What the organiser, the leaderboard and the report read from a study."""

    # Results count current cases only, as last registered; ``selected`` (a selection as given to
    # register_items) decides what is current instead: once reading is closed the app no longer
    # registers, and a team removed or re-uploaded since must not be scored on its old cases.
    # ``include_stale`` counts every rating kept.

    def ratings(self, *, include_stale: bool = False, selected: Selection | None = None) -> list[Rating]:
        """The stored ratings of current cases, un-blinded."""
        return [Rating(*row[:5]) for row in self.stored_ratings(include_stale=include_stale, selected=selected)]

    def stored_ratings(self, *, include_stale: bool = False, selected: Selection | None = None) -> list[StoredRating]:
        """Every stored rating of current cases (``include_stale``: of every case), un-blinded."""
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT r.reader, i.team, i.case_id, r.criterion, r.value, r.item_id, r.rated_at, i.position, "
                "i.stale FROM ratings r JOIN items i USING (item_id)").fetchall()
        current = _is_current(selected)
        return [StoredRating(*row[:8], not current(row)) for row in rows if include_stale or current(row)]

    def export_csv(self, path_or_buffer: str | Path | IO[str], *, selected: Selection | None = None) -> int:
        """Write every rating kept, un-blinded, stale ones included, with columns EXPORT_COLUMNS
        (``stale`` is 1 for a case no longer selected, else 0); returns the number of rows.

        Names and case ids that a spreadsheet would read as formulas are neutralised
        (:mod:`gan_eval.csv_safe`): readers and teams choose them, the organiser opens the file.
        """
        rows = sorted(self.stored_ratings(include_stale=True, selected=selected),
                      key=lambda r: (r.reader, r.team, r.stale, r.position, r.case_id, CRITERION_KEYS.index(r.criterion)))
        table = [(r.reader, r.team, r.case_id, r.item_id, r.criterion, r.value, r.rated_at, int(r.stale)) for r in rows]
        return _write_csv(path_or_buffer, table, EXPORT_COLUMNS)

    def verdicts(self, *, include_stale: bool = False, selected: Selection | None = None) -> list[VerdictRow]:
        """The stored Turing-test verdicts of current cases, un-blinded."""
        return [VerdictRow(*row[:5]) for row in self._verdict_rows(include_stale, selected)]

    def _verdict_rows(self, include_stale: bool, selected: Selection | None) -> list[tuple]:
        """(reader, team, case_id, says, confidence, item_id, rated_at, stale) rows."""
        with self._connection() as conn:
            rows = conn.execute("SELECT v.reader, i.team, i.case_id, v.says, v.confidence, v.item_id, v.rated_at, "
                                "i.stale FROM verdicts v JOIN items i USING (item_id)").fetchall()
        current = _is_current(selected)
        return [row[:7] + (not current(row),) for row in rows if include_stale or current(row)]

    def export_verdicts_csv(self, path_or_buffer: str | Path | IO[str], *, selected: Selection | None = None) -> int:
        """Write every Turing-test verdict kept, as :meth:`export_csv` writes the ratings, with
        columns VERDICT_EXPORT_COLUMNS; returns the number of rows."""
        rows = sorted(self._verdict_rows(include_stale=True, selected=selected), key=lambda row: row[:3])
        table = [(reader, team, case_id, item_id, says, confidence, rated_at, int(stale))
                 for reader, team, case_id, says, confidence, item_id, rated_at, stale in rows]
        return _write_csv(path_or_buffer, table, VERDICT_EXPORT_COLUMNS)

    def case_scores(self, *, include_stale: bool = False, selected: Selection | None = None) -> dict[CaseKey, int]:
        return case_scores(self.ratings(include_stale=include_stale, selected=selected))

    def reader_team_scores(self, *, include_stale: bool = False,
                           selected: Selection | None = None) -> dict[str, dict[str, float]]:
        return reader_team_scores(self.ratings(include_stale=include_stale, selected=selected))

    def qualitative_scores(self, *, include_stale: bool = False, selected: Selection | None = None) -> dict[str, float]:
        """{team: qualitative score 0-20}, what scoring folds into the leaderboard: teams with a
        current rated case only, so ``add_qualitative`` never meets a removed submission."""
        return qualitative_scores(self.ratings(include_stale=include_stale, selected=selected))

    def criterion_means(self, *, include_stale: bool = False,
                        selected: Selection | None = None) -> dict[str, dict[str, float]]:
        return criterion_means(self.ratings(include_stale=include_stale, selected=selected))

    def agreement(self, *, include_stale: bool = False, selected: Selection | None = None) -> Agreement:
        return agreement(self.ratings(include_stale=include_stale, selected=selected))

    def qualitative_intervals(self, *, selected: Selection | None = None, n_boot: int = 2000,
                              seed: int = 0) -> dict[str, Interval]:
        """{team: qualitative score with its 95% interval}, resampling readers and cases
        (:func:`gan_eval.reader_scores.qualitative_intervals`)."""
        return qualitative_intervals(self.ratings(selected=selected), n_boot, seed)

    def agreement_intervals(self, *, selected: Selection | None = None, n_boot: int = 1000,
                            seed: int = 0) -> AgreementIntervals:
        """ICC(2,1), Kendall's W and Krippendorff's alpha with 95% intervals resampling cases."""
        return agreement_intervals(self.ratings(selected=selected), n_boot, seed)

    def real_ceiling(self, *, selected: Selection | None = None) -> Ceiling | None:
        """The real cases' qualitative score and criterion means (Turing test; None without)."""
        return real_ceiling(self.ratings(selected=selected))

    def reads(self, readers: Iterable[str] = (), *, selected: Selection | None = None) -> dict[str, Reads]:
        """{team: complete reads and expected reads} over its current cases (``selected``'s, else the
        registered ones), the jury being ``readers`` (the invited ones) and everyone who read a
        current case (:func:`gan_eval.reader_scores.read_counts`)."""
        with self._reading() as conn:
            names = {self._stored_reader(conn, normalise_reader(r)) for r in readers}
            registered = conn.execute("SELECT team, case_id FROM items WHERE stale = 0 ORDER BY team, position")
            cases: dict[str, list[str]] = defaultdict(list)
            for team, case_id in registered:
                cases[team].append(case_id)
        current = cases if selected is None else check_selection(selected)
        return read_counts(self.ratings(selected=selected), current, names)

    def turing_summary(self, *, selected: Selection | None = None) -> dict[str, dict[str, float | int | None]]:
        """The Turing test as ``reading["turing"]`` holds it (:func:`gan_eval.turing.turing_summary`)."""
        return turing.turing_summary(self.verdicts(selected=selected))

    def detection_by_reader(self, *, selected: Selection | None = None) -> dict[str, Detection]:
        """{reader: accuracy, sensitivity, specificity of their verdicts} (:mod:`gan_eval.turing`)."""
        return turing.detection_by_reader(self.verdicts(selected=selected))


def check_selection(selected: Selection) -> dict[str, list[str]]:
    wanted: dict[str, list[str]] = {}
    for team, case_ids in selected.items():
        if not isinstance(team, str) or not team.strip():
            raise ValueError(f"Team names must be non-empty strings, got {team!r}.")
        if isinstance(case_ids, str) or not all(isinstance(c, str) and c for c in case_ids):
            raise ValueError(f"Team {team!r}: the selection must be a list of non-empty case id strings, "
                             f"got {case_ids!r}.")
        duplicates = sorted(c for c, n in Counter(case_ids).items() if n > 1)
        if duplicates:
            raise ValueError(f"Team {team!r} selects case(s) {', '.join(duplicates)} more than once.")
        wanted[team] = list(case_ids)
    return wanted


def _is_current(selected: Selection | None):
    """Whether a (reader, team, case_id, ..., stale) row is of a current case: in ``selected``, or
    not stale when no selection is given."""
    if selected is None:
        return lambda row: not row[-1]
    pairs = {(team, case_id) for team, case_ids in check_selection(selected).items() for case_id in case_ids}
    return lambda row: (row[1], row[2]) in pairs


def _write_csv(path_or_buffer: str | Path | IO[str], table: list[tuple], header: Sequence[str]) -> int:
    if isinstance(path_or_buffer, (str, Path)):
        with open(path_or_buffer, "w", newline="", encoding="utf-8") as f:
            return write_rows(f, table, header=header)
    return write_rows(path_or_buffer, table, header=header)
