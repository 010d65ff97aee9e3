"""The on-disk cache: round trips, damage detection, merging, two processes, file and source memos."""

import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from gan_eval import cache as cache_module
from gan_eval.cache import (
    CACHE_ENV,
    EmbeddingCache,
    FeatureStore,
    default_cache_dir,
    open_cache,
)
from gan_eval.store import atomic_path, write_checked_json
from gan_eval.cases import Case
from gan_eval.features.embed import embed_archive, embed_cases

ROOT = Path(__file__).resolve().parents[1]


def entries(n: int, seed: int, d: int = 5) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    digests = [hashlib.blake2b(f"{seed}-{i}".encode(), digest_size=16).hexdigest() for i in range(n)]
    return digests, rng.standard_normal((n, d)).astype(np.float32), rng.random(n)


def shards(store: FeatureStore) -> list[Path]:
    return sorted(store.directory.glob("*.bin"))


def test_put_then_entries_round_trip_exactly(tmp_path):
    store = EmbeddingCache(tmp_path).features("efficientnet-lite0", "abc123")
    digests, features, consistency = entries(10, 0)
    store.put(digests[:6], features[:6], consistency[:6])
    store.put(digests[6:], features[6:], consistency[6:])
    found = store.entries()
    assert set(found) == set(digests)
    for i, digest in enumerate(digests):
        np.testing.assert_array_equal(found[digest][0], features[i])
        assert found[digest][1] == consistency[i]
    assert set(store.entries(digests[:3] + ["0" * 32])) == set(digests[:3])


def test_stores_are_separated_by_backbone_fingerprint_and_preprocessing(tmp_path):
    cache = EmbeddingCache(tmp_path)
    digests, features, consistency = entries(3, 1)
    cache.features("efficientnet-lite0", "aaa").put(digests, features, consistency)
    assert cache.features("efficientnet-lite0", "bbb").entries() == {}
    assert cache.features("inception-v3", "aaa").entries() == {}
    assert cache.features("efficientnet-lite0", "aaa", preprocessing="other-v0").entries() == {}


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_shard_is_detected_dropped_and_the_rest_kept(tmp_path, damage):
    store = EmbeddingCache(tmp_path).features("b", "f")
    a, fa, ca = entries(4, 2)
    b, fb, cb = entries(4, 3)
    store.put(a, fa, ca)
    first = shards(store)[0]
    store.put(b, fb, cb)
    data = bytearray(first.read_bytes())
    if damage == "truncate":
        data = data[: len(data) - 7]
    else:
        data[-3] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.warns(RuntimeWarning, match="damaged"):
        found = store.entries()
    assert set(found) == set(b)
    assert not first.exists()  # removed, so the next run rewrites its entries


def test_a_damaged_entry_is_recomputed_by_the_next_embedding_run(tmp_path):
    rng = np.random.default_rng(4)
    cases = [Case(f"c{i}", rng.random((3, 24, 24)).astype(np.float32)) for i in range(3)]
    cache = EmbeddingCache(tmp_path)
    first = embed_cases(cases, device="cpu-torch", cache=cache)
    (shard,) = shards(cache.features(first.backbone, first.fingerprint))
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.warns(RuntimeWarning, match="damaged"):
        again = embed_cases(cases, device="cpu-torch", cache=cache)
    np.testing.assert_allclose(again.features, first.features, rtol=1e-5, atol=1e-6)
    assert set(cache.features(first.backbone, first.fingerprint).entries()) == {c.digest() for c in cases}


def test_many_small_writes_are_merged_into_few_shards(tmp_path):
    store = FeatureStore(tmp_path / "s", max_shards=4)
    all_digests = []
    for seed in range(11):
        digests, features, consistency = entries(3, 100 + seed)
        store.put(digests, features, consistency)
        all_digests += digests
        assert len(shards(store)) <= 4
    assert set(store.entries()) == set(all_digests)


def test_merged_away_shards_are_not_kept_parsed(tmp_path):
    # Each parsed shard stayed in the reuse memo after its merge: ~170 MB at 10,000 cases.
    store = FeatureStore(tmp_path / "s", max_shards=2)
    for seed in range(7):
        store.put(*entries(3, 200 + seed))
        store.entries()
    kept = {key[0] for key in cache_module._PARSED if key[0].startswith(str(tmp_path))}
    assert kept == {str(path) for path in shards(store)}


def test_the_parse_memo_is_bounded_in_bytes(tmp_path, monkeypatch):
    # A 10,000-case set's shards (85 MB) stayed parsed for the whole of a score command.
    monkeypatch.setattr(cache_module, "_PARSED", type(cache_module._PARSED)())
    small, large = FeatureStore(tmp_path / "small"), FeatureStore(tmp_path / "large")
    for seed in range(3):
        small.put(*entries(4, 300 + seed))
    large.put(*entries(400, 400, d=16))
    bound = 3 * shards(small)[0].stat().st_size
    assert shards(large)[0].stat().st_size > bound
    monkeypatch.setattr(cache_module, "_PARSED_MAX_BYTES", bound)
    assert len(small.entries()) == 12 and len(large.entries()) == 400
    assert {key[0] for key in cache_module._PARSED} == {str(path) for path in shards(small)}
    small.put(*entries(4, 310))  # a fourth shard: the oldest parsed one makes room
    small.entries()
    assert sum(size for _, size, _ in cache_module._PARSED) <= bound and len(cache_module._PARSED) == 3


