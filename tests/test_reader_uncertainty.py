"""Uncertainty and completeness of the reading: the qualitative score's two-stage bootstrap
interval against a hand-rolled resampler, agreement intervals, Krippendorff's alpha against the
package and a published value, and each team's complete reads."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest

from gan_eval.reader_agreement import case_score_agreement_intervals, icc_2_1, kendalls_w, krippendorff_alpha
from gan_eval.reader_scores import (CRITERION_KEYS, Rating, Reads, agreement, agreement_intervals, case_scores,
                                    qualitative_intervals, qualitative_scores, read_counts)
from gan_eval.reader_study import ReaderStudy
from gan_eval.turing import REAL

from test_reader_study import HAND, HAND_ICC, HAND_QUALITATIVE, HAND_W, hand_rows, store_hand

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", example C: 4 observers, 12
# units, missing values; ordinal alpha = 0.815.
KRIPPENDORFF_C = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
]).T   # (units, observers)


def rows_from_scores(scores: dict[tuple[str, str, str], int]) -> list[Rating]:
    """Ratings giving each (reader, team, case) the case score ``score`` (criteria 4, 4, ..., rest)."""
    rows = []
    for (reader, team, case_id), score in scores.items():
        values = [min(4, max(0, score - 4 * i)) for i in range(len(CRITERION_KEYS))]
        rows += [Rating(reader, team, case_id, key, value) for key, value in zip(CRITERION_KEYS, values)]
    return rows


def reference_intervals(rows: list[Rating], n_boot: int, seed: int) -> dict[str, tuple[float, float]]:
    """The documented two-stage bootstrap, with plain loops: readers drawn first (n_boot x readers),
    then each team's cases in sorted team order (n_boot x cases)."""
    scores = case_scores(rows)
    readers = sorted({r for r, _, _ in scores})
    teams = sorted({t for _, t, _ in scores})
    rng = np.random.default_rng(seed)
    reader_draws = rng.integers(0, len(readers), size=(n_boot, len(readers)))
    out = {}
    for team in teams:
        cases = sorted({c for _, t, c in scores if t == team})
        case_draws = rng.integers(0, len(cases), size=(n_boot, len(cases)))
        values = []
        for b in range(n_boot):
            reader_means = []
            for i in reader_draws[b]:
                mine = [scores[(readers[i], team, cases[j])] for j in case_draws[b]
                        if (readers[i], team, cases[j]) in scores]
                if mine:
                    reader_means.append(sum(mine) / len(mine))
            if reader_means:
                values.append(sum(reader_means) / len(reader_means))
        out[team] = tuple(np.quantile(values, [0.025, 0.975]))
    return out


# --- the qualitative score's interval -------------------------------------------------------------------

def test_qualitative_interval_matches_a_hand_rolled_two_stage_resampler():
    # The hand example with one gap: C did not read t2/d2, so the "reader counts when they read a
    # drawn case" rule is exercised.
    rows = [r for r in hand_rows() if not (r.reader == "C" and r.case_id == "d2")]
    intervals = qualitative_intervals(rows, n_boot=400, seed=7)
    reference = reference_intervals(rows, n_boot=400, seed=7)
    assert set(intervals) == {"t1", "t2"}
    for team, (low, high) in reference.items():
        assert (intervals[team].low, intervals[team].high) == pytest.approx((low, high), abs=1e-12)
        assert intervals[team].estimate == pytest.approx(qualitative_scores(rows)[team])
        assert intervals[team].low <= intervals[team].estimate <= intervals[team].high
    assert qualitative_intervals(rows, n_boot=400, seed=7) == intervals           # same seed, same numbers
    assert qualitative_intervals(rows, n_boot=400, seed=8) != intervals


def test_qualitative_interval_leaves_real_cases_out_and_the_store_gives_the_same(tmp_path):
    study = ReaderStudy(tmp_path / "reader_study.sqlite")
    store_hand(study)
    intervals = study.qualitative_intervals(n_boot=300, seed=1)
    assert intervals == qualitative_intervals(hand_rows(), n_boot=300, seed=1)
    assert {team: i.estimate for team, i in intervals.items()} == pytest.approx(HAND_QUALITATIVE)
    real = [Rating("A", REAL, "r1", key, 4) for key in CRITERION_KEYS]
    assert qualitative_intervals(hand_rows() + real, n_boot=300, seed=1) == qualitative_intervals(
        hand_rows(), n_boot=300, seed=1)


