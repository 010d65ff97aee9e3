"""Cases -> features: batches through an engine, the feature store, a prefetch thread, progress.

Features are stored per case under its pixel digest (together with the case's cross-sequence
consistency) in the feature store of (backbone, weights fingerprint, preprocessing version):
a case already there is not computed again, and the engine is built only on the first case
that is not. Which engine computed an entry is not part of the key: engines agree far below any
metric's resolution. New entries are written in shards of ``_WRITE_EVERY`` cases.

Each case's orientation descriptor (gan_eval.metrics.orientation) is computed in the same pass
and kept in its own store, keyed by pixel digest whatever the backbone (the descriptor depends on
the images only): a case whose features are stored but not its descriptor is read and described,
with no model run.

Reading, hashing, preprocessing, the consistency measure and the orientation descriptor run in a
thread up to ``_PREFETCH`` cases ahead of the engine, which releases the GIL: on CPU they overlap
the inference.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import numpy as np

from ..cases import Case
from ..metrics.consistency import case_consistency
from ..metrics.orientation import orientation_descriptor
from ..preprocess import preprocess_case
from ..progress import Progress
from .device import check_device, resolve_device
from .engines import Engine
from .weights import Backbone

if TYPE_CHECKING:
    from ..cache import FeatureStore

Results = dict[str, tuple[np.ndarray, float]]  # pixel digest -> (features, consistency)
Descriptors = dict[str, np.ndarray]  # pixel digest -> orientation descriptor
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
    orientation: Descriptors  # every digest's when an orientation store or the run gave them all


class EmbeddingRun:
    """One embedding run over a stream of cases; builds its engine only on the first cache miss."""

    def __init__(self, backbone: Backbone, device: str, batch_size: int | None, progress: Progress | None,
                 store: "FeatureStore | None", make_engine: EngineFactory,
                 orientation_store: "FeatureStore | None" = None):
        self.backbone = backbone
        self.device = check_device(device)
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self.progress = progress
        self.store = store
        self.orientation_store = orientation_store
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
        described: Descriptors = {} if self.orientation_store is None else \
            {d: v[0] for d, v in self.orientation_store.entries().items()}
        new_descriptors: list[str] = []
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
            if self.orientation_store is not None and new_descriptors:
                self.orientation_store.put(new_descriptors, np.stack([described[d] for d in new_descriptors]),
                                           np.zeros(len(new_descriptors)))
            new_descriptors.clear()

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

        for case_id, digest, prepared, descriptor in _background(_prepare(cases, known, described),
                                                                 depth=_PREFETCH):
            if case_id in seen_ids:
                raise EmbedInputError(f"{label}: duplicate case id {case_id!r}")
            seen_ids.add(case_id)
            ids.append(case_id)
            digests.append(digest)
            if descriptor is not None:  # float32, as stored and as the EmbeddingSet holds it
                described[digest] = descriptor.astype(np.float32)
                new_descriptors.append(digest)
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
        return Embedded(ids, digests, results, self.backbone, {d: described[d] for d in digests})


@dataclass
class _Prepared:
    digest: str
    pixels: np.ndarray   # (3, 299, 299) float32 in [0, 1]
    consistency: float


def _prepare(cases: Iterable[Case], known: Results, described: Descriptors
             ) -> Iterator[tuple[str, str, _Prepared | None, np.ndarray | None]]:
    """(case id, pixel digest, prepared input or None when the features are known, orientation
    descriptor or None when known) per case; the same pixels twice are prepared once."""
    seen: set[str] = set()
    for case in cases:
        digest = case.digest()
        first = digest not in seen
        seen.add(digest)
        descriptor = orientation_descriptor(case.images) if first and digest not in described else None
        if digest in known or not first:
            yield case.case_id, digest, None, descriptor
            continue
        yield (case.case_id, digest, _Prepared(digest, preprocess_case(case.images), case_consistency(case.images)),
               descriptor)


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
