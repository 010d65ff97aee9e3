"""The Baseline GAN page with live metrics: curves of the baseline's runs and of a team's own
tracked runs, export from the best step, and a page that follows a run to its end."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gan_eval.api import Evaluator, Tracker
from gan_eval.gan import runs
from gan_eval.gan.config import TrainConfig
from gan_eval.phantom import make_cases
from gan_eval.workspace import REAL, Workspace, service

APP = Path(__file__).resolve().parents[1] / "app.py"
TINY = dict(resolution=32, steps=4, batch_size=4, width=8, z_dim=16, log_every=1, sample_every=2, checkpoint_every=100,
            metrics_samples=8)


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def ws(small_workspace, tmp_path) -> Workspace:
    """A workspace with the small demo's real set, and its exported backbone (no second export)."""
    ws = Workspace(tmp_path / "gan-ws")
    ws.add_archive(REAL, small_workspace.archive_path(REAL), filename="real.zip")
    shutil.copytree(small_workspace.cache_dir / "models", ws.cache_dir / "models")
    return ws


def train_run(ws: Workspace, name: str, **settings) -> Path:
    from gan_eval.gan.train import train

    config = service.training_config(ws, **{**TINY, **settings}, real_path=str(ws.archive_path(REAL)))
    train(ws.gan_runs_dir / name, config)
    return ws.gan_runs_dir / name


def open_page(ws: Workspace, **state) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["workspace_root"] = str(ws.root)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page("views/baseline_gan.py")
    return at.run()


def metric_traces(at: AppTest) -> dict[tuple[str, str], dict]:
    """The live-metric figure's traces by (run, line key)."""
    (figure,) = [json.loads(e.proto.spec) for e in at.get("plotly_chart")
                 if "Live metrics" in json.loads(e.proto.spec)["layout"]["title"]["text"]]
    return {(trace["name"], trace["meta"]): trace for trace in figure["data"]}


def test_page_plots_live_metrics_of_a_training_run_beside_a_tracked_run(ws):
    run_dir = train_run(ws, "run-live", metrics_every=2)
    lines = runs.read_metrics(run_dir)
    assert [line["step"] for line in lines] == [0, 2, 4]
    evaluator = Evaluator(ws.archive_path(REAL), ws.backbone, ws.weights, ws.cache_dir)
    team = Tracker(ws.gan_runs_dir / "team-loop", evaluator)
    images = np.stack([c.images for c in make_cases(12, seed=5, size=64)])
    for step in (0, 100):
        team.log(step, images)

    at = open_page(ws, **{"gan-run": "run-live"})
    assert not at.exception, at.exception
    assert at.number_input[0].value == TrainConfig().steps  # the one default step count
    at = at.multiselect(key="gan-compare").set_value(["team-loop"]).run()
    assert not at.exception, at.exception
    traces = metric_traces(at)
    for key in ("fid", "kid", "loo_accuracy", "loo_chance", "lesion_position_ratio", "lesion_size_ratio"):
        assert traces[("run-live", key)]["x"] == [0, 2, 4]
        assert traces[("run-live", key)]["y"] == pytest.approx([line[key] for line in lines])
        assert traces[("team-loop", key)]["x"] == [0, 100]
    best = runs.best_step(run_dir, "fid")
    export = at.selectbox(key="gan-export-step")
    assert export.options[0] == "last checkpoint (step 4)"
    assert any(option.startswith(f"best by FID: step {best['step']} (FID ") for option in export.options)
    assert at.button(key="gan-generate") is not None

    at = at.selectbox(key="gan-run-choice").set_value("team-loop").run()
    assert not at.exception, at.exception
    assert ("team-loop", "fid") in metric_traces(at)
    assert "gan-generate" not in [b.key for b in at.button]
    assert any("your own training loop" in str(c.value) for c in at.caption)


def test_the_form_trains_with_the_lesion_spread_weight_it_shows(ws, monkeypatch):
    started = []
    monkeypatch.setattr(service, "start_training", lambda ws, config, actor: started.append(config) or "run-x")
    at = open_page(ws)
    assert not at.exception, at.exception
    field = at.number_input(key="gan-lesion-std")
    assert field.value == TrainConfig().lesion_std
    field.set_value(0.0)  # a form: the value goes with the submit
    at = next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, at.exception
    (config,) = started
    assert config.lesion_std == 0.0 and config.mode_seeking == TrainConfig().mode_seeking


def test_generate_button_appears_when_the_run_ends_while_the_page_is_open(ws, monkeypatch):
    run_dir = train_run(ws, "run-1", steps=1, metrics_every=0)
    finished = runs.read_status(run_dir)
    runs.write_status(run_dir, "running", 0, 1, created=finished["created"])  # this process plays the trainer
    at = open_page(ws)
    assert not at.exception, at.exception
    assert "gan-generate" not in [b.key for b in at.button]
    assert any("Stop the run" in str(c.value) for c in at.caption)

    # The run ends after the page was drawn and before its live part redraws: the page's own
    # read still says running, the live part's says finished. The live part must redraw the page.
    runs.write_json_atomic(run_dir / runs.STATUS, finished)
    read_status, stale_reads = runs.read_status, []

    def drawn_while_running(path):
        status = read_status(path)
        if not stale_reads and sys._getframe(1).f_code.co_name == "<module>":  # the page's top-level read
            stale_reads.append(path)
            return {**status, "state": "running", "pid": os.getpid()}
        return status

    monkeypatch.setattr(runs, "read_status", drawn_while_running)
    at = at.run()
    assert not at.exception, at.exception
    assert stale_reads == [run_dir]
    assert at.button(key="gan-generate") is not None
