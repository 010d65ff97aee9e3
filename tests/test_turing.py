"""Visual Turing test: real cases mixed into the blinded pool, a verdict per read, and the
detection results checked against hand counts; real cases kept apart from the teams' results."""

from __future__ import annotations

import csv
import io
import re
import sqlite3

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from gan_eval import workspace
from gan_eval.reader_scores import (CRITERION_KEYS, Rating, agreement, criterion_means, qualitative_scores,
                                    reader_team_scores, real_ceiling)
from gan_eval.reader_study import VERDICT_EXPORT_COLUMNS, ReaderStudy, ReadingClosedError
from gan_eval.selection import select_cases
from gan_eval.turing import (POOLED, REAL, Verdict, VerdictRow, detection, detection_by_reader, reading_pool,
                             select_real_cases, team_verdicts, turing_summary)

# Hand table: 2 readers, teams t1 (a1, a2) and t2 (b1, b2), real cases r1, r2. (says, confidence)
#          a1      a2      b1      b2      r1      r2
# A        gen 3   real 1  gen 2   gen 1   real 3  gen 2
# B        real 2  real 2  gen 3   real 1  real 2  real 1
VERDICTS = {
    "A": {("t1", "a1"): ("generated", 3), ("t1", "a2"): ("real", 1), ("t2", "b1"): ("generated", 2),
          ("t2", "b2"): ("generated", 1), (REAL, "r1"): ("real", 3), (REAL, "r2"): ("generated", 2)},
    "B": {("t1", "a1"): ("real", 2), ("t1", "a2"): ("real", 2), ("t2", "b1"): ("generated", 3),
          ("t2", "b2"): ("real", 1), (REAL, "r1"): ("real", 2), (REAL, "r2"): ("real", 1)},
}
# Generated reads: 8, called generated: A a1 b1 b2, B b1 = 4  -> sensitivity 4/8 = 0.5
# Real reads: 4, called real: A r1, B r1 r2 = 3               -> specificity 3/4 = 0.75
# Accuracy (4 + 3) / 12 = 7/12.
# Taken for real: t1 A a2, B a1, B a2 = 3/4; t2 B b2 = 1/4; real 3/4 (= specificity).
# Per reader: A sensitivity 3/4, specificity 1/2, accuracy 4/6; B 1/4, 2/2, 3/6.
# ROC area on the 6-point scale (+conf generated, -conf real): generated [3,-1,2,1,-2,-2,3,-1],
# real [-3,2,-2,-1]; pairs won (ties half) 4 + 2.5 + 3.5 + 3 + 1.5 + 1.5 + 4 + 2.5 = 22.5 of 32.
HAND_AUC = 22.5 / 32


def verdict_rows() -> list[VerdictRow]:
    return [VerdictRow(reader, team, case_id, says, confidence)
            for reader, cases in VERDICTS.items() for (team, case_id), (says, confidence) in cases.items()]


def full(value: int) -> dict[str, int]:
    return dict.fromkeys(CRITERION_KEYS, value)


TEAMS = {"t1": ["a1", "a2"], "t2": ["b1", "b2"]}
POOL = reading_pool(TEAMS, ["r1", "r2"])


@pytest.fixture
def study(tmp_path) -> ReaderStudy:
    return ReaderStudy(tmp_path / "reader_study.sqlite")


def item_ids(study: ReaderStudy, pool=POOL) -> dict[tuple[str, str], str]:
    ids = study.register_items(pool)
    return {(team, case_id): item for team, cases in pool.items() for case_id, item in zip(cases, ids[team])}


def store_verdicts(study: ReaderStudy) -> dict[tuple[str, str], str]:
    """The hand table in a study, every case rated 2 on each criterion, real cases 4."""
    study.set_turing(True, n_real=2)
    items = item_ids(study)
    for reader, cases in VERDICTS.items():
        for case, verdict in cases.items():
            study.save_ratings(reader, items[case], full(4 if case[0] == REAL else 2), verdict=verdict)
    return items


# --- results, by hand -------------------------------------------------------------------------------

