"""Embed cases: resolve the backbone, run the batches through the cache, return an EmbeddingSet.

- ``embed_cases``: cases from any iterable (streamed, one batch in memory at a time).
- ``embed_archive``: an archive or folder of cases, always embedded from its images, whatever
  else it holds. A stacked ``.npz`` of cases may carry ``features`` and ``header`` arrays too;
  they are not looked at: features computed elsewhere come in only where a user asks for them
  explicitly (gan_eval.features.loaders, the CLI's ``emb:PATH``), never from an upload.

An archive is remembered by its bytes' sha256 (gan_eval.cache): the case ids and pixel digests
it holds and its rejections. A second run over the same archive reads neither the archive nor
the model when every case is in the feature store (see gan_eval.features.batching).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ..archives import Rejection, archive_name, iter_cases
from ..cache import EmbeddingCache, open_cache
from ..cases import Case
from ..embedding_set import EmbeddingSet
from ..preprocess import PREPROCESSING_VERSION
from ..store import file_sha256
from ..progress import Progress
from .batching import Embedded, EmbeddingRun, EmbedInputError
from .engines import make_engine
from .registry import DEFAULT_BACKBONE
from .weights import resolve_backbone

CacheArg = EmbeddingCache | str | Path | bool | None


def _run(backbone: str, weights: str | Path | None, device: str, batch_size: int | None,
         progress: Progress | None, cache: EmbeddingCache | None) -> EmbeddingRun:
    resolved = resolve_backbone(backbone, weights, hasher=cache.file_sha256 if cache else file_sha256)
    store = cache.features(resolved.id, resolved.fingerprint) if cache else None
    return EmbeddingRun(resolved, device, batch_size, progress, store,
                        make_engine=lambda bb, dev: make_engine(bb, dev, cache),
                        orientation_store=cache.orientation() if cache else None)


def _embedding_set(run: Embedded, name: str, meta: dict | None = None) -> EmbeddingSet:
    return EmbeddingSet(
        features=np.stack([run.results[d][0] for d in run.digests]).astype(np.float32, copy=False),
        case_ids=run.ids,
        backbone=run.backbone.id,
        fingerprint=run.backbone.fingerprint,
        name=name,
        consistency=np.array([run.results[d][1] for d in run.digests], dtype=np.float64),
        meta={"preprocessing": PREPROCESSING_VERSION, **(meta or {})},
        orientation=np.stack([run.orientation[d] for d in run.digests]).astype(np.float32, copy=False),
    )


def embed_cases(cases: Iterable[Case], backbone: str = DEFAULT_BACKBONE, weights: str | Path | None = None,
                device: str = "auto", batch_size: int | None = None, progress: Progress | None = None,
                cache: CacheArg = None, name: str = "", total: int | None = None) -> EmbeddingSet:
    """Embed cases streamed from any iterable (one batch of cases in memory at a time).

    ``progress(done, total, "embedding <name>")`` is called as cases are done (from the cache or
    computed); ``total`` is ``len(cases)`` when the iterable has a length, else the ``total``
    argument (or None). ``cache``: an EmbeddingCache or folder; None uses the default cache,
    False none. Raises EmbedInputError when there is no case or two cases share an id.
    """
    if total is None and hasattr(cases, "__len__"):
        total = len(cases)  # type: ignore[arg-type]
    label = name or "cases"
    embedded = _run(backbone, weights, device, batch_size, progress, open_cache(cache)).embed(cases, total, label)
    if not embedded.ids:
        raise EmbedInputError(f"{label}: no case to embed")
    return _embedding_set(embedded, name)


def archive_in_cache(path: str | Path, backbone: str = DEFAULT_BACKBONE, weights: str | Path | None = None,
                     cache: CacheArg = None) -> bool:
    """Whether ``embed_archive`` would find every case of ``path`` in the cache for ``backbone``
    (and its orientation descriptors): true only for an archive seen before, whose case list is
    recorded; nothing is decoded and no model is loaded to find out."""
    cache = open_cache(cache)
    if cache is None:
        return False
    manifest = cache.source_manifest(cache.source_key(path))
    if manifest is None:
        return False
    return _from_cache(_run(backbone, weights, "cpu", None, None, cache), manifest) is not None


def _from_cache(run: EmbeddingRun, manifest: dict) -> tuple[dict, dict] | None:
    """The features and orientation descriptors of every case of a recorded archive
    (``manifest``), or None when the store lacks any of them."""
    found = run.store.entries(manifest["digests"])
    described = run.orientation_store.entries(manifest["digests"])
    return (found, described) if len(found) == len(described) == len(set(manifest["digests"])) else None


def embed_archive(path: str | Path, backbone: str = DEFAULT_BACKBONE, weights: str | Path | None = None,
                  device: str = "auto", progress: Progress | None = None, cache: CacheArg = None,
                  name: str | None = None, batch_size: int | None = None, total: int | None = None) -> EmbeddingSet:
    """The embeddings of the cases in an archive or folder, computed from their images.

    ``total``: the number of cases when the caller knows it (the archive stream does not know
    its length up front), for ``progress(done, total, "embedding <name>")``. An archive's
    rejected cases are listed in ``meta['rejected']``. Raises FileNotFoundError,
    gan_eval.archives.ArchiveError (input refused), EmbedInputError (nothing usable in it) and
    gan_eval.features.weights.WeightsNotFoundError.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    cache = open_cache(cache)
    name = name or archive_name(path)
    run = _run(backbone, weights, device, batch_size, progress, cache)
    key = cache.source_key(path) if cache else None
    manifest = cache.source_manifest(key) if cache else None
    # Seen before: the case list is known, so the archive is not decoded at all, and no model is
    # loaded when every case is in the feature store.
    cached = _from_cache(run, manifest) if manifest is not None and run.store is not None else None
    if cached is not None:
        found, described = cached
        if progress:
            progress(len(manifest["ids"]), len(manifest["ids"]), f"embedding {name}")
        embedded = Embedded(manifest["ids"], manifest["digests"], found, run.backbone,
                            {d: v[0] for d, v in described.items()})
        return _embedding_set(embedded, name, {"source": path.name, "rejected": manifest["rejected"]})

    rejected: list[Rejection] = []

    def accepted() -> Iterator[Case]:
        for item in iter_cases(path):
            if isinstance(item, Rejection):
                rejected.append(item)
            else:
                yield item

    embedded = run.embed(accepted(), len(manifest["ids"]) if manifest else total, name)
    rejections = [{"case": r.case, "file": r.file, "reason": r.reason} for r in rejected]
    if not embedded.ids:
        first = f"; first: {rejected[0].case}: {rejected[0].reason}" if rejected else ""
        raise EmbedInputError(f"{path}: no usable case ({len(rejected)} rejected{first})")
    if cache is not None and key is not None:
        cache.put_source_manifest(key, {"ids": embedded.ids, "digests": embedded.digests, "rejected": rejections})
    return _embedding_set(embedded, name, {"source": path.name, "rejected": rejections})
