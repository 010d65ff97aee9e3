"""Metric speed against reference implementations run in the same process.

    python bench/bench_metrics.py

1. FID on 91 real vs 1000 generated 2048-d features (the challenge's Inception size): the exact
   nuclear-norm form against scipy's sqrtm as pytorch-fid calls it (run once: ~20 s). Goal >= 100x.
2. Diversity, 100 repetitions of 10 batches on 1000 + 91 cases x 1280-d: against the procedure
   written plainly (cdist and argmin per batch; 3 repetitions timed, scaled to 100). Goal < 0.5 s.
3. FID bootstrap (200 resamples) against the generic bootstrap (FID recomputed per resample; 10
   resamples timed, scaled to 200). Goal < ~1 s.
4. A full ``scoring.evaluate`` of 6 submissions (five of 1000 cases, one of 100) x 1280-d.
5. Rank confidence: 6 teams x 1000 cases x 1280-d, 200 half-samples (every team's quantitative
   score recomputed, FID_max included). Goal < 30 s.
6. Radiomic features of 1000 phantom cases at 256 px (100 distinct cases, each 10 times:
   drawing 1000 phantoms costs more than describing them), preprocessing included. Goal < 60 s.
7. ``scoring.evaluate`` of 6 submissions of 1000 cases x 1280-d (the app's first launch scores
   six such sets). ``python bench/bench_metrics.py --evaluate`` runs only this one, so that the
   same script can time an older checkout (copy it into that tree's ``bench/`` and run it there).

Synthetic features shaped like pooled CNN activations (non-negative, correlated, low effective
rank). Timings depend on the load of the machine: the load average is printed with them.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.linalg
from scipy.spatial.distance import cdist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan_eval.embedding_set import EmbeddingSet  # noqa: E402
from gan_eval.metrics.bootstrap import bootstrap_fid, bootstrap_interval  # noqa: E402
from gan_eval.metrics.diversity import loo_1nn_diversity  # noqa: E402
from gan_eval.metrics.fid import frechet_distance  # noqa: E402
from gan_eval.scoring import evaluate  # noqa: E402


def features(rng: np.random.Generator, n: int, d: int, shift: float = 0.0, rank: int = 64) -> np.ndarray:
    basis = np.random.default_rng(99).normal(size=(rank, d))  # shared by every set: one "feature space"
    return np.abs(rng.normal(size=(n, rank)) @ basis / np.sqrt(rank) + 0.3 * rng.normal(size=(n, d)) + shift)


def timed(fn, repeat: int = 1):
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def sqrtm_fid(real: np.ndarray, gen: np.ndarray) -> float:
    """pytorch-fid's calculate_frechet_distance, inlined (same sqrtm call, same formula)."""
    mu1, mu2 = real.mean(axis=0), gen.mean(axis=0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(gen, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))


