"""The leaderboard: every registered metric of every submission against the real set, as one
JSON-ready dict. Which metrics run, and what each output is called and how it is shown, is the
metric registry's (``gan_eval.metrics.registry``); this module adds the challenge's scores across
submissions and the ranks.

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

Across submissions, beside the challenge's numbers (which stay exactly the challenge's):

- **size-fair FID**: every submission's FID at the same number of generated cases,
  ``fid_matched_n`` = the smallest submission's size, at least the real set's (a smaller
  submission has no matched FID), set here because it depends on all submissions; and
  ``sizes_differ`` at the top level, since then only ``fid_matched`` and ``fd_inf`` compare FIDs;
- **rank confidence** (``metrics.rank_confidence``): half-samples of the real and generated
  cases, every team's quantitative score recomputed (FID_max included): per submission
  ``rank_probabilities`` (index 0 = rank 1) and ``rank_ci95``, at the top level
  ``rank_confidence`` (the scheme, ``pairwise`` P(A beats B) and the centred resampled scores,
  which ``add_qualitative`` combines with resampled readers and cases for the final score);
- **noise floor** (``metrics.noise_floor``): each metric between two halves of the real set,
  ``noise_floor`` (metric -> mean over splits) and ``noise_floor_spread`` (-> sd);
- **other feature spaces** (``other_spaces``, e.g. radiomics, Inception): each submission's
  Fréchet distance in each (``frd`` for radiomics, standardised by the real cases), and
  ``rank_agreement`` (pair of spaces -> Kendall's tau of the rankings by Fréchet distance);

Everything returned is plain Python (float, int, str, list, dict, None): ``json.dumps`` works as is.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from threadpoolctl import threadpool_limits

import numpy as np

from gan_eval.embedding_set import EmbeddingSet, check_comparable
from gan_eval.metrics import registry
from gan_eval.metrics.bootstrap import N_BOOT
from gan_eval.metrics.fid import fid_score, frechet_distance
from gan_eval.metrics.frd import frechet_radiomic_distance, rank_agreement, standardise_by_real
from gan_eval.metrics.inputs import embeddings
from gan_eval.metrics.memorisation import ALPHA
from gan_eval.metrics.noise_floor import noise_floor
from gan_eval.metrics.pool import Pool
from gan_eval.metrics.rank_confidence import RankConfidence, quantitative_resamples, rank_confidence, ranks_of
from gan_eval.radiomics import BACKBONE as RADIOMICS
from gan_eval.reader_resampling import qualitative_resamples
from gan_eval.reader_scores import Rating

QUALITATIVE_MAX = 20.0  # five criteria rated 0-4 per case

Progress = Callable[[int, int, str], None]  # (submissions done, total, name of the one just done)


@dataclass(frozen=True)
class SubmissionScores:
    """One submission's numbers: ``n`` and every registered output (``registry.outputs()``).

    ``errors`` names the metrics that could not be computed for it (their outputs are None),
    e.g. precision/recall on a set with fewer cases than their k nearest neighbours.
    """

    name: str
    n: int
    values: Mapping[str, object]
    errors: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict:
        record = {"n": self.n, **self.values}
        if self.errors:
            record["metric_errors"] = dict(self.errors)
        return record


Spaces = Mapping[str, tuple[EmbeddingSet, Mapping[str, EmbeddingSet]]]  # space -> (real, {submission: set})


def evaluate(real: EmbeddingSet, submissions: Mapping[str, EmbeddingSet], seed: int = 0,
             fid_max: float | None = None, n_boot: int = N_BOOT, selection_k: int = 10,
             memorisation_alpha: float = ALPHA, progress: Progress | None = None,
             settings: Mapping[str, object] | None = None, strict: bool = True,
             other_spaces: Spaces | None = None, reference: Collection[str] = ()) -> dict:
    """Score each submission against ``real`` with every registered metric; the dict's layout is
    the CLI's JSON (module docstring).

    ``settings`` overrides metric settings by name (``registry.settings()`` lists them; the
    keyword arguments are the common ones). A submission with fewer than ``selection_k`` cases
    has all its cases selected. ``other_spaces`` gives the same sets embedded in other feature
    spaces (by name: radiomics, another backbone) for ``frd`` and ``rank_agreement``.

    ``strict=True`` raises ValueError naming the first submission that cannot be scored.
    ``strict=False`` (the workspace and the CLI) never lets one submission hide the others: a
    submission whose embeddings are unusable is listed under ``failed`` with the reason, a metric
    that fails for one submission leaves its outputs None and its reason in ``metric_errors``,
    and the rest are scored and ranked.

    ``reference`` names sets that are scored and shown but do not compete (the organiser's
    baseline GAN, say): they are marked ``"reference": true``, left out of FID_max and get no
    rank, so adding one never moves any team's score.
    """
    if not submissions:
        raise ValueError("no submissions to evaluate")
    chosen = registry.settings({"n_boot": n_boot, "selection_k": selection_k, "memorisation_alpha": memorisation_alpha,
                                **(settings or {})})
    real = _named(real, real.name or "real set")
    real_x = embeddings(real.features, real.name, real.case_ids)
    gated: dict[str, tuple[EmbeddingSet, np.ndarray]] = {}
    failed: dict[str, str] = {}
    for name, sub in submissions.items():
        sub = _named(sub, name)
        try:
            check_comparable(real, sub)
            gated[name] = sub, embeddings(sub.features, sub.name, sub.case_ids)
        except ValueError as err:
            if strict:
                raise
            failed[name] = str(err)
    if gated and chosen["fid_matched_n"] is None:
        chosen["fid_matched_n"] = max(min(len(x) for _, x in gated.values()), len(real_x))
    if real.backbone == RADIOMICS:  # the radiomic space is measured in units of the real cases' spread
        real_x, gated = _standardised(real_x, gated)

    scored: dict[str, SubmissionScores] = {}
    pools: dict[str, Pool] = {}  # each submission's shared matrices, for the rank confidence too
    for done, (name, (sub, x)) in enumerate(gated.items(), start=len(failed) + 1):
        inputs = registry.SubmissionInputs(
            real=real_x, generated=x, real_ids=real.case_ids, generated_ids=sub.case_ids,
            real_consistency=real.consistency, generated_consistency=sub.consistency, seed=seed, settings=chosen,
            real_orientation=real.orientation, generated_orientation=sub.orientation)
        scored[name] = _score_submission(inputs, sub, strict)
        pools[name] = inputs.pool
        if progress is not None:
            progress(done, len(submissions), name)
    if not scored:
        raise ValueError("no submission could be scored: " + "; ".join(failed.values()))

    records = {name: s.to_json() for name, s in scored.items()}
    for name in reference:
        if name in records:
            records[name]["reference"] = True
    competing = {n: r for n, r in records.items() if not r.get("reference")}
    fids = [r["fid"] for r in competing.values() if r["fid"] is not None]
    if fid_max is None:
        fid_max = max(fids, default=0.0)
        if fid_max == 0:
            raise ValueError("every submission has FID 0 (identical to the real set): "
                             "FID_score = 1 - FID / FID_max is undefined; give fid_max")
    for r in records.values():
        _challenge_scores(r, fid_max)
    for name, rank in _ranks({n: None if r.get("reference") else r["quantitative_score"]
                              for n, r in records.items()}).items():
        records[name]["quantitative_rank"] = rank

    sizes = {len(x) for _, x in gated.values()}
    with threadpool_limits(limits=1):  # small matrices: threads only add overhead (see _score_submission)
        floor = noise_floor(real_x, splits=int(chosen["noise_floor_splits"]), seed=seed)
    result = {
        "backbone": real.backbone,
        "backbone_fingerprint": real.fingerprint,
        "seed": seed,
        "fid_max": float(fid_max),
        "settings": chosen,
        "metrics_version": registry.version(),
        "real": {"n": len(real), "name": real.name},
        "submissions": records,
        "sizes_differ": len(sizes) > 1,
        "fid_matched_n": chosen["fid_matched_n"],
        "rank_confidence": _rank_confidence(real_x, {n: gated[n][1] for n in records}, records, seed, chosen, pools),
        "noise_floor": {key: v.mean for key, v in floor.items()},
        "noise_floor_spread": {key: v.sd for key, v in floor.items()},
        "noise_floor_sizes": {"reference": len(real_x) // 2, "compared": len(real_x) // 2,
                              "splits": int(chosen["noise_floor_splits"])},
        **_feature_spaces(real, records, other_spaces or {}),
    }
    if failed:
        result["failed"] = failed
    return result


def _named(s: EmbeddingSet, name: str) -> EmbeddingSet:
    """The set under the name the caller knows it by, so that every error message names it."""
    return s if s.name == name else dataclasses.replace(s, name=name)


def _standardised(real_x: np.ndarray, gated: dict) -> tuple[np.ndarray, dict]:
    """Every set in units of the real cases' per-feature mean and sd (``metrics.frd``)."""
    return standardise_by_real(real_x, real_x)[0], {name: (sub, standardise_by_real(real_x, x)[1])
                                                    for name, (sub, x) in gated.items()}


