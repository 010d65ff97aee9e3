"""DiffAugment (Zhao et al., NeurIPS 2020) for multi-sequence cases.

Differentiable augmentations applied to every discriminator input, real and fake alike, so the
discriminator cannot memorise ~91 images and the generator still learns the un-augmented
distribution. Only geometric policies are offered, each drawn once per sample and applied
identically to every channel: a case's sequences (and its lesion mask) stay co-registered.
Per-channel colour changes (saturation, contrast per channel) would break the relation between
sequences and are deliberately absent. Empty regions are filled with -1, the normalised
background intensity, rather than 0 (mid-grey in [-1, 1]).

Random numbers come from a CPU ``torch.Generator`` so a run is reproducible on any device.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

FILL = -1.0


def translate(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each sample by up to ``ratio`` of its size (integer pixels), all channels alike."""
    n, _, h, w = x.shape
    max_dy, max_dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_dy, max_dy + 1, (n, 1, 1), generator=generator).to(x.device)
    dx = torch.randint(-max_dx, max_dx + 1, (n, 1, 1), generator=generator).to(x.device)
    padded = F.pad(x, (max_dx, max_dx, max_dy, max_dy), value=FILL)
    # Output pixel (i, j) reads padded pixel (i - dy + max_dy, j - dx + max_dx).
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy + max_dy
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx + max_dx
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # channels_last layout


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Fill one rectangle of ``ratio`` of the size per sample (centre anywhere), all channels alike."""
    n, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = (torch.randint(0, h, (n, 1, 1, 1), generator=generator) - size_y // 2).to(x.device)
    left = (torch.randint(0, w, (n, 1, 1, 1), generator=generator) - size_x // 2).to(x.device)
    rows = torch.arange(h, device=x.device).view(1, 1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, 1, w)
    hole = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    return x.masked_fill(hole, FILL)  # hole is (n, 1, h, w): broadcast over channels


AUGMENTATIONS = {"translation": translate, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: Sequence[str], generator: torch.Generator) -> torch.Tensor:
    """Apply the named augmentations in order; an empty policy returns ``x`` unchanged."""
    for name in policy:
        x = AUGMENTATIONS[name](x, generator)
    return x
