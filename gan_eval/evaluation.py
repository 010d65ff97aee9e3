"""Evaluate a workspace: embed every set (through the cache), score, and keep the result.

This is the one place where workspace, embedding and scoring meet; the app and the CLI call it
and never recompute what it has stored. A result is stored under a key made of everything that
determines it (the sets' content hashes, backbone and weights fingerprint, preprocessing
version, seed), so a later launch shows the leaderboard without touching a model.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Callable

from .embed import embed_path
from .embedding_set import EmbeddingSet
from .preprocess import PREPROCESSING_VERSION
from .scoring import evaluate
from .workspace import REAL, Workspace

Progress = Callable[[int, "int | None", str], None]
RESULTS_VERSION = "1"


def embed_set(ws: Workspace, name: str, progress: Progress | None = None) -> EmbeddingSet:
    """The embeddings of one registered set, from the workspace cache when present."""
    # The archive stream does not know its length up front; the workspace recorded it at upload.
    expected = ws.entry(name).n_accepted
    report = (lambda done, total: progress(done, total or expected, f"embedding {name}")) if progress else None
    emb = embed_path(ws.archive_path(name), backbone=ws.backbone, weights=ws.weights, progress=report,
                     cache=ws.cache_dir)
    emb.name = name
    return emb


def embed_all(ws: Workspace, progress: Progress | None = None) -> dict[str, EmbeddingSet]:
    return {name: embed_set(ws, name, progress) for name in ws.set_names()}


def _result_key(ws: Workspace, embeddings: dict[str, EmbeddingSet]) -> str:
    real = embeddings[REAL]
    material = {
        "sets": {name: ws.entry(name).sha256 for name in embeddings},
        "backbone": real.backbone,
        "fingerprint": real.fingerprint,
        "preprocessing": PREPROCESSING_VERSION,
        "seed": ws.seed,
        "version": RESULTS_VERSION,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]


def evaluate_workspace(ws: Workspace, progress: Progress | None = None) -> dict:
    """The scoring JSON (see gan_eval.scoring.evaluate) for the workspace's real set and submissions."""
    if ws.real is None:
        raise ValueError("the workspace has no real set: add one on the Workspace page")
    if not ws.submissions:
        raise ValueError("the workspace has no submission yet: add one on the Workspace page")
    embeddings = embed_all(ws, progress)
    path = ws.root / "results" / f"{_result_key(ws, embeddings)}.json"
    if path.exists():
        return json.loads(path.read_text())
    if progress:
        progress(0, None, "scoring")
    result = evaluate(embeddings[REAL], {n: e for n, e in embeddings.items() if n != REAL}, seed=ws.seed)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.partial")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, path)
    return result
