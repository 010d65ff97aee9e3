"""Every metric refuses the same bad inputs with the same message (checked in metrics.inputs)."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.metrics.bootstrap import bootstrap_fid
from gan_eval.metrics.diversity import loo_1nn_diversity
from gan_eval.metrics.fid import frechet_distance
from gan_eval.metrics.inputs import embeddings
from gan_eval.metrics.kid import kernel_inception_distance
from gan_eval.metrics.memorisation import memorisation
from gan_eval.metrics.prdc import prdc

METRICS = [frechet_distance, loo_1nn_diversity, kernel_inception_distance, prdc, memorisation, bootstrap_fid]
GOOD = np.random.default_rng(0).normal(size=(20, 8))


def with_nan(row: int) -> np.ndarray:
    x = GOOD.copy()
    x[row, 3] = np.nan
    return x


BAD = [
    (np.empty((0, 8)), r"generated: empty set \(0 cases\)"),
    (GOOD[:1], r"generated: needs at least 2 cases, got 1"),
    (GOOD[:, :4], r"real and generated embeddings have different dimensions: 8 vs 4"),
    (with_nan(7), r"generated: NaN or Inf in the embeddings of 1 case\(s\), first row 7"),
    (np.where(np.arange(8) == 2, np.inf, GOOD),
     r"generated: NaN or Inf in the embeddings of 20 case\(s\), first row 0"),
    (GOOD.ravel(), r"generated: expected a 2D \(n_cases, n_features\) array, got shape \(160,\)"),
    (GOOD[None], r"generated: expected a 2D \(n_cases, n_features\) array, got shape \(1, 20, 8\)"),
    (GOOD.astype(str), r"generated: embeddings must be real numbers, got dtype <U"),
]


@pytest.mark.parametrize("metric", METRICS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("bad,message", BAD, ids=[m.split(":")[1][:25] for _, m in BAD])
def test_every_metric_rejects_bad_generated_sets(metric, bad, message):
    with pytest.raises(ValueError, match=message):
        metric(GOOD, bad)


@pytest.mark.parametrize("metric", METRICS, ids=lambda f: f.__name__)
def test_every_metric_names_the_real_set(metric):
    with pytest.raises(ValueError, match=r"real: empty set \(0 cases\)"):
        metric(np.empty((0, 8)), GOOD)
    with pytest.raises(ValueError, match=r"real: NaN or Inf in the embeddings of 1 case\(s\), first row 0"):
        metric(with_nan(0), GOOD)


def test_case_ids_name_the_bad_case_and_float64_comes_back():
    with pytest.raises(ValueError, match=r"good_team: NaN or Inf in the embeddings of 1 case\(s\), first case 'c07'"):
        embeddings(with_nan(7), "good_team", [f"c{i:02d}" for i in range(20)])
    assert embeddings(GOOD.astype(np.float32), "x").dtype == np.float64
