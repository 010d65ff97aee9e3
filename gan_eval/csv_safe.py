"""CSV that a spreadsheet opens as data: no cell written here can run as a formula.

Reader names, team names and case ids are typed or chosen by people outside the jury; a team
calling a case ``=HYPERLINK("http://x","y")`` or a reader signing in as ``@SUM(A1)`` would
otherwise put a live formula in the organiser's spreadsheet (CSV or formula injection). As OWASP
recommends, a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return (and NUL,
which ASVS 1.2.10 adds) gets a leading single quote, which spreadsheets read as "this is text" and
do not display. Numbers are never touched: ``-0.5`` is a number, not a formula, and quoting it
would turn a column of scores into text. Quoting of commas, quotes and line breaks inside a cell
is the ``csv`` module's (RFC 4180), so a cell can never spill into the next one.
"""

from __future__ import annotations

import csv
from typing import IO, Any, Iterable

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would read as a formula; anything
    else (numbers, None, text already safe) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_rows(f: IO[str], rows: Iterable[Iterable[Any]], header: Iterable[Any] | None = None) -> int:
    """Write ``header`` (if given) and ``rows`` to ``f`` as CSV, every cell neutralised; returns the
    number of rows written, the header not counted. Open ``f`` with ``newline=""``."""
    writer = csv.writer(f)
    if header is not None:
        writer.writerow([neutralise_cell(cell) for cell in header])
    n = 0
    for row in rows:
        writer.writerow([neutralise_cell(cell) for cell in row])
        n += 1
    return n


def dataframe_to_csv(frame, index: bool = True, **to_csv_kwargs) -> str:
    """``frame.to_csv(index=index, **to_csv_kwargs)`` as text, with every text cell, column label
    and index label neutralised (a leaderboard's index is the team names); numbers keep pandas'
    own formatting."""
    safe = frame.map(neutralise_cell)
    safe.columns = _safe_labels(frame.columns)
    safe.index = _safe_labels(frame.index)
    return safe.to_csv(index=index, **to_csv_kwargs)


def _safe_labels(labels):
    names = [neutralise_cell(name) for name in labels.names]
    if labels.nlevels > 1:
        return type(labels).from_tuples([tuple(neutralise_cell(v) for v in t) for t in labels], names=names)
    safe = labels.map(neutralise_cell)
    safe.name = names[0]
    return safe
