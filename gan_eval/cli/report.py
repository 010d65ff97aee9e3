"""``gan-eval report WORKSPACE --out report.html [--draft]``.

The jury's report of a workspace as one self-contained HTML file (gan_eval.report): the latest
published snapshot, or, when nothing is published (or with ``--draft``), the current state marked
DRAFT (scored first if needed, through the cache). Exit codes: 0 written, 2 bad input (not a
workspace, nothing to score, a published snapshot that fails its digest, the file cannot be
written), with a message and no traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("report", help="the jury's report of a workspace as one self-contained HTML file")
    p.add_argument("workspace", type=Path, metavar="WORKSPACE", help="a workspace folder (holding workspace.json)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="where to write the HTML report")
    p.add_argument("--draft", action="store_true",
                   help="report the current state (marked DRAFT) even when results were published")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..publish import PublishError, SnapshotError
    from ..archives import ArchiveError
    from ..report import render, workspace_snapshot
    from ..store import atomic_write_bytes
    from ..workspace import Workspace
    from .embed import TextProgress

    root: Path = args.workspace
    if not (root / "workspace.json").is_file():
        # Checked before opening: Workspace(root) would make any folder a new, empty workspace.
        print(f"error: {root} is not a gan_eval workspace (no workspace.json in it)", file=sys.stderr)
        return EXIT_BAD_INPUT
    bar = TextProgress("evaluating")
    try:
        snapshot = workspace_snapshot(Workspace(root), draft=args.draft, progress=bar)
        html = render(snapshot)
        atomic_write_bytes(args.out, html)
    except (PublishError, SnapshotError, ArchiveError, ValueError, KeyError, OSError) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) and exc.args else exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        bar.close()
    if snapshot.is_draft:
        print(f"wrote {args.out}: DRAFT of the current state, not published results (snapshot {snapshot.digest[:12]})")
    else:
        print(f"wrote {args.out}: results published {snapshot.published_at}, snapshot {snapshot.digest}")
    return EXIT_OK