def plain_diversity(real: np.ndarray, gen: np.ndarray, repetitions: int, seed: int = 0) -> float:
    draws = np.random.default_rng(seed)
    labels = np.r_[np.zeros(len(real)), np.ones(100)]
    accs = []
    for _ in range(repetitions):
        order = draws.permutation(len(gen))
        for b in range(len(gen) // 100):
            joined = np.concatenate([real, gen[order[b * 100:(b + 1) * 100]]])
            d = cdist(joined, joined)
            np.fill_diagonal(d, np.inf)
            accs.append(np.mean(labels[d.argmin(axis=1)] == labels))
    return float(np.mean(accs))


def as_set(x: np.ndarray, name: str) -> EmbeddingSet:
    return EmbeddingSet(x, [f"{name}-{i}" for i in range(len(x))], "bench", "0" * 64, name=name)


def six_teams(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """91 real and six teams of 1000 cases x 1280-d, the teams a little further off one by one."""
    real = features(rng, 91, 1280)
    return real, {f"team{i}": features(rng, 1000, 1280, shift=0.01 * i) for i in range(6)}


def bench_evaluate_six() -> None:
    real, teams = six_teams(np.random.default_rng(1))
    t_eval, _ = timed(lambda: evaluate(as_set(real, "real"), {n: as_set(x, n) for n, x in teams.items()}))
    print(f"evaluate(): 6 submissions of 1000 vs 91 real x 1280: {t_eval:.2f} s (load average "
          f"{os.getloadavg()[0]:.2f})")


def bench_rank_confidence() -> None:
    from gan_eval.metrics.rank_confidence import quantitative_resamples
    from threadpoolctl import threadpool_limits

    real, teams = six_teams(np.random.default_rng(2))
    with threadpool_limits(limits=1):
        t_rank, raw = timed(lambda: quantitative_resamples(real, teams, resamples=200))
    print(f"rank confidence, 6 teams x 1000 x 1280, 200 half-samples: {t_rank:.2f} s (goal < 30 s); "
          f"spread of the half-sample scores {raw.std(axis=0).mean():.4f}")


def bench_radiomics() -> None:
    from gan_eval.phantom import make_case
    from gan_eval.radiomics import case_radiomics

    cases = [make_case(seed, 256).images for seed in range(100)]
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(10):
        for images in cases:
            case_radiomics(images)
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    print(f"radiomic features, 1000 cases at 256 px (preprocessing included): {wall:.1f} s wall, {used:.1f} s CPU "
          f"(goal < 60 s); {1000 * wall / 1000:.1f} ms a case")


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; numpy {np.__version__}")
    if "--evaluate" in sys.argv[1:]:
        bench_evaluate_six()
        return
    rng = np.random.default_rng(0)

    real, gen = features(rng, 91, 2048), features(rng, 1000, 2048, shift=0.05)
    t_ours, fid = timed(lambda: frechet_distance(real, gen), repeat=3)
    t_ref, fid_ref = timed(lambda: sqrtm_fid(real, gen))
    print(f"FID 91 vs 1000 x 2048: exact {t_ours * 1e3:.1f} ms, scipy sqrtm {t_ref:.1f} s -> "
          f"{t_ref / t_ours:.0f}x faster; FID {fid:.6f} vs {fid_ref:.6f} (relative difference "
          f"{abs(fid - fid_ref) / fid_ref:.1e})")

    real, gen = features(rng, 91, 1280), features(rng, 1000, 1280, shift=0.02)
    t_div, res = timed(lambda: loo_1nn_diversity(real, gen), repeat=3)
    t_plain, acc3 = timed(lambda: plain_diversity(real, gen, repetitions=3))
    t_plain_100 = t_plain * 100 / 3
    same = loo_1nn_diversity(real, gen, repetitions=3).accuracy
    print(f"diversity 100 x 10 batches, 1000 + 91 x 1280: {t_div:.3f} s (goal < 0.5 s); plain per-batch "
          f"cdist {t_plain_100:.1f} s (3 repetitions scaled) -> {t_plain_100 / t_div:.0f}x faster; "
          f"accuracy {res.accuracy:.4f}, 3-repetition accuracy {same:.6f} vs plain {acc3:.6f}")

    t_boot, ci = timed(lambda: bootstrap_fid(real, gen, n_boot=200), repeat=2)
    t_generic, _ = timed(lambda: bootstrap_interval(frechet_distance, real, gen, n_boot=10))
    t_generic_200 = t_generic * 20
    print(f"FID bootstrap 200 resamples, 1000 + 91 x 1280: {t_boot:.3f} s (goal < ~1 s); generic "
          f"{t_generic_200:.1f} s (10 scaled) -> {t_generic_200 / t_boot:.0f}x faster; interval "
          f"[{ci[0]:.3f}, {ci[1]:.3f}]")

    subs = {f"team{i}": as_set(features(rng, 1000, 1280, shift=0.02 * i), f"team{i}") for i in range(5)}
    subs["small"] = as_set(features(rng, 100, 1280), "small")
    t_eval, result = timed(lambda: evaluate(as_set(real, "real"), subs))
    print(f"evaluate(): 6 submissions (5 x 1000 + 100) vs 91 real x 1280: {t_eval:.2f} s "
          f"({t_eval / 6:.2f} s per submission); best quantitative "
          f"{max(s['quantitative_score'] for s in result['submissions'].values()):.3f}")
    bench_rank_confidence()
    bench_radiomics()
    bench_evaluate_six()


if __name__ == "__main__":
    main()
