"""K-means selection: the case at each cluster's centre, distinct, deterministic for a seed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gan_eval.selection import select_cases


def planted_clusters(k: int = 10, d: int = 6, seed: int = 0) -> tuple[np.ndarray, set[int]]:
    """k far-apart clusters, each symmetric around one of its own cases, so that case is the K-means centre."""
    rng = np.random.default_rng(seed)
    rows, centre_rows = [], set()
    for c in range(k):
        m = rng.normal(size=d) * 100
        offsets = rng.normal(size=(4, d))
        centre_rows.add(len(rows))
        rows += [m] + list(m + offsets) + list(m - offsets)
    order = rng.permutation(len(rows))  # the centre cases are not at predictable rows
    x = np.array(rows)[order]
    return x, {int(np.flatnonzero(order == r)[0]) for r in centre_rows}


def test_selects_the_case_at_each_centre():
    x, centres = planted_clusters()
    chosen = select_cases(x, k=10, seed=0)
    assert len(chosen) == 10 and set(chosen) == centres
    assert all(isinstance(i, int) for i in chosen)


def test_deterministic_for_a_seed():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 16))
    a = select_cases(x, seed=3)
    assert select_cases(x, seed=3) == a
    assert len(set(a)) == 10
    assert any(select_cases(x, seed=s) != a for s in (4, 5, 6))


def test_cases_are_distinct_even_when_centres_share_their_nearest_case():
    # 5 distinct points, each 4 times: 8 clusters can only have 5 distinct centres.
    x = np.repeat(np.eye(5) * 10.0, 4, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns that it found fewer distinct clusters
        chosen = select_cases(x, k=8, seed=0)
    assert len(chosen) == len(set(chosen)) == 8


def test_bad_requests():
    x = np.random.default_rng(2).normal(size=(6, 3))
    with pytest.raises(ValueError, match=r"cannot select 10 cases from a set of 6"):
        select_cases(x)
    with pytest.raises(ValueError, match=r"k must be >= 1, got 0"):
        select_cases(x, k=0)
    with pytest.raises(ValueError, match=r"features: NaN or Inf in the embeddings of 1 case\(s\), first row 2"):
        select_cases(np.where(np.arange(6)[:, None] == 2, np.nan, x), k=2)
