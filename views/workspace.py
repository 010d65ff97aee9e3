"""Workspace & upload: open or create a workspace, choose the backbone, add and remove case sets."""

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from gan_eval.archives import UPLOAD_SUFFIXES, ArchiveError
from gan_eval.backbones import BACKBONES, WeightsNotFoundError, resolve_weights
from gan_eval.workspace import REAL, default_home
from ui import state

st.subheader("Workspace & upload")

# -- which workspace -----------------------------------------------------------------------------
home = default_home()
existing = sorted(p.name for p in home.glob("*") if (p / "workspace.json").exists()) if home.exists() else []
col_open, col_new = st.columns(2)
with col_open:
    current = state.workspace_root().name
    choice = st.selectbox("Open workspace", existing or [current],
                          index=(existing.index(current) if current in existing else 0), key="ws-choice")
    if choice != current and st.button("Open", key="ws-open"):
        st.session_state["workspace_root"] = str(home / choice)
        st.rerun()
with col_new:
    new_name = st.text_input("New workspace name", key="ws-new-name", placeholder="e.g. sfr2021")
    if st.button("Create", key="ws-create", disabled=not new_name.strip()):
        if not new_name.replace("-", "").replace("_", "").isalnum():
            st.error("Use letters, digits, '-' and '_' only for a workspace name.")
        else:
            st.session_state["workspace_root"] = str(home / new_name.strip())
            st.rerun()

ws = state.workspace()
st.caption(f"Folder: `{ws.root}`")

# -- backbone ------------------------------------------------------------------------------------
with st.expander("Feature backbone", expanded=False):
    ids = list(BACKBONES)
    backbone = st.selectbox("Backbone", ids, index=ids.index(ws.backbone), key="ws-backbone",
                            format_func=lambda b: f"{b} — {BACKBONES[b].description}")
    weights = st.text_input("Weights file (optional; otherwise the standard locations are searched)",
                            value=ws.weights or "", key="ws-weights")
    try:
        found = resolve_weights(backbone, weights or None, allow_download=False)
        st.success(f"Weights found: `{found}`")
        usable = True
    except WeightsNotFoundError as exc:
        st.warning(str(exc))
        usable = False
    if st.button("Use this backbone", disabled=not usable or (backbone == ws.backbone and (weights or None) == ws.weights)):
        ws.set_backbone(backbone, weights or None)
        st.rerun()


# -- upload --------------------------------------------------------------------------------------
def add_upload(name: str, upload) -> None:
    """Store the upload in the workspace, validate it and register it; show the report."""
    incoming = ws.root / "incoming"
    incoming.mkdir(exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=incoming, delete=False, suffix=".upload") as tmp:
        shutil.copyfileobj(upload, tmp)
    try:
        entry, report = ws.add_archive(name, tmp.name, filename=upload.name, move=True)
    except (ArchiveError, ValueError) as exc:
        st.error(f"**{upload.name}** was not added: {exc}. Nothing in the workspace was changed.")
        return
    finally:
        Path(tmp.name).unlink(missing_ok=True)
    label = "real set" if name == REAL else f"submission **{name}**"
    st.success(f"{upload.name}: added as {label} with {entry.n_accepted} cases.")
    show_report(report.to_json())


def show_report(report: dict) -> None:
    st.caption(f"{report['accepted']} cases accepted, {len(report['rejected'])} rejected.")
    if report["rejected"]:
        st.dataframe(pd.DataFrame(report["rejected"]), width="stretch", hide_index=True)
    if report.get("notes"):  # accepted cases worth a look, such as masks for some sequences only
        st.caption(f"Notes on {len(report['notes'])} accepted cases:")
        st.dataframe(pd.DataFrame(report["notes"]), width="stretch", hide_index=True)
    for error in report.get("errors", []):
        st.warning(error)


st.markdown("#### Add case archives")
st.caption("`.zip`, `.tar`, `.tar.gz` or `.npz`/`.npy`: one `.npz` per case (keys `t1_arterial`, `t1_portal`, `t2`, "
           "optional `mask_*`) or one folder per case with one image per sequence (`.npy`, `.png`, `.nii(.gz)`, "
           "`.dcm`). Up to 2 GB per file. Every case is validated before anything is scored.")
real_col, sub_col = st.columns(2)
with real_col, st.form("upload-real", clear_on_submit=True):
    real_upload = st.file_uploader("Real cases", type=list(UPLOAD_SUFFIXES), key="up-real")
    if st.form_submit_button("Validate and set as real set") and real_upload is not None:
        add_upload(REAL, real_upload)
with sub_col, st.form("upload-subs", clear_on_submit=True):
    uploads = st.file_uploader("Submissions (one archive per team; several at once)",
                               type=list(UPLOAD_SUFFIXES), accept_multiple_files=True,
                               key="up-subs")
    teams = st.text_input("Team names, comma-separated in upload order (default: file names)", key="up-teams")
    if st.form_submit_button("Validate and add submissions") and uploads:
        names = [t.strip() for t in teams.split(",") if t.strip()] if teams.strip() else []
        for i, upload in enumerate(uploads):
            add_upload(names[i] if i < len(names) else upload.name.split(".")[0], upload)

# -- registered sets -----------------------------------------------------------------------------
st.markdown("#### Case sets in this workspace")
entries = ([ws.real] if ws.real else []) + list(ws.submissions.values())
if not entries:
    st.info("No case sets yet. Upload a real set and at least one submission above.")
else:
    st.dataframe(pd.DataFrame([{"set": e.name, "file": e.filename, "accepted cases": e.n_accepted,
                                "rejected cases": e.n_rejected, "sha256": e.sha256[:12]} for e in entries]),
                 width="stretch", hide_index=True)
    names = [e.name for e in entries]
    col_report, col_remove = st.columns(2)
    with col_report:
        shown = st.selectbox("Validation report of", names, key="ws-report")
        show_report(ws.report(shown))
    with col_remove:
        if ws.submissions:
            doomed = st.selectbox("Remove submission", list(ws.submissions), key="ws-remove")
            sure = st.checkbox(f"Yes, remove {doomed} from this workspace", key="ws-remove-sure")
            if st.button(f"Remove {doomed}", key="ws-remove-btn", disabled=not sure):
                ws.remove_submission(doomed)
                st.rerun()
    if state.evaluation(ws) is not None:
        st.success("Embeddings and scores are up to date: see the Leaderboard.")
