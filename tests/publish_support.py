"""Helpers shared by tests/test_publish.py and tests/test_report.py: a private copy of the small
scored workspace, rated by two readers and closed, ready to publish."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from gan_eval.reader_scores import CRITERION_KEYS

READERS = ("Dr Ada", "Dr Bo")


def copy_workspace(source, dest: Path):
    """A copy of ``source`` (the session's small workspace) that a test may change freely."""
    from gan_eval.workspace import Workspace

    # A fresh reading: other tests rate cases of the shared session workspace.
    shutil.copytree(source.root, dest, ignore=shutil.ignore_patterns(".lock", "published", "reader_study.sqlite*",
                                                                     "access.sqlite*", "audit.jsonl"))
    return Workspace(dest)


def rate(ws, result, readers=READERS, seed: int = 0) -> None:
    """Every reader rates every pooled case (seeded, so the same ratings every run)."""
    from gan_eval.workspace import service

    service.sync_reading_pool(ws, result)
    study = service.reader_study(ws)
    rng = random.Random(seed)
    for reader in readers:
        for item in study.reader_order(reader):
            study.save_ratings(reader, item, {k: rng.randint(0, 4) for k in CRITERION_KEYS})


def rated_and_closed(source, dest: Path):
    """(workspace, evaluation) with the reading done and closed."""
    from gan_eval.workspace import service

    ws = copy_workspace(source, dest)
    result = service.evaluate(ws)
    rate(ws, result)
    service.reader_study(ws).close_reading()
    return ws, result
