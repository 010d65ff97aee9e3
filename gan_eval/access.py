"""Who may do what: the organiser, invited readers and visitors of a jury server.

With an organiser secret configured (``.streamlit/secrets.toml``: ``organiser_secret = "..."``,
or the environment variable ``GAN_EVAL_ORGANISER_SECRET``) the app runs in **jury mode**:

- the *organiser* signs in with the secret and manages everything;
- a *reader* is created by the organiser and gets a personal invite link carrying a token of 256
  random bits. Only the token's sha256 is stored, so the database cannot be read back into
  links; the link is the identity (no self-declared names) and an invite can be revoked;
- a *visitor* has no credential and sees only what is published.

Without a secret the app is in **demo mode** (a conference laptop, the built-in demo): no access
control, and the app says so.

Secrets are compared in constant time, and repeated failures are slowed down per client
(``Throttle``): the n-th failure beyond ``free`` waits ``base * 2**(n - free)`` seconds, capped.
Every organiser action is appended to the workspace's audit log (``AuditLog``).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .reader_names import normalise_reader, reader_key
from .store import append_line

ORGANISER_SECRET = "organiser_secret"
ORGANISER_ENV = "GAN_EVAL_ORGANISER_SECRET"
_TOKEN_BYTES = 32


class Role(enum.Enum):
    DEMO = "demo"            # no organiser secret: everything open
    ORGANISER = "organiser"
    READER = "reader"
    VISITOR = "visitor"


def organiser_secret(secrets_: Mapping | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The configured organiser secret (secrets.toml first, then the environment), or None."""
    environ = os.environ if environ is None else environ
    try:
        value = (secrets_ or {}).get(ORGANISER_SECRET)
    except Exception:  # Streamlit's secrets raise when no secrets.toml exists at all
        value = None
    value = value or environ.get(ORGANISER_ENV)
    return str(value) if value else None


def secrets_match(given: str | None, configured: str | None) -> bool:
    """Constant-time comparison; nothing matches a missing secret."""
    if not given or not configured:
        return False
    return hmac.compare_digest(given.encode("utf-8"), configured.encode("utf-8"))


class Throttle:
    """Slows down repeated failures per key (a client address, a session): after ``free``
    failures each further one must wait ``base * 2**(n - free)`` seconds (at most ``cap``)
    before the next attempt is even checked. A success clears the key."""

    def __init__(self, free: int = 3, base: float = 1.0, cap: float = 300.0, clock=time.monotonic,
                 max_keys: int = 10_000):
        self.free, self.base, self.cap, self.clock, self.max_keys = free, base, cap, clock, max_keys
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, key: str) -> float:
        """Seconds before ``key`` may try again (0: now)."""
        with self._lock:
            count, last = self._failures.get(key, (0, 0.0))
        if count < self.free:
            return 0.0
        delay = min(self.base * 2 ** (count - self.free), self.cap)
        return max(0.0, last + delay - self.clock())

    def failed(self, key: str) -> None:
        with self._lock:
            count, _ = self._failures.get(key, (0, 0.0))
            self._failures[key] = (count + 1, self.clock())
            if len(self._failures) > self.max_keys:  # many clients: forget those idle the longest
                for old in sorted(self._failures, key=lambda k: self._failures[k][1])[: self.max_keys // 2]:
                    del self._failures[old]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


# --------------------------------------------------------------------------------------- invites

@dataclass(frozen=True)
class Reader:
    id: int
    name: str
    created: float
    revoked: float | None

    @property
    def active(self) -> bool:
        return self.revoked is None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Invites:
    """The invited readers of a workspace (SQLite beside the reader study)."""

    def __init__(self, db_path: str | Path):
        self.db_path = Path(db_path)
        with self._connection() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS readers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                         "name_key TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE, created REAL NOT NULL, "
                         "revoked REAL)")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            yield conn
        finally:
            conn.close()

    def create(self, name: str) -> tuple[Reader, str]:
        """A new reader and their invite token (shown once: only its hash is kept). Names are
        normalised as reader names are everywhere; an active reader's name cannot be reused."""
        name = normalise_reader(name)
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            taken = conn.execute("SELECT 1 FROM readers WHERE name_key = ? AND revoked IS NULL",
                                 (reader_key(name),)).fetchone()
            if taken:
                conn.execute("ROLLBACK")
                raise ValueError(f"a reader named {name!r} is already invited; revoke that invite first")
            cursor = conn.execute("INSERT INTO readers (name, name_key, token_sha256, created) VALUES (?, ?, ?, ?)",
                                  (name, reader_key(name), _token_hash(token), time.time()))
            conn.execute("COMMIT")
        return self.get(cursor.lastrowid), token

    def get(self, reader_id: int) -> Reader:
        with self._connection() as conn:
            row = conn.execute("SELECT id, name, created, revoked FROM readers WHERE id = ?", (reader_id,)).fetchone()
        if row is None:
            raise KeyError(f"no reader with id {reader_id}")
        return Reader(*row)

    def reader_for(self, token: str | None) -> Reader | None:
        """The active reader whose invite carries ``token``; None for a wrong or revoked token."""
        if not token or len(token) > 200:
            return None
        with self._connection() as conn:
            row = conn.execute("SELECT id, name, created, revoked FROM readers WHERE token_sha256 = ?",
                               (_token_hash(token),)).fetchone()
        reader = Reader(*row) if row else None
        return reader if reader is not None and reader.active else None

    def revoke(self, reader_id: int) -> Reader:
        with self._connection() as conn:
            conn.execute("UPDATE readers SET revoked = ? WHERE id = ? AND revoked IS NULL", (time.time(), reader_id))
        return self.get(reader_id)

    def readers(self) -> list[Reader]:
        with self._connection() as conn:
            return [Reader(*row) for row in conn.execute("SELECT id, name, created, revoked FROM readers ORDER BY id")]


# ------------------------------------------------------------------------------------- audit log

class AuditLog:
    """Append-only record of organiser actions: one JSON line each (time, actor, action, details)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def append(self, actor: str, action: str, **details: object) -> dict:
        entry = {"time": time.time(), "actor": actor, "action": action, **details}
        append_line(self.path, json.dumps(entry, sort_keys=True, ensure_ascii=False))
        return entry

    def entries(self) -> list[dict]:
        """Every entry, oldest first (a last line cut by a crash is skipped)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out