def _score_submission(inputs: registry.SubmissionInputs, sub: EmbeddingSet, strict: bool) -> SubmissionScores:
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    # One BLAS/OpenMP thread: the matrices are ~1000 x 1280, too small for threads to pay off,
    # and on a busy machine threads made the whole evaluation 2-10x slower.
    with threadpool_limits(limits=1):
        for metric in registry.metrics():
            try:
                out = metric.compute(inputs)
            except ValueError as err:
                if strict:
                    raise ValueError(f"submission {sub.name!r}: {err}") from err
                errors[metric.name] = str(err)
                out = dict.fromkeys(o.key for o in metric.outputs)
            values.update({o.key: out[o.key] for o in metric.outputs})
    return SubmissionScores(sub.name, len(sub), values, errors)


def _rank_confidence(real_x: np.ndarray, generated: Mapping[str, np.ndarray], records: dict, seed: int,
                     settings: Mapping[str, object], pools: Mapping[str, Pool]) -> dict:
    """Per-submission rank probabilities and intervals (written into ``records``) and the
    top-level ``rank_confidence`` record."""
    fraction = float(settings["rank_fraction"])
    halves = lambda n: round(n * fraction) >= 2  # noqa: E731 - a half-sample needs two cases of each set
    ranked = [n for n, r in records.items() if r["quantitative_score"] is not None and not r.get("reference")
              and halves(len(generated[n]))]  # a reference set never competes, so it has no rank
    ranked = ranked if halves(len(real_x)) else []
    info = {"scheme": "half-sampling without replacement (m-out-of-n subsampling, m = n/2): no duplicated case, "
                      "valid for 1-NN and k-NN metrics", "fraction": fraction,
            "resamples": int(settings["rank_resamples"]), "teams": ranked, "pairwise": {}, "resampled": []}
    for r in records.values():
        r["rank_probabilities"], r["rank_ci95"] = None, None
    if not ranked:
        return info
    with threadpool_limits(limits=1):
        raw = quantitative_resamples(real_x, {n: generated[n] for n in ranked}, resamples=info["resamples"],
                                     fraction=fraction, batch_size=int(settings["diversity_batch_size"]),
                                     repetitions=int(settings["rank_repetitions"]), seed=seed, pools=pools)
    confidence = rank_confidence({n: records[n]["quantitative_score"] for n in ranked}, raw, fraction, seed)
    _write_ranks(records, confidence, "rank_probabilities", "rank_ci95")
    info["pairwise"] = _pairwise(confidence)
    info["resampled"] = confidence.resampled.tolist()
    return info


