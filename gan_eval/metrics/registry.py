"""The metric registry: every number gan_eval reports, with its label, unit, decimals and meaning.

One entry per metric: the function that computes it for one submission, and the outputs it
returns, each described once (label, unit, decimals, help, whether higher is better). Everything
that shows or stores a number reads this: ``scoring.evaluate`` calls every registered metric,
``scoring.leaderboard_rows`` and the CLI table take their columns from it, the app builds its
column configuration from it, and the stored results' version is derived from it.

Adding a metric is one new module (a pure function of arrays, in ``gan_eval/metrics/``) and one
``register(Metric(...))`` call, at the bottom of this file for a built-in metric::

    def _sliced_wasserstein(inputs: SubmissionInputs) -> dict:
        return {"swd": sliced_wasserstein(inputs.real, inputs.generated, seed=inputs.seed)}

    register(Metric("swd", _sliced_wasserstein, (
        Output("swd", "SWD", decimals=3, help="sliced Wasserstein distance", higher_is_better=False),)))

``Output.unit`` is ``"%"`` for a fraction in [0, 1] shown as a percentage, ``"yes/no"`` for a
flag; ``table=False`` keeps an output (a list, a diagnostic) in the JSON only; ``reading=True``
marks a number the reader study gives (missing until reading is closed). ``Metric.title`` heads
the metric's group of columns on the leaderboard. A metric's ``settings`` are the constants and
defaults that change its numbers: they are recorded in every result and are part of its version,
as is the source of the module that holds the metric's function.

Outputs that the leaderboard computes across submissions (FID score, quantitative and final
scores, ranks) are described here too (``LEADERBOARD_OUTPUTS``), so that every column has one
description; ``gan_eval.scoring`` computes them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from gan_eval.metrics import diversity, kid, matched_fid, memorisation, noise_floor, prdc, rank_confidence
from gan_eval.metrics.bootstrap import N_BOOT, bootstrap_fid
from gan_eval.metrics.chance import chance_accuracy
from gan_eval.metrics.consistency_summary import summarise_consistency
from gan_eval.metrics.distinguishability import PERMUTATIONS, REPETITIONS, distinguishability
from gan_eval.metrics.fid import frechet_distance
from gan_eval.metrics.orientation_summary import orientation_check
from gan_eval.metrics.pool import Pool
from gan_eval.store import content_key, source_digest

UNITS = ("", "%", "yes/no")
MISSING = "—"  # how every table shows a value that does not exist (unranked, not read, no masks)


@dataclass(frozen=True)
class Output:
    key: str
    label: str
    decimals: int = 3
    help: str = ""
    unit: str = ""                      # "%": a fraction in [0, 1] shown as a percentage; "yes/no": a flag
    higher_is_better: bool | None = None
    table: bool = True                  # a column of the leaderboard and the CLI table
    short: str = ""                     # heading in narrow tables (the CLI); the label if empty
    missing: str = MISSING              # what a table shows when there is no value
    reading: bool = False               # given by the reader study: missing until reading is closed

    @property
    def heading(self) -> str:
        return self.short or self.label

    def format(self, value: object) -> str:
        """The value as every text front shows it: fixed decimals, MISSING for None."""
        if value is None:
            return self.missing
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (list, tuple)):
            return "–".join(self.format(v) for v in value)
        if isinstance(value, int) and self.unit != "%":
            return str(value)
        number = float(value) * (100.0 if self.unit == "%" else 1.0)
        text = f"{number:.{self.decimals}f}"
        if float(text) == 0.0:
            text = text.lstrip("-")  # "-0.0000" is noise around zero, not a sign
        return text + ("%" if self.unit == "%" else "")


@dataclass(frozen=True)
class SubmissionInputs:
    """What a metric sees of one submission: feature matrices (checked by ``metrics.inputs``),
    their case ids, per-case consistency values and orientation descriptors when known, the seed
    and the settings."""

    real: np.ndarray
    generated: np.ndarray
    real_ids: list[str]
    generated_ids: list[str]
    real_consistency: np.ndarray | None
    generated_consistency: np.ndarray | None
    seed: int
    settings: Mapping[str, object]
    real_orientation: np.ndarray | None = None        # (n, 768) per case, metrics.orientation
    generated_orientation: np.ndarray | None = None

    @cached_property
    def pool(self) -> Pool:
        """The stacked cases' distance and Gram matrices, computed once for every metric (``metrics.pool``)."""
        return Pool(self.real, self.generated)


