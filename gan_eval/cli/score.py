"""``python -m gan_eval score --real PATH --submission NAME=PATH [...] [--backbone ID] [--weights FILE]
[--seed S] [--json OUT]``.

Embeds (through the cache) or loads every set, scores each submission against the real set
(gan_eval.scoring.evaluate), prints the leaderboard with its backbone and seed, and writes the JSON.
A PATH is an archive or folder of cases, embedded from its images, or ``emb:FILE``: a ``.npy``
``(n, d)`` embedding matrix or an embedding ``.npz``, loaded as is (see gan_eval.cli.embed).
``--qualitative FILE`` folds in the reader study's 0-20 scores (a JSON object ``{NAME: score}``)
for final scores and ranks. Archives are also embedded in the other feature spaces of
``evaluation.comparison_spaces`` (radiomics, and the default backbone and Inception v3 where their
weights are found), or those of ``--compare-in``, for FRD and the rank agreement; ``--no-compare``
or any ``emb:`` input (no images) skips them. Exit codes: 0 done, 1 some submissions could not be scored (named on
stderr and under ``failed`` in the JSON; the others are scored and ranked), 2 bad input (message,
no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .embed import INPUT_HELP, Source, add_backbone_arguments

EXIT_OK = 0
EXIT_SOME_FAILED = 1  # the others were scored; the failed ones are named on stderr and in the JSON
EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """An input the command refuses; its message is printed as is."""


def _name_path(text: str) -> tuple[str, Source]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, Source.parse(path)


def add_embedding_arguments(p: argparse.ArgumentParser) -> None:
    """The options that say how a PATH becomes embeddings, plus seed and JSON (shared with ``select``)."""
    add_backbone_arguments(p)
    p.add_argument("--seed", type=int, default=0,
                   help="seed of every random choice (default 0): same seed, same numbers")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the result as JSON to this file")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("score", help="score submissions against the real set: leaderboard and JSON")
    p.add_argument("--real", type=Source.parse, required=True, metavar="PATH", help=f"the real cases: {INPUT_HELP}")
    p.add_argument("--submission", type=_name_path, action="append", required=True, metavar="NAME=PATH",
                   help="a submission and its cases (PATH as for --real); repeat for each submission")
    add_embedding_arguments(p)
    p.add_argument("--fid-max", type=float, metavar="F",
                   help="FID_max of FID_score = 1 - FID/FID_max (default: the largest FID among the submissions)")
    p.add_argument("--qualitative", type=Path, metavar="FILE",
                   help='JSON {"NAME": 0-20 reader score}: adds qualitative, final score and rank')
    p.add_argument("--compare-in", action="append", metavar="ID",
                   help="also embed every archive in this feature space, for FRD and the rank agreement "
                        "(repeatable; default: radiomics, and the default backbone and inception-v3 where their "
                        "weights are found)")
    p.add_argument("--no-compare", action="store_true", help="compare in no other feature space")
    p.set_defaults(run=run)


def embed_input(source: Source, name: str, args: argparse.Namespace):
    """The EmbeddingSet of ``source`` named ``name``; BadInput for anything unusable."""
    from ..archives import ArchiveError
    from ..features.batching import EmbedInputError
    from ..features.weights import WeightsNotFoundError
    from ..store import DiskFullError
    from .embed import TextProgress, embeddings_of, explain

    bar = TextProgress(f"embedding {name}")
    try:
        emb = embeddings_of(source, args, name, bar)
    except (FileNotFoundError, ArchiveError, EmbedInputError, ValueError, DiskFullError) as exc:
        raise BadInput(f"{'missing weights' if isinstance(exc, WeightsNotFoundError) else name}: "
                       f"{explain(exc, source)}") from exc
    finally:
        bar.close()
    emb.name = name  # an embedding .npz would otherwise keep the name stored in it
    return emb


def write_json(result: dict, path: Path | None) -> None:
    if path is None:
        return
    from ..store import atomic_write_text

    try:
        atomic_write_text(path, json.dumps(result, indent=2, allow_nan=False) + "\n")
    except OSError as exc:  # DiskFullError included: then nothing was written
        raise BadInput(f"cannot write {path}: {exc}") from exc
    print(f"wrote {path}")


def _read_qualitative(path: Path) -> dict:
    try:
        scores = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: cannot read the qualitative scores ({exc})") from exc
    if not isinstance(scores, dict):
        raise BadInput(f'{path}: expected a JSON object {{"NAME": score}}, got {type(scores).__name__}')
    return scores


def format_leaderboard(result: dict) -> str:
    """The leaderboard as a text table, headed by the backbone and seed that produced it: one
    column per table output of the metric registry that some submission has a value for, in the
    registry's order and with its decimals; an interval is one ``low–high`` column."""
    from ..metrics import registry
    from ..scoring import leaderboard_rows

    rows = leaderboard_rows(result)
    records = [result["submissions"][r["submission"]] for r in rows]
    # As the app's tables: a column once some submission has a value in it (the reader study's
    # once it is folded in); the number of cases is the registry's "n" column.
    columns = [o for o in registry.outputs() if o.table and any(rec.get(o.key) is not None for rec in records)]
    header = ["submission"] + [o.heading for o in columns]
    body = [[r["submission"]] + [o.format(rec.get(o.key)) for o in columns] for r, rec in zip(rows, records)]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    lines = [
        f"Leaderboard - backbone {result['backbone']} (weights {result['backbone_fingerprint'][:12]}), "
        f"seed {result['seed']}, {result['real']['n']} real cases, FID_max {result['fid_max']:.2f}",
        "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))),
    ]
    for line in body:
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(line, widths))))
    for name, reason in result.get("failed", {}).items():
        lines.append(f"{name}: not scored ({reason})")
    return "\n".join(lines)