def test_sensitivity_specificity_and_taken_for_real_match_hand_counts():
    pooled = detection(verdict_rows())
    assert (pooled.n_generated, pooled.n_real, pooled.n_reads) == (8, 4, 12)
    assert pooled.sensitivity == 0.5 and pooled.specificity == 0.75
    assert pooled.accuracy == pytest.approx(7 / 12)
    assert pooled.auc == pytest.approx(HAND_AUC)

    by_reader = detection_by_reader(verdict_rows())
    assert list(by_reader) == ["A", "B"]
    assert (by_reader["A"].sensitivity, by_reader["A"].specificity) == (0.75, 0.5)
    assert by_reader["A"].accuracy == pytest.approx(4 / 6)
    assert (by_reader["B"].sensitivity, by_reader["B"].specificity, by_reader["B"].accuracy) == (0.25, 1.0, 0.5)

    teams = team_verdicts(verdict_rows())
    assert {team: (v.called_real, v.n_reads, v.taken_for_real) for team, v in teams.items()} == {
        REAL: (3, 4, 0.75), "t1": (3, 4, 0.75), "t2": (1, 4, 0.25)}

    assert turing_summary(verdict_rows()) == {
        REAL: {"taken_for_real": 0.75, "n_reads": 4},
        "t1": {"taken_for_real": 0.75, "n_reads": 4},
        "t2": {"taken_for_real": 0.25, "n_reads": 4},
        POOLED: {"accuracy": pytest.approx(7 / 12), "sensitivity": 0.5, "specificity": 0.75,
                 "auc": pytest.approx(HAND_AUC), "n_reads": 12},
    }


def test_roc_area_is_sklearns_on_the_six_point_scale_and_rates_are_undefined_without_reads():
    rows = verdict_rows()
    labels = [row.team != REAL for row in rows]
    scale = [row.confidence if row.says == "generated" else -row.confidence for row in rows]
    assert detection(rows).auc == pytest.approx(roc_auc_score(labels, scale))

    only_generated = detection([row for row in rows if row.team != REAL])
    assert (only_generated.specificity, only_generated.auc) == (None, None)
    assert only_generated.sensitivity == 0.5
    assert turing_summary([]) == {}
    with pytest.raises(ValueError, match="is not allowed"):
        workspace.check_team_name(POOLED)                                     # never a team's name


# --- the store --------------------------------------------------------------------------------------

def test_the_store_keeps_verdicts_and_gives_the_hand_results(study):
    items = store_verdicts(study)
    assert sorted(study.verdicts()) == sorted(verdict_rows())
    assert study.turing_summary() == turing_summary(verdict_rows())
    assert study.turing_summary(selected=POOL) == turing_summary(verdict_rows())
    assert study.detection_by_reader() == detection_by_reader(verdict_rows())
    assert study.verdict_for("a", items[("t1", "a2")]) == Verdict("real", 1)    # any spelling of the reader
    assert study.verdict_for("C", items[("t1", "a2")]) is None
    # A selection without the real cases leaves their verdicts out: specificity is then undefined.
    assert study.turing_summary(selected=TEAMS)[POOLED]["specificity"] is None


def test_a_verdict_is_required_while_the_test_is_on_and_checked(study):
    study.set_turing(True)
    item = item_ids(study)[("t1", "a1")]
    prefix = f"Ratings of case {item} by reader 'A' were not saved: "
    with pytest.raises(ValueError, match=re.escape(
            prefix + "the Turing test is on, so say whether the case is real or generated, and how sure you are.")):
        study.save_ratings("A", item, full(2))
    for bad in [("fake", 2), ("real", 0), ("real", 4), ("real", True), ("real", 2.0), "real", ("real",)]:
        with pytest.raises(ValueError, match=re.escape(
                prefix + f'the verdict must be ("real" or "generated", confidence 1 to 3), got {bad!r}.')):
            study.save_ratings("A", item, full(2), verdict=bad)
    assert study.ratings() == [] and study.verdicts() == []      # nothing half-saved

    study.save_ratings("A", item, full(2), verdict=("generated", np.int64(3)))
    study.save_ratings("A", item, full(3), verdict=Verdict("real", 1))      # re-reading replaces both
    assert study.verdict_for("A", item) == Verdict("real", 1) and study.ratings_for("A", item) == full(3)
    study.set_turing(False)
    study.save_ratings("A", item, full(1))                                   # off: no verdict needed ...
    assert study.verdict_for("A", item) == Verdict("real", 1)               # ... and the earlier one is kept


