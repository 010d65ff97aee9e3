"""Plain-language verdict for one submission, derived from its scores with stated thresholds.

The thresholds are deliberately simple and printed next to every verdict, so a team can see
exactly why it got one. Several findings can hold at once (e.g. low fidelity and inconsistent
sequences); "healthy" means none did.

The 1-NN accuracy bands assume the challenge's near-balanced batches, where chance is ~50%. A
set so small that one batch of it against the real cases has a chance level far from 50%
(``metrics.chance``: 14 cases against 91 give 76.7%) is diagnosed "too small to judge" with that
reason instead: its accuracy cannot be read against the bands, and "healthy" would claim what
was not tested (the permutation p-value says what can be said at that size).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

# 1-NN accuracy bands (chance is ~0.5 with the challenge's balanced batches).
MEMORISATION_ACCURACY = 0.30      # below: generated cases sit on top of real ones
MEMORISED_FRACTION = 0.20         # or: more than this fraction flagged as copies
SEPARABLE_ACCURACY = 0.80         # above: real and generated are easily told apart
COLLAPSE_RECALL = 0.30            # separable, realistic (precision >= LOW_FIDELITY_PRECISION) AND
                                  # recall below this: a few realistic modes, most real cases unreached
LOW_FIDELITY_PRECISION = 0.50     # separable AND precision below this: samples off the real manifold
CHANCE_TOLERANCE = 0.05           # chance accuracy further than this from 50%: the bands do not apply
DISTINGUISHABLE_P = 0.01          # permutation p-value of the 1-NN accuracy below this: told apart


@dataclass(frozen=True)
class Finding:
    label: str        # healthy, too small to judge, memorisation, mode collapse, low fidelity,
                      # inconsistent sequences, mis-oriented, distinguishable
    severity: str     # "ok", "warning", "problem"
    because: str      # the numbers and thresholds that triggered it


def diagnose(scores: dict) -> list[Finding]:
    """Findings for one submission's scores (a value of ``scoring.evaluate(...)['submissions']``)."""
    acc, precision, recall = scores["loo_accuracy"], scores["precision"], scores["recall"]
    chance, pvalue = scores.get("loo_chance_accuracy"), scores.get("loo_pvalue")
    too_small = chance is not None and abs(chance - 0.5) > CHANCE_TOLERANCE
    findings = []
    if too_small:
        tested = "" if pvalue is None else (
            f"; the permutation test gives p = {pvalue:.2f}: "
            + ("distinguishable from the real cases even at this size" if pvalue < DISTINGUISHABLE_P
               else "not distinguishable at this size, which says little with so few cases"))
        findings.append(Finding("too small to judge", "warning",
                                f"{scores['n']} generated cases: one batch of them against the real cases has a "
                                f"chance-level 1-NN accuracy of {chance:.1%}, not 50% (more than "
                                f"{CHANCE_TOLERANCE:.0%} away), so the accuracy {acc:.1%} cannot be read against "
                                f"the bands below{tested}"))
    banded = acc is not None and not too_small
    if (banded and acc < MEMORISATION_ACCURACY) or scores["memorized_fraction"] > MEMORISED_FRACTION:
        findings.append(Finding("memorisation", "problem",
                                f"1-NN accuracy {acc:.1%} (< {MEMORISATION_ACCURACY:.0%}) or memorised fraction "
                                f"{scores['memorized_fraction']:.1%} (> {MEMORISED_FRACTION:.0%})"))
    if banded and acc > SEPARABLE_ACCURACY and recall < COLLAPSE_RECALL and precision >= LOW_FIDELITY_PRECISION:
        findings.append(Finding("mode collapse", "problem",
                                f"1-NN accuracy {acc:.1%} (> {SEPARABLE_ACCURACY:.0%}), precision {precision:.2f} "
                                f"(realistic) but recall {recall:.2f} (< {COLLAPSE_RECALL:.2f}): the cases cluster on "
                                "a few modes and miss most of the real variety"))
    if banded and acc > SEPARABLE_ACCURACY and precision < LOW_FIDELITY_PRECISION:
        findings.append(Finding("low fidelity", "problem",
                                f"1-NN accuracy {acc:.1%} (> {SEPARABLE_ACCURACY:.0%}) and precision {precision:.2f} "
                                f"(< {LOW_FIDELITY_PRECISION:.2f}): the cases fall outside the real distribution"))
    if scores.get("consistency_flag"):
        findings.append(Finding("inconsistent sequences", "problem",
                                f"{scores['consistency_fraction_below']:.0%} of the cases are below the real set's "
                                f"5th percentile of cross-sequence anatomy similarity (about 5% expected; "
                                f"p = {scores['consistency_pvalue']:.1g}); mean {scores['consistency']:.2f} against "
                                f"{scores['consistency_real']:.2f} for the real cases: in those cases the three "
                                "sequences do not show the same anatomy"))
    if scores.get("orientation_flag"):
        findings.append(Finding("mis-oriented", "problem",
                                f"{scores['orientation_suspect_fraction']:.0%} of the cases resemble the real anatomy "
                                f"mirrored or rotated more than the real anatomy itself (real cases: "
                                f"{scores['orientation_real_fraction']:.0%}; p = {scores['orientation_pvalue']:.1g}): "
                                "laterality or orientation is wrong, which the CNN features barely see"))
    if not findings and banded and (acc > SEPARABLE_ACCURACY or (pvalue is not None and pvalue < DISTINGUISHABLE_P)):
        why = f"1-NN accuracy {acc:.1%} (> {SEPARABLE_ACCURACY:.0%})" if acc > SEPARABLE_ACCURACY else \
            f"1-NN accuracy {acc:.1%} against a chance level of {chance:.1%}, permutation p = {pvalue:.3f} " \
            f"(< {DISTINGUISHABLE_P})"
        findings.append(Finding("distinguishable", "warning",
                                f"{why} although precision and recall look fine: something systematic tells "
                                "generated cases apart (check the viewer)"))
    if not findings:
        against = "" if chance is None else f" (chance {chance:.1%})"
        findings.append(Finding("healthy", "ok", f"1-NN accuracy {acc:.1%}{against}, precision {precision:.2f}, "
                                                 f"recall {recall:.2f}: no problem detected"))
    return findings


