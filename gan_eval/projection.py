"""2D maps of embedding sets (PCA, t-SNE, UMAP), cached on disk.

t-SNE and UMAP run on the first 50 principal components (standard practice: it removes noise
dimensions and makes both several times faster on 1000-2048-d features). A map is keyed by the
exact feature bytes, method, parameters and seed, so a map computed once reappears instantly.
UMAP's first call in a new process spends about a minute compiling (numba); the map page says
so while it computes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .store import load_checked_npy, save_checked_npy

METHODS = ("pca", "tsne", "umap")
METHOD_LABELS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
_PCA_DIMS = 50
_VERSION = "1"


def _pca(features: np.ndarray, n_components: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    n_components = min(n_components, features.shape[0], features.shape[1])
    return PCA(n_components=n_components, svd_solver="full").fit_transform(features)


def _compute(features: np.ndarray, method: str, seed: int) -> np.ndarray:
    if method == "pca":
        return _pca(features, 2)
    reduced = _pca(features, _PCA_DIMS)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, (features.shape[0] - 1) / 3))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced)
    import umap

    n_neighbors = int(min(15, features.shape[0] - 1))
    # n_jobs=1 says what a seeded UMAP does anyway (it is single-threaded then), without its warning.
    return umap.UMAP(n_components=2, n_neighbors=n_neighbors, random_state=seed, n_jobs=1).fit_transform(reduced)


def projection_key(features: np.ndarray, method: str, seed: int) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{_VERSION}|{method}|{seed}|{features.dtype.str}|{features.shape}|".encode())
    h.update(np.ascontiguousarray(features).data)
    return h.hexdigest()


def cached_projection(features: np.ndarray, method: str, seed: int, cache_dir: str | Path | None) -> np.ndarray | None:
    """The stored map for exactly these features, or None."""
    if cache_dir is None:
        return None
    path = Path(cache_dir) / f"{method}-{projection_key(features, method, seed)}.npy"
    coords = load_checked_npy(path)
    return coords if coords is not None and coords.shape == (features.shape[0], 2) else None


def project(features: np.ndarray, method: str = "pca", seed: int = 0, cache_dir: str | Path | None = None) -> np.ndarray:
    """``(n, 2)`` coordinates of ``features`` (``(n, d)``) by ``method``, deterministic per seed."""
    if method not in METHODS:
        raise ValueError(f"unknown projection method {method!r}; choose one of {', '.join(METHODS)}")
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or features.shape[0] < 3:
        raise ValueError(f"a 2D map needs at least 3 embedded cases, got features of shape {features.shape}")
    coords = cached_projection(features, method, seed, cache_dir)
    if coords is not None:
        return coords
    coords = _compute(features, method, seed).astype(np.float32)
    if cache_dir is not None:
        path = Path(cache_dir) / f"{method}-{projection_key(features, method, seed)}.npy"
        save_checked_npy(path, coords)
    return coords

