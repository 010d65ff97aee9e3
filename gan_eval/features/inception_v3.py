"""Inception v3 with torchvision's ImageNet weights, up to its 2048-d pool: the challenge's backbone."""

from __future__ import annotations

import torchvision
from torch import nn

from .normalised import Normalised


def build(state: dict) -> nn.Module:
    # transform_input=False: torchvision's ImageNet builder sets it True, which assumes
    # ImageNet-mean/std input and rescales it to 2x - 1. We feed [0, 1] and do 2x - 1 directly
    # (the same arithmetic, one step). init_weights=False: the random init is overwritten anyway.
    net = torchvision.models.inception_v3(weights=None, aux_logits=True, transform_input=False, init_weights=False)
    net.load_state_dict(state)
    net.AuxLogits = None   # only used in training mode
    net.fc = nn.Identity()  # pooled 2048-d features instead of logits (dropout is off in eval)
    return Normalised(net, mean=0.5, std=0.5)