@dataclass(frozen=True)
class Metric:
    name: str
    compute: Callable[[SubmissionInputs], Mapping[str, object]]
    outputs: tuple[Output, ...]
    settings: Mapping[str, object] = field(default_factory=dict)
    title: str = ""                     # heading of its group of leaderboard columns; the name if empty

    @property
    def heading(self) -> str:
        return self.title or self.name.replace("_", " ").capitalize()


_METRICS: dict[str, Metric] = {}


def _check(metric: Metric) -> None:
    if not (isinstance(metric.name, str) and metric.name.isidentifier()):
        raise ValueError(f"metric name must be an identifier, got {metric.name!r}")
    if metric.name in _METRICS:
        raise ValueError(f"metric {metric.name!r} is already registered")
    if not callable(metric.compute):
        raise TypeError(f"metric {metric.name!r}: compute must be callable, got {type(metric.compute).__name__}")
    if not metric.outputs:
        raise ValueError(f"metric {metric.name!r} declares no outputs")
    taken = {o.key: name for name, m in _METRICS.items() for o in m.outputs} | \
            {o.key: "the leaderboard" for o in LEADERBOARD_OUTPUTS}
    for output in metric.outputs:
        if output.key in taken:
            owner = taken[output.key]
            raise ValueError(f"metric {metric.name!r}: output key {output.key!r} is already defined by {owner}")
        if not (isinstance(output.decimals, int) and 0 <= output.decimals <= 12):
            raise ValueError(f"metric {metric.name!r}: output {output.key!r} needs 0-12 decimals, got {output.decimals!r}")
        if output.unit not in UNITS:
            raise ValueError(f"metric {metric.name!r}: output {output.key!r} has unknown unit {output.unit!r}")
    clashes = sorted(set(metric.settings) & ({k for m in _METRICS.values() for k in m.settings}
                                             | set(LEADERBOARD_SETTINGS)))
    if clashes:
        raise ValueError(f"metric {metric.name!r}: setting(s) {', '.join(clashes)} already belong to another metric")


def register(metric: Metric) -> Metric:
    """Add ``metric``; every front shows its outputs from then on. Raises ValueError on a clash."""
    _check(metric)
    _METRICS[metric.name] = metric
    version.cache_clear()
    return metric


def unregister(name: str) -> None:
    """Remove a metric (tests register temporary ones)."""
    if name not in _METRICS:
        raise KeyError(f"no metric named {name!r}; registered: {', '.join(_METRICS)}")
    del _METRICS[name]
    version.cache_clear()


def metrics() -> list[Metric]:
    return list(_METRICS.values())


def settings(overrides: Mapping[str, object] | None = None) -> dict[str, object]:
    """Every metric's settings and the leaderboard's (``LEADERBOARD_SETTINGS``), with
    ``overrides`` (which must name known settings) applied."""
    merged = dict(LEADERBOARD_SETTINGS) | {k: v for m in _METRICS.values() for k, v in m.settings.items()}
    unknown = sorted(set(overrides or {}) - set(merged))
    if unknown:
        raise ValueError(f"unknown metric setting(s): {', '.join(unknown)}; known: {', '.join(sorted(merged))}")
    return merged | dict(overrides or {})


def outputs() -> list[Output]:
    """Every output, in column order: the challenge's columns first (``CHALLENGE_COLUMNS``), then
    the others in the order their metrics were registered."""
    every = list(LEADERBOARD_OUTPUTS) + [o for m in _METRICS.values() for o in m.outputs]
    first = {key: i for i, key in enumerate(CHALLENGE_COLUMNS)}
    return sorted(every, key=lambda o: first.get(o.key, len(first)))  # stable: the rest keep their order


def output(key: str) -> Output:
    for o in outputs():
        if o.key == key:
            return o
    raise KeyError(f"no metric output {key!r}")


def table_columns() -> list[str]:
    """Leaderboard row keys, in order; an interval (``*_ci95``) becomes ``_low`` and ``_high``."""
    keys = []
    for o in outputs():
        if o.table:
            keys += [f"{o.key}_low", f"{o.key}_high"] if o.key.endswith("_ci95") else [o.key]
    return keys


def column_output(column: str) -> Output:
    """The output a table column shows (``fid_ci95_low`` -> the ``fid_ci95`` output)."""
    for suffix in ("_low", "_high"):
        if column.endswith("_ci95" + suffix):
            return output(column[: -len(suffix)])
    return output(column)


