"""The reader study in a hostile world: formulas in names and case ids, submissions that change
under a running study, and readers who sign in under several spellings.

Only names that existed before these fixes are imported, so each test fails on the old code by
its behaviour (or by a missing method), not by an import error.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3

import pytest

from gan_eval.reader_study import CRITERION_KEYS, ReaderStudy, ReadingClosedError
from gan_eval.scoring import add_qualitative


def full(value: int) -> dict[str, int]:
    return dict.fromkeys(CRITERION_KEYS, value)


@pytest.fixture
def study(tmp_path) -> ReaderStudy:
    return ReaderStudy(tmp_path / "reader_study.sqlite")


def exported(study: ReaderStudy, **kwargs) -> list[dict[str, str]]:
    buffer = io.StringIO()
    study.export_csv(buffer, **kwargs)
    return list(csv.DictReader(io.StringIO(buffer.getvalue())))


def leaderboard(*teams: str) -> dict:
    """The part of ``scoring.evaluate``'s result that ``add_qualitative`` reads."""
    return {"submissions": {team: {"quantitative_score": 0.5} for team in teams}}


# --- 1. spreadsheet formulas ------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tcase", "\rcase"]


def test_csv_export_neutralises_formulas_in_reader_names_and_case_ids(study):
    ids = study.register_items({"-team": FORMULAS})["-team"]
    readers = ['=HYPERLINK("http://x","y")', "+reader", "-reader", "@reader"]
    for reader in readers:
        study.save_ratings(reader, ids[0], full(3))
    for item in ids:
        study.save_ratings("plain", item, full(2))
    rows = exported(study)
    assert len(rows) == (len(readers) + len(FORMULAS)) * 5
    assert {r["reader"] for r in rows} == {"'" + reader for reader in readers} | {"plain"}
    assert {r["case_id"] for r in rows} == {"'" + case_id for case_id in FORMULAS}
    assert {r["team"] for r in rows} == {"'-team"}
    # Numbers stay numbers, and what is not text a formula could start is left alone.
    assert {r["value"] for r in rows} == {"2", "3"}
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["item_id"]) for r in rows)
    assert {r["stale"] for r in rows} == {"0"}


# --- 2. submissions that change under a running study -----------------------------------------------

def test_reuploading_a_rated_team_keeps_its_ratings_as_stale_and_offers_the_new_cases(study):
    # (a): the team is re-uploaded, K-means selects other cases; this used to raise ValueError.
    old = study.register_items({"t1": ["c1", "c2"], "t2": ["d1"]})
    study.save_ratings("A", old["t1"][0], full(4))
    study.save_ratings("B", old["t1"][0], full(3))
    study.save_ratings("A", old["t2"][0], full(1))
    new = study.register_items({"t1": ["c3", "c4"], "t2": ["d1"]})

    current = set(new["t1"] + new["t2"])
    assert new["t2"] == old["t2"]
    assert set(study.reader_order("A")) == current
    assert study.progress("A") == (1, 3) and study.progress_all() == {"A": (1, 3), "B": (0, 3)}
    assert study.next_unrated("B") in current
    assert [(i.team, i.case_id, i.stale, i.n_readers) for i in study.stale_items()] == [("t1", "c1", True, 2)]
    assert study.ratings_for("A", old["t1"][0]) == full(4)       # nothing stored is lost
    assert study.qualitative_scores() == {"t2": 5.0}             # t1's new cases are not rated yet
    assert study.qualitative_scores(include_stale=True) == {"t1": 17.5, "t2": 5.0}
    with pytest.raises(ValueError, match=re.escape(f"Case {old['t1'][0]} is no longer in the reader study")):
        study.save_ratings("A", old["t1"][0], full(2))

    # The first upload comes back: its cases are current again, with their ratings.
    assert study.register_items({"t1": ["c1", "c2"], "t2": ["d1"]}) == old
    assert study.stale_items() == []
    assert study.progress("A") == (2, 3)
    assert study.qualitative_scores() == {"t1": 17.5, "t2": 5.0}


def test_removing_a_rated_team_stops_offering_its_cases(study):
    # (b): the page looked a removed team's case up in a set that no longer exists (KeyError).
    ids = study.register_items({"t1": ["c1", "c2"], "t2": ["d1", "d2"]})
    study.save_ratings("A", ids["t2"][0], full(2))
    study.register_items({"t1": ["c1", "c2"]})
    order = study.reader_order("A")
    assert sorted(order) == sorted(ids["t1"])
    assert {study.item_reference(item)[0] for item in order} == {"t1"}
    # A reader walking through the page's loop (next unrated, skipping) only meets t1's cases.
    seen, item = set(), None
    for _ in range(5):
        item = study.next_unrated("A", after=item)
        seen.add(item)
    assert seen == set(ids["t1"])
    assert study.progress("A") == (0, 2)
    assert [i.case_id for i in study.stale_items()] == ["d1"]    # d2, never rated, is dropped


