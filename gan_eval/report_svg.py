"""Static SVG figures for the report (gan_eval.report): a gauge and the embedding map.

Inline SVG, no script: the report opens offline, draws without JavaScript and prints as vectors.
Every text that came from an upload (team names, case ids) is HTML-escaped here; the SVG is
meant to be placed inside an HTML5 document, so it carries no namespace URL.
"""

from __future__ import annotations

import math
from html import escape

from .figures import REAL_COLOUR
from .palette import assign_colours

ACCURACY_BANDS = [(0.0, 0.2, "#fecaca"), (0.2, 0.4, "#fef3c7"), (0.4, 0.6, "#d1fae5"), (0.6, 0.8, "#fef3c7"),
                  (0.8, 1.0, "#fecaca")]
SCORE_BANDS = [(0.0, 0.4, "#fee2e2"), (0.4, 0.7, "#fef3c7"), (0.7, 1.0, "#d1fae5")]


def _point(cx: float, cy: float, r: float, fraction: float) -> tuple[float, float]:
    angle = math.pi * (1.0 - fraction)  # 0 on the left, 1 on the right, over the top
    return cx + r * math.cos(angle), cy - r * math.sin(angle)


def _arc(cx: float, cy: float, r: float, a: float, b: float) -> str:
    (x0, y0), (x1, y1) = _point(cx, cy, r, a), _point(cx, cy, r, b)
    return f"M {x0:.2f} {y0:.2f} A {r} {r} 0 0 1 {x1:.2f} {y1:.2f}"


def gauge_svg(fraction: float | None, text: str, title: str, *, ideal: float | None = None,
              bands: list[tuple[float, float, str]] | None = None) -> str:
    """A half-circle gauge of ``fraction`` in [0, 1] (clipped for drawing) showing ``text`` (the
    value as the tables format it), with coloured ``bands`` and an optional ``ideal`` mark."""
    cx, cy, r, w = 100.0, 100.0, 66.0, 16
    parts = [f'<svg class="gauge" viewBox="0 0 200 140" width="165" height="116" role="img" '
             f'aria-label="{escape(title)}: {escape(text)}">',
             f'<text x="100" y="14" text-anchor="middle" class="gauge-title">{escape(title)}</text>',
             f'<path d="{_arc(cx, cy, r, 0, 1)}" fill="none" stroke="#e5e7eb" stroke-width="{w}"/>']
    for a, b, colour in bands or []:
        parts.append(f'<path d="{_arc(cx, cy, r, a, b)}" fill="none" stroke="{colour}" stroke-width="{w}"/>')
    if fraction is not None and math.isfinite(fraction):
        f = min(max(float(fraction), 0.0), 1.0)
        if f > 0:
            parts.append(f'<path d="{_arc(cx, cy, r, 0, f)}" fill="none" stroke="#0f766e" stroke-width="6"/>')
        x, y = _point(cx, cy, r + w / 2 + 2, f)
        parts.append(f'<line x1="{cx}" y1="{cy}" x2="{x:.2f}" y2="{y:.2f}" stroke="#0f766e" stroke-width="2.5"/>')
        parts.append(f'<circle cx="{cx}" cy="{cy}" r="4" fill="#0f766e"/>')
    if ideal is not None:
        (x0, y0), (x1, y1) = _point(cx, cy, r - w / 2 - 3, ideal), _point(cx, cy, r + w / 2 + 3, ideal)
        parts.append(f'<line x1="{x0:.2f}" y1="{y0:.2f}" x2="{x1:.2f}" y2="{y1:.2f}" stroke="#111827" '
                     'stroke-width="3"/>')
    parts.append(f'<text x="100" y="128" text-anchor="middle" class="gauge-value">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def embedding_map_svg(sets: list[dict], selected: dict[str, set[str]], *, width: int = 960,
                      height: int = 600) -> tuple[str, list[tuple[str, str]]]:
    """The map of ``sets`` ([{"name", "case_ids", "x", "y"}], the real set among them) with the
    ``selected`` cases ({set: case ids}) drawn as outlined diamonds carrying a tooltip.

    Returns the SVG and the legend ([(name, colour)], real first). The aspect ratio of the
    projection is kept.
    """
    names = [s["name"] for s in sets]
    xs = [x for s in sets for x in s["x"]]
    ys = [y for s in sets for y in s["y"]]
    pad = 16.0
    if not xs:
        return f'<svg class="map" viewBox="0 0 {width} {height}" width="100%"></svg>', []
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    off_x = (width - scale * span_x) / 2 - scale * min(xs)
    off_y = (height - scale * span_y) / 2 + scale * max(ys)  # y grows upwards on the map

    def px(x: float, y: float) -> tuple[float, float]:
        return off_x + scale * x, off_y - scale * y

    # Submissions first, the real set on top (it is the reference), selected cases above all.
    order = [s for s in sets if s["name"] != "real"] + [s for s in sets if s["name"] == "real"]
    parts = [f'<svg class="map" viewBox="0 0 {width} {height}" width="100%" role="img" '
             'aria-label="2D map of the embeddings">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f8fafc"/>']
    diamonds = []
    colours = {"real": REAL_COLOUR, **assign_colours({}, [n for n in names if n != "real"])}
    for s in order:
        colour = colours[s["name"]]
        chosen = selected.get(s["name"], set())
        opacity = 0.9 if s["name"] == "real" else 0.5
        dots = []
        for case_id, x, y in zip(s["case_ids"], s["x"], s["y"]):
            X, Y = px(x, y)
            if case_id in chosen:
                diamonds.append(
                    f'<path d="M {X:.1f} {Y - 8:.1f} L {X + 8:.1f} {Y:.1f} L {X:.1f} {Y + 8:.1f} L {X - 8:.1f} '
                    f'{Y:.1f} Z" fill="{colour}" stroke="#111827" stroke-width="2">'
                    f'<title>{escape(s["name"])} / {escape(case_id)}</title></path>')
            else:
                dots.append(f'<circle cx="{X:.1f}" cy="{Y:.1f}" r="2.6"/>')
        parts.append(f'<g fill="{colour}" fill-opacity="{opacity}" data-set="{escape(s["name"])}">'
                     + "".join(dots) + "</g>")
    parts += diamonds
    parts.append("</svg>")
    legend = [("real", REAL_COLOUR)] * ("real" in names) + [(n, colours[n]) for n in names if n != "real"]
    return "".join(parts), legend
