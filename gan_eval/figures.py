"""Plotly figures shared by the app's pages (no Streamlit here, so they are testable)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .cases import SEQUENCE_LABELS, SEQUENCES, Case
from .palette import REFERENCE_COLOUR, TEAM_PALETTE
from .render import mask_outline

REAL_COLOUR = REFERENCE_COLOUR  # the real set: grey on every figure, a colour no team gets


def gauge(value: float | None, title: str, *, ideal: float | None = None, percent: bool = False,
          bands: list[tuple[float, float, str]] | None = None) -> go.Figure:
    """A 0..1 gauge (shown as 0..100% when ``percent``) with an optional marked ideal value."""
    scale = 100.0 if percent else 1.0
    indicator = go.Indicator(
        mode="gauge+number",
        value=None if value is None else value * scale,
        number={"suffix": "%" if percent else "", "valueformat": ".1f" if percent else ".3f"},
        title={"text": title, "font": {"size": 15}},
        gauge={
            "axis": {"range": [0, scale]},
            "bar": {"color": "#0f766e"},
            "steps": [{"range": [a * scale, b * scale], "color": c} for a, b, c in (bands or [])],
            "threshold": {"line": {"color": "#111827", "width": 4}, "thickness": 0.9, "value": ideal * scale}
            if ideal is not None else None,
        },
    )
    fig = go.Figure(indicator)
    fig.update_layout(height=220, margin=dict(l=35, r=35, t=50, b=10))  # room for the end tick labels
    return fig


def accuracy_gauge(accuracy: float) -> go.Figure:
    """1-NN leave-one-out accuracy: 50% (black mark) is ideal; ~100% separable; ~0% copies."""
    bands = [(0.0, 0.2, "#fecaca"), (0.2, 0.4, "#fef3c7"), (0.4, 0.6, "#d1fae5"), (0.6, 0.8, "#fef3c7"),
             (0.8, 1.0, "#fecaca")]
    return gauge(accuracy, "1-NN accuracy (ideal 50%)", ideal=0.5, percent=True, bands=bands)


def map_hover(set_name: str, case_id: str, detail: str = "") -> str:
    """A map point's hover text: set and case (escaped: plotly reads hover text as HTML), then ``detail``."""
    return f"<b>{html.escape(set_name)}</b> · {html.escape(case_id)}" + (f"<br>{detail}" if detail else "")