def _nn_within(x: np.ndarray) -> np.ndarray:
    """Distance from each row of ``x`` to its nearest other row."""
    d = cdist(x, x)
    np.fill_diagonal(d, np.inf)
    return d.min(axis=1)


def _nn_within_groups(x: np.ndarray, size: int, draws: np.random.Generator) -> np.ndarray:
    """Nearest-neighbour distances within random disjoint groups of ``size`` rows of ``x``."""
    order = draws.permutation(len(x))
    return np.concatenate([_nn_within(x[order[g * size: (g + 1) * size]]) for g in range(len(x) // size)])


def nearest_neighbour_distances(real: np.ndarray, generated: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Euclidean nearest-neighbour distances: generated->real, generated->generated, real->real.

    Within-set distances shrink as a set grows (more neighbours to choose from): 1000 healthy
    cases have closer neighbours among themselves than 91 real cases do, which reads as mode
    collapse. So both within-set distances are taken at the same size, the smaller set's: within
    random disjoint groups of that many cases of the larger set (every case of the groups counted).
    """
    size = min(len(real), len(generated))
    draws = np.random.default_rng(seed)
    return {
        "generated → real": cdist(generated, real).min(axis=1),
        "generated → generated": _nn_within_groups(generated, size, draws),
        "real → real": _nn_within_groups(real, size, draws),
    }


def nearest_real(feature: np.ndarray, real: np.ndarray) -> tuple[int, float, float]:
    """(index, distance) of the real case nearest ``feature``, and the median real->real NN distance
    for scale: a ratio distance/typical well below 1 means "closer than real cases are to each other"."""
    d = np.linalg.norm(real - feature[None, :], axis=1)
    index = int(d.argmin())
    return index, float(d[index]), float(np.median(_nn_within(real)))