def _other_spaces(args: argparse.Namespace) -> list[str]:
    """The feature spaces to compare in (module docstring); BadInput for an unknown one."""
    from ..evaluation import comparison_spaces
    from ..features.registry import BACKBONES

    if args.no_compare or args.real.embeddings or any(source.embeddings for _, source in args.submission):
        return []
    unknown = sorted(set(args.compare_in or ()) - set(BACKBONES))
    if unknown:
        raise BadInput(f"--compare-in: unknown feature space(s) {', '.join(unknown)}; choose from {', '.join(BACKBONES)}")
    return [s for s in args.compare_in if s != args.backbone] if args.compare_in else comparison_spaces(args.backbone)


def run(args: argparse.Namespace) -> int:
    from ..cache import open_cache
    from ..evaluation import evaluate_cached
    from ..scoring import add_qualitative
    from ..store import DiskFullError

    try:
        names = [name for name, _ in args.submission]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise BadInput(f"submission name(s) given more than once: {', '.join(duplicates)}")
        qualitative = _read_qualitative(args.qualitative) if args.qualitative else None
        real = embed_input(args.real, "real", args)
        submissions = {name: embed_input(path, name, args) for name, path in args.submission}
        others = {}
        for space in _other_spaces(args):
            in_space = argparse.Namespace(**{**vars(args), "backbone": space, "weights": None})
            others[space] = (embed_input(args.real, "real", in_space),
                             {name: embed_input(path, name, in_space) for name, path in args.submission})
        try:
            result = evaluate_cached(real, submissions, open_cache(args.cache).results_dir, seed=args.seed,
                                     fid_max=args.fid_max, other_spaces=others)
            if qualitative is not None:
                result = add_qualitative(result, qualitative)
        except ValueError as exc:
            raise BadInput(str(exc)) from exc
        except DiskFullError as exc:  # storing the result
            raise BadInput(exc.strerror) from exc
        print(format_leaderboard(result))
        write_json(result, args.json)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for name, reason in result.get("failed", {}).items():
        print(f"error: submission {name!r} was not scored: {reason}", file=sys.stderr)
    return EXIT_SOME_FAILED if result.get("failed") else EXIT_OK
