"""Evaluate a workspace: embed every set (through the cache), score, and keep the result.

This is the one place where workspace, embedding and scoring meet; the app and the CLI call it
and never recompute what it has stored. A result is stored under a key made of everything that
determines it (the exact embeddings and case ids, backbone and weights fingerprint,
preprocessing version, seed), so a later launch shows the leaderboard without touching a model.
The CLI's ``score`` keeps its results the same way, in its embedding cache folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np

from .features.embed import embed_archive
from .embedding_set import EmbeddingSet
from .preprocess import PREPROCESSING_VERSION
from .scoring import evaluate
from .store import atomic_write_text
from .workspace import REAL, Workspace

Progress = Callable[[int, "int | None", str], None]
RESULTS_VERSION = "1"


def embed_set(ws: Workspace, name: str, progress: Progress | None = None) -> EmbeddingSet:
    """The embeddings of one registered set, from the workspace cache when present."""
    # Always from the archive's images: an upload never supplies its own features. The archive
    # stream does not know its length up front; the workspace recorded it at upload.
    return embed_archive(ws.archive_path(name), backbone=ws.backbone, weights=ws.weights, progress=progress,
                         cache=ws.cache_dir, name=name, total=ws.entry(name).n_accepted)


def embed_all(ws: Workspace, progress: Progress | None = None) -> dict[str, EmbeddingSet]:
    return {name: embed_set(ws, name, progress) for name in ws.set_names()}


def _result_key(real: EmbeddingSet, submissions: dict[str, EmbeddingSet], settings: dict) -> str:
    """Digest of everything that determines a result: the exact features, ids and settings."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps({"version": RESULTS_VERSION, "preprocessing": PREPROCESSING_VERSION, **settings},
                        sort_keys=True).encode())
    for name, emb in [(REAL, real), *sorted(submissions.items())]:
        h.update(f"|{name}|{emb.backbone}|{emb.fingerprint}|{len(emb)}|".encode())
        h.update("\x1f".join(emb.case_ids).encode())
        h.update(np.ascontiguousarray(emb.features).data)
        if emb.consistency is not None:
            h.update(np.ascontiguousarray(emb.consistency).data)
    return h.hexdigest()


def evaluate_cached(real: EmbeddingSet, submissions: dict[str, EmbeddingSet], results_dir: Path | None,
                    seed: int = 0, fid_max: float | None = None) -> dict:
    """``scoring.evaluate``, stored in ``results_dir`` under the digest of its inputs: the metrics
    are deterministic for a seed, so a stored result is the result."""
    path = None
    if results_dir is not None:
        key = _result_key(real, submissions, {"seed": seed, "fid_max": fid_max})
        path = Path(results_dir) / f"{key}.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass  # not computed yet, or a damaged file: compute again
    result = evaluate(real, submissions, seed=seed, fid_max=fid_max)
    if path is not None:
        atomic_write_text(path, json.dumps(result, indent=2))
    return result


def evaluate_workspace(ws: Workspace, progress: Progress | None = None) -> dict:
    """The scoring JSON (see gan_eval.scoring.evaluate) for the workspace's real set and submissions."""
    if ws.real is None:
        raise ValueError("the workspace has no real set: add one on the Workspace page")
    if not ws.submissions:
        raise ValueError("the workspace has no submission yet: add one on the Workspace page")
    embeddings = embed_all(ws, progress)
    if progress:
        progress(0, None, "scoring")
    real = embeddings.pop(REAL)
    return evaluate_cached(real, embeddings, ws.root / "results", seed=ws.seed)
