"""Streamlit glue: which workspace a session has open, caches shared by sessions, background jobs.

Nothing here computes: the use cases are ``gan_eval.workspace.service``; this module only keeps
their results in Streamlit's caches and the session's choices in typed accessors. Drawing lives
in ``ui.components``.
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from gan_eval.evaluation import embed_set
from gan_eval.jobs import Job, JobBoard
from gan_eval.metrics import registry
from gan_eval.workspace import Workspace, demo_root
from gan_eval.workspace import service


@st.cache_resource
def job_board() -> JobBoard:
    return JobBoard()


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
    """What a finished evaluation depends on besides the sets: the settings and the metrics."""
    return json.dumps([ws.settings, registry.version()], sort_keys=True)


@st.cache_resource
def _results() -> dict:
    """Finished evaluations by (workspace root, settings), shared by all sessions."""
    return {}


def start_evaluation(ws: Workspace) -> Job:
    """Start (or join) the background job that builds the demo if needed, embeds and scores."""
    key = (str(ws.root), _settings_key(ws))

    def work(report):
        result = service.evaluate(ws, progress=report)
        _results()[(str(ws.root), _settings_key(ws))] = result
        return result

    return job_board().start(f"evaluate:{key}", "evaluation", work)


def finished_evaluation(ws: Workspace) -> dict | None:
    return _results().get((str(ws.root), _settings_key(ws)))


def evaluation_job(ws: Workspace, wait_s: float = 5.0) -> Job:
    """The evaluation job, given ``wait_s`` to finish (a warm evaluation does: no flicker)."""
    job = start_evaluation(ws)
    job.wait(timeout=wait_s)
    return job


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
    """All cases of one set (cached in memory: a 1000-case 128x128 set is ~100 MB)."""
    return _case_set(str(ws.root), name, ws.entry(name).sha256)


@st.cache_resource
def cuda_available() -> bool:
    return service.cuda_available()
