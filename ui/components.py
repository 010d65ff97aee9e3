"""Widgets used by more than one page: header, case viewer, case gallery."""

from __future__ import annotations

import streamlit as st

from gan_eval.backbones import describe_backbone
from gan_eval.cases import SEQUENCE_LABELS, SEQUENCES, Case
from gan_eval.figures import case_figure
from gan_eval.render import percentile_window, thumbnail_png

from . import state


def header() -> None:
    ws = state.workspace()
    left, right = st.columns([3, 2])
    left.markdown("### gan_eval · GAN evaluation for MTM-HCC liver MRI")
    right.caption(f"Workspace **{ws.root.name}** · backbone **{ws.backbone}** · seed {ws.seed}  \n"
                  f"{describe_backbone(ws.backbone)}")


def window_controls(case: Case, key: str) -> list[tuple[float, float]]:
    """Percentile window controls, shared by the three sequences or set per sequence."""
    cols = st.columns([1, 2])
    per_sequence = cols[0].toggle("Per-sequence window", key=f"{key}-per-seq")
    if not per_sequence:
        low, high = cols[1].slider("Display percentiles", 0.0, 100.0, (0.5, 99.5), 0.5, key=f"{key}-pct")
        return [percentile_window(im, low, high) for im in case.images]
    windows = []
    sliders = st.columns(3)
    for i, seq in enumerate(SEQUENCES):
        low, high = sliders[i].slider(SEQUENCE_LABELS[seq], 0.0, 100.0, (0.5, 99.5), 0.5, key=f"{key}-pct-{seq}")
        windows.append(percentile_window(case.images[i], low, high))
    return windows


def case_viewer(case: Case, key: str, title: str = "", mask_toggle: bool = True) -> None:
    """Three sequences side by side with window controls, linked zoom (drag to zoom, double-click to reset)
    and an optional lesion outline."""
    windows = window_controls(case, key)
    show_mask = mask_toggle and case.masks is not None and st.toggle("Lesion mask outline", key=f"{key}-mask")
    st.plotly_chart(case_figure(case, windows, show_mask, title), key=f"{key}-fig",
                    config={"displaylogo": False, "scrollZoom": True})


def gallery(cases: list[tuple[str, Case]], columns: int = 2) -> None:
    """A grid of three-sequence thumbnails with captions."""
    cols = st.columns(columns)
    for i, (caption, case) in enumerate(cases):
        cols[i % columns].image(thumbnail_png(case, height=120), caption=caption)