@lru_cache(maxsize=1)
def version() -> str:
    """The stored results' version: a digest of every output key, every setting and the source
    of every module that computes a registered number (the metrics package, selection, scoring
    and the module of each registered function). Any change to them makes new results."""
    import gan_eval.metrics as package

    names = {f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)}
    names |= {m.compute.__module__ for m in _METRICS.values()} | {"gan_eval.scoring", "gan_eval.selection"}
    layout = [(o.key, o.decimals, o.unit, o.table) for o in outputs()]
    return content_key(layout, sorted(settings().items()),
                       source_digest(*(importlib.import_module(n) for n in sorted(names))))


# The challenge's own columns, shown first and in this order by every table.
CHALLENGE_COLUMNS = ("rank", "quantitative_rank", "n", "fid", "fid_ci95", "fid_score", "diversity_score",
                     "quantitative_score", "qualitative_score", "qualitative_ci95", "final_score", "reads",
                     "reference")

# Decimals: what the seed spread supports. Over 20 seeds the quantitative score moves by ~0.0008,
# the diversity by ~0.0016 and the FID interval's ends by 0.05-0.10 (a bootstrap of 200
# resamples), so scores get 2 decimals, FID 2 and interval ends 1.
LEADERBOARD_OUTPUTS = (
    Output("n", "Cases", 0, "Generated cases scored", short="n"),
    Output("rank", "Rank", 0, short="rank", help="By final score, once the reader study is closed",
           higher_is_better=False, reading=True),
    Output("quantitative_rank", "Quant. rank", 0, short="quant. rank", help="By quantitative score", higher_is_better=False),
    Output("final_score", "Final", 2, short="final", help="(quantitative + qualitative / 20) / 2",
           higher_is_better=True, reading=True),
    Output("qualitative_score", "Qualitative /20", 2, short="qualit.", help="Readers' mean case score, 0-20",
           higher_is_better=True, missing="not read", reading=True),
    Output("qualitative_ci95", "Qualitative 95%", 1, "Resampling readers, then each team's cases (seeded)",
           higher_is_better=True, reading=True),
    Output("reads", "Reads", 0, "Complete reads (reader x case) of the team's cases; compare with reads_expected",
           reading=True),
    Output("reads_expected", "Reads expected", 0, "Readers x the team's current cases", table=False, reading=True),
    Output("reference", "Reference", 0, "Scored and shown but not competing: left out of FID_max and the ranks",
           unit="yes/no"),
    Output("qualitative_normalised", "Qualitative /1", 2, "Qualitative score / 20", higher_is_better=True,
           table=False, reading=True),
    Output("quantitative_score", "Quantitative", 2, short="quantit.", help="(diversity + FID score) / 2", higher_is_better=True),
    Output("fid_score", "FID score", 2, "1 - FID / FID_max", higher_is_better=True),
    Output("fid_score_ci95", "FID score 95%", 2, "From the FID interval", higher_is_better=True, table=False),
    Output("rank_ci95", "Quant. rank 95%", 0, short="rank 95%", help="Ranks the quantitative score takes in 95% of "
           "half-samples of the real and generated cases (rank confidence)"),
    Output("rank_probabilities", "Rank probabilities", 0, "P(quantitative rank = 1, 2, ...), from half-samples", unit="%",
           table=False),
    Output("final_rank_ci95", "Rank 95%", 0, "Ranks the final score takes in 95% of resamples of cases and readers",
           table=False, reading=True),
    Output("final_rank_probabilities", "Final rank probabilities", 0, "P(final rank = 1, 2, ...)", unit="%",
           table=False, reading=True),
    Output("frd", "FRD", 2, "Fréchet radiomic distance: FID on real-standardised radiomic features (no network)",
           higher_is_better=False),
    # Top-level numbers of the result (not per submission), described here all the same.
    Output("rank_pairwise", "P(A beats B)", 0, "Share of half-samples in which A's score is above B's "
           "(rank_confidence.pairwise)", unit="%", table=False),
    Output("rank_agreement", "Kendall's τ", 2, "Agreement of the rankings by Fréchet distance in two feature "
           "spaces: 1 the same order, 0 unrelated, -1 reversed", table=False),
)

# Settings of what the leaderboard computes across submissions (scoring): recorded with every
# result and part of its version, like the metrics' own settings.
LEADERBOARD_SETTINGS: dict[str, object] = {
    "rank_resamples": rank_confidence.RESAMPLES,
    "rank_fraction": rank_confidence.FRACTION,
    "rank_repetitions": rank_confidence.REPETITIONS,
    "noise_floor_splits": noise_floor.SPLITS,
}


