"""``python -m gan_eval select PATH [--k 10] [--seed S] [--backbone ID] [--json OUT]``.

The cases the readers will see: K-means on the set's embeddings and the case nearest each centre
(gan_eval.selection), printed in cluster order and written as JSON. PATH is as for ``score``.
Exit codes: 0 done, 2 bad input (message, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from .embed import INPUT_HELP, Source
from .score import EXIT_BAD_INPUT, EXIT_OK, BadInput, add_embedding_arguments, embed_input, write_json


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("select", help="pick the K cases nearest the K-means centres (for the reader study)")
    p.add_argument("path", type=Source.parse, metavar="PATH", help=INPUT_HELP)
    p.add_argument("--k", type=int, default=10, help="number of clusters and of cases selected (default 10)")
    add_embedding_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..selection import select_cases

    path = args.path.path
    try:
        emb = embed_input(args.path, path.name, args)
        try:
            chosen = select_cases(emb.features, k=args.k, seed=args.seed)
        except ValueError as exc:
            raise BadInput(f"{path}: {exc}") from exc
        ids = [emb.case_ids[i] for i in chosen]
        print(f"{len(ids)} cases nearest the K-means centres of {path.name} ({len(emb)} cases; "
              f"backbone {emb.backbone}, seed {args.seed}):")
        for cluster, case_id in enumerate(ids):
            print(f"  cluster {cluster}: {case_id}")
        write_json({"backbone": emb.backbone, "backbone_fingerprint": emb.fingerprint, "seed": args.seed,
                    "k": args.k, "n": len(emb), "selected_cases": ids, "selected_indices": chosen}, args.json)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK
