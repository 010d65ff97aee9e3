"""Workspace & upload: open or create a workspace, choose the backbone, add and remove case sets."""

import pandas as pd
import streamlit as st

from gan_eval.archives import UPLOAD_SUFFIXES, ArchiveError
from gan_eval.features.registry import BACKBONES
from gan_eval.features.weights import InvalidWeightsError, WeightsNotFoundError, check_weights_file, resolve_weights
from gan_eval.store import DiskFullError
from gan_eval.workspace import service
from ui import auth, components, state

st.subheader("Workspace & upload")

# -- which workspace -----------------------------------------------------------------------------
existing = service.list_workspaces()
col_open, col_new = st.columns(2)
with col_open:
    current = state.workspace_root().name
    choice = st.selectbox("Open workspace", existing or [current],
                          index=(existing.index(current) if current in existing else 0), key="ws-choice")
    if choice != current and st.button("Open", key="ws-open"):
        state.open_workspace(service.workspace_path(choice))
        st.rerun()
with col_new:
    new_name = st.text_input("New workspace name", key="ws-new-name", placeholder="e.g. sfr2021")
    if st.button("Create", key="ws-create", disabled=not new_name.strip()):
        try:
            state.open_workspace(service.workspace_path(new_name))
            st.rerun()
        except ValueError as exc:
            st.error(components.text(exc))

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
        if weights:  # a path typed here is judged by its content only, and the answer names no file
            check_weights_file(backbone, weights)
            st.success("Valid weights file.")
        else:
            st.success(f"Weights found: `{resolve_weights(backbone, allow_download=False)}`")
        usable = True
    except (WeightsNotFoundError, InvalidWeightsError) as exc:
        st.warning(str(exc))
        usable = False
    if st.button("Use this backbone", disabled=not usable or (backbone == ws.backbone and (weights or None) == ws.weights)):
        ws.set_backbone(backbone, weights or None)
        st.rerun()

# -- upload --------------------------------------------------------------------------------------
OUTCOMES = "upload-outcomes"  # what the last uploads gave, kept until dismissed (scoring reruns the page)

def add_upload(team: str | None, upload, replace: bool) -> None:
    """Store the upload in the workspace, validate it and register it; keep the outcome to show."""
    try:
        with st.spinner(f"Validating {components.text(upload.name)} (every case is read once)…"):
            entry, report = service.add_upload(ws, team, upload, upload.name, replace=replace, actor=auth.actor(ws))
    except (ArchiveError, ValueError, DiskFullError) as exc:
        message = (f"**{components.text(upload.name)}** was not added: {components.text(exc)}. "
                   "Nothing in the workspace was changed.")
        st.session_state[OUTCOMES].append({"error": message})
        return
    label = "real set" if team is None else f"submission **{components.text(entry.name)}**"
    st.session_state[OUTCOMES].append({"success": f"{components.text(upload.name)}: added as {label} with "
                                                  f"{entry.n_accepted} cases.", "report": report.to_json()})

def show_report(report: dict) -> None:
    st.caption(f"{report['accepted']} cases accepted, {len(report['rejected'])} rejected.")
    if report["rejected"]:
        st.dataframe(pd.DataFrame(report["rejected"]), width="stretch", hide_index=True)
    if report.get("notes"):  # accepted cases worth a look, such as masks for some sequences only
        st.caption(f"Notes on {len(report['notes'])} accepted cases:")
        st.dataframe(pd.DataFrame(report["notes"]), width="stretch", hide_index=True)
    for error in report.get("errors", []):
        st.warning(components.text(error))

st.markdown("#### Add case archives")
st.caption("`.zip`, `.tar`, `.tar.gz` or `.npz`/`.npy`: one `.npz` per case (keys `t1_arterial`, `t1_portal`, `t2`, "
           "optional `mask_*`) or one folder per case with one image per sequence (`.npy`, `.png`, `.nii(.gz)`, "
           "`.dcm`). Up to 2 GB per file. Every case is validated before anything is scored.")
st.session_state.setdefault(OUTCOMES, [])
real_col, sub_col = st.columns(2)
with real_col, st.form("upload-real", clear_on_submit=True):
    real_upload = st.file_uploader("Real cases", type=list(UPLOAD_SUFFIXES), key="up-real")
    replace_real = ws.real is not None and st.checkbox("Replace the current real set", key="up-real-replace")
    if st.form_submit_button("Validate and set as real set") and real_upload is not None:
        st.session_state[OUTCOMES] = []
        add_upload(None, real_upload, replace_real)
with sub_col, st.form("upload-subs", clear_on_submit=True):
    uploads = st.file_uploader("Submissions (one archive per team; several at once)", type=list(UPLOAD_SUFFIXES),
                               accept_multiple_files=True, key="up-subs")
    teams = st.text_input("Team names, comma-separated in upload order (default: file names)", key="up-teams")
    replace_subs = st.checkbox("Replace submissions that have the same team name", key="up-subs-replace")
    if st.form_submit_button("Validate and add submissions") and uploads:
        st.session_state[OUTCOMES] = []
        names = [t.strip() for t in teams.split(",") if t.strip()] if teams.strip() else []
        for i, upload in enumerate(uploads):
            add_upload(names[i] if i < len(names) else service.team_name_from_filename(upload.name), upload,
                       replace_subs)

for outcome in st.session_state[OUTCOMES]:
    if "error" in outcome:
        st.error(outcome["error"])
    else:
        st.success(outcome["success"])
        show_report(outcome["report"])
if st.session_state[OUTCOMES] and st.button("Dismiss", key="up-dismiss"):
    st.session_state[OUTCOMES] = []
    st.rerun()

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
                service.remove_submission(ws, doomed, actor=auth.actor(ws))
                st.rerun()
    # One overall bar across every set while scoring runs (with time left); never a provisional table here.
    if components.evaluation(ws, provisional=False) is not None:
        st.success("Embeddings and scores are up to date: see the Leaderboard.")