# ----------------------------------------------------------------------------- built-in metrics

def _fid(inputs: SubmissionInputs) -> dict:
    interval = bootstrap_fid(inputs.real, inputs.generated, n_boot=int(inputs.settings["n_boot"]), seed=inputs.seed)
    return {"fid": frechet_distance(inputs.real, inputs.generated), "fid_ci95": list(interval)}


def _fid_matched(inputs: SubmissionInputs) -> dict:
    # scoring.evaluate sets the matched size across submissions; a lone call uses the set's own.
    n = int(inputs.settings["fid_matched_n"] or len(inputs.generated))
    fd_inf = matched_fid.fd_infinity(inputs.real, inputs.generated, points=int(inputs.settings["fd_inf_points"]),
                                     draws=int(inputs.settings["fd_inf_draws"]), seed=inputs.seed, pool=inputs.pool) \
        if len(inputs.generated) >= matched_fid.FD_INF_MIN_CASES else None
    if len(inputs.generated) < n:
        return {"fid_matched": None, "fid_matched_ci95": None, "fid_matched_n": n, "fd_inf": fd_inf}
    matched = matched_fid.matched_fid(inputs.real, inputs.generated, n,
                                      subsamples=int(inputs.settings["fid_matched_subsamples"]),
                                      n_boot=int(inputs.settings["n_boot"]), seed=inputs.seed, pool=inputs.pool)
    return {"fid_matched": matched.fid, "fid_matched_ci95": list(matched.ci95), "fid_matched_n": n, "fd_inf": fd_inf}


def _diversity(inputs: SubmissionInputs) -> dict:
    div = diversity.loo_1nn_diversity(inputs.real, inputs.generated, batch_size=int(inputs.settings["diversity_batch_size"]),
                                      repetitions=int(inputs.settings["diversity_repetitions"]), seed=inputs.seed,
                                      pool=inputs.pool)
    chance = chance_accuracy(len(inputs.real), div.batch_size).overall
    # What changes from seed to seed is the batching: the mean of `repetitions` independent ones.
    seed_spread = div.accuracy_std / np.sqrt(div.repetitions)
    return {"loo_accuracy": div.accuracy, "loo_accuracy_real": div.accuracy_real,
            "loo_accuracy_generated": div.accuracy_generated, "loo_accuracy_std": div.accuracy_std,
            "loo_batches": div.n_batches, "diversity_score": div.diversity, "loo_chance_accuracy": chance,
            "loo_seed_spread": float(seed_spread), "loo_chance_warning": bool(abs(chance - 0.5) > seed_spread)}


def _distinguishability(inputs: SubmissionInputs) -> dict:
    test = distinguishability(inputs.real, inputs.generated, permutations=int(inputs.settings["permutations"]),
                              batch_size=int(inputs.settings["diversity_batch_size"]),
                              repetitions=int(inputs.settings["permutation_repetitions"]), seed=inputs.seed,
                              pool=inputs.pool)
    return {"loo_pvalue": test.loo_pvalue, "fid_pvalue": test.fid_pvalue}


def _kid(inputs: SubmissionInputs) -> dict:
    result = kid.kernel_inception_distance(inputs.real, inputs.generated, subset_size=int(inputs.settings["kid_subset_size"]),
                                           n_subsets=int(inputs.settings["kid_subsets"]), seed=inputs.seed)
    return {"kid": result.kid, "kid_std": result.std, "kid_subset_size": result.subset_size}


def _prdc(inputs: SubmissionInputs) -> dict:
    quality = prdc.prdc(inputs.real, inputs.generated, k_precision_recall=int(inputs.settings["prdc_k_precision_recall"]),
                        k_density_coverage=int(inputs.settings["prdc_k_density_coverage"]), pool=inputs.pool)
    return {"precision": quality.precision, "recall": quality.recall, "density": quality.density,
            "coverage": quality.coverage}


def _memorisation(inputs: SubmissionInputs) -> dict:
    memo = memorisation.memorisation(inputs.real, inputs.generated, alpha=float(inputs.settings["memorisation_alpha"]))
    return {"memorized_fraction": memo.fraction,
            "suspected_copies": [{"generated": inputs.generated_ids[c.generated_index],
                                  "real": inputs.real_ids[c.real_index], "distance": c.distance, "ratio": c.ratio}
                                 for c in memo.copies]}


