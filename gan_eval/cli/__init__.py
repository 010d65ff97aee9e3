"""Command-line front: ``python -m gan_eval COMMAND ...``. Each command lives in its own module
exposing ``add_parser(subparsers)`` and ``run(args) -> int`` (the exit code)."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ("validate", "demo", "embed", "score", "select", "train", "generate", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gan-eval", description="Evaluate GAN-generated liver MRI cases.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"gan_eval.cli.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


def main_exit() -> None:
    """The ``gan-eval`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