def test_the_setting_persists_and_is_refused_once_closed(study):
    assert tuple(study.turing_setting()) == (False, 10)
    study.set_turing(True, n_real=5)
    assert tuple(ReaderStudy(study.path).turing_setting()) == (True, 5)
    study.set_turing(False)
    assert tuple(study.turing_setting()) == (False, 5)                       # the number is kept
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match=re.escape(
                f"The Turing test needs a whole number of real cases, at least 1, got {bad!r}.")):
            study.set_turing(True, n_real=bad)
    study.close_reading()
    with pytest.raises(ReadingClosedError, match=re.escape(
            "Reading is closed: cannot turn the Turing test on. Reopen the reading first.")):
        study.set_turing(True)
    with pytest.raises(ReadingClosedError, match="cannot turn the Turing test off"):
        study.set_turing(False)
    assert tuple(study.turing_setting()) == (False, 5)


def test_real_cases_are_blinded_and_shuffled_in_like_any_case(study):
    pool = reading_pool({f"t{i}": [f"c{j}" for j in range(10)] for i in range(3)}, [f"r{j}" for j in range(10)])
    items = item_ids(study, pool)
    real_ids = {item for (team, _), item in items.items() if team == REAL}
    assert all(re.fullmatch(r"[0-9a-f]{16}", item) for item in items.values())    # same form: nothing tells
    order = study.reader_order("A")
    positions = sorted(order.index(item) for item in real_ids)
    assert positions != list(range(len(order) - 10, len(order))) and positions != list(range(10))
    assert study.progress("A") == (0, 40)


def test_verdicts_of_cases_no_longer_selected_are_left_out_and_exported(study):
    items = store_verdicts(study)
    study.register_items(reading_pool({"t1": ["a1", "a2"], "t2": ["b3"]}, ["r1", "r2"]))   # t2 re-uploaded
    assert {row.case_id for row in study.verdicts()} == {"a1", "a2", "r1", "r2"}
    assert study.turing_summary()["t1"] == {"taken_for_real": 0.75, "n_reads": 4} and "t2" not in study.turing_summary()
    buffer = io.StringIO()
    assert study.export_verdicts_csv(buffer) == 12
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert tuple(rows[0]) == VERDICT_EXPORT_COLUMNS
    assert (rows[0]["reader"], rows[0]["team"], rows[0]["case_id"], rows[0]["says"], rows[0]["confidence"]) == (
        "A", REAL, "r1", "real", "3")
    assert {r["case_id"]: r["stale"] for r in rows if r["reader"] == "B"} == {
        "r1": "0", "r2": "0", "a1": "0", "a2": "0", "b1": "1", "b2": "1"}
    assert all(r["item_id"] == items[(r["team"], r["case_id"])] for r in rows)


# --- real cases apart from the teams ------------------------------------------------------------------

def test_real_cases_stay_out_of_team_results_and_give_the_ceiling(study):
    store_verdicts(study)
    # The real cases are rated 4 everywhere, the teams' cases 2: a team result that took them in
    # would move.
    assert study.qualitative_scores(selected=POOL) == {"t1": 10.0, "t2": 10.0}
    assert set(study.reader_team_scores(selected=POOL)["A"]) == {"t1", "t2"}
    assert set(study.criterion_means(selected=POOL)) == {"t1", "t2"}
    ceiling = study.real_ceiling(selected=POOL)
    assert (ceiling.qualitative, ceiling.n_readers, ceiling.n_cases) == (20.0, 2, 2)
    assert ceiling.criterion_means == full(4)
    assert study.real_ceiling(selected=TEAMS) is None


