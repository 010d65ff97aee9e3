"""``python -m gan_eval generate RUN_DIR --n 1000 --out FILE.zip [--seed S]``: export cases from
a run's EMA generator as a standard archive (validate it, embed it and score it like a team's)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("generate", help="write cases from a trained GAN run to a .zip archive")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("--n", type=int, default=1000, help="number of cases (default 1000)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.zip")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent vectors (default 0)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="auto")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..gan.export import generate  # torch is imported only when generating

    try:
        path = generate(args.run_dir, args.n, args.out, seed=args.seed, batch_size=args.batch_size, device=args.device)
    except (ValueError, OSError) as error:
        print(f"generate: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.n} cases to {path}")
    return 0
