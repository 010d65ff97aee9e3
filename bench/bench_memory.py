"""Peak memory of every path a large submission takes: validate, embed, score, the upload path
(``service.add_upload``) and the app's two jobs on it (scoring, then maps), for 3000 and 10,000
cases of 256x256 uint16 (12-bit noise, the worst case for compression; masks with ``--masks``).

Each step runs in a fresh interpreter and reports its peak resident memory (``ru_maxrss``); the
reference is the same interpreter importing the same modules and doing nothing, so the table
shows what the data costs. Goal: under 1 GB for 10,000 cases in every step (memory flat in the
number of cases).

    python bench/bench_memory.py [--cases 3000 10000] [--side 256] [--steps embed score]

``--steps`` runs some steps only (by their first word); score reads the embeddings that the embed
step cached, so it needs embed before it, and app-maps needs app-scoring before it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_archives import synthetic_cases  # noqa: E402

from gan_eval.archives import write_archive  # noqa: E402

_PEAK = "import resource; print('PEAK_MB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"
STEPS = {
    "baseline (imports only)": "import gan_eval.cli, gan_eval.workspace.service, gan_eval.features.embed",
    "validate": "from gan_eval.cli import main; main(['validate', '{team}'])",
    "embed": "from gan_eval.cli import main; main(['embed', '{team}', '--out', '{out}/team.npz', '--cache', '{out}/cache'])",
    "score": ("from gan_eval.cli import main; main(['score', '--real', '{real}', '--submission', 'team={team}', "
              "'--cache', '{out}/cache'])"),
    "upload path": ("from gan_eval.workspace import Workspace, service\n"
                    "ws = Workspace('{out}/ws')\n"
                    "with open('{team}', 'rb') as f: service.add_upload(ws, 'team', f, 'team.zip')"),
    # What the app runs on such a workspace, in its own process (the Streamlit server adds ~150 MB):
    # the evaluation job behind the leaderboard, then the maps job behind the embedding map.
    "app-scoring (evaluate_workspace)": (
        "from gan_eval.workspace import Workspace, service\n"
        "from gan_eval.evaluation import evaluate_workspace\n"
        "ws = Workspace('{out}/app-ws')\n"
        "for team, path in ((None, '{real}'), ('team', '{team}')):\n"
        "    with open(path, 'rb') as f: service.add_upload(ws, team, f, 'set.zip')\n"
        "evaluate_workspace(ws)"),
    "app-maps (compute_workspace_maps)": (
        "from gan_eval.workspace import Workspace, explore\n"
        "from gan_eval.evaluation import evaluate_workspace\n"
        "ws = Workspace('{out}/app-ws')\n"
        "explore.compute_workspace_maps(ws, evaluate_workspace(ws))"),
}


def run_step(code: str) -> tuple[float, int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code + "\n" + _PEAK], env=env, cwd=ROOT, capture_output=True,
                          text=True)
    peaks = [line for line in done.stdout.splitlines() if line.startswith("PEAK_MB")]
    if done.returncode != 0 or not peaks or "error" in done.stderr.lower():
        raise RuntimeError(f"step failed: {done.stderr[-2000:]}")
    peak = int(peaks[0].split()[1])
    return time.perf_counter() - t0, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[3000, 10_000])
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--real", type=int, default=91)
    parser.add_argument("--masks", action="store_true",
                        help="with lesion masks (10,000 cases at 256 px then exceed the 4 GiB archive limit)")
    parser.add_argument("--steps", nargs="+", choices=[name.split()[0] for name in STEPS],
                        default=[name.split()[0] for name in STEPS], help="the steps to run (default: all)")
    args = parser.parse_args()
    steps = {name: code for name, code in STEPS.items() if name.split()[0] in args.steps}
    print(f"{'cases':>7}  {'step':<34} {'seconds':>8} {'peak MB':>8}")
    for n in args.cases:
        with tempfile.TemporaryDirectory(prefix="bench_memory-") as out:
            real, team = Path(out) / "real.zip", Path(out) / "team.zip"
            write_archive(synthetic_cases(args.real, args.side, seed=1, masks=args.masks), real)
            write_archive(synthetic_cases(n, args.side, seed=2, masks=args.masks), team)
            size = team.stat().st_size / 2**20
            for name, code in steps.items():
                seconds, peak = run_step(code.format(team=team, real=real, out=out))
                print(f"{n:>7}  {name:<34} {seconds:>8.1f} {peak:>8}   (archive {size:.0f} MB)", flush=True)


if __name__ == "__main__":
    main()
