"""Reader study store, blinding, password and aggregation, checked against hand computations."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import friedmanchisquare

from gan_eval.reader_agreement import icc_2_1, kendalls_w
from gan_eval.reader_scores import (
    CRITERIA,
    CRITERION_KEYS,
    MAX_CASE_SCORE,
    Rating,
    agreement,
    case_scores,
    criterion_means,
    normalised_qualitative,
    qualitative_scores,
    reader_team_scores,
)
from gan_eval.reader_study import (
    EXPORT_COLUMNS,
    JURY_PASSWORD_ENV,
    JURY_PASSWORD_HELP,
    ReaderStudy,
    ReadingClosedError,
    check_password,
    jury_password,
)

REPO = Path(__file__).resolve().parents[1]

# Hand example: 3 readers, 2 teams, 2 cases each. Criteria in CRITERIA order; case score = sum.
#            t1/c1              t1/c2              t2/d1              t2/d2
# A   (4,3,3,2,4)=16    (3,3,2,2,3)=13    (2,1,1,0,2)=6     (1,2,1,1,2)=7
# B   (4,4,3,3,4)=18    (2,3,2,1,3)=11    (1,1,2,0,1)=5     (2,2,1,1,3)=9
# C   (3,3,3,2,3)=14    (3,2,2,2,3)=12    (2,2,1,1,2)=8     (1,1,0,1,1)=4
HAND = {
    "A": {("t1", "c1"): (4, 3, 3, 2, 4), ("t1", "c2"): (3, 3, 2, 2, 3),
          ("t2", "d1"): (2, 1, 1, 0, 2), ("t2", "d2"): (1, 2, 1, 1, 2)},
    "B": {("t1", "c1"): (4, 4, 3, 3, 4), ("t1", "c2"): (2, 3, 2, 1, 3),
          ("t2", "d1"): (1, 1, 2, 0, 1), ("t2", "d2"): (2, 2, 1, 1, 3)},
    "C": {("t1", "c1"): (3, 3, 3, 2, 3), ("t1", "c2"): (3, 2, 2, 2, 3),
          ("t2", "d1"): (2, 2, 1, 1, 2), ("t2", "d2"): (1, 1, 0, 1, 1)},
}
# Reader team scores: A t1 (16+13)/2=14.5, t2 (6+7)/2=6.5; B t1 (18+11)/2=14.5, t2 (5+9)/2=7;
#                     C t1 (14+12)/2=13,   t2 (8+4)/2=6.
# Qualitative: t1 (14.5+14.5+13)/3 = 14.0, t2 (6.5+7+6)/3 = 6.5; normalised 0.7 and 0.325.
HAND_READER_TEAM = {"A": {"t1": 14.5, "t2": 6.5}, "B": {"t1": 14.5, "t2": 7.0}, "C": {"t1": 13.0, "t2": 6.0}}
HAND_QUALITATIVE = {"t1": 14.0, "t2": 6.5}
# Liver morphology (first criterion) for t1: A (4+3)/2=3.5, B (4+2)/2=3, C (3+3)/2=3 -> 9.5/3.
HAND_T1_LIVER = 9.5 / 3
# Agreement over the 4 cases (rows c1, c2, d1, d2; columns A, B, C):
#   ranks per reader: A 4,3,1,2  B 4,3,1,2  C 4,3,2,1 -> rank sums 12, 9, 4, 5, mean 7.5
#   S = 4.5^2+1.5^2+3.5^2+2.5^2 = 41; W = 12*41 / (3^2 * (4^3-4)) = 492/540 = 41/45
#   grand mean 123/12 = 10.25; SS_total 220.25, SS_cases 192.917, SS_readers 3.5, SS_error 23.833
#   MS_cases 64.306, MS_readers 1.75, MS_error 3.972
#   ICC(2,1) = (64.306-3.972) / (64.306 + 2*3.972 + 3*(1.75-3.972)/4) = 60.333/70.583 = 0.8548
HAND_W = 41 / 45
HAND_ICC = 0.8548


def hand_rows(data=HAND) -> list[Rating]:
    return [Rating(reader, team, case_id, key, value)
            for reader, cases in data.items()
            for (team, case_id), values in cases.items()
            for key, value in zip(CRITERION_KEYS, values)]


def full(value: int) -> dict[str, int]:
    return dict.fromkeys(CRITERION_KEYS, value)


@pytest.fixture
def study(tmp_path) -> ReaderStudy:
    return ReaderStudy(tmp_path / "reader_study.sqlite")


def store_hand(study: ReaderStudy) -> None:
    ids = study.register_items({"t1": ["c1", "c2"], "t2": ["d1", "d2"]})
    item = {(team, case_id): item_id for team, case_ids in [("t1", ["c1", "c2"]), ("t2", ["d1", "d2"])]
            for case_id, item_id in zip(case_ids, ids[team])}
    for reader, cases in HAND.items():
        for case, values in cases.items():
            study.save_ratings(reader, item[case], dict(zip(CRITERION_KEYS, values)))


# --- aggregation ----------------------------------------------------------------------------------

def test_criteria_are_the_five_challenge_criteria_on_a_0_to_20_scale():
    assert len(CRITERIA) == 5 and len(set(CRITERION_KEYS)) == 5
    assert MAX_CASE_SCORE == 20
    assert "HCC" in CRITERIA[1].question and "necrosis" in CRITERIA[3].question
    assert "T1 arterial, T1 portal-venous, T2" in CRITERIA[4].question


def test_aggregation_matches_hand_computation_and_skips_incomplete_cases():
    # C started a third t2 case with zeros but rated only four criteria: it must not count
    # (it would pull C's t2 score from 6 to 4).
    incomplete = [Rating("C", "t2", "d3", key, 0) for key in CRITERION_KEYS[:4]]
    rows = hand_rows() + incomplete

    assert ("C", "t2", "d3") not in case_scores(rows)
    assert case_scores(rows)[("B", "t1", "c1")] == 18
    assert reader_team_scores(rows) == HAND_READER_TEAM
    assert qualitative_scores(rows) == pytest.approx(HAND_QUALITATIVE)
    assert normalised_qualitative(qualitative_scores(rows)["t1"]) == pytest.approx(0.7)
    assert normalised_qualitative(qualitative_scores(rows)["t2"]) == pytest.approx(0.325)

    # The same numbers derived independently with pandas.
    frame = pd.DataFrame(hand_rows())
    per_case = frame.groupby(["reader", "team", "case_id"])["value"].sum()
    per_reader = per_case.groupby(["reader", "team"]).mean()
    per_team = per_reader.groupby("team").mean()
    assert qualitative_scores(rows) == pytest.approx(per_team.to_dict())


def test_criterion_means_match_hand_values_and_add_up_to_the_qualitative_score():
    means = criterion_means(hand_rows())
    assert means["t1"]["liver_morphology"] == pytest.approx(HAND_T1_LIVER)
    frame = pd.DataFrame(hand_rows())
    expected = frame.groupby(["team", "criterion", "reader"])["value"].mean().groupby(["team", "criterion"]).mean()
    for (team, key), value in expected.items():
        assert means[team][key] == pytest.approx(value)
    for team, score in HAND_QUALITATIVE.items():
        assert sum(means[team].values()) == pytest.approx(score)


def test_store_aggregates_the_hand_example(study):
    store_hand(study)
    assert study.reader_team_scores() == HAND_READER_TEAM
    assert study.qualitative_scores() == pytest.approx(HAND_QUALITATIVE)
    assert study.criterion_means()["t1"]["liver_morphology"] == pytest.approx(HAND_T1_LIVER)
    result = study.agreement()
    assert (result.n_readers, result.n_cases, result.reason) == (3, 4, None)
    assert result.kendall_w == pytest.approx(HAND_W)
    assert result.icc == pytest.approx(HAND_ICC, abs=1e-4)


# --- agreement ------------------------------------------------------------------------------------

def icc_by_anova_loops(y: list[list[float]]) -> float:
    """ICC(2,1) from the two-way ANOVA table, written with plain loops (Shrout & Fleiss 1979, eq. 2)."""
    n, k = len(y), len(y[0])
    grand = sum(map(sum, y)) / (n * k)
    bms = k * sum((sum(row) / k - grand) ** 2 for row in y) / (n - 1)
    jms = n * sum((sum(y[i][j] for i in range(n)) / n - grand) ** 2 for j in range(k)) / (k - 1)
    tss = sum((y[i][j] - grand) ** 2 for i in range(n) for j in range(k))
    ems = (tss - bms * (n - 1) - jms * (k - 1)) / ((n - 1) * (k - 1))
    return (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)


def test_icc_matches_shrout_fleiss_published_value():
    # Shrout & Fleiss (1979), Table 2: 6 targets, 4 judges; Table 4 gives ICC(2,1) = .29.
    ratings = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)
    assert icc_2_1(ratings) == pytest.approx(0.29, abs=0.005)
    assert icc_2_1(ratings) == pytest.approx(icc_by_anova_loops(ratings.tolist()))


def test_icc_matches_anova_on_random_scores():
    scores = np.random.default_rng(3).integers(0, 21, size=(9, 3)).astype(float)
    assert icc_2_1(scores) == pytest.approx(icc_by_anova_loops(scores.tolist()))


def test_kendalls_w_matches_friedman_statistic_with_ties():
    # W = chi2_Friedman / (k (n - 1)) with k readers (blocks) and n cases (treatments); scipy
    # applies the same tie correction. Reader 2 ties two cases, reader 3 ties three.
    scores = np.array([[12, 10, 9], [15, 10, 9], [7, 6, 9], [18, 17, 14], [3, 5, 2]], float)
    n, k = scores.shape
    chi2 = friedmanchisquare(*scores).statistic
    assert kendalls_w(scores) == pytest.approx(chi2 / (k * (n - 1)))


def test_kendalls_w_and_icc_are_one_for_identical_readers():
    scores = np.repeat(np.array([[3.0], [9.0], [14.0], [20.0]]), 3, axis=1)
    assert kendalls_w(scores) == pytest.approx(1.0)
    assert icc_2_1(scores) == pytest.approx(1.0)


def test_agreement_is_undefined_with_too_few_readers_or_cases_or_no_variance():
    one_reader = agreement([r for r in hand_rows() if r.reader == "A"])
    assert (one_reader.icc, one_reader.kendall_w) == (None, None)
    assert one_reader.reason == "agreement needs at least 2 readers, found 1"

    # B completed only c1, so only c1 is shared by both readers.
    partial = agreement([r for r in hand_rows() if r.reader == "A" or (r.reader == "B" and r.case_id == "c1")])
    assert (partial.icc, partial.n_readers, partial.n_cases) == (None, 2, 1)
    assert partial.reason == "agreement needs at least 2 cases completed by all 2 readers, found 1"

    flat = agreement([Rating(reader, "t", case_id, key, 2) for reader in "AB" for case_id in ("x", "y")
                      for key in CRITERION_KEYS])
    assert (flat.icc, flat.kendall_w) == (None, None)
    assert flat.reason == "case scores do not vary, so agreement is undefined"


def test_aggregation_rejects_unknown_criterion():
    with pytest.raises(ValueError, match=re.escape(
            "Unknown criterion 'colour' in the rating of case 'c1' of team 't1' by reader 'A'; expected one of "
            + ", ".join(CRITERION_KEYS) + ".")):
        case_scores([Rating("A", "t1", "c1", "colour", 3)])


# --- blinding and selection -------------------------------------------------------------------------

def test_item_ids_reveal_no_team_or_case(tmp_path):
    selection = {"Hepatica Labs": [f"case_{i:04d}" for i in range(10)],
                 "team_alpha": [f"HCC-{i:03d}.nii.gz" for i in range(10)]}
    first = ReaderStudy(tmp_path / "a.sqlite").register_items(selection)
    ids = [item_id for team_ids in first.values() for item_id in team_ids]
    assert len(set(ids)) == 20
    names = [text.lower() for team, case_ids in selection.items() for text in (team, *case_ids)]
    for item_id in ids:
        assert re.fullmatch(r"[0-9a-f]{16}", item_id)
        assert not any(name in item_id for name in names)
    # The ids depend on a per-study secret: another study gives unrelated ids for the same cases.
    second = ReaderStudy(tmp_path / "b.sqlite").register_items(selection)
    assert not set(ids) & {i for team_ids in second.values() for i in team_ids}


def test_register_is_idempotent_and_adding_a_team_adds_items(study):
    first = study.register_items({"t1": ["c1", "c2"]})
    study.save_ratings("A", first["t1"][0], full(3))
    assert study.register_items({"t1": ["c1", "c2"]}) == first
    # The selection is always the whole one: adding a team means registering it with the others.
    second = study.register_items({"t1": ["c1", "c2"], "t2": ["d1"]})
    assert [(i.team, i.case_id) for i in study.items()] == [("t1", "c1"), ("t1", "c2"), ("t2", "d1")]
    assert study.item_reference(second["t2"][0]) == ("t2", "d1")
    assert study.ratings_for("A", first["t1"][0]) == full(3)


def test_changing_a_selection_drops_unrated_cases_and_keeps_rated_ones_as_stale(study):
    ids = study.register_items({"t1": ["c1", "c2", "c3"]})["t1"]
    study.save_ratings("A", ids[0], full(2))
    study.register_items({"t1": ["c4", "c1"]})
    assert [(i.case_id, i.position) for i in study.items()] == [("c4", 0), ("c1", 1)]
    study.register_items({"t1": ["c4"]})
    assert [i.case_id for i in study.items()] == ["c4"]
    assert study.stale_items() == [study.items(include_stale=True)[1]]
    assert [(i.case_id, i.stale, i.n_readers) for i in study.items(include_stale=True)] == [
        ("c4", False, 0), ("c1", True, 1)]   # c2, c3: unrated, not selected any more, gone
    with pytest.raises(ValueError, match=re.escape("Team 't1' selects case(s) c4 more than once.")):
        study.register_items({"t1": ["c4", "c1", "c4"]})
    with pytest.raises(ValueError, match=re.escape(
            "Team 't1': the selection must be a list of non-empty case id strings, got 'c4'.")):
        study.register_items({"t1": "c4"})
    with pytest.raises(KeyError, match="Unknown case 'nope'"):
        study.item_reference("nope")
    assert study.item_reference(ids[0]) == ("t1", "c1")   # the organiser can still look a stale case up


# --- reading order and progress ---------------------------------------------------------------------

def test_reader_order_is_stable_per_reader_and_differs_between_readers(study):
    study.register_items({"t1": [f"c{i}" for i in range(10)], "t2": [f"d{i}" for i in range(10)]})
    order = study.reader_order("A")
    assert sorted(order) == sorted(i.item_id for i in study.items())
    assert study.reader_order("A") == order == ReaderStudy(study.path).reader_order(" A ")
    assert study.reader_order("B") != order
    assert study.reader_order("A", seed=1) != order
    # Adding a team interleaves its cases without reordering what the reader had.
    study.register_items({"t1": [f"c{i}" for i in range(10)], "t2": [f"d{i}" for i in range(10)],
                          "t3": [f"e{i}" for i in range(10)]})
    assert [i for i in study.reader_order("A") if i in order] == order


def test_next_unrated_skips_wraps_and_progress_counts(study):
    study.register_items({"t1": ["c1", "c2", "c3"]})
    order = study.reader_order("A")
    assert study.progress("A") == (0, 3)
    assert study.next_unrated("A") == order[0]
    assert study.next_unrated("A", after=order[0]) == order[1]    # skip
    study.save_ratings("A", order[1], full(1))
    assert study.next_unrated("A", after=order[0]) == order[2]
    study.save_ratings("A", order[2], full(1))
    assert study.next_unrated("A", after=order[2]) == order[0]    # wraps round to the skipped case
    study.save_ratings("A", order[0], full(1))
    assert study.next_unrated("A") is None
    study.save_ratings("B", order[0], full(4))
    assert study.progress("A") == (3, 3)
    assert study.progress_all() == {"A": (3, 3), "B": (1, 3)}


def test_rerating_replaces_the_earlier_ratings(study):
    item = study.register_items({"t1": ["c1"]})["t1"][0]
    study.save_ratings("A", item, full(1))
    changed = full(1) | {"necrosis": 4}
    study.save_ratings("A", item, changed)
    assert study.ratings_for("A", item) == changed
    assert len(study.ratings()) == 5
    assert study.case_scores() == {("A", "t1", "c1"): 8}


# --- validation and closing -------------------------------------------------------------------------

def test_invalid_ratings_are_refused_with_exact_messages_and_nothing_is_written(study):
    item = study.register_items({"t1": ["c1"]})["t1"][0]
    prefix = f"Ratings of case {item} by reader 'A' were not saved: "
    suffix = ". Rate all 5 criteria, each an integer from 0 to 4."
    with pytest.raises(ValueError, match=re.escape(prefix + "missing criteria necrosis, sequence_consistency" + suffix)):
        study.save_ratings("A", item, {k: 2 for k in CRITERION_KEYS[:3]})
    with pytest.raises(ValueError, match=re.escape(prefix + "necrosis must be an integer from 0 to 4, got 5" + suffix)):
        study.save_ratings("A", item, full(2) | {"necrosis": 5})
    with pytest.raises(ValueError, match=re.escape(
            prefix + "unknown criteria colour; liver_morphology must be an integer from 0 to 4, got -1; "
            "tumour_morphology must be an integer from 0 to 4, got 2.5" + suffix)):
        study.save_ratings("A", item, full(2) | {"liver_morphology": -1, "tumour_morphology": 2.5, "colour": 1})
    with pytest.raises(ValueError, match=re.escape(prefix + "necrosis must be an integer from 0 to 4, got True" + suffix)):
        study.save_ratings("A", item, full(2) | {"necrosis": True})
    with pytest.raises(ValueError, match=re.escape("Unknown case 'zzz': it is not in this reader study.")):
        study.save_ratings("A", "zzz", full(2))
    with pytest.raises(ValueError, match=re.escape("Reader name must be a non-empty string, got '  '.")):
        study.save_ratings("  ", item, full(2))
    assert study.ratings() == []
    study.save_ratings("A", item, full(2) | {"necrosis": np.int64(4)})
    assert study.ratings_for("A", item)["necrosis"] == 4


def test_close_freezes_ratings_and_reopen_allows_them(study):
    item = study.register_items({"t1": ["c1"]})["t1"][0]
    assert not study.is_closed()
    study.close_reading()
    assert ReaderStudy(study.path).is_closed()
    with pytest.raises(ReadingClosedError, match=re.escape("Reading is closed: cannot save ratings. Reopen the reading first.")):
        study.save_ratings("A", item, full(3))
    with pytest.raises(ReadingClosedError, match="cannot change the selection"):
        study.register_items({"t2": ["d1"]})
    study.reopen()
    assert not study.is_closed()
    study.save_ratings("A", item, full(3))
    assert study.progress("A") == (1, 1)


def test_csv_export_is_unblinded_and_complete(study, tmp_path):
    store_hand(study)
    buffer = io.StringIO()
    assert study.export_csv(buffer) == 3 * 4 * 5
    path = tmp_path / "ratings.csv"
    study.export_csv(path)
    assert path.read_bytes().decode("utf-8") == buffer.getvalue()
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert rows[0]["reader"] == "A" and rows[0]["team"] == "t1" and rows[0]["case_id"] == "c1"
    assert [r["criterion"] for r in rows[:5]] == list(CRITERION_KEYS)
    exported = {(r["reader"], r["team"], r["case_id"], r["criterion"]): int(r["value"]) for r in rows}
    assert exported == {(r.reader, r.team, r.case_id, r.criterion): r.value for r in hand_rows()}
    references = {r["item_id"]: (r["team"], r["case_id"]) for r in rows}
    assert all(study.item_reference(item_id) == ref for item_id, ref in references.items())
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", r["rated_at"]) for r in rows)


# --- password ---------------------------------------------------------------------------------------

class MissingSecretsFile(dict):
    """Behaves like st.secrets without a secrets.toml: any access raises a FileNotFoundError."""

    def get(self, key, default=None):
        raise FileNotFoundError("No secrets files found.")


def test_jury_password_prefers_secrets_then_environment():
    env = {JURY_PASSWORD_ENV: "from-env"}
    assert jury_password({"jury_password": "from-secrets"}, env) == "from-secrets"
    assert jury_password({}, env) == "from-env"
    assert jury_password(None, env) == "from-env"
    assert jury_password(MissingSecretsFile(), env) == "from-env"
    assert jury_password({"jury_password": ""}, {}) is None
    assert jury_password(None, {}) is None
    assert JURY_PASSWORD_ENV in JURY_PASSWORD_HELP and "jury_password" in JURY_PASSWORD_HELP


def test_password_check_rejects_wrong_accepts_right_and_stays_closed_when_unset():
    assert check_password("s3cret-é", "s3cret-é")
    assert not check_password("s3cret", "s3cret-é")
    assert not check_password("", "s3cret")
    assert not check_password(None, "s3cret")
    assert not check_password("", None)
    assert not check_password("anything", None)
    assert not check_password("", "")


# --- processes ---------------------------------------------------------------------------------------

def run_python(code: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_ratings_survive_a_killed_process_and_order_is_the_same_in_another_process(tmp_path):
    db = tmp_path / "reader_study.sqlite"
    code = f"""
