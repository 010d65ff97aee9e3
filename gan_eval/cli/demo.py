"""``python -m gan_eval demo --out DIR [--seed S] [--size N] [--workers W]``: write the demo data sets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..demo import DEFAULT_SIZE, DEMO_SUBMISSIONS, MAX_WORKERS, REAL_NAME, build_demo, default_workers


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo", help="write the demo real set and submissions (synthetic MTM-HCC cases)",
        description="Write real.zip (91 phantom cases) and one archive per demo submission: "
                    + "; ".join(f"{name}.zip" for name in DEMO_SUBMISSIONS)
                    + ". Archives already built with the same parameters are kept.")
    p.add_argument("--out", required=True, type=Path, help="folder to write the archives into")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--size", type=int, default=DEFAULT_SIZE,
                   help=f"image size in pixels (default {DEFAULT_SIZE}, keeping the demo near 0.5 GB)")
    p.add_argument("--workers", type=int, default=default_workers(),
                   help=f"rendering processes (default: the CPU count, at most {MAX_WORKERS}; 1: no extra process)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    shown = [-1]  # the last tenth of the build reported

    def progress(message: str, fraction: float) -> None:
        if message.startswith("kept") or int(fraction * 10) > shown[0]:
            shown[0] = int(fraction * 10)
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    paths = build_demo(args.out, seed=args.seed, size=args.size, progress=progress, workers=args.workers)
    for name, path in paths.items():
        what = "real set" if name == REAL_NAME else DEMO_SUBMISSIONS[name]
        print(f"{path}  {path.stat().st_size / 1e6:6.1f} MB  {what}")
    return 0
