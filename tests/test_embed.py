"""Embedding: ONNX Runtime against the torch reference, streaming, the warm path, inputs, the CLI."""

import errno
import gc
import io
import json
import subprocess
import sys
import weakref
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_eval.archives import ArchiveError, write_archive
from gan_eval.cache import EmbeddingCache
from gan_eval.cases import Case
from gan_eval.cli import embed as embed_command
from gan_eval.cli import main
from gan_eval.embedding_set import EmbeddingSet
from gan_eval.features import embed as embed_module
from gan_eval.features.batching import EmbedInputError
from gan_eval.features.embed import archive_in_cache, embed_archive, embed_cases
from gan_eval.features.engines import OnnxEngine, onnx_checksum_path, onnx_model_name
from gan_eval.features.loaders import PRECOMPUTED, load_embedding_file, load_embedding_matrix
from gan_eval.features.weights import Backbone, resolve_backbone
from gan_eval.metrics.consistency import case_consistency

ROOT = Path(__file__).resolve().parents[1]


def make_cases(n: int = 8, seed: int = 0, size: int = 32) -> list[Case]:
    rng = np.random.default_rng(seed)
    base = rng.random((size, size))
    # Three related sequences per case (different contrasts of one anatomy), uint16 like MRI.
    return [Case(f"case_{seed}_{i:02d}",
                 (np.stack([base + 0.3 * rng.random((size, size)) * k for k in (1, 2, -1)]) * 1000 + 2000)
                 .astype(np.uint16))
            for i in range(n)]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embed_cache")


@pytest.fixture(scope="module")
def reference(cache_dir):
    """8 cases embedded once by each engine: ONNX Runtime (exported into the cache) and torch."""
    cases = make_cases()
    onnx = embed_cases(cases, device="cpu", cache=cache_dir / "onnx")
    torch_ref = embed_cases(cases, device="cpu-torch", cache=False)
    return cases, onnx, torch_ref, EmbeddingCache(cache_dir / "onnx")


def test_onnx_runtime_gives_the_torch_features(reference):
    cases, onnx, torch_ref, cache = reference
    assert onnx.features.shape == (8, 1280) and onnx.features.dtype == np.float32
    assert onnx.backbone == torch_ref.backbone == "efficientnet-lite0"
    relative = np.abs(onnx.features - torch_ref.features).max() / np.abs(torch_ref.features).max()
    assert relative < 1e-4
    # Different cases, different features: the engines are not agreeing on a constant.
    assert np.linalg.norm(onnx.features[0] - onnx.features[1]) > 100 * np.abs(onnx.features - torch_ref.features).max()
    bb = resolve_backbone()
    assert cache.model_path(onnx_model_name(bb)).is_file()
    assert bb.fingerprint in onnx_model_name(bb)


def test_a_damaged_exported_model_is_exported_again(reference, tmp_path):
    cases, onnx, _, _ = reference
    cache = EmbeddingCache(tmp_path / "cache")
    model = cache.model_path(onnx_model_name(resolve_backbone()))
    model.parent.mkdir(parents=True)
    model.write_bytes(b"truncated graph")
    with pytest.warns(RuntimeWarning, match="unreadable"):
        emb = embed_cases(cases[:2], device="cpu", cache=cache)
    np.testing.assert_allclose(emb.features, onnx.features[:2], rtol=1e-5, atol=1e-6)
    assert model.stat().st_size > 1_000_000


def test_ids_order_and_consistency_follow_the_cases(reference):
    cases, onnx, _, _ = reference
    assert onnx.case_ids == [c.case_id for c in cases]
    np.testing.assert_allclose(onnx.consistency, [case_consistency(c.images) for c in cases])
    assert onnx.meta["preprocessing"] == embed_module.PREPROCESSING_VERSION


def test_streams_a_generator_reports_progress_and_reuses_the_cache(reference, monkeypatch):
    cases, onnx, _, cache = reference
    calls = []
    monkeypatch.setattr(Backbone, "build", lambda self: pytest.fail("a model was built for cached cases"))
    again = embed_cases((c for c in cases), device="cpu", cache=cache,
                        progress=lambda d, t, stage: calls.append((d, t)))
    np.testing.assert_array_equal(again.features, onnx.features)
    assert calls[-1] == (8, None) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    calls.clear()
    embed_cases(cases, device="cpu", cache=cache, progress=lambda d, t, stage: calls.append((d, t)))
    assert calls[-1] == (8, 8)


