"""Plain-language verdict for one submission, derived from its scores with stated thresholds.

The thresholds are deliberately simple and printed next to every verdict, so a team can see
exactly why it got one. Several findings can hold at once (e.g. low fidelity and inconsistent
sequences); "healthy" means none did.
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


@dataclass(frozen=True)
class Finding:
    label: str        # healthy, memorisation, mode collapse, low fidelity, inconsistent sequences, distinguishable
    severity: str     # "ok", "warning", "problem"
    because: str      # the numbers and thresholds that triggered it


def diagnose(scores: dict) -> list[Finding]:
    """Findings for one submission's scores (a value of ``scoring.evaluate(...)['submissions']``)."""
    acc, precision, recall = scores["loo_accuracy"], scores["precision"], scores["recall"]
    findings = []
    if acc < MEMORISATION_ACCURACY or scores["memorized_fraction"] > MEMORISED_FRACTION:
        findings.append(Finding("memorisation", "problem",
                                f"1-NN accuracy {acc:.1%} (< {MEMORISATION_ACCURACY:.0%}) or memorised fraction "
                                f"{scores['memorized_fraction']:.1%} (> {MEMORISED_FRACTION:.0%})"))
    if acc > SEPARABLE_ACCURACY and recall < COLLAPSE_RECALL and precision >= LOW_FIDELITY_PRECISION:
        findings.append(Finding("mode collapse", "problem",
                                f"1-NN accuracy {acc:.1%} (> {SEPARABLE_ACCURACY:.0%}), precision {precision:.2f} "
                                f"(realistic) but recall {recall:.2f} (< {COLLAPSE_RECALL:.2f}): the cases cluster on "
                                "a few modes and miss most of the real variety"))
    if acc > SEPARABLE_ACCURACY and precision < LOW_FIDELITY_PRECISION:
        findings.append(Finding("low fidelity", "problem",
                                f"1-NN accuracy {acc:.1%} (> {SEPARABLE_ACCURACY:.0%}) and precision {precision:.2f} "
                                f"(< {LOW_FIDELITY_PRECISION:.2f}): the cases fall outside the real distribution"))
    if scores.get("consistency_flag"):
        findings.append(Finding("inconsistent sequences", "problem",
                                f"cross-sequence anatomy similarity {scores['consistency']:.2f} against "
                                f"{scores['consistency_real']:.2f} for the real cases: the three sequences of a "
                                "case do not show the same anatomy"))
    if not findings and acc > SEPARABLE_ACCURACY:
        findings.append(Finding("distinguishable", "warning",
                                f"1-NN accuracy {acc:.1%} (> {SEPARABLE_ACCURACY:.0%}) although precision and recall "
                                "look fine: something systematic tells generated cases apart (check the viewer)"))
    if not findings:
        findings.append(Finding("healthy", "ok", f"1-NN accuracy {acc:.1%}, precision {precision:.2f}, "
                                                 f"recall {recall:.2f}: no problem detected"))
    return findings


def _nn_within(x: np.ndarray) -> np.ndarray:
    """Distance from each row of ``x`` to its nearest other row."""
    d = cdist(x, x)
    np.fill_diagonal(d, np.inf)
    return d.min(axis=1)


def nearest_neighbour_distances(real: np.ndarray, generated: np.ndarray) -> dict[str, np.ndarray]:
    """Euclidean nearest-neighbour distances: generated->real, generated->generated, real->real."""
    return {
        "generated → real": cdist(generated, real).min(axis=1),
        "generated → generated": _nn_within(generated),
        "real → real": _nn_within(real),
    }


def nearest_real(feature: np.ndarray, real: np.ndarray) -> tuple[int, float, float]:
    """(index, distance) of the real case nearest ``feature``, and the median real->real NN distance
    for scale: a ratio distance/typical well below 1 means "closer than real cases are to each other"."""
    d = np.linalg.norm(real - feature[None, :], axis=1)
    index = int(d.argmin())
    return index, float(d[index]), float(np.median(_nn_within(real)))
