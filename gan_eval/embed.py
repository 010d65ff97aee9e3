"""Embed cases: preprocessing, batching, device choice, the cache, progress.

Engines (``device=``):
- ``"auto"``: ``"cuda"`` when torch sees a GPU, else ``"cpu"``.
- ``"cpu"``: ONNX Runtime on every CPU thread, running a graph exported once from the torch module
  (legacy TorchScript exporter, dynamic batch axis) and kept in the cache under the weights
  fingerprint. On a 2-core CPU it is several times faster than torch with the same features
  (tests check both agree within 1e-4 relative; ~1e-6 measured).
- ``"cpu-torch"``: the torch module on CPU, the reference.
- ``"cuda"`` / ``"cuda:N"``: the torch module on that GPU in float32 (no TF32, no bf16: the
  numbers must not depend on the card).

Features are cached per case under (pixel digest, preprocessing version, backbone, weights
fingerprint) together with the case's cross-sequence consistency, and per input file its list of
(case id, pixel digest) and rejections: a second run over the same archive reads neither the
archive nor the model (gan_eval.cache). Which engine computed an entry is not part of the key:
engines agree far below any metric's resolution.
"""

from __future__ import annotations

import functools
import os
import queue
import sys
import tempfile
import threading
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .archives import Rejection, archive_name, iter_cases
from .backbones import DEFAULT_BACKBONE, Backbone, resolve_backbone
from .cache import EmbeddingCache, open_cache
from .store import atomic_path, file_sha256
from .cases import Case
from .embedding_set import EmbeddingSet
from .metrics.consistency import case_consistency
from .preprocess import INPUT_SIZE, PREPROCESSING_VERSION, preprocess_case

Progress = Callable[[int, int | None], None]
CacheArg = EmbeddingCache | str | Path | bool | None

PRECOMPUTED = "precomputed"   # backbone id of embeddings given as a matrix
UNKNOWN_FINGERPRINT = "unknown"
_ONNX_GRAPH_VERSION = "1"      # bump when the exported graph changes for the same weights
_ONNX_OPSET = 17
_WRITE_EVERY = 256             # new cache entries are written in shards of this many cases
_PREFETCH = 32                 # cases prepared ahead of the model (~1 MB each)


class EmbedInputError(ValueError):
    """An input that cannot be embedded or loaded (empty, wrong shape, NaN...)."""


def check_device(device: str) -> str:
    """Validate a ``device=`` value without importing torch (a warm run never needs it)."""
    if device in ("auto", "cpu", "cpu-torch", "cuda") or (device.startswith("cuda:") and device[5:].isdigit()):
        return device
    raise ValueError(f"unknown device {device!r}; choose one of auto, cpu, cpu-torch, cuda, cuda:N")


def _no_gpu_driver() -> bool:
    """True on Linux without NVIDIA (or WSL GPU) device nodes: then there is no CUDA, and asking
    torch would cost its import (seconds) on a run that may only need ONNX Runtime."""
    return sys.platform == "linux" and not any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/dxg"))


def resolve_device(device: str = "auto") -> str:
    """The engine that runs: 'auto' becomes 'cuda' when torch sees a GPU, else 'cpu'."""
    device = check_device(device)
    if device in ("cpu", "cpu-torch") or (device == "auto" and _no_gpu_driver()):
        return "cpu" if device == "auto" else device
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but torch sees no CUDA GPU; use device='cpu'")
    return device


def default_batch_size(device: str, backbone: Backbone) -> int:
    return 256 if device.startswith("cuda") else backbone.spec.cpu_batch_size


# ------------------------------------------------------------------------------------- engines

Engine = Callable[[np.ndarray], np.ndarray]  # (n, 3, 299, 299) float32 in [0, 1] -> (n, dim) float32


def _torch_engine(backbone: Backbone, device: str) -> Engine:
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


def onnx_model_name(backbone: Backbone) -> str:
    return f"{backbone.id}-{backbone.fingerprint}-g{_ONNX_GRAPH_VERSION}-opset{_ONNX_OPSET}.onnx"


