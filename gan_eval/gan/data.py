"""Between cases and tensors: real cases in, generated cases and sample grids out.

A training image is ``(C, R, R)`` in [-1, 1]: the three sequences, each min-max normalised on
its own (the challenge's preprocessing, so intensity scales of different scanners do not
matter), plus, when every real case has masks, one lesion channel (-1 outside, +1 inside).
The per-sequence masks are merged into that one channel (their union): the sequences are
co-registered, so one lesion outline serves all three and the generator cannot make them
disagree. A case with masks for some sequences only contributes the union of those it has
(the planes of the others are zero).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from gan_eval.cases import Case

COLUMN_LABELS = ("T1 art", "T1 portal", "T2", "mask")  # channel order of a training image


def normalise_image(image: np.ndarray) -> np.ndarray:
    """Min-max one 2D image to [-1, 1] as float32; a constant image maps to -1 (background)."""
    image = image.astype(np.float32)
    low, high = float(image.min()), float(image.max())
    if high <= low:
        return np.full_like(image, -1.0)
    return (image - low) / (high - low) * 2.0 - 1.0


def cases_to_tensor(cases: Sequence[Case], resolution: int) -> tuple[torch.Tensor, bool]:
    """Stack cases into ``(n, C, R, R)`` float32 in [-1, 1]; returns the tensor and whether it
    has the mask channel (only when every case has masks). Resizing is bilinear with
    antialiasing, which averages like area resampling when shrinking."""
    if not cases:
        raise ValueError("cases_to_tensor: no cases to train on")
    with_masks = all(case.masks is not None for case in cases)
    stacked = []
    for case in cases:
        channels = [normalise_image(image) for image in case.images]
        if with_masks:
            channels.append((case.masks.max(axis=0) > 0).astype(np.float32) * 2.0 - 1.0)
        image = torch.from_numpy(np.stack(channels))[None]
        stacked.append(F.interpolate(image, size=(resolution, resolution), mode="bilinear",
                                     antialias=True, align_corners=False)[0])
    return torch.stack(stacked).clamp_(-1.0, 1.0), with_masks


def to_uint16(x: torch.Tensor) -> np.ndarray:
    """[-1, 1] -> 0..65535."""
    return np.rint((x.clamp(-1, 1).cpu().numpy() + 1.0) * 32767.5).astype(np.uint16)


def tensor_to_cases(x: torch.Tensor, case_ids: Sequence[str]) -> list[Case]:
    """Generator output ``(n, C, R, R)`` -> cases with uint16 images and, when C == 4, masks
    (the lesion channel thresholded at 0, repeated for the three sequences)."""
    images = to_uint16(x[:, :3])
    masks = (x[:, 3:4] > 0).cpu().numpy().astype(np.uint8).repeat(3, axis=1) if x.shape[1] == 4 else None
    return [Case(case_id=case_id, images=images[i], masks=None if masks is None else masks[i], source="gan")
            for i, case_id in enumerate(case_ids)]


def sample_grid(x: torch.Tensor, gap: int = 2, header: int = 14) -> Image.Image:
    """A grayscale grid: one row per case, one column per channel (T1 art, T1 portal, T2, mask)."""
    n, channels, res, _ = x.shape
    tiles = np.rint((x.detach().clamp(-1, 1).cpu().numpy() + 1.0) * 127.5).astype(np.uint8)
    step = res + gap
    grid = np.full((header + n * step - gap, channels * step - gap), 255, dtype=np.uint8)
    for row in range(n):
        for col in range(channels):
            grid[header + row * step: header + row * step + res, col * step: col * step + res] = tiles[row, col]
    image = Image.fromarray(grid)
    draw = ImageDraw.Draw(image)
    for col in range(channels):
        draw.text((col * step + 2, 1), COLUMN_LABELS[col], fill=0)
    return image
