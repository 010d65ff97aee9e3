"""Widgets used by more than one page: header, the evaluation's progress, case viewer, gallery,
and safe text for anything that came from an upload."""

from __future__ import annotations

import re
from dataclasses import dataclass

import streamlit as st

from gan_eval.access import Role
from gan_eval.cases import SEQUENCE_LABELS, SEQUENCES, Case
from gan_eval.features.registry import describe_backbone
from gan_eval.figures import case_figure
from gan_eval.render import percentile_window, thumbnail_png
from gan_eval.workspace import service

from . import state


def header(role: Role) -> None:
    """The title, what is being judged with what, and the access mode."""
    ws = state.workspace()
    st.markdown("### gan_eval · GAN evaluation for MTM-HCC liver MRI")
    if role in (Role.DEMO, Role.ORGANISER):
        st.caption(f"Workspace **{text(ws.root.name)}** · backbone **{ws.backbone}** · seed {ws.seed} · "
                   f"{describe_backbone(ws.backbone)}")
    if role is Role.DEMO:
        st.caption(":material/lock_open: Demo mode: no access control. Anyone reaching this server may change "
                   "the workspace. Configure an organiser secret to run a jury (README, Running a challenge).")
    elif role is Role.ORGANISER:
        if st.sidebar.button("Sign out", key="sign-out"):
            from . import auth

            auth.sign_out()
            st.rerun()


# Characters that Markdown (with Streamlit's extensions: :emoji: and :colour[...] directives, $math$)
# may read inside a line. An underscore inside a word ("case_0001") is never emphasis in CommonMark,
# and "-", ".", "+", "=" only mean something at the start of a line, which ``text`` never leaves.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*{}\[\]()#!|<>~$:&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def text(value: object) -> str:
    """``value`` as literal text inside Markdown: punctuation escaped and URL schemes broken with
    a zero-width space, so that no link, image or formatting can come from an upload's file name,
    entry name, case id or team name."""
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(value).split()))
    return re.sub(r"(?i)(www|https?|ftp|mailto|data|javascript)", "\\1\u200b", escaped)


def evaluation(ws) -> dict | None:
    """The workspace's scores, or None while they are being computed (a progress panel is shown)."""
    result = state.finished_evaluation(ws)
    if result is not None:
        return result
    if not service.can_evaluate(ws):
        st.info("This workspace needs a real set and at least one submission. Add them on the **Workspace** page.")
        return None
    job = state.evaluation_job(ws)
    if not job.status.running and job.status.error is None:
        return job.result
    _progress_panel(job)
    return None


def leaderboard(ws) -> dict | None:
    """The evaluation with the reader study folded in once reading is closed."""
    result = evaluation(ws)
    return None if result is None else service.leaderboard(ws, result)


@st.fragment(run_every=1.0)
def _progress_panel(job) -> None:
    status = job.status
    if status.error:
        st.error(f"The evaluation failed: {text(status.error)}. Check the archives on the Workspace page, then reload.")
        return
    if not status.running:
        st.rerun(scope="app")
    st.info("Computing embeddings and scores in the background. You can browse other pages meanwhile; "
            "nothing already computed is lost if the app restarts.")
    st.progress(status.fraction, text=text(status.describe()))


def failed_submissions(result: dict) -> None:
    """One error per submission that could not be scored; the others are scored as usual."""
    for name, reason in result.get("failed", {}).items():
        st.error(f"Submission {text(name)} could not be scored: {text(reason)}")


@dataclass(frozen=True)
class Display:
    """How cases are shown: display percentiles per sequence, and whether the lesion is outlined."""

    percentiles: tuple[tuple[float, float], ...]
    show_mask: bool

    def windows(self, case: Case) -> list[tuple[float, float]]:
        return [percentile_window(image, low, high) for image, (low, high) in zip(case.images, self.percentiles)]


def display_controls(key: str, mask_toggle: bool = True) -> Display:
    """Percentile window (shared by the three sequences or per sequence) and the mask toggle."""
    cols = st.columns([1, 1, 3], vertical_alignment="bottom")
    per_sequence = cols[0].toggle("Per-sequence window", key=f"{key}-per-seq")
    show_mask = mask_toggle and cols[1].toggle("Lesion outline", key=f"{key}-mask")
    if not per_sequence:
        shared = cols[2].slider("Display percentiles", 0.0, 100.0, (0.5, 99.5), 0.5, key=f"{key}-pct")
        return Display((shared,) * 3, show_mask)
    sliders = st.columns(3)
    return Display(tuple(sliders[i].slider(SEQUENCE_LABELS[seq], 0.0, 100.0, (0.5, 99.5), 0.5, key=f"{key}-pct-{seq}")
                         for i, seq in enumerate(SEQUENCES)), show_mask)


def case_plot(case: Case, display: Display, key: str, title: str = "") -> None:
    """Three sequences side by side with linked zoom (drag to zoom, double-click to reset)."""
    st.plotly_chart(case_figure(case, display.windows(case), display.show_mask and case.masks is not None, title),
                    key=f"{key}-fig", config={"displaylogo": False, "scrollZoom": True})


def case_viewer(case: Case, key: str, title: str = "", mask_toggle: bool = True) -> Display:
    """Display controls and the case; returns the settings so a second case can be shown alike."""
    display = display_controls(key, mask_toggle)
    case_plot(case, display, key, title)
    return display


def gallery(cases: list[tuple[str, Case]], columns: int = 2) -> None:
    """A grid of three-sequence thumbnails with captions."""
    cols = st.columns(columns)
    for i, (caption, case) in enumerate(cases):
        cols[i % columns].image(thumbnail_png(case, height=120), caption=caption)


def column_config(columns: list[str]) -> dict:
    """Streamlit column settings for leaderboard columns, from the metric registry: label, help,
    decimals, fractions as percentages, yes/no outputs as check boxes."""
    from gan_eval.metrics import registry

    config = {}
    for column in columns:
        o = registry.column_output(column)
        label = o.label + {"_low": " low", "_high": " high"}.get(column[column.rfind("_"):], "")
        if o.unit == "yes/no":
            config[column] = st.column_config.CheckboxColumn(label, help=o.help or None)
        else:
            fmt = "percent" if o.unit == "%" else f"%.{o.decimals}f"
            config[column] = st.column_config.NumberColumn(label, help=o.help or None, format=fmt)
    return config


def leaderboard_columns(table) -> list[str]:
    """The registry's table columns that ``table`` has a value for in some row, in the registry's
    order (so the reader study's columns appear once it is closed, a reference flag once there is
    a reference set, the consistency once it was computed)."""
    from gan_eval.metrics import registry

    return [c for c in registry.table_columns() if c in table and table[c].notna().any()]


def publication(ws, result: dict) -> None:
    """The organiser's publish control and the state of the official results (published or draft)."""
    from gan_eval import publish

    from . import auth

    try:
        state_now = publish.current_state(ws, result)
    except publish.SnapshotError as exc:
        st.error(text(exc))
        return
    if state_now == "published":
        st.success(f"These are the published results (snapshot `{publish.latest(ws, with_assets=False).digest[:16]}`).")
        return
    st.warning("Draft: these results are not published." + (" The published ones differ." if
                                                              service.is_published(ws) else ""))
    if st.button("Publish these results", key="publish"):
        try:
            snapshot = publish.publish(ws, result)
        except publish.PublishError as exc:
            st.error(text(exc))
        else:
            from gan_eval.access import AuditLog

            AuditLog(ws.audit_log).append(auth.actor(ws), "publish", digest=snapshot.digest)
            st.rerun()
