"""README screenshots: the dashboard in Debian's Chromium over the demo workspace, one
``assets/screenshot_<page>.png`` per page (1400 px wide, each page shown whole), in a
representative state: gauges of the best submission, a selected point on the t-SNE map, the
viewer with the lesion outline on, the diagnosis of the memorized submission, a signed-in reader.

    python3 scripts/screenshots.py                       # the full demo in $GAN_EVAL_HOME/demo
    python3 scripts/screenshots.py --reduced /tmp/shots  # a reduced demo built under /tmp/shots/demo

The full demo is built and scored first if needed (minutes on a 2-core CPU; later runs are warm).
``--train-steps N`` trains a short baseline-GAN run into the workspace first when it has none, so
that the Baseline GAN page shows loss curves and samples.
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # gan_eval, and browser_support beside the browser test

from browser_support import (PAGES, assert_no_crash, chromium_available, chromium_page, choose,  # noqa: E402
                             click_map_point, go_to, map_points, most_isolated_point, open_home,
                             open_selection_button, screenshot, sign_in, streamlit_server, switch_on,
                             wait_for_page, wait_for_rerun, wait_until_idle)

from gan_eval.workspace import REAL, Workspace, default_home, open_demo_workspace  # noqa: E402

# Big enough for a readable map and viewer, small enough to build and embed in about a minute.
REDUCED_DEMO = dict(size=128, n_real=91, n_cases=100, n_small=30)
DIAGNOSED = "memorized"  # the memorisation verdict, with suspected copies beside their real twins
READER = "Dr A. Reader"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def prepare(home: Path, reduced: bool, train_steps: int) -> dict:
    """Build (if needed) and score the demo workspace under ``home``; returns its evaluation."""
    from gan_eval.evaluation import evaluate_workspace

    last = [0.0]

    def progress(done: int, total: int | None, stage: str = "") -> None:
        if time.monotonic() - last[0] > 10 or done == total:  # a line every 10 s is enough
            last[0] = time.monotonic()
            log(f"  {stage} {done}/{total}")

    log(f"demo workspace {home / 'demo'} ({'reduced' if reduced else 'full'})")
    ws = open_demo_workspace(home / "demo", progress=progress, **(REDUCED_DEMO if reduced else {}))
    result = evaluate_workspace(ws, progress=progress)
    # The maps the server would compute in the background (minutes for 5,191 cases): done here, so
    # that every page is idle when it is shot.
    from gan_eval.workspace.explore import compute_workspace_maps

    compute_workspace_maps(ws, result, progress=progress)
    if train_steps:
        train_baseline(ws, train_steps)
    return result


def train_baseline(ws: Workspace, steps: int) -> None:
    """A short 64x64 baseline-GAN run, unless the workspace already has one."""
    from gan_eval.gan import runs
    from gan_eval.gan.config import TrainConfig

    if runs.list_runs(ws.gan_runs_dir):
        return
    log(f"training a {steps}-step baseline GAN run")
    config = TrainConfig(resolution=64, steps=steps, batch_size=8, sample_every=max(steps // 4, 1),
                         checkpoint_every=steps, log_every=max(steps // 50, 1))
    runs.start_run(ws.archive_path(REAL), ws.gan_runs_dir / "run-readme", config).wait()


def best_submission(result: dict) -> str:  # the leaderboard's first row
    return max(result["submissions"], key=lambda name: result["submissions"][name]["quantitative_score"])


def shoot(url: str, password: str, result: dict, out: Path) -> None:
    """Visit every page in one browser session (the sidebar keeps the sign-in and the selection)."""

    def shot(name: str) -> None:
        assert_no_crash(page, f"page {name!r}", PAGES[name].expected_errors)  # no traceback in a README
        for path in screenshot(page, [out], name, full_page=True):
            log(f"wrote {path}")

    with chromium_page(1400, 1000) as page:
        open_home(page, url)  # the gauges open on the leader (the table's first row)
        shot("leaderboard")

        go_to(page, "embedding_map")
        page.get_by_text("t-SNE", exact=True).click()  # computed in the background once scoring ended
        wait_for_rerun(page)
        page.get_by_text(re.compile("is being computed in the background")).wait_for(state="detached", timeout=600_000)
        wait_until_idle(page)
        point = most_isolated_point(map_points(page), sets=(best_submission(result),))
        click_map_point(page, point)
        open_selection_button(page).wait_for()
        wait_until_idle(page)
        shot("embedding_map")

        open_selection_button(page).click()
        wait_for_page(page, "case_viewer")
        switch_on(page, "Outline")
        shot("case_viewer")

        go_to(page, "diagnosis")
        choose(page, "Submission", DIAGNOSED)
        shot("diagnosis")

        go_to(page, "reader_study")
        sign_in(page, READER, password)
        shot("reader_study")

        for name in ("baseline_gan", "workspace"):
            go_to(page, name)
            shot(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reduced", type=Path, metavar="HOME",
                        help="build a reduced demo (%s) in HOME/demo instead of using the full one" %
                             ", ".join(f"{k}={v}" for k, v in REDUCED_DEMO.items()))
    parser.add_argument("--out", type=Path, default=REPO / "assets", help="folder for the PNGs (default: assets/)")
    parser.add_argument("--train-steps", type=int, default=0, metavar="N",
                        help="train an N-step baseline GAN first if the workspace has no run (default: 0, none)")
    args = parser.parse_args(argv)
    if not chromium_available():
        parser.error("Debian's Chromium is needed at /usr/bin/chromium (apt-get install chromium)")
    home = args.reduced or default_home()
    result = prepare(home, args.reduced is not None, args.train_steps)
    password = secrets.token_urlsafe(12)  # this server's reader study only
    log("starting the dashboard")
    with streamlit_server(home, password) as url:
        shoot(url, password, result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