import json, os, signal, sys
from gan_eval.reader_study import ReaderStudy, CRITERION_KEYS
study = ReaderStudy({str(db)!r})
study.register_items({{"t1": ["c1", "c2", "c3"], "t2": ["d1", "d2"]}})
order = study.reader_order("A")
for value, item in enumerate(order[:3]):
    study.save_ratings("A", item, dict.fromkeys(CRITERION_KEYS, value))
print(json.dumps(order), flush=True)
os.kill(os.getpid(), signal.SIGKILL)   # the app dies mid-session, without closing anything
"""
    result = run_python(code)
    assert result.returncode == -signal.SIGKILL, result.stderr
    order = json.loads(result.stdout)
    study = ReaderStudy(db)
    assert study.reader_order("A") == order
    assert study.progress("A") == (3, 5)
    assert [study.ratings_for("A", item) for item in order[:3]] == [full(0), full(1), full(2)]
    assert study.next_unrated("A") == order[3]


def rate_many(db: str, reader: str, shared_items: list[str], barrier) -> None:
    """One process: rate every item as `reader`, then its share of items as the shared reader."""
    study = ReaderStudy(db)
    items = study.reader_order(reader)
    barrier.wait()
    for item in items:
        study.save_ratings(reader, item, full(len(item) % 5))
    for item in items[:5]:   # re-rating while the other process writes
        study.save_ratings(reader, item, full(4))
    for item in shared_items:
        study.save_ratings("shared", item, full(3))


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    db = tmp_path / "reader_study.sqlite"
    study = ReaderStudy(db)
    ids = study.register_items({"t1": [f"c{i}" for i in range(12)], "t2": [f"d{i}" for i in range(12)]})
    items = ids["t1"] + ids["t2"]
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    workers = [context.Process(target=rate_many, args=(str(db), reader, share, barrier))
               for reader, share in (("A", items[::2]), ("B", items[1::2]))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0]

    assert len(study.ratings()) == 3 * len(items) * 5
    assert study.progress_all() == {"A": (24, 24), "B": (24, 24), "shared": (24, 24)}
    for reader in "AB":
        rerated = set(study.reader_order(reader)[:5])
        for item in items:
            expected = 4 if item in rerated else len(item) % 5
            assert study.ratings_for(reader, item) == full(expected)
    assert all(study.ratings_for("shared", item) == full(3) for item in items)