def export_onnx(backbone: Backbone, path: Path) -> None:
    """Export the backbone's torch module to ``path`` (atomically), batch axis dynamic."""
    import torch

    module = backbone.build()
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # The legacy exporter is deprecated and chatty, but 3x quicker to export than the dynamo
        # one and gives the same graph for these plain convolutional nets.
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE),), str(tmp),
                          input_names=["image"], output_names=["features"],
                          dynamic_axes={"image": {0: "n"}, "features": {0: "n"}},
                          opset_version=_ONNX_OPSET, dynamo=False)


@functools.lru_cache(maxsize=4)
def _onnx_session(path: str, size: int, mtime_ns: int):
    """An ONNX Runtime session on every CPU thread; reused while the file is unchanged."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    # No busy-waiting between ops: the prefetch thread needs those cycles (measured ~15-30% faster
    # end to end on 2 cores).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _open_session(path: Path):
    st = path.stat()
    return _onnx_session(str(path), st.st_size, st.st_mtime_ns)


class _OnnxEngine:
    """ONNX Runtime on the graph exported from the backbone, kept in the cache's models folder."""

    def __init__(self, backbone: Backbone, cache: EmbeddingCache | None):
        # Without a cache, the graph goes to a temporary folder that lives as long as the engine.
        self.scratch = None if cache else tempfile.TemporaryDirectory(prefix="gan_eval_onnx_")
        name = onnx_model_name(backbone)
        path = cache.model_path(name) if cache else Path(self.scratch.name) / name
        if not path.is_file():
            export_onnx(backbone, path)
        try:
            self.session = _open_session(path)
        except Exception as exc:  # onnxruntime raises its own exception types for a damaged file
            warnings.warn(f"exported model {path} is unreadable ({exc}); exporting it again", RuntimeWarning,
                          stacklevel=2)
            export_onnx(backbone, path)
            self.session = _open_session(path)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"image": batch})[0]


def make_engine(backbone: Backbone, device: str, cache: EmbeddingCache | None) -> Engine:
    """The function that turns a preprocessed batch into features on ``device`` (resolved)."""
    return _OnnxEngine(backbone, cache) if device == "cpu" else _torch_engine(backbone, device)


# ------------------------------------------------------------------------------------- embedding

Results = dict[str, tuple[np.ndarray, float]]  # pixel digest -> (features, consistency)


@dataclass
class _Embedded:
    ids: list[str]
    digests: list[str]
    results: Results
    backbone: Backbone


class _Run:
    """One embedding run: resolves the backbone, builds an engine only on the first cache miss."""

    def __init__(self, backbone: str, weights: str | Path | None, device: str, batch_size: int | None,
                 progress: Progress | None, cache: EmbeddingCache | None):
        self.cache = cache
        self.backbone = resolve_backbone(backbone, weights, hasher=cache.file_sha256 if cache else file_sha256)
        self.device = check_device(device)
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.progress = progress
        self.store = cache.features(self.backbone.id, self.backbone.fingerprint) if cache else None
        self.engine: Engine | None = None

    def _engine(self) -> Engine:
        if self.engine is None:
            self.device = resolve_device(self.device)
            self.batch_size = self.batch_size or default_batch_size(self.device, self.backbone)
            self.engine = make_engine(self.backbone, self.device, self.cache)
        return self.engine

    def embed(self, cases: Iterable[Case], total: int | None, label: str) -> _Embedded:
        known: Results = self.store.entries() if self.store is not None else {}
        results: Results = {}
        unsaved: list[str] = []
        batch: list[_Prepared] = []
        ids: list[str] = []
        digests: list[str] = []
        seen_ids: set[str] = set()
        done = 0

        def report() -> None:
            if self.progress:
                self.progress(done, total)

        def save() -> None:
            if self.store is not None and unsaved:
                self.store.put(unsaved, np.stack([results[d][0] for d in unsaved]),
                               np.array([results[d][1] for d in unsaved]))
            unsaved.clear()

        def compute() -> None:
            nonlocal done
            if not batch:
                return
            features = self._engine()(np.stack([item.pixels for item in batch]))
            for item, row in zip(batch, features):
                results[item.digest] = (np.array(row, dtype=np.float32), item.consistency)
                unsaved.append(item.digest)
            done += len(batch)
            batch.clear()
            if len(unsaved) >= _WRITE_EVERY:
                save()
            report()

        # Reading, hashing, preprocessing and the consistency measure run one thread ahead of
        # the model, which releases the GIL: on CPU they overlap the inference.
        for case_id, digest, prepared in _background(_prepare(cases, known), depth=_PREFETCH):
            if case_id in seen_ids:
                raise EmbedInputError(f"{label}: duplicate case id {case_id!r}")
            seen_ids.add(case_id)
            ids.append(case_id)
            digests.append(digest)
            if prepared is None:  # in the cache, or the same pixels as an earlier case
                if digest in known:
                    results[digest] = known[digest]
                done += 1
                report()
                continue
            self._engine()  # built on the first miss (fixes the batch size for the device)
            batch.append(prepared)
            if len(batch) >= self.batch_size:
                compute()
        compute()
        save()
        return _Embedded(ids, digests, results, self.backbone)


