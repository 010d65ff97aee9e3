"""Streamlit glue: which workspace a session has open, what sessions share, background jobs.

Nothing here computes: the use cases are ``gan_eval.workspace.service``; this module only keeps
their results where every session finds them, and the session's choices in typed accessors.
Drawing lives in ``ui.components``.

What the background jobs touch is plain Python (module-level objects, shared by the sessions of
this server process), never a Streamlit call: a Streamlit function called from a thread that is
not a script run logs "missing ScriptRunContext". The Streamlit caches below are only called
from script runs.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import streamlit as st

from gan_eval.evaluation import embed_set
from gan_eval.jobs import Job, JobBoard
from gan_eval.metrics import registry
from gan_eval.workspace import REAL, Workspace, demo_root
from gan_eval.workspace import service
from gan_eval.workspace import staged
from gan_eval.workspace import explore

_BOARD = JobBoard()
_LOCK = threading.Lock()
# Per workspace folder: the evaluation job with the settings key it started under; the latest
# scores with the key they are valid for; the overall progress of the running evaluation. One
# evaluation runs per folder at a time: the demo registers its sets while it is scored, which
# changes the key, and that must not start a second build.
_JOBS: dict[str, tuple[str, Job]] = {}
_SCORES: dict[str, tuple[str, staged.Scores]] = {}
_PROGRESS: dict[str, staged.OverallProgress] = {}


def job_board() -> JobBoard:
    return _BOARD


@st.cache_resource
def _open(root: str) -> Workspace:
    return Workspace(root)


def workspace_root() -> Path:
    """The session's workspace. In jury mode everyone but a signed-in organiser gets the one the
    organiser serves; the organiser's choice of workspace is what is served."""
    from . import auth

    if auth.jury_mode() and not st.session_state.get("organiser"):
        return service.served_workspace()
    return Path(st.session_state.get("workspace_root", str(service.served_workspace() if auth.jury_mode()
                                                          else demo_root())))


def open_workspace(root: Path) -> None:
    from . import auth

    st.session_state["workspace_root"] = str(root)
    if auth.jury_mode():
        service.set_served_workspace(root)


def workspace() -> Workspace:
    return _open(str(workspace_root()))


def _settings_key(ws: Workspace) -> str:
    """What a finished evaluation depends on besides the sets: the settings and the metrics
    (not the map colours, which the map page may add)."""
    settings = {k: v for k, v in ws.settings.items() if k != "colours"}
    return json.dumps([settings, registry.version()], sort_keys=True)


def start_evaluation(ws: Workspace) -> Job:
    """Start (or join) the background job that builds the demo if needed, embeds and scores,
    publishing provisional scores as sets come in, then computes the maps. A running job is
    joined whatever changed meanwhile; a finished one is rerun when the settings or sets changed."""
    root, key = str(ws.root), _settings_key(ws)
    with _LOCK:
        started = _JOBS.get(root)
        if started is not None and (started[1].status.running or started[0] == key):
            return started[1]

        def work(report):
            tracker = staged.OverallProgress(staged.evaluation_totals(ws), forward=report)
            _PROGRESS[root] = tracker

            def publish(scores: staged.Scores) -> None:
                done = {REAL, *scores.result["submissions"], *scores.result.get("failed", {})}
                # The final scores are valid for the workspace as it is now when they cover its sets
                # (the demo registered its own while being scored), else for the key it started under.
                valid = _settings_key(ws) if not scores.provisional and done == set(ws.set_names()) else key
                _SCORES[root] = (valid, scores)
                if not scores.provisional:
                    _JOBS[root] = (valid, _JOBS[root][1])

            result = staged.evaluate_in_steps(ws, progress=tracker, publish=publish)
            _start_maps(ws, result)
            return result

        job = _BOARD.start(f"evaluate:{root}:{key}", "evaluation", work)
        _JOBS[root] = (key, job)
        return job


def start_demo_at_launch() -> None:
    """The server-start hook (app.py): build, embed and score the demo workspace before anyone asks."""
    start_evaluation(Workspace(demo_root()))


def scores(ws: Workspace) -> staged.Scores | None:
    """The latest scores of ``ws``: provisional while its evaluation runs, final once done."""
    latest = _SCORES.get(str(ws.root))
    if latest is None:
        return None
    valid, current = latest
    return current if current.provisional or valid == _settings_key(ws) else None


def finished_evaluation(ws: Workspace) -> dict | None:
    current = scores(ws)
    return current.result if current is not None and not current.provisional else None


def overall_progress(ws: Workspace) -> staged.OverallProgress | None:
    return _PROGRESS.get(str(ws.root))


def evaluation_job(ws: Workspace, wait_s: float = 5.0) -> Job:
    """The evaluation job, given up to ``wait_s`` to finish when everything it needs is cached
    (no flicker on a warm workspace); it returns as soon as real work or a first row appears."""
    job = start_evaluation(ws)
    deadline = time.monotonic() + wait_s
    while job.status.running and time.monotonic() < deadline:
        tracker = overall_progress(ws)
        if scores(ws) is not None or (tracker is not None and tracker.computing):
            break
        job.wait(timeout=0.1)
    return job


def _start_maps(ws: Workspace, result: dict) -> Job:
    def work(report):
        explore.compute_workspace_maps(ws, result, progress=report)
    return _BOARD.start(f"maps:{ws.root}:{result['metrics_version']}:{sorted(result['submissions'])}", "maps", work)


def maps_job(ws: Workspace, result: dict) -> Job:
    """The job that computes every map of the workspace (started when scoring ends; started
    again here if this process has not run it, e.g. after a restart)."""
    return _start_maps(ws, result)


def embeddings(ws: Workspace, name: str):
    """The cached embedding set of one registered set (fast once the evaluation has run)."""
    return _embeddings(str(ws.root), name, ws.entry(name).sha256, ws.backbone, ws.weights)


@st.cache_resource(max_entries=32)
def _embeddings(root: str, name: str, sha: str, backbone: str, weights: str | None):
    return embed_set(_open(root), name)


@st.cache_resource(max_entries=8)
def _case_set(root: str, name: str, sha: str):
    return _open(root).case_set(name)


def case_set(ws: Workspace, name: str):
    """The cases of one set: read on demand from a standard archive (Workspace.case_set), so
    keeping 8 of them costs their open files and indexes, not their pixels."""
    return _case_set(str(ws.root), name, ws.entry(name).sha256)


@st.cache_resource
def cuda_available() -> bool:
    return service.cuda_available()
