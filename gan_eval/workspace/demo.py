"""The built-in demo workspace: a phantom real set and the demo submissions, built on first use.

Several sessions (or processes) may open the demo at once on a first launch: the build runs under
an exclusive lock on ``<root>/.demo-build.lock``, in a staging folder of its own, and whoever gets
the lock next finds the sets registered and builds nothing.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
from pathlib import Path

from ..progress import Progress
from .folder import REAL, Workspace, default_home


def demo_root() -> Path:
    return default_home() / "demo"


def open_demo_workspace(root: str | Path | None = None, seed: int = 0,
                        progress: Progress | None = None,
                        **demo_options) -> Workspace:
    """The built-in demo workspace: phantom real set and the demo submissions, built on first use.

    ``demo_options`` go to ``gan_eval.demo.build_demo`` (size, n_real, n_cases, n_small, workers;
    by default all cores render).
    """
    from ..demo import DEMO_SUBMISSIONS, REAL_CASES, SMALL_CASES, SUBMISSION_CASES, build_demo, default_workers

    demo_options.setdefault("workers", default_workers())
    n_sets = len(DEMO_SUBMISSIONS) - 1  # the 1000-case ones; "small" is counted on its own
    total = (demo_options.get("n_real", REAL_CASES) + n_sets * demo_options.get("n_cases", SUBMISSION_CASES)
             + demo_options.get("n_small", SMALL_CASES))

    ws = Workspace(root or demo_root())
    if not _missing(ws, DEMO_SUBMISSIONS):
        return ws
    with open(ws.root / ".demo-build.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        missing = _missing(ws, DEMO_SUBMISSIONS)
        if not missing:
            return ws  # another session or process built it while this one waited
        staging = Path(tempfile.mkdtemp(prefix="demo_staging-", dir=ws.root))
        try:
            # One stage name for the whole build, so the job's rate and time left span all of it.
            report = (lambda message, fraction: progress(round(fraction * total), total, "building the demo cases")) \
                if progress else None
            paths = build_demo(staging, seed=seed, progress=report, **demo_options)
            for name in missing:
                ws.add_archive(name, paths[name], filename=paths[name].name, move=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return ws


def _missing(ws: Workspace, submissions) -> list[str]:
    return [name for name in [REAL, *submissions] if name not in ws.set_names()]