def _write_ranks(records: dict, confidence: RankConfidence, probabilities: str, interval: str) -> None:
    for t, name in enumerate(confidence.teams):
        records[name][probabilities] = confidence.probabilities[t].tolist()
        records[name][interval] = list(confidence.interval[t])


def _pairwise(confidence: RankConfidence) -> dict[str, dict[str, float]]:
    """{A: {B: P(A scores above B)}} for every ordered pair of distinct teams."""
    return {a: {b: float(confidence.beats[i, j]) for j, b in enumerate(confidence.teams) if j != i}
            for i, a in enumerate(confidence.teams)}


def _distance_or_none(frechet: Callable[[np.ndarray, np.ndarray], float], real: EmbeddingSet,
                      sub: EmbeddingSet | None) -> float | None:
    """A submission's Fréchet distance in another space; None where it has no such embeddings or
    they cannot be compared (the evaluation's own space decides whether a submission is scored)."""
    try:
        return None if sub is None else frechet(real.features, sub.features)
    except ValueError:
        return None


def _feature_spaces(real: EmbeddingSet, records: dict, spaces: Spaces) -> dict:
    """``frd`` per submission, and the top-level Fréchet distances per space and ``rank_agreement``."""
    distances = {real.backbone: {n: r["fid"] for n, r in records.items()}}
    radiomic = real.backbone if real.backbone == RADIOMICS else None
    for space, (space_real, space_subs) in spaces.items():
        frechet = frechet_radiomic_distance if space_real.backbone == RADIOMICS else frechet_distance
        distances[space] = {n: _distance_or_none(frechet, space_real, space_subs.get(n)) for n in records}
        radiomic = space if space_real.backbone == RADIOMICS else radiomic
    for name, r in records.items():
        r["frd"] = None if radiomic is None else distances[radiomic][name]
    return {"frechet_by_space": distances, "rank_agreement": rank_agreement(distances)}


