"""The FID-standard Inception (pytorch-fid's), built from a local weights file.

pytorch-fid's ``InceptionV3`` gets its network from ``fid_inception_v3()``, which downloads the
weights: torchvision's Inception v3 with 1008 classes and no aux head, whose Mixed_5b-5d,
Mixed_6b-6e, Mixed_7b and Mixed_7c are replaced by pytorch-fid's FIDInceptionA / C / E_1 / E_2
(TF's average pools ignore the padded zeros; the last block max-pools), then loads the state
dict. ``fid_inception_v3`` below assembles the same network and loads the given state dict;
``FIDInceptionV3`` groups it into the four blocks pytorch-fid runs up to its final average pool,
with pytorch-fid's ``resize_input=False`` (299 x 299 comes in) and ``normalize_input=True`` (2x - 1).
"""

from __future__ import annotations

import torch
import torchvision
from torch import nn

try:
    from pytorch_fid.inception import FIDInceptionA, FIDInceptionC, FIDInceptionE_1, FIDInceptionE_2
except ImportError as exc:
    raise ImportError("the fid-inception backbone needs the pytorch-fid package: pip install pytorch-fid") from exc


def fid_inception_v3(state: dict) -> torchvision.models.Inception3:
    net = torchvision.models.inception_v3(weights=None, num_classes=1008, aux_logits=False, init_weights=False)
    net.Mixed_5b = FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = FIDInceptionE_1(1280)
    net.Mixed_7c = FIDInceptionE_2(2048)
    net.load_state_dict(state)
    return net


class FIDInceptionV3(nn.Module):
    """pytorch-fid's ``InceptionV3([3], resize_input=False, normalize_input=True)``: [0, 1] input,
    (n, 2048, 1, 1) final average pool out."""

    resize_input = False
    normalize_input = True

    def __init__(self, inception: torchvision.models.Inception3):
        super().__init__()
        i = inception
        self.blocks = nn.ModuleList([
            nn.Sequential(i.Conv2d_1a_3x3, i.Conv2d_2a_3x3, i.Conv2d_2b_3x3, nn.MaxPool2d(kernel_size=3, stride=2)),
            nn.Sequential(i.Conv2d_3b_1x1, i.Conv2d_4a_3x3, nn.MaxPool2d(kernel_size=3, stride=2)),
            nn.Sequential(i.Mixed_5b, i.Mixed_5c, i.Mixed_5d, i.Mixed_6a, i.Mixed_6b, i.Mixed_6c, i.Mixed_6d,
                          i.Mixed_6e),
            nn.Sequential(i.Mixed_7a, i.Mixed_7b, i.Mixed_7c, nn.AdaptiveAvgPool2d(output_size=(1, 1))),
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = 2 * x - 1  # pytorch-fid's normalize_input: (0, 1) -> (-1, 1)
        for block in self.blocks:
            x = block(x)
        return x


class PoolFeatures(nn.Module):
    """``net``'s (n, 2048, 1, 1) pool map as (n, 2048) features."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1)


def build(state: dict) -> nn.Module:
    return PoolFeatures(FIDInceptionV3(fid_inception_v3(state)))
