"""Phantom generation speed (cases/s at 256 and 128) and, with --demo, the demo build time.

Timings on a shared machine drift with its load: each is the fastest of five batches, printed
with its ratio to the fastest reference run interleaved with them: drawing the Rician noise of
one 256x256 case (two float32 Gaussian draws per pixel and sequence, plus the magnitude), the
floor of any acquisition model.

    python bench/bench_phantom.py [--cases 100] [--demo]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan_eval import demo, phantom  # noqa: E402


def reference_seconds(rng: np.random.Generator, repeats: int = 5) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        noise = rng.standard_normal((2, 3, 256, 256), dtype=np.float32)
        np.sqrt((1000 + noise[0]) ** 2 + noise[1] ** 2)
    return (time.perf_counter() - start) / repeats


def best_of(rounds: int, batch: int, cases) -> tuple[float, float]:
    """Fastest seconds per case over ``rounds`` batches, and the fastest reference run taken
    between the batches (the minimum is the timing least disturbed by other processes)."""
    rng = np.random.default_rng(0)
    per_case, ref = float("inf"), float("inf")
    for r in range(rounds):
        ref = min(ref, reference_seconds(rng))
        start = time.perf_counter()
        for _ in cases(r * batch, batch):
            pass
        per_case = min(per_case, (time.perf_counter() - start) / batch)
    return per_case, ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100, help="cases timed per size (default 100)")
    parser.add_argument("--demo", action="store_true", help="also time a full demo build at 128x128")
    args = parser.parse_args()

    batch = max(args.cases // 5, 1)
    for size in (256, 128):
        phantom.make_case(0, size)  # warm-up: caches and imports
        per_case, ref = best_of(5, batch, lambda start, n, size=size: (
            phantom.make_case(phantom.case_seed(1, i), size) for i in range(start, start + n)))
        print(f"make_case {size}x{size}: {1 / per_case:6.1f} cases/s ({per_case * 1e3:5.1f} ms/case, "
              f"{per_case / ref:4.1f}x reference {ref * 1e3:.1f} ms); 1000 cases in {per_case * 1000:4.1f} s")
    per_case, ref = best_of(5, batch, lambda start, n: phantom.iter_inconsistent_cases(
        1000, seed=1, size=128, start=start, stop=start + n))
    print(f"inconsistent 128x128 (pooled): {1 / per_case:6.1f} cases/s ({per_case / ref:4.1f}x reference)")
    if args.demo:
        workers = demo.default_workers()
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            paths = demo.build_demo(out, workers=workers)
            seconds = time.perf_counter() - start
            megabytes = sum(p.stat().st_size for p in paths.values()) / 1e6
            start = time.perf_counter()
            demo.build_demo(out)
            again = time.perf_counter() - start
        print(f"demo build 128x128 with {workers} worker processes: {seconds:.1f} s ({seconds / ref:,.0f}x reference), "
              f"{megabytes:.0f} MB; rebuild keeping everything: {again:.2f} s")


if __name__ == "__main__":
    main()
