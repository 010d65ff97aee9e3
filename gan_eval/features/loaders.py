"""Embedding files: features computed elsewhere, loaded as they are, only where a user asks.

Two kinds: an ``(n, d)`` ``.npy`` matrix (backbone 'precomputed', case ids ``case_0000``...) and
the ``.npz`` that ``EmbeddingSet.save`` writes (the ``embed`` command's output). Such a file
states its own features, so it is accepted only by explicit choice, the CLI's ``emb:PATH``:
nothing here looks at an uploaded archive to guess whether it is one (a forged stacked ``.npz``
of noise images with the keys of an embedding file would otherwise be scored by the features it
claims). The suffix only tells the two kinds of embedding file apart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..embedding_set import EmbeddingSet
from .batching import EmbedInputError

PRECOMPUTED = "precomputed"   # backbone id of embeddings given as a matrix
UNKNOWN_FINGERPRINT = "unknown"


def load_embedding_file(path: str | Path, name: str | None = None) -> EmbeddingSet:
    """A ``.npy`` matrix or an embedding ``.npz`` (see the module docstring), checked."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return load_embedding_matrix(path, name)
    if suffix == ".npz":
        return load_embeddings(path)
    raise EmbedInputError(f"{path}: an embedding file is a .npy (n, d) matrix or a .npz written by embed")


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
