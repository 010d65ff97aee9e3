"""Drawing one patient: habitus, organ shapes and positions, vessels, the lesion and contrast.

:func:`sample_anatomy` turns one random stream into an :class:`~.anatomy.Anatomy`. Organs are
placed relative to each other (the aorta on the vertebra, the kidneys beside it, the lesion at
a point deep inside the liver), and how many organs the slice cuts and how large follows one
``level``, from the liver dome (lung bases) down to the lower liver (kidneys, gallbladder,
pancreas).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .anatomy import Anatomy, Lesion, Pose, Spine, Trunk, liver_sd
from .contrast import TISSUE_NAMES
from .shapes import Blob, Harmonics, Shape, Tube, blobs_sd


class _Draws:
    """Scalar random draws for anatomy sampling, served from blocks of uniforms: a scalar
    ``Generator.uniform`` call costs microseconds and a case needs hundreds of draws."""

    def __init__(self, generator: np.random.Generator) -> None:
        self.generator = generator
        self._block: list[float] = []

    def random(self) -> float:
        if not self._block:
            self._block = self.generator.random(256).tolist()
        return self._block.pop()

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.random()

    def integers(self, lo: int, hi: int) -> int:
        """An integer in ``[lo, hi)``."""
        return lo + int(self.random() * (hi - lo))

    def choice(self, options: Sequence):
        return options[self.integers(0, len(options))]


def _u(draws: _Draws, lo: float, hi: float) -> float:
    return draws.uniform(lo, hi)


def _harmonics(draws: _Draws, ks: range, amp: float) -> Harmonics:
    """Random Fourier harmonics with amplitude falling as 1/k, so outlines stay smooth."""
    return tuple((k, _u(draws, 0.3, 1.0) * amp * 2 / k, _u(draws, 0, 2 * math.pi)) for k in ks)


def _vessel(draws: _Draws, x: float, y: float, angle: float, length: float, r0: float, r1: float,
            steps: int = 3, wiggle: float = 0.3) -> tuple[list[Tube], float, float, float]:
    """A gently curving tapered vessel made of ``steps`` tubes; returns them and the end point
    and direction (for branching)."""
    tubes = []
    for i in range(steps):
        angle += _u(draws, -wiggle, wiggle)
        nx, ny = x + length / steps * math.cos(angle), y + length / steps * math.sin(angle)
        tubes.append(Tube(x, y, nx, ny, r0 + (r1 - r0) * i / steps, r0 + (r1 - r0) * (i + 1) / steps))
        x, y = nx, ny
    return tubes, x, y, angle


def _vessel_tree(draws: _Draws, x: float, y: float, angle: float, length: float, radius: float,
                 depth: int) -> list[Tube]:
    """A branching vessel: each branch forks in two, thinner and shorter, ``depth`` times."""
    tubes, x1, y1, end_angle = _vessel(draws, x, y, angle, length, radius, radius * 0.75)
    if depth > 0:
        for side in (-1, 1):
            fork = end_angle + side * _u(draws, 0.3, 0.75)
            tubes += _vessel_tree(draws, x1, y1, fork, length * _u(draws, 0.55, 0.8), radius * 0.62, depth - 1)
    return tubes


def sample_anatomy(rng: np.random.Generator) -> Anatomy:
    """Draw one patient: habitus, organ shapes and positions, the lesion and tissue contrast."""
    draws = _Draws(rng)
    pose = Pose(fill=_u(draws, 0.78, 0.93), angle=_u(draws, -0.09, 0.09), shift_x=_u(draws, -0.04, 0.04),
                shift_y=_u(draws, -0.02, 0.06))
    level = _u(draws, 0.0, 1.0)
    ay = _u(draws, 0.64, 0.78)  # AP half-depth of the body (its half-width is 1)
    body = Blob(0.0, 0.0, 1.0, ay, 0.0, (
        (1, _u(draws, 0.0, 0.03), math.pi / 2),  # fuller in front than at the back
        (2, _u(draws, -0.03, 0.02), 0.0),
        (3, _u(draws, -0.015, 0.015), _u(draws, 0, 6.28)),
        (4, -_u(draws, 0.01, 0.03), 0.0),  # squarer: flat back and flanks
    ))
    trunk = Trunk(body, fat=_u(draws, 0.03, 0.14), wall=_u(draws, 0.035, 0.055))
    fat, wall = trunk.fat, trunk.wall
    front = -ay * 0.98 + 1.45 * fat  # anterior muscle line, near the midline
    linea_alba = Tube(0.0, front - 0.01, 0.0, front + wall + 0.01, 0.008, 0.012)

    spine = _sample_spine(draws, back=ay - 0.55 * fat)  # the posterior muscle line over the spine
    vertebra, vx = spine.vertebra, spine.vertebra.cx
    ribs = tuple(_rib(draws, side, t, trunk) for side in (-1, 1) for t in np.linspace(0.12, 0.82, 6)
                 if draws.random() < 0.8)

    vb_top, vb_y = vertebra.cy - vertebra.b, vertebra.cy
    aorta_r = _u(draws, 0.05, 0.07)
    aorta = Blob(vx + _u(draws, 0.03, 0.08), vb_top - aorta_r - _u(draws, 0.0, 0.02), aorta_r,
                 aorta_r * _u(draws, 0.95, 1.05))
    ivc = Blob(vx - _u(draws, 0.15, 0.21), vb_top - _u(draws, 0.02, 0.07), _u(draws, 0.065, 0.09),
               _u(draws, 0.045, 0.06), _u(draws, 0.2, 0.7), _harmonics(draws, range(2, 3), 0.04))
    crura = (Tube(aorta.cx + aorta_r + 0.025, vb_top + 0.03, aorta.cx + 0.01, aorta.cy - aorta_r - 0.02, 0.017, 0.01),
             Tube(aorta.cx - aorta_r - 0.035, vb_top + 0.04, aorta.cx - 0.025, aorta.cy - aorta_r - 0.015, 0.017, 0.01))

    kidneys, medulla, sinus = _sample_kidneys(draws, level, vx, vb_y)

    stomach_size = _u(draws, 0.65, 1.1) * (1.15 - 0.45 * level)
    stomach = None
    if stomach_size > 0.5:
        stomach = Blob(_u(draws, 0.28, 0.42), -ay * _u(draws, 0.05, 0.3), 0.24 * stomach_size, 0.19 * stomach_size,
                       _u(draws, -0.2, 0.6), _harmonics(draws, range(2, 5), 0.07))
    stomach_air_level = stomach.cy - stomach.b * _u(draws, 0.2, 1.2) if stomach else 0.0  # air rises anteriorly

    lung_size = float(np.clip(0.5 - level, 0, 1))
    lungs = tuple(Blob(side * 0.6, ay * 0.75, 0.5 * lung_size + 0.04, 0.3 * lung_size + 0.03, side * 0.45,
                       _harmonics(draws, range(2, 4), 0.05)) for side in (-1, 1) if lung_size > 0.08)
    spleen_s = _u(draws, 0.85, 1.2) * (1.1 - 0.35 * level)
    spleen = Blob(_u(draws, 0.58, 0.68), ay * _u(draws, 0.1, 0.3), 0.2 * spleen_s, 0.4 * spleen_s,
                  _u(draws, -0.8, -0.5), _harmonics(draws, range(2, 5), 0.05))
    notch = Blob(spleen.cx - 0.19 * spleen_s, spleen.cy - 0.03, 0.1 * spleen_s, 0.2 * spleen_s, -0.6)  # concave hilum
    spleen_carves = ((notch, 0.0),) + tuple((k, 0.03) for k in kidneys[1:]) + tuple((g, 0.02) for g in lungs[1:]) \
        + (((stomach, 0.02),) if stomach else ())

    pancreas: list[Tube] = []
    splenic_vein: list[Tube] = []
    if level > 0.3:
        start_x, start_y = spleen.cx - 0.2 * spleen_s, spleen.cy - 0.12
        angle = math.atan2(aorta.cy - 0.12 - start_y, aorta.cx - 0.02 - start_x)
        length = math.hypot(aorta.cy - 0.12 - start_y, aorta.cx - 0.02 - start_x)
        thick = _u(draws, 0.035, 0.05)
        pancreas, *_ = _vessel(draws, start_x, start_y, angle, length, thick * 0.8, thick, steps=5, wiggle=0.35)
        splenic_vein = [Tube(t.x0, t.y0 + thick * 0.75, t.x1, t.y1 + thick * 0.75, 0.011, 0.012) for t in pancreas]

    gallbladder = None
    if level > 0.4:
        g = _u(draws, 0.7, 1.2)
        gallbladder = Blob(_u(draws, -0.32, -0.18), -ay * _u(draws, 0.4, 0.58), 0.1 * g, 0.06 * g, _u(draws, 0.2, 0.9),
                           _harmonics(draws, range(2, 3), 0.05))
    liver_s = _u(draws, 0.9, 1.1)
    left_lobe = _u(draws, 0.6, 1.1) * (1.1 - 0.4 * level)
    liver_lobes = (  # right lobe: long axis from posterior-right to anterior-left; left lobe tapers left
        Blob(-0.46 + _u(draws, -0.04, 0.04), 0.06 + _u(draws, -0.04, 0.04), 0.62 * liver_s, 0.44 * liver_s,
             _u(draws, -0.75, -0.4), _harmonics(draws, range(2, 5), 0.04)),
        Blob(0.02 + 0.08 * left_lobe, -ay * _u(draws, 0.5, 0.62), 0.34 * left_lobe + 0.06, 0.1 * left_lobe + 0.05,
             _u(draws, -0.35, -0.1), ((1, _u(draws, 0.1, 0.18), math.pi),) + _harmonics(draws, range(2, 4), 0.04)),
    )
    liver_carves = ((ivc, 0.0), (vertebra, 0.06), (aorta, 0.05)) + tuple((k, 0.02) for k in kidneys[:1]) \
        + tuple((g, 0.02) for g in lungs[:1]) \
        + (((stomach, 0.025),) if stomach else ()) + (((gallbladder, 0.0),) if gallbladder else ())
    fissure = Tube(_u(draws, -0.06, 0.04), -ay * 0.45, _u(draws, 0.0, 0.1), -ay * 0.95, 0.006, 0.016)

    hilum = (vx - _u(draws, 0.06, 0.12), vb_top - _u(draws, 0.14, 0.2))
    portal, hepatic = _sample_liver_vessels(draws, hilum, ivc, level)
    points = draws.generator.uniform([-0.9, -0.65], [0.3, 0.55], size=(112, 2)).astype(np.float32)
    depth = _liver_depth(liver_lobes, liver_carves, trunk, points)
    dots = _vessel_cross_sections(draws, points[:48], depth[:48])
    portal += dots[: len(dots) // 2]
    hepatic += dots[len(dots) // 2:]

    bowel = tuple((Blob(_u(draws, -0.1, 0.8), _u(draws, -ay * 0.8, ay * 0.3), _u(draws, 0.05, 0.1),
                        _u(draws, 0.04, 0.07), _u(draws, 0, 3.14), _harmonics(draws, range(2, 4), 0.06)),
                   draws.choice(("bowel_content", "bowel_content", "air", "fluid")))
                  for _ in range(draws.integers(4, 9)))

    lesion = _sample_lesion(draws, points[48:], depth[48:], hilum)
    gain = draws.generator.uniform(0.93, 1.07, size=(len(TISSUE_NAMES), 3)) \
        * draws.generator.uniform(0.88, 1.12, size=(1, 3))  # per tissue, then per sequence (scanner gain)
    return Anatomy(
        pose=pose, level=level, trunk=trunk, linea_alba=linea_alba, spine=spine, ribs=ribs, crura=crura, bowel=bowel,
        kidneys=kidneys, renal_medulla=tuple(medulla), renal_sinus=tuple(sinus), pancreas=tuple(pancreas),
        splenic_vein=tuple(splenic_vein), stomach=stomach, stomach_air_level=stomach_air_level, spleen=spleen,
        spleen_carves=spleen_carves, liver_lobes=liver_lobes, liver_carves=liver_carves, fissure=fissure,
        gallbladder=gallbladder, portal_veins=tuple(portal), hepatic_veins=tuple(hepatic), aorta=aorta, ivc=ivc,
        lungs=lungs, lesion=lesion, tissue_gain=gain.astype(np.float32),
        texture_seed=int(draws.generator.integers(2**31)),
    )


def _sample_spine(draws: _Draws, back: float) -> Spine:
    """The vertebra at the level of the liver, its canal and posterior elements reaching ``back``."""
    vb_r = _u(draws, 0.1, 0.125)
    vb_y = back - _u(draws, 0.31, 0.36) - vb_r * 0.3
    vx = _u(draws, -0.01, 0.01)
    canal_y = vb_y + vb_r + 0.055
    para_a, para_b = _u(draws, 0.11, 0.15), _u(draws, 0.1, 0.13)
    return Spine(
        vertebra=Blob(vx, vb_y, vb_r * 1.1, vb_r, 0.0, ((1, 0.04, math.pi / 2), (2, -0.05, 0.0))),
        canal=Blob(vx, canal_y, 0.06, 0.05),
        cord=Blob(vx, canal_y, 0.03, 0.026),
        posterior_elements=(
            Tube(vx - 0.055, canal_y - 0.03, vx - 0.02, canal_y + 0.065, 0.022, 0.02),  # pedicle and lamina
            Tube(vx + 0.055, canal_y - 0.03, vx + 0.02, canal_y + 0.065, 0.022, 0.02),
            Tube(vx, canal_y + 0.06, vx, back - 0.02, 0.022, 0.014),  # spinous process
            Tube(vx - 0.06, canal_y - 0.015, vx - 0.19, canal_y - 0.04, 0.02, 0.012),  # transverse processes
            Tube(vx + 0.06, canal_y - 0.015, vx + 0.19, canal_y - 0.04, 0.02, 0.012),
        ),
        paraspinal=tuple(Blob(vx + side * (para_a + 0.03), back - para_b * 0.9, para_a, para_b, side * 0.25,
                              _harmonics(draws, range(2, 4), 0.04)) for side in (-1, 1)),
    )


def _sample_kidneys(draws: _Draws, level: float, vx: float, vb_y: float
                    ) -> tuple[tuple[Blob, ...], list[Blob], list[Blob]]:
    """Kidneys beside the spine (absent near the dome, growing lower down), their medullary
    pyramids and, lower still, the renal sinus fat."""
    size = float(np.clip((level - 0.15) / 0.85, 0, 1))
    if size <= 0.1:
        return (), [], []
    grow = 0.45 + 0.55 * size
    kidneys = tuple(Blob(vx + side * _u(draws, 0.32, 0.4), vb_y + _u(draws, 0.0, 0.07), _u(draws, 0.085, 0.11) * grow,
                         _u(draws, 0.13, 0.16) * grow, side * _u(draws, -0.7, -0.35),
                         _harmonics(draws, range(2, 4), 0.03))
                    for side in (-1, 1))
    medulla: list[Blob] = []
    sinus: list[Blob] = []
    for k in kidneys:
        medulla += _renal_pyramids(draws, k)
        if size > 0.45:
            hx = k.cx - np.sign(k.cx) * 0.2 * k.a
            sinus.append(Blob(hx, k.cy, 0.3 * k.a, 0.35 * k.b, k.angle, _harmonics(draws, range(2, 4), 0.08)))
    return kidneys, medulla, sinus


def _sample_liver_vessels(draws: _Draws, hilum: tuple[float, float], ivc: Blob, level: float
                          ) -> tuple[list[Shape], list[Shape]]:
    """The portal vein (main trunk to the hilum, right and left branching trees) and, near the
    dome, the hepatic veins converging on the IVC."""
    hx, hy = hilum
    radius = _u(draws, 0.028, 0.04)
    portal: list[Shape] = []
    portal += _vessel(draws, hx + 0.08, hy + 0.1, math.atan2(-0.1, -0.08), 0.13, radius, radius, 2)[0]
    portal += _vessel_tree(draws, hx, hy, math.pi + _u(draws, -0.35, 0.15), _u(draws, 0.13, 0.2), radius * 0.85, 2)
    portal += _vessel_tree(draws, hx, hy, -math.pi / 2 + _u(draws, -0.1, 0.5), _u(draws, 0.12, 0.18), radius * 0.7, 2)
    hepatic: list[Shape] = []
    if level < 0.8:
        for angle in (_u(draws, -3.0, -2.6), _u(draws, -2.3, -1.9), _u(draws, -1.7, -1.3)):
            hepatic += _vessel_tree(draws, ivc.cx, ivc.cy, angle, _u(draws, 0.18, 0.26), 0.028 * (1.1 - level), 1)
    return portal, hepatic


def _rib(draws: _Draws, side: int, t: float, trunk: Trunk) -> Blob:
    """A rib cross-section in the body wall; ``t`` runs from anterior (0) to posterior (1)."""
    phi = math.pi * (t - 0.5) + _u(draws, -0.06, 0.06)  # angle from the lateral direction
    ay = trunk.body.b
    rx, ry = 1.0 - 0.85 * trunk.fat - 0.5 * trunk.wall, ay - 1.0 * trunk.fat - 0.5 * trunk.wall
    x, y = side * rx * math.cos(phi), ry * math.sin(phi)
    tangent = math.atan2(ry * math.cos(phi), -side * rx * math.sin(phi))
    return Blob(x, y, _u(draws, 0.03, 0.045), _u(draws, 0.017, 0.024), tangent)


def _renal_pyramids(draws: _Draws, kidney: Blob) -> list[Blob]:
    """Medullary pyramids: small ovals in a ring under the cortex, pointing to the kidney's centre."""
    pyramids = []
    for phi in np.linspace(0, 2 * math.pi, draws.integers(5, 8), endpoint=False) + _u(draws, 0, 1):
        lx, ly = 0.5 * kidney.a * math.cos(phi), 0.55 * kidney.b * math.sin(phi)
        c, s = math.cos(kidney.angle), math.sin(kidney.angle)
        size = _u(draws, 0.8, 1.2)
        pyramids.append(Blob(kidney.cx + lx * c - ly * s, kidney.cy + lx * s + ly * c, 0.3 * kidney.a * size,
                             0.2 * kidney.a * size, kidney.angle + math.atan2(ly, lx)))
    return pyramids


