"""Drive the dashboard in a real browser: start ``streamlit run app.py`` on 127.0.0.1 and Debian's
Chromium through Playwright. Shared by ``tests/test_browser.py`` and ``scripts/screenshots.py``.

Nothing here downloads a browser: Playwright launches the system Chromium at ``CHROMIUM``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

from gan_eval.access import Role
from ui.pages import pages_for

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# Offline, sandbox-less (containers run as root) and quiet: no GPU (WebGL falls back to software,
# enough for the Scattergl map), no QUIC, no background traffic.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_START_TIMEOUT = 60.0  # seconds; the first run also imports torch
PAGE_TIMEOUT = 90.0  # seconds for a page to render its main content


@dataclass(frozen=True)
class AppPage:
    title: str  # the sidebar link text (st.Page title in app.py)
    path: str  # URL path: st.navigation names it after the file; the default page lives at "/"
    heading: str  # the page's subheader, proof that its main content rendered
    # Error alerts that are content, not failures (a regex on the alert's text), e.g. a diagnosis verdict.
    expected_errors: str | None = None


# Error alerts that are content on a page, not failures.
_EXPECTED_ERRORS = {"diagnosis": r"(Memorisation|Mode collapse|Low fidelity|Inconsistent sequences) — "}
# Each page's subheader is its sidebar title.
# The demo app's pages (the browser tests run the demo: no organiser secret).
PAGES = {p.name: AppPage(p.title, p.url_path, p.title, _EXPECTED_ERRORS.get(p.name)) for p in pages_for(Role.DEMO)}


class AppCrashed(AssertionError):
    """The page shows an exception box or an error alert."""


def chromium_available() -> bool:
    return CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class Server:
    url: str
    log: object  # the server's stdout and stderr, a binary file

    def log_text(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


@contextmanager
def streamlit_server(home: Path, jury_password: str, port: int | None = None, server: list | None = None,
                     env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the dashboard with ``GAN_EVAL_HOME=home`` on 127.0.0.1; yields its base URL (and
    appends a ``Server`` with its log to ``server`` when given).

    The server is always terminated on exit. If it does not become healthy in time, its log is in
    the error message.
    """
    server_info = server
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | (env or {}) | {"GAN_EVAL_HOME": str(home), "GAN_EVAL_JURY_PASSWORD": jury_password,
                        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
                        # this checkout's code, also where another one is pip-installed (editable)
                        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while not _healthy(url):
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"streamlit did not start on {url} (exit code {server.poll()}):\n"
                                       + log.read().decode(errors="replace"))
                time.sleep(0.25)
            if server_info is not None:
                server_info.append(Server(url, log))
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000) -> Iterator:
    """A Playwright page in Debian's Chromium; the browser is closed on exit."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(PAGE_TIMEOUT * 1000)
            yield page
        finally:
            browser.close()


@contextmanager
def second_page(page, width: int, height: int) -> Iterator:
    """Another page (a new session) in the browser of ``page``, at another size; closed on exit."""
    other = page.context.browser.new_page(viewport={"width": width, "height": height})
    other.set_default_timeout(PAGE_TIMEOUT * 1000)
    try:
        yield other
    finally:
        other.close()


# Every plotly chart has drawn its SVG and no element is still a loading skeleton.
_DRAWN_JS = """() =>
  [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'))
  && !document.querySelector('[data-testid="stSkeleton"]')"""


def wait_until_idle(page) -> None:
    """Wait until the script run is over (the app reports ``notRunning`` and the status widget is
    gone) and every chart has drawn."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached")
    page.wait_for_function(_DRAWN_JS)
    page.wait_for_timeout(300)  # plotly lays out text and WebGL canvases just after the SVG appears


def wait_for_rerun(page) -> None:
    """After a widget interaction: wait for the rerun it triggers to start (it may already be
    over when the server is quick), then for the app to be idle again."""
    try:
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="running"]', timeout=2000)
    except PlaywrightTimeoutError:
        pass
    wait_until_idle(page)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label``."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text(label, exact=True))
    for attempt in range(3):  # a click during a page's last redraw may open no list: click again
        box.locator("input").click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    page.evaluate("document.activeElement.blur()")  # no focus ring left on the box
    wait_for_rerun(page)