def test_new_cases_are_computed_in_batches_next_to_cached_ones(reference):
    cases, onnx, _, cache = reference
    new = make_cases(3, seed=1)
    calls = []
    mixed = embed_cases(cases[:2] + new, device="cpu", cache=cache, batch_size=2,
                        progress=lambda d, t, stage: calls.append(d))
    np.testing.assert_array_equal(mixed.features[:2], onnx.features[:2])
    alone = embed_cases(new, device="cpu-torch", cache=False)
    np.testing.assert_allclose(mixed.features[2:], alone.features, rtol=1e-4, atol=1e-5)
    assert calls == [1, 2, 4, 5]  # two hits, then a batch of 2 and the final batch of 1


def test_duplicate_pixels_are_embedded_once_and_duplicate_ids_refused(reference):
    cases, onnx, _, cache = reference
    twin = Case("twin", cases[3].images.copy())
    emb = embed_cases([cases[3], twin], device="cpu", cache=cache)
    np.testing.assert_array_equal(emb.features[0], emb.features[1])
    with pytest.raises(EmbedInputError, match="duplicate case id 'case_0_01'"):
        embed_cases([cases[1], cases[1]], device="cpu", cache=cache)
    with pytest.raises(EmbedInputError, match="no case to embed"):
        embed_cases([], device="cpu", cache=cache)
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        embed_cases(cases, device="gpu", cache=cache)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda' requested but torch sees no CUDA GPU"):
            embed_cases(make_cases(1, seed=9), device="cuda", cache=cache)
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        embed_cases(cases, device="cpu", cache=cache, batch_size=0)


def test_an_error_while_reading_reaches_the_caller(reference):
    cases, _, _, cache = reference

    def failing():
        yield cases[0]
        yield cases[1]
        raise OSError("disk unplugged")

    with pytest.raises(OSError, match="disk unplugged"):
        embed_cases(failing(), device="cpu", cache=cache)


def test_a_second_run_over_an_archive_reads_neither_archive_nor_model(reference, tmp_path, monkeypatch):
    cases, onnx, _, cache = reference
    archive = tmp_path / "sub.zip"
    write_archive(cases, archive)
    first = embed_archive(archive, device="cpu", cache=cache)
    np.testing.assert_array_equal(first.features, onnx.features)
    assert first.name == "sub" and first.meta["source"] == "sub.zip" and first.meta["rejected"] == []

    monkeypatch.setattr(embed_module, "iter_cases", lambda *a, **k: pytest.fail("the archive was decoded"))
    monkeypatch.setattr(embed_module, "make_engine", lambda *a, **k: pytest.fail("an engine was built"))
    progress = []
    warm = embed_archive(archive, device="cpu", cache=cache, progress=lambda d, t, stage: progress.append((d, t)))
    np.testing.assert_array_equal(warm.features, first.features)
    np.testing.assert_array_equal(warm.consistency, first.consistency)
    assert warm.case_ids == first.case_ids and progress == [(8, 8)]


def test_an_archive_is_in_the_cache_for_a_backbone_only_once_embedded_with_it(reference, tmp_path, monkeypatch):
    cases, _, _, cache = reference
    archive = tmp_path / "seen.zip"
    write_archive(cases[2:5], archive)  # cases no other test archives: the cache has not seen these bytes
    monkeypatch.setattr(embed_module, "iter_cases", lambda *a, **k: pytest.fail("the archive was decoded"))
    assert not archive_in_cache(archive, cache=cache)  # never seen: its case list is unknown
    monkeypatch.undo()
    embed_archive(archive, device="cpu", cache=cache)
    monkeypatch.setattr(embed_module, "iter_cases", lambda *a, **k: pytest.fail("the archive was decoded"))
    monkeypatch.setattr(embed_module, "make_engine", lambda *a, **k: pytest.fail("an engine was built"))
    assert archive_in_cache(archive, cache=cache)
    assert not archive_in_cache(archive, backbone="radiomics", cache=cache)
    assert not archive_in_cache(archive, cache=False)


