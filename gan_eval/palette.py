"""Team colours: a colour-blind-safe palette of 12, assigned once per workspace and kept.

The palette was chosen from Paul Tol's, Okabe & Ito's and IBM's colour-blind-safe schemes as the
12 colours whose smallest pairwise difference is largest (CIE76 ΔE in CIELAB, each pair compared
under normal vision and simulated protanopia, deuteranopia and tritanopia, Machado et al. 2009,
severity 1), in an order where each colour is the farthest from those before it: two teams get
two very different colours, twelve still get twelve distinct ones (every pair ≥ 18 ΔE under each
simulation; ``min_difference`` checks it). The reference (real) set is grey, which no team gets.

Assignment is by first appearance, never by alphabetical position: a team keeps its colour when
others are added or removed (``gan_eval.workspace.Workspace.team_colours`` stores it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import numpy as np

TEAM_PALETTE = ("#0077BB", "#FFB000", "#009E73", "#66CCEE", "#785EF0", "#882255",
                "#999933", "#AE76A3", "#4EB265", "#EE99AA", "#117733", "#004488")
REFERENCE_COLOUR = "#5F6B7A"   # the real set (and any reference set): grey

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
CVD_MATRICES = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, -0.691367, 1.684634]]),
}


def assign_colours(assigned: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """``assigned`` plus a colour for every name of ``names`` that has none: the first palette
    colour nobody ever had, else the first that no name of ``names`` uses (a removed team's),
    else (past 12 teams) the least used. A colour once assigned never changes."""
    colours = dict(assigned)
    names = list(dict.fromkeys(names))
    for name in names:
        if name in colours:
            continue
        in_use = [colours[n] for n in names if n in colours]
        never = [c for c in TEAM_PALETTE if c not in colours.values()]
        free = [c for c in TEAM_PALETTE if c not in in_use]
        colours[name] = (never or free or [min(TEAM_PALETTE, key=in_use.count)])[0]
    return colours


def _lab(hex_colours: list[str], matrix: np.ndarray) -> np.ndarray:
    rgb = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in hex_colours]) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    linear = np.clip(linear @ matrix.T, 0.0, 1.0)
    xyz = linear @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def min_difference(hex_colours: list[str]) -> dict[str, float]:
    """The smallest CIE76 ΔE between any two of ``hex_colours``, per vision type."""
    out = {}
    for vision, matrix in CVD_MATRICES.items():
        lab = _lab(list(hex_colours), matrix)
        out[vision] = min(float(np.linalg.norm(lab[a] - lab[b])) for a, b in itertools.combinations(range(len(lab)), 2))
    return out
