"""The store: whole files or nothing, unique temporary names, checked reads, a full disk named."""

from __future__ import annotations

import errno
import json
import threading

import numpy as np
import pytest

from gan_eval import store


def test_concurrent_writers_of_one_file_never_collide(tmp_path):
    target = tmp_path / "real.zip"
    errors = []

    def write(i: int) -> None:
        try:
            for _ in range(50):
                store.atomic_write_bytes(target, bytes([i]) * 10_000)
        except Exception as exc:  # a fixed temporary name made one writer rename the other's file away
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    data = target.read_bytes()
    assert len(data) == 10_000 and len(set(data)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["real.zip"]


def test_checked_json_and_npy_detect_any_change(tmp_path):
    path = tmp_path / "result.json"
    store.write_checked_json(path, {"fid": 4.05})
    assert store.read_checked_json(path) == {"fid": 4.05}
    record = json.loads(path.read_text())
    record["body"]["fid"] = 1.6  # a team edits its stored score
    path.write_text(json.dumps(record))
    with pytest.warns(RuntimeWarning, match="damaged"):
        assert store.read_checked_json(path) is None
    assert not path.exists()

    coords = tmp_path / "map.npy"
    store.save_checked_npy(coords, np.arange(6.0).reshape(3, 2))
    assert np.array_equal(store.load_checked_npy(coords), np.arange(6.0).reshape(3, 2))
    raw = bytearray(coords.read_bytes())
    raw[-80] ^= 0xFF  # one flipped byte in the array
    coords.write_bytes(bytes(raw))
    with pytest.warns(RuntimeWarning, match="damaged"):
        assert store.load_checked_npy(coords) is None
    assert store.load_checked_npy(tmp_path / "missing.npy") is None


def test_a_full_disk_is_named_and_leaves_nothing_behind(tmp_path, monkeypatch):
    target = tmp_path / "workspace.json"
    target.write_text("old")

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(type(target), "write_bytes", full)
    with pytest.raises(store.DiskFullError, match=r"disk full while writing .*workspace\.json"):
        store.atomic_write_text(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["workspace.json"]


def test_scratch_files_are_removed_on_success_and_error(tmp_path):
    with store.scratch_path(tmp_path, ".upload") as path:
        path.write_bytes(b"x")
    with pytest.raises(RuntimeError):
        with store.scratch_path(tmp_path, ".upload") as path:
            path.write_bytes(b"x")
            raise RuntimeError("validation failed")
    assert list(tmp_path.iterdir()) == []


def test_content_keys_separate_their_parts():
    assert store.content_key("ab", "c") != store.content_key("a", "bc")
    assert store.content_key(b"\x00\x01", [1, 2]) == store.content_key(b"\x00\x01", [1, 2])