WRITER = textwrap.dedent("""
    import hashlib, sys
    import numpy as np
    from gan_eval.cache import FeatureStore
    directory, worker = sys.argv[1], int(sys.argv[2])
    store = FeatureStore(__import__("pathlib").Path(directory), max_shards=3)
    for batch in range(25):
        digests = [hashlib.blake2b(f"{worker}-{batch}-{i}".encode(), digest_size=16).hexdigest() for i in range(4)]
        rng = np.random.default_rng(worker * 1000 + batch)
        store.put(digests, rng.standard_normal((4, 8)).astype(np.float32), rng.random(4))
        store.entries()  # read while the other process writes and merges
""")


def test_two_processes_writing_and_merging_at_once_lose_nothing(tmp_path):
    directory = tmp_path / "shared"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(directory), str(w)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in (1, 2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    expected = {hashlib.blake2b(f"{w}-{b}-{i}".encode(), digest_size=16).hexdigest()
                for w in (1, 2) for b in range(25) for i in range(4)}
    found = FeatureStore(directory).entries()
    assert set(found) == expected
    rng = np.random.default_rng(2 * 1000 + 7)  # spot-check one entry's values
    digest = hashlib.blake2b(b"2-7-0", digest_size=16).hexdigest()
    np.testing.assert_array_equal(found[digest][0], rng.standard_normal((4, 8)).astype(np.float32)[0])
    assert not list(directory.glob(".*.tmp"))


def test_file_sha256_is_memoised_by_path_size_and_mtime(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    path = tmp_path / "archive.zip"
    path.write_bytes(b"first version")
    assert cache.file_sha256(path) == hashlib.sha256(b"first version").hexdigest()
    # While path, size and mtime are unchanged the memo answers (the file is not read again):
    (memo,) = (tmp_path / "cache" / "files").glob("*.json")
    record = json.loads(memo.read_text())
    write_checked_json(memo, {**record["body"], "sha256": "memoised"})
    assert cache.file_sha256(path) == "memoised"
    path.write_bytes(b"second, longer version")
    assert cache.file_sha256(path) == hashlib.sha256(b"second, longer version").hexdigest()


def test_a_tampered_memo_value_is_not_trusted(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    path = tmp_path / "a.bin"
    path.write_bytes(b"payload")
    cache.file_sha256(path)
    (memo,) = (tmp_path / "cache" / "files").glob("*.json")
    memo.write_text(memo.read_text().replace(hashlib.sha256(b"payload").hexdigest(), "0" * 64))
    with pytest.warns(RuntimeWarning, match="damaged"):
        assert cache.file_sha256(path) == hashlib.sha256(b"payload").hexdigest()


def test_source_manifest_round_trip_and_folder_keys_follow_their_files(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    manifest = {"ids": ["a", "b"], "digests": ["1" * 32, "2" * 32], "rejected": []}
    cache.put_source_manifest("k1", manifest)
    assert cache.source_manifest("k1") == manifest
    assert cache.source_manifest("k2") is None
    folder = tmp_path / "cases"
    (folder / "c1").mkdir(parents=True)
    (folder / "c1" / "t2.npy").write_bytes(b"x")
    key = cache.source_key(folder)
    assert key.startswith("folder-") and cache.source_key(folder) == key
    (folder / "c1" / "t2.npy").write_bytes(b"xy")
    assert cache.source_key(folder) != key


def test_atomic_path_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []


def test_default_root_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    assert open_cache(None).root == tmp_path / "c"
    assert open_cache(False) is None
    assert open_cache(str(tmp_path / "d")).root == tmp_path / "d"
    monkeypatch.delenv(CACHE_ENV)
    assert default_cache_dir() == Path(os.path.expanduser("~")) / ".cache" / "gan_eval"


def test_a_change_to_the_consistency_code_invalidates_stored_values(tmp_path, monkeypatch):
    import gan_eval.cache as cache_module
    import gan_eval.features.batching as embed_module

    rng = np.random.default_rng(5)
    cases = [Case(f"c{i}", rng.random((3, 24, 24)).astype(np.float32)) for i in range(3)]
    cache = EmbeddingCache(tmp_path)
    first = embed_cases(cases, device="cpu-torch", cache=cache)
    assert not np.allclose(first.consistency, 0.42)
    # New consistency code: another version, other values. The stored ones must not be served.
    monkeypatch.setattr(cache_module, "consistency_version", lambda: "changed")
    monkeypatch.setattr(embed_module, "case_consistency", lambda images: 0.42)
    again = embed_cases(cases, device="cpu-torch", cache=cache)
    np.testing.assert_allclose(again.consistency, 0.42)
    np.testing.assert_allclose(again.features, first.features, rtol=1e-5, atol=1e-6)


def test_an_archive_rewritten_in_place_with_its_old_size_and_mtime_is_embedded_again(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    rng = np.random.default_rng(3)
    first, second = (rng.integers(0, 4000, (2, 3, 32, 32)).astype(np.uint16) for _ in range(2))
    path = tmp_path / "cases.npy"  # a stacked (N, 3, H, W) archive: same shape, same file size
    np.save(path, first)
    before = embed_archive(path, device="cpu-torch", cache=cache)
    st = path.stat()
    time.sleep(0.05)  # the kernel's ctime clock may be coarse (a few ms)
    buffer = io.BytesIO()
    np.save(buffer, second)
    with open(path, "r+b") as f:  # in place: same inode
        f.write(buffer.getvalue())
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns, path.stat().st_ino) == (st.st_size, st.st_mtime_ns,
                                                                                   st.st_ino)
    after = embed_archive(path, device="cpu-torch", cache=cache)
    expected = embed_cases([Case(f"case_{i:04d}", second[i]) for i in range(2)], device="cpu-torch", cache=False)
    np.testing.assert_allclose(after.features, expected.features, rtol=1e-5, atol=1e-6)
    assert not np.allclose(after.features, before.features)