def switch_on(page, label: str) -> None:
    """Turn on the first toggle labelled ``label``."""
    switch = page.get_by_role("switch", name=label).first
    if not switch.is_checked():
        page.get_by_text(label, exact=True).first.click()  # the label covers the hidden input
        page.wait_for_function("el => el.checked", arg=switch.element_handle())
        wait_for_rerun(page)


_EXCEPTION_BUTTONS = {"Copy", "Ask Google", "Ask ChatGPT"}  # button labels inside an exception box


def crash_messages(page, expected_errors: str | None = None) -> list[str]:
    """Texts of every exception box (with its traceback) and every error alert on the page, less
    the error alerts whose text starts with the ``expected_errors`` pattern."""
    exceptions = page.eval_on_selector_all('[data-testid="stException"]', "els => els.map(e => e.innerText)")
    errors = page.eval_on_selector_all(  # an exception box holds an error alert too: count it once
        '[data-testid="stAlertContentError"]',
        "els => els.filter(e => !e.closest('[data-testid=\"stException\"]')).map(e => e.innerText)")
    tracebacks = ["\n".join(line for line in text.splitlines() if line not in _EXCEPTION_BUTTONS)
                  for text in exceptions]
    return tracebacks + [e for e in errors if not (expected_errors and re.match(expected_errors, e))]


def assert_no_crash(page, where: str, expected_errors: str | None = None) -> None:
    messages = crash_messages(page, expected_errors)
    if messages:
        raise AppCrashed(f"{where} shows {len(messages)} error(s):\n" + "\n---\n".join(messages))


def wait_for_page(page, name: str) -> None:
    """Wait for a page's subheader, or fail at once with the traceback if the page crashed first."""
    target = PAGES[name]
    title = f'h3 > span[data-heading-text]:text-is("{target.heading}")'
    page.wait_for_selector(f'{title}, [data-testid="stException"], [data-testid="stAlertContentError"]')
    wait_until_idle(page)
    assert_no_crash(page, f"page {target.title!r}", target.expected_errors)
    page.wait_for_selector(title)
    assert_inside_navigation(page, name)


def assert_inside_navigation(page, name: str) -> None:
    """The page ran inside app.py's st.navigation (header, wide layout, titled sidebar), not as a
    bare script that Streamlit found in the pages/ folder."""
    links = page.eval_on_selector_all('[data-testid="stSidebarNav"] a', "els => els.map(e => e.innerText)")
    if not any(link.splitlines()[-1:] == [PAGES[name].title] for link in links):
        raise AssertionError(f"page {name!r} ran outside app.py's navigation: the sidebar lists {links}, "
                             "the pages/ folder's file names instead of the st.Page titles")


def open_home(page, url: str) -> None:
    page.goto(url)
    wait_for_page(page, "leaderboard")


def go_to(page, name: str) -> None:
    """Open a page through its sidebar link (the session, e.g. a sign-in, is kept)."""
    target = PAGES[name]
    page.locator('[data-testid="stSidebarNav"] a', has_text=target.title).first.click()
    if target.path:  # the default page keeps whatever URL it was opened with
        page.wait_for_url(lambda url: url.rstrip("/").endswith("/" + target.path))
    wait_for_page(page, name)


