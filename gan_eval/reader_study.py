"""Blinded reader study: a jury rates the K-means-selected cases of every team, 0-4 on five criteria.

The store is one SQLite file in the workspace (``Workspace.reader_db``), shared by every reader
signed in at once and by the CLI:

- WAL mode, so readers never block the writer and a killed app loses nothing that was saved;
  every write takes the write lock up front (``BEGIN IMMEDIATE``) so a second process waits for
  it (busy timeout) instead of failing with "database is locked" on a lock upgrade.
- ``items``: the pooled cases under opaque ids (an HMAC of team and case id under a random
  study secret kept in the database), so nothing shown to a reader names a team or a case.
  Submissions change while a study runs (a team re-uploads, K-means selects other cases; a team
  is removed): a case no longer selected becomes *stale* instead of being deleted, so no rating
  is ever lost; readers are no longer offered it and results leave it out, the export keeps it.
- ``ratings``: one row per (reader, item, criterion); a case's five ratings are written in one
  transaction and re-rating replaces them. Readers are who they say, up to case and invisible
  characters (:mod:`gan_eval.reader_names`).
- ``verdicts``: one row per (reader, item) when the visual Turing test is on (real cases mixed
  into the pool as the team ``REAL``; :mod:`gan_eval.turing`): real or generated, and how sure.
  Saved with the case's ratings, in the same transaction.
- ``study_state``: the secret, whether reading is open or closed (closed = results may be
  un-blinded, and ratings are frozen), and the Turing test setting.

A study created by an older version gains the new tables and settings when first opened, its
ratings untouched. The criteria and the aggregation (pure functions of :class:`Rating` and
:class:`~gan_eval.turing.VerdictRow` rows) are :mod:`gan_eval.reader_scores` and
:mod:`gan_eval.turing`; :class:`ReaderStudy` exposes each of them over its stored rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from secrets import token_hex
from typing import Iterator, Mapping, NamedTuple, Sequence

from . import turing
# Re-exported: the app imports the jury password from here, and the export columns.
from .jury_password import JURY_PASSWORD_ENV, JURY_PASSWORD_HELP, JURY_PASSWORD_SECRET, check_password, jury_password  # noqa: F401
from .reader_names import normalise_reader, reader_key
from .reader_results import EXPORT_COLUMNS, VERDICT_EXPORT_COLUMNS, Selection, StudyResults, check_selection  # noqa: F401
from .reader_scores import CRITERION_KEYS, RATING_MAX, RATING_MIN, check_ratings
from .turing import Verdict


# --- the store ----------------------------------------------------------------------------------

class ReadingClosedError(RuntimeError):
    """Raised when ratings or the selection change after reading was closed."""


@dataclass(frozen=True)
class Item:
    """A pooled case: ``item_id`` is what readers see; team and case id stay in the database.

    A **stale** item is one whose (team, case) is no longer in the selection: its team was
    re-uploaded with other selected cases, or removed. It is kept, with its ratings, for the
    organiser and the export; readers are no longer offered it and results leave it out.
    ``n_readers`` counts the readers who completed it.
    """

    item_id: str
    team: str
    case_id: str
    position: int   # index in the team's selection (its last one, for a stale item)
    stale: bool = False
    n_readers: int = 0


class TuringSetting(NamedTuple):
    """Whether the visual Turing test is on, and how many real cases it mixes into the pool."""

    enabled: bool
    n_real: int


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS study_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    item_id  TEXT PRIMARY KEY,
    team     TEXT NOT NULL,
    case_id  TEXT NOT NULL,
    position INTEGER NOT NULL,
    stale    INTEGER NOT NULL DEFAULT 0 CHECK (stale IN (0, 1)),
    UNIQUE (team, case_id)
);
CREATE TABLE IF NOT EXISTS ratings (
    reader    TEXT NOT NULL,
    item_id   TEXT NOT NULL REFERENCES items (item_id),
    criterion TEXT NOT NULL CHECK (criterion IN ({", ".join(f"'{k}'" for k in CRITERION_KEYS)})),
    value     INTEGER NOT NULL CHECK (value BETWEEN {RATING_MIN} AND {RATING_MAX}),
    rated_at  TEXT NOT NULL,
    PRIMARY KEY (reader, item_id, criterion)
);
CREATE TABLE IF NOT EXISTS verdicts (
    reader     TEXT NOT NULL,
    item_id    TEXT NOT NULL REFERENCES items (item_id),
    says       TEXT NOT NULL CHECK (says IN ({", ".join(f"'{a}'" for a in turing.ANSWERS)})),
    confidence INTEGER NOT NULL CHECK (confidence BETWEEN {turing.CONFIDENCE_MIN} AND {turing.CONFIDENCE_MAX}),
    rated_at   TEXT NOT NULL,
    PRIMARY KEY (reader, item_id)
);
"""
_OPEN, _CLOSED = "open", "closed"
_ITEM_ID_HEX = 16  # 64 bits of HMAC: no collisions among a few hundred cases
_STATE_DEFAULTS = {"state": _OPEN, "turing": "off", "turing_real_cases": str(turing.DEFAULT_REAL_CASES)}
# A reader's complete cases: (reader, item_id) with all five criteria rated.
_COMPLETE = f"SELECT reader, item_id FROM ratings GROUP BY reader, item_id HAVING COUNT(*) = {len(CRITERION_KEYS)}"


