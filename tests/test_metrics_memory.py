"""Memory of the score path at 4000 generated cases: no metric builds an n x n matrix.

One 4000 x 4000 float64 matrix is 128 MB (91 + 10,000 cases: 815 MB, several of which took
``gan-eval score`` to 3.3 GB). Each metric's peak traced allocation, the pool of shared
matrices included, stays below half of that: the distances and Gram matrices are computed a
block of rows at a time (``metrics.distances``), the generated-generated kernel and Gram matrix
are not formed (KID, bootstrap). The orientation check, linear in n but 7 x 768 values per case
when it turned one copy of the template per case, is held to the same bound.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from gan_eval.metrics import bootstrap, distinguishability, diversity, kid, matched_fid, prdc, rank_confidence
from gan_eval.metrics.orientation_summary import orientation_check

N_GENERATED, DIM = 4000, 16
LIMIT = 4000**2 * 8 // 2

SCORE_PATH = {
    "bootstrap_fid": lambda real, gen: bootstrap.bootstrap_fid(real, gen),
    "kid": lambda real, gen: kid.kernel_inception_distance(real, gen),
    "prdc": lambda real, gen: prdc.prdc(real, gen),
    "diversity": lambda real, gen: diversity.loo_1nn_diversity(real, gen),
    "distinguishability": lambda real, gen: distinguishability.distinguishability(real, gen),
    "fd_infinity": lambda real, gen: matched_fid.fd_infinity(real, gen),
    "matched_fid": lambda real, gen: matched_fid.matched_fid(real, gen, 1000),
    "rank_confidence": lambda real, gen: rank_confidence.quantitative_resamples(real, {"team": gen}),
    "orientation": orientation_check,  # on orientation descriptors (768 values per case)
}


@pytest.fixture(scope="module")
def sets():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(91, DIM)), rng.normal(size=(N_GENERATED, DIM)) * 1.1 + 0.1
    anatomy = rng.random(768)  # one coarse anatomy, seen with noise
    descriptors = tuple(anatomy + 0.2 * rng.random((n, 768)) for n in (91, N_GENERATED))
    return {"features": features, "descriptors": descriptors}


@pytest.mark.parametrize("metric", SCORE_PATH)
def test_peak_memory_is_far_below_one_n_by_n_matrix(sets, metric):
    inputs = sets["descriptors" if metric == "orientation" else "features"]
    with threadpool_limits(limits=1):  # as scoring runs them
        tracemalloc.start()
        try:
            SCORE_PATH[metric](*inputs)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < LIMIT, f"{metric}: peak {peak / 2**20:.0f} MB, limit {LIMIT / 2**20:.0f} MB"
