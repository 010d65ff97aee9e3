"""How sure is a ranking? Resample the cases, recompute every team's score, count the ranks.

**Scheme: half-sampling without replacement.** Each resample keeps a random half (``fraction``)
of the real cases and, for every team, a random half of its generated cases, the same real half
for all teams (they share the real set, and so its luck). On that half every team's
quantitative score is recomputed exactly as the challenge computes it, FID_max included (the
largest FID among the teams in that resample), with the protocol's batches scaled by the same
fraction (50 generated cases against the ~45 real ones keep the 100-vs-91 balance, so chance
stays at ~50%).

Why not the bootstrap: resampling with replacement puts exact duplicates in a set, and 1-NN and
k-NN statistics treat a duplicate as a perfect neighbour of itself (a duplicated generated case
is "correctly" recognised through its twin), so the 1-NN accuracy of a bootstrap resample is
not a draw of the accuracy at all. Subsets never contain duplicates.

Why half: for a statistic that behaves like a mean, a subsample of b of n cases drawn without
replacement varies around the full-sample value with variance sigma^2 (1/b - 1/n) (finite
population), while the full-sample statistic varies around the truth with sigma^2 / n; the ratio
is b / (n - b), so deviations are rescaled by sqrt(b / (n - b)), which is 1 for b = n/2 (the
delete-d jackknife with d = n/2; McCarthy's half-sampling). Smaller sets have a larger
small-sample bias (FID grows, 1-NN neighbours are farther), which is not sampling variability:
each team's resampled scores are centred on their own mean and moved onto the team's reported
score,

    resampled score = reported score + sqrt(b / (n - b)) * (half-sample score - mean over resamples).

So a resample's scores say how the reported scores could have come out with other cases of the
same generators and real population, and the ranks follow: for each team the probability of
each rank, a 95% rank interval, and for each pair the probability that one beats the other.
Assumptions: the scores fluctuate like smooth statistics (true for FID; approximate for the
1-NN accuracy, a mean of per-case indicators whose neighbours change with the sample), and the
real cases and each team's cases are independent samples. Checked by simulation (16-d Gaussians,
91 real and two teams of 500, 60 fresh data sets): the quantitative score's true spread was
0.029-0.030, the half-sample spread 0.031-0.032 with 3 batchings per half-sample (0.032-0.034
with 10), i.e. slightly conservative.

Cost: per team one pooled distance matrix and one Gram matrix (or, for a pool too large to keep
them, their real cases' rows and each batch's distances when asked: ``metrics.pool``); per
resample and team one FID from the Gram matrix and ``repetitions`` batched 1-NN accuracies
(``metrics.batched_nn``).
Ranks within a resample are broken at random where scores tie exactly, so every team's rank
probabilities and every rank's probabilities over the teams sum to 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gan_eval.metrics.batched_nn import Labelling, protocol_batches
from gan_eval.metrics.diversity import BATCH_SIZE, diversity_from_accuracy
from gan_eval.metrics.inputs import embedding_pair, rng
from gan_eval.metrics.pool import Pool

RESAMPLES = 100   # rank probabilities to 1%; bench/RESULTS.md times 200
FRACTION = 0.5
REPETITIONS = 3    # batchings per half-sample: the spread is the same as with 10 within its noise (docstring)
LEVEL = 0.95


@dataclass(frozen=True)
class RankConfidence:
    teams: list[str]
    probabilities: np.ndarray           # (teams, ranks): P(team has rank r + 1)
    interval: list[tuple[int, int]]     # each team's 95% rank interval
    beats: np.ndarray                   # (teams, teams): P(row team scores above column team)
    resampled: np.ndarray               # (resamples, teams): the centred resampled scores


def deviation_scale(fraction: float) -> float:
    """sqrt(b / (n - b)) for b = fraction * n (module docstring)."""
    return float(np.sqrt(fraction / (1.0 - fraction)))


class _Team:
    """One team's pool (real cases first), its distances and Gram matrix, computed once."""

    def __init__(self, pool: Pool):
        self.n_real, self.n_generated = len(pool.real), len(pool.generated)
        self.distances = pool.distances
        self.gram = pool.gram