class ReaderStudy(StudyResults):
    """The reader-study database at ``db_path`` (created on first use).

    Each call opens its own short-lived connection, so one object can be shared by Streamlit's
    script threads and several processes can use the same file at once. Opening an existing,
    up-to-date study only reads, so pages that open it on every visit never wait for a writer.
    """

    def __init__(self, db_path: str | Path, busy_timeout_s: float = 30.0):
        self.path = Path(db_path)
        self.busy_timeout_s = busy_timeout_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as conn:
            # WAL persists in the file; switching cannot happen inside a transaction.
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            if self._is_set_up(conn):
                return
        with self._writing() as conn:
            # One statement at a time: executescript() would commit the open transaction first.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            if "stale" not in self._columns(conn, "items"):  # a study created before stale items
                conn.execute("ALTER TABLE items ADD COLUMN stale INTEGER NOT NULL DEFAULT 0 CHECK (stale IN (0, 1))")
            conn.execute("INSERT OR IGNORE INTO study_state VALUES ('secret', ?)", (token_hex(32),))
            conn.executemany("INSERT OR IGNORE INTO study_state VALUES (?, ?)", _STATE_DEFAULTS.items())

    @classmethod
    def _is_set_up(cls, conn: sqlite3.Connection) -> bool:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"study_state", "items", "ratings", "verdicts"} <= tables or "stale" not in cls._columns(conn, "items"):
            return False
        keys = {row[0] for row in conn.execute("SELECT key FROM study_state")}
        return {"secret", *_STATE_DEFAULTS} <= keys

    @staticmethod
    def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}

    # -- connections -----------------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn:
            conn.execute(begin)
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _writing(self):
        # The write lock is taken at BEGIN, where the busy timeout applies; a deferred
        # transaction that upgrades later fails at once with "database is locked".
        return self._transaction("BEGIN IMMEDIATE")

    def _reading(self):
        """One consistent snapshot for several queries."""
        return self._transaction("BEGIN")

    # -- selection -------------------------------------------------------------------------------
    def register_items(self, selected: Selection) -> dict[str, list[str]]:
        """Make ``selected`` the study's selection; returns {team: item ids in selection order}.

        ``selected`` is the whole current selection, every team with its selected cases: the app
        registers on every page visit, so this follows the submissions as they change.
        Nothing stored is ever lost: a (team, case) no longer selected (its team re-uploaded with
        other cases, or removed) becomes stale, with its ratings kept (see :class:`Item`); one
        selected again becomes current again, with them. Stale cases nobody rated are dropped.

        Registering the selection already registered only reads (no write lock, so page visits
        never queue behind readers saving), and so works after reading was closed; changing it
        once closed raises ReadingClosedError, since results must not move under the jury.
        """
        wanted = check_selection(selected)
        with self._reading() as conn:
            secret = self._secret(conn)
            registered = {team: [self._item_id(secret, team, case_id) for case_id in case_ids]
                          for team, case_ids in wanted.items()}
            rows = {(item_id, team, case_id, i) for team, case_ids in wanted.items()
                    for i, (item_id, case_id) in enumerate(zip(registered[team], case_ids))}
            unchanged = rows == set(conn.execute("SELECT item_id, team, case_id, position FROM items WHERE stale = 0"))
            if not unchanged:
                self._refuse_if_closed(conn, "change the selection")
        if not unchanged:
            with self._writing() as conn:
                self._refuse_if_closed(conn, "change the selection")  # it may have closed meanwhile
                conn.execute("UPDATE items SET stale = 1 WHERE stale = 0")
                conn.executemany(
                    "INSERT INTO items VALUES (?, ?, ?, ?, 0) "
                    "ON CONFLICT (item_id) DO UPDATE SET position = excluded.position, stale = 0",
                    sorted(rows))
                conn.execute("DELETE FROM items WHERE stale = 1 AND item_id NOT IN (SELECT item_id FROM ratings)")
        return registered

    @staticmethod
    def _item_id(secret: str, team: str, case_id: str) -> str:
        message = f"{team}\x1f{case_id}"
        if "\x1f" in team or "\x1f" in case_id:
            # The separator inside a name would make two different (team, case) pairs one id;
            # JSON escapes it, and a JSON message never contains the raw separator.
            message = json.dumps([team, case_id])
        return hmac.new(bytes.fromhex(secret), message.encode("utf-8"), hashlib.sha256).hexdigest()[:_ITEM_ID_HEX]

    @staticmethod
    def _secret(conn: sqlite3.Connection) -> str:
        return conn.execute("SELECT value FROM study_state WHERE key = 'secret'").fetchone()[0]

    def items(self, include_stale: bool = False) -> list[Item]:
        """The pooled cases, un-blinded, by team and selection order (organiser view); stale
        ones too, after the current ones, with ``include_stale``."""
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT i.item_id, i.team, i.case_id, i.position, i.stale, COUNT(c.reader) FROM items i "
                f"LEFT JOIN ({_COMPLETE}) c USING (item_id) GROUP BY i.item_id "
                "ORDER BY i.stale, i.team, i.position, i.case_id").fetchall()
        return [Item(item_id, team, case_id, position, bool(stale), n)
                for item_id, team, case_id, position, stale, n in rows if include_stale or not stale]

    def stale_items(self) -> list[Item]:
        """Cases no longer selected whose ratings are kept (see :meth:`register_items`)."""
        return [item for item in self.items(include_stale=True) if item.stale]

    def item_reference(self, item_id: str) -> tuple[str, str]:
        """(team, case_id) behind an item id, stale or not, for fetching images; never show it to
        a reader."""
        with self._connection() as conn:
            row = conn.execute("SELECT team, case_id FROM items WHERE item_id = ?", (item_id,)).fetchone()
        if row is None:
            raise KeyError(f"Unknown case {item_id!r}: it is not in this reader study.")
        return row[0], row[1]

    # -- reading ---------------------------------------------------------------------------------
    def reader_order(self, reader: str, seed: int = 0) -> list[str]:
        """Every current item (stale ones are not offered), in the order this reader sees them.

        Items are sorted by a keyed blake2b hash of (seed, reader, item id): the same in every
        process and for every spelling of the reader's name (:func:`reader_key`), different
        between readers, and adding a team slots its cases in without moving the cases a reader
        has already seen relative to each other.
        """
        key = reader_key(normalise_reader(reader))
        with self._connection() as conn:
            ids = [row[0] for row in conn.execute("SELECT item_id FROM items WHERE stale = 0")]
        prefix = f"{seed}\x1f{key}\x1f".encode("utf-8")
        return sorted(ids, key=lambda item_id: hashlib.blake2b(prefix + item_id.encode(), digest_size=16).digest())

    def next_unrated(self, reader: str, after: str | None = None, seed: int = 0) -> str | None:
        """The first item in the reader's order not yet rated, looking after ``after`` (skip) and
        wrapping round; None when every item is rated."""
        order = self.reader_order(reader, seed)
        rated = self._rated_items(self.reader_name(reader))
        start = order.index(after) + 1 if after in order else 0
        for item_id in order[start:] + order[:start]:
            if item_id not in rated:
                return item_id
        return None

    def reader_name(self, reader: str) -> str:
        """The name this reader's ratings are stored under: the spelling they first saved with,
        whatever case or invisible characters they sign in with later; their normalised name if
        they have saved nothing yet. Raises ValueError for a name :func:`normalise_reader` refuses."""
        with self._connection() as conn:
            return self._stored_reader(conn, normalise_reader(reader))

    @staticmethod
    def _stored_reader(conn: sqlite3.Connection, name: str) -> str:
        key = reader_key(name)
        for (stored,) in conn.execute("SELECT reader FROM ratings GROUP BY reader ORDER BY MIN(rated_at), reader"):
            if reader_key(stored) == key:  # stored names may predate normalisation
                return stored
        return name

    def _rated_items(self, reader: str) -> set[str]:
        with self._connection() as conn:
            return {row[0] for row in conn.execute(f"SELECT item_id FROM ({_COMPLETE}) WHERE reader = ?", (reader,))}

    def progress(self, reader: str) -> tuple[int, int]:
        """(current cases this reader has rated, current cases in the pool)."""
        return self.progress_all().get(self.reader_name(reader), (0, self._n_items()))

    def progress_all(self) -> dict[str, tuple[int, int]]:
        """{reader: (rated, total)} over current cases, for every reader with a rating kept (one
        whose rated cases all went stale shows 0)."""
        with self._reading() as conn:
            total = conn.execute("SELECT COUNT(*) FROM items WHERE stale = 0").fetchone()[0]
            rated = conn.execute(
                f"SELECT c.reader, SUM(1 - i.stale) FROM ({_COMPLETE}) c JOIN items i USING (item_id) "
                "GROUP BY c.reader ORDER BY c.reader").fetchall()
        return {reader: (n, total) for reader, n in rated}

    def progress_by_team(self, readers: Sequence[str] = ()) -> dict[str, dict[str, tuple[int, int]]]:
        """{reader: {team: (rated, total)}} over current cases, for ``readers`` (the invited ones,
        who may have rated nothing yet) and every reader with a rating kept: the organiser's view
        of what is left to read."""
        with self._reading() as conn:
            totals = dict(conn.execute("SELECT team, COUNT(*) FROM items WHERE stale = 0 GROUP BY team"))
            rated = conn.execute(
                f"SELECT c.reader, i.team, COUNT(*) FROM ({_COMPLETE}) c JOIN items i USING (item_id) "
                "WHERE i.stale = 0 GROUP BY c.reader, i.team").fetchall()
            names = {self._stored_reader(conn, normalise_reader(r)) for r in readers}
        table = {name: {team: (0, n) for team, n in totals.items()} for name in sorted(names | {r for r, _, _ in rated})}
        for reader, team, n in rated:
            table[reader][team] = (n, totals[team])
        return table

    def _n_items(self) -> int:
        with self._connection() as conn:
            return conn.execute("SELECT COUNT(*) FROM items WHERE stale = 0").fetchone()[0]

    def ratings_for(self, reader: str, item_id: str) -> dict[str, int]:
        """This reader's ratings of one item ({} if not rated), to resume or go back."""
        with self._connection() as conn:
            rows = conn.execute("SELECT criterion, value FROM ratings WHERE reader = ? AND item_id = ?",
                                (self._stored_reader(conn, normalise_reader(reader)), item_id)).fetchall()
        return {key: value for key, value in sorted(rows, key=lambda row: CRITERION_KEYS.index(row[0]))}

    def verdict_for(self, reader: str, item_id: str) -> Verdict | None:
        """This reader's Turing-test verdict on one item (None if not given), to resume or go back."""
        with self._connection() as conn:
            row = conn.execute("SELECT says, confidence FROM verdicts WHERE reader = ? AND item_id = ?",
                               (self._stored_reader(conn, normalise_reader(reader)), item_id)).fetchone()
        return None if row is None else Verdict(*row)

    def save_ratings(self, reader: str, item_id: str, ratings: Mapping[str, int],
                     verdict: Verdict | tuple[str, int] | None = None) -> None:
        """Store a reader's five ratings of one case, and their verdict (real or generated, and how
        sure: :mod:`gan_eval.turing`), in one transaction, replacing earlier ones.

        While the Turing test is on the verdict is required, so that every read made under it has
        one; a verdict given while it is off is kept (the reader answered it), and ratings saved
        without one keep the earlier verdict.
        """
        name = normalise_reader(reader)
        values = check_ratings(name, item_id, ratings)
        answer = None if verdict is None else turing.check_verdict(name, item_id, verdict)
        rated_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        with self._writing() as conn:
            self._refuse_if_closed(conn, "save ratings")
            row = conn.execute("SELECT stale FROM items WHERE item_id = ?", (item_id,)).fetchone()
            if row is None:
                raise ValueError(f"Unknown case {item_id!r}: it is not in this reader study.")
            if row[0]:
                raise ValueError(f"Case {item_id} is no longer in the reader study: its team's submission changed "
                                 "or was removed. Ratings already given are kept; rate the cases offered now.")
            if answer is None and self._turing(conn).enabled:
                raise ValueError(f"Ratings of case {item_id} by reader {name!r} were not saved: the Turing test is on, "
                                 "so say whether the case is real or generated, and how sure you are.")
            # Under the write lock, so two first sign-ins as "Bob" and "bob" still make one reader.
            name = self._stored_reader(conn, name)
            conn.executemany(
                "INSERT INTO ratings VALUES (?, ?, ?, ?, ?) ON CONFLICT (reader, item_id, criterion) "
                "DO UPDATE SET value = excluded.value, rated_at = excluded.rated_at",
                [(name, item_id, key, value, rated_at) for key, value in values.items()],
            )
            if answer is not None:
                conn.execute("INSERT INTO verdicts VALUES (?, ?, ?, ?, ?) ON CONFLICT (reader, item_id) DO UPDATE SET "
                             "says = excluded.says, confidence = excluded.confidence, rated_at = excluded.rated_at",
                             (name, item_id, answer.says, answer.confidence, rated_at))

    # -- open / closed ---------------------------------------------------------------------------
    def close_reading(self) -> None:
        """End reading: ratings and selection are frozen and results may be un-blinded."""
        self._set_state(_CLOSED)

    def reopen(self) -> None:
        self._set_state(_OPEN)

    def is_closed(self) -> bool:
        with self._connection() as conn:
            return self._state(conn) == _CLOSED

    def _set_state(self, state: str) -> None:
        with self._writing() as conn:
            conn.execute("UPDATE study_state SET value = ? WHERE key = 'state'", (state,))

    def set_turing(self, enabled: bool, n_real: int | None = None) -> None:
        """Turn the visual Turing test on or off; ``n_real`` real cases are mixed into the pool
        (None keeps the number set before, at first ``turing.DEFAULT_REAL_CASES``).

        The setting is the reading's design, so it is refused once reading is closed. It does not
        register the real cases: the app does, giving ``register_items`` the selection with them
        (``turing.reading_pool``). Turn it on before reading starts: cases read before have no
        verdict and are not offered again.
        """
        if n_real is not None and (isinstance(n_real, bool) or not isinstance(n_real, int) or n_real < 1):
            raise ValueError(f"The Turing test needs a whole number of real cases, at least 1, got {n_real!r}.")
        with self._writing() as conn:
            self._refuse_if_closed(conn, f"turn the Turing test {'on' if enabled else 'off'}")
            conn.execute("UPDATE study_state SET value = ? WHERE key = 'turing'", ("on" if enabled else "off",))
            if n_real is not None:
                conn.execute("UPDATE study_state SET value = ? WHERE key = 'turing_real_cases'", (str(n_real),))

    def turing_setting(self) -> TuringSetting:
        with self._connection() as conn:
            return self._turing(conn)

    @staticmethod
    def _turing(conn: sqlite3.Connection) -> TuringSetting:
        state = dict(conn.execute("SELECT key, value FROM study_state WHERE key IN ('turing', 'turing_real_cases')"))
        return TuringSetting(state["turing"] == "on", int(state["turing_real_cases"]))

    @staticmethod
    def _state(conn: sqlite3.Connection) -> str:
        return conn.execute("SELECT value FROM study_state WHERE key = 'state'").fetchone()[0]

    def _refuse_if_closed(self, conn: sqlite3.Connection, action: str) -> None:
        if self._state(conn) == _CLOSED:
            raise ReadingClosedError(f"Reading is closed: cannot {action}. Reopen the reading first.")
