"""``python -m gan_eval embed PATH --out FILE.npz [--backbone ID] [--weights FILE] [--device D]``.

Embeds an archive or folder of cases (or loads a ``.npy`` (n, d) matrix / an embedding ``.npz``)
and writes the EmbeddingSet, which names its backbone and weights fingerprint. Exit codes:
0 written, 2 the input is unreadable or unusable, or the backbone's weights are missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from ..archives import ArchiveError
from ..cache import EmbeddingCache
from ..features.batching import EmbedInputError
from ..features.embed import embed_path
from ..features.registry import BACKBONES, DEFAULT_BACKBONE, describe_backbone
from ..features.weights import WeightsNotFoundError

EXIT_OK = 0
EXIT_BAD_INPUT = 2


class TextProgress:
    """A one-line progress bar on a terminal stream: ``label  123/1000  45.6 cases/s  ETA 19 s``.

    Use as the ``progress(done, total, stage)`` callback of gan_eval.features.embed; redraws at
    most 10 times a second, and ``close()`` ends the line.
    """

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30):
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.started = time.monotonic()
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
        rate = done / max(time.monotonic() - self.started, 1e-9)
        if total:
            filled = int(self.width * min(done / total, 1.0))
            eta = f"  ETA {(total - done) / rate:.0f} s" if rate > 0 and done < total else ""
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
    p.add_argument("path", type=Path,
                   help="an archive/folder of cases, a .npy (n, d) embedding matrix, or an embedding .npz")
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
    bar = TextProgress(f"embedding {args.path.name}")
    try:
        emb = embed_path(args.path, backbone=args.backbone, weights=args.weights, device=args.device,
                         progress=bar, cache=EmbeddingCache(args.cache) if args.cache else None)
    except (FileNotFoundError, ArchiveError, EmbedInputError, ValueError) as exc:
        # FileNotFoundError covers WeightsNotFoundError; ValueError unreadable weights or devices.
        bar.close()
        kind = "missing weights" if isinstance(exc, WeightsNotFoundError) else "error"
        print(f"{kind}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    bar.close()
    rejected = emb.meta.get("rejected", [])
    if rejected:
        print(f"{len(rejected)} case(s) rejected; first: {rejected[0]['case']}: {rejected[0]['reason']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    emb.save(args.out)
    print(f"wrote {len(emb)} x {emb.dim} embeddings ({emb.backbone}, weights {emb.fingerprint}) to {args.out}")
    return EXIT_OK