def screenshot(page, folders: list[Path], name: str, full_page: bool = False) -> list[Path]:
    """Save ``screenshot_<name>.png`` into every folder: the viewport, or with ``full_page`` the
    whole page (Streamlit scrolls inside ``stMain``, so the viewport grows to its height)."""
    viewport = page.viewport_size
    page.mouse.move(viewport["width"] - 2, viewport["height"] // 2)  # park the pointer: no hover labels
    if full_page:
        height = page.eval_on_selector('[data-testid="stMain"]', "e => e.scrollHeight")
        page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
        page.wait_for_function(_DRAWN_JS)
        page.wait_for_timeout(500)  # plotly redraws at the new size
    paths = []
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"screenshot_{name}.png"
        page.screenshot(path=str(path))
        paths.append(path)
    page.set_viewport_size(viewport)
    return paths


# Screen positions of every map point: plotly's axes map data to pixels (l2p) inside the plot area
# (offset); Scattergl draws on a canvas, so there is no DOM element per point to click. Traces
# that take no pointer events (the ring around a selection) are left out.
_MAP_POINTS_JS = """
gd => {
  const box = gd.getBoundingClientRect();
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const points = [];
  gd._fullData.forEach((trace, curve) => {
    if (trace.visible !== true || trace.hoverinfo === 'skip') return;
    for (let i = 0; i < trace.x.length; i++) {
      points.push({curve, index: i, trace: trace.name, set: trace.customdata[i][0], case: trace.customdata[i][1],
                   colour: trace.marker.color,
                   x: box.left + xa._offset + xa.l2p(trace.x[i]), y: box.top + ya._offset + ya.l2p(trace.y[i])});
    }
  });
  return points;
}
"""


def map_graph(page):
    return page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first


def map_points(page) -> list[dict]:
    """Every point of the embedding map: set, case id, trace name, colour and its pixel position on screen."""
    graph = map_graph(page)
    graph.wait_for()
    return graph.evaluate(_MAP_POINTS_JS)


def map_colours(page) -> dict[str, str]:
    """The colour of each set on the map (its ordinary points' trace)."""
    return {p["set"]: p["colour"] for p in map_points(page) if not p["trace"].endswith("(cluster-selected)")}


def _distance(p: dict, q: dict) -> float:
    return ((p["x"] - q["x"]) ** 2 + (p["y"] - q["y"]) ** 2) ** 0.5


def is_diamond(point: dict) -> bool:
    return point["trace"].endswith("(cluster-selected)")


def most_isolated_point(points: list[dict], sets: tuple[str, ...] | None = None, diamond: bool = True) -> dict:
    """The cluster-selected point (or, with ``diamond=False``, ordinary point) of one of ``sets``
    (default any) farthest in pixels from every other point, so that a click on it cannot hit a neighbour."""
    candidates = [p for p in points if is_diamond(p) == diamond and (sets is None or p["set"] in sets)]
    if not candidates:
        raise AssertionError(f"no {'cluster-selected' if diamond else 'ordinary'} point of {sets or 'any set'} on "
                             f"the map; traces: {sorted({p['trace'] for p in points})}")
    return max(candidates, key=lambda p: min(_distance(p, q) for q in points if q is not p))


def crowded_diamond(points: list[dict]) -> tuple[dict, dict]:
    """The cluster-selected point with an ordinary point nearest beneath it, and that point: where
    a click on the diamond used to open its neighbour."""
    pairs = [(d, min((q for q in points if not is_diamond(q)), key=lambda q: _distance(d, q)))
             for d in points if is_diamond(d)]
    return min(pairs, key=lambda pair: _distance(*pair))


def click_map_point(page, point: dict, dx: float = 0.0, dy: float = 0.0) -> None:
    """Click ``point`` (offset by dx, dy pixels); plotly finds the point under the cursor on hover."""
    page.mouse.move(point["x"] + dx, point["y"] + dy)
    page.wait_for_timeout(300)
    page.mouse.click(point["x"] + dx, point["y"] + dy)
    wait_for_rerun(page)


def hover_text(page) -> str:
    """The text of plotly's hover label on the page (empty when none)."""
    labels = page.locator(".hoverlayer .hovertext")
    return labels.first.text_content() if labels.count() else ""


def box_select(page, x0: float, y0: float, x1: float, y1: float) -> None:
    """Pick the map's box-select tool and drag a rectangle from (x0, y0) to (x1, y1)."""
    graph = map_graph(page)
    graph.hover()
    graph.locator('.modebar-btn[data-title="Box Select"]').click()
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * i / 10, y0 + (y1 - y0) * i / 10)
    page.mouse.up()
    wait_for_rerun(page)


def open_selection_button(page):
    """The map page's "Open <case>" button (in the preview beside the map)."""
    return page.locator(".st-key-map-open").get_by_role("button", name=re.compile(r"^Open "))


def preview_heading(page) -> str:
    """The "<set> / <case>" heading of the map's preview panel."""
    return page.locator(".st-key-map-preview strong").first.inner_text()


def viewer_title(page) -> str:
    return page.locator('[data-testid="stPlotlyChart"] .gtitle').first.text_content()


def sign_in(page, reader: str, password: str) -> None:
    """Sign in on the Reader study page."""
    page.get_by_label("Your name (as it should appear in the study)").fill(reader)
    page.get_by_label("Jury password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {reader}").wait_for()
    wait_for_rerun(page)
