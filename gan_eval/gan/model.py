"""A small DCGAN-style generator and a spectrally normalised discriminator.

One image = one case: channels are T1 arterial, T1 portal, T2 (and the lesion mask when the real
set has masks), so the networks see the three sequences, and the lesion, as one aligned object.
The generator uses pixel norm instead of batch norm: a sample does not depend on the other
samples of its batch, so export gives the same cases whatever the batch size, and the EMA copy
needs no batch statistics.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

MIN_WIDTH, MAX_WIDTH = 8, 256


def channel_widths(resolution: int, width: int) -> dict[int, int]:
    """Channels per scale 4..resolution: ``width`` at 64x64, doubled per halving, halved per
    doubling (8 to 256). A scale has the same width at every resolution, so going from 64 to
    128 adds one cheap thin layer rather than doubling every layer's cost."""
    widths, scale = {}, resolution
    while scale >= 4:
        widths[scale] = max(MIN_WIDTH, min(MAX_WIDTH, width * 64 // scale))
        scale //= 2
    return widths


class PixelNorm(nn.Module):
    """Normalise each pixel's feature vector to unit RMS (ProGAN)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class Generator(nn.Module):
    def __init__(self, resolution: int, channels: int, z_dim: int = 128, width: int = 16):
        super().__init__()
        ch = channel_widths(resolution, width)
        self.z_dim, self.base_channels = z_dim, ch[4]
        self.z_norm = PixelNorm()
        self.project = nn.Linear(z_dim, ch[4] * 4 * 4)
        layers: list[nn.Module] = [PixelNorm(), nn.LeakyReLU(0.2),
                                   nn.Conv2d(ch[4], ch[4], 3, padding=1), PixelNorm(), nn.LeakyReLU(0.2)]
        scale = 4
        while scale < resolution:
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv2d(ch[scale], ch[scale * 2], 3, padding=1), PixelNorm(), nn.LeakyReLU(0.2)]
            scale *= 2
        self.body = nn.Sequential(*layers)
        self.to_image = nn.Conv2d(ch[resolution], channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(self.z_norm(z)).view(-1, self.base_channels, 4, 4)
        return torch.tanh(self.to_image(self.body(x)))


class MinibatchStd(nn.Module):
    """Append the batch's mean feature standard deviation as one more channel (ProGAN): the
    discriminator can then see a batch without variety, which is what mode collapse looks like.
    A batch must be all real or all fake (train.py runs D on each apart), else the reals' spread
    hides the fakes' lack of it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spread = x.std(dim=0, unbiased=False).mean().expand(x.shape[0], 1, *x.shape[2:])
        return torch.cat([x, spread], dim=1)


def lesion_spread(x: torch.Tensor) -> torch.Tensor:
    """The batch's per-pixel standard deviation of the lesion mask (last channel), averaged over
    the image: 0 when every case has its lesion in the same place with the same size, larger the
    more the lesions' positions and sizes vary. A scalar."""
    return x[:, -1].std(dim=0, unbiased=False).mean()


class Discriminator(nn.Module):
    """Convolutions down to 4x4, where minibatch statistics are appended, then one linear logit.

    With ``lesion_std > 0`` (and a mask channel) the batch's lesion spread (``lesion_spread``),
    times ``lesion_std``, is appended too, as one more constant channel: a minibatch std of the
    lesion alone, so that a batch whose lesions all sit in one place looks unlike a real batch.
    It is taken from the batch before augmentation (``unaugmented``): DiffAugment moves and cuts
    each case differently, and after it 16 copies of one case have 91-94% of a real batch's spread
    of lesion positions (bench/RESULTS.md): computed after it, neither this spread nor the general
    minibatch std (which also averages the lesion, ~3% of the pixels, with the anatomy) could see
    the collapse. One number per batch cannot memorise real cases, which augmentation guards against.
    """

    def __init__(self, resolution: int, channels: int, width: int = 16, lesion_std: float = 0.0):
        super().__init__()
        ch = channel_widths(resolution, width)
        self.lesion_std = lesion_std if channels == 4 else 0.0
        extra = 1 + (1 if self.lesion_std else 0)
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(channels, ch[resolution], 3, padding=1)), nn.LeakyReLU(0.2)]
        scale = resolution
        while scale > 4:
            layers += [spectral_norm(nn.Conv2d(ch[scale], ch[scale // 2], 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            scale //= 2
        self.down = nn.Sequential(*layers, MinibatchStd())
        self.features = nn.Sequential(spectral_norm(nn.Conv2d(ch[4] + extra, ch[4], 3, padding=1)), nn.LeakyReLU(0.2))
        self.head = spectral_norm(nn.Linear(ch[4] * 4 * 4, 1))
        self._register_load_state_dict_pre_hook(self._read_one_sequence_checkpoint)

    def _read_one_sequence_checkpoint(self, state: dict, prefix: str, *_) -> None:
        """Checkpoints written before the lesion spread held ``down`` and ``features`` as one
        ``features`` sequence; rename their keys, so that those runs still resume."""
        start = f"{prefix}features."
        indexed = [(key, *key[len(start):].split(".", 1)) for key in state if key.startswith(start)]
        if all(int(index) < len(self.features) for _, index, _ in indexed):
            return  # the current layout
        split = len(self.down)
        for key, index, rest in indexed:
            target = f"down.{index}" if int(index) < split else f"features.{int(index) - split}"
            state[f"{prefix}{target}.{rest}"] = state.pop(key)

    def forward(self, x: torch.Tensor, unaugmented: torch.Tensor | None = None) -> torch.Tensor:
        """One real/fake logit per image of ``x``; ``unaugmented`` is the batch before augmentation
        (default ``x``), read only for the lesion spread."""
        h = self.down(x)
        if self.lesion_std:
            spread = lesion_spread(x if unaugmented is None else unaugmented) * self.lesion_std
            h = torch.cat([h, spread.expand(len(h), 1, *h.shape[2:])], dim=1)
        return self.head(self.features(h).flatten(1)).squeeze(1)
