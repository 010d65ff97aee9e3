"""Evaluate a workspace: embed every set (through the cache), score, and keep the result.

This is the one place where workspace, embedding and scoring meet; the app and the CLI call it
and never recompute what it has stored. A result is stored under a key made of everything that
determines it (the exact embeddings and case ids, backbone and weights fingerprint,
preprocessing version, seed, and the metric registry's version), in the embedding cache's
``results/`` (gan_eval.cache), so a later launch shows the leaderboard without touching a model.
The CLI's ``score`` uses the same function and the same cache layout.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np

from .cache import EmbeddingCache
from .features.embed import embed_archive
from .embedding_set import EmbeddingSet
from .preprocess import PREPROCESSING_VERSION
from .progress import Progress
from .metrics import registry
from .scoring import evaluate
from .store import content_key, read_checked_json, write_checked_json
from .workspace import REAL, Workspace



def embed_set(ws: Workspace, name: str, progress: Progress | None = None) -> EmbeddingSet:
    """The embeddings of one registered set, from the workspace cache when present."""
    # Always from the archive's images: an upload never supplies its own features. The archive
    # stream does not know its length up front; the workspace recorded it at upload.
    return embed_archive(ws.archive_path(name), backbone=ws.backbone, weights=ws.weights, progress=progress,
                         cache=ws.cache_dir, name=name, total=ws.entry(name).n_accepted)


def embed_all(ws: Workspace, progress: Progress | None = None) -> dict[str, EmbeddingSet]:
    return {name: embed_set(ws, name, progress) for name in ws.set_names()}


def result_key(real: EmbeddingSet, submissions: dict[str, EmbeddingSet], settings: dict) -> str:
    """Digest of everything that determines a result: the exact features, ids and settings, and the
    metric registry's version (its outputs, settings and the source of the code that computes them)."""
    parts: list = [{"metrics": registry.version(), "preprocessing": PREPROCESSING_VERSION, **settings}]
    for name, emb in [(REAL, real), *sorted(submissions.items())]:
        parts += [[name, emb.backbone, emb.fingerprint, len(emb), emb.case_ids],
                  np.ascontiguousarray(emb.features).data]
        if emb.consistency is not None:
            parts.append(np.ascontiguousarray(emb.consistency).data)
    return content_key(*parts)


def evaluate_cached(real: EmbeddingSet, submissions: dict[str, EmbeddingSet], results_dir: Path | None,
                    seed: int = 0, fid_max: float | None = None, reference: Collection[str] = ()) -> dict:
    """``scoring.evaluate`` (never letting one submission hide the others), stored in
    ``results_dir`` (a cache's ``results_dir``) under the digest of its inputs: the metrics are
    deterministic for a seed, so a stored result is the result. A stored result whose checksum
    fails is recomputed."""
    path = None
    if results_dir is not None:
        settings = {"seed": seed, "fid_max": fid_max, "reference": sorted(reference)}
        path = Path(results_dir) / f"{result_key(real, submissions, settings)}.json"
        stored = read_checked_json(path)
        if isinstance(stored, dict):
            return stored
    result = evaluate(real, submissions, seed=seed, fid_max=fid_max, strict=False, reference=reference)
    if path is not None:
        write_checked_json(path, result)
    return result


def evaluate_workspace(ws: Workspace, progress: Progress | None = None) -> dict:
    """The scoring JSON (see gan_eval.scoring.evaluate) for the workspace's real set and submissions."""
    if ws.real is None:
        raise ValueError("the workspace has no real set yet")
    if not ws.submissions:
        raise ValueError("the workspace has no submission yet")
    embeddings = embed_all(ws, progress)
    if progress:
        progress(0, None, "scoring")
    real = embeddings.pop(REAL)
    return evaluate_cached(real, embeddings, EmbeddingCache(ws.cache_dir).results_dir, seed=ws.seed,
                           reference=ws.reference_sets)
