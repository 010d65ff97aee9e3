"""Widgets used by more than one page: header, the evaluation's progress, case viewer, galleries,
leaderboard tables, and safe text for anything that came from an upload."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import streamlit as st

from gan_eval.access import Role
from gan_eval.cases import SEQUENCE_LABELS, SEQUENCES, Case
from gan_eval.features.registry import describe_backbone
from gan_eval.figures import case_figure
from gan_eval.render import MANUAL, WINDOW_PRESETS, intensity_range, percentile_window, preset_window, thumbnail_png
from gan_eval.workspace import service
from gan_eval.workspace import explore

from . import state


def header(role: Role) -> None:
    """One line: the app, the workspace, the backbone (described in its tooltip) and the seed; and
    the access mode."""
    ws = state.workspace()
    if role in (Role.DEMO, Role.ORGANISER):
        st.caption(f"**gan_eval** · GAN evaluation for MTM-HCC liver MRI · workspace **{text(ws.root.name)}** · "
                   f"backbone **{ws.backbone}** · seed {ws.seed}", help=describe_backbone(ws.backbone))
    else:
        st.caption("**gan_eval** · GAN evaluation for MTM-HCC liver MRI")
    if role is Role.DEMO:
        st.caption(":material/lock_open: Demo mode: no access control. Anyone reaching this server may change "
                   "the workspace. Configure an organiser secret to run a jury (README, Running a challenge).")
    elif role is Role.ORGANISER:
        if st.sidebar.button("Sign out", key="sign-out"):
            from . import auth

            auth.sign_out()
            st.rerun()


# Less white space around the pages than Streamlit's default, so that a 1024 x 768 projector shows
# the images and the challenge table above the fold (the content is the same at every size).
_COMPACT_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding: 3.4rem 1.25rem 2rem 1.25rem; }
[data-testid="stSidebarNavItems"] { padding-top: 0.5rem; }
[class*="st-key-script-"] { display: none; }
</style>"""


def compact_layout() -> None:
    st.html(_COMPACT_CSS)


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


def evaluation(ws, provisional: bool = True) -> dict | None:
    """The workspace's scores, or None while none exist yet (a progress panel is shown).

    While sets are still being built or embedded, the scores of those done so far are returned
    with a banner saying they are provisional (``provisional=False``: wait for all of them)."""
    result = state.finished_evaluation(ws)
    if result is not None:
        return result
    missing = explore.missing_for_scoring(ws)
    if missing:
        st.info(missing)
        return None
    job = state.evaluation_job(ws)
    result = state.finished_evaluation(ws)
    if result is not None:
        return result
    current = state.scores(ws)
    _progress_panel(ws, job, None if current is None else id(current))
    if current is not None and provisional and not job.status.error:
        if current.pending:
            st.warning(f"**Provisional scores**: {len(current.result['submissions'])} submission(s) scored so far; "
                       f"still coming: {', '.join(text(n) for n in current.pending)}. FID_max, FID scores and "
                       "ranks are over the submissions shown and will change when all are in.")
        else:
            spaces = current.pending_spaces
            st.info(f"**Every submission is scored** in {text(current.result['backbone'])}; still being computed: "
                    f"the {' and '.join(text(n) for n in spaces)} feature space{'s' if len(spaces) > 1 else ''}, "
                    "for FRD and the agreement of the ranks between feature spaces. The numbers shown will not change.")
        return current.result
    return None


def leaderboard(ws) -> dict | None:
    """The evaluation with the reader study folded in once reading is closed."""
    result = evaluation(ws)
    return None if result is None else service.leaderboard(ws, result)


@st.fragment(run_every=1.0)
def _progress_panel(ws, job, shown) -> None:
    """One overall bar across every set, with time left; reruns the page when new scores exist."""
    status = job.status
    if status.error:
        st.error(f"The evaluation failed: {text(status.error)}. Check the archives on the Workspace page, then reload.")
        return
    current = state.scores(ws)
    if not status.running or (current is not None and id(current) != shown):
        st.rerun(scope="app")
    tracker = state.overall_progress(ws)
    st.progress(tracker.fraction if tracker else 0.0,
                text="Scoring in the background — " + (text(tracker.describe()) if tracker else "starting"))


