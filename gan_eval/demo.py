"""The built-in demo: a real set and six submissions, each showing one failure the dashboard
must diagnose.

Everything is drawn from :mod:`gan_eval.phantom`. The default image size is 128x128 (not the
phantom's 256x256): it keeps the demo workspace near 0.35 GB and its build near a minute on two
cores, while every metric and view behaves as at full size. Archives are written with
:func:`gan_eval.archives.write_archive` (a temporary file renamed into place), and a manifest
records how each was made, so a rebuild with the same parameters keeps what is already there.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import zipfile
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from scipy import ndimage

from . import phantom
from .archives import write_archive
from .cases import SEQUENCE_LABELS, SEQUENCES, Case
from .store import atomic_write_text

DEFAULT_SIZE = 128
REAL_NAME = "real"
REAL_CASES = 91  # the SFR 2021 challenge's real set
SUBMISSION_CASES = 1000
SMALL_CASES = 100
PROTOTYPES = 3  # distinct cases behind the collapsed submission
MANIFEST = "demo_manifest.json"

# What each demo submission shows, in the order the app lists them.
DEMO_SUBMISSIONS: dict[str, str] = {
    "good": "1000 fresh cases from the real distribution: what a faithful generator scores.",
    "collapsed": f"1000 cases made from {PROTOTYPES} prototypes plus small noise and one-pixel shifts: mode "
                 "collapse (separable from the real set, realistic but with low recall).",
    "memorized": "1000 near-copies of the 91 real cases: memorisation (each case is far closer to "
                 "one real case than to anything else).",
    "blurry": "1000 heavily blurred cases: low fidelity (high FID, low precision).",
    "inconsistent": "1000 cases whose T2 comes from another patient than their two T1 phases: "
                    "cross-sequence inconsistency.",
    "small": "100 fresh cases: too few for stable metrics (wide confidence intervals).",
}

# Independent seed streams for the sets, so no two sets share a case.
_STREAMS = {"real": 0, "good": 1, "collapsed": 2, "memorized": 3, "blurry": 4, "inconsistent": 5, "small": 6}

Progress = Callable[[str, float], None]  # (message, overall fraction done in [0, 1])

RENDERED_SETS = (REAL_NAME, "good", "blurry", "inconsistent", "small")  # drawn afresh: the costly sets
CHUNK = 25  # rendered cases per task handed to a worker process
MAX_WORKERS = 8  # the demo command's default is the CPU count, at most this


def default_workers() -> int:
    return min(os.cpu_count() or 1, MAX_WORKERS)


def build_demo(out_dir: str | Path, seed: int = 0, size: int = DEFAULT_SIZE, progress: Progress | None = None, *,
               workers: int = 1, n_real: int = REAL_CASES, n_cases: int = SUBMISSION_CASES,
               n_small: int = SMALL_CASES) -> dict[str, Path]:
    """Write ``real.zip`` and one ``<name>.zip`` per entry of ``DEMO_SUBMISSIONS`` into ``out_dir``.

    With ``workers`` > 1, rendering runs in that many worker processes (the archives are the
    same whatever the number). They are started with "spawn", which re-imports the calling
    script: call from a CLI, the app, or under ``if __name__ == "__main__":``. ``n_real``,
    ``n_cases`` (the 1000-case submissions) and ``n_small`` change the set sizes (tests use
    small ones). An archive already present and recorded in the manifest with the same
    parameters is kept. ``progress(message, fraction)`` is called as cases are written.
    Returns the path of every archive, keyed ``"real"`` then the submission names.
    """
    if size < phantom.MIN_SIZE:
        raise ValueError(f"build_demo: size must be at least {phantom.MIN_SIZE} pixels, got {size}")
    if n_real < 1 or n_cases < PROTOTYPES or n_small < 1:
        raise ValueError(f"build_demo: need n_real >= 1, n_cases >= {PROTOTYPES} and n_small >= 1, "
                         f"got n_real={n_real}, n_cases={n_cases}, n_small={n_small}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    manifest = _read_manifest(manifest_path)
    counts = {REAL_NAME: n_real} | {name: n_small if name == "small" else n_cases for name in DEMO_SUBMISSIONS}
    paths = {name: out / f"{name}.zip" for name in counts}
    recipes = {name: {"seed": seed, "size": size, "cases": count, "generator": phantom.VERSION}
               for name, count in counts.items()}
    recipes["memorized"]["real_cases"] = n_real  # copies of the real set: they depend on it too
    kept = {name for name in counts
            if manifest.get(paths[name].name) == recipes[name] and _holds_cases(paths[name], counts[name])}
    total, done = sum(counts.values()), 0
    report = progress or (lambda message, fraction: None)

    tasks = [(name, start, min(start + CHUNK, counts[name]), counts[name], seed, size)
             for name in RENDERED_SETS if name not in kept for start in range(0, counts[name], CHUNK)]
    real_cases: list[Case] = []  # the originals of the memorised copies
    with _rendered_chunks(tasks, workers) as chunks:
        for name, count in counts.items():
            path = paths[name]
            if name in kept:
                done += count
                report(f"kept {path.name} ({count} cases, already complete)", done / total)
                continue
            if name in RENDERED_SETS:
                cases: Iterable[Case] = (case for _ in range(0, count, CHUNK) for case in next(chunks))
                if name == REAL_NAME:
                    cases = _collect(cases, real_cases)
            else:
                if name == "memorized" and not real_cases:  # real.zip was kept: draw its cases again
                    real_cases = _chunk_cases(REAL_NAME, 0, n_real, n_real, seed, size)
                cases = _copies(name, count, phantom.case_seed(seed, _STREAMS[name]), size, real_cases)

            def counted(cases: Iterable[Case], start: int = done, count: int = count, path: Path = path
                        ) -> Iterator[Case]:
                for i, case in enumerate(cases, 1):
                    yield case
                    if i % 50 == 0 or i == count:
                        report(f"writing {path.name}: {i}/{count} cases", (start + i) / total)

            write_archive(counted(cases), path)
            done += count
            manifest[path.name] = recipes[name]
            _write_manifest(manifest_path, manifest)
    return paths


def _chunk_cases(name: str, start: int, stop: int, count: int, seed: int, size: int) -> list[Case]:
    """Cases ``start`` to ``stop - 1`` of the rendered demo set ``name`` (a worker's task)."""
    set_seed = phantom.case_seed(seed, _STREAMS[name])
    if name == "inconsistent":
        return list(phantom.iter_inconsistent_cases(count, set_seed, size, name, start=start, stop=stop))
    # Blurry: a heavy blur, scaled with the image, loses the fine structure (vessels, capsule, texture).
    blur = size / 64 if name == "blurry" else 0.0
    return [phantom.make_case(phantom.case_seed(set_seed, i), size, f"{name}_{i:04d}", blur_sigma=blur)
            for i in range(start, stop)]


@contextmanager
def _rendered_chunks(tasks: list[tuple], workers: int) -> Iterator[Iterator[list[Case]]]:
    """The results of ``_chunk_cases(*task)`` in task order, computed in ``workers`` processes
    a few tasks ahead of the writer (so memory holds a handful of chunks, never a whole set)."""
    if workers <= 1 or len(tasks) <= 1:
        yield (_chunk_cases(*task) for task in tasks)
        return
    # "spawn": a forked copy of a multi-threaded parent (the Streamlit server) can deadlock.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield _in_order(pool, tasks, ahead=2 * workers)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _in_order(pool: ProcessPoolExecutor, tasks: list[tuple], ahead: int) -> Iterator[list[Case]]:
    """Chunk results in task order, keeping ``ahead`` tasks submitted."""
    pending: deque[Future] = deque()
    queue = iter(tasks)
    for task in itertools.islice(queue, ahead):
        pending.append(pool.submit(_chunk_cases, *task))
    while pending:
        result = pending.popleft().result()
        for task in itertools.islice(queue, 1):
            pending.append(pool.submit(_chunk_cases, *task))
        yield result


def _collect(cases: Iterable[Case], into: list[Case]) -> Iterator[Case]:
    """Pass ``cases`` through, keeping each in ``into``."""
    for case in cases:
        into.append(case)
        yield case


def _copies(name: str, count: int, set_seed: int, size: int, real_cases: list[Case]) -> Iterator[Case]:
    """The collapsed (copies of a few prototypes) and memorised (copies of the real cases) sets."""
    rng = np.random.default_rng(set_seed)
    if name == "collapsed":
        prototypes = phantom.make_cases(PROTOTYPES, set_seed, size, "prototype")
        return (_near_copy(prototypes[i % PROTOTYPES], f"{name}_{i:04d}", rng, max_shift=1) for i in range(count))
    if name == "memorized":
        return (_near_copy(real_cases[i % len(real_cases)], f"{name}_{i:04d}", rng, max_shift=0) for i in range(count))
    raise ValueError(f"build_demo: unknown demo set {name!r}")


def _near_copy(case: Case, case_id: str, rng: np.random.Generator, max_shift: int) -> Case:
    """``case`` moved by at most ``max_shift`` pixels with a little independent noise (sigma 8,
    a quarter of the acquisition noise): a copy no metric should mistake for a new case."""
    shift = tuple(int(s) for s in rng.integers(-max_shift, max_shift + 1, size=2))
    images = np.roll(case.images, shift, axis=(1, 2)).astype(np.float32)
    images += np.float32(8.0) * rng.standard_normal(images.shape, dtype=np.float32)
    masks = np.roll(case.masks, shift, axis=(1, 2)) if case.masks is not None else None
    return Case(case_id=case_id, images=phantom.to_uint16(images), masks=masks, source="phantom",
                meta={"copy_of": case.case_id})


def _holds_cases(path: Path, count: int) -> bool:
    """Whether ``path`` is a readable zip with ``count`` members (a cheap completeness check)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return len(zf.namelist()) == count
    except (OSError, zipfile.BadZipFile):
        return False


def _read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _write_manifest(path: Path, manifest: dict) -> None:
    atomic_write_text(path, json.dumps(manifest, indent=2, sort_keys=True))


def write_case_picture(case: Case, path: str | Path, *, scale: int = 1, caption: str = "") -> Path:
    """Save a PNG of one case: the three sequences side by side under their names, and below
    them the same images with the lesion mask outlined. Each sequence is windowed from 0 to its
    99.5th percentile, as a viewer would. This is how ``assets/phantom_case.png`` is made:
    ``write_case_picture(phantom.make_case(seed, 256), "assets/phantom_case.png")``."""
    from PIL import Image, ImageDraw, ImageFont  # only this picture needs Pillow

    h, w = case.shape
    tiles = []
    for k in range(3):
        image = case.images[k].astype(np.float32)
        grey = np.clip(image / max(float(np.percentile(image, 99.5)), 1.0), 0, 1) * 255
        rgb = np.repeat(grey.astype(np.uint8)[:, :, None], 3, axis=2)
        outlined = rgb.copy()
        if case.masks is not None:
            mask = case.masks[k] > 0
            edge = mask & ~ndimage.binary_erosion(mask)
            outlined[edge] = (255, 210, 0)
        tiles.append((rgb, outlined))
    top = np.concatenate([t[0] for t in tiles], axis=1)
    bottom = np.concatenate([t[1] for t in tiles], axis=1)
    try:
        font = ImageFont.load_default(size=14 * scale)
    except TypeError:  # Pillow < 10.1 has one fixed-size default font
        font = ImageFont.load_default()
    bar = 24 * scale
    grid = Image.fromarray(np.concatenate([top, bottom], axis=0)).resize((3 * w * scale, 2 * h * scale), Image.LANCZOS)
    canvas = Image.new("RGB", (grid.width, grid.height + 2 * bar + (bar if caption else 0)), (0, 0, 0))
    canvas.paste(grid.crop((0, 0, grid.width, h * scale)), (0, bar))
    canvas.paste(grid.crop((0, h * scale, grid.width, 2 * h * scale)), (0, 2 * bar + h * scale))
    draw = ImageDraw.Draw(canvas)
    for k, sequence in enumerate(SEQUENCES):
        draw.text((k * w * scale + 6 * scale, 4 * scale), SEQUENCE_LABELS[sequence], fill=(235, 235, 235), font=font)
        draw.text((k * w * scale + 6 * scale, bar + h * scale + 4 * scale),
                  f"{SEQUENCE_LABELS[sequence]} + lesion mask", fill=(255, 210, 0), font=font)
    if caption:
        draw.text((6 * scale, canvas.height - bar + 4 * scale), caption, fill=(170, 170, 170), font=font)
    path = Path(path)
    canvas.save(path, optimize=True)
    return path
