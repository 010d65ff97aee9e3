"""Widgets used by more than one page: header, case viewer, case gallery."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from gan_eval.features.registry import describe_backbone
from gan_eval.cases import SEQUENCE_LABELS, SEQUENCES, Case
from gan_eval.figures import case_figure
from gan_eval.render import percentile_window, thumbnail_png

from . import state


def header() -> None:
    ws = state.workspace()
    st.markdown("### gan_eval · GAN evaluation for MTM-HCC liver MRI")
    st.caption(f"Workspace **{ws.root.name}** · backbone **{ws.backbone}** · seed {ws.seed} · "
               f"{describe_backbone(ws.backbone)}")


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
