"""Baseline GAN: training, exact resume, sequence-preserving DiffAugment, export, run control."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from gan_eval.api import Evaluator, Tracker, chance_accuracy
from gan_eval.archives import read_cases, validate, write_archive
from gan_eval.cases import Case
from gan_eval.cli import build_parser
from gan_eval.cli import main as cli_main
from gan_eval.gan import (TrainConfig, latest_sample, list_runs, list_samples, read_log, read_status, request_stop,
                          resume_run, start_run)
from gan_eval.gan.data import cases_to_tensor
from gan_eval.gan.diffaugment import FILL, cutout, diff_augment, translate
from gan_eval.gan.export import generate, generate_cases, load_generator
from gan_eval.gan.runs import (CHECKPOINT, CONFIG, METRICS, STATUS, STOP, append_json_line, best_step,
                               generator_path, page_is_stale, read_config, read_metrics, write_json_atomic)
from gan_eval.gan.model import Discriminator, Generator, lesion_spread
from gan_eval.gan.train import METRICS_SEED_OFFSET, SAMPLE_ROWS, mode_seeking_penalty, train
from gan_eval.phantom import make_cases

# 32x32 keeps every training step a few tens of milliseconds; the mechanics are the same at 64+.
# Live metrics are tested on their own (LIVE): elsewhere they would only add embedding time.
TINY = TrainConfig(resolution=32, steps=4, batch_size=4, width=8, z_dim=16, log_every=1, sample_every=2,
                   checkpoint_every=100, seed=3, metrics_every=0)
LIVE = replace(TINY, metrics_every=2, metrics_samples=8)


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """Tiny convolutions gain nothing from threads and lose a lot on a busy shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # for the training processes the tests launch
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return make_cases(6, seed=0, size=64)


def _checkpoint(run_dir):
    return torch.load(run_dir / CHECKPOINT, weights_only=True)


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_training_steps_give_finite_losses_and_change_weights(tmp_path, cases):
    run = tmp_path / "run"
    assert train(run, replace(TINY, steps=0), cases=cases)["state"] == "finished"
    before = _checkpoint(run)
    status = train(run, resume=True, steps=3, cases=cases)
    after = _checkpoint(run)

    assert (status["state"], status["step"], after["step"]) == ("finished", 3, 3)
    log = read_log(run)
    assert [r["step"] for r in log] == [1, 2, 3]
    assert all(math.isfinite(r[k]) for r in log for k in ("loss_d", "loss_g", "steps_per_s"))
    for net in ("G", "D", "G_ema"):
        changed = [k for k in before[net] if before[net][k].is_floating_point()
                   and not torch.equal(before[net][k], after[net][k])]
        assert changed, f"{net} did not change"
    config = json.loads((run / "config.json").read_text())
    assert config["run"] == {"device_used": "cpu", "channels": 4, "with_masks": True, "n_real": 6,
                             "n_real_rejected": 0}


