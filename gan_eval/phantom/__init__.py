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

Modules, in the order a case is made: :mod:`.shapes` (signed-distance primitives),
:mod:`.anatomy` (what a patient is) and :mod:`.sampling` (drawing one), :mod:`.contrast`
(tissue signal per sequence), :mod:`.canvas` and :mod:`.render` (pixels and label maps),
:mod:`.acquisition` (bias field, noise, uint16 storage). This module assembles cases from them.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from scipy import ndimage

from ..cases import Case
from .acquisition import acquire, to_uint16
from .anatomy import Anatomy, Lesion, Pose, Spine, Trunk
from .canvas import PARTIAL_VOLUME_PX, Window
from .contrast import TISSUE_NAMES, TISSUES
from .render import NECROSIS_MIN_FRACTION, Rendering, render
from .sampling import sample_anatomy
from .shapes import Blob, Harmonics, Shape, Tube

# The public API: import it from here; the submodules are its implementation.
__all__ = [
    "MIN_SIZE", "NECROSIS_MIN_FRACTION", "PARTIAL_VOLUME_PX", "TISSUE_NAMES", "TISSUES", "VERSION",
    "Anatomy", "Blob", "Harmonics", "Lesion", "Pose", "Rendering", "Shape", "Spine", "Trunk", "Tube", "Window",
    "acquire", "anatomy_for_seed", "case_seed", "inconsistent_anatomy_seeds", "iter_cases",
    "iter_inconsistent_cases", "make_case", "make_cases", "render", "sample_anatomy", "to_uint16",
]

VERSION = "2"  # bump when the same seed would draw different pixels (the demo rebuilds then)
MIN_SIZE = 32


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
