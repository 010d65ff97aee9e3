"""scoring.evaluate: the JSON of issue 3, the challenge formulas, errors naming the set; the reader
study folded in; flat leaderboard rows with the same numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gan_eval.embedding_set import EmbeddingSet
from gan_eval.metrics.diversity import loo_1nn_diversity
from gan_eval.metrics.fid import frechet_distance
from gan_eval.metrics.frd import frechet_radiomic_distance
from gan_eval.reader_scores import CRITERION_KEYS, Rating, qualitative_scores
from gan_eval.scoring import add_qualitative, evaluate, leaderboard_rows

REQUIRED = {"n", "fid", "fid_ci95", "fid_score", "loo_accuracy", "loo_accuracy_real", "loo_accuracy_generated",
            "diversity_score", "quantitative_score", "kid", "precision", "recall", "density", "coverage",
            "memorized_fraction", "suspected_copies", "selected_cases"}
D = 16


def make_set(x: np.ndarray, prefix: str, backbone: str = "test-backbone", consistency=None) -> EmbeddingSet:
    return EmbeddingSet(features=x.astype(np.float32), case_ids=[f"{prefix}-{i:03d}" for i in range(len(x))],
                        backbone=backbone, fingerprint="f" * 64, consistency=consistency)


@pytest.fixture(scope="module")
def sets():
    rng = np.random.default_rng(0)
    real = make_set(rng.normal(size=(40, D)), "real", consistency=rng.uniform(0.6, 0.9, 40))
    copier = rng.normal(size=(150, D)) + 0.2
    copier[7] = real.features[3]  # a planted copy of real case 3
    subs = {
        "good": make_set(rng.normal(size=(150, D)), "good", consistency=rng.uniform(0.6, 0.9, 150)),
        "shifted": make_set(rng.normal(size=(150, D)) + 1.5, "shifted", consistency=rng.uniform(0.0, 0.2, 150)),
        "copier": make_set(copier, "copier"),
        "tiny": make_set(rng.normal(size=(8, D)), "tiny"),
    }
    return real, subs


@pytest.fixture(scope="module")
def result(sets):
    real, subs = sets
    return evaluate(real, subs, seed=0)


def plain(value) -> bool:
    """Only JSON's own types, all the way down."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def test_layout_and_plain_json(result):
    assert result["backbone"] == "test-backbone" and result["seed"] == 0 and result["real"]["n"] == 40
    assert list(result["submissions"]) == ["good", "shifted", "copier", "tiny"]
    for s in result["submissions"].values():
        assert REQUIRED <= set(s)
    assert plain(result)
    assert json.loads(json.dumps(result, allow_nan=False)) == result


def test_challenge_formulas(sets, result):
    real, subs = sets
    subs_out = result["submissions"]
    fids = {name: frechet_distance(real.features, s.features) for name, s in subs.items()}
    assert result["fid_max"] == pytest.approx(max(fids.values()))
    for name, s in subs_out.items():
        assert s["fid"] == pytest.approx(fids[name], rel=1e-12)
        assert s["fid_score"] == pytest.approx(1 - fids[name] / result["fid_max"])
        assert s["quantitative_score"] == pytest.approx((s["diversity_score"] + s["fid_score"]) / 2)
        lo, hi = s["fid_ci95"]
        assert lo <= s["fid"] <= hi
        assert s["fid_score_ci95"] == pytest.approx([1 - hi / result["fid_max"], 1 - lo / result["fid_max"]])
    div = loo_1nn_diversity(real.features, subs["good"].features, seed=0)
    assert subs_out["good"]["loo_accuracy"] == div.accuracy and subs_out["good"]["diversity_score"] == div.diversity
    assert subs_out["shifted"]["fid_score"] == 0.0  # the worst FID defines FID_max
    ranks = {name: s["quantitative_rank"] for name, s in subs_out.items()}
    assert ranks["good"] == 1 and ranks["shifted"] == 4


def test_selection_copies_and_consistency_are_named_by_case_id(result):
    good, copier, tiny = (result["submissions"][n] for n in ("good", "copier", "tiny"))
    assert len(good["selected_cases"]) == 10 and all(c.startswith("good-") for c in good["selected_cases"])
    assert sorted(tiny["selected_cases"]) == [f"tiny-{i:03d}" for i in range(8)]  # fewer cases than K: all
    assert copier["suspected_copies"][0] == {"generated": "copier-007", "real": "real-003",
                                             "distance": 0.0, "ratio": 0.0}
    assert copier["memorized_fraction"] == pytest.approx(1 / 150)
    assert good["consistency_flag"] is False and result["submissions"]["shifted"]["consistency_flag"] is True
    assert copier["consistency"] is None and copier["consistency_flag"] is None