def _consistency(inputs: SubmissionInputs) -> dict:
    keys = ("consistency", "consistency_real", "consistency_flag", "consistency_fraction_below", "consistency_pvalue")
    if inputs.generated_consistency is None:
        return dict.fromkeys(keys)
    s = summarise_consistency(inputs.generated_consistency, inputs.real_consistency)
    return dict(zip(keys, (s.mean, s.real_mean, s.flagged, s.fraction_below, s.pvalue)))


def _orientation(inputs: SubmissionInputs) -> dict:
    keys = ("orientation_suspect_fraction", "orientation_real_fraction", "orientation_flag", "orientation_pvalue",
            "orientation_suspects")
    if inputs.generated_orientation is None or inputs.real_orientation is None:
        return dict.fromkeys(keys)
    check = orientation_check(inputs.real_orientation, inputs.generated_orientation)
    suspects = [{"generated": inputs.generated_ids[i], "resembles": turned} for i, turned in check.suspects]
    return dict(zip(keys, (check.suspect_fraction, check.real_suspect_fraction, check.flagged, check.pvalue,
                           suspects)))


def _selection(inputs: SubmissionInputs) -> dict:
    from gan_eval.selection import select_cases  # scikit-learn's K-means: imported when first scored

    k = min(int(inputs.settings["selection_k"]), len(inputs.generated))
    return {"selected_cases": [inputs.generated_ids[i] for i in select_cases(inputs.generated, k=k, seed=inputs.seed)]}


_PCT = "%"
# Selection first: scikit-learn's K-means holds two copies of the features (its centred copy and
# np.var's), so it runs before the pool keeps its own centred copy (10,000 cases: the metrics'
# peak above their inputs 454 -> 390 MB). Metrics are pure, so their order changes no number.
register(Metric("selection", _selection, (
    Output("selected_cases", "Selected cases", 0, "The case nearest each K-means centre: what the readers rate",
           table=False),
), settings={"selection_k": 10}))
register(Metric("fid", _fid, (
    Output("fid", "FID", 2, "Fréchet distance between real and generated features", higher_is_better=False),
    Output("fid_ci95", "FID 95%", 1, "Bootstrap interval (resampling both sets): covers this estimator at this "
           "submission's size, so it compares submissions of equal size only", higher_is_better=False),
), settings={"n_boot": N_BOOT}, title="FID interval"))
register(Metric("fid_matched", _fid_matched, (
    Output("fid_matched", "FID @ n", 2, "Mean FID of n generated cases (the same n for every submission) against "
           "all real cases: compares submissions of different sizes", higher_is_better=False),
    Output("fid_matched_ci95", "FID @ n 95%", 1, "Bootstrap interval of the matched FID", higher_is_better=False),
    Output("fid_matched_n", "n matched", 0, "Generated cases per matched FID: the smallest submission's size, "
           "at least the real set's", table=False),
    Output("fd_inf", "FD∞", 2, "FID extrapolated to infinitely many generated cases (Chong & Forsyth 2020)",
           higher_is_better=False),
), settings={"fid_matched_n": None, "fid_matched_subsamples": matched_fid.SUBSAMPLES,
             "fd_inf_points": matched_fid.FD_INF_POINTS, "fd_inf_draws": matched_fid.FD_INF_DRAWS},
             title="FID at one common size, and FD∞"))
register(Metric("diversity", _diversity, (
    Output("loo_accuracy", "1-NN acc.", 1, short="1-NN acc", help="Leave-one-out 1-NN accuracy, challenge batches; "
           "chance (indistinguishable) is the chance level, 50% for balanced batches", unit=_PCT),
    Output("loo_accuracy_real", "acc. real", 1, "1-NN accuracy on real points", unit=_PCT),
    Output("loo_accuracy_generated", "acc. generated", 1, "1-NN accuracy on generated points", unit=_PCT),
    Output("loo_accuracy_std", "acc. sd", 1, "Spread of the accuracy over repetitions (0 with one batch: the same "
           "batch every time, not certainty)", unit=_PCT),
    Output("loo_batches", "batches", 0, "Batches of generated cases per repetition", table=False),
    Output("diversity_score", "Diversity", 2, short="diversity", help="1 - 2|accuracy - 0.5|", higher_is_better=True),
    Output("loo_chance_accuracy", "chance acc.", 1, "Exact chance-level 1-NN accuracy of one batch against the "
           "real cases: (n_r(n_r-1) + m(m-1)) / ((n_r+m)(n_r+m-1))", unit=_PCT),
    Output("loo_seed_spread", "acc. seed spread", 1, "Standard deviation of the 1-NN accuracy between seeds "
           "(its spread over repetitions / sqrt(repetitions))", unit=_PCT, table=False),
    Output("loo_chance_warning", "Chance ≠ 50%", 0, short="chance≠50%", unit="yes/no",
           help="Chance-level 1-NN accuracy for these sizes departs from 50% by more than the accuracy's seed "
                "spread: compare the accuracy with the chance level, not with 50%"),
), settings={"diversity_batch_size": diversity.BATCH_SIZE, "diversity_repetitions": diversity.REPETITIONS},
             title="1-NN accuracy in detail"))
