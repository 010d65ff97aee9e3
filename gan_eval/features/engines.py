"""Engines: the function that turns a preprocessed batch into features on a resolved device.

- ``"cpu"``: ONNX Runtime on every CPU thread, running a graph exported once from the torch module
  (legacy TorchScript exporter, dynamic batch axis) and kept in the cache's models folder under
  the weights fingerprint. On a 2-core CPU it is several times faster than torch with the same
  features (tests check both agree within 1e-4 relative; ~1e-6 measured).
- ``"cpu-torch"``: the torch module on CPU, the reference.
- ``"cuda"`` / ``"cuda:N"``: the torch module on that GPU in float32 (no TF32, no bf16: the
  numbers must not depend on the card).

The export runs in a child interpreter: torch, tracing and exporting leave ~500 MB in a process
(measured: 760 MB at the first batch of a cold embedding in-process, 270 MB with the graph
already exported), and a command that embeds must stay well under 1 GB.

An exported graph is trusted only as the exporter wrote it: its sha256 is recorded beside it
(``<model>.sha256.json``, a checked JSON) and verified on the bytes that ONNX Runtime is given.
A graph with flipped bytes may well load and give wrong features, which the cache would then
keep; a mismatch, a missing record or an unreadable graph is warned about and exported again.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..preprocess import INPUT_SIZE
from ..store import atomic_path, file_sha256, read_checked_json, write_checked_json
from .weights import Backbone

if TYPE_CHECKING:
    from ..cache import EmbeddingCache

Engine = Callable[[np.ndarray], np.ndarray]  # (n, 3, 299, 299) float32 in [0, 1] -> (n, dim) float32

_ONNX_GRAPH_VERSION = "1"      # bump when the exported graph changes for the same weights
_ONNX_OPSET = 17
_WEIGHTS_REFUSED = 3           # the export child's exit status when Backbone.build refuses the weights


def make_engine(backbone: Backbone, device: str, cache: "EmbeddingCache | None") -> Engine:
    """The engine for ``device`` (resolved: 'cpu', 'cpu-torch', 'cuda' or 'cuda:N'); a network-free
    backbone's own function on any device (it runs on the CPU)."""
    if backbone.spec.network_free:
        return importlib.import_module(f"{__package__}.{backbone.spec.module}").engine
    return OnnxEngine(backbone, cache) if device == "cpu" else torch_engine(backbone, device)


def torch_engine(backbone: Backbone, device: str) -> Engine:
    import torch

    on_gpu = device != "cpu-torch"
    torch_device = device if on_gpu else "cpu"
    if not on_gpu:
        torch.set_num_threads(os.cpu_count() or 1)
    module = backbone.build().to(torch_device)
    if on_gpu:  # channels_last: the fast cuDNN layout; still float32 arithmetic
        module = module.to(memory_format=torch.channels_last)

    def run(batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(batch).to(torch_device)
        if not on_gpu:
            with torch.inference_mode():
                return module(x).numpy()
        # cuDNN convolutions default to TF32 on recent GPUs; features must not depend on the card,
        # so force full float32 for this call only (the flag is process-wide, restore it).
        tf32 = torch.backends.cudnn.allow_tf32
        torch.backends.cudnn.allow_tf32 = False
        try:
            with torch.inference_mode():
                return module(x.contiguous(memory_format=torch.channels_last)).float().cpu().numpy()
        finally:
            torch.backends.cudnn.allow_tf32 = tf32

    return run


# ------------------------------------------------------------------------------------- ONNX

def onnx_model_name(backbone: Backbone) -> str:
    return f"{backbone.id}-{backbone.fingerprint}-g{_ONNX_GRAPH_VERSION}-opset{_ONNX_OPSET}.onnx"


def onnx_checksum_path(model: Path) -> Path:
    """Where the sha256 of an exported graph is recorded."""
    return model.with_name(model.name + ".sha256.json")


def export_onnx(backbone: Backbone, path: Path) -> None:
    """Export the backbone's torch module to ``path`` (atomically) in a child interpreter, batch
    axis dynamic, and record its sha256 beside it. Weights the module refuses raise ValueError
    with the child's message (as ``Backbone.build`` does); any other failure RuntimeError."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH")))))
    done = subprocess.run([sys.executable, "-c", f"from {__name__} import _export_here; _export_here()",
                           backbone.id, str(backbone.weights_path), backbone.fingerprint, str(path)],
                          env=env, capture_output=True, text=True)
    if done.returncode == _WEIGHTS_REFUSED:
        raise ValueError(done.stderr.strip())
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise RuntimeError(f"exporting {backbone.id} to ONNX ({path}) failed: {last}")


def _export_here() -> None:
    """The child's side of export_onnx: ``argv`` = backbone id, weights path, fingerprint, output."""
    import torch

    from .registry import get_spec

    backbone_id, weights, fingerprint, out = sys.argv[1:5]
    try:
        module = Backbone(get_spec(backbone_id), Path(weights), fingerprint).build()
    except ValueError as exc:
        sys.stderr.write(str(exc))
        sys.exit(_WEIGHTS_REFUSED)
    path = Path(out)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # The legacy exporter is deprecated and chatty, but 3x quicker to export than the dynamo
        # one and gives the same graph for these plain convolutional nets.
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE),), str(tmp),
                          input_names=["image"], output_names=["features"],
                          dynamic_axes={"image": {0: "n"}, "features": {0: "n"}},
                          opset_version=_ONNX_OPSET, dynamo=False)
        sha256 = file_sha256(tmp)
    write_checked_json(onnx_checksum_path(path), {"model": path.name, "sha256": sha256})


class DamagedModel(Exception):
    """An exported graph that is not the one the exporter wrote."""


def open_verified_session(path: Path):
    """An ONNX Runtime session on every CPU thread for the graph at ``path``, built from bytes whose
    sha256 matches the one recorded at export; DamagedModel (or ONNX Runtime's error) otherwise.

    Sessions are not kept between runs: building one takes ~0.1 s, and a kept session holds its
    arena (~160 MB measured in ``score``) while the metrics run."""
    recorded = read_checked_json(onnx_checksum_path(path))
    if not isinstance(recorded, dict) or not isinstance(recorded.get("sha256"), str):
        raise DamagedModel("no sha256 was recorded when it was exported")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != recorded["sha256"]:
        raise DamagedModel("its bytes differ from the sha256 recorded when it was exported")
    return _new_session(data)


def _new_session(model: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    # No busy-waiting between ops: the prefetch thread needs those cycles (measured ~15-30% faster
    # end to end on 2 cores).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


class OnnxEngine:
    """ONNX Runtime on the graph exported from the backbone, kept in the cache's models folder."""

    def __init__(self, backbone: Backbone, cache: "EmbeddingCache | None"):
        # Without a cache, the graph goes to a temporary folder that lives as long as the engine.
        self.scratch = None if cache else tempfile.TemporaryDirectory(prefix="gan_eval_onnx_")
        name = onnx_model_name(backbone)
        path = cache.model_path(name) if cache else Path(self.scratch.name) / name
        if not path.is_file():
            export_onnx(backbone, path)
        try:
            self.session = open_verified_session(path)
        except Exception as exc:  # DamagedModel, or onnxruntime's own exception types
            warnings.warn(f"exported model {path} is damaged or unreadable ({exc}); exporting it again",
                          RuntimeWarning, stacklevel=2)
            path.unlink(missing_ok=True)
            onnx_checksum_path(path).unlink(missing_ok=True)
            export_onnx(backbone, path)
            self.session = open_verified_session(path)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"image": batch})[0]