def test_same_seed_same_numbers_other_seed_other_batches(sets, result):
    real, subs = sets
    again = evaluate(real, subs, seed=0)
    assert again == result
    other = evaluate(real, {"good": subs["good"]}, seed=1)["submissions"]["good"]
    assert other["loo_accuracy"] != result["submissions"]["good"]["loo_accuracy"]


def test_given_fid_max_and_progress(sets):
    real, subs = sets
    seen = []
    out = evaluate(real, {"good": subs["good"], "tiny": subs["tiny"]}, fid_max=100.0,
                   progress=lambda done, total, name: seen.append((done, total, name)))
    assert out["fid_max"] == 100.0
    assert out["submissions"]["good"]["fid_score"] == pytest.approx(1 - out["submissions"]["good"]["fid"] / 100.0)
    assert seen == [(1, 2, "good"), (2, 2, "tiny")]


def test_bad_inputs_name_the_submission(sets):
    real, subs = sets
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match=r"cannot compare embeddings from different backbones: real set uses "
                                         r"test-backbone \(ffffffffffff\), other uses inception-v3"):
        evaluate(real, {"other": make_set(rng.normal(size=(50, D)), "o", backbone="inception-v3")})
    with pytest.raises(ValueError, match=r"embedding dimensions differ: real set has 16, narrow has 8"):
        evaluate(real, {"narrow": make_set(rng.normal(size=(50, 8)), "n")})
    bad = rng.normal(size=(50, D))
    bad[4, 0] = np.nan
    with pytest.raises(ValueError, match=r"^nan_team: NaN or Inf in the embeddings of 1 case\(s\), first case 'n-004'"):
        evaluate(real, {"nan_team": make_set(bad, "n")})
    with pytest.raises(ValueError, match=r"submission 'three': k=3 nearest neighbours need more than 3 cases"):
        evaluate(real, {"three": make_set(rng.normal(size=(3, D)), "t")})
    with pytest.raises(ValueError, match=r"no submissions to evaluate"):
        evaluate(real, {})
    with pytest.raises(ValueError, match=r"every submission has FID 0"):
        evaluate(real, {"same": make_set(real.features, "s")})


HAND = {"backbone": "b", "seed": 0, "submissions": {
    "a": {"n": 10, "quantitative_score": 0.6},
    "b": {"n": 10, "quantitative_score": 0.8},
    "c": {"n": 10, "quantitative_score": 0.9},
    "d": {"n": 10, "quantitative_score": 0.7},
}}


def test_add_qualitative_against_a_hand_computation():
    out = add_qualitative(HAND, {"a": 14, "b": 8, "d": 12})
    s = out["submissions"]
    # final = (quantitative + qualitative / 20) / 2
    assert s["a"]["final_score"] == pytest.approx((0.6 + 0.7) / 2)    # 0.65
    assert s["b"]["final_score"] == pytest.approx((0.8 + 0.4) / 2)    # 0.60
    assert s["d"]["final_score"] == pytest.approx((0.7 + 0.6) / 2)    # 0.65: ties with a
    assert s["a"]["qualitative_normalised"] == pytest.approx(0.7)
    assert [s[n]["rank"] for n in "abcd"] == [1, 3, None, 1]
    assert (s["c"]["qualitative_score"], s["c"]["final_score"]) == (None, None)
    assert "rank" not in HAND["submissions"]["a"]  # the input is not modified
    # Folding in again replaces, it does not accumulate.
    again = add_qualitative(out, {"c": 20})["submissions"]
    assert [again[n]["rank"] for n in "abcd"] == [None, None, 1, None]


def test_add_qualitative_refuses_bad_scores():
    with pytest.raises(ValueError, match=r"qualitative scores for unknown submission\(s\): zed"):
        add_qualitative(HAND, {"a": 10, "zed": 3})
    with pytest.raises(ValueError, match=r"qualitative score of 'a' must be a number between 0 and 20, got 21"):
        add_qualitative(HAND, {"a": 21})
    with pytest.raises(ValueError, match=r"qualitative score of 'a' must be a number between 0 and 20, got nan"):
        add_qualitative(HAND, {"a": float("nan")})


def test_leaderboard_rows_carry_the_json_numbers(result):
    scored = add_qualitative(result, {"shifted": 20.0, "copier": 2.0})
    rows = leaderboard_rows(scored)
    # Readers' ranks first (best final score first), then the unscored by quantitative rank.
    finals = {n: scored["submissions"][n]["final_score"] for n in ("shifted", "copier")}
    assert [r["submission"] for r in rows[:2]] == sorted(finals, key=finals.get, reverse=True)
    assert [r["rank"] for r in rows] == [1, 2, None, None]
    assert [r["quantitative_rank"] for r in rows[2:]] == sorted(r["quantitative_rank"] for r in rows[2:])
    for row in rows:
        s = scored["submissions"][row["submission"]]
        assert row["fid"] == s["fid"] and row["final_score"] == s["final_score"]
        assert [row["fid_ci95_low"], row["fid_ci95_high"]] == s["fid_ci95"]
        assert row["n_suspected_copies"] == len(s["suspected_copies"])
        assert row["selected_cases"].split(";") == s["selected_cases"]
        assert row["backbone"] == "test-backbone" and plain(row)


