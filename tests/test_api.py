"""The Python API for a team's own loop: Evaluator and Tracker against the `score` CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gan_eval
from gan_eval.api import Evaluator, Tracker, as_cases, chance_accuracy
from gan_eval.archives import read_cases, write_archive
from gan_eval.cases import Case, CaseSet
from gan_eval.cli import main as cli_main
from gan_eval.gan.runs import list_runs, read_metrics, read_status
from gan_eval.lesions import case_lesions, lesion_geometry, lesion_spread
from gan_eval.metrics.diversity import loo_1nn_diversity
from gan_eval.phantom import make_cases

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def real_zip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("real") / "real.zip"
    write_archive(make_cases(20, seed=0, size=48), path)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory, real_zip) -> Path:
    """A cache whose exported backbone graph the other caches copy: one ONNX export per module."""
    cache = tmp_path_factory.mktemp("models-cache")
    Evaluator(real_zip, cache=cache)
    return cache / "models"


def fresh_cache(tmp_path: Path, models: Path, name: str = "cache") -> Path:
    shutil.copytree(models, tmp_path / name / "models")
    return tmp_path / name


@pytest.fixture(scope="module")
def generated() -> tuple[np.ndarray, np.ndarray]:
    """Phantom cases from another seed as a team's generator would hand them over: (N, 3, H, W)
    float32 in [-1, 1], masks (N, H, W)."""
    cases = make_cases(24, seed=7, size=48)
    images = np.stack([c.images for c in cases]).astype(np.float32) / 32767.5 - 1.0
    return images, np.stack([c.masks[0] for c in cases])


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory, real_zip, models) -> Evaluator:
    root = tmp_path_factory.mktemp("evaluator")
    return Evaluator(real_zip, cache=fresh_cache(root, models))


def json_of(result: dict) -> dict:
    return json.loads(json.dumps(result))


def test_score_of_an_array_equals_the_score_cli_on_the_same_cases_as_an_archive(tmp_path, real_zip, models,
                                                                                  generated):
    images, masks = generated
    api_result = Evaluator(real_zip, cache=fresh_cache(tmp_path, models, "api")).score(images, masks=masks)

    cases, _ = as_cases(images, "submission", masks=masks)
    write_archive(cases, tmp_path / "submission.zip")
    out = tmp_path / "scores.json"
    assert cli_main(["score", "--real", str(real_zip), "--submission", f"submission={tmp_path / 'submission.zip'}",
                     "--seed", "0", "--json", str(out), "--cache", str(fresh_cache(tmp_path, models, "cli"))]) == 0
    cli_result = json.loads(out.read_text())
    assert json_of(api_result) == cli_result
    assert cli_result["submissions"]["submission"]["n"] == 24


def test_every_input_form_gives_the_same_features(tmp_path, evaluator, generated):
    import torch

    images, masks = generated
    from_array = evaluator.embed(images, masks=masks)
    cases, _ = as_cases(images, "submission", masks=masks)
    write_archive(cases, tmp_path / "gen.zip")
    for other in (cases, CaseSet("gen", cases), tmp_path / "gen.zip", str(tmp_path / "gen.zip"),
                  images.astype(">f4"), torch.from_numpy(images).requires_grad_()):
        emb = evaluator.embed(other)
        assert emb.case_ids == from_array.case_ids
        np.testing.assert_array_equal(emb.features, from_array.features)


def test_the_real_set_may_be_cases_or_an_array(evaluator, real_zip, generated):
    real_cases = list(read_cases(real_zip)[0])
    from_cases = Evaluator(real_cases, cache=evaluator.cache)
    assert from_cases.real.case_ids == evaluator.real.case_ids
    np.testing.assert_array_equal(from_cases.real.features, evaluator.real.features)
    from_array = Evaluator(np.stack([c.images for c in real_cases]), cache=evaluator.cache,
                           real_masks=np.stack([c.masks for c in real_cases]))
    np.testing.assert_array_equal(from_array.real.features, evaluator.real.features)
    images, masks = generated
    assert from_array.score(images)["submissions"]["submission"]["fid"] == \
        evaluator.score(images)["submissions"]["submission"]["fid"]


def test_cases_an_archive_would_reject_are_dropped_with_its_reasons(tmp_path, evaluator, generated):
    images = generated[0].copy()
    images[2, 1, 5, 5] = np.nan
    images[4, 2] = 0.25
    accepted, rejected = as_cases(images, "team")
    np.save(tmp_path / "stack.npy", images)
    _, report = read_cases(tmp_path / "stack.npy")
    assert [(r.case, r.reason) for r in rejected] == [(r.case, r.reason) for r in report.rejected] == [
        ("case_0002", "t1_portal contains NaN or Inf"), ("case_0004", "t2 is a constant image (every pixel is 0.25)")]
    with pytest.warns(UserWarning, match=r"team: 2 case\(s\) rejected and not scored; first: case_0002: t1_portal "
                                         r"contains NaN or Inf"):
        assert evaluator.score(images, name="team")["submissions"]["team"]["n"] == 22


def test_inputs_that_are_not_cases_are_refused_with_the_reason(evaluator):
    with pytest.raises(ValueError, match=r"^team: images must be shaped \(N, 3, H, W\) \(t1_arterial, t1_portal, t2\), "
                                         r"got shape \(2, 4, 8, 8\); give the lesion masks apart, as masks=$"):
        as_cases(np.zeros((2, 4, 8, 8)), "team")
    with pytest.raises(ValueError, match=r"^team: masks shaped \(2, 8, 9\) do not match images shaped \(2, 3, 8, 8\)"):
        as_cases(np.random.rand(2, 3, 8, 8), "team", masks=np.zeros((2, 8, 9)))
    with pytest.raises(ValueError, match=r"^team: unsupported image dtype complex128"):
        as_cases(np.zeros((2, 3, 8, 8), dtype=complex), "team")
    with pytest.raises(TypeError, match=r"^team: expected an \(N, 3, H, W\) array, a list of Case, a CaseSet or an "
                                        r"archive or folder path, got dict$"):
        as_cases({"t2": 1}, "team")
    with pytest.raises(ValueError, match=r"^team: no usable case \(2 rejected; first: case_0000: t1_arterial is a "
                                         r"constant image"):
        evaluator.embed(np.zeros((2, 3, 8, 8)), "team")
    for nothing in ([], np.zeros((0, 3, 8, 8))):
        with pytest.raises(ValueError, match="^team: no case given$"):
            evaluator.embed(nothing, "team")


def test_tracker_writes_one_line_per_call_with_the_score_numbers(tmp_path, evaluator, generated):
    images, masks = generated
    tracker = Tracker(tmp_path / "team-run", evaluator)
    first = tracker.log(0, images, masks=masks, loss_g=1.5)
    second = tracker.log(10, images[:12], masks=masks[:12])
    lines = read_metrics(tmp_path / "team-run")
    assert json_of([first, second]) == lines

    record = json_of(evaluator.score(images, name="team-run", masks=masks))["submissions"]["team-run"]
    for key in ("n", "fid", "fid_ci95", "kid", "kid_std", "loo_accuracy", "loo_accuracy_real", "loo_accuracy_generated",
                "diversity_score", "precision", "recall", "density", "coverage", "memorized_fraction", "consistency"):
        assert lines[0][key] == record[key], key
    assert not {"fid_score", "quantitative_score", "quantitative_rank", "selected_cases"} & set(lines[0])
    assert (lines[0]["step"], lines[0]["loss_g"], lines[0]["n_real"], lines[0]["backbone"]) == \
        (0, 1.5, 20, "efficientnet-lite0")
    assert lines[0]["loo_chance"] == chance_accuracy(20, 24) and lines[1]["loo_chance"] == chance_accuracy(20, 12)
    # Phantom lesions against phantom lesions: about as varied.
    assert 0.5 < lines[0]["lesion_position_ratio"] < 2 and 0.5 < lines[0]["lesion_size_ratio"] < 2
    assert tracker.log(11, images)["lesion_position_ratio"] is None  # no masks given

    # The folder is a tracked run: listed and read like the baseline's runs.
    (run,) = list_runs(tmp_path)
    assert (run["name"], run["config"], run["status"]["state"], run["status"]["step"]) == \
        ("team-run", {}, "tracked", 11)


def test_tracker_steps_increase_and_a_resumed_run_drops_later_lines(tmp_path, evaluator, generated):
    images, masks = generated
    tracker = Tracker(tmp_path / "run", evaluator)
    for step in (0, 5, 10):
        tracker.log(step, images[:10])
    with pytest.raises(ValueError, match=r"Tracker.log: step 10 is not after the last step logged in .*metrics.jsonl "
                                         r"\(10\); log to a new run folder, or pass resume_step"):
        tracker.log(10, images[:10])
    with pytest.raises(ValueError, match="^Tracker.log: fid, time are written by the tracker; name your values "
                                         "otherwise$"):
        tracker.log(11, images[:10], time=1, fid=2)
    resumed = Tracker(tmp_path / "run", evaluator, resume_step=5)
    assert [line["step"] for line in read_metrics(tmp_path / "run")] == [0, 5]
    resumed.log(6, images[:10])
    assert read_status(tmp_path / "run")["step"] == 6


def test_chance_accuracy_is_the_loo_accuracy_of_indistinguishable_sets():
    assert chance_accuracy(91, 100) == pytest.approx(18090 / 36290)
    assert chance_accuracy(91, 16) == pytest.approx((91 * 90 + 16 * 15) / (107 * 106))
    rng = np.random.default_rng(0)
    accuracies = [loo_1nn_diversity(rng.normal(size=(30, 8)), rng.normal(size=(12, 8)), batch_size=12,
                                    repetitions=1, seed=s).accuracy for s in range(1000)]
    assert np.mean(accuracies) == pytest.approx(chance_accuracy(30, 12), abs=0.01)
    with pytest.raises(ValueError, match="needs a real and a generated case"):
        chance_accuracy(0, 5)


def test_lesion_geometry_and_spread():
    masks = np.zeros((3, 10, 20), dtype=np.uint8)
    masks[0, 0:2, 0:4] = 1      # centroid (0.1, 0.1), size sqrt(8 / 200)
    masks[1, 8:10, 16:20] = 1   # centroid (0.9, 0.9)
    geometry = lesion_geometry(masks)
    np.testing.assert_allclose(geometry.centroids[:2], [[0.1, 0.1], [0.9, 0.9]])
    np.testing.assert_allclose(geometry.sizes[:2], np.sqrt(0.04))
    assert np.isnan(geometry.sizes[2]) and list(geometry.has_lesion) == [True, True, False]

    collapsed = lesion_geometry(np.repeat(masks[:1], 4, axis=0))
    spread = lesion_spread(geometry, collapsed)
    assert spread["lesion_position_ratio"] == 0 and spread["lesion_fraction"] == 1
    assert spread["lesion_fraction_real"] == pytest.approx(2 / 3)
    assert spread["lesion_position_spread_real"] == pytest.approx(np.hypot(0.4, 0.4))
    assert spread["lesion_size_ratio"] is None  # the real sizes do not vary
    assert case_lesions([Case("a", np.ones((3, 4, 4)))]) is None


def test_stray_area_is_the_share_of_lesion_pixels_outside_each_case_s_largest_piece():
    masks = np.zeros((3, 12, 12), dtype=np.uint8)
    masks[0, 2:6, 2:6] = 1                        # one blob of 16: nothing stray
    masks[1, 2:6, 2:6] = 1
    masks[1, 10, 10] = masks[1, 11, 11] = 1       # a diagonal speck of 2 (8-connected: one piece)
    masks[1, 0, 11] = 1                           # and a lone pixel
    masks[2, 0:3, 0] = masks[2, 9:12, 11] = 1     # two pieces of 3: one counts as the lesion
    geometry = lesion_geometry(masks)
    assert list(geometry.areas) == [16, 19, 6] and list(geometry.largest) == [16, 16, 3]
    spread = lesion_spread(lesion_geometry(masks[:1]), geometry)
    assert spread["lesion_stray_area"] == pytest.approx((3 + 3) / (16 + 19 + 6))
    assert spread["lesion_stray_area_real"] == 0
    from_cases = case_lesions([Case(f"c{i}", np.ones((3, 12, 12)), masks=np.repeat(m[None], 3, 0))
                               for i, m in enumerate(masks)])
    np.testing.assert_array_equal(from_cases.largest, geometry.largest)


def test_lesion_spread_of_a_set_without_any_lesion_is_undefined_not_an_error():
    real = lesion_geometry(np.eye(6, dtype=np.uint8)[None].repeat(2, axis=0))
    spread = lesion_spread(real, lesion_geometry(np.zeros((4, 6, 6), dtype=np.uint8)))
    assert spread["lesion_fraction"] == 0
    assert spread["lesion_position_spread"] is None and spread["lesion_position_ratio"] is None
    assert spread["lesion_stray_area"] is None


def test_import_gan_eval_loads_neither_numpy_nor_torch_until_the_api_is_used():
    code = ("import sys, gan_eval; assert 'numpy' not in sys.modules and 'torch' not in sys.modules; "
            "gan_eval.Evaluator, gan_eval.Tracker; assert 'torch' not in sys.modules; print(sorted(gan_eval.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert "Evaluator" in out.stdout and "Tracker" in out.stdout
    assert gan_eval.Evaluator is Evaluator
    with pytest.raises(AttributeError, match="no attribute 'Evalutor'"):
        gan_eval.Evalutor
