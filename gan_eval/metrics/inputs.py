"""The one place where metric inputs are checked.

Every metric calls ``embeddings`` (one set) or ``embedding_pair`` (real vs generated) first, so
every metric rejects the same bad inputs with the same messages, and computes in float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MIN_CASES = 2  # a covariance, a leave-one-out neighbour: nothing is defined for one case


def embeddings(x: np.ndarray, name: str = "embeddings", case_ids: Sequence[str] | None = None,
               what: str = "embeddings") -> np.ndarray:
    """Return ``x`` as a float64 ``(n, d)`` array, or raise ValueError naming ``name`` and the bad case.

    ``case_ids`` (optional, one per row) makes the NaN/Inf message name the case instead of its row;
    ``what`` names what the rows hold in the messages (per-case scores are checked here too).
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name}: expected a 2D (n_cases, n_features) array, got shape {x.shape}")
    n, d = x.shape
    if n == 0:
        raise ValueError(f"{name}: empty set (0 cases)")
    if d == 0:
        raise ValueError(f"{name}: {what} have 0 features")
    if n < MIN_CASES:
        raise ValueError(f"{name}: needs at least {MIN_CASES} cases, got {n}")
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ValueError(f"{name}: {what} must be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    bad_rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad_rows.size:
        first = bad_rows[0]
        case = f"case {case_ids[first]!r}" if case_ids is not None else f"row {first}"
        raise ValueError(f"{name}: NaN or Inf in the {what} of {bad_rows.size} case(s), first {case}")
    return x


def embedding_pair(real: np.ndarray, generated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check a real and a generated set on their own and against each other (same dimension)."""
    real = embeddings(real, "real")
    generated = embeddings(generated, "generated")
    if real.shape[1] != generated.shape[1]:
        raise ValueError(
            f"real and generated embeddings have different dimensions: {real.shape[1]} vs {generated.shape[1]}"
        )
    return real, generated


def rng(seed: int | None) -> np.random.Generator:
    """The one random generator type every seeded metric uses (a seed gives the same numbers everywhere)."""
    if seed is None:
        raise ValueError("seed must be an integer (metrics are deterministic for a seed), got None")
    return np.random.default_rng(seed)
