"""CSV cells that a spreadsheet would run as formulas are neutralised; everything else is untouched."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from gan_eval.csv_safe import FORMULA_PREFIXES, dataframe_to_csv, neutralise_cell, write_rows

DANGEROUS = ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\tx", "\rx", "\0x", "=", "-"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_text_starting_a_formula_gets_a_leading_quote(text):
    assert neutralise_cell(text) == "'" + text
    assert neutralise_cell(np.str_(text)) == "'" + text


def test_prefixes_are_owasps():
    assert set(FORMULA_PREFIXES) >= {"=", "+", "-", "@", "\t", "\r"}


@pytest.mark.parametrize("value", [-0.5, -3, 0, 2.5, np.float64(-0.5), np.int64(-2), float("nan"), None, True,
                                   "", "plain", "a=b", "'=already quoted", " =x", "case-1", "é=1"])
def test_numbers_and_harmless_text_are_unchanged(value):
    out = neutralise_cell(value)
    assert out is value or (out != out and value != value)


def test_written_rows_round_trip_through_the_csv_module():
    rows = [["=cmd|' /C calc'!A0", -0.5, 3], ['a "quoted", comma', "line\nbreak", "-x"], [None, "@y", 0]]
    buffer = io.StringIO()
    assert write_rows(buffer, rows, header=["=name", "value", "n"]) == 3
    back = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert back == [["'=name", "value", "n"],
                    ["'=cmd|' /C calc'!A0", "-0.5", "3"],
                    ['a "quoted", comma', "line\nbreak", "'-x"],
                    ["", "'@y", "0"]]


def test_dataframe_to_csv_neutralises_cells_and_labels_and_keeps_numbers():
    table = pd.DataFrame({"submission": ["=HYPERLINK(\"http://x\",\"y\")", "good", "+team"],
                          "fid": [-0.5, 12.25, np.nan], "n": [1000, -1, 3], "note": ["@x", "ok", None]}
                         ).set_index("submission")
    text = dataframe_to_csv(table)
    back = list(csv.reader(io.StringIO(text)))
    assert back == [["submission", "fid", "n", "note"],
                    ['\'=HYPERLINK("http://x","y")', "-0.5", "1000", "'@x"],
                    ["good", "12.25", "-1", "ok"],
                    ["'+team", "", "3", ""]]
    assert text == dataframe_to_csv(table.reset_index(), index=False)
    # The frame given is not changed, and pandas reads the numbers back as numbers.
    assert table.index[0].startswith("=")
    again = pd.read_csv(io.StringIO(text), index_col=0)
    assert again["fid"].iloc[0] == -0.5 and again["n"].tolist() == [1000, -1, 3]
    labelled = table.rename(columns={"note": "-note"}).rename_axis("=team")
    assert next(csv.reader(io.StringIO(dataframe_to_csv(labelled)))) == ["'=team", "fid", "n", "'-note"]
