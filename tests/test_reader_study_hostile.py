"""The reader study in a hostile world: formulas in names and case ids, submissions that change
under a running study, and readers who sign in under several spellings.

Only names that existed before these fixes are imported, so each test fails on the old code by
its behaviour (or by a missing method), not by an import error.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from gan_eval.reader_study import CRITERION_KEYS, ReaderStudy


def full(value: int) -> dict[str, int]:
    return dict.fromkeys(CRITERION_KEYS, value)


@pytest.fixture
def study(tmp_path) -> ReaderStudy:
    return ReaderStudy(tmp_path / "reader_study.sqlite")


def exported(study: ReaderStudy, **kwargs) -> list[dict[str, str]]:
    buffer = io.StringIO()
    study.export_csv(buffer, **kwargs)
    return list(csv.DictReader(io.StringIO(buffer.getvalue())))


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
