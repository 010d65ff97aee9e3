"""Which workspace is open, its background jobs, and its (cached) evaluation.

Pages call ``workspace()`` and ``evaluation()``; everything heavy runs in a background job so a
page never blocks, and every result comes from the library's on-disk caches.
"""

from __future__ import annotations

import json

from pathlib import Path

import streamlit as st

from gan_eval.evaluation import embed_set, evaluate_workspace
from gan_eval.jobs import JobBoard
from gan_eval.workspace import Workspace, default_home, open_demo_workspace

DEMO_ROOT = default_home() / "demo"


@st.cache_resource
def job_board() -> JobBoard:
    return JobBoard()


@st.cache_resource
def _open(root: str) -> Workspace:
    return Workspace(root)


def workspace_root() -> Path:
    return Path(st.session_state.get("workspace_root", str(DEMO_ROOT)))


def workspace() -> Workspace:
    return _open(str(workspace_root()))


def is_demo(ws: Workspace) -> bool:
    return ws.root.resolve() == DEMO_ROOT.resolve()


def _settings_key(ws: Workspace) -> str:
    return json.dumps(ws.settings, sort_keys=True)


@st.cache_resource
def _results() -> dict:
    """Finished evaluations by (workspace root, settings), shared by all sessions."""
    return {}


def start_evaluation(ws: Workspace):
    """Start (or join) the background job that builds the demo if needed, embeds and scores."""
    key = (str(ws.root), _settings_key(ws))

    def work(report):
        current = open_demo_workspace(ws.root, progress=report) if is_demo(ws) else ws
        result = evaluate_workspace(current, progress=report)
        _results()[(str(ws.root), _settings_key(current))] = result
        return result

    return job_board().start(f"evaluate:{key}", "evaluation", work)


def evaluation(ws: Workspace) -> dict | None:
    """The workspace's scores, or None while they are being computed (a progress panel is shown)."""
    result = _results().get((str(ws.root), _settings_key(ws)))
    if result is not None:
        return result
    if not is_demo(ws) and (ws.real is None or not ws.submissions):
        st.info("This workspace needs a real set and at least one submission. Add them on the **Workspace** page.")
        return None
    job = start_evaluation(ws)
    job.wait(timeout=5.0)  # a warm evaluation (everything cached) finishes within this: no flicker
    if not job.status.running and job.status.error is None:
        return job.result
    _progress_panel(job)
    return None


@st.fragment(run_every=1.0)
def _progress_panel(job) -> None:
    status = job.status
    if status.error:
        st.error(f"The evaluation failed: {status.error}. Check the archives on the Workspace page, then reload.")
        return
    if not status.running:
        st.rerun(scope="app")
    st.info("Computing embeddings and scores in the background. You can browse other pages meanwhile; "
            "nothing already computed is lost if the app restarts.")
    st.progress(status.fraction, text=status.describe())


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




def leaderboard(ws: Workspace) -> dict | None:
    """The evaluation with the reader study's qualitative and final scores folded in, once reading
    is closed (while it is open, team results stay blinded)."""
    from gan_eval.reader_study import ReaderStudy
    from gan_eval.scoring import add_qualitative

    result = evaluation(ws)
    if result is None:
        return None
    study = ReaderStudy(ws.reader_db)
    qualitative = study.qualitative_scores() if study.is_closed() else {}
    return add_qualitative(result, qualitative) if qualitative else result


@st.cache_resource
def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def add_gan_submission(ws: Workspace, run_dir: Path, name: str):
    """Export 1000 cases from a run's EMA generator and register them as a submission; scoring follows."""
    from gan_eval.gan.export import generate

    incoming = ws.root / "incoming"
    incoming.mkdir(exist_ok=True)
    archive = generate(run_dir, 1000, incoming / f"{name}.zip", seed=ws.seed)
    added = ws.add_archive(name, archive, filename=f"{name}.zip", move=True)
    start_evaluation(ws)
    return added
