"""Score a team's generated cases from its own training loop, in-process, as the jury would.

    import gan_eval

    evaluator = gan_eval.Evaluator("real.zip")          # the real set's embeddings, from the cache
    result = evaluator.score(images, masks=masks)       # (N, 3, H, W) arrays -> the `score` CLI's JSON
    tracker = gan_eval.Tracker("runs/my-gan", evaluator)
    tracker.log(step, images, masks=masks, loss_g=loss_g)   # one line in runs/my-gan/metrics.jsonl

``Evaluator`` embeds the real set once (through the embedding cache, as the CLI does) and scores
any number of generated sets against it; ``score`` returns exactly what ``gan-eval score --json``
writes for one submission. ``Tracker`` appends one line per call to a run folder's
``metrics.jsonl``: every number of that submission's record, the 1-NN accuracy's chance level for
the sample size and, given masks, the spread of lesion positions and sizes against the real set's
and the share of lesion area in stray pieces (gan_eval.lesions). The app's Baseline GAN page lists
and plots such folders beside the baseline's runs, whose training loop logs through the same class.

Cases are an array ``(N, 3, H, W)`` (numpy, or a torch tensor: it is detached and copied to the
CPU) in the channel order t1_arterial, t1_portal, t2, with optional masks ``(N, 3, H, W)`` or
``(N, H, W)`` (one per case, shared by the sequences); a list of ``Case`` or a ``CaseSet``; or an
archive or folder path. In-memory cases are checked as an archive's are (same reasons): a case
with a NaN or a constant image is dropped with a warning naming it, as ``score`` drops it from an
archive, and the others are scored.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from . import archives
from .cache import EmbeddingCache, open_cache
from .cases import SEQUENCES, SUPPORTED_DTYPES, Case, CaseSet
from .embedding_set import EmbeddingSet
from .evaluation import evaluate_cached
from .features.embed import embed_archive, embed_cases
from .features.registry import DEFAULT_BACKBONE
from .gan.runs import METRICS, append_json_line, read_metrics, truncate_lines
from .lesions import LESION_OUTPUTS, LesionGeometry, case_lesions, lesion_spread
from .metrics import registry

REAL = "real"  # the real set's name in the result, as the `score` CLI names it
_NOT_READ = object()  # the real set's lesions, until its archive is read for them
_SUPPORTED = frozenset(np.dtype(t) for t in SUPPORTED_DTYPES)


def chance_accuracy(n_real: int, n_generated: int) -> float:
    """Leave-one-out 1-NN accuracy when generated and real cases are indistinguishable.

    Each point's nearest other point is then drawn at random from the other ``n - 1`` points: a
    real one is right with probability ``(n_r - 1) / (n - 1)``, a generated one ``(m - 1) / (n - 1)``,
    so the accuracy over all ``n = n_r + m`` points is
    ``(n_r (n_r - 1) + m (m - 1)) / (n (n - 1))``: 0.4985 for the challenge's 91 real against a
    batch of 100, but 0.74 against 16, where 50% would already mean "memorised".
    """
    if n_real < 1 or n_generated < 1 or n_real + n_generated < 2:
        raise ValueError(f"chance_accuracy: needs a real and a generated case, got {n_real} and {n_generated}")
    n = n_real + n_generated
    return (n_real * (n_real - 1) + n_generated * (n_generated - 1)) / (n * (n - 1))


# ------------------------------------------------------------------------------- inputs to cases

def _numpy(array, what: str) -> np.ndarray:
    if hasattr(array, "detach"):  # a torch tensor, without importing torch
        array = array.detach().cpu().numpy()
    try:
        return np.asarray(array)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what}: cannot read as an array ({exc})") from exc


def _check_case(case: Case, limits: archives.Limits) -> str | None:
    """Why ``case`` would be rejected from an archive (the archive reader's reasons), or None."""
    images = np.asarray(case.images)
    if images.ndim != 3 or images.shape[0] != len(SEQUENCES):
        return f"images must be shaped (3, H, W) ({', '.join(SEQUENCES)}), got shape {images.shape}"
    for seq, image in zip(SEQUENCES, images):
        if image.dtype.newbyteorder("=") not in _SUPPORTED:
            return archives.UNSUPPORTED_DTYPE.format(sequence=seq, dtype=image.dtype)
        if max(image.shape) > limits.max_image_side:
            return archives.IMAGE_TOO_LARGE.format(sequence=seq, height=image.shape[0], width=image.shape[1],
                                                   limit=limits.max_image_side)
        if image.dtype.kind == "f" and not np.isfinite(image).all():
            return archives.NON_FINITE.format(sequence=seq)
        if image.min() == image.max():
            return archives.CONSTANT_IMAGE.format(sequence=seq, value=image.flat[0])
    if case.masks is not None and np.shape(case.masks) != images.shape:
        return archives.MASK_SHAPE_MISMATCH.format(mask="masks", mask_shape=np.shape(case.masks),
                                                   image_shape=images.shape)
    return None


def _stack_ids(n: int) -> list[str]:
    """``case_0000``...: the ids the archive reader gives a stacked (N, 3, H, W) array."""
    width = max(4, len(str(n - 1)))
    return [f"case_{i:0{width}d}" for i in range(n)]


def _cases_from_arrays(images, masks, label: str) -> list[Case]:
    images = _numpy(images, label)
    if images.ndim != 4 or images.shape[1] != len(SEQUENCES):
        hint = "; give the lesion masks apart, as masks=" if images.ndim == 4 and images.shape[1] == 4 else ""
        raise ValueError(f"{label}: images must be shaped (N, 3, H, W) ({', '.join(SEQUENCES)}), "
                         f"got shape {images.shape}{hint}")
    if images.dtype.byteorder not in "=|":
        images = images.astype(images.dtype.newbyteorder("="))
    if images.dtype not in _SUPPORTED:
        raise ValueError(f"{label}: unsupported image dtype {images.dtype}; "
                         f"use one of {', '.join(np.dtype(t).name for t in SUPPORTED_DTYPES)}")
    n = len(images)
    if masks is not None:
        masks = _numpy(masks, f"{label} masks")
        if masks.shape == (n, *images.shape[2:]):
            masks = np.repeat(masks[:, None], len(SEQUENCES), axis=1)
        if masks.shape != images.shape:
            raise ValueError(f"{label}: masks shaped {masks.shape} do not match images shaped {images.shape} "
                             f"(give (N, 3, H, W), or (N, H, W) for one mask per case)")
        masks = (masks != 0).astype(np.uint8)
    images = np.ascontiguousarray(images)
    return [Case(case_id=case_id, images=images[i], masks=None if masks is None else masks[i], source=f"{label}[{i}]")
            for i, case_id in enumerate(_stack_ids(n))]


def as_cases(cases, label: str, masks=None) -> tuple[list[Case], list[archives.Rejection]]:
    """The accepted cases of ``cases`` (see the module docstring) and the rejected ones, each with
    the reason the archive reader would give. ``label`` names the set in every message."""
    limits = archives.Limits()
    if isinstance(cases, (str, Path)):
        case_set, report = archives.read_cases(cases)
        return list(case_set), list(report.rejected)
    if isinstance(cases, CaseSet):
        cases = cases.cases
    if isinstance(cases, (list, tuple)) and cases and all(isinstance(c, Case) for c in cases):
        if masks is not None:
            raise ValueError(f"{label}: masks go with an array; Case objects carry their own")
        candidates = list(cases)
    elif isinstance(cases, (list, tuple)) and not cases:
        raise ValueError(f"{label}: no case given")
    elif hasattr(cases, "shape") or hasattr(cases, "__array__"):
        candidates = _cases_from_arrays(cases, masks, label)
    else:
        raise TypeError(f"{label}: expected an (N, 3, H, W) array, a list of Case, a CaseSet or an archive or folder "
                        f"path, got {type(cases).__name__}")
    accepted, rejected, seen = [], [], {}
    for case in candidates:
        reason = _check_case(case, limits)
        if case.case_id in seen:
            reason = archives.DUPLICATE_CASE.format(case=case.case_id, first=seen[case.case_id])
        else:
            seen[case.case_id] = case.source
        if reason is None:
            accepted.append(case)
        else:
            rejected.append(archives.Rejection(case.case_id, case.source, reason))
    return accepted, rejected


def _usable(accepted: list[Case], rejected: list[archives.Rejection], label: str) -> list[Case]:
    """``accepted``, after a warning naming the rejected; ValueError when nothing is left."""
    if not accepted and not rejected:
        raise ValueError(f"{label}: no case given")
    first = f"first: {rejected[0].case}: {rejected[0].reason}" if rejected else ""
    if not accepted:
        raise ValueError(f"{label}: no usable case ({len(rejected)} rejected; {first})")
    if rejected:
        warnings.warn(f"{label}: {len(rejected)} case(s) rejected and not scored; {first}", stacklevel=3)
    return accepted


class _ModelsOnlyCache(EmbeddingCache):
    """The cache's models and file digests, but no feature store: a tracker's cases are new at
    every call (the generator moved on), so storing their features would only fill the disk."""

    def features(self, *args, **kwargs):
        return None


# ------------------------------------------------------------------------------------ evaluator

class Evaluator:
    """The real set's embeddings, once, and the scoring of generated sets against them.

    ``real``: an archive or folder path, a ``CaseSet`` or list of ``Case``, or an array
    ``(N, 3, H, W)`` (with ``real_masks``). ``backbone`` defaults to the default backbone
    (efficientnet-lite0); ``weights`` is its weights file when not the default one. ``cache``: an
    EmbeddingCache or folder (a workspace's ``cache/`` reuses the app's embeddings); None is the
    default cache (``$GAN_EVAL_CACHE``, the CLI's), False none at all.
    """

    def __init__(self, real, backbone: str | None = None, weights: str | Path | None = None,
                 cache: EmbeddingCache | str | Path | bool | None = None, *, real_masks=None,
                 device: str = "auto", batch_size: int | None = None, compare_in: Sequence[str] | None = None):
        from .evaluation import comparison_spaces

        self.backbone = backbone or DEFAULT_BACKBONE
        # The other feature spaces a score is compared in (FRD, rank agreement), as `score` does;
        # () for none (the training loop's live metrics: each space costs an embedding per call).
        self.compare_in = [s for s in (comparison_spaces(self.backbone) if compare_in is None else compare_in)
                           if s != self.backbone]
        self.weights = weights
        self.device = device
        self.batch_size = batch_size
        self.cache = open_cache(cache)
        self._cache_arg = self.cache if self.cache is not None else False  # embed_*'s None means the default
        self._real_source = real
        self._real_lesions: LesionGeometry | None | object = _NOT_READ
        if isinstance(real, (str, Path)):
            if real_masks is not None:
                raise ValueError("Evaluator: real_masks goes with an array; an archive carries its own masks")
            self.real = embed_archive(real, **self._embedding_options(), cache=self._cache_arg, name=REAL)
            self._real_in = {space: embed_archive(real, **self._embedding_options(space), cache=self._cache_arg,
                                                  name=REAL) for space in self.compare_in}
        else:
            cases = _usable(*as_cases(real, "real set", masks=real_masks), "real set")
            self.real = self._embed_cases(cases, REAL, keep=True)
            self._real_in = {space: self._embed_cases(cases, REAL, keep=True, space=space) for space in self.compare_in}
            self._real_lesions = case_lesions(cases)

    def __repr__(self) -> str:
        return f"Evaluator({len(self.real)} real cases, backbone {self.backbone!r}, {self.cache!r})"

    def _embedding_options(self, space: str | None = None) -> dict:
        """How cases are embedded: in the evaluator's backbone, or in another feature ``space``
        (with that space's default weights, as `score` compares)."""
        if space is not None:
            return {"backbone": space, "weights": None, "device": self.device, "batch_size": self.batch_size}
        return {"backbone": self.backbone, "weights": self.weights, "device": self.device,
                "batch_size": self.batch_size}

    def _embed_cases(self, cases: list[Case], name: str, keep: bool, space: str | None = None) -> EmbeddingSet:
        cache = self._cache_arg if keep or self.cache is None else _ModelsOnlyCache(self.cache.root)
        return embed_cases(cases, **self._embedding_options(space), cache=cache, name=name)

    @property
    def real_lesions(self) -> LesionGeometry | None:
        """The real set's lesion geometry (read from its archive on first use), None without masks."""
        if self._real_lesions is _NOT_READ:
            case_set, _ = archives.read_cases(self._real_source)
            self._real_lesions = case_lesions(case_set)
        return self._real_lesions

    def embed(self, cases, name: str = "submission", *, masks=None, keep: bool = True,
              space: str | None = None) -> EmbeddingSet:
        """The embeddings of generated ``cases`` (module docstring), named ``name``, in the
        evaluator's backbone or another feature ``space``. ``keep=False`` leaves them out of the
        cache's feature store (cases never seen again)."""
        if isinstance(cases, (str, Path)):
            if masks is not None:
                raise ValueError(f"{name}: masks go with an array; an archive carries its own masks")
            return embed_archive(cases, **self._embedding_options(space), cache=self._cache_arg, name=name)
        return self._embed_cases(_usable(*as_cases(cases, name, masks=masks), name), name, keep, space)

    def score_embeddings(self, generated: EmbeddingSet, name: str | None = None, seed: int = 0,
                         fid_max: float | None = None, keep: bool = True,
                         other_spaces: Mapping[str, EmbeddingSet] | None = None) -> dict:
        """The `score` JSON of one embedded set against the real set; stored in the cache's
        results (and found there next time) unless ``keep=False``. ``other_spaces``: the same
        cases embedded in the evaluator's comparison spaces (``compare_in``)."""
        name = name or generated.name or "submission"
        results = self.cache.results_dir if keep and self.cache is not None else None
        others = {space: (self._real_in[space], {name: dataclasses.replace(emb, name=name)})
                  for space, emb in (other_spaces or {}).items()}
        return evaluate_cached(self.real, {name: dataclasses.replace(generated, name=name)}, results, seed=seed,
                               fid_max=fid_max, other_spaces=others or None)

    def score(self, cases, name: str = "submission", seed: int = 0, *, masks=None,
              fid_max: float | None = None) -> dict:
        """Exactly what ``gan-eval score --real REAL --submission NAME=CASES --seed SEED --json``
        writes: ``{"backbone", "seed", "real", "submissions": {name: {...}}, ...}``. With one
        submission, FID_max is its own FID (so its FID score is 0) unless ``fid_max`` is given."""
        if not isinstance(cases, (str, Path)):  # read once, embedded in every space
            cases = _usable(*as_cases(cases, name, masks=masks), name)
            masks = None
        others = {space: self.embed(cases, name, masks=masks, space=space) for space in self.compare_in}
        return self.score_embeddings(self.embed(cases, name, masks=masks), name, seed, fid_max, other_spaces=others)


# -------------------------------------------------------------------------------------- tracker

# Outputs computed across the submissions of one leaderboard (FID score, quantitative score,
# ranks): with a tracker's one submission they describe nothing about its cases.
_RELATIVE = {o.key for o in registry.LEADERBOARD_OUTPUTS} - {"n"}


def _numbers(record: dict) -> dict:
    """The record's numbers: scalars (None included) and intervals, without case-id lists and the
    leaderboard-relative outputs; and why a metric is missing (``metric_errors``) when one is."""
    def is_number(v) -> bool:
        return v is None or isinstance(v, (int, float, bool))

    numbers = {k: v for k, v in record.items() if k not in _RELATIVE and
               (is_number(v) or (isinstance(v, list) and v and all(isinstance(x, (int, float)) for x in v)))}
    if "metric_errors" in record:
        numbers["metric_errors"] = record["metric_errors"]
    return numbers


class Tracker:
    """One scored line per call in ``run_dir/metrics.jsonl``, the format the app plots.

    Each line: ``step``, ``time``, the values given to ``log``, every number of the submission's
    record in the `score` JSON for those cases (``n``, ``fid``, ``fid_ci95``, ``kid``,
    ``loo_accuracy``... and ``metric_errors`` when a metric could not be computed), ``loo_chance``
    (chance_accuracy for the 1-NN batches' size), ``rejected`` (cases dropped), the lesion spreads
    (gan_eval.lesions; None without masks), ``backbone``, ``n_real``, ``seed`` and ``eval_s`` (the
    seconds the call took). Steps must increase; ``resume_step`` drops the lines after it (a run
    restarted from its checkpoint at that step).
    """

    def __init__(self, run_dir: str | Path, evaluator: Evaluator, seed: int = 0, resume_step: int | None = None):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / METRICS
        self.evaluator = evaluator
        self.seed = seed
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resume_step is not None:
            truncate_lines(self.path, resume_step)
        lines = read_metrics(self.run_dir)
        self.last_step: int | None = lines[-1]["step"] if lines else None

    def __repr__(self) -> str:
        return f"Tracker({str(self.path)!r}, last step {self.last_step})"

    def log(self, step: int, cases, masks=None, **values) -> dict:
        """Score ``cases`` (module docstring) as the state at ``step`` and append the line; returns it.
        ``values``: more numbers for the line (losses, learning rate), by name."""
        if not isinstance(step, (int, np.integer)) or isinstance(step, bool):
            raise TypeError(f"Tracker.log: step must be an integer, got {type(step).__name__}")
        if self.last_step is not None and step <= self.last_step:
            raise ValueError(f"Tracker.log: step {step} is not after the last step logged in {self.path} "
                             f"({self.last_step}); log to a new run folder, or pass resume_step")
        started = time.perf_counter()
        label = self.run_dir.name or "tracked cases"
        accepted, rejected = as_cases(cases, label, masks=masks)
        generated = self.evaluator.embed(_usable(accepted, rejected, label), label, keep=False)
        result = self.evaluator.score_embeddings(generated, label, seed=self.seed, keep=False)
        record = result["submissions"][label]
        batch = min(int(result["settings"]["diversity_batch_size"]), record["n"])
        real_lesions, lesions = self.evaluator.real_lesions, case_lesions(accepted)
        spreads = (lesion_spread(real_lesions, lesions) if real_lesions is not None and lesions is not None
                   else dict.fromkeys(LESION_OUTPUTS))
        scored = {**_numbers(record), "loo_chance": chance_accuracy(len(self.evaluator.real), batch),
                  "rejected": len(rejected), **spreads, "backbone": result["backbone"], "n_real": result["real"]["n"],
                  "seed": self.seed, "time": time.time(), "eval_s": time.perf_counter() - started}
        clash = sorted(set(values) & set(scored))
        if clash:
            raise ValueError(f"Tracker.log: {', '.join(clash)} are written by the tracker; name your values otherwise")
        line = {"step": int(step), **values, **scored}
        append_json_line(self.path, line)
        self.last_step = int(step)
        return line
