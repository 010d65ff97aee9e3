"""``net((x - mean) / std)``: a backbone's own input normalisation, inside its module (so the
exported ONNX graph and the torch module take the same [0, 1] input)."""

from __future__ import annotations

import torch
from torch import nn


class Normalised(nn.Module):
    def __init__(self, net: nn.Module, mean: float, std: float):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.full((1, 3, 1, 1), mean, dtype=torch.float32))
        self.register_buffer("std", torch.full((1, 3, 1, 1), std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)
