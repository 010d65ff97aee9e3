"""A persistent, content-addressed cache on disk, shared safely by several processes.

Layout under the root (``$GAN_EVAL_CACHE``, else ``~/.cache/gan_eval``; a workspace passes its own):

    features/<backbone>/<fingerprint>/<preprocessing version>/consistency-<version>/<shard>.bin
        per-case features and consistency, keyed by the case's pixel digest (Case.digest());
        the consistency version is a digest of gan_eval/metrics/consistency.py
    orientation/v-<version>/<shard>.bin
        per-case orientation descriptors (gan_eval.metrics.orientation), keyed by pixel digest
        whatever the backbone (they depend on the images only); the version is a digest of that
        module; the shards' consistency column is unused (0)
    files/<key>.json       (absolute path, size, mtime, ctime, inode) of a file -> sha256 of its bytes
    sources/<sha256>.json  what an archive with those bytes holds: case ids, pixel digests and
                           rejections, so a second run neither decodes it nor loads a model
    models/                exported inference graphs (ONNX), named by weights fingerprint, each
                           with the sha256 it had when exported (gan_eval.features.engines)
    results/<key>.json     evaluations, keyed by everything that determines them (gan_eval.evaluation)
    projections/           2D maps of embeddings (gan_eval.projection)

Every file is written whole to a temporary name and renamed (os.replace), so readers never see
half a file, and carries a sha256 of its content, so a damaged one is detected, dropped and
recomputed. Feature shards are immutable: each write adds a new shard (one per batch of new
entries, not one file per case), and when a folder holds more than ``max_shards`` of them a
writer merges them into one and then deletes the ones it merged. Two processes may do all of
this at once: a shard is only deleted by a process that has already written a merged shard
containing it, and a reader whose shard vanished mid-read simply lists the folder again.
"""

from __future__ import annotations

import hashlib
import os
import struct
import uuid
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .preprocess import PREPROCESSING_VERSION
from .metrics import consistency, orientation
from .store import atomic_write_bytes, file_sha256, read_checked_json, source_digest, write_checked_json

CACHE_ENV = "GAN_EVAL_CACHE"
_SHARD_MAGIC = b"GANEVAL-FEATURES-1\n"
_SHARD_HEADER = struct.Struct("<QI32s")  # rows, feature dimension, sha256 of the body
_DIGEST_BYTES = 16                       # Case.digest() is blake2b-128, stored as raw bytes
_READ_RETRIES = 8


def consistency_version() -> str:
    """The version of the per-case consistency values: a digest of the code that computes them."""
    return source_digest(consistency)


def orientation_version() -> str:
    """The version of the per-case orientation descriptors: a digest of the code that computes them."""
    return source_digest(orientation)


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "gan_eval")


# ------------------------------------------------------------------------------- feature shards

@dataclass(frozen=True)
class _Shard:
    digests: list[str]
    features: np.ndarray     # (n, d) float32
    consistency: np.ndarray  # (n,) float64


class _DamagedShard(Exception):
    pass


def _encode_shard(digests: Sequence[str], features: np.ndarray, consistency: np.ndarray) -> bytes:
    body = b"".join((b"".join(bytes.fromhex(d) for d in digests),
                     np.ascontiguousarray(features, dtype="<f4").tobytes(),
                     np.ascontiguousarray(consistency, dtype="<f8").tobytes()))
    header = _SHARD_HEADER.pack(len(digests), features.shape[1], hashlib.sha256(body).digest())
    return _SHARD_MAGIC + header + body


def _decode_shard(data: bytes) -> _Shard:
    start = len(_SHARD_MAGIC) + _SHARD_HEADER.size
    if len(data) < start or not data.startswith(_SHARD_MAGIC):
        raise _DamagedShard("bad header")
    n, d, checksum = _SHARD_HEADER.unpack_from(data, len(_SHARD_MAGIC))
    body = memoryview(data)[start:]
    if len(body) != n * (_DIGEST_BYTES + 4 * d + 8):
        raise _DamagedShard(f"{len(body)} bytes for {n} rows of {d} features")
    if hashlib.sha256(body).digest() != checksum:
        raise _DamagedShard("checksum mismatch")
    raw_digests = bytes(body[: n * _DIGEST_BYTES])
    digests = [raw_digests[i: i + _DIGEST_BYTES].hex() for i in range(0, len(raw_digests), _DIGEST_BYTES)]
    offset = n * _DIGEST_BYTES
    features = np.frombuffer(body, dtype="<f4", count=n * d, offset=offset).reshape(n, d)
    consistency = np.frombuffer(body, dtype="<f8", count=n, offset=offset + 4 * n * d)
    return _Shard(digests, features, consistency)


