"""Turn case images into display pixels: window/level, mask outlines, thumbnails.

Display only: nothing here feeds the metrics (those use gan_eval.preprocess).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .cases import Case

MASK_COLOUR = (255, 80, 40)


def percentile_window(image: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """(level, width) that maps the [low, high] percentiles of ``image`` to black..white."""
    lo, hi = np.percentile(image, [low, high])
    if hi <= lo:
        hi = lo + 1.0
    return float((lo + hi) / 2), float(hi - lo)


# Window/level presets, as display percentiles of each image: MRI intensities have no fixed
# scale (unlike CT's Hounsfield units), so a preset adapts to the image it is applied to.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "Auto (0.5–99.5 %)": (0.5, 99.5),
    "Full range": (0.0, 100.0),
    "Soft tissue (5–99 %)": (5.0, 99.0),
    "High contrast (20–95 %)": (20.0, 95.0),
    "Bright lesion (50–99.9 %)": (50.0, 99.9),
}
MANUAL = "Manual (level / width)"


def preset_window(image: np.ndarray, preset: str) -> tuple[float, float]:
    """(level, width) of a named preset (``WINDOW_PRESETS``) for ``image``."""
    try:
        low, high = WINDOW_PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown window preset {preset!r}; choose one of {', '.join(WINDOW_PRESETS)}") from None
    return percentile_window(image, low, high)


def intensity_range(image: np.ndarray) -> tuple[float, float]:
    """(min, max) of ``image``, never an empty range: the bounds of a manual level/width."""
    lo, hi = float(np.min(image)), float(np.max(image))
    return lo, hi if hi > lo else lo + 1.0


def apply_window(image: np.ndarray, level: float, width: float) -> np.ndarray:
    """uint8 display of ``image`` with the given window centre and width."""
    width = max(float(width), 1e-6)
    scaled = (image.astype(np.float32) - (level - width / 2)) / width
    return (np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)


def mask_outline(mask: np.ndarray) -> np.ndarray:
    """Boolean one-pixel outline of a binary mask."""
    m = mask.astype(bool)
    interior = m.copy()
    interior[1:, :] &= m[:-1, :]
    interior[:-1, :] &= m[1:, :]
    interior[:, 1:] &= m[:, :-1]
    interior[:, :-1] &= m[:, 1:]
    return m & ~interior


def to_rgb(gray: np.ndarray, outline: np.ndarray | None = None) -> np.ndarray:
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    if outline is not None:
        rgb[outline] = MASK_COLOUR
    return rgb


def case_strip(case: Case, windows: list[tuple[float, float]] | None = None, show_mask: bool = False,
               gap: int = 4) -> np.ndarray:
    """The three sequences side by side as one RGB uint8 image."""
    panels = []
    for i, image in enumerate(case.images):
        level, width = windows[i] if windows else percentile_window(image)
        mask = case.mask(i) if show_mask else None
        outline = mask_outline(mask) if mask is not None else None
        panels.append(to_rgb(apply_window(image, level, width), outline))
    h = panels[0].shape[0]
    spacer = np.full((h, gap, 3), 255, np.uint8)
    parts = []
    for i, panel in enumerate(panels):
        parts += [panel] if i == 0 else [spacer, panel]
    return np.concatenate(parts, axis=1)


def thumbnail_png(case: Case, height: int = 64) -> bytes:
    """A small PNG of the three sequences, for galleries and hover previews."""
    strip = Image.fromarray(case_strip(case, gap=2))
    width = round(strip.width * height / strip.height)
    buf = io.BytesIO()
    strip.resize((width, height), Image.Resampling.BILINEAR).save(buf, format="PNG")
    return buf.getvalue()

