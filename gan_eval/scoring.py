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

Everything returned is plain Python (float, int, str, list, dict, None): ``json.dumps`` works as is.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from threadpoolctl import threadpool_limits

from gan_eval.embedding_set import EmbeddingSet, check_comparable
from gan_eval.metrics import registry
from gan_eval.metrics.bootstrap import N_BOOT
from gan_eval.metrics.fid import fid_score
from gan_eval.metrics.inputs import embeddings
from gan_eval.metrics.memorisation import ALPHA

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


def evaluate(real: EmbeddingSet, submissions: Mapping[str, EmbeddingSet], seed: int = 0,
             fid_max: float | None = None, n_boot: int = N_BOOT, selection_k: int = 10,
             memorisation_alpha: float = ALPHA, progress: Progress | None = None,
             settings: Mapping[str, object] | None = None, strict: bool = True,
             reference: Collection[str] = ()) -> dict:
    """Score each submission against ``real`` with every registered metric; the dict's layout is
    the CLI's JSON (module docstring).

    ``settings`` overrides metric settings by name (``registry.settings()`` lists them; the
    keyword arguments are the common ones). A submission with fewer than ``selection_k`` cases
    has all its cases selected.

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
    scored: dict[str, SubmissionScores] = {}
    failed: dict[str, str] = {}
    for done, (name, sub) in enumerate(submissions.items(), start=1):
        try:
            scored[name] = _score_submission(real, real_x, _named(sub, name), seed, chosen, strict)
        except ValueError as err:
            if strict:
                raise
            failed[name] = str(err)
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

    result = {
        "backbone": real.backbone,
        "backbone_fingerprint": real.fingerprint,
        "seed": seed,
        "fid_max": float(fid_max),
        "settings": chosen,
        "metrics_version": registry.version(),
        "real": {"n": len(real), "name": real.name},
        "submissions": records,
    }
    if failed:
        result["failed"] = failed
    return result


def _named(s: EmbeddingSet, name: str) -> EmbeddingSet:
    """The set under the name the caller knows it by, so that every error message names it."""
    return s if s.name == name else dataclasses.replace(s, name=name)


def _score_submission(real: EmbeddingSet, real_x, sub: EmbeddingSet, seed: int, settings: Mapping[str, object],
                      strict: bool) -> SubmissionScores:
    check_comparable(real, sub)
    inputs = registry.SubmissionInputs(
        real=real_x, generated=embeddings(sub.features, sub.name, sub.case_ids), real_ids=real.case_ids,
        generated_ids=sub.case_ids, real_consistency=real.consistency, generated_consistency=sub.consistency,
        seed=seed, settings=settings)
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
        quantitative = s["quantitative_score"]
        s["final_score"] = None if q is None or quantitative is None else \
            (quantitative + float(q) / QUALITATIVE_MAX) / 2.0
    for name, r in _ranks({n: None if s.get("reference") else s["final_score"]
                           for n, s in out["submissions"].items()}).items():
        out["submissions"][name]["rank"] = r
    return out


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
