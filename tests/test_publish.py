"""Published results (gan_eval.publish): immutable, content-addressed, verified when read back."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from gan_eval import __version__, publish
from gan_eval.metrics import registry
from gan_eval.preprocess import PREPROCESSING_VERSION
from gan_eval.reader_scores import CRITERION_KEYS
from gan_eval.workspace import REAL, service

from publish_support import READERS, copy_workspace, rate, rated_and_closed


@pytest.fixture
def closed(small_workspace, tmp_path):
    return rated_and_closed(small_workspace, tmp_path / "ws")


def test_publishing_is_refused_while_reading_is_open(small_workspace, tmp_path):
    ws = copy_workspace(small_workspace, tmp_path / "ws")
    result = service.evaluate(ws)
    rate(ws, result)
    with pytest.raises(publish.PublishError, match="Reading is still open: close the reading before publishing"):
        publish.publish(ws, result)
    assert not publish.published_dir(ws).exists() and publish.latest(ws) is None
    assert publish.current_state(ws, result) == "draft"


def test_snapshot_holds_inputs_versions_numbers_and_every_rating(closed):
    ws, result = closed
    snapshot = publish.publish(ws, result)
    record = snapshot.record
    path = publish.published_dir(ws) / f"{snapshot.digest}.json"
    assert snapshot.path == path and path.is_file()
    # Its own digest: sha256 of the canonical JSON without the digest field.
    body = {k: v for k, v in json.loads(path.read_bytes()).items() if k != "digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert hashlib.sha256(canonical).hexdigest() == snapshot.digest == record["digest"]

    assert record["status"] == "published" and record["published_at"].endswith("+00:00")
    assert record["inputs"]["real"]["sha256"] == ws.real.sha256
    assert {n: (e["sha256"], e["filename"]) for n, e in record["inputs"]["submissions"].items()} == \
        {n: (e.sha256, e.filename) for n, e in ws.submissions.items()}
    assert record["backbone"] == {"id": ws.backbone, "weights_fingerprint": result["backbone_fingerprint"]}
    assert record["code"] == {"gan_eval": __version__, "metrics": registry.version(),
                              "preprocessing": PREPROCESSING_VERSION}
    assert record["seed"] == result["seed"] == ws.seed and record["fid_max"] == result["fid_max"]
    # Every metric, the reader study folded in.
    assert record["result"] == json.loads(json.dumps(service.leaderboard(ws, result)))
    assert all(s["final_score"] is not None and s["rank"] is not None for s in record["result"]["submissions"].values())
    # Every rating and reader: names, item/team/case ids, values, times.
    reading = record["reading"]
    n_items = sum(len(s["selected_cases"]) for s in result["submissions"].values())
    assert reading["closed"] and len(reading["ratings"]) == len(READERS) * n_items * len(CRITERION_KEYS)
    assert sorted(r["reader"] for r in reading["readers"]) == sorted(READERS)
    study = service.reader_study(ws)
    items = {i.item_id: (i.team, i.case_id) for i in study.items()}
    for row in reading["ratings"]:
        assert items[row["item_id"]] == (row["team"], row["case_id"]) and row["counted"]
        assert row["criterion"] in CRITERION_KEYS and 0 <= row["value"] <= 4 and row["rated_at"]
    assert reading["qualitative"] == study.qualitative_scores(selected=service.reading_selection(result))
    # Figures frozen beside it, by content.
    thumbs = record["figures"]["thumbnails"]
    assert {t: sorted(c) for t, c in thumbs.items()} == {t: sorted(s["selected_cases"])
                                                         for t, s in result["submissions"].items()}
    for sha in [s for cases in thumbs.values() for s in cases.values()] + [record["figures"]["map"]["sha256"]]:
        assert hashlib.sha256(snapshot.assets[sha]).hexdigest() == sha
    assert publish.latest(ws).record == record
    assert publish.current_state(ws, result) == "published"


def test_published_results_never_change_when_submissions_do(closed):
    ws, result = closed
    snapshot = publish.publish(ws, result)
    frozen = snapshot.path.read_bytes()
    assets = {p.name: p.read_bytes() for p in (publish.published_dir(ws) / "assets").iterdir()}

    # A late submission arrives and everything is re-scored: a new draft, the snapshot untouched.
    ws.add_archive("late", ws.archive_path("good"), filename="late.zip")
    rescored = service.evaluate(ws)
    assert "late" in rescored["submissions"] and rescored["fid_max"] == result["fid_max"]
    assert publish.current_state(ws, rescored) == "draft"
    assert snapshot.path.read_bytes() == frozen
    again = publish.latest(ws)
    assert again.digest == snapshot.digest and again.result == snapshot.result
    assert "late" not in again.result["submissions"]

    # Removing one changes nothing published either.
    ws.remove_submission("blurry")
    rescored = service.evaluate(ws)
    assert publish.current_state(ws, rescored) == "draft"
    assert publish.latest(ws).result["submissions"]["blurry"] == snapshot.result["submissions"]["blurry"]

    # Publishing the new state adds a snapshot; the first stays byte for byte, and so do its figures.
    newer = publish.publish(ws, rescored)
    assert newer.digest != snapshot.digest and publish.latest(ws).digest == newer.digest
    assert publish.current_state(ws, rescored) == "published"
    assert snapshot.path.read_bytes() == frozen
    assert all((publish.published_dir(ws) / "assets" / name).read_bytes() == data for name, data in assets.items())
    assert publish.load(ws, snapshot.digest).record == snapshot.record
    assert [h["digest"] for h in publish.history(ws)] == [snapshot.digest, newer.digest]


def test_publishing_the_same_results_twice_keeps_one_snapshot(closed):
    ws, result = closed
    first = publish.publish(ws, result)
    assert publish.publish(ws, result).digest == first.digest
    assert len(publish.history(ws)) == 1


def test_reopening_the_reading_makes_a_draft(closed):
    ws, result = closed
    publish.publish(ws, result)
    service.reader_study(ws).reopen()
    assert publish.current_state(ws, result) == "draft"
    service.reader_study(ws).close_reading()
    assert publish.current_state(ws, result) == "published"


def test_a_tampered_snapshot_is_refused_naming_the_file(closed):
    ws, result = closed
    snapshot = publish.publish(ws, result)
    path = snapshot.path
    record = json.loads(path.read_bytes())
    record["result"]["submissions"]["good"]["fid"] = 0.001  # a better FID, by hand
    path.write_text(json.dumps(record, indent=1, sort_keys=True))
    with pytest.raises(publish.SnapshotError, match="does not match its digest") as err:
        publish.latest(ws)
    assert str(path) in str(err.value)
    with pytest.raises(publish.SnapshotError, match=str(path)):
        publish.load(ws, snapshot.digest)
    with pytest.raises(publish.SnapshotError):
        publish.current_state(ws, result)


def test_a_tampered_digest_or_figure_is_refused(closed):
    ws, result = closed
    snapshot = publish.publish(ws, result)
    # An edited body with its digest field recomputed is still caught: the file is named by its digest.
    original = snapshot.path.read_bytes()
    record = json.loads(original)
    record["result"]["submissions"]["good"]["fid"] = 0.001
    record["digest"] = publish.snapshot_digest(record)
    snapshot.path.write_text(json.dumps(record))
    with pytest.raises(publish.SnapshotError, match="does not match its digest"):
        publish.load(ws, snapshot.digest)
    snapshot.path.write_bytes(original)
    assert publish.load(ws, snapshot.digest).digest == snapshot.digest

    # A thumbnail swapped after publishing.
    sha = next(iter(snapshot.record["figures"]["thumbnails"]["good"].values()))
    asset = publish.published_dir(ws) / "assets" / f"{sha}.png"
    asset.write_bytes(asset.read_bytes() + b"x")
    with pytest.raises(publish.SnapshotError, match=f"{asset}.*does not match"):
        publish.load(ws, snapshot.digest)
    asset.unlink()
    with pytest.raises(publish.SnapshotError, match="is missing"):
        publish.load(ws, snapshot.digest)


def test_an_evaluation_of_another_state_is_not_published(closed):
    ws, result = closed
    ws.add_archive("late", ws.archive_path("good"), filename="late.zip")
    with pytest.raises(publish.PublishError, match="registered but not scored: late"):
        publish.publish(ws, result)
    assert REAL in ws.set_names() and publish.latest(ws) is None


def test_a_baseline_added_after_publishing_moves_nothing(closed, tmp_path):
    """The organiser's own baseline GAN is scored and shown but never competes: adding one (far
    worse than every team) leaves FID_max, every team's score and rank, and the snapshot as they were."""
    from gan_eval.archives import write_archive
    from gan_eval.phantom import make_cases
    from gan_eval.workspace import BASELINE

    ws, result = closed
    snapshot = publish.publish(ws, result)
    frozen = snapshot.path.read_bytes()
    noise = [c.__class__(c.case_id, np.random.default_rng(i).random(c.images.shape).astype(np.float32))
             for i, c in enumerate(make_cases(12, seed=5, size=64, prefix="gan"))]
    write_archive(noise, tmp_path / "gan.zip")
    ws.add_archive(BASELINE, tmp_path / "gan.zip")
    rescored = service.evaluate(ws)
    baseline = rescored["submissions"][BASELINE]
    assert baseline["reference"] is True and baseline["quantitative_rank"] is None
    assert baseline["fid"] > rescored["fid_max"] == result["fid_max"], "the baseline is not FID_max"
    for team, scores in result["submissions"].items():
        assert rescored["submissions"][team]["fid_score"] == scores["fid_score"]
        assert rescored["submissions"][team]["quantitative_rank"] == scores["quantitative_rank"]
    assert snapshot.path.read_bytes() == frozen and publish.latest(ws).digest == snapshot.digest
    # Any set the organiser marks as a reference is treated the same way.
    ws.set_reference("blurry", True)
    marked = service.evaluate(ws)
    assert marked["submissions"]["blurry"]["reference"] and marked["submissions"]["blurry"]["quantitative_rank"] is None
    with pytest.raises(ValueError, match="never competes"):
        ws.set_reference(BASELINE, False)