# Shards never change once written, so a parsed shard is reused for as long as the file is
# the same (name, size, mtime): the app embeds several sets against the same store. The memo is
# bounded in bytes, not shards: a 10,000-case set's merged shards (85 MB of features and
# descriptors) stayed in it for the whole of a score command, which reads them once.
_PARSED: OrderedDict[tuple[str, int, int], _Shard] = OrderedDict()
_PARSED_MAX_BYTES = 32 << 20


def _read_shard(path: Path) -> _Shard:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    shard = _PARSED.get(key)
    if shard is not None:
        _PARSED.move_to_end(key)
        return shard
    shard = _decode_shard(path.read_bytes())
    if st.st_size <= _PARSED_MAX_BYTES:
        _PARSED[key] = shard
        while sum(size for _, size, _ in _PARSED) > _PARSED_MAX_BYTES:
            _PARSED.popitem(last=False)
    return shard


def _delete_shard(path: Path) -> None:
    """Delete a shard file and its parsed copy (a 10,000-case embedding otherwise kept every
    merged-away shard, ~170 MB)."""
    path.unlink(missing_ok=True)
    for key in [key for key in _PARSED if key[0] == str(path)]:
        del _PARSED[key]


class FeatureStore:
    """Features + consistency of cases under one (backbone, fingerprint, preprocessing version)."""

    def __init__(self, directory: Path, max_shards: int = 16):
        self.directory = directory
        self.max_shards = max_shards

    def _shard_paths(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.suffix == ".bin" and not p.name.startswith("."))

    def _load(self) -> list[tuple[Path, _Shard]]:
        for _ in range(_READ_RETRIES):
            loaded = []
            try:
                for path in self._shard_paths():
                    try:
                        loaded.append((path, _read_shard(path)))
                    except _DamagedShard as exc:
                        warnings.warn(f"cache shard {path} is damaged ({exc}); its entries will be recomputed",
                                      RuntimeWarning, stacklevel=3)
                        _delete_shard(path)
            except FileNotFoundError:
                continue  # merged away by another process meanwhile: list again
            return loaded
        raise RuntimeError(f"{self.directory}: shards keep disappearing while being read")

    def entries(self, digests: Iterable[str] | None = None) -> dict[str, tuple[np.ndarray, float]]:
        """``{digest: (features, consistency)}`` of every stored case, or of those of ``digests``."""
        wanted = None if digests is None else set(digests)
        found: dict[str, tuple[np.ndarray, float]] = {}
        for _, shard in self._load():
            for row, digest in enumerate(shard.digests):
                if (wanted is None or digest in wanted) and digest not in found:
                    found[digest] = (shard.features[row], float(shard.consistency[row]))
        return found

    def put(self, digests: Sequence[str], features: np.ndarray, consistency: np.ndarray) -> None:
        """Store new entries as one new shard (then merge shards if there are too many)."""
        if not len(digests):
            return
        features = np.asarray(features, dtype=np.float32)
        if features.shape != (len(digests), features.shape[-1]) or len(consistency) != len(digests):
            raise ValueError(f"{len(digests)} digests, features {features.shape}, {len(consistency)} consistency values")
        self._write_shard(list(digests), features, np.asarray(consistency, dtype=np.float64))
        if len(self._shard_paths()) > self.max_shards:
            self.compact()

    def _write_shard(self, digests: list[str], features: np.ndarray, consistency: np.ndarray) -> None:
        atomic_write_bytes(self.directory / f"{uuid.uuid4().hex}.bin", _encode_shard(digests, features, consistency))

    def compact(self) -> None:
        """Merge every shard into one; delete the merged ones only once the merge is on disk."""
        loaded = self._load()
        if len(loaded) < 2:
            return
        shards = [shard for _, shard in loaded]
        seen: dict[str, tuple[int, int]] = {}
        for s, shard in enumerate(shards):
            for row, digest in enumerate(shard.digests):
                seen.setdefault(digest, (s, row))
        features = np.stack([shards[s].features[row] for s, row in seen.values()])
        consistency = np.array([shards[s].consistency[row] for s, row in seen.values()])
        self._write_shard(list(seen), features, consistency)
        for path, _ in loaded:
            _delete_shard(path)