NEW_PER_SUBMISSION = {"fid_matched", "fid_matched_ci95", "fid_matched_n", "fd_inf", "loo_pvalue", "fid_pvalue",
                      "loo_chance_accuracy", "rank_probabilities", "rank_ci95", "frd", "orientation_suspect_fraction"}


def test_size_fair_and_cross_submission_keys(result):
    subs = result["submissions"]
    for s in subs.values():
        assert NEW_PER_SUBMISSION <= set(s)
    # The matched size: the smallest submission (8), at least the real set's (40).
    assert result["fid_matched_n"] == 40 and result["settings"]["fid_matched_n"] == 40 and result["sizes_differ"]
    assert subs["tiny"]["fid_matched"] is None and subs["tiny"]["fid_matched_n"] == 40
    lo, hi = subs["good"]["fid_matched_ci95"]
    assert lo <= subs["good"]["fid_matched"] <= hi and subs["good"]["fid_matched"] > subs["good"]["fid"]
    assert subs["shifted"]["loo_pvalue"] < 0.05 and subs["shifted"]["fid_pvalue"] < 0.05
    assert subs["tiny"]["loo_chance_accuracy"] == pytest.approx((40 * 39 + 8 * 7) / (48 * 47))
    assert subs["tiny"]["loo_chance_warning"] is True
    assert subs["good"]["kid_subset_size"] == 40 and subs["good"]["frd"] is None
    assert subs["good"]["orientation_suspect_fraction"] is None  # no descriptors given
    assert set(result["noise_floor"]) >= {"fid", "kid", "precision", "loo_accuracy"} and result["rank_agreement"] == {}


def test_rank_probabilities_sum_to_one_per_team_and_per_rank(result):
    subs = result["submissions"]
    teams = result["rank_confidence"]["teams"]
    matrix = np.array([subs[t]["rank_probabilities"] for t in teams])
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    np.testing.assert_allclose(matrix.sum(axis=0), 1.0)
    assert subs["shifted"]["rank_ci95"] == [len(teams), len(teams)]  # far off: certainly last
    pairwise = result["rank_confidence"]["pairwise"]
    assert pairwise["good"]["shifted"] == 1.0 and pairwise["good"]["copier"] + pairwise["copier"]["good"] == 1.0
    assert len(result["rank_confidence"]["resampled"]) == result["settings"]["rank_resamples"]


def test_other_feature_spaces_give_frd_and_rank_agreement(sets):
    real, subs = sets
    rng = np.random.default_rng(5)
    radiomic = lambda s, shift: EmbeddingSet(rng.normal(size=(len(s), 6)) * 3 + shift, s.case_ids,  # noqa: E731
                                             "radiomics", "r" * 16)
    spaces = {"radiomics": (radiomic(real, 0.0), {"good": radiomic(subs["good"], 0.1),
                                                  "shifted": radiomic(subs["shifted"], 2.0)})}
    out = evaluate(real, {"good": subs["good"], "shifted": subs["shifted"]}, other_spaces=spaces)
    assert out["submissions"]["good"]["frd"] == pytest.approx(frechet_radiomic_distance(
        spaces["radiomics"][0].features, spaces["radiomics"][1]["good"].features))
    assert out["rank_agreement"] == {"test-backbone / radiomics": 1.0}
    assert out["frechet_by_space"]["test-backbone"]["good"] == out["submissions"]["good"]["fid"]


def test_final_rank_confidence_from_resampled_readers_and_cases(result):
    ratings = [Rating(reader, team, f"{team}-{c}", key, value)
               for reader, bias in (("ann", 0), ("bob", 1), ("cy", 2))
               for team, level in (("good", 3), ("shifted", 1), ("copier", 2))
               for c in range(4) for key in CRITERION_KEYS
               for value in [min(4, max(0, level + (c + bias) % 2 - 1 + bias // 2))]]
    qualitative = qualitative_scores(ratings)
    out = add_qualitative(result, qualitative, ratings=ratings)
    subs = out["submissions"]
    teams = [t for t in out["rank_confidence"]["teams"] if subs[t]["final_score"] is not None]
    matrix = np.array([subs[t]["final_rank_probabilities"] for t in teams])
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    np.testing.assert_allclose(matrix.sum(axis=0), 1.0)
    assert subs["tiny"]["final_rank_probabilities"] is None  # not read
    assert subs["shifted"]["final_rank_ci95"] == [3, 3]
    assert set(out["rank_confidence"]["final_pairwise"]) == set(teams)