def embedding_map(coords: np.ndarray, set_names: list[str], case_ids: list[str], highlighted: np.ndarray,
                  method_label: str, colours: Mapping[str, str] | None = None, hover: list[str] | None = None,
                  selected: Iterable[int] = (), uirevision: str = "map") -> go.Figure:
    """Scatter of a 2D map, one trace per set; K-means-selected cases drawn large and outlined.

    Each point carries customdata [set name, case id, row] so a click or selection names the case.
    ``colours`` maps a set to its colour (the real set is grey); ``hover`` is each point's hover
    text (``map_hover``); ``selected`` rows are ringed, so a selection stays visible whatever
    plotly does with its own. Points outside a selection keep their look (no greying out), and
    ``uirevision`` keeps zoom and pan across reruns.

    The cluster-selected diamonds are an SVG trace drawn above the WebGL points: plotly picks the
    point under the pointer by distance to its centre, minus the marker's size for SVG markers
    only, so a diamond wins over the small points beneath it wherever it is drawn.
    """
    colours = dict(colours or {})
    names = list(dict.fromkeys(set_names))
    # The real set is drawn last (on top): it is the reference and would vanish under 5000 points.
    names = [n for n in names if n != "real"] + [n for n in names if n == "real"]
    spare = iter(TEAM_PALETTE * (1 + len(names) // len(TEAM_PALETTE)))
    colour = {n: REAL_COLOUR if n == "real" else colours.get(n) or next(spare) for n in names}
    set_arr = np.asarray(set_names, dtype=object)
    ids = np.asarray(case_ids, dtype=object)
    texts = np.asarray(hover if hover is not None else [map_hover(s, c) for s, c in zip(set_names, case_ids)],
                       dtype=object)
    rows = np.arange(len(set_names))
    fig = go.Figure()
    for diamonds in (False, True):  # every set's points first, then every set's diamonds on top
        for name in names:
            idx = np.flatnonzero((set_arr == name) & (np.asarray(highlighted) == diamonds))
            if idx.size == 0:
                continue
            opacity = 1.0 if diamonds else (0.9 if name == "real" else 0.55)
            marker = dict(size=15 if diamonds else 6, color=colour[name], opacity=opacity,
                          line=dict(width=2.5, color="#111827") if diamonds else dict(width=0),
                          symbol="diamond" if diamonds else "circle")
            trace = go.Scatter if diamonds else go.Scattergl
            fig.add_trace(trace(
                x=coords[idx, 0], y=coords[idx, 1], mode="markers",
                name=f"{html.escape(name)} (cluster-selected)" if diamonds else html.escape(name),
                legendgroup=name, showlegend=not diamonds, marker=marker,
                selected=dict(marker=dict(opacity=1.0)), unselected=dict(marker=dict(opacity=opacity)),
                customdata=np.stack([set_arr[idx], ids[idx], rows[idx]], axis=1),
                hovertext=texts[idx], hovertemplate="%{hovertext}<extra></extra>",
            ))
    ringed = np.array(sorted(set(int(i) for i in selected)), dtype=int)
    if ringed.size:
        fig.add_trace(go.Scatter(
            x=coords[ringed, 0], y=coords[ringed, 1], mode="markers", name=f"selected ({ringed.size})",
            marker=dict(size=24 if ringed.size <= 5 else 11, symbol="circle-open", color="#DC2626",
                        line=dict(width=2.5 if ringed.size <= 5 else 1.2)),
            customdata=np.stack([set_arr[ringed], ids[ringed], ringed], axis=1), hoverinfo="skip",
            selected=dict(marker=dict(opacity=1.0)), unselected=dict(marker=dict(opacity=1.0)),
        ))
    # dragmode "zoom", not "lasso": Streamlit only turns a click into a selection outside the
    # select/lasso drag modes. Box and lasso stay one click away in the mode bar.
    fig.update_layout(height=540, margin=dict(l=10, r=10, t=40, b=40), dragmode="zoom", uirevision=uirevision,
                      hovermode="closest", title=f"{method_label} of the embeddings (diamonds: the K-means-selected cases)",
                      legend=dict(orientation="h", y=-0.01, yanchor="top", x=0), xaxis=dict(showticklabels=False, title=""),
                      yaxis=dict(showticklabels=False, title=""), plot_bgcolor="#f8fafc")
    return fig


def case_figure(case: Case, windows: list[tuple[float, float]], show_mask: bool, title: str = "",
                uirevision: str | None = None, height: int = 320, zoom_group: str | None = None) -> go.Figure:
    """The three sequences side by side: linked zoom and pan, the pixel value under the pointer,
    an optional lesion outline.

    Each panel is a grey heatmap of the raw pixels, windowed by ``windows`` (level, width per
    sequence) through its colour range, so hovering shows the stored value. A box drag zooms,
    the wheel zooms, a drag with shift pans. ``zoom_group`` goes into ``layout.meta`` with the
    image size: the app's linked-zoom script (ui/linked_zoom.js) keeps the zoom of a group from
    one case to the next and across the graphs of that group.
    """
    fig = make_subplots(rows=1, cols=3, subplot_titles=[SEQUENCE_LABELS[s] for s in SEQUENCES],
                        horizontal_spacing=0.012)
    for i, image in enumerate(case.images):
        level, width = windows[i]
        label = SEQUENCE_LABELS[SEQUENCES[i]]
        fig.add_trace(go.Heatmap(z=np.asarray(image, dtype=np.float32), zmin=level - width / 2, zmax=level + width / 2,
                                 colorscale="gray", showscale=False, name=label,
                                 hovertemplate=f"{label}<br>x %{{x}}, y %{{y}}<br>value %{{z:.5~g}}<extra></extra>"),
                      row=1, col=i + 1)
        if show_mask and (mask := case.mask(i)) is not None:
            yy, xx = np.nonzero(mask_outline(mask))
            fig.add_trace(go.Scattergl(x=xx, y=yy, mode="markers", marker=dict(size=2, color="#f97316"),
                                       hoverinfo="skip", showlegend=False), row=1, col=i + 1)
    for i in range(1, 4):
        fig.update_xaxes(visible=False, matches="x", constrain="domain", row=1, col=i)
        fig.update_yaxes(visible=False, matches="y", scaleanchor=f"x{'' if i == 1 else i}", constrain="domain",
                         autorange="reversed", row=1, col=i)
    height_px, width_px = case.images[0].shape
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=50 if title else 24, b=0),
                      title=html.escape(title) if title else None, dragmode="zoom", uirevision=uirevision,
                      hovermode="closest",
                      meta=dict(zoom_group=zoom_group, width=width_px, height=height_px) if zoom_group else None)
    fig.update_annotations(font_size=13)
    return fig


