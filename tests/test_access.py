"""Jury-mode credentials: the organiser secret, reader invites (hashed, revocable), throttled
failures, the audit log."""

from __future__ import annotations

import sqlite3

import pytest

from gan_eval import access


def test_the_organiser_secret_comes_from_secrets_then_the_environment():
    assert access.organiser_secret({"organiser_secret": "s1"}, {access.ORGANISER_ENV: "e1"}) == "s1"
    assert access.organiser_secret({}, {access.ORGANISER_ENV: "e1"}) == "e1"
    assert access.organiser_secret(None, {}) is None
    assert access.secrets_match("s1", "s1") and not access.secrets_match("s2", "s1")
    assert not access.secrets_match("", "") and not access.secrets_match("x", None)


def test_invites_are_tokens_stored_only_as_hashes_and_revocable(tmp_path):
    invites = access.Invites(tmp_path / "access.sqlite")
    alice, token = invites.create("  Alice ")
    assert alice.name == "Alice" and len(token) >= 40
    assert invites.reader_for(token) == alice
    for wrong in (None, "", token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 500):
        assert invites.reader_for(wrong) is None
    raw = sqlite3.connect(tmp_path / "access.sqlite").execute("SELECT * FROM readers").fetchall()
    assert token not in repr(raw), "the token itself is never stored"
    with pytest.raises(ValueError, match="a reader named 'alice' is already invited"):
        invites.create("alice")
    invites.revoke(alice.id)
    assert invites.reader_for(token) is None and not invites.get(alice.id).active
    again, new_token = invites.create("alice")
    assert invites.reader_for(new_token) == again and again.id != alice.id


def test_failures_are_slowed_down_exponentially_per_key():
    now = [1000.0]
    throttle = access.Throttle(free=3, base=1.0, cap=60.0, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait_s("ip-1") == 0.0
        throttle.failed("ip-1")
    assert throttle.wait_s("ip-1") == pytest.approx(1.0)
    throttle.failed("ip-1")
    assert throttle.wait_s("ip-1") == pytest.approx(2.0)
    for _ in range(20):
        throttle.failed("ip-1")
    assert throttle.wait_s("ip-1") == pytest.approx(60.0)
    assert throttle.wait_s("ip-2") == 0.0  # another client is not slowed
    now[0] += 61
    assert throttle.wait_s("ip-1") == 0.0
    throttle.succeeded("ip-1")
    throttle.failed("ip-1")
    assert throttle.wait_s("ip-1") == 0.0


def test_the_audit_log_appends_and_survives_a_cut_line(tmp_path):
    log = access.AuditLog(tmp_path / "audit.jsonl")
    log.append("organiser", "upload", set="good", filename="good.zip")
    log.append("organiser", "close reading\nforged line")
    with open(tmp_path / "audit.jsonl", "a") as f:
        f.write('{"time": 1, "act')  # a crash mid-line
    entries = log.entries()
    assert [e["action"] for e in entries] == ["upload", "close reading\nforged line"]
    assert entries[0]["set"] == "good" and entries[0]["actor"] == "organiser"
    assert len((tmp_path / "audit.jsonl").read_text().splitlines()) == 3