def _liver_depth(lobes: tuple[Blob, Blob], carves: tuple[tuple[Shape, float], ...], trunk: Trunk,
                 points: np.ndarray) -> np.ndarray:
    """How deep each ``(x, y)`` point lies inside the liver (negative outside), all shapes at once."""
    x, y = points[:, 0], points[:, 1]
    shapes = list(lobes) + [shape for shape, _ in carves]
    fields = blobs_sd(shapes, *(np.broadcast_to(c, (len(shapes), 1, len(c))) for c in (x, y)))[:, 0]
    cavity = trunk.cavity_sd(trunk.body.sd(x, y), x, y)
    return -liver_sd(fields[0], fields[1], zip(fields[2:], (margin for _, margin in carves)), cavity)


def _vessel_cross_sections(draws: _Draws, points: np.ndarray, depth: np.ndarray) -> list[Blob]:
    """Small round vessels cut across by the slice, at points well inside the liver."""
    inside = points[depth > 0.04]
    count = min(len(inside), draws.integers(6, 14))
    return [Blob(float(x), float(y), r, r * _u(draws, 0.8, 1.0), _u(draws, 0, 3.14))
            for (x, y), r in zip(inside[:count], draws.generator.uniform(0.007, 0.017, count))]


def _sample_lesion(draws: _Draws, candidates: np.ndarray, depth: np.ndarray, hilum: tuple[float, float]) -> Lesion:
    """One large lobulated MTM-HCC centred at a candidate point deep enough inside the liver
    (``depth``: see :func:`_liver_depth`), and its necrotic core."""
    radius = _u(draws, 0.14, 0.28)
    # Keep clear of the hilum so the portal vein stays visible in most cases.
    depth = np.minimum(depth, np.hypot(candidates[:, 0] - hilum[0], candidates[:, 1] - hilum[1]) - 0.08)
    ok = np.flatnonzero(depth > radius * 0.8)
    if ok.size == 0:  # a small liver: take the deepest point and shrink the tumour to fit
        best = int(np.argmax(depth))
        radius = max(min(radius, float(depth[best]) / 0.8), 0.06)
        ok = np.array([best])
    cx, cy = (float(v) for v in candidates[draws.choice(ok)])
    lobes = [Blob(cx, cy, radius * _u(draws, 0.85, 1.15), radius * _u(draws, 0.85, 1.15), _u(draws, 0, 3.14),
                  _harmonics(draws, range(2, 6), 0.05))]
    for _ in range(draws.integers(1, 4)):
        a, d = _u(draws, 0, 2 * math.pi), radius * _u(draws, 0.55, 0.85)
        r = radius * _u(draws, 0.4, 0.65)
        lobes.append(Blob(cx + d * math.cos(a), cy + d * math.sin(a), r, r * _u(draws, 0.8, 1.2), _u(draws, 0, 3.14),
                          _harmonics(draws, range(2, 4), 0.05)))
    a, d = _u(draws, 0, 2 * math.pi), radius * _u(draws, 0.0, 0.3)
    necrosis = Blob(cx + d * math.cos(a), cy + d * math.sin(a), radius * _u(draws, 0.45, 0.7),
                    radius * _u(draws, 0.35, 0.65), _u(draws, 0, 3.14), _harmonics(draws, range(2, 7), 0.14))
    return Lesion(tuple(lobes), necrosis, capsule_thickness=_u(draws, 0.01, 0.018), heterogeneity=_u(draws, 0.18, 0.32))
