"""``python -m gan_eval embed PATH --out FILE.npz [--backbone ID] [--weights FILE] [--device D]``.

Embeds an archive or folder of cases from its images and writes the EmbeddingSet, which names
its backbone and weights fingerprint. Features computed elsewhere are taken only when asked for
by name: ``emb:FILE`` is an embedding file (a ``.npy`` (n, d) matrix or a ``.npz`` written by
``embed``), loaded as is; a PATH without ``emb:`` is always embedded from its images, even a
``.npz`` that also holds features (``score`` and ``select`` read their PATHs the same way).
Exit codes: 0 written, 2 the input is unreadable or unusable, the backbone's weights are
missing, or the disk is full (then nothing is left half-written).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..archives import ArchiveError
from ..cache import EmbeddingCache
from ..embedding_set import EmbeddingSet
from ..features.batching import EmbedInputError
from ..features.embed import embed_archive
from ..features.loaders import load_embedding_file
from ..features.registry import BACKBONES, DEFAULT_BACKBONE, describe_backbone
from ..features.weights import WeightsNotFoundError
from ..progress import Rate, format_duration
from ..store import DiskFullError

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EMBEDDINGS_PREFIX = "emb:"
INPUT_HELP = ("a case archive or folder (embedded from its images), or emb:FILE for an embedding file "
              "(a .npy (n, d) matrix or a .npz written by embed, loaded as is)")


@dataclass(frozen=True)
class Source:
    """A PATH argument: a case archive or folder, or (written ``emb:FILE``) an embedding file."""

    path: Path
    embeddings: bool

    @classmethod
    def parse(cls, text: str) -> "Source":
        if text.startswith(EMBEDDINGS_PREFIX):
            return cls(Path(text[len(EMBEDDINGS_PREFIX):]), True)
        return cls(Path(text), False)


def embeddings_of(source: Source, args: argparse.Namespace, name: str | None, progress) -> EmbeddingSet:
    """The EmbeddingSet of ``source``: an embedding file loaded as is, or the archive embedded
    from its images (raises what load_embedding_file and embed_archive raise)."""
    if source.embeddings:
        return load_embedding_file(source.path, name)
    return embed_archive(source.path, backbone=args.backbone, weights=args.weights, device=args.device,
                         progress=progress, cache=EmbeddingCache(args.cache) if args.cache else None, name=name)


def explain(exc: Exception, source: Source) -> str:
    """``exc``'s message; for a .npy/.npz refused as an archive, a hint that it may be an embedding file."""
    if isinstance(exc, DiskFullError):
        return exc.strerror  # "disk full while writing ...", without OSError's "[Errno 28]"
    text = str(exc)
    if (isinstance(exc, (ArchiveError, EmbedInputError)) and not source.embeddings
            and source.path.suffix.lower() in (".npy", ".npz")):
        text += f" (if it is an embedding file, pass it as {EMBEDDINGS_PREFIX}{source.path})"
    return text


class TextProgress:
    """A one-line progress bar on a terminal stream: ``label  123/1000  45.6 cases/s  ETA 19 s``.

    Use as the ``progress(done, total, stage)`` callback of gan_eval.features.embed; redraws at
    most 10 times a second, and ``close()`` ends the line.
    """

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30):
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.rate = Rate()
        self.last_draw = 0.0
        self.state: tuple[int, int | None] | None = None
        self.drawn: tuple[int, int | None] | None = None

    def __call__(self, done: int, total: int | None, stage: str = "") -> None:
        """The progress protocol's callback; ``stage`` is not shown (the label names the work)."""
        self.state = (done, total)
        now = time.monotonic()
        if now - self.last_draw >= 0.1 or done == total:
            self.last_draw = now
            self._draw()

    def _draw(self) -> None:
        done, total = self.state
        rate = self.rate.per_second(done) or 0.0
        if total:
            filled = int(self.width * min(done / total, 1.0))
            left = self.rate.seconds_left(done, total)
            eta = f"  ETA {format_duration(left)}" if left is not None and done < total else ""
            text = f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}  {rate:.1f} cases/s{eta}"
        else:
            text = f"{self.label} {done} cases  {rate:.1f} cases/s"
        self.stream.write("\r" + text)
        self.stream.flush()
        self.drawn = self.state

    def close(self) -> None:
        """Draw the last state if it was skipped, and end the line."""
        if self.state is None:
            return
        if self.drawn != self.state:
            self._draw()
        self.stream.write("\n")
        self.stream.flush()


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("embed", help="compute (or load) the embeddings of a case archive and save them")
    p.add_argument("path", type=Source.parse, metavar="PATH", help=INPUT_HELP)
    p.add_argument("--out", type=Path, required=True, metavar="FILE.npz", help="where to write the embeddings")
    add_backbone_arguments(p)
    p.set_defaults(run=run)


def add_backbone_arguments(p: argparse.ArgumentParser) -> None:
    """--backbone, --weights, --device, --cache: how a PATH becomes embeddings (embed, score, select)."""
    p.add_argument("--backbone", default=DEFAULT_BACKBONE, choices=sorted(BACKBONES),
                   help=f"feature extractor for archives/folders (default {DEFAULT_BACKBONE}, works offline)")
    p.add_argument("--weights", type=Path, metavar="FILE", help="the backbone's weights file (overrides the default)")
    p.add_argument("--device", default="auto", help="auto (default), cpu (ONNX Runtime), cpu-torch, cuda, cuda:N")
    p.add_argument("--cache", type=Path, metavar="DIR",
                   help="embedding cache folder (default $GAN_EVAL_CACHE or ~/.cache/gan_eval)")


def run(args: argparse.Namespace) -> int:
    print(f"backbone: {args.backbone} - {describe_backbone(args.backbone)}")
    print(f"input: challenge preprocessing (per-image min-max, nearest resize to 299, 3 sequences as channels), "
          f"then {BACKBONES[args.backbone].normalisation}")
    bar = TextProgress(f"embedding {args.path.path.name}")
    try:
        try:
            emb = embeddings_of(args.path, args, None, bar)
        finally:
            bar.close()
        rejected = emb.meta.get("rejected", [])
        if rejected:
            print(f"{len(rejected)} case(s) rejected; first: {rejected[0]['case']}: {rejected[0]['reason']}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        emb.save(args.out)
    except (FileNotFoundError, ArchiveError, EmbedInputError, ValueError, DiskFullError) as exc:
        # FileNotFoundError covers WeightsNotFoundError; ValueError unreadable weights or devices;
        # DiskFullError a cache entry or the output (the store leaves no half-written file).
        kind = "missing weights" if isinstance(exc, WeightsNotFoundError) else "error"
        print(f"{kind}: {explain(exc, args.path)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {len(emb)} x {emb.dim} embeddings ({emb.backbone}, weights {emb.fingerprint}) to {args.out}")
    return EXIT_OK
