"""The one way gan_eval writes to disk: whole files or nothing, checked when read back.

Every file the library writes goes through this module:

- ``atomic_path`` / ``atomic_write_bytes`` / ``atomic_write_text``: the content is written to a
  temporary file with a unique name in the target folder (``.<name>.<pid>.<random>.tmp``; a fixed
  ``<name>.partial`` would let two processes writing the same file delete each other's), flushed
  with ``fsync`` when ``durable=True``, and renamed onto the target (``os.replace`` is atomic on
  POSIX). A reader sees the old file or the new one, never half of one. On any error the
  temporary file is removed, and a full disk is reported as ``DiskFullError`` naming the file.
- ``write_checked_json`` / ``read_checked_json`` and ``save_checked_npy`` / ``load_checked_npy``:
  the content carries its own sha256. A damaged or hand-edited file reads as missing (and is
  deleted), so a cache recomputes it instead of serving it.
- ``file_sha256`` and ``content_key``: the content keys under which results are stored.

Caches keep a version in every key (``content_key`` takes one), so a change to how a value is
computed invalidates what was stored by the older code instead of serving it.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import inspect
import io
import json
import os
import shutil
import types
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

_CHUNK = 1 << 20


class DiskFullError(OSError):
    """No space left while writing ``path``; nothing was written there."""

    def __init__(self, path: Path):
        super().__init__(errno.ENOSPC, f"disk full while writing {path}: free some space and try again "
                                       "(nothing was changed)")
        self.path = path


@contextmanager
def atomic_path(path: str | Path, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, else delete it.

    ``durable``: fsync the file before the rename and the folder after it, for files whose loss
    on a power cut would lose a user's work (workspace settings, uploaded archives).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with _full_disk_named(path):
            yield tmp
            if durable:
                _fsync(tmp)
            os.replace(tmp, path)
            if durable:
                _fsync(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _full_disk_named(path: Path) -> Iterator[None]:
    """Turn "no space left" (or over quota) while writing ``path`` into a DiskFullError naming it."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT) and not isinstance(exc, DiskFullError):
            raise DiskFullError(path) from exc
        raise


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def scratch_path(folder: str | Path, suffix: str = "") -> Iterator[Path]:
    """A unique path in ``folder`` for a file that is only needed meanwhile (an upload on its way
    into the workspace); whatever is left there is deleted at the end, on success or error."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".scratch.{os.getpid()}.{uuid.uuid4().hex[:12]}{suffix}"
    try:
        with _full_disk_named(path):
            yield path
    finally:
        path.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes, durable: bool = False) -> None:
    with atomic_path(path, durable) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str, durable: bool = False) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), durable)


def atomic_copy(source: str | Path, path: str | Path, move: bool = False) -> None:
    """Put a copy of ``source`` (or ``source`` itself, with ``move``) at ``path``, whole or not at all."""
    with atomic_path(path, durable=True) as tmp:
        if move:
            os.replace(source, tmp)  # same file system: the workspace's own incoming folder
        else:
            shutil.copyfile(source, tmp)


def append_line(path: str | Path, line: str) -> None:
    """Append one line to a log and flush it to disk (an audit log must survive a crash). A line
    is written with one ``write`` of an ``O_APPEND`` file, so concurrent writers never interleave."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (line.replace("\n", " ") + "\n").encode("utf-8")
    with _full_disk_named(path):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


# ------------------------------------------------------------------------------ checked reads

def _canonical(body: object) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def write_checked_json(path: str | Path, body: object) -> None:
    """Store ``body`` (plain JSON data, no NaN) with the sha256 of its canonical form."""
    record = {"sha256": hashlib.sha256(_canonical(body)).hexdigest(), "body": body}
    atomic_write_bytes(path, json.dumps(record, separators=(",", ":"), allow_nan=False).encode())


def _damaged(path: Path) -> None:
    warnings.warn(f"stored file {path} is damaged; it will be recomputed", RuntimeWarning, stacklevel=3)
    path.unlink(missing_ok=True)


def read_checked_json(path: str | Path) -> object | None:
    """The body written by ``write_checked_json``, or None when missing or damaged (then deleted)."""
    path = Path(path)
    try:
        record = json.loads(path.read_bytes())
        if hashlib.sha256(_canonical(record["body"])).hexdigest() == record["sha256"]:
            return record["body"]
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        pass
    _damaged(path)
    return None


_NPY_CHECK = b"GANEVAL-NPY-SHA256 "


def save_checked_npy(path: str | Path, array: np.ndarray) -> None:
    """An ``.npy`` file followed by a trailer holding the sha256 of the ``.npy`` bytes."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    data = buffer.getvalue()
    atomic_write_bytes(path, data + _NPY_CHECK + hashlib.sha256(data).hexdigest().encode())


def load_checked_npy(path: str | Path) -> np.ndarray | None:
    """The array saved by ``save_checked_npy``, or None when missing or damaged (then deleted)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    data, marker, digest = raw[:-64 - len(_NPY_CHECK)], raw[-64 - len(_NPY_CHECK):-64], raw[-64:]
    if marker == _NPY_CHECK and hashlib.sha256(data).hexdigest().encode() == digest:
        try:
            return np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError:
            pass
    _damaged(path)
    return None


# ------------------------------------------------------------------------------------ content keys

def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=64)
def source_digest(*modules: types.ModuleType) -> str:
    """A digest of the source of ``modules``: the version of whatever they compute, so that a
    stored value is never served after the code that computed it changed (nothing to bump by hand)."""
    h = hashlib.sha256()
    for module in sorted(modules, key=lambda m: m.__name__):
        h.update(module.__name__.encode())
        try:
            h.update(inspect.getsource(module).encode())
        except (OSError, TypeError):  # no source (a frozen build): its name and version stand in
            h.update(str(getattr(module, "__version__", "")).encode())
    return h.hexdigest()[:16]


def content_key(*parts: object) -> str:
    """A short stable key (blake2b-128 hex) of JSON-able ``parts`` and raw ``bytes`` parts."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part if isinstance(part, (bytes, bytearray, memoryview)) else _canonical(part)
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()
