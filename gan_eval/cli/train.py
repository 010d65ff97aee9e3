"""``python -m gan_eval train --real PATH --out RUN_DIR [options]``: train the baseline GAN.

``--resume`` continues RUN_DIR from its last checkpoint with its saved settings (only
``--steps`` and ``--device`` may change). Exit codes: 0 finished or stopped on request,
1 training failed (the error is also in RUN_DIR/status.json), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..gan.config import TrainConfig

# Options that map one-to-one onto TrainConfig fields (type, help); all default to None = "not given".
SETTINGS = {
    "steps": (int, "training steps"),
    "resolution": (int, "image size: 64, 128, or 256 with CUDA"),
    "batch_size": (int, "images per step"),
    "seed": (int, "seed of initialisation, batches, latents and augmentations"),
    "lr_g": (float, "generator learning rate"),
    "lr_d": (float, "discriminator learning rate"),
    "width": (int, "network channels at 64x64 (compute grows with its square)"),
    "r1_gamma": (float, "R1 penalty weight (0: spectral norm only)"),
    "mode_seeking": (float, "weight of the mode-seeking term against collapse (0: off)"),
    "lesion_std": (float, "scale of the discriminator's lesion-spread statistic against lesion collapse (0: off)"),
    "sample_every": (int, "steps between sample grids"),
    "checkpoint_every": (int, "steps between checkpoints"),
    "log_every": (int, "steps between log lines"),
    "metrics_every": (int, "steps between live metrics: EMA generator cases scored against the real set (0: off)"),
    "metrics_samples": (int, "cases scored at each live-metric evaluation"),
    "backbone": (str, "embedding of the live metrics"),
    "backbone_weights": (str, "that backbone's weights file (default: its own)"),
    "cache_dir": (str, "embedding cache with the real set's features (default $GAN_EVAL_CACHE or ~/.cache/gan_eval)"),
    "device": (str, "auto, cpu, cuda or cuda:N"),
}
RESUMABLE = {"steps", "device"}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train the baseline GAN on a real set (a run folder)")
    p.add_argument("--real", type=Path, help="real cases: any archive or folder that validate accepts")
    p.add_argument("--out", type=Path, required=True, metavar="RUN_DIR", help="the run folder")
    p.add_argument("--config", type=Path,
                   help="a JSON file of TrainConfig settings, e.g. another run's config.json (options override it)")
    p.add_argument("--resume", action="store_true", help="continue RUN_DIR from its last checkpoint")
    p.add_argument("--no-augment", action="store_true", help="train without DiffAugment")
    defaults = TrainConfig()
    for name, (kind, text) in SETTINGS.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                       help=f"{text} (default {getattr(defaults, name)})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    given = {name: getattr(args, name) for name in SETTINGS if getattr(args, name) is not None}
    try:
        if args.resume:
            extra = sorted(set(given) - RESUMABLE) + (["real"] if args.real else []) + (
                ["config"] if args.config else []) + (["no_augment"] if args.no_augment else [])
            if extra:
                raise ValueError(f"--resume takes the settings from {args.out / 'config.json'}; "
                                 f"only --steps and --device may change, got {extra}")
            config = None
        else:
            settings = json.loads(args.config.read_text()) if args.config else {}
            settings.pop("run", None)  # what a trainer derived, in a run's own config.json
            settings.update(given)
            if args.no_augment:
                settings["augment"] = False
            if args.real is not None:
                settings["real_path"] = str(args.real.resolve())
            if not settings.get("real_path"):
                raise ValueError("--real PATH is required to start a run")
            config = TrainConfig.from_dict(settings)
    except (ValueError, OSError) as error:
        print(f"train: {error}", file=sys.stderr)
        return 2

    from ..gan.train import train  # torch is imported only when training

    try:
        status = train(args.out, config, resume=args.resume, steps=given.get("steps"), device=given.get("device"))
    except Exception as error:
        print(f"train: failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(f"{status['state']} at step {status['step']}/{status['total']}: {args.out}")
    return 0