def test_real_rows_change_no_team_result_and_the_ceiling_is_averaged_like_a_team():
    # Real cases: A r1 (4,4,4,3,4)=19, r2 (3,4,3,3,4)=17 -> 18; B r1 (4,4,4,4,4)=20 -> 20. Ceiling 19.
    teams = [Rating(reader, "t1", case_id, key, value) for reader, case_id, value in
             [("A", "c1", 3), ("A", "c2", 1), ("B", "c1", 2), ("B", "c2", 2)] for key in CRITERION_KEYS]
    real = [Rating(reader, REAL, case_id, key, value) for reader, case_id, values in
            [("A", "r1", (4, 4, 4, 3, 4)), ("A", "r2", (3, 4, 3, 3, 4)), ("B", "r1", (4, 4, 4, 4, 4))]
            for key, value in zip(CRITERION_KEYS, values)]
    for result in (qualitative_scores, reader_team_scores, criterion_means, agreement):
        assert result(teams + real) == result(teams)
    ceiling = real_ceiling(teams + real)
    assert ceiling.qualitative == 19.0 and (ceiling.n_readers, ceiling.n_cases) == (2, 2)
    assert ceiling.criterion_means["liver_morphology"] == pytest.approx(((4 + 3) / 2 + 4) / 2)
    assert sum(ceiling.criterion_means.values()) == pytest.approx(19.0)
    assert real_ceiling(teams) is None


# --- which real cases -----------------------------------------------------------------------------------

def test_real_cases_are_chosen_by_the_teams_kmeans_rule():
    features = np.random.default_rng(0).normal(size=(30, 8))
    ids = [f"real_{i:03d}" for i in range(30)]
    chosen = select_real_cases(features, ids, k=6, seed=3)
    assert chosen == [ids[i] for i in select_cases(features, 6, 3)] and len(set(chosen)) == 6
    assert select_real_cases(features, ids, k=6, seed=3) == chosen
    with pytest.raises(ValueError, match=re.escape("29 real case ids for 30 feature rows.")):
        select_real_cases(features, ids[:-1])
    with pytest.raises(ValueError, match="cannot select 31 cases from a set of 30"):
        select_real_cases(features, ids, k=31)


def test_the_pool_adds_the_real_cases_as_the_workspaces_real_team():
    assert REAL == workspace.REAL
    assert POOL == {"t1": ["a1", "a2"], "t2": ["b1", "b2"], REAL: ["r1", "r2"]}
    with pytest.raises(ValueError, match=re.escape("The selection already has a team 'real'; that name is the real set's.")):
        reading_pool(POOL, ["r3"])


# --- an older study ---------------------------------------------------------------------------------------

def test_a_study_created_before_the_turing_test_opens_with_its_ratings(tmp_path):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(f"""
            CREATE TABLE study_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE items (item_id TEXT PRIMARY KEY, team TEXT NOT NULL, case_id TEXT NOT NULL,
                                position INTEGER NOT NULL,
                                stale INTEGER NOT NULL DEFAULT 0 CHECK (stale IN (0, 1)), UNIQUE (team, case_id));
            CREATE TABLE ratings (reader TEXT NOT NULL, item_id TEXT NOT NULL REFERENCES items (item_id),
                                  criterion TEXT NOT NULL, value INTEGER NOT NULL, rated_at TEXT NOT NULL,
                                  PRIMARY KEY (reader, item_id, criterion));
            INSERT INTO study_state VALUES ('secret', '{"cd" * 32}'), ('state', 'closed');
            INSERT INTO items VALUES ('0123456789abcdef', 't1', 'c1', 0, 0), ('fedcba9876543210', 't1', 'c0', 1, 1);
        """)
        conn.executemany("INSERT INTO ratings VALUES (?, ?, ?, ?, ?)",
                         [(reader, item, key, value, "2024-01-01T00:00:00.000+00:00") for key in CRITERION_KEYS
                          for reader, item, value in [("Bob", "0123456789abcdef", 3), ("Bob", "fedcba9876543210", 1)]])
    study = ReaderStudy(db)
    assert study.is_closed() and tuple(study.turing_setting()) == (False, 10)
    assert study.qualitative_scores() == {"t1": 15.0}
    assert len(study.ratings(include_stale=True)) == 10 and study.verdicts() == []
    assert [(i.case_id, i.stale) for i in study.items(include_stale=True)] == [("c1", False), ("c0", True)]
    study.reopen()
    study.set_turing(True)
    study.save_ratings("bob", "0123456789abcdef", full(4), verdict=("real", 2))
    assert study.verdicts() == [VerdictRow("Bob", "t1", "c1", "real", 2)]
