"""Cases -> features: batches through an engine, the feature store, a prefetch thread, progress.

Features are stored per case under its pixel digest (together with the case's cross-sequence
consistency) in the feature store of (backbone, weights fingerprint, preprocessing version):
a case already there is not computed again, and the engine is built only on the first case
that is not. Which engine computed an entry is not part of the key: engines agree far below any
metric's resolution. New entries are written in shards of ``_WRITE_EVERY`` cases.

Reading, hashing, preprocessing and the consistency measure run in a thread up to ``_PREFETCH``
cases ahead of the engine, which releases the GIL: on CPU they overlap the inference.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import numpy as np

from ..cases import Case
from ..metrics.consistency import case_consistency
from ..preprocess import preprocess_case
from ..progress import Progress
from .device import check_device, resolve_device
from .engines import Engine
from .weights import Backbone

if TYPE_CHECKING:
    from ..cache import FeatureStore

Results = dict[str, tuple[np.ndarray, float]]  # pixel digest -> (features, consistency)
EngineFactory = Callable[[Backbone, str], Engine]  # (backbone, resolved device) -> engine

_WRITE_EVERY = 256             # new cache entries are written in shards of this many cases
_PREFETCH = 32                 # cases prepared ahead of the model (~1 MB each)


class EmbedInputError(ValueError):
    """An input that cannot be embedded or loaded (empty, wrong shape, NaN...)."""


def default_batch_size(device: str, backbone: Backbone) -> int:
    return 256 if device.startswith("cuda") else backbone.spec.cpu_batch_size


@dataclass
class Embedded:
    """What a run computed or found: ids and pixel digests in case order, features by digest."""

    ids: list[str]
    digests: list[str]
    results: Results
    backbone: Backbone


class EmbeddingRun:
    """One embedding run over a stream of cases; builds its engine only on the first cache miss."""

    def __init__(self, backbone: Backbone, device: str, batch_size: int | None, progress: Progress | None,
                 store: "FeatureStore | None", make_engine: EngineFactory):
        self.backbone = backbone
        self.device = check_device(device)
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.progress = progress
        self.store = store
        self.make_engine = make_engine
        self.engine: Engine | None = None

    def _engine(self) -> Engine:
        if self.engine is None:
            self.device = resolve_device(self.device)
            self.batch_size = self.batch_size or default_batch_size(self.device, self.backbone)
            self.engine = self.make_engine(self.backbone, self.device)
        return self.engine

    def embed(self, cases: Iterable[Case], total: int | None, label: str) -> Embedded:
        """Features of ``cases``; progress is reported as stage 'embedding <label>'."""
        known: Results = self.store.entries() if self.store is not None else {}
        results: Results = {}
        unsaved: list[str] = []
        batch: list[_Prepared] = []
        ids: list[str] = []
        digests: list[str] = []
        seen_ids: set[str] = set()
        done = 0
        stage = f"embedding {label}"

        def report() -> None:
            if self.progress:
                self.progress(done, total, stage)

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
        return Embedded(ids, digests, results, self.backbone)


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
