"""Plotly figures shared by the app's pages (no Streamlit here, so they are testable)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .cases import SEQUENCE_LABELS, SEQUENCES, Case
from .render import apply_window, mask_outline

REAL_COLOUR = "#334155"
TEAM_COLOURS = ["#0f766e", "#d97706", "#7c3aed", "#dc2626", "#2563eb", "#db2777", "#65a30d", "#0891b2",
                "#9333ea", "#ea580c"]


def team_colour(names: list[str], name: str) -> str:
    if name == "real":
        return REAL_COLOUR
    others = [n for n in names if n != "real"]
    return TEAM_COLOURS[others.index(name) % len(TEAM_COLOURS)] if name in others else "#64748b"


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


def embedding_map(coords: np.ndarray, set_names: list[str], case_ids: list[str], highlighted: np.ndarray,
                  method_label: str) -> go.Figure:
    """Scatter of a 2D map, one trace per set; K-means-selected cases drawn large and outlined.

    Each point carries customdata [set name, case id] so a click or selection names the case.
    """
    names = list(dict.fromkeys(set_names))
    # The real set is drawn last (on top): it is the reference and would vanish under 5000 points.
    names = [n for n in names if n != "real"] + [n for n in names if n == "real"]
    set_arr = np.asarray(set_names)
    ids = np.asarray(case_ids)
    fig = go.Figure()
    for name in names:
        for selected in (False, True):
            idx = np.flatnonzero((set_arr == name) & (highlighted == selected))
            if idx.size == 0:
                continue
            fig.add_trace(go.Scattergl(
                x=coords[idx, 0], y=coords[idx, 1], mode="markers",
                name=f"{name} (cluster-selected)" if selected else name,
                legendgroup=name, showlegend=not selected,
                marker=dict(size=15 if selected else 6, color=team_colour(names, name),
                            opacity=1.0 if selected else (0.9 if name == "real" else 0.5),
                            line=dict(width=2.5, color="#111827") if selected else dict(width=0),
                            symbol="diamond" if selected else "circle"),
                customdata=np.stack([set_arr[idx], ids[idx]], axis=1),
                hovertemplate="<b>%{customdata[0]}</b><br>case %{customdata[1]}<extra></extra>",
            ))
    # dragmode "zoom", not "lasso": Streamlit only turns a click into a selection outside the
    # select/lasso drag modes. Box and lasso stay one click away in the mode bar.
    fig.update_layout(height=560, margin=dict(l=10, r=10, t=40, b=10), dragmode="zoom",
                      title=f"{method_label} of the embeddings (diamonds: the K-means-selected cases)",
                      legend=dict(orientation="h", y=-0.05), xaxis=dict(showticklabels=False, title=""),
                      yaxis=dict(showticklabels=False, title=""), plot_bgcolor="#f8fafc")
    return fig


def case_figure(case: Case, windows: list[tuple[float, float]], show_mask: bool, title: str = "") -> go.Figure:
    """The three sequences side by side with linked zoom/pan and an optional lesion outline."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=[SEQUENCE_LABELS[s] for s in SEQUENCES],
                        horizontal_spacing=0.015)
    for i, image in enumerate(case.images):
        gray = apply_window(image, *windows[i])
        fig.add_trace(go.Image(z=np.repeat(gray[..., None], 3, axis=-1), hoverinfo="skip"), row=1, col=i + 1)
        if show_mask and (mask := case.mask(i)) is not None:
            yy, xx = np.nonzero(mask_outline(mask))
            fig.add_trace(go.Scattergl(x=xx, y=yy, mode="markers", marker=dict(size=2, color="#f97316"),
                                       hoverinfo="skip", showlegend=False), row=1, col=i + 1)
    for i in range(1, 4):
        fig.update_xaxes(visible=False, matches="x", row=1, col=i)
        fig.update_yaxes(visible=False, matches="y", scaleanchor=f"x{'' if i == 1 else i}", row=1, col=i)
    h, w = case.shape
    fig.update_layout(height=int(330 * h / w) + 60, margin=dict(l=0, r=0, t=50 if title else 30, b=0),
                      title=title or None, dragmode="zoom")
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
            colour = TEAM_COLOURS[names.index(run) % len(TEAM_COLOURS)]
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