def test_the_warm_path_does_not_even_import_torch(reference, tmp_path):
    cases, _, _, cache = reference
    archive = tmp_path / "warm.zip"
    write_archive(cases, archive)
    embed_archive(archive, device="cpu", cache=cache)
    code = ("import sys; from gan_eval.features.embed import embed_archive; "
            f"e = embed_archive({str(archive)!r}, cache={str(cache.root)!r}); "
            "assert 'torch' not in sys.modules and 'onnxruntime' not in sys.modules; print(len(e), e.dim)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["8", "1280"]


def test_a_cold_embedding_exports_the_graph_in_a_child_and_stays_small(tmp_path):
    # In-process, torch and the export left ~500 MB behind: 760 MB at the first batch of a cold
    # embedding against 270 MB with the graph already exported (issue 11: < 1 GB per command).
    code = ("import sys, numpy as np; from gan_eval.cases import Case; "
            "from gan_eval.features.embed import embed_cases; "
            "cases = [Case(f'c{i}', np.random.default_rng(i).integers(0, 4096, (3, 32, 32), dtype=np.uint16)) "
            "for i in range(4)]; "
            f"e = embed_cases(cases, device='cpu', cache={str(tmp_path / 'cache')!r}); "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            # VmHWM, not ru_maxrss: the latter keeps the RSS of the forked pytest process across exec.
            "print(len(e), int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) // 1024)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    count, peak_mb = map(int, out.stdout.split())
    assert count == 4 and peak_mb < 500, peak_mb
    assert EmbeddingCache(tmp_path / "cache").model_path(onnx_model_name(resolve_backbone())).is_file()


def test_weights_the_export_refuses_are_a_value_error_naming_the_file(tmp_path):
    # Torch's own checkpoint of another network: the child's refusal comes back as the parent's.
    other = tmp_path / "other.pth"
    torch.save(torch.nn.Linear(3, 2).state_dict(), other)
    with pytest.raises(ValueError, match=f"{other}: not efficientnet-lite0 weights"):
        embed_cases(make_cases(2), weights=other, device="cpu", cache=tmp_path / "cache")


def test_an_engine_does_not_outlive_its_run(reference):
    # A session kept for reuse held its arena (~160 MB) while score's metrics ran.
    _, _, _, cache = reference
    engine = OnnxEngine(resolve_backbone(), cache)
    session = weakref.ref(engine.session)
    del engine
    gc.collect()
    assert session() is None


def test_rejected_cases_are_listed_and_the_rest_embedded(reference, tmp_path):
    cases, onnx, _, cache = reference
    archive = tmp_path / "mixed.zip"
    write_archive(cases[:3], archive)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("broken.npz", b"not an npz")
    emb = embed_archive(archive, device="cpu", cache=cache)
    assert emb.case_ids == [c.case_id for c in cases[:3]]
    (rejection,) = emb.meta["rejected"]
    assert rejection["case"] == "broken" and rejection["reason"]
    assert embed_archive(archive, device="cpu", cache=cache).meta["rejected"] == [rejection]  # from the memo


def test_matrix_and_embedding_files_load_without_a_backbone(reference, tmp_path, monkeypatch):
    _, onnx, _, cache = reference
    monkeypatch.setattr(embed_module, "make_engine", lambda *a, **k: pytest.fail("an engine was built"))
    matrix = np.random.default_rng(5).standard_normal((12, 7))
    np.save(tmp_path / "feats.npy", matrix)
    emb = load_embedding_file(tmp_path / "feats.npy")
    assert (emb.backbone, emb.fingerprint, len(emb), emb.dim) == (PRECOMPUTED, "unknown", 12, 7)
    assert emb.case_ids[:2] == ["case_0000", "case_0001"] and emb.name == "feats"
    np.testing.assert_allclose(emb.features, matrix, rtol=1e-6)

    onnx.save(tmp_path / "set.npz")
    loaded = load_embedding_file(tmp_path / "set.npz")
    np.testing.assert_array_equal(loaded.features, onnx.features)
    assert (loaded.backbone, loaded.fingerprint) == (onnx.backbone, onnx.fingerprint)


@pytest.mark.parametrize("array, message", [
    (np.zeros(5), r"must be 2D \(n cases, d features\), got shape \(5,\)"),
    (np.array([[1.0, 2.0], [np.nan, 0.0]]), r"NaN or Inf in the embeddings of 1 case\(s\), first 'case_0001'"),
    (np.zeros((0, 4)), r"no embeddings \(shape \(0, 4\)\)"),
])
def test_bad_embedding_matrices_are_refused_clearly(tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(EmbedInputError, match=message):
        load_embedding_matrix(path)


def test_missing_and_empty_inputs_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        embed_archive(tmp_path / "nothing.zip", cache=tmp_path / "c")
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(ArchiveError, match="no cases found"):
        embed_archive(empty, cache=tmp_path / "c")
    all_bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(all_bad, "w") as zf:
        zf.writestr("x.npz", b"junk")
    with pytest.raises(EmbedInputError, match=r"no usable case \(1 rejected; first: x: "):
        embed_archive(all_bad, cache=tmp_path / "c")


def test_cli_embeds_an_archive_and_names_the_backbone(reference, tmp_path, capsys):
    cases, onnx, _, cache = reference
    archive = tmp_path / "cli.zip"
    write_archive(cases, archive)
    out = tmp_path / "out" / "cli.npz"
    code = main(["embed", str(archive), "--out", str(out), "--device", "cpu", "--cache", str(cache.root)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "backbone: efficientnet-lite0" in printed.out and "8 x 1280" in printed.out
    saved = EmbeddingSet.load(out)
    np.testing.assert_array_equal(saved.features, onnx.features)
    assert saved.backbone == "efficientnet-lite0" and saved.meta["source"] == "cli.zip"
    # The progress bar's final state ("8/8" when an archive with these bytes was seen before).
    last = printed.err.splitlines()[-1]
    assert last.startswith("embedding cli.zip") and last.endswith(" cases/s")
    assert " 8/8 " in last or " 8 cases " in last


def test_text_progress_shows_count_rate_and_eta():
    stream = io.StringIO()
    bar = embed_command.TextProgress("embedding x", stream=stream, width=10)
    bar(5, 10)
    bar(6, 10)  # within 0.1 s of the last draw: skipped
    bar.close()
    frames = stream.getvalue().split("\r")[1:]
    assert frames[0].startswith("embedding x [#####.....] 5/10  ") and " cases/s  ETA " in frames[0]
    assert frames[1].startswith("embedding x [######....] 6/10  ") and frames[1].endswith("\n")


def test_cli_exits_2_on_unreadable_input_or_missing_weights(tmp_path, capsys, monkeypatch):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    assert main(["embed", str(junk), "--out", str(tmp_path / "o.npz"), "--cache", str(tmp_path / "c")]) == 2
    assert "junk.zip" in capsys.readouterr().err

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("GAN_EVAL_OFFLINE", "1")
    monkeypatch.delenv("GAN_EVAL_INCEPTION_WEIGHTS", raising=False)
    archive = tmp_path / "ok.zip"
    write_archive(make_cases(2), archive)
    code = main(["embed", str(archive), "--out", str(tmp_path / "o.npz"), "--backbone", "inception-v3",
                 "--cache", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2
    assert "missing weights" in err and "inception_v3_google-0cc3c7bd.pth" in err and "--weights" in err
    assert not (tmp_path / "o.npz").exists()


def test_progress_names_its_stage(reference, tmp_path):
    cases, _, _, cache = reference
    calls = []
    embed_cases(cases[:3], device="cpu", cache=cache, name="team a", progress=lambda *call: calls.append(call))
    assert calls[-1] == (3, 3, "embedding team a")
    archive = tmp_path / "staged.zip"
    write_archive(cases[:3], archive)
    calls.clear()
    embed_archive(archive, device="cpu", cache=cache, total=3, progress=lambda *call: calls.append(call))
    assert calls and all(call[1:] == (3, "embedding staged") for call in calls)


def forge(path: Path, cases: list[Case], claimed: EmbeddingSet) -> None:
    """A stacked .npz of ``cases`` that also holds what ``embed`` writes: ``claimed``'s features."""
    header = {"backbone": claimed.backbone, "fingerprint": claimed.fingerprint, "name": "forged", "meta": {}}
    np.savez(path, images=np.stack([c.images for c in cases]), case_ids=np.array([c.case_id for c in cases]),
             features=claimed.features[: len(cases)], header=np.array(json.dumps(header)))


def test_a_forged_npz_upload_is_embedded_from_its_pixels(reference, tmp_path):
    from gan_eval.evaluation import embed_set, evaluate_workspace
    from gan_eval.scoring import evaluate
    from gan_eval.workspace import REAL, Workspace

    cases, onnx, _, cache = reference
    ws = Workspace(tmp_path / "ws")
    real_zip = tmp_path / "real.zip"
    write_archive(cases, real_zip)
    ws.add_archive(REAL, real_zip)
    real = embed_set(ws, REAL)
    noise = [Case(f"noise_{i}", np.random.default_rng(i).integers(0, 4000, (3, 32, 32)).astype(np.uint16))
             for i in range(8)]
    forged = tmp_path / "forged.npz"
    forge(forged, noise, claimed=real)  # the real set's own features: a perfect score if believed
    entry, _ = ws.add_archive("team", forged)
    assert entry.n_accepted == 8  # the archive is valid as cases

    team = embed_set(ws, "team")
    from_pixels = embed_cases(noise, device="cpu", cache=cache)
    np.testing.assert_array_equal(team.features, from_pixels.features)
    assert not np.allclose(team.features, real.features)
    scored = evaluate_workspace(ws)["submissions"]["team"]
    believed = evaluate(real, {"team": load_embedding_file(forged)}, fid_max=1.0)["submissions"]["team"]
    assert believed["fid"] < 1e-3 < scored["fid"]


def test_the_cli_takes_features_from_a_file_only_when_named_emb(reference, tmp_path, capsys):
    cases, onnx, _, cache = reference
    noise = [Case(f"noise_{i}", np.random.default_rng(i).integers(0, 4000, (3, 32, 32)).astype(np.uint16))
             for i in range(8)]
    forged = tmp_path / "forged.npz"
    forge(forged, noise, claimed=onnx)
    from_pixels = embed_cases(noise, device="cpu", cache=cache)
    out = tmp_path / "out.npz"
    assert main(["embed", str(forged), "--out", str(out), "--device", "cpu", "--cache", str(cache.root)]) == 0
    np.testing.assert_array_equal(EmbeddingSet.load(out).features, from_pixels.features)
    assert main(["embed", f"emb:{forged}", "--out", str(out), "--cache", str(cache.root)]) == 0
    np.testing.assert_array_equal(EmbeddingSet.load(out).features, onnx.features)

    real_zip = tmp_path / "real.zip"
    write_archive(cases, real_zip)
    result = tmp_path / "score.json"
    assert main(["score", "--real", str(real_zip), "--submission", f"team={forged}", "--device", "cpu",
                 "--cache", str(cache.root), "--json", str(result)]) == 0
    assert json.loads(result.read_text())["submissions"]["team"]["fid"] > 1e-3
    # An embedding file given as an archive is refused with a hint, not read as features.
    onnx.save(tmp_path / "plain.npz")
    capsys.readouterr()
    assert main(["embed", str(tmp_path / "plain.npz"), "--out", str(out), "--cache", str(cache.root)]) == 2
    assert f"pass it as emb:{tmp_path / 'plain.npz'}" in capsys.readouterr().err


def test_an_exported_model_with_flipped_bytes_is_exported_again(reference, tmp_path):
    cases, onnx, torch_ref, _ = reference
    cache = EmbeddingCache(tmp_path / "cache")
    embed_cases(cases[:1], device="cpu", cache=cache)  # exports the graph
    model = cache.model_path(onnx_model_name(resolve_backbone()))
    data = bytearray(model.read_bytes())
    middle = len(data) // 2  # inside the weights, which are the bulk of the file: it still loads
    data[middle: middle + 4096] = bytes(b ^ 0x55 for b in data[middle: middle + 4096])
    model.write_bytes(bytes(data))
    with pytest.warns(RuntimeWarning, match="damaged or unreadable"):
        emb = embed_cases(cases[1:4], device="cpu", cache=cache)  # new cases: the engine runs
    np.testing.assert_allclose(emb.features, torch_ref.features[1:4], rtol=1e-4, atol=1e-4)
    assert onnx_checksum_path(model).is_file() and len(model.read_bytes()) == len(data)


@pytest.mark.parametrize("stage", ["cache", "output"])
def test_a_full_disk_is_one_line_exit_2_and_nothing_half_written(reference, tmp_path, capsys, monkeypatch, stage):
    cases, _, _, cache = reference
    archive = tmp_path / "full.zip"
    write_archive(cases[:2], archive)
    out = tmp_path / "out" / "emb.npz"
    root = tmp_path / "fresh-cache" if stage == "cache" else cache.root
    no_space = OSError(errno.ENOSPC, "No space left on device")
    if stage == "cache":  # every cache file: half its bytes land, then the disk is full
        real_write = Path.write_bytes

        def write_half(self, data):
            real_write(self, data[: len(data) // 2])
            raise no_space

        monkeypatch.setattr(Path, "write_bytes", write_half)
    else:  # the cache is warm; the output .npz is cut short
        def savez_half(f, **arrays):
            f.write(b"PK\x03\x04")
            raise no_space

        monkeypatch.setattr(np, "savez", savez_half)
    code = main(["embed", str(archive), "--out", str(out), "--device", "cpu-torch", "--cache", str(root)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "Errno" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: disk full while writing ") and "free some space" in last
    assert not out.exists() and not list(tmp_path.rglob("*.tmp"))
