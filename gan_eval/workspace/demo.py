"""The built-in demo workspace: a phantom real set and the demo submissions, built on first use.

Several sessions (or processes) may open the demo at once on a first launch: the build runs under
an exclusive lock on ``<root>/.demo-build.lock``, in a staging folder of its own, and whoever gets
the lock next finds the sets registered and builds nothing.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..progress import Progress
from .folder import REAL, Workspace, default_home


DEMO_BUILD_STAGE = "building the demo cases"  # the progress stage of the whole build


def demo_root() -> Path:
    return default_home() / "demo"


def open_demo_workspace(root: str | Path | None = None, seed: int = 0,
                        progress: Progress | None = None,
                        **demo_options) -> Workspace:
    """The built-in demo workspace: phantom real set and the demo submissions, built on first use.

    ``demo_options`` go to ``gan_eval.demo.build_demo`` (size, n_real, n_cases, n_small, workers;
    by default all cores render).
    """
    from ..demo import build_demo, default_workers

    demo_options.setdefault("workers", default_workers())
    total = sum(demo_counts(demo_options).values())

    ws = Workspace(root or demo_root())
    if not missing_sets(ws):
        return ws
    with demo_lock(ws):
        missing = missing_sets(ws)
        if not missing:
            return ws  # another session or process built it while this one waited
        staging = Path(tempfile.mkdtemp(prefix="demo_staging-", dir=ws.root))
        try:
            # One stage name for the whole build, so the job's rate and time left span all of it.
            report = (lambda message, fraction: progress(round(fraction * total), total, DEMO_BUILD_STAGE)) \
                if progress else None
            paths = build_demo(staging, seed=seed, progress=report, **demo_options)
            for name in missing:
                ws.add_archive(name, paths[name], filename=paths[name].name, move=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return ws


def demo_counts(options: dict) -> dict[str, int]:
    """Cases per demo set (the real set first) for ``build_demo`` options ``options``."""
    from ..demo import DEMO_SUBMISSIONS, REAL_CASES, SMALL_CASES, SUBMISSION_CASES

    return {REAL: options.get("n_real", REAL_CASES)} | {
        name: options.get("n_small", SMALL_CASES) if name == "small" else options.get("n_cases", SUBMISSION_CASES)
        for name in DEMO_SUBMISSIONS}


def missing_sets(ws: Workspace) -> list[str]:
    """The demo sets not registered in ``ws`` yet, the real set first."""
    return [name for name in demo_counts({}) if name not in ws.set_names()]


@contextmanager
def demo_lock(ws: Workspace) -> Iterator[None]:
    """Hold the demo's build lock (released when the file closes, also if this process dies)."""
    with open(ws.root / ".demo-build.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