def test_results_leave_out_a_removed_team_so_add_qualitative_accepts_them(study):
    # (c): add_qualitative raised "qualitative scores for unknown submission(s)".
    ids = study.register_items({"t1": ["c1"], "t2": ["d1"]})
    study.save_ratings("A", ids["t1"][0], full(4))
    study.save_ratings("A", ids["t2"][0], full(1))
    study.register_items({"t1": ["c1"]})          # t2 removed while reading is open
    study.close_reading()
    assert study.qualitative_scores() == {"t1": 20.0}
    assert set(study.criterion_means()) == {"t1"}
    assert study.reader_team_scores() == {"A": {"t1": 20.0}}
    scored = add_qualitative(leaderboard("t1"), study.qualitative_scores())
    assert scored["submissions"]["t1"]["final_score"] == pytest.approx(0.75)


def test_after_closing_results_follow_the_selection_given_and_register_only_reads(study):
    ids = study.register_items({"t1": ["c1", "c2"], "t2": ["d1", "d2"]})
    for reader, value in (("A", 4), ("B", 2)):
        for item in ids["t1"] + ids["t2"]:
            study.save_ratings(reader, item, full(value))
    study.close_reading()
    # An unchanged selection registers without error once closed (the page may call it anyway).
    assert study.register_items({"t1": ["c1", "c2"], "t2": ["d1", "d2"]}) == ids
    with pytest.raises(ReadingClosedError, match=re.escape(
            "Reading is closed: cannot change the selection. Reopen the reading first.")):
        study.register_items({"t1": ["c1", "c2"]})
    # After closing, t2 is removed and t1 re-uploaded with other cases: the page no longer
    # registers, so the leaderboard passes the selection it scores.
    now = {"t1": ["c7", "c8"], "t3": ["e1"]}
    assert study.qualitative_scores(selected=now) == {}
    assert study.qualitative_scores(selected={"t1": ["c1", "c2"]}) == {"t1": 15.0}
    scored = add_qualitative(leaderboard("t1", "t3"), study.qualitative_scores(selected=now))
    assert scored["submissions"]["t1"]["final_score"] is None  # not scored on its old cases
    assert study.agreement(selected={"t1": ["c1", "c2"]}).n_cases == 2
    assert {r["stale"] for r in exported(study, selected=now)} == {"1"}
    assert len(exported(study)) == 2 * 4 * 5


def test_ratings_of_a_replaced_team_survive_in_the_export(study):
    first = study.register_items({"t1": ["c1", "c2"]})["t1"]
    study.save_ratings("A", first[0], full(3))
    study.save_ratings("B", first[1], full(1))
    second = study.register_items({"t1": ["c5"]})["t1"]
    study.save_ratings("A", second[0], full(4))
    rows = exported(study)
    assert len(rows) == 3 * 5
    by_case = {(r["reader"], r["case_id"]): (r["stale"], r["value"]) for r in rows}
    assert by_case == {("A", "c1"): ("1", "3"), ("B", "c2"): ("1", "1"), ("A", "c5"): ("0", "4")}
    assert [(r["reader"], r["case_id"]) for r in rows[::5]] == [("A", "c5"), ("A", "c1"), ("B", "c2")]


