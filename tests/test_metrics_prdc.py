"""Precision/recall/density/coverage: same numbers as the authors' ``prdc`` package."""

from __future__ import annotations

import numpy as np
import pytest
from prdc import compute_prdc
from scipy.spatial.distance import cdist

from gan_eval.metrics.pool import Pool
from gan_eval.metrics.prdc import prdc


def reference(real, gen, k):
    return {key: float(v) for key, v in compute_prdc(real, gen, nearest_k=k).items()}


@pytest.mark.parametrize("shift,scale", [(0.0, 1.0), (0.5, 1.0), (0.0, 0.3), (0.0, 2.0)])
def test_equals_prdc_package(shift, scale, capsys):
    rng = np.random.default_rng(0)
    real = rng.normal(size=(91, 16))
    gen = rng.normal(size=(300, 16)) * scale + shift
    ours = prdc(real, gen)
    pr, dc = reference(real, gen, 3), reference(real, gen, 5)
    capsys.readouterr()  # compute_prdc prints the set sizes
    assert (ours.precision, ours.recall) == pytest.approx((pr["precision"], pr["recall"]), abs=1e-12)
    assert (ours.density, ours.coverage) == pytest.approx((dc["density"], dc["coverage"]), abs=1e-12)


def test_known_answers():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(100, 8))
    far = prdc(real, rng.normal(size=(100, 8)) + 50.0)
    assert (far.precision, far.recall, far.density, far.coverage) == (0.0, 0.0, 0.0, 0.0)
    # Generated cases all inside one tiny region of the real set: faithful but not diverse.
    collapsed = prdc(real, real[0] + 1e-3 * rng.normal(size=(100, 8)))
    assert collapsed.precision == 1.0 and collapsed.recall < 0.1 and collapsed.coverage < 0.1


def test_k_needs_enough_cases():
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match=r"k=5 nearest neighbours need more than 5 cases in each set, "
                                         r"got 91 real and 5 generated"):
        prdc(rng.normal(size=(91, 4)), rng.normal(size=(5, 4)))
    with pytest.raises(ValueError, match=r"k must be >= 1, got 0"):
        prdc(rng.normal(size=(10, 4)), rng.normal(size=(10, 4)), k_precision_recall=0)


def test_equals_prdc_on_exact_copies(capsys):
    # Small integer features: sklearn's distances (in prdc) are exact on them too, so both sides
    # decide every tie at a k-NN radius as exact arithmetic does, and must agree exactly.
    rng = np.random.default_rng(3)
    real = rng.integers(0, 6, size=(91, 6)).astype(float)
    copies = real[rng.integers(0, 91, 1000)]
    ours = prdc(real, copies)
    pr, dc = reference(real, copies, 3), reference(real, copies, 5)
    capsys.readouterr()
    assert (ours.precision, ours.recall, ours.density, ours.coverage) == pytest.approx(
        (pr["precision"], pr["recall"], dc["density"], dc["coverage"]), abs=1e-12)


def test_exact_copies_sit_at_their_originals_distances():
    # Float features: a copy of real case i must be excluded from a ball whose radius passes
    # through case i. Oracle: the copies' distances are their originals' rows of the real
    # matrix, so ties are exact by construction.
    rng = np.random.default_rng(4)
    real = rng.normal(size=(91, 64)) * 7.0 + 3.0
    origin = rng.integers(0, 91, 1000)
    ours = prdc(real, real[origin])
    d_rr = np.linalg.norm(real[:, None] - real[None], axis=2)
    cross = d_rr[:, origin]
    radius = np.sort(d_rr, axis=1)[:, 5]
    assert ours.density == pytest.approx((cross < radius[:, None]).sum(axis=0).mean() / 5, abs=1e-15)
    assert ours.coverage == pytest.approx((cross.min(axis=1) < radius).mean(), abs=1e-15)


def test_equals_prdc_on_near_copies(capsys):
    rng = np.random.default_rng(5)
    real = rng.normal(size=(91, 32))
    near = real[rng.integers(0, 91, 500)] + 1e-3 * rng.normal(size=(500, 32))
    ours = prdc(real, near)
    pr, dc = reference(real, near, 3), reference(real, near, 5)
    capsys.readouterr()
    assert (ours.precision, ours.recall, ours.density, ours.coverage) == pytest.approx(
        (pr["precision"], pr["recall"], dc["density"], dc["coverage"]), abs=1e-12)


def brute_force(real, gen, k_pr, k_dc):
    """Naeem et al.'s definitions on whole cdist matrices."""
    rr, gg, rg = cdist(real, real), cdist(gen, gen), cdist(real, gen)
    radius = lambda d, k: np.sort(d, axis=1)[:, k]  # noqa: E731 - column 0 is the point itself
    inside = rg < radius(rr, k_dc)[:, None]
    return ((rg < radius(rr, k_pr)[:, None]).any(axis=0).mean(), (rg.T < radius(gg, k_pr)[:, None]).any(axis=0).mean(),
            inside.sum(axis=0).mean() / k_dc, inside.any(axis=1).mean())


@pytest.mark.parametrize("dense_bytes", [None, 0], ids=["kept", "blocks"])
def test_in_blocks_equals_brute_force(dense_bytes, small_blocks):
    rng = np.random.default_rng(6)
    real, gen = rng.normal(size=(50, 12)), rng.normal(size=(400, 12)) * 1.2 + 0.2  # 400 rows: ~50 blocks
    pool = Pool(real, gen) if dense_bytes is None else Pool(real, gen, dense_bytes)
    ours = prdc(real, gen, pool=pool)
    assert (ours.precision, ours.recall, ours.density, ours.coverage) == pytest.approx(brute_force(real, gen, 3, 5),
                                                                                      abs=1e-12)