def distance_histograms(distances: dict[str, np.ndarray]) -> go.Figure:
    """Overlaid histograms of nearest-neighbour distances (e.g. generated->real, real->real)."""
    fig = go.Figure()
    upper = max(float(np.max(v)) for v in distances.values())
    bins = dict(start=0.0, end=upper * 1.001, size=upper / 40)  # shared, so the shapes compare
    for (label, values), colour in zip(distances.items(), ("#dc2626", "#d97706", REAL_COLOUR)):
        fig.add_trace(go.Histogram(x=values, name=label, opacity=0.55, xbins=bins, marker_color=colour,
                                   histnorm="probability density"))
    fig.update_layout(barmode="overlay", height=340, margin=dict(l=10, r=10, t=40, b=10),
                      title="Nearest-neighbour distances in embedding space", xaxis_title="Euclidean distance",
                      yaxis_title="density", legend=dict(orientation="h", y=-0.2))
    return fig


def loss_curves(log: list[dict]) -> go.Figure:
    """GAN training losses over steps from a run's log rows."""
    fig = go.Figure()
    steps = [row["step"] for row in log]
    for key, label in (("loss_d", "discriminator"), ("loss_g", "generator")):
        if log and key in log[0]:
            fig.add_trace(go.Scatter(x=steps, y=[row[key] for row in log], mode="lines", name=label))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), title="Losses", xaxis_title="step",
                      legend=dict(orientation="h", y=-0.25))
    return fig


# The live metrics of training runs (gan_eval.api.Tracker lines): panel title, then each curve's
# line key and dash; "loo_chance" is the 1-NN accuracy's chance level for the sample size.
METRIC_PANELS = (
    ("FID", (("fid", "solid"),)),
    ("KID", (("kid", "solid"),)),
    ("1-NN accuracy (dashed: chance)", (("loo_accuracy", "solid"), ("loo_chance", "dash"))),
    ("Lesion spread / real (solid: position, dotted: size)", (("lesion_position_ratio", "solid"),
                                                             ("lesion_size_ratio", "dot"))),
)


def metric_curves(histories: dict[str, list[dict]]) -> go.Figure:
    """The live metrics of one or more runs against step, one colour per run: FID, KID, 1-NN
    accuracy beside its chance level, and the lesions' spread relative to the real set's (1 is as
    varied as the real lesions). ``histories``: run name -> its metric lines, oldest first."""
    fig = make_subplots(rows=2, cols=2, subplot_titles=[title for title, _ in METRIC_PANELS],
                        horizontal_spacing=0.08, vertical_spacing=0.16)
    names = list(histories)
    for index, (title, curves) in enumerate(METRIC_PANELS):
        row, col = divmod(index, 2)
        for run, lines in histories.items():
            colour = TEAM_PALETTE[names.index(run) % len(TEAM_PALETTE)]
            for key, dash in curves:
                fig.add_trace(go.Scatter(
                    x=[line["step"] for line in lines], y=[line.get(key) for line in lines], mode="lines+markers",
                    name=run, legendgroup=run, showlegend=index == 0 and key == curves[0][0], meta=key,
                    line=dict(color=colour, dash=dash), marker=dict(size=4),
                    hovertemplate=f"{run}<br>step %{{x}}<br>{key} %{{y:.4g}}<extra></extra>"), row=row + 1, col=col + 1)
        if title.startswith("Lesion"):
            fig.add_hline(y=1.0, line=dict(color=REAL_COLOUR, width=1, dash="dot"), row=row + 1, col=col + 1)
    backbones = sorted({line["backbone"] for lines in histories.values() for line in lines})
    sizes = sorted({line["n"] for lines in histories.values() for line in lines})
    fig.update_xaxes(title_text="step", row=2)
    fig.update_layout(height=560, margin=dict(l=10, r=10, t=70, b=10), legend=dict(orientation="h", y=-0.12),
                      title=f"Live metrics · backbone {', '.join(backbones)} · "
                            f"{', '.join(map(str, sizes))} EMA cases per point")
    return fig
