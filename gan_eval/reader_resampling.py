"""How sure is the readers' half of the final score? Resample the readers and the rated cases.

The qualitative score of a team is the mean over readers of each reader's mean case score (0-20)
over the team's rated cases (``reader_scores.qualitative_scores``). It varies with which readers
were asked and which cases were selected for reading, so each resample draws, with replacement,

- the readers, the same draw for every team (every reader rates every team: a severe reader is
  severe for all, which must not be averaged away team by team), and
- each team's rated cases, separately per team,

and recomputes every team's qualitative score exactly as the study does (only complete cases
count; a reader counts for a team when at least one of their completed cases is in the draw).
These are means, so resampling with replacement is valid here (no nearest-neighbour statistic
is involved). A team for which a draw leaves no completed case keeps its reported score in that
draw. ``scoring.add_qualitative`` centres the resamples on the reported scores, as the
quantitative ones (``metrics.rank_confidence``), and pairs them draw by draw with the
quantitative resamples to give the final score's rank confidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .metrics.inputs import rng
from .reader_scores import Rating, case_scores, qualitative_scores


def qualitative_resamples(rows: Iterable[Rating], teams: Sequence[str], resamples: int,
                          seed: int = 0) -> np.ndarray:
    """``(resamples, teams)`` qualitative scores (0-20) from resampled readers and cases (not
    centred); ValueError for a team with no completed case."""
    rows = list(rows)
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    reported = qualitative_scores(rows)
    missing = [t for t in teams if t not in reported]
    if missing:
        raise ValueError(f"no completed rating for team(s) {', '.join(missing)}")
    scores = case_scores(rows)
    readers = sorted({reader for reader, _, _ in scores})
    tables = []  # per team: (readers x cases) case scores, NaN where a reader did not complete the case
    for team in teams:
        cases = sorted({case for _, t, case in scores if t == team})
        table = np.full((len(readers), len(cases)), np.nan)
        for (reader, t, case), value in scores.items():
            if t == team:
                table[readers.index(reader), cases.index(case)] = value
        tables.append(table)
    point = np.array([reported[t] for t in teams])
    draws = rng(seed)
    out = np.empty((resamples, len(teams)))
    for s in range(resamples):
        chosen = draws.integers(0, len(readers), len(readers))
        for t, table in enumerate(tables):
            drawn = table[np.ix_(chosen, draws.integers(0, table.shape[1], table.shape[1]))]
            completed = np.isfinite(drawn)
            counts = completed.sum(axis=1)
            sums = np.where(completed, drawn, 0.0).sum(axis=1)
            rated = counts > 0  # readers with a completed case in the draw
            out[s, t] = (sums[rated] / counts[rated]).mean() if rated.any() else point[t]
    return out
