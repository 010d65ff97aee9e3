"""Stored evaluations: the same inputs give the stored result; any change in them recomputes."""

import json

import numpy as np
import pytest

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


def test_a_stored_result_edited_on_disk_is_not_served(tmp_path):
    real, subs = sets()
    honest = evaluation.evaluate_cached(real, subs, tmp_path, seed=3)
    (path,) = tmp_path.glob("*.json")
    record = json.loads(path.read_text())
    record["body"]["submissions"]["a"]["fid"] = 0.001  # a team rewrites its stored score
    path.write_text(json.dumps(record))
    with pytest.warns(RuntimeWarning, match="damaged"):
        again = evaluation.evaluate_cached(real, subs, tmp_path, seed=3)
    assert again["submissions"]["a"]["fid"] == honest["submissions"]["a"]["fid"] != 0.001


def test_one_unusable_submission_never_hides_the_others(tmp_path):
    real, subs = sets()
    broken = subs["b"].features.copy()
    broken[2, 0] = np.nan
    subs["nan_team"] = EmbeddingSet(broken, subs["b"].case_ids, "efficientnet-lite0", "f" * 16, "nan_team")
    subs["four"] = EmbeddingSet(subs["a"].features[:4], subs["a"].case_ids[:4], "efficientnet-lite0", "f" * 16, "four")
    result = evaluation.evaluate_cached(real, subs, tmp_path)
    assert result["failed"] == {"nan_team": "nan_team: NaN or Inf in the embeddings of 1 case(s), first case 'b_2'"}
    assert set(result["submissions"]) == {"a", "b", "four"}
    four = result["submissions"]["four"]
    assert four["fid"] > 0 and four["precision"] is None and four["quantitative_rank"] is not None
    assert "nearest neighbours need more than" in four["metric_errors"]["prdc"]
    assert [result["submissions"][n]["quantitative_rank"] for n in ("a", "b", "four")] != [None] * 3