def failed_submissions(result: dict) -> None:
    """One error per submission that could not be scored; the others are scored as usual."""
    for name, reason in result.get("failed", {}).items():
        st.error(f"Submission {text(name)} could not be scored: {text(reason)}")


@dataclass(frozen=True)
class Display:
    """How cases are shown: a window per sequence (a preset name, or a manual level and width),
    and whether the lesion is outlined."""

    presets: tuple[str, str, str]
    manual: tuple[tuple[float, float] | None, ...]
    show_mask: bool

    def windows(self, case: Case) -> list[tuple[float, float]]:
        return [manual if preset == MANUAL and manual is not None else
                preset_window(image, preset if preset in WINDOW_PRESETS else next(iter(WINDOW_PRESETS)))
                for image, preset, manual in zip(case.images, self.presets, self.manual)]


_PRESETS = [*WINDOW_PRESETS, MANUAL]


def display_controls(key: str, case: Case, container=None) -> Display:
    """Window/level in a pop-over: one preset for the three sequences or one per sequence, and a
    manual level and width (in the images' own units) for any of them."""
    container = container or st
    with container.popover("Window", icon=":material/contrast:", width="stretch",
                           help="Window/level presets, per sequence or manual"):
        per_sequence = st.toggle("Per-sequence window", key=f"{key}-per-seq")
        names = SEQUENCES if per_sequence else SEQUENCES[:1]
        presets, manual = [], []
        for seq in names:
            label = SEQUENCE_LABELS[seq] if per_sequence else "Preset (all three sequences)"
            preset = st.selectbox(label, _PRESETS, key=f"{key}-preset-{seq if per_sequence else 'all'}")
            presets.append(preset)
            manual.append(None)
        if not per_sequence:
            presets, manual = presets * 3, manual * 3
        for i, seq in enumerate(SEQUENCES):
            if presets[i] != MANUAL or (not per_sequence and i):
                continue
            lo, hi = intensity_range(case.images[i])
            level0, width0 = percentile_window(case.images[i])
            cols = st.columns(2)
            what = SEQUENCE_LABELS[seq] if per_sequence else "all"
            level = cols[0].number_input(f"Level ({what})", value=round(level0, 1), key=f"{key}-level-{seq}",
                                         help=f"Window centre; the image spans {lo:g}–{hi:g}")
            width = cols[1].number_input(f"Width ({what})", value=round(width0, 1), min_value=1e-6,
                                         key=f"{key}-width-{seq}")
            manual[i] = (float(level), float(width))
        if not per_sequence:
            manual = [manual[0]] * 3
        st.caption("Presets are percentiles of each image (MRI has no fixed intensity scale). "
                   "Hover a pixel for its value; drag a box or turn the wheel to zoom, shift-drag to pan "
                   "(kept for the next case), double-click to reset.")
    return Display(tuple(presets), tuple(manual), False)


def with_mask(display: Display, show: bool) -> Display:
    return replace(display, show_mask=show)


def case_plot(case: Case, display: Display, key: str, title: str = "", height: int = 320,
              zoom_key: str | None = None) -> None:
    """Three sequences side by side with linked zoom and pan (box, wheel, shift-drag). The zoom
    stays from one case to the next, and cases shown with the same ``zoom_key`` share it
    (``linked_zoom``); a double-click resets it."""
    st.plotly_chart(case_figure(case, display.windows(case), display.show_mask and case.masks is not None, title,
                                uirevision=key, height=height, zoom_group=zoom_key or key),
                    key=f"{key}-fig", config={"displaylogo": False, "scrollZoom": True})


# Scripts that run in the page and draw nothing (see each file). Their elements are hidden by
# _COMPACT_CSS through the "script-" prefix of their keys.
_LINKED_ZOOM = st.components.v2.component("gan_eval_linked_zoom",
                                         js=(Path(__file__).parent / "linked_zoom.js").read_text())
_HOVER_PREVIEW = st.components.v2.component("gan_eval_hover_preview",
                                           js=(Path(__file__).parent / "hover_preview.js").read_text())
HOVER_DELAY_MS = 250  # the pointer rests this long on a point before its preview is asked for