def test_registering_an_unchanged_selection_takes_no_write_lock(study):
    selection = {"t1": ["c1", "c2"], "t2": ["d1"]}
    ids = study.register_items(selection)
    blocker = sqlite3.connect(study.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")          # a reader saving, or another process, holds the lock
    try:
        visiting = ReaderStudy(study.path, busy_timeout_s=0.1)   # a page visit opens the study...
        assert visiting.register_items(selection) == ids           # ...and registers: reads only
        assert visiting.reader_order("A")
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            visiting.register_items({"t1": ["c1"]})                # a change does need the lock
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_item_ids_of_names_containing_the_separator_stay_distinct(study):
    ids = study.register_items({"a\x1fb": ["c"], "a": ["b\x1fc"]})
    assert ids["a\x1fb"] != ids["a"]
    assert [study.item_reference(ids[team][0]) for team in ("a\x1fb", "a")] == [("a\x1fb", "c"), ("a", "b\x1fc")]


def test_a_study_created_before_stale_items_opens_with_its_ratings(tmp_path):
    db = tmp_path / "old.sqlite"
    old_schema = f"""
        CREATE TABLE study_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE items (item_id TEXT PRIMARY KEY, team TEXT NOT NULL, case_id TEXT NOT NULL,
                            position INTEGER NOT NULL, UNIQUE (team, case_id));
        CREATE TABLE ratings (reader TEXT NOT NULL, item_id TEXT NOT NULL REFERENCES items (item_id),
                              criterion TEXT NOT NULL, value INTEGER NOT NULL, rated_at TEXT NOT NULL,
                              PRIMARY KEY (reader, item_id, criterion));
        INSERT INTO study_state VALUES ('secret', '{"ab" * 32}'), ('state', 'open');
        INSERT INTO items VALUES ('0123456789abcdef', 't1', 'c1', 0);
    """
    with sqlite3.connect(db) as conn:
        conn.executescript(old_schema)
        conn.executemany("INSERT INTO ratings VALUES ('Bob', '0123456789abcdef', ?, 3, ?)",
                         [(key, "2024-01-01T00:00:00.000+00:00") for key in CRITERION_KEYS])
    study = ReaderStudy(db)
    assert [(i.item_id, i.stale, i.n_readers) for i in study.items()] == [("0123456789abcdef", False, 1)]
    assert study.progress("bob") == (1, 1)
    assert study.qualitative_scores() == {"t1": 15.0}


# --- 3. reader identity -----------------------------------------------------------------------------

def test_spellings_of_one_name_are_one_reader_shown_as_first_typed(study):
    ids = study.register_items({"t1": ["c1", "c2", "c3", "c4", "c5"]})["t1"]
    spellings = ["Bob", "bob", "BOB", "bo\u200bb", " \uff22\uff4f\uff42 "]   # zero-width space, full-width
    for spelling, item in zip(spellings, ids):
        study.save_ratings(spelling, item, full(2))
    assert study.progress_all() == {"Bob": (5, 5)}
    assert {r.reader for r in study.ratings()} == {"Bob"}
    assert len({tuple(study.reader_order(spelling)) for spelling in spellings}) == 1
    assert all(study.ratings_for(spelling, ids[0]) == full(2) for spelling in spellings)
    assert study.next_unrated("bOb") is None
    assert study.agreement().n_readers == 1


def test_reader_names_are_normalised_for_display(study):
    item = study.register_items({"t1": ["c1"]})["t1"][0]
    study.save_ratings("  Dr\u00a0 Zoe\u0308\u00ad  Smith\u202e ", item, full(1))   # nbsp, NFD, soft hyphen, RLO
    assert study.progress_all() == {"Dr Zo\u00eb Smith": (1, 1)}


@pytest.mark.parametrize("name, scripts", [
    ("b\u043eb", "Cyrillic, Latin"),             # Cyrillic о among Latin letters
    ("\u0391lice", "Greek, Latin"),              # Greek capital alpha
    ("\u0420aul", "Cyrillic, Latin"),            # Cyrillic Р
])
def test_reader_names_mixing_scripts_are_refused(study, name, scripts):
    item = study.register_items({"t1": ["c1"]})["t1"][0]
    with pytest.raises(ValueError, match=re.escape(
            f"Reader name {name!r} mixes letters of several scripts ({scripts}); type it in one alphabet")):
        study.save_ratings(name, item, full(1))
    with pytest.raises(ValueError, match="mixes letters of several scripts"):
        study.reader_order(name)
    assert study.ratings() == []


def test_reader_names_in_one_script_or_a_usual_mix_are_accepted(study):
    item = study.register_items({"t1": ["c1"]})["t1"][0]
    names = ["\u041e\u043b\u044c\u0433\u0430", "\u0395\u03bb\u03ad\u03bd\u03b7", "Dr \u5c71\u7530 \u306f\u306a\u3053",
             "Jos\u00e9 O'Neil-Sm\u00f8rg\u00e5rd", "\u674e\u5a1c", "Dr. \u0645\u062d\u0645\u062f".split()[1], "R2-D2"]
    for name in names:
        study.save_ratings(name, item, full(1))
    assert sorted(study.progress_all()) == sorted(names)


def test_empty_long_and_control_character_names_are_refused(study):
    item = study.register_items({"t1": ["c1"]})["t1"][0]
    for name in ("", "   ", "\u200b\u200d", None):
        with pytest.raises(ValueError, match=re.escape(f"Reader name must be a non-empty string, got {name!r}.")):
            study.save_ratings(name, item, full(1))
    with pytest.raises(ValueError, match="is 101 characters long; use at most 100"):
        study.save_ratings("x" * 101, item, full(1))
    with pytest.raises(ValueError, match=re.escape("Reader name 'bob\\x07' contains control characters")):
        study.save_ratings("bob\x07", item, full(1))
