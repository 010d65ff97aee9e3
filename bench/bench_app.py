"""App benchmarks: first launch of the demo workspace to a complete leaderboard, later launches,
and warm render time of every page.

    python bench/bench_app.py [--home DIR] [--skip-cold]

Cold = a new GAN_EVAL_HOME: build the demo (91 + 5 x 1000 + 100 phantom cases), export the ONNX
model, embed all 5,191 cases, score. Warm launch = a new Python process on the same home (what
a restart of the app does before the leaderboard shows). Page renders use Streamlit's AppTest in
this process, after one untimed run of each page; the reference is the cheapest page's render.
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
from ui.pages import PAGE_NAMES  # noqa: E402

LAUNCH = ("from gan_eval.workspace import open_demo_workspace; from gan_eval.evaluation import evaluate_workspace; "
          "evaluate_workspace(open_demo_workspace())")
PAGES = list(PAGE_NAMES)


def launch(home: Path) -> float:
    env = dict(os.environ, GAN_EVAL_HOME=str(home), PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", LAUNCH], env=env, check=True, cwd=ROOT)
    return time.perf_counter() - t0


def page_times(home: Path) -> dict[str, float]:
    from streamlit.testing.v1 import AppTest

    os.environ["GAN_EVAL_JURY_PASSWORD"] = "bench"
    times = {}
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.session_state["workspace_root"] = str(home / "demo")
        at.switch_page(f"views/{page}.py")
        at.run()  # warm-up: in-process caches, projections computed once
        t0 = time.perf_counter()
        at.run()
        times[page] = time.perf_counter() - t0
        assert not at.exception, (page, at.exception)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="GAN_EVAL_HOME to use (default: a new temp dir)")
    parser.add_argument("--skip-cold", action="store_true", help="reuse --home as it is")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="gan_eval_bench_"))
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; home {home}")
    if not args.skip_cold:
        cold = launch(home)
        print(f"first launch (demo build + embed 5,191 cases + score): {cold:7.1f} s   goal < 180 s")
    warm = min(launch(home) for _ in range(3))
    print(f"later launch (new process, everything cached):          {warm:7.2f} s   goal < 5 s")
    if not args.skip_cold:
        print(f"ratio cold / warm: {cold / warm:.0f}x")
    times = page_times(home)
    reference = min(times.values())
    for page, seconds in times.items():
        print(f"warm render {page:14s} {seconds:6.2f} s  ({seconds / reference:4.1f}x the fastest page)   goal < 2 s")


if __name__ == "__main__":
    main()