register(Metric("distinguishability", _distinguishability, (
    Output("loo_pvalue", "p (1-NN)", 3, "Permutation test of the 1-NN accuracy against chance: small = "
           "distinguishable from the real cases at this size"),
    Output("fid_pvalue", "p (FID)", 3, "Permutation test of FID: small = distinguishable at this size"),
), settings={"permutations": PERMUTATIONS, "permutation_repetitions": REPETITIONS}))
register(Metric("kid", _kid, (
    Output("kid", "KID", 4, "Kernel inception distance (unbiased)", higher_is_better=False),
    Output("kid_std", "KID sd", 4, "Spread over subsets"),
    Output("kid_subset_size", "KID subset", 0, "Cases per KID subset actually used (capped by the smaller set)",
           table=False),
), settings={"kid_subset_size": kid.SUBSET_SIZE, "kid_subsets": kid.N_SUBSETS}, title="KID"))
register(Metric("prdc", _prdc, (
    Output("precision", "Precision", 2, short="prec.", help="Generated cases inside the real manifold (k-NN balls)", higher_is_better=True),
    Output("recall", "Recall", 2, short="recall", help="Real cases inside the generated manifold", higher_is_better=True),
    Output("density", "Density", 2, short="density", help="How many real balls contain a generated case, on average", higher_is_better=True),
    Output("coverage", "Coverage", 2, short="coverage", help="Real cases with a generated case in their ball", higher_is_better=True),
), settings={"prdc_k_precision_recall": prdc.K_PRECISION_RECALL, "prdc_k_density_coverage": prdc.K_DENSITY_COVERAGE},
             title="Precision, recall, density, coverage"))
register(Metric("memorisation", _memorisation, (
    Output("memorized_fraction", "Memorised", 1, short="memorised", help="Generated cases much closer to a real case than real cases "
           "are to each other", unit=_PCT, higher_is_better=False),
    Output("suspected_copies", "Suspected copies", 0, "Generated case, its real twin, distance and ratio",
           table=False),
), settings={"memorisation_alpha": memorisation.ALPHA}, title="Memorisation"))
register(Metric("consistency", _consistency, (
    Output("consistency", "Seq. consistency", 2, "Cross-sequence anatomy similarity (edge correlation)",
           higher_is_better=True),
    Output("consistency_real", "Seq. consistency (real)", 2, "The real set's mean", table=False),
    Output("consistency_flag", "Inconsistent", 0, "More cases below the real set's 5th percentile than real-like "
           "cases give (beta-binomial test, p < 0.01)", unit="yes/no"),
    Output("consistency_fraction_below", "below real 5th pct.", 1, "Cases below the real set's 5th percentile",
           unit=_PCT, table=False),
    Output("consistency_pvalue", "p (consistency)", 3, "Of so many cases below the real 5th percentile", table=False),
), title="Cross-sequence consistency"))
register(Metric("orientation", _orientation, (
    Output("orientation_suspect_fraction", "Orientation suspect", 1, short="orient.", help="Cases that resemble the "
           "real anatomy mirrored or rotated more than the real anatomy itself", unit=_PCT, higher_is_better=False),
    Output("orientation_real_fraction", "Orientation suspect (real)", 1, "The same for the real cases",
           unit=_PCT, table=False),
    Output("orientation_flag", "Mis-oriented", 0, "More suspect cases than the real set's rate allows "
           "(beta-binomial test, p < 0.01)", unit="yes/no"),
    Output("orientation_pvalue", "p (orientation)", 3, "Of so many suspect cases", table=False),
    Output("orientation_suspects", "Orientation suspects", 0, "Suspect case and the orientation it resembles",
           table=False),
)))