def test_r1_penalty_is_logged(tmp_path, cases):
    train(tmp_path / "run", replace(TINY, steps=2, r1_gamma=1.0), cases=cases)
    assert all(math.isfinite(r["r1"]) and r["r1"] > 0 for r in read_log(tmp_path / "run"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_resolution_256_without_cuda_fails_with_a_clear_status(tmp_path, cases):
    with pytest.raises(ValueError, match="resolution 256 needs a CUDA device"):
        train(tmp_path / "run", replace(TINY, resolution=256), cases=cases)
    status = read_status(tmp_path / "run")
    assert status["state"] == "failed" and "256 needs a CUDA device" in status["error"]


def test_resume_continues_exactly(tmp_path, cases):
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(straight, TINY, cases=cases)
    train(split, replace(TINY, steps=2), cases=cases)
    with pytest.raises(FileExistsError, match="already holds a run"):
        train(split, TINY, cases=cases)
    assert train(split, resume=True, steps=4, cases=cases)["step"] == 4

    losses = [[(r["step"], r["loss_d"], r["loss_g"]) for r in read_log(run)] for run in (straight, split)]
    assert losses[0] == losses[1] and len(losses[0]) == 4
    a, b = _checkpoint(straight), _checkpoint(split)
    for key in ("G", "D", "G_ema"):
        assert _same_state(a[key], b[key]), key
    assert torch.equal(a["rng"], b["rng"])
    assert (Image.open(straight / "samples/step_000004.png").tobytes()
            == Image.open(split / "samples/step_000004.png").tobytes())


def test_real_cases_are_min_max_normalised_per_image(cases):
    case = cases[0]
    rescaled = replace(case, images=(case.images.astype(np.float32) * [[[3.0]], [[0.5]], [[7.0]]] + 100))
    x, with_masks = cases_to_tensor([case, rescaled], 64)
    assert with_masks and x.shape == (2, 4, 64, 64)
    assert torch.allclose(x[0], x[1], atol=1e-5)
    assert x[0, :3].amin(dim=(1, 2)).tolist() == [-1, -1, -1] and x[0, :3].amax(dim=(1, 2)).tolist() == [1, 1, 1]
    assert torch.equal(x[0, 3] > 0, torch.from_numpy(case.masks[0] > 0))


def _shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``image`` moved down by dy and right by dx, uncovered pixels set to FILL."""
    h, w = image.shape
    out = np.full_like(image, FILL)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = image[max(-dy, 0):h - max(dy, 0),
                                                                     max(-dx, 0):w - max(dx, 0)]
    return out


def test_translation_moves_every_channel_by_the_same_offset():
    x = torch.rand(8, 4, 16, 16)  # channels differ, so a per-channel shift would show
    out = translate(x, torch.Generator().manual_seed(0)).numpy()
    offsets = []
    for i in range(len(x)):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if np.array_equal(out[i, 0], _shift(x[i, 0].numpy(), dy, dx))]
        assert len(found) == 1, f"sample {i}: channel 0 is not a shift of at most 2 pixels"
        dy, dx = found[0]
        for c in range(1, 4):
            assert np.array_equal(out[i, c], _shift(x[i, c].numpy(), dy, dx)), f"sample {i} channel {c}"
        offsets.append(found[0])
    assert len(set(offsets)) > 1  # drawn per sample


def test_cutout_removes_the_same_rectangle_from_every_channel():
    x = torch.rand(8, 4, 16, 16)
    out = cutout(x, torch.Generator().manual_seed(0))
    hole = out == FILL
    assert torch.equal(out[~hole], x[~hole])
    for i in range(len(x)):
        assert all(torch.equal(hole[i, 0], hole[i, c]) for c in range(1, 4)), f"sample {i}"
        rows, cols = hole[i, 0].any(1), hole[i, 0].any(0)
        assert hole[i, 0].sum() == rows.sum() * cols.sum() > 0  # one filled rectangle
    assert len({hole[i, 0].numpy().tobytes() for i in range(len(x))}) > 1


def test_diff_augment_is_differentiable_and_off_without_policy():
    x = torch.rand(4, 4, 16, 16, requires_grad=True)
    diff_augment(x, ["translation", "cutout"], torch.Generator().manual_seed(0)).sum().backward()
    assert 0 < x.grad.sum() < x.numel()  # pixels moved out or cut away get no gradient
    assert diff_augment(x, [], torch.Generator()) is x


def test_export_round_trips_through_the_archive_reader(tmp_path, cases):
    run = tmp_path / "run"
    train(run, replace(TINY, steps=0), cases=cases)  # an untrained generator must still export valid cases
    path = generate(run, 5, tmp_path / "gan.zip", seed=1, batch_size=2)

    report = validate(path)
    assert report.ok and len(report.accepted) == 5, report.summary()
    exported, _ = read_cases(path)
    assert exported.ids == [f"gan_{i:04d}" for i in range(5)]
    for case in exported:
        assert case.images.dtype == np.uint16 and case.images.shape == (3, 32, 32)
        assert case.masks.dtype == np.uint8 and case.masks.shape == (3, 32, 32)
        assert set(np.unique(case.masks)) <= {0, 1}
        assert (case.masks == case.masks[0]).all()  # one lesion outline for the three sequences
    again, _ = read_cases(generate(run, 5, tmp_path / "again.zip", seed=1, batch_size=5))
    other, _ = read_cases(generate(run, 5, tmp_path / "other.zip", seed=2))
    # Same latents whatever the batch size; convolution kernels for other batch sizes round differently.
    assert all(np.abs(a.images.astype(int) - b.images).max() <= 1 for a, b in zip(exported, again))
    assert not np.array_equal(exported[0].images, other[0].images)


def test_cases_without_masks_train_and_export_without_masks(tmp_path, cases):
    unmasked = [replace(case, masks=None) for case in cases]
    run = tmp_path / "run"
    train(run, replace(TINY, steps=1), cases=unmasked)
    exported, report = read_cases(generate(run, 2, tmp_path / "gan.zip"))
    assert report.ok and all(case.masks is None for case in exported)
    assert Image.open(latest_sample(run)).size == (3 * 34 - 2, 14 + SAMPLE_ROWS * 34 - 2)  # 3 columns


def test_stop_file_checkpoints_and_resume_finishes(tmp_path, cases):
    run = tmp_path / "run"
    run.mkdir()
    request_stop(run)
    status = train(run, TINY, cases=cases)
    assert (status["state"], status["step"], _checkpoint(run)["step"]) == ("stopped", 0, 0)
    assert not (run / STOP).exists()
    assert train(run, resume=True, cases=cases)["state"] == "finished"
    assert [p.name for p in list_samples(run)] == ["step_000000.png", "step_000002.png", "step_000004.png"]
    assert latest_sample(run).name == "step_000004.png"
    [listed] = list_runs(tmp_path)
    assert listed["name"] == "run" and listed["config"]["steps"] == 4 and listed["status"]["state"] == "finished"


def test_mode_seeking_penalty_punishes_collapse_and_pushes_cases_apart():
    z = torch.randn(8, 16, generator=torch.Generator().manual_seed(0))
    collapsed = torch.zeros(8, 4, 8, 8).requires_grad_(True)
    diverse = torch.randn(8, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    assert mode_seeking_penalty(collapsed, z) > 1000 * mode_seeking_penalty(diverse, z)

    images = (0.01 * diverse).requires_grad_(True)  # nearly collapsed
    distance = lambda x: (x[:4] - x[4:]).abs().mean().item()  # noqa: E731
    before = distance(images)
    mode_seeking_penalty(images, z).backward()
    with torch.no_grad():
        images -= 1e-6 * images.grad
    assert distance(images) > before


def _lesion_batch(shifts: list[int], radii: list[int] | None = None, res: int = 32) -> torch.Tensor:
    """Cases of one (random) anatomy whose masks are discs moved right by ``shifts`` pixels."""
    rows, cols = torch.meshgrid(torch.arange(res), torch.arange(res), indexing="ij")
    images = torch.rand(len(shifts), 4, res, res, generator=torch.Generator().manual_seed(0)) * 2 - 1
    for i, shift in enumerate(shifts):
        disc = (rows - 12) ** 2 + (cols - 10 - shift) ** 2 <= (radii[i] if radii else 3) ** 2
        images[i, 3] = disc.float() * 2 - 1
    return images


def test_lesion_spread_is_zero_for_one_placement_and_grows_with_variety():
    assert lesion_spread(_lesion_batch([0, 0, 0, 0])) == 0
    near, far = lesion_spread(_lesion_batch([0, 1, 2, 3])), lesion_spread(_lesion_batch([0, 6, 12, 18]))
    assert 0 < near < far
    assert lesion_spread(_lesion_batch([0, 0, 0, 0], radii=[1, 2, 3, 4])) > 0  # sizes vary, not places


def test_discriminator_reads_the_lesion_spread_of_the_unaugmented_batch():
    torch.manual_seed(0)
    collapsed, varied = _lesion_batch([0, 0, 0, 0]), _lesion_batch([0, 4, 8, 12])
    # eval(): spectral norm's power iteration would change the weights between calls
    with_spread, without = Discriminator(32, 4, 8, lesion_std=10.0).eval(), Discriminator(32, 4, 8).eval()
    assert not torch.allclose(with_spread(collapsed, collapsed), with_spread(collapsed, varied))
    assert torch.equal(without(collapsed, collapsed), without(collapsed, varied))
    assert Discriminator(32, 3, 8, lesion_std=10.0).lesion_std == 0.0  # no masks, no lesion spread
    assert torch.equal(with_spread(varied), with_spread(varied, varied))  # default: the input itself

    # The generator gets a gradient through the spread of its own (unaugmented) lesions.
    G = Generator(32, 4, z_dim=16, width=8)
    fake = G(torch.randn(4, 16))
    with_spread(fake.detach(), fake).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())


def test_runs_saved_before_lesion_std_read_as_without_it(tmp_path):
    write_json_atomic(tmp_path / CONFIG, {**TINY.to_dict(), "lesion_std": 3.0})
    assert read_config(tmp_path)["lesion_std"] == 3.0
    config = TINY.to_dict()
    del config["lesion_std"]
    write_json_atomic(tmp_path / CONFIG, config)
    assert read_config(tmp_path)["lesion_std"] == 0.0


def test_a_discriminator_saved_in_the_one_sequence_layout_loads_with_the_same_logits():
    """Before the lesion spread, D's layers down to 4x4, the minibatch std and the last conv were
    one ``features`` sequence: such a checkpoint (written here by renaming the keys back) loads."""
    from gan_eval.gan.model import Discriminator

    torch.manual_seed(0)
    saved = Discriminator(32, 4, 8)
    split = len(saved.down)
    old_layout = {}
    for key, value in saved.state_dict().items():
        part, index, rest = key.split(".", 2) if key.count(".") >= 2 else (key, None, None)
        if part == "down":
            key = f"features.{index}.{rest}"
        elif part == "features":
            key = f"features.{int(index) + split}.{rest}"
        old_layout[key] = value
    assert any(k.startswith(f"features.{split}.") for k in old_layout) and not any(k.startswith("down.") for k in old_layout)
    loaded = Discriminator(32, 4, 8)
    loaded.load_state_dict(old_layout)
    x = torch.randn(4, 4, 32, 32)
    assert torch.equal(loaded.eval()(x), saved.eval()(x))


def test_runs_saved_before_mode_seeking_resume_without_it(tmp_path, cases):
    """An older run's config.json has no mode_seeking: resuming it must not switch the term on."""
    old, straight = tmp_path / "old", tmp_path / "straight"
    train(straight, replace(TINY, mode_seeking=0.0), cases=cases)
    train(old, replace(TINY, steps=2, mode_seeking=0.0), cases=cases)
    config = json.loads((old / "config.json").read_text())
    del config["mode_seeking"]
    write_json_atomic(old / "config.json", config)
    with pytest.raises(ValueError, match="config.real_path is empty"):  # trained from cases given in memory
        train(old, resume=True, steps=4)
    assert read_status(old)["state"] == "failed" and read_status(old)["step"] == 2  # not 0
    train(old, resume=True, steps=4, cases=cases)
    assert json.loads((old / "config.json").read_text())["mode_seeking"] == 0.0
    assert [r["loss_g"] for r in read_log(old)] == [r["loss_g"] for r in read_log(straight)]


def test_read_status_reports_a_vanished_process_as_failed(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", "print('killed mid-run')"], stdout=subprocess.DEVNULL)
    process.wait()
    write_json_atomic(tmp_path / STATUS, {"state": "running", "pid": process.pid, "step": 7, "total": 10,
                                          "error": None})
    status = read_status(tmp_path)
    assert status["state"] == "failed" and str(process.pid) in status["error"]


def test_config_rejects_bad_settings():
    with pytest.raises(ValueError, match="resolution must be one of"):
        TrainConfig(resolution=48)
    with pytest.raises(ValueError, match="unknown augment policy"):
        TrainConfig(augment_policy="translation,color")
    with pytest.raises(ValueError, match=r"unknown settings \['stpes'\]"):
        TrainConfig.from_dict({"stpes": 3})
    with pytest.raises(ValueError, match="mode_seeking must be >= 0"):
        TrainConfig(mode_seeking=-0.1)
    with pytest.raises(ValueError, match=r"^TrainConfig: lesion_std must be >= 0, got -1.0$"):
        TrainConfig(lesion_std=-1.0)
    with pytest.raises(ValueError, match="mode_seeking compares pairs .* batch_size >= 2"):
        TrainConfig(batch_size=1)
    assert TrainConfig(batch_size=1, mode_seeking=0.0).batch_size == 1
    assert TrainConfig(augment=False).policy == []


def test_cli_trains_and_generates(tmp_path, cases, capsys):
    write_archive(cases, tmp_path / "real.zip")
    run = tmp_path / "run"
    args = ["train", "--real", str(tmp_path / "real.zip"), "--out", str(run), "--steps", "2", "--resolution", "32",
            "--batch-size", "2", "--width", "8", "--no-augment", "--seed", "5", "--device", "cpu", "--log-every", "1",
            "--metrics-every", "2", "--metrics-samples", "4", "--cache-dir", str(tmp_path / "cache")]
    assert cli_main(args) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["steps"], config["augment"], config["seed"], config["run"]["n_real"]) == (2, False, 5, 6)
    assert [(line["step"], line["n"]) for line in read_metrics(run)] == [(0, 4), (2, 4)]
    assert cli_main(["train", "--out", str(run), "--resume", "--seed", "1"]) == 2
    assert "only --steps and --device may change" in capsys.readouterr().err
    assert cli_main(["train", "--out", str(run), "--resume", "--steps", "3"]) == 0  # what resume_run launches
    assert [r["step"] for r in read_log(run)] == [1, 2, 3]
    assert cli_main(["generate", str(run), "--n", "3", "--out", str(tmp_path / "gan.zip")]) == 0
    assert cli_main(["validate", str(tmp_path / "gan.zip")]) == 0


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_run_process_starts_and_stops(tmp_path, cases):
    write_archive(cases, tmp_path / "real.zip")
    run = tmp_path / "runs" / "first"
    process = start_run(tmp_path / "real.zip", run, replace(TINY, steps=100_000, checkpoint_every=100_000))
    assert read_status(run)["state"] in ("starting", "running")
    assert [r["name"] for r in list_runs(tmp_path / "runs")] == ["first"]
    with pytest.raises(FileExistsError, match="already holds a run"):
        start_run(tmp_path / "real.zip", run, TINY)
    _wait_for(lambda: read_log(run))
    with pytest.raises(RuntimeError, match="stop it first"):
        resume_run(run)
    request_stop(run)
    assert process.wait(timeout=60) == 0
    status = read_status(run)
    assert status["state"] == "stopped" and 0 < status["step"] < 100_000
    assert _checkpoint(run)["step"] == status["step"] == read_log(run)[-1]["step"]


def test_one_training_run_at_a_time_per_workspace_unless_allowed(tmp_path, cases):
    from gan_eval.gan.runs import RunLimitError, new_run_name
    from gan_eval.workspace import REAL, Workspace, service

    write_archive(cases, tmp_path / "real.zip")
    ws = Workspace(tmp_path / "ws")
    ws.add_archive(REAL, tmp_path / "real.zip")
    assert len({new_run_name() for _ in range(20)}) == 20  # two clicks in one second: two runs, no clash
    long = replace(TINY, steps=100_000, checkpoint_every=100_000)
    first = service.start_training(ws, long)
    with pytest.raises(RunLimitError, match=rf"1 training run\(s\) already active \({first}\), the most allowed"):
        service.start_training(ws, long)
    assert [r["name"] for r in list_runs(ws.gan_runs_dir)] == [first]
    ws.set_max_training_runs(2)
    second = service.start_training(ws, long)
    for name in (first, second):
        _wait_for(lambda: read_log(ws.gan_runs_dir / name))
        request_stop(ws.gan_runs_dir / name)
    _wait_for(lambda: not service_active(ws))
    with pytest.raises(ValueError, match="max_training_runs must be an integer from 1 to 16"):
        ws.set_max_training_runs(0)


def service_active(ws) -> list[str]:
    from gan_eval.gan.runs import active_runs

    return active_runs(ws.gan_runs_dir)


def test_the_cli_leaves_the_step_count_to_train_config():
    """The app's form starts at the same default (tests/test_app_gan.py)."""
    assert build_parser().parse_args(["train", "--out", "run"]).steps is None  # TrainConfig's default applies


def test_live_metrics_are_tracker_lines_of_the_generator_they_keep(tmp_path, cases):
    run, cache = tmp_path / "run", tmp_path / "cache"
    train(run, replace(LIVE, cache_dir=str(cache)), cases=cases)
    lines = read_metrics(run)
    assert [line["step"] for line in lines] == [0, 2, 4]
    for line in lines:
        assert (line["n"], line["n_real"], line["rejected"], line["seed"]) == (8, 6, 0, TINY.seed)
        assert math.isfinite(line["fid"]) and math.isfinite(line["kid"]) and 0 <= line["loo_accuracy"] <= 1
        assert line["loo_chance"] == chance_accuracy(6, 8) and line["lesion_fraction_real"] == 1.0
    assert [line["elapsed_s"] for line in lines] == sorted(line["elapsed_s"] for line in lines)
    assert [p.name for p in sorted((run / "generators").iterdir())] == [
        "step_000000.pt", "step_000002.pt", "step_000004.pt"]

    # A line is what a team's Tracker writes for the cases of the generator kept at that step.
    kept = list(generate_cases(load_generator(run, step=2), 8, seed=TINY.seed + METRICS_SEED_OFFSET))
    again = Tracker(tmp_path / "again", Evaluator(cases, cache=cache), seed=TINY.seed).log(2, kept)
    for key in ("fid", "fid_ci95", "kid", "loo_accuracy", "precision", "lesion_position_ratio", "lesion_size_ratio"):
        assert again[key] == lines[1][key], key

    best = best_step(run, "fid")
    assert best["fid"] == min(line["fid"] for line in lines)
    exported, report = read_cases(generate(run, 3, tmp_path / "best.zip", step=best["step"]))
    assert report.ok and len(exported) == 3
    with pytest.raises(FileNotFoundError, match="no generator kept at step 1 .* kept at the live-metric evaluations"):
        generate(run, 3, tmp_path / "none.zip", step=1)


def test_live_metrics_change_no_training_step_and_resume_exactly(tmp_path, cases):
    plain, straight, split = tmp_path / "plain", tmp_path / "straight", tmp_path / "split"
    live = replace(LIVE, cache_dir=str(tmp_path / "cache"))
    train(plain, TINY, cases=cases)
    train(straight, live, cases=cases)
    train(split, replace(live, steps=2), cases=cases)
    append_json_line(split / METRICS, {"step": 3, "fid": 1.0})  # written after the checkpoint by a killed process
    train(split, resume=True, steps=4, cases=cases)

    for run in (straight, split):
        assert _same_state(_checkpoint(plain)["G_ema"], _checkpoint(run)["G_ema"])
        assert [r["loss_g"] for r in read_log(run)] == [r["loss_g"] for r in read_log(plain)]
    curves = [[(m["step"], m["fid"]) for m in read_metrics(run)] for run in (straight, split)]
    assert curves[0] == curves[1]
    assert not (plain / "generators").exists()


def test_best_step_is_chosen_among_kept_generators(tmp_path):
    lines = [{"step": 0, "fid": 90.0, "kid": 0.2, "loo_accuracy": 0.95, "loo_chance": 0.5},
             {"step": 5, "fid": 40.0, "kid": 0.3, "loo_accuracy": 0.40, "loo_chance": 0.5},
             {"step": 9, "fid": 30.0, "kid": None, "loo_accuracy": 0.56, "loo_chance": 0.5},
             {"step": 12, "fid": 10.0, "kid": 0.1, "loo_accuracy": 0.5, "loo_chance": 0.5}]
    for line in lines:
        append_json_line(tmp_path / METRICS, line)
    for step in (0, 5, 9):  # step 12's generator was not kept
        generator_path(tmp_path, step).parent.mkdir(exist_ok=True)
        generator_path(tmp_path, step).touch()
    assert [best_step(tmp_path, m)["step"] for m in ("fid", "kid", "loo_accuracy")] == [9, 0, 9]
    with pytest.raises(ValueError, match="cannot choose by 'precision'; choose by one of fid, kid, loo_accuracy"):
        best_step(tmp_path, "precision")
    assert best_step(tmp_path / "empty", "fid") is None


def test_a_page_drawn_for_an_active_run_is_stale_once_it_ends_and_back():
    assert [page_is_stale("running", state) for state in ("starting", "running", "finished", "stopped", "failed")] == \
        [False, False, True, True, True]
    assert page_is_stale("stopped", "starting") and not page_is_stale("finished", "failed")
