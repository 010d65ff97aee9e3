import numpy as np
import pytest

from gan_eval.projection import cached_projection, project


def _two_blobs(n=60, d=32, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, (n, d))
    b = rng.normal(0, 1, (n, d)) + 8.0
    return np.vstack([a, b]).astype(np.float32)


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_projection_separates_blobs_and_is_deterministic(method, tmp_path):
    x = _two_blobs()
    coords = project(x, method, seed=3)
    assert coords.shape == (120, 2) and np.isfinite(coords).all()
    # The two blobs stay apart in 2D: each point's nearest neighbour is in its own blob.
    d = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    labels = np.repeat([0, 1], 60)
    assert (labels[d.argmin(1)] == labels).mean() > 0.95
    np.testing.assert_array_equal(coords, project(x, method, seed=3))


def test_projection_cache_round_trip(tmp_path):
    x = _two_blobs()
    assert cached_projection(x, "tsne", 0, tmp_path) is None
    first = project(x, "tsne", seed=0, cache_dir=tmp_path)
    np.testing.assert_array_equal(cached_projection(x, "tsne", 0, tmp_path), first)
    # Different features or seed: a different entry.
    assert cached_projection(x[:-1], "tsne", 0, tmp_path) is None
    assert cached_projection(x, "tsne", 1, tmp_path) is None


def test_projection_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown projection method 'mds'"):
        project(np.zeros((5, 3)), "mds")
    with pytest.raises(ValueError, match="at least 3 embedded cases"):
        project(np.zeros((2, 3)), "pca")


def test_a_damaged_stored_map_is_recomputed_not_served(tmp_path):
    x = np.random.default_rng(1).normal(size=(30, 5)).astype(np.float32)
    coords = project(x, "pca", seed=0, cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.npy")
    raw = bytearray(path.read_bytes())
    raw[200] ^= 0x55  # a flipped byte inside the coordinates
    path.write_bytes(bytes(raw))
    with pytest.warns(RuntimeWarning, match="damaged"):
        assert cached_projection(x, "pca", 0, tmp_path) is None
    np.testing.assert_array_equal(project(x, "pca", seed=0, cache_dir=tmp_path), coords)
