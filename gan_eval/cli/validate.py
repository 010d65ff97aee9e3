"""``python -m gan_eval validate PATH [--json OUT]``: check a case archive without keeping it.

Exit codes: 0 every case accepted, 1 some cases rejected, 2 the input itself refused
(unreadable, unsafe, or no cases found in it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..archives import ValidationReport, validate

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_REFUSED = 2


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("validate", help="check a case archive and list every rejected case and why")
    p.add_argument("path", type=Path, help="a .zip, .tar, .tar.gz, a folder, or an (N, 3, H, W) .npy/.npz")
    p.add_argument("--json", type=Path, metavar="OUT",
                   help='also write {"accepted": n, "rejected": [{"case", "file", "reason"}], "errors": [...]}, '
                        'plus "notes": [{"case", "file", "note"}] when any accepted case has one')
    p.set_defaults(run=run)


def exit_code(report: ValidationReport) -> int:
    if report.errors:
        return EXIT_REFUSED
    return EXIT_REJECTED if report.rejected else EXIT_OK


def run(args: argparse.Namespace) -> int:
    report = validate(args.path)
    print(report.summary())
    if args.json is not None:
        args.json.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return exit_code(report)
