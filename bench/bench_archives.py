"""Archive reading speed: cases/s for a 1000-case 256x256 uint16 submission with masks.

Writes synthetic cases (12-bit noise images, elliptical lesion masks) as the standard zip of
per-case .npz (``write_archive``, deflate level 1) and as a folder of .npz, then streams them
through ``iter_cases`` (every check on, nothing held). The reference is a bare ``np.load`` of
the folder's files in the same process: the ratio says what safety and validation cost.

    python bench/bench_archives.py [--cases 1000] [--side 256]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan_eval.archives import iter_cases, write_archive  # noqa: E402
from gan_eval.cases import Case  # noqa: E402


def synthetic_cases(n: int, side: int, seed: int = 0, masks: bool = True) -> Iterator[Case]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    for i in range(n):
        images = rng.integers(0, 4096, (3, side, side), dtype=np.uint16)
        (cy, cx), r = rng.uniform(0.3, 0.7, 2) * side, side * rng.uniform(0.05, 0.15)
        lesion = (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).astype(np.uint8)
        yield Case(f"case_{i:04d}", images, np.stack([lesion] * 3) if masks else None)


def write_folder(cases: Iterator[Case], folder: Path) -> None:
    folder.mkdir()
    for case in cases:
        arrays = {"t1_arterial": case.images[0], "t1_portal": case.images[1], "t2": case.images[2]}
        arrays.update({f"mask_{k}": case.masks[i] for i, k in enumerate(arrays)})
        np.savez(folder / f"{case.case_id}.npz", **arrays)


def bare_np_load(folder: Path) -> int:
    count = 0
    for path in sorted(folder.glob("*.npz")):
        with np.load(path, allow_pickle=False) as npz:
            for key in npz.files:
                npz[key]
        count += 1
    return count


def streamed(path: Path) -> int:
    count = 0
    for item in iter_cases(path):
        assert isinstance(item, Case), item
        count += 1
    return count


def timed(label: str, run: Callable[[], int], reference: float | None) -> float:
    start = time.perf_counter()
    count = run()
    seconds = time.perf_counter() - start
    rate = count / seconds
    ratio = f"{rate / reference:5.2f}x reference" if reference else "reference"
    print(f"{label:<38} {count:5d} cases  {seconds:6.2f} s  {rate:7.1f} cases/s  {ratio}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--side", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_archives_") as tmp:
        tmp_path = Path(tmp)
        start = time.perf_counter()
        write_archive(synthetic_cases(args.cases, args.side), tmp_path / "sub.zip")
        write_folder(synthetic_cases(args.cases, args.side), tmp_path / "folder")
        size_mb = (tmp_path / "sub.zip").stat().st_size / 1e6
        print(f"{args.cases} cases {args.side}x{args.side} uint16 + masks; zip {size_mb:.0f} MB; "
              f"written in {time.perf_counter() - start:.1f} s")
        reference = timed("np.load of folder of .npz (no checks)", lambda: bare_np_load(tmp_path / "folder"), None)
        timed("iter_cases(folder of .npz)", lambda: streamed(tmp_path / "folder"), reference)
        timed("iter_cases(zip of .npz)", lambda: streamed(tmp_path / "sub.zip"), reference)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak_mb:.0f} MB (cases are streamed, never all held)")


if __name__ == "__main__":
    main()