# ------------------------------------------------------------------------------------- the cache

class EmbeddingCache:
    """The cache under one root folder (see the module docstring)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.root)!r})"

    def features(self, backbone: str, fingerprint: str, preprocessing: str = PREPROCESSING_VERSION) -> FeatureStore:
        # A shard stores each case's consistency value beside its features, so the folder is
        # versioned by the consistency code too: a change to it never serves stale values.
        return FeatureStore(self.root / "features" / backbone / fingerprint / preprocessing
                            / f"consistency-{consistency_version()}")

    def orientation(self) -> FeatureStore:
        """Orientation descriptors of cases, by pixel digest (the layout in the module docstring)."""
        return FeatureStore(self.root / "orientation" / f"v-{orientation_version()}")

    @property
    def results_dir(self) -> Path:
        """Evaluations, one ``<key>.json`` each (gan_eval.evaluation)."""
        return self.root / "results"

    @property
    def projections_dir(self) -> Path:
        """2D maps, keyed by their features, method and seed (gan_eval.projection)."""
        return self.root / "projections"

    def model_path(self, name: str) -> Path:
        return self.root / "models" / name

    def file_sha256(self, path: str | Path) -> str:
        """sha256 of a file's bytes, recomputed when its path, size, mtime, ctime or inode changed.

        Size and mtime alone do not tell a rewrite: a file rewritten in place to the same size
        gets its old mtime back with ``os.utime`` (or keeps it, on a coarse clock), and the memo
        would serve the old bytes' sha256, hence the old embeddings. The ctime is set by the
        kernel on every change, ``os.utime`` included, and no system call sets it back; a file
        replaced by another (rename, copy over) has another inode.
        """
        path = Path(path).resolve()
        stamp = f"{path}|{_file_stamp(path.stat())}"
        memo = self.root / "files" / f"{hashlib.sha256(stamp.encode()).hexdigest()[:32]}.json"
        body = read_checked_json(memo)
        if isinstance(body, dict) and body.get("stamp") == stamp:
            return body["sha256"]
        sha = file_sha256(path)
        write_checked_json(memo, {"stamp": stamp, "sha256": sha})
        return sha

    def source_key(self, path: str | Path) -> str:
        """A key for an input's content: a file's sha256; for a folder, a hash of every file's
        relative path and stamp (see file_sha256; re-hashing a folder's bytes would cost a full read)."""
        path = Path(path)
        if not path.is_dir():
            return self.file_sha256(path)
        h = hashlib.sha256(b"folder|")
        for entry in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(f"{entry.relative_to(path).as_posix()}|{_file_stamp(entry.stat())}\n".encode())
        return "folder-" + h.hexdigest()

    def source_manifest(self, key: str) -> dict | None:
        """What an input with this key holds (written by ``put_source_manifest``), or None."""
        body = read_checked_json(self.root / "sources" / f"{key}.json")
        return body if isinstance(body, dict) else None

    def put_source_manifest(self, key: str, manifest: dict) -> None:
        write_checked_json(self.root / "sources" / f"{key}.json", manifest)


def _file_stamp(st: os.stat_result) -> str:
    """What changes whenever a file's bytes may have: size, mtime, ctime and inode (see file_sha256)."""
    return f"{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}"


def open_cache(cache: "EmbeddingCache | str | Path | None | bool") -> EmbeddingCache | None:
    """Normalise a ``cache=`` argument: None or True -> the default cache, False -> no cache."""
    if cache is False:
        return None
    if cache is None or cache is True:
        return EmbeddingCache()
    return cache if isinstance(cache, EmbeddingCache) else EmbeddingCache(cache)
