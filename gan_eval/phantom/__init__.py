"""Synthetic MTM-HCC liver MRI cases: axial abdominal slices at liver level in three sequences.

A case is drawn in two independent steps, each from its own random stream of the seed:

1. *Anatomy* (:class:`Anatomy`, :func:`sample_anatomy`): body outline, subcutaneous fat,
   abdominal wall, liver with portal and hepatic vein branches, gallbladder, spleen, stomach,
   pancreas, kidneys, aorta, IVC, spine with posterior elements, paraspinal muscles, ribs, bowel
   loops, lung bases, one lobulated MTM-HCC with a necrotic core and a capsule, per-case tissue
   contrast and the pose in the field of view. Shapes live in *body units*: the body's
   half-width is 1, x grows towards the patient's left (the viewer's right, radiological
   convention) and y grows posteriorly, so an anatomy does not depend on the image size.
2. *Acquisition* (:func:`render` then noise): partial-volume softening, fine tissue texture, a
   smooth multiplicative coil bias field and Rician noise.

Every organ is a signed-distance field (Fourier-perturbed ellipses and tapered tubes combined
by smooth union, intersection and carving), so boundaries are smooth, anti-aliased and shared
exactly by the three sequences and the lesion mask. Tissue signal follows fat-saturated 3D T1
gradient echo in the arterial and portal-venous phases and fat-saturated T2 (see ``TISSUES``).
Generation is vectorised numpy: shapes are evaluated only in their bounding windows, many small
shapes in one batch, angles come from a complex-power recursion instead of ``arctan2``, and
smooth random fields from a few low-frequency Fourier coefficients.

Public entry points: :func:`make_case`, :func:`iter_cases` / :func:`make_cases` (sets whose case
``i`` does not depend on the set size), :func:`iter_inconsistent_cases`, :func:`case_seed`.
Lower level, for tests and the demo: :func:`anatomy_for_seed`, :func:`render` (noiseless images
and label maps), :func:`acquire`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

import numpy as np
from scipy import ndimage

from ..cases import Case
from .acquisition import acquire, to_uint16
from .anatomy import Anatomy, Lesion, Pose, Spine, Trunk, liver_sd
from .canvas import PARTIAL_VOLUME_PX, Canvas, Window, bounding_window
from .contrast import TISSUE_NAMES, TISSUES, case_tissue_values
from .sampling import sample_anatomy
from .shapes import Blob, Harmonics, Shape, Tube, smooth_union

# The public API (the submodules are its implementation; import from here).
__all__ = [
    "MIN_SIZE", "NECROSIS_MIN_FRACTION", "PARTIAL_VOLUME_PX", "TISSUE_NAMES", "TISSUES", "VERSION",
    "Anatomy", "Blob", "Harmonics", "Lesion", "Pose", "Rendering", "Shape", "Spine", "Trunk", "Tube", "Window",
    "acquire", "anatomy_for_seed", "case_seed", "inconsistent_anatomy_seeds", "iter_cases",
    "iter_inconsistent_cases", "make_case", "make_cases", "render", "sample_anatomy", "to_uint16",
]

VERSION = "2"  # bump when the same seed would draw different pixels (the demo rebuilds then)
NECROSIS_MIN_FRACTION = 0.22  # of the lesion area: MTM-HCC shows a large necrotic core
MIN_SIZE = 32


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def case_seed(seed: int, index: int, stream: int = 0) -> int:
    """The seed of case ``index`` in a set made with ``seed`` (whatever the set's size);
    ``stream`` separates independent families of seeds drawn from the same ``seed``."""
    state = np.random.SeedSequence([seed, index, stream]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    anatomy_ss, acquisition_ss = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(anatomy_ss), np.random.default_rng(acquisition_ss)


def anatomy_for_seed(seed: int) -> Anatomy:
    """The anatomy that ``make_case(seed)`` draws."""
    return sample_anatomy(_streams(seed)[0])


def _check_size(size: int) -> None:
    if size < MIN_SIZE:
        raise ValueError(f"phantom: size must be at least {MIN_SIZE} pixels, got {size}")


def _finish(seed: int, case_id: str | None, images: np.ndarray, masks: np.ndarray, blur_sigma: float,
            rng: np.random.Generator) -> Case:
    images = acquire(images, rng)
    if blur_sigma > 0:
        images = ndimage.gaussian_filter(images, sigma=(0, blur_sigma, blur_sigma))
    return Case(case_id=case_id or f"phantom_{seed}", images=to_uint16(images), masks=masks.astype(np.uint8),
                source="phantom", meta={"seed": seed, "generator": "phantom"})


def make_case(seed: int, size: int = 256, case_id: str | None = None, *, blur_sigma: float = 0.0,
              anatomy_seeds: tuple[int, int, int] | None = None) -> Case:
    """One synthetic MTM-HCC case, deterministic for its arguments.

    Returns a :class:`~gan_eval.cases.Case` with ``images`` uint16 ``(3, size, size)`` (T1
    arterial, T1 portal-venous, T2 fat-sat; signal up to about 4000) and ``masks`` uint8
    ``(3, size, size)``: the lesion, identical for the three sequences.

    ``blur_sigma`` (pixels) blurs the acquired images, as a low-fidelity generator would.
    ``anatomy_seeds`` draws each sequence from a different patient (the anatomy of
    ``make_case(anatomy_seeds[k])``): an anatomically inconsistent case whose masks follow each
    sequence's own anatomy. ``seed`` still sets the acquisition (bias field, noise).
    """
    _check_size(size)
    anatomy_rng, acquisition_rng = _streams(seed)
    if anatomy_seeds is None:
        lesion = (rendering := render(sample_anatomy(anatomy_rng), size)).labels["lesion"]
        return _finish(seed, case_id, rendering.images, np.repeat(lesion[None], 3, axis=0), blur_sigma, acquisition_rng)
    renderings = [render(anatomy_for_seed(s), size) for s in anatomy_seeds]
    images = np.stack([r.images[k] for k, r in enumerate(renderings)])
    masks = np.stack([r.labels["lesion"] for r in renderings])
    return _finish(seed, case_id, images, masks, blur_sigma, acquisition_rng)


def iter_cases(n: int, seed: int, size: int = 256, prefix: str = "case", **options) -> Iterator[Case]:
    """``n`` cases named ``{prefix}_{i:04d}``, one at a time; case ``i`` is
    ``make_case(case_seed(seed, i), size, ...)``, the same whatever ``n`` is. ``options`` go to
    :func:`make_case`."""
    for i in range(n):
        yield make_case(case_seed(seed, i), size, f"{prefix}_{i:04d}", **options)


def make_cases(n: int, seed: int, size: int = 256, prefix: str = "case", **options) -> list[Case]:
    """The list of :func:`iter_cases`."""
    return list(iter_cases(n, seed, size, prefix, **options))


def inconsistent_anatomy_seeds(n: int, seed: int, index: int) -> tuple[int, int, int]:
    """The patients of case ``index`` in :func:`iter_inconsistent_cases`: the two T1 phases show
    anatomy ``index`` of a pool drawn from ``seed``, the T2 anatomy ``index + 1`` (mod ``n``)."""
    t1, t2 = (case_seed(seed, (index + k) % n, stream=1) for k in range(2))
    return t1, t1, t2


def iter_inconsistent_cases(n: int, seed: int, size: int = 256, prefix: str = "case", *, start: int = 0,
                            stop: int | None = None) -> Iterator[Case]:
    """Cases ``start`` to ``stop - 1`` (default: all) of a set of ``n`` anatomically inconsistent
    cases: T1 arterial and portal-venous of one patient, T2 of another. Case ``i`` equals
    ``make_case(case_seed(seed, i), size, anatomy_seeds=inconsistent_anatomy_seeds(n, seed, i))``,
    but each pooled anatomy is rendered once instead of twice: its T1 images serve case ``i`` and
    its T2 image case ``i - 1``.

    Only T2 is swapped (not all three sequences): the set then stays close to the real
    distribution in FID (each T1 pair is a real-looking patient) and is caught by what it is
    built to show, the cross-sequence consistency measure."""
    if n < 2:
        raise ValueError(f"iter_inconsistent_cases: n must be at least 2 to mix two patients, got {n}")
    _check_size(size)
    stop = n if stop is None else stop
    rendered: dict[int, Rendering] = {}
    for i in range(start, stop):
        for j in (i, (i + 1) % n):
            if j not in rendered:
                rendered[j] = render(anatomy_for_seed(case_seed(seed, j, stream=1)), size)
        parts = [rendered[i], rendered[i], rendered[(i + 1) % n]]
        images = np.stack([r.images[k] for k, r in enumerate(parts)])
        masks = np.stack([r.labels["lesion"] for r in parts])
        case_seed_i = case_seed(seed, i)
        yield _finish(case_seed_i, f"{prefix}_{i:04d}", images, masks, 0.0, _streams(case_seed_i)[1])
        # Anatomy i also serves case i - 1 (its T2): still ahead only where the pool wraps around.
        if not i < (i - 1) % n < stop:
            del rendered[i]