def test_qualitative_interval_narrows_as_readers_agree():
    # Two juries with the same case means (10, 12, 14, 16 for one team): one agrees to within a
    # point, the other has a severe and a lenient reader 4 points either side.
    means = {"c1": 10, "c2": 12, "c3": 14, "c4": 16}
    agree = {(reader, "t", case): m + offset for case, m in means.items()
             for reader, offset in (("A", -1), ("B", 0), ("C", 1))}
    disagree = {(reader, "t", case): m + offset for case, m in means.items()
                for reader, offset in (("A", -4), ("B", 0), ("C", 4))}
    width = {}
    for name, scores in (("agree", agree), ("disagree", disagree)):
        interval = qualitative_intervals(rows_from_scores(scores), n_boot=1000, seed=0)["t"]
        assert interval.estimate == pytest.approx(13.0)
        width[name] = interval.high - interval.low
    assert width["agree"] < width["disagree"]


# --- agreement --------------------------------------------------------------------------------------------

def test_krippendorff_alpha_matches_the_published_value_and_the_package():
    assert krippendorff_alpha(KRIPPENDORFF_C) == pytest.approx(0.815, abs=5e-4)
    matrix = np.random.default_rng(2).integers(0, 21, size=(15, 4)).astype(float)
    matrix[[0, 3, 7], [1, 2, 0]] = np.nan
    assert krippendorff_alpha(matrix) == pytest.approx(
        krippendorff.alpha(reliability_data=matrix.T, level_of_measurement="ordinal"))


def test_krippendorff_alpha_is_one_for_perfect_agreement_and_undefined_without_variation():
    perfect = np.repeat(np.array([[3.0], [9.0], [14.0], [20.0]]), 3, axis=1)
    perfect[0, 2] = np.nan                         # a missing read does not stop agreement being perfect
    assert krippendorff_alpha(perfect) == pytest.approx(1.0)
    assert krippendorff_alpha(np.full((4, 3), 12.0)) is None
    assert krippendorff_alpha(np.array([[1.0, np.nan], [np.nan, 2.0]])) is None   # no case read twice


def test_agreement_intervals_are_seeded_and_bootstrap_cases():
    scores = case_scores(hand_rows())
    result = agreement_intervals(hand_rows(), n_boot=300, seed=4)
    assert result == case_score_agreement_intervals(scores, n_boot=300, seed=4)
    assert (result.n_readers, result.n_cases, result.n_cases_alpha, result.reason) == (3, 4, 4, None)
    assert result.icc.estimate == pytest.approx(HAND_ICC, abs=1e-4) and result.kendall_w.estimate == pytest.approx(HAND_W)
    assert result.icc.estimate == agreement(hand_rows()).icc

    # The documented stream: the ICC/W draws (n_boot x cases), then alpha's, over sorted cases.
    readers = sorted(HAND)
    cases = sorted({(t, c) for _, t, c in scores})
    matrix = np.array([[scores[(r, t, c)] for r in readers] for t, c in cases], float)
    rng = np.random.default_rng(4)
    draws = rng.integers(0, 4, size=(300, 4))
    iccs = [v for v in (icc_2_1(matrix[d]) for d in draws) if v is not None]
    ws = [v for v in (kendalls_w(matrix[d]) for d in draws) if v is not None]
    alphas = [v for v in (krippendorff_alpha(matrix[d]) for d in rng.integers(0, 4, size=(300, 4))) if v is not None]
    assert (result.icc.low, result.icc.high) == pytest.approx(tuple(np.quantile(iccs, [0.025, 0.975])))
    assert (result.kendall_w.low, result.kendall_w.high) == pytest.approx(tuple(np.quantile(ws, [0.025, 0.975])))
    assert (result.krippendorff_alpha.low, result.krippendorff_alpha.high) == pytest.approx(
        tuple(np.quantile(alphas, [0.025, 0.975])))
    assert result.krippendorff_alpha.estimate == pytest.approx(krippendorff_alpha(matrix))


