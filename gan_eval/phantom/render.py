"""Drawing an anatomy's pixels: the noiseless three-sequence images and the label maps.

Tissues are painted one over another on a :class:`~.canvas.Canvas`, each clipped to where it
can lie (inside the abdominal cavity, inside the liver). Label maps threshold the very fields
that paint the images, so they match the pixels exactly. Texture is drawn from the anatomy's
own ``texture_seed``: it belongs to the patient, is shared by the three sequences, and does not
change with the acquisition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from .anatomy import Anatomy, liver_sd
from .canvas import Canvas, bounding_window
from .contrast import case_tissue_values
from .shapes import smooth_union

NECROSIS_MIN_FRACTION = 0.22  # of the lesion area: MTM-HCC shows a large necrotic core


@dataclass
class Rendering:
    """A noiseless rendering: ``images`` ``(3, H, W)`` float32 and boolean label maps."""

    images: np.ndarray
    labels: dict[str, np.ndarray]


def render(anatomy: Anatomy, size: int) -> Rendering:
    """Draw the anatomy at ``size`` x ``size``: tissue composite with partial volume, texture.

    Labels: ``body``, ``liver`` (its outline, the lesion included), ``lesion``, ``necrosis``,
    ``capsule``, ``viable`` (lesion without necrosis or capsule), ``parenchyma`` (liver without
    lesion or vessels), ``spleen``, ``aorta``, ``ivc``, ``portal_vein``, ``kidneys``.
    """
    cv = Canvas(anatomy.pose, size, case_tissue_values(anatomy.tissue_gain))
    tex_rng = np.random.default_rng(anatomy.texture_seed)
    labels: dict[str, np.ndarray] = {}

    trunk = anatomy.trunk
    body, cavity = cv.empty_field(), cv.empty_field()
    bw = cv.window(trunk.body)
    body[bw] = trunk.body.sd(cv.x[bw], cv.y[bw])
    cavity[bw] = trunk.cavity_sd(body[bw], cv.x[bw], cv.y[bw])
    cv.paint(bw, body[bw], "fat")
    cv.paint(bw, trunk.muscle_sd(body[bw], cv.y[bw]), "muscle")
    cv.paint(bw, cavity[bw], "fat")
    cv.paint_shapes([anatomy.linea_alba], "fat", clip=-cavity)
    labels["body"] = body <= 0

    inside_cavity = cavity + np.float32(0.02)
    loops = [loop for loop, _ in anatomy.bowel]
    cv.paint_shapes(loops, "mucosa", clip=inside_cavity)
    for content in sorted({content for _, content in anatomy.bowel}):
        cv.paint_shapes([loop for loop, c in anatomy.bowel if c == content], content, clip=inside_cavity, inset=0.012)
    spine = anatomy.spine
    cv.paint_shapes(spine.paraspinal, "muscle", clip=body + np.float32(0.02))
    cv.paint_shapes(anatomy.crura, "muscle")
    bones = (*anatomy.ribs, *spine.posterior_elements, spine.vertebra)
    cv.paint_shapes(bones, "bone_cortex")
    cv.paint_shapes(bones, "marrow", inset=0.01)  # one marrow space where the bones meet
    cv.paint_shapes([spine.canal], "csf")
    cv.paint_shapes([spine.cord], "cord")

    kidneys = cv.empty_field()
    cv.paint_shapes(anatomy.kidneys, "kidney_cortex", record=kidneys)
    cv.paint_shapes(anatomy.renal_medulla, "kidney_medulla", clip=kidneys + np.float32(0.012))
    cv.paint_shapes(anatomy.renal_sinus, "fat", clip=kidneys)
    labels["kidneys"] = kidneys <= 0
    cv.paint_shapes(anatomy.pancreas, "pancreas", clip=inside_cavity)
    cv.paint_shapes(anatomy.splenic_vein, "portal_vein", clip=inside_cavity)
    # Lung bases behind the diaphragm (the liver and spleen are carved around them).
    if anatomy.lungs:
        beside_spine = np.float32(0.12) - cv.field(spine.vertebra, 0.12)
        cv.paint_shapes(anatomy.lungs, "air", clip=np.maximum(cavity, beside_spine))

    if anatomy.stomach is not None:
        stomach = np.maximum(cv.field(anatomy.stomach), inside_cavity)
        win = cv.paint_field(stomach, "mucosa")
        if win is not None:
            lumen = stomach[win] + np.float32(0.02)
            cv.paint(win, lumen, "fluid")
            cv.paint(win, np.maximum(lumen, cv.y[win] - np.float32(anatomy.stomach_air_level)), "air")

    spleen = np.maximum(cv.field(anatomy.spleen), cavity + np.float32(0.01))
    for shape, margin in anatomy.spleen_carves:
        cv.carve(spleen, shape, margin)
    win = bounding_window(spleen < cv.px)
    if win is not None:
        # Arterial-phase spleen enhances in arciform bands; later phases are homogeneous.
        bands = _smooth_fields(tex_rng, 1, size, size / 28)[0][win]
        values = cv.values("spleen", bands.shape)
        values[0] *= 1 + np.float32(0.3) * np.tanh(2 * bands)
        cv.paint(win, spleen[win], values)
    labels["spleen"] = spleen <= 0

    liver = cv.empty_field()
    lw = cv.union_window(anatomy.liver_lobes, 0.08)
    if lw is not None:
        x, y = cv.x[lw], cv.y[lw]
        liver[lw] = liver_sd(anatomy.liver_lobes[0].sd(x, y), anatomy.liver_lobes[1].sd(x, y), (), cavity[lw])
    for shape, margin in anatomy.liver_carves:
        cv.carve(liver, shape, margin)
    cv.paint_field(liver, "liver")
    labels["liver"] = liver <= 0

    inside_liver = liver + np.float32(0.004)
    vessels, portal = cv.empty_field(), cv.empty_field()
    cv.paint_shapes(anatomy.hepatic_veins, "hepatic_vein", clip=inside_liver, record=vessels)
    cv.paint_shapes(anatomy.portal_veins, "portal_vein", clip=inside_liver, record=portal)
    cv.paint_shapes([anatomy.fissure], "fat", clip=inside_liver, record=vessels)
    if anatomy.gallbladder is not None:
        cv.paint_shapes([anatomy.gallbladder], "mucosa")
        cv.paint_shapes([anatomy.gallbladder], "fluid", inset=0.012)

    _paint_lesion(cv, anatomy, liver, tex_rng, labels)
    labels["portal_vein"] = (portal <= 0) & ~labels["lesion"]
    labels["parenchyma"] = (liver <= -cv.px) & (np.minimum(vessels, portal) > cv.px) & ~labels["lesion"]

    ivc, aorta = cv.empty_field(), cv.empty_field()
    cv.paint_shapes([anatomy.ivc], "ivc", record=ivc)
    cv.paint_shapes([anatomy.aorta], "aorta", record=aorta)
    labels["ivc"], labels["aorta"] = ivc <= 0, aorta <= 0

    # Fine anatomical texture, shared by the three sequences as the anatomy is.
    images = cv.layers[:3] * (1 + cv.layers[3] * _fine_texture(tex_rng, size))
    return Rendering(images=images, labels=labels)


def _paint_lesion(cv: Canvas, anatomy: Anatomy, liver: np.ndarray, rng: np.random.Generator,
                  labels: dict[str, np.ndarray]) -> None:
    """The lesion: heterogeneous viable tumour, a capsule ring and a necrotic core covering at
    least ``NECROSIS_MIN_FRACTION`` of it, all clipped to the liver."""
    lesion = anatomy.lesion
    win = cv.union_window(lesion.lobes, 0.03)
    if win is not None:
        x, y = cv.x[win], cv.y[win]
        tumour = lesion.lobes[0].sd(x, y)
        for lobe in lesion.lobes[1:]:
            tumour = smooth_union(tumour, lobe.sd(x, y), 0.03)
        tumour = np.maximum(tumour, liver[win] + np.float32(0.015))
        lesion_win = tumour <= 0
    if win is None or not lesion_win.any():
        raise ValueError("phantom: the lesion falls outside the image; this anatomy cannot be rendered")
    necrosis = np.maximum(lesion.necrosis.sd(x, y), tumour + np.float32(2.5 * lesion.capsule_thickness))
    # Grow the necrosis (raise its level set) until it covers the required share of the lesion.
    necrosis -= np.float32(max(0.0, float(np.quantile(necrosis[lesion_win], NECROSIS_MIN_FRACTION))))

    hetero = _smooth_fields(rng, 1, cv.size, cv.size / 28)[0][win]
    values = cv.values("tumour", hetero.shape)
    values[0] *= 1 + np.float32(lesion.heterogeneity) * hetero  # mosaic arterial enhancement
    values[1:3] *= 1 + np.float32(0.1) * hetero
    cv.paint(win, tumour, values)
    capsule = np.maximum(tumour, -(tumour + np.float32(lesion.capsule_thickness)))
    cv.paint(win, capsule, "capsule")
    cv.paint(win, necrosis, "necrosis")
    for name, inside in (("lesion", lesion_win), ("necrosis", (necrosis <= 0) & lesion_win),
                         ("capsule", (capsule <= 0) & lesion_win)):
        labels[name] = np.zeros((cv.size, cv.size), dtype=bool)
        labels[name][win] = inside
    labels["viable"] = labels["lesion"] & ~labels["necrosis"] & ~labels["capsule"]


# Texture: smooth random fields (spleen bands, tumour mosaic) and the fine texture of every tissue.


@lru_cache(maxsize=32)
def _spectral_envelope(size: int, length: float) -> tuple[np.ndarray, int]:
    """Gaussian low-pass weights of the few frequency bins that matter for correlation length
    ``length`` (pixels): rows ``0..k-1`` and ``-k+1..-1``, columns ``0..k-1`` of an rfft2 grid."""
    k = max(2, math.ceil(0.5 * size / length)) + 1
    fy = np.fft.fftfreq(size)[np.r_[0:k, size - k + 1:size]][:, None]
    fx = np.fft.rfftfreq(size)[:k][None, :]
    return np.exp(-0.5 * (2 * math.pi * length) ** 2 * (fy * fy + fx * fx)).astype(np.float32), k


def _smooth_fields(rng: np.random.Generator, count: int, size: int, length: float) -> np.ndarray:
    """``count`` zero-mean, unit-variance random fields with correlation length ``length`` pixels,
    from random low-frequency Fourier coefficients (one small inverse FFT, no full-size filter)."""
    envelope, k = _spectral_envelope(size, length)
    spectrum = np.zeros((count, size, size // 2 + 1), dtype=np.complex64)
    coefficients = rng.standard_normal((2, count) + envelope.shape, dtype=np.float32) * envelope
    spectrum[:, np.r_[0:k, size - k + 1:size], :k] = coefficients[0] + 1j * coefficients[1]
    fields = np.fft.irfft2(spectrum, s=(size, size)).astype(np.float32, copy=False)
    fields -= fields.mean(axis=(1, 2), keepdims=True)
    return fields / fields.std(axis=(1, 2), keepdims=True)


_TEXTURE_KERNEL = np.exp(-0.5 * (np.arange(-2, 3) / 0.8) ** 2).astype(np.float32)
_TEXTURE_KERNEL /= _TEXTURE_KERNEL.sum()


def _fine_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """Zero-mean, unit-variance texture correlated over about a pixel: uniform noise (cheaper
    to draw than Gaussian) through a separable 5-tap Gaussian, scaled by its known variance."""
    texture = rng.random((size, size), dtype=np.float32) - np.float32(0.5)
    for axis in (0, 1):
        texture = ndimage.correlate1d(texture, _TEXTURE_KERNEL, axis=axis, mode="wrap")
    return texture * np.float32(1 / math.sqrt(float((_TEXTURE_KERNEL ** 2).sum()) ** 2 / 12))