@dataclass
class _Prepared:
    digest: str
    pixels: np.ndarray   # (3, 299, 299) float32 in [0, 1]
    consistency: float


def _prepare(cases: Iterable[Case], known: Results) -> Iterator[tuple[str, str, _Prepared | None]]:
    """(case id, pixel digest, prepared input or None when nothing is to compute) per case."""
    seen: set[str] = set()
    for case in cases:
        digest = case.digest()
        if digest in known or digest in seen:
            yield case.case_id, digest, None
            continue
        seen.add(digest)
        yield case.case_id, digest, _Prepared(digest, preprocess_case(case.images), case_consistency(case.images))


_DONE = object()


def _background(items: Iterable, depth: int) -> Iterator:
    """Iterate ``items`` in a daemon thread, up to ``depth`` items ahead. Exceptions raised by
    the iterable are re-raised here; leaving the loop early stops the thread."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, which raises it
            put((_DONE, exc))

    threading.Thread(target=produce, name="gan_eval-prefetch", daemon=True).start()
    try:
        while True:
            item, error = slots.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()


def _embedding_set(run: _Embedded, name: str, meta: dict | None = None) -> EmbeddingSet:
    return EmbeddingSet(
        features=np.stack([run.results[d][0] for d in run.digests]).astype(np.float32, copy=False),
        case_ids=run.ids,
        backbone=run.backbone.id,
        fingerprint=run.backbone.fingerprint,
        name=name,
        consistency=np.array([run.results[d][1] for d in run.digests], dtype=np.float64),
        meta={"preprocessing": PREPROCESSING_VERSION, **(meta or {})},
    )


def embed_cases(cases: Iterable[Case], backbone: str = DEFAULT_BACKBONE, weights: str | Path | None = None,
                device: str = "auto", batch_size: int | None = None, progress: Progress | None = None,
                cache: CacheArg = None, name: str = "", total: int | None = None) -> EmbeddingSet:
    """Embed cases streamed from any iterable (one batch of cases in memory at a time).

    ``progress(done, total)`` is called as cases are done (from the cache or computed); ``total``
    is ``len(cases)`` when the iterable has a length, else the ``total`` argument (or None).
    ``cache``: an EmbeddingCache or folder; None uses the default cache, False none.
    Raises EmbedInputError when there is no case or two cases share an id.
    """
    if total is None and hasattr(cases, "__len__"):
        total = len(cases)  # type: ignore[arg-type]
    label = name or "cases"
    run = _Run(backbone, weights, device, batch_size, progress, open_cache(cache)).embed(cases, total, label)
    if not run.ids:
        raise EmbedInputError(f"{label}: no case to embed")
    return _embedding_set(run, name)


# ------------------------------------------------------------------------------------- paths

def load_embedding_matrix(path: str | Path, name: str | None = None) -> EmbeddingSet:
    """A ``.npy`` ``(n, d)`` matrix of features computed elsewhere (backbone 'precomputed')."""
    path = Path(path)
    try:
        features = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise EmbedInputError(f"{path}: cannot read the embedding matrix ({exc})") from exc
    if features.ndim != 2:
        raise EmbedInputError(f"{path}: an embedding matrix must be 2D (n cases, d features), got shape {features.shape}")
    emb = EmbeddingSet(features=features, case_ids=[f"case_{i:04d}" for i in range(len(features))],
                       backbone=PRECOMPUTED, fingerprint=UNKNOWN_FINGERPRINT, name=name or path.stem,
                       meta={"source": path.name})
    return _checked(emb, path)


def load_embeddings(path: str | Path) -> EmbeddingSet:
    """An EmbeddingSet written by ``EmbeddingSet.save`` (the ``embed`` command's output)."""
    path = Path(path)
    try:
        emb = EmbeddingSet.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise EmbedInputError(f"{path}: not a readable embedding file ({exc})") from exc
    return _checked(emb, path)


def _checked(emb: EmbeddingSet, path: Path) -> EmbeddingSet:
    if len(emb) == 0 or emb.dim == 0:
        raise EmbedInputError(f"{path}: no embeddings (shape {emb.features.shape})")
    if emb.features.dtype.kind not in "fiu":
        raise EmbedInputError(f"{path}: embeddings must be numbers, got dtype {emb.features.dtype}")
    bad = np.flatnonzero(~np.isfinite(emb.features).all(axis=1))
    if bad.size:
        raise EmbedInputError(f"{path}: NaN or Inf in the embeddings of {bad.size} case(s), first "
                              f"{emb.case_ids[bad[0]]!r} (row {bad[0]})")
    emb.features = emb.features.astype(np.float32, copy=False)
    return emb


def _is_embedding_file(path: Path) -> bool:
    """True for a .npz written by EmbeddingSet.save, False for a .npz of cases."""
    if path.suffix.lower() != ".npz":
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return {"features.npy", "header.npy"} <= names


def _is_embedding_matrix(path: Path) -> bool:
    """True for a 1-D/2-D .npy (embeddings), False for a stacked (N, 3, H, W) .npy of cases."""
    if path.suffix.lower() != ".npy":
        return False
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False).ndim <= 2
    except (OSError, ValueError):
        return True  # unreadable: let load_embedding_matrix say why


