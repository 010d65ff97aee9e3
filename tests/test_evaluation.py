"""Stored evaluations: the same inputs give the stored result; any change in them recomputes."""

import json

import numpy as np

from gan_eval import evaluation
from gan_eval.embedding_set import EmbeddingSet


def sets(seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    make = lambda n, name, delta: EmbeddingSet(rng.normal(delta, 1, (n, 8)).astype(np.float32),
                                               [f"{name}_{i}" for i in range(n)], "efficientnet-lite0", "f" * 16, name)
    return make(30, "real", 0.0), {"a": make(40, "a", shift), "b": make(40, "b", 1.0)}


def test_a_stored_result_is_reused_and_any_input_change_recomputes(tmp_path, monkeypatch):
    real, subs = sets()
    first = evaluation.evaluate_cached(real, subs, tmp_path, seed=3)
    assert len(list(tmp_path.glob("*.json"))) == 1
    calls = []
    original = evaluation.evaluate
    monkeypatch.setattr(evaluation, "evaluate", lambda *a, **k: calls.append(1) or original(*a, **k))
    assert evaluation.evaluate_cached(real, subs, tmp_path, seed=3) == json.loads(json.dumps(first))
    assert calls == []
    evaluation.evaluate_cached(real, subs, tmp_path, seed=4)                  # another seed
    subs["a"].features[0, 0] += 1e-3
    evaluation.evaluate_cached(real, subs, tmp_path, seed=3)                  # one changed number
    assert len(calls) == 2 and len(list(tmp_path.glob("*.json"))) == 3
    # A damaged stored result is recomputed, not trusted.
    for path in tmp_path.glob("*.json"):
        path.write_text("{not json")
    evaluation.evaluate_cached(real, subs, tmp_path, seed=3)
    assert len(calls) == 3