def _challenge_scores(record: dict, fid_max: float) -> None:
    """FID score (and its interval) and the quantitative score, where their inputs exist."""
    fid, interval, div = record["fid"], record["fid_ci95"], record["diversity_score"]
    record["fid_score"] = None if fid is None else fid_score(fid, fid_max)
    # FID_score decreases with FID, so the FID interval's ends swap.
    record["fid_score_ci95"] = None if interval is None else [fid_score(interval[1], fid_max),
                                                               fid_score(interval[0], fid_max)]
    record["quantitative_score"] = None if fid is None or div is None else (div + record["fid_score"]) / 2.0


def _ranks(scores: Mapping[str, float | None]) -> dict[str, int | None]:
    """1 = highest score; ties share the better rank (1, 1, 3); None stays unranked."""
    present = [v for v in scores.values() if v is not None]
    return {name: None if v is None else 1 + sum(other > v for other in present) for name, v in scores.items()}


def add_qualitative(result: dict, qualitative: Mapping[str, float], ratings: Iterable[Rating] | None = None) -> dict:
    """A copy of ``evaluate``'s result with the reader study's scores (0-20 per submission) folded in.

    Adds ``qualitative_score``, ``qualitative_normalised`` (/20), ``final_score`` and ``rank`` to every
    submission: null for those absent from ``qualitative`` (see the module docstring). Given the
    rating rows the scores come from (the same selection), also the final score's rank
    confidence: ``final_rank_probabilities`` and ``final_rank_ci95`` per submission and
    ``rank_confidence["final_pairwise"]``, from the quantitative resamples paired draw by draw
    with resampled readers and cases (``reader_resampling``).
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
        quantitative = s["quantitative_score"]
        s["final_score"] = None if q is None or quantitative is None else \
            (quantitative + float(q) / QUALITATIVE_MAX) / 2.0
    for name, r in _ranks({n: None if s.get("reference") else s["final_score"]
                           for n, s in out["submissions"].items()}).items():
        out["submissions"][name]["rank"] = r
    if ratings is not None:
        _final_rank_confidence(out, qualitative, ratings)
    return out


def _final_rank_confidence(result: dict, qualitative: Mapping[str, float], ratings: Iterable[Rating]) -> None:
    """``final_rank_*`` per submission and ``final_pairwise`` (``add_qualitative``), in place."""
    records, confidence = result["submissions"], result["rank_confidence"]
    for r in records.values():
        r["final_rank_probabilities"], r["final_rank_ci95"] = None, None
    teams = [t for t in confidence["teams"] if records[t]["final_score"] is not None]
    confidence["final_pairwise"] = {}
    if not teams:
        return
    quantitative = np.array(confidence["resampled"])[:, [confidence["teams"].index(t) for t in teams]]
    raw = qualitative_resamples(ratings, teams, len(quantitative), seed=result["seed"])
    readers = np.array([qualitative[t] for t in teams]) + (raw - raw.mean(axis=0))
    final = ranks_of(teams, (quantitative + readers / QUALITATIVE_MAX) / 2.0, seed=result["seed"])
    _write_ranks(records, final, "final_rank_probabilities", "final_rank_ci95")
    confidence["final_pairwise"] = _pairwise(final)


def leaderboard_rows(result: dict) -> list[dict]:
    """One flat dict per submission (for tables and CSV), best first; the numbers are the JSON's.

    Order: by ``rank`` when the reader study is folded in (unscored submissions after), then by
    quantitative rank. Lists become counts or ``;``-joined ids.
    """
    rows = []
    for name, s in result["submissions"].items():
        row: dict = {"submission": name}
        for output in registry.outputs():
            if not output.table:
                continue
            value = s.get(output.key)
            if output.key.endswith("_ci95"):
                row[f"{output.key}_low"], row[f"{output.key}_high"] = value if value is not None else (None, None)
            else:
                row[output.key] = value
        row["n_suspected_copies"] = len(s.get("suspected_copies") or [])
        if "selected_cases" in s:  # withheld from exports while the reading is open
            row["selected_cases"] = ";".join(s["selected_cases"])
        row["backbone"] = result["backbone"]
        row["seed"] = result["seed"]
        rows.append(row)
    unranked = len(rows) + 1
    rows.sort(key=lambda r: (unranked if r.get("rank") is None else r["rank"],
                             unranked if r["quantitative_rank"] is None else r["quantitative_rank"]))
    return rows