def linked_zoom() -> None:
    """Mount the viewers' linked-zoom script once per run: plotly keeps no zoom across a changed
    figure, and reports wheel zoom and pan only in the page."""
    _LINKED_ZOOM(key="script-linked-zoom", height=0)


def hovered_point(chart_key: str, key: str) -> tuple[str, str] | None:
    """The (set, case id) of the last point of the chart keyed ``chart_key`` that the pointer
    rested on, or None. Call it inside a fragment: a new point reruns only that fragment. The
    pair comes from the browser: check it names a case before using it."""
    shown = st.session_state.get(key)

    def remember() -> None:
        hovered = st.session_state[f"script-{key}"].get("hovered")
        if isinstance(hovered, list) and len(hovered) == 2 and all(isinstance(v, str) for v in hovered):
            st.session_state[key] = (hovered[0], hovered[1])

    _HOVER_PREVIEW(key=f"script-{key}", height=0, on_hovered_change=remember,
                   data={"chart_class": f"st-key-{chart_key}", "delay_ms": HOVER_DELAY_MS,
                         "shown": "\u0000".join(shown) if shown else None})
    return st.session_state.get(key)


def case_viewer(case: Case, key: str, title: str = "", mask_toggle: bool = True, height: int = 320) -> Display:
    """Window/level and lesion-outline controls on one line, then the case; returns the settings
    so that a second case can be shown alike."""
    cols = st.columns([1, 1], vertical_alignment="center")
    display = display_controls(key, case, cols[0])
    if mask_toggle:
        display = replace(display, show_mask=cols[1].toggle("Lesion outline", key=f"{key}-mask"))
    case_plot(case, display, key, title, height)
    return display


def thumbnail(case: Case, height: int = 90) -> bytes:
    return thumbnail_png(case, height=height)


@st.fragment(run_every=2.0)
def wait_for_map(job, label: str) -> None:
    """Say that a map is being computed in the background; rerun the page once it is stored."""
    if job.status.error:
        st.error(f"The {label} map could not be computed: {text(job.status.error)}")
        return
    if not job.status.running:
        st.rerun(scope="app")
    st.info(f"The {label} map is being computed in the background ({text(job.status.describe())}); "
            "PCA is shown meanwhile and the page switches by itself when it is ready.")


def gallery(cases: list[tuple[str, Case]], columns: int = 2) -> None:
    """A grid of three-sequence thumbnails with captions."""
    cols = st.columns(columns)
    for i, (caption, case) in enumerate(cases):
        cols[i % columns].image(thumbnail_png(case, height=120), caption=caption)


def clickable_gallery(cases: list[tuple[str, str, Case]], key: str, columns: int = 4) -> tuple[str, str] | None:
    """A grid of thumbnails, each with an Open button; returns the (set, case id) whose button was pressed."""
    cols = st.columns(columns)
    opened = None
    for i, (set_name, case_id, case) in enumerate(cases):
        with cols[i % columns]:
            st.image(thumbnail_png(case, height=90), width="stretch")
            if st.button(f"{text(set_name)} / {text(case_id)}", key=f"{key}-{i}", icon=":material/open_in_new:",
                         width="stretch", help="Open in the case viewer"):
                opened = (set_name, case_id)
    return opened


def table(frame, columns: list[str], key: str | None = None, labels: dict[str, str] | None = None) -> None:
    """A leaderboard table: each column formatted by the metric registry (fixed decimals,
    percentages, "—" where missing) over the raw numbers, which sorting and the tests read;
    tall enough that no row hides under a scroll bar."""
    shown = frame[columns]
    styled = shown.style.format({c: (lambda v, c=c: explore.formatted(c, v)) for c in columns})
    config = column_config(columns) | {"_index": st.column_config.TextColumn("Team", width=110)}
    for column, label in (labels or {}).items():
        if column in config:
            config[column]["label"] = label
    st.dataframe(styled, width="stretch", key=key, column_config=config, height=38 + 35 * len(shown))


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
        else:  # the text itself comes from ``table``'s formatting
            config[column] = st.column_config.NumberColumn(label, help=o.help or None, width=72)
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
