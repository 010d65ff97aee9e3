"""FID: exact against sqrtm and pytorch-fid, the closed form of two Gaussians, n < d, and FID_score."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from pytorch_fid.fid_score import calculate_frechet_distance

from gan_eval.metrics.fid import fid_score, frechet_distance


def sqrtm_fid(real: np.ndarray, generated: np.ndarray) -> float:
    """The textbook formula with scipy's matrix square root."""
    mu1, mu2 = real.mean(axis=0), generated.mean(axis=0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(generated, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def correlated(rng: np.random.Generator, n: int, d: int, shift: float = 0.0) -> np.ndarray:
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    return rng.normal(size=(n, d)) @ mixing + shift


@pytest.mark.parametrize("n_real,n_gen", [(200, 300), (40, 300), (300, 40), (20, 300), (300, 20)])
def test_equals_sqrtm_reference(n_real, n_gen):
    # Both sets with more cases than dimensions (24) use the QR-compacted path, the others the
    # plain cross matrix: both must match.
    rng = np.random.default_rng(0)
    real = correlated(rng, n_real, 24)
    gen = correlated(rng, n_gen, 24, shift=0.3)
    assert frechet_distance(real, gen) == pytest.approx(sqrtm_fid(real, gen), rel=1e-6)


@pytest.mark.filterwarnings("ignore:The `disp` argument is deprecated:DeprecationWarning")
def test_equals_pytorch_fid_on_identical_features():
    rng = np.random.default_rng(1)
    real = correlated(rng, 150, 32)
    gen = correlated(rng, 400, 32, shift=0.2) * 1.3
    reference = calculate_frechet_distance(real.mean(axis=0), np.cov(real, rowvar=False),
                                           gen.mean(axis=0), np.cov(gen, rowvar=False))
    assert frechet_distance(real, gen) == pytest.approx(reference, rel=1e-6)


def test_closed_form_for_two_known_gaussians():
    # Diagonal covariances: FID = |mu1 - mu2|^2 + sum(s1 + s2 - 2 sqrt(s1 s2)). Samples are
    # whitened so their mean and covariance are exactly the target ones.
    rng = np.random.default_rng(2)
    d, n = 6, 500
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = rng.uniform(0.5, 2.0, d), rng.uniform(0.5, 2.0, d)

    def sample(mu, var):
        z = rng.normal(size=(n, d))
        z -= z.mean(axis=0)
        z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # exact identity covariance
        return z * np.sqrt(var) + mu

    expected = (mu1 - mu2) @ (mu1 - mu2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert frechet_distance(sample(mu1, s1), sample(mu2, s2)) == pytest.approx(expected, rel=1e-9)


def test_finite_and_exact_with_fewer_real_cases_than_dimensions():
    # The challenge: 91 real cases, 2048-d Inception features; the real covariance has rank 90.
    rng = np.random.default_rng(3)
    real = rng.normal(size=(91, 2048))
    gen = rng.normal(size=(120, 2048)) + 0.05
    fid = frechet_distance(real, gen)
    assert np.isfinite(fid) and fid > 0
    # Permuting the cases or translating both sets changes nothing.
    assert frechet_distance(real[::-1] + 7.0, gen + 7.0) == pytest.approx(fid, rel=1e-9)


def test_identical_sets_give_zero_and_distance_grows_with_shift():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(100, 16))
    assert frechet_distance(real, real) == 0.0  # not +-1e-13 of rounding
    fids = [frechet_distance(real, real + s) for s in (0.1, 0.5, 1.0)]
    # A pure shift only changes the mean term: |shift * 1|^2 = 16 s^2.
    assert fids == pytest.approx([16 * s * s for s in (0.1, 0.5, 1.0)], rel=1e-9)


def test_float32_input_is_computed_in_float64():
    rng = np.random.default_rng(5)
    real, gen = rng.normal(size=(50, 8)), rng.normal(size=(60, 8)) + 0.1
    assert frechet_distance(real.astype(np.float32), gen.astype(np.float32)) == pytest.approx(
        sqrtm_fid(real.astype(np.float32).astype(np.float64), gen.astype(np.float32).astype(np.float64)), rel=1e-9)


def test_fid_score():
    assert fid_score(0.0, 50.0) == 1.0
    assert fid_score(50.0, 50.0) == 0.0
    assert fid_score(10.0, 40.0) == pytest.approx(0.75)
    assert fid_score(60.0, 40.0) == pytest.approx(-0.5)  # a fixed FID_max can be exceeded
    with pytest.raises(ValueError, match=r"fid_max must be a finite number > 0, got 0.0"):
        fid_score(0.0, 0.0)
    with pytest.raises(ValueError, match=r"fid must be a finite number >= 0, got nan"):
        fid_score(float("nan"), 1.0)