def embed_path(path: str | Path, backbone: str = DEFAULT_BACKBONE, weights: str | Path | None = None,
               device: str = "auto", progress: Progress | None = None, cache: CacheArg = None,
               name: str | None = None, batch_size: int | None = None) -> EmbeddingSet:
    """Embeddings of whatever ``path`` is: an archive or folder of cases (embedded, through the
    cache), a ``.npy`` ``(n, d)`` matrix (taken as is), or an EmbeddingSet ``.npz``.

    An archive's rejected cases are listed in ``meta['rejected']``. Raises FileNotFoundError,
    gan_eval.archives.ArchiveError (input refused), EmbedInputError (nothing usable in it) and
    gan_eval.backbones.WeightsNotFoundError.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if _is_embedding_matrix(path):
        return load_embedding_matrix(path, name)
    if _is_embedding_file(path):
        return load_embeddings(path)
    return _embed_archive(path, backbone, weights, device, progress, open_cache(cache), name or archive_name(path),
                          batch_size)


def _embed_archive(path: Path, backbone: str, weights: str | Path | None, device: str, progress: Progress | None,
                   cache: EmbeddingCache | None, name: str, batch_size: int | None) -> EmbeddingSet:
    run = _Run(backbone, weights, device, batch_size, progress, cache)
    key = cache.source_key(path) if cache else None
    manifest = cache.source_manifest(key) if cache else None
    if manifest is not None and run.store is not None:
        # Seen before: the case list is known, so the archive is not decoded at all, and no
        # model is loaded when every case is in the feature store.
        found = run.store.entries(manifest["digests"])
        if len(found) == len(set(manifest["digests"])):
            if progress:
                progress(len(manifest["ids"]), len(manifest["ids"]))
            embedded = _Embedded(manifest["ids"], manifest["digests"], found, run.backbone)
            return _embedding_set(embedded, name, {"source": path.name, "rejected": manifest["rejected"]})

    rejected: list[Rejection] = []

    def accepted() -> Iterator[Case]:
        for item in iter_cases(path):
            if isinstance(item, Rejection):
                rejected.append(item)
            else:
                yield item

    total = len(manifest["ids"]) if manifest else None
    embedded = run.embed(accepted(), total, name)
    rejections = [{"case": r.case, "file": r.file, "reason": r.reason} for r in rejected]
    if not embedded.ids:
        first = f"; first: {rejected[0].case}: {rejected[0].reason}" if rejected else ""
        raise EmbedInputError(f"{path}: no usable case ({len(rejected)} rejected{first})")
    if cache is not None and key is not None:
        cache.put_source_manifest(key, {"ids": embedded.ids, "digests": embedded.digests, "rejected": rejections})
    return _embedding_set(embedded, name, {"source": path.name, "rejected": rejections})