def quantitative_resamples(real: np.ndarray, generated: Mapping[str, np.ndarray], resamples: int = RESAMPLES,
                           fraction: float = FRACTION, batch_size: int = BATCH_SIZE,
                           repetitions: int = REPETITIONS, seed: int = 0,
                           pools: Mapping[str, Pool] | None = None) -> np.ndarray:
    """Half-sample quantitative scores, ``(resamples, teams)`` in the order of ``generated``
    (not centred: ``rank_confidence`` centres them on the reported scores); ``pools``: each team's
    ``metrics.pool.Pool`` with these real cases, where one exists."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    if resamples < 1 or repetitions < 1:
        raise ValueError(f"resamples and repetitions must be >= 1, got {resamples} and {repetitions}")
    teams = [_Team((pools or {}).get(name) or Pool(*embedding_pair(real, x))) for name, x in generated.items()]
    n_real_kept = _kept(len(real), fraction, "real")
    kept = [_kept(t.n_generated, fraction, name) for name, t in zip(generated, teams)]
    half_batch = max(int(round(batch_size * fraction)), 1)
    draws = rng(seed)
    scores = np.empty((resamples, len(teams)))
    for s in range(resamples):
        real_rows = np.sort(draws.choice(len(real), n_real_kept, replace=False))
        fids, accuracies = np.empty(len(teams)), np.empty(len(teams))
        for t, (team, n_kept) in enumerate(zip(teams, kept)):
            generated_rows = team.n_real + np.sort(draws.choice(team.n_generated, n_kept, replace=False))
            fids[t] = team.gram.batched_fids(real_rows, generated_rows[None])[0]
            labelling = Labelling(team.distances, real_rows, generated_rows)
            size = min(half_batch, n_kept)
            reps = repetitions if n_kept > size else 1  # one batch of everything is the same every time
            accuracies[t] = np.mean([labelling.accuracy(protocol_batches(draws, n_kept, size)).overall
                                     for _ in range(reps)])
        fid_max = fids.max()
        fid_scores = 1.0 - fids / fid_max if fid_max > 0 else np.ones(len(teams))
        diversity = np.array([diversity_from_accuracy(a) for a in accuracies])
        scores[s] = (diversity + fid_scores) / 2.0
    return scores


def _kept(n: int, fraction: float, name: str) -> int:
    kept = int(round(n * fraction))
    if kept < 2:
        raise ValueError(f"{name}: {n} cases leave {kept} in a {fraction:.0%} subsample; at least 2 are needed")
    return kept


def rank_confidence(reported: Mapping[str, float], resampled: np.ndarray, fraction: float = FRACTION,
                    seed: int = 0, level: float = LEVEL) -> RankConfidence:
    """Rank probabilities, rank intervals and pairwise probabilities of the teams of ``reported``
    (best = highest score = rank 1), from uncentred resampled scores ``(resamples, teams)``."""
    teams = list(reported)
    point = np.array([reported[t] for t in teams], dtype=float)
    if resampled.ndim != 2 or resampled.shape[1] != len(teams):
        raise ValueError(f"resampled scores must be (resamples, {len(teams)}), got shape {resampled.shape}")
    centred = point + deviation_scale(fraction) * (resampled - resampled.mean(axis=0))
    return ranks_of(teams, centred, seed, level)


def ranks_of(teams: list[str], scores: np.ndarray, seed: int = 0, level: float = LEVEL) -> RankConfidence:
    """Rank statistics of already centred resampled scores ``(resamples, teams)``."""
    n_resamples, n_teams = scores.shape
    draws = rng(seed)
    ranks = np.empty((n_resamples, n_teams), dtype=int)
    for s in range(n_resamples):
        shuffled = draws.permutation(n_teams)  # exact ties: random order among the tied teams
        order = shuffled[np.argsort(-scores[s, shuffled], kind="stable")]
        ranks[s, order] = np.arange(1, n_teams + 1)
    probabilities = np.stack([np.bincount(ranks[:, t] - 1, minlength=n_teams) for t in range(n_teams)]) / n_resamples
    tail = (1.0 - level) / 2.0
    interval = [(int(np.quantile(ranks[:, t], tail, method="inverted_cdf")),
                 int(np.quantile(ranks[:, t], 1.0 - tail, method="inverted_cdf"))) for t in range(n_teams)]
    above = (scores[:, :, None] > scores[:, None, :]).mean(axis=0)
    tied = (scores[:, :, None] == scores[:, None, :]).mean(axis=0)
    beats = above + 0.5 * tied
    np.fill_diagonal(beats, np.nan)
    return RankConfidence(teams, probabilities, interval, beats, scores)