def test_agreement_intervals_narrow_as_readers_agree():
    rng = np.random.default_rng(5)
    truth = rng.integers(2, 19, size=12)
    width = {}
    for name, noise in (("agree", 0.5), ("disagree", 3.0)):
        scores = {(reader, "t", f"c{i}"): int(np.clip(round(t + rng.normal(0, noise)), 0, 20))
                  for reader in "ABC" for i, t in enumerate(truth)}
        result = case_score_agreement_intervals(scores, n_boot=500, seed=0)
        width[name] = {stat: getattr(result, stat).high - getattr(result, stat).low
                       for stat in ("icc", "kendall_w", "krippendorff_alpha")}
        assert all(getattr(result, stat).low <= getattr(result, stat).estimate <= getattr(result, stat).high
                   for stat in width[name])
    assert all(width["agree"][stat] < width["disagree"][stat] for stat in width["agree"])


def test_agreement_intervals_say_why_they_are_undefined():
    one_reader = agreement_intervals([r for r in hand_rows() if r.reader == "A"], n_boot=50)
    assert (one_reader.icc, one_reader.kendall_w, one_reader.krippendorff_alpha) == (None, None, None)
    assert one_reader.reason == "agreement needs at least 2 readers, found 1"
    # B read only c1 and d1 besides A's four: ICC and W need 2 shared cases (they have 2), alpha
    # takes every case read twice.
    partial = [r for r in hand_rows() if r.reader == "A" or (r.reader == "B" and r.case_id in ("c1", "d1"))]
    result = agreement_intervals(partial, n_boot=50)
    assert (result.n_readers, result.n_cases, result.n_cases_alpha) == (2, 2, 2) and result.icc is not None
    sparse = [r for r in hand_rows() if r.reader == "A" or (r.reader == "B" and r.case_id == "c1")]
    result = agreement_intervals(sparse, n_boot=50)
    assert (result.icc, result.kendall_w, result.krippendorff_alpha) == (None, None, None)
    assert result.reason == "agreement needs at least 2 cases completed by all 2 readers, found 1"


def test_the_store_gives_agreement_intervals_over_the_selection(tmp_path):
    study = ReaderStudy(tmp_path / "reader_study.sqlite")
    store_hand(study)
    assert study.agreement_intervals(n_boot=200, seed=3) == agreement_intervals(hand_rows(), n_boot=200, seed=3)
    only_t1 = study.agreement_intervals(selected={"t1": ["c1", "c2"]}, n_boot=200, seed=3)
    assert only_t1 == agreement_intervals([r for r in hand_rows() if r.team == "t1"], n_boot=200, seed=3)
    assert only_t1.n_cases == 2


# --- completeness ------------------------------------------------------------------------------------------

def test_reads_count_complete_reads_against_readers_times_cases():
    rows = [r for r in hand_rows() if not (r.reader == "C" and r.case_id == "d2")]
    rows += [Rating("C", "t2", "d2", key, 1) for key in CRITERION_KEYS[:4]]    # started, not complete
    cases = {"t1": ["c1", "c2"], "t2": ["d1", "d2"]}
    reads = read_counts(rows, cases)
    assert reads == {"t1": Reads(6, 6), "t2": Reads(5, 6)}
    assert reads["t1"].complete and not reads["t2"].complete
    # An invited reader who has read nothing yet is expected to read everything.
    assert read_counts(rows, cases, readers=["D"]) == {"t1": Reads(6, 8), "t2": Reads(5, 8)}
    # A team re-uploaded since: its new case has no read.
    assert read_counts(rows, {"t1": ["c1", "c2", "c9"]}) == {"t1": Reads(6, 9)}


def test_the_store_counts_reads_of_current_cases(tmp_path):
    study = ReaderStudy(tmp_path / "reader_study.sqlite")
    store_hand(study)
    assert study.reads() == {"t1": Reads(6, 6), "t2": Reads(6, 6)}
    assert study.reads(readers=["a", "Dora"]) == {"t1": Reads(6, 8), "t2": Reads(6, 8)}   # "a" is reader A
    assert study.reads(selected={"t1": ["c1", "c3"]}) == {"t1": Reads(3, 6)}
    study.register_items({"t1": ["c1", "c2"], "t2": ["d1", "d3"]})             # t2's d2 replaced by d3
    assert study.reads() == {"t1": Reads(6, 6), "t2": Reads(3, 6)}
