"""The leaderboard: every metric of every submission against the real set, as one JSON-ready dict.

Challenge scores:
    FID_score    = 1 - FID / FID_max, FID_max = the largest FID among the submissions compared
                   (or a fixed value given by the organiser);
    Diversity    = 1 - 2 |LOO 1-NN accuracy - 0.5|;
    Quantitative = (Diversity + FID_score) / 2;
    Final        = (Quantitative + qualitative / 20) / 2, qualitative = the readers' 0-20 mean.

Ranks (1 = best; equal scores share a rank, the next rank skips, as in sports): every submission
has a ``quantitative_rank``. ``rank`` orders by the final score and exists only once the reader
study's results are folded in with ``add_qualitative``; a submission the readers did not score
has ``final_score`` and ``rank`` null and keeps its quantitative rank (a final score without the
reader half would not be comparable with the others').

Everything returned is plain Python (float, int, str, list, dict, None): ``json.dumps`` works as is.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping

import numpy as np

from threadpoolctl import threadpool_limits

from gan_eval.embedding_set import EmbeddingSet, check_comparable
from gan_eval.metrics import diversity, kid, memorisation, prdc
from gan_eval.metrics.bootstrap import N_BOOT, bootstrap_fid
from gan_eval.metrics.consistency_summary import summarise_consistency
from gan_eval.metrics.fid import fid_score, frechet_distance
from gan_eval.metrics.inputs import embeddings
from gan_eval.selection import select_cases

QUALITATIVE_MAX = 20.0  # five criteria rated 0-4 per case

Progress = Callable[[int, int, str], None]  # (submissions done, total, name of the one just done)


def evaluate(real: EmbeddingSet, submissions: Mapping[str, EmbeddingSet], seed: int = 0,
             fid_max: float | None = None, n_boot: int = N_BOOT, selection_k: int = 10,
             memorisation_alpha: float = memorisation.ALPHA, progress: Progress | None = None) -> dict:
    """Score each submission against ``real``; the dict's layout is the CLI's JSON (module docstring).

    A submission with fewer than ``selection_k`` cases has all its cases selected.
    """
    if not submissions:
        raise ValueError("no submissions to evaluate")
    real = _named(real, real.name or "real set")
    real_x = embeddings(real.features, real.name, real.case_ids)
    scored: dict[str, dict] = {}
    for done, (name, sub) in enumerate(submissions.items(), start=1):
        sub = _named(sub, name)
        check_comparable(real, sub)
        gen_x = embeddings(sub.features, sub.name, sub.case_ids)
        try:
            # One BLAS/OpenMP thread: the matrices are ~1000 x 1280, too small for threads to pay
            # off, and on a busy machine threads made the whole evaluation 2-10x slower.
            with threadpool_limits(limits=1):
                scored[name] = _score_submission(real, real_x, sub, gen_x, seed, n_boot, selection_k,
                                                 memorisation_alpha)
        except ValueError as err:
            raise ValueError(f"submission {name!r}: {err}") from err
        if progress is not None:
            progress(done, len(submissions), name)

    if fid_max is None:
        fid_max = max(s["fid"] for s in scored.values())
        if fid_max == 0:
            raise ValueError("every submission has FID 0 (identical to the real set): "
                             "FID_score = 1 - FID / FID_max is undefined; give fid_max")
    for s in scored.values():
        s["fid_score"] = fid_score(s["fid"], fid_max)
        # FID_score decreases with FID, so the FID interval's ends swap.
        s["fid_score_ci95"] = [fid_score(s["fid_ci95"][1], fid_max), fid_score(s["fid_ci95"][0], fid_max)]
        s["quantitative_score"] = (s["diversity_score"] + s["fid_score"]) / 2.0
    for name, r in _ranks({n: s["quantitative_score"] for n, s in scored.items()}).items():
        scored[name]["quantitative_rank"] = r

    return {
        "backbone": real.backbone,
        "backbone_fingerprint": real.fingerprint,
        "seed": seed,
        "fid_max": float(fid_max),
        "settings": {"n_boot": n_boot, "selection_k": selection_k, "memorisation_alpha": memorisation_alpha,
                     "diversity_batch_size": diversity.BATCH_SIZE, "diversity_repetitions": diversity.REPETITIONS,
                     "kid_subset_size": kid.SUBSET_SIZE, "kid_subsets": kid.N_SUBSETS,
                     "prdc_k_precision_recall": prdc.K_PRECISION_RECALL,
                     "prdc_k_density_coverage": prdc.K_DENSITY_COVERAGE},
        "real": {"n": len(real), "name": real.name},
        "submissions": scored,
    }


def _named(s: EmbeddingSet, name: str) -> EmbeddingSet:
    """The set under the name the caller knows it by, so that every error message names it."""
    return s if s.name == name else dataclasses.replace(s, name=name)


def _score_submission(real: EmbeddingSet, real_x: np.ndarray, sub: EmbeddingSet, gen_x: np.ndarray, seed: int,
                      n_boot: int, selection_k: int, memorisation_alpha: float) -> dict:
    fid = frechet_distance(real_x, gen_x)
    div = diversity.loo_1nn_diversity(real_x, gen_x, seed=seed)
    kernel = kid.kernel_inception_distance(real_x, gen_x, seed=seed)
    quality = prdc.prdc(real_x, gen_x)
    memo = memorisation.memorisation(real_x, gen_x, alpha=memorisation_alpha)
    selected = select_cases(gen_x, k=min(selection_k, len(sub)), seed=seed)
    record = {
        "n": len(sub),
        "fid": fid,
        "fid_ci95": list(bootstrap_fid(real_x, gen_x, n_boot=n_boot, seed=seed)),
        "loo_accuracy": div.accuracy,
        "loo_accuracy_real": div.accuracy_real,
        "loo_accuracy_generated": div.accuracy_generated,
        "loo_accuracy_std": div.accuracy_std,
        "loo_batches": div.n_batches,
        "diversity_score": div.diversity,
        "kid": kernel.kid,
        "kid_std": kernel.std,
        "precision": quality.precision,
        "recall": quality.recall,
        "density": quality.density,
        "coverage": quality.coverage,
        "memorized_fraction": memo.fraction,
        "suspected_copies": [
            {"generated": sub.case_ids[c.generated_index], "real": real.case_ids[c.real_index],
             "distance": c.distance, "ratio": c.ratio}
            for c in memo.copies
        ],
        "selected_cases": [sub.case_ids[i] for i in selected],
    }
    record.update(_consistency(sub, real))
    return record


def _consistency(sub: EmbeddingSet, real: EmbeddingSet) -> dict:
    keys = ("consistency", "consistency_real", "consistency_flag", "consistency_fraction_below")
    if sub.consistency is None:
        return dict.fromkeys(keys)
    summary = summarise_consistency(sub.consistency, real.consistency)
    return dict(zip(keys, (summary.mean, summary.real_mean, summary.flagged, summary.fraction_below)))


def _ranks(scores: Mapping[str, float | None]) -> dict[str, int | None]:
    """1 = highest score; ties share the better rank (1, 1, 3); None stays unranked."""
    present = [v for v in scores.values() if v is not None]
    return {name: None if v is None else 1 + sum(other > v for other in present) for name, v in scores.items()}


def add_qualitative(result: dict, qualitative: Mapping[str, float]) -> dict:
    """A copy of ``evaluate``'s result with the reader study's scores (0-20 per submission) folded in.

    Adds ``qualitative_score``, ``qualitative_normalised`` (/20), ``final_score`` and ``rank`` to every
    submission: null for those absent from ``qualitative`` (see the module docstring).
    """
    unknown = sorted(set(qualitative) - set(result["submissions"]))
    if unknown:
        raise ValueError(f"qualitative scores for unknown submission(s): {', '.join(unknown)}")
    for name, q in qualitative.items():
        if not (isinstance(q, numbers.Real) and math.isfinite(q) and 0 <= q <= QUALITATIVE_MAX):
            raise ValueError(f"qualitative score of {name!r} must be a number between 0 and 20, got {q!r}")
    out = copy.deepcopy(result)
    for name, s in out["submissions"].items():
        q = qualitative.get(name)
        s["qualitative_score"] = None if q is None else float(q)
        s["qualitative_normalised"] = None if q is None else float(q) / QUALITATIVE_MAX
        s["final_score"] = None if q is None else (s["quantitative_score"] + float(q) / QUALITATIVE_MAX) / 2.0
    for name, r in _ranks({n: s["final_score"] for n, s in out["submissions"].items()}).items():
        out["submissions"][name]["rank"] = r
    return out


# Columns of a leaderboard row, in display order; ``*_ci95`` pairs become ``_low``/``_high`` columns.
_ROW_KEYS = (
    "rank", "quantitative_rank", "final_score", "qualitative_score", "quantitative_score",
    "fid", "fid_ci95", "fid_score", "loo_accuracy", "loo_accuracy_real", "loo_accuracy_generated",
    "loo_accuracy_std", "diversity_score", "kid", "kid_std", "precision", "recall", "density", "coverage",
    "memorized_fraction", "consistency", "consistency_flag",
)


def leaderboard_rows(result: dict) -> list[dict]:
    """One flat dict per submission (for tables and CSV), best first; the numbers are the JSON's.

    Order: by ``rank`` when the reader study is folded in (unscored submissions after), then by
    quantitative rank. Lists become counts or ``;``-joined ids.
    """
    rows = []
    for name, s in result["submissions"].items():
        row: dict = {"submission": name, "n": s["n"]}
        for key in _ROW_KEYS:
            value = s.get(key)
            if key.endswith("_ci95"):
                row[f"{key}_low"], row[f"{key}_high"] = value
            else:
                row[key] = value
        row["n_suspected_copies"] = len(s["suspected_copies"])
        row["selected_cases"] = ";".join(s["selected_cases"])
        row["backbone"] = result["backbone"]
        row["seed"] = result["seed"]
        rows.append(row)
    unranked = len(rows) + 1
    rows.sort(key=lambda r: (unranked if r["rank"] is None else r["rank"], r["quantitative_rank"]))
    return rows
