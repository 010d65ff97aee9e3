"""Evaluate a workspace: embed every set (through the cache), score, and keep the result.

This is the one place where workspace, embedding and scoring meet; the app and the CLI call it
and never recompute what it has stored. A result is stored under a key made of everything that
determines it (the exact embeddings and case ids, backbone and weights fingerprint,
preprocessing version, seed, and the metric registry's version), in the embedding cache's
``results/`` (gan_eval.cache), so a later launch shows the leaderboard without touching a model.
The CLI's ``score`` uses the same function and the same cache layout.

Every set is also embedded in the other feature spaces of ``comparison_spaces`` (radiomics
always: no network, no weights; the default backbone; Inception v3 when its weights are on this
machine), for FRD and the rank agreement between feature spaces (gan_eval.scoring). They go
through the same cache, so the cost is paid once per set: on a 2-core CPU radiomics takes
~20 ms a case, Inception v3 ~100 ms.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np

from .cache import EmbeddingCache
from .features.embed import archive_in_cache, embed_archive
from .features.registry import DEFAULT_BACKBONE
from .features.weights import WeightsNotFoundError, resolve_weights
from .radiomics import BACKBONE as RADIOMICS
from .embedding_set import EmbeddingSet
from .preprocess import PREPROCESSING_VERSION
from .progress import Progress
from .metrics import registry
from .scoring import evaluate
from .store import content_key, read_checked_json, write_checked_json
from .workspace import REAL, Workspace



INCEPTION = "inception-v3"
Spaces = Mapping[str, tuple[EmbeddingSet, Mapping[str, EmbeddingSet]]]  # as scoring.evaluate's other_spaces


def comparison_spaces(backbone: str) -> list[str]:
    """The feature spaces an evaluation under ``backbone`` is compared with: radiomics, the
    default backbone and Inception v3, each where its weights are found on this machine (never
    downloaded for this), ``backbone`` itself left out."""
    found = []
    for space in (RADIOMICS, DEFAULT_BACKBONE, INCEPTION):
        try:
            if space != backbone:
                resolve_weights(space, allow_download=False)
                found.append(space)
        except WeightsNotFoundError:
            continue
    return found


def embed_set(ws: Workspace, name: str, progress: Progress | None = None, backbone: str | None = None) -> EmbeddingSet:
    """The embeddings of one registered set under the workspace's backbone (or ``backbone``), from
    the workspace cache when present."""
    # Always from the archive's images: an upload never supplies its own features. The archive
    # stream does not know its length up front; the workspace recorded it at upload.
    own = backbone is None or backbone == ws.backbone
    return embed_archive(ws.archive_path(name), backbone=ws.backbone if own else backbone,
                         weights=ws.weights if own else None, progress=progress, cache=ws.cache_dir, name=name,
                         total=ws.entry(name).n_accepted)


def set_in_cache(ws: Workspace, name: str, backbone: str | None = None) -> bool:
    """Whether ``embed_set`` of this set (under ``backbone``) would be read whole from the cache."""
    own = backbone is None or backbone == ws.backbone
    return archive_in_cache(ws.archive_path(name), ws.backbone if own else backbone, ws.weights if own else None,
                            cache=ws.cache_dir)


def embed_all(ws: Workspace, progress: Progress | None = None, backbone: str | None = None) -> dict[str, EmbeddingSet]:
    return {name: embed_set(ws, name, progress, backbone) for name in ws.set_names()}


def result_key(real: EmbeddingSet, submissions: dict[str, EmbeddingSet], settings: dict,
               other_spaces: Spaces | None = None) -> str:
    """Digest of everything that determines a result: the exact features, ids and settings, and the
    metric registry's version (its outputs, settings and the source of the code that computes them),
    in the evaluation's feature space and in each other one."""
    parts: list = [{"metrics": registry.version(), "preprocessing": PREPROCESSING_VERSION, **settings}]
    sets = [(REAL, real), *sorted(submissions.items())]
    for space, (space_real, space_subs) in sorted((other_spaces or {}).items()):
        sets += [(f"{space}/{REAL}", space_real), *((f"{space}/{n}", e) for n, e in sorted(space_subs.items()))]
    for name, emb in sets:
        parts += [[name, emb.backbone, emb.fingerprint, len(emb), emb.case_ids],
                  np.ascontiguousarray(emb.features).data]
        for per_case in (emb.consistency, emb.orientation):
            if per_case is not None:
                parts.append(np.ascontiguousarray(per_case).data)
    return content_key(*parts)


def evaluate_cached(real: EmbeddingSet, submissions: dict[str, EmbeddingSet], results_dir: Path | None,
                    seed: int = 0, fid_max: float | None = None, other_spaces: Spaces | None = None,
                    reference: Collection[str] = ()) -> dict:
    """``scoring.evaluate`` (never letting one submission hide the others), stored in
    ``results_dir`` (a cache's ``results_dir``) under the digest of its inputs: the metrics are
    deterministic for a seed, so a stored result is the result. A stored result whose checksum
    fails is recomputed."""
    path = None
    if results_dir is not None:
        key = result_key(real, submissions, {"seed": seed, "fid_max": fid_max, "reference": sorted(reference)},
                         other_spaces)
        path = Path(results_dir) / f"{key}.json"
        stored = read_checked_json(path)
        if isinstance(stored, dict):
            return stored
    result = evaluate(real, submissions, seed=seed, fid_max=fid_max, strict=False, other_spaces=other_spaces,
                      reference=reference)
    if path is not None:
        write_checked_json(path, result)
    return result


def evaluate_workspace(ws: Workspace, progress: Progress | None = None,
                       compare_in: Sequence[str] | None = None) -> dict:
    """The scoring JSON (see gan_eval.scoring.evaluate) for the workspace's real set and
    submissions, compared in the feature spaces ``compare_in`` (default ``comparison_spaces``)."""
    if ws.real is None:
        raise ValueError("the workspace has no real set yet")
    if not ws.submissions:
        raise ValueError("the workspace has no submission yet")
    return score_embedded(ws, embed_all(ws, progress), progress, compare_in)


def score_embedded(ws: Workspace, embeddings: dict[str, EmbeddingSet], progress: Progress | None = None,
                   compare_in: Sequence[str] | None = None) -> dict:
    """The workspace's evaluation of the sets in ``embeddings`` (the real set among them, in the
    workspace's backbone): compared in the other feature spaces, with the workspace's seed and
    reference sets, stored under its key. Every evaluation of a workspace, final or provisional,
    is this one."""
    embeddings = dict(embeddings)
    others = {}
    for space in comparison_spaces(ws.backbone) if compare_in is None else compare_in:
        in_space = None if progress is None else (
            lambda done, total, stage="", space=space: progress(done, total, f"{stage} in {space}"))
        space_sets = {name: embed_set(ws, name, in_space, backbone=space) for name in embeddings}
        others[space] = space_sets.pop(REAL), space_sets
    if progress:
        progress(0, None, "scoring")
    real = embeddings.pop(REAL)
    return evaluate_cached(real, dict(sorted(embeddings.items())), EmbeddingCache(ws.cache_dir).results_dir,
                           seed=ws.seed, other_spaces=others, reference=ws.reference_sets)
