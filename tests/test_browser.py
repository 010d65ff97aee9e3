"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against
``streamlit run app.py`` on 127.0.0.1 with a small demo workspace.

Opens a page by deep link on the fresh server and then every page, signs in to the reader study,
clicks a point on the embedding map and follows it into the case viewer, shows the memorising
submission's copies, uploads a submission archive and sees it scored; fails on any exception box
or error alert (other than a diagnosis verdict).
A screenshot per page goes to a tmp folder, and also to $GAN_EVAL_SCREENSHOTS when it is set.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from browser_support import (PAGES, assert_no_crash, chromium_available, chromium_page, choose, click_map_point,
                             go_to, map_points, most_isolated_point, open_selection_button, screenshot, sign_in,
                             streamlit_server, wait_for_page, wait_until_idle)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="Debian's Chromium is not installed at /usr/bin/chromium "
                                                        "(apt-get install chromium chromium-driver)"),
    pytest.mark.timeout(150),
]

JURY_PASSWORD = "browser-test-password"
SELECTION_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def app_url(small_workspace, tmp_path_factory):
    """The dashboard served from a GAN_EVAL_HOME whose demo workspace is a copy of the small demo
    (embeddings and scores included, so the app opens warm). A copy, because the upload test adds
    a submission to it."""
    from gan_eval.evaluation import evaluate_workspace
    from gan_eval.workspace import Workspace

    home = tmp_path_factory.mktemp("browser-home")
    shutil.copytree(small_workspace.root, home / "demo")
    evaluate_workspace(Workspace(home / "demo"))  # from the copied cache: proves the copy is warm
    with streamlit_server(home, JURY_PASSWORD) as url:
        yield url


@pytest.fixture(scope="module")
def browser_page():
    with chromium_page(1400, 1000) as page:
        yield page


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> list[Path]:
    folders = [tmp_path_factory.mktemp("screenshots")]
    if os.environ.get("GAN_EVAL_SCREENSHOTS"):
        folders.append(Path(os.environ["GAN_EVAL_SCREENSHOTS"]))
    return folders


def test_a_deep_link_to_a_fresh_server_opens_the_page_inside_the_app(app_url, browser_page):
    """First in this file, so that the server has not run app.py yet: a bookmarked page URL after
    a restart must still get the header, the layout and the navigation of app.py."""
    browser_page.goto(f"{app_url}/{PAGES['diagnosis'].path}")
    wait_for_page(browser_page, "diagnosis")  # checks the sidebar shows app.py's navigation


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_renders_without_error(app_url, browser_page, shots, name):
    page = browser_page
    page.goto(f"{app_url}/{PAGES[name].path}")
    wait_for_page(page, name)
    saved = screenshot(page, shots, name, full_page=True)
    assert saved[0].stat().st_size > 10_000, "the screenshot shows a rendered page"
    assert_no_crash(page, f"page {name!r} after rendering", PAGES[name].expected_errors)


def test_reader_signs_in(app_url, browser_page, shots):
    page = browser_page
    page.goto(f"{app_url}/{PAGES['reader_study'].path}")
    wait_for_page(page, "reader_study")
    sign_in(page, "Dr Browser", JURY_PASSWORD)
    assert page.get_by_role("tab", name="Read cases").is_visible()
    assert page.get_by_text(re.compile(r"^\d+ of \d+ cases rated$")).is_visible()
    screenshot(page, shots, "reader_study_signed_in", full_page=True)
    assert_no_crash(page, "reader study after signing in")


def map_layout(page) -> dict:
    return page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first.evaluate(
        "gd => ({dragmode: gd._fullLayout.dragmode, clickmode: gd._fullLayout.clickmode})")


def test_clicking_a_map_point_opens_it_in_the_case_viewer(app_url, browser_page, shots):
    page = browser_page
    page.goto(f"{app_url}/{PAGES['embedding_map'].path}")
    wait_for_page(page, "embedding_map")
    points = map_points(page)
    assert {p["set"] for p in points} == {"real", "good", "collapsed", "memorized", "blurry", "inconsistent",
                                          "small"}
    target = most_isolated_point(points)  # a cluster-selected diamond with no neighbour under the cursor

    click_map_point(page, target)
    button = open_selection_button(page)
    try:
        button.wait_for(timeout=SELECTION_TIMEOUT_MS)
    except PlaywrightTimeoutError as exc:  # say what the user sees, and the likely cause
        layout = map_layout(page)
        raise AssertionError(
            f"clicking {target['set']} / {target['case']} on the map selected nothing (no 'Open … in the case "
            f"viewer' button). Plotly layout: dragmode={layout['dragmode']!r}, clickmode={layout['clickmode']!r}; "
            "Streamlit selects a clicked point only when clickmode includes 'select', and it sets clickmode to "
            "'event' while dragmode is 'lasso' or 'select'.") from exc
    wait_until_idle(page)
    assert button.inner_text() == f"Open {target['set']} / {target['case']} in the case viewer"
    assert page.locator('[data-testid="stImage"]').count() >= 1, "the selection gallery shows the case"
    screenshot(page, shots, "embedding_map_selected", full_page=True)
    assert_no_crash(page, "embedding map after a click")

    button.click()
    page.wait_for_url(re.compile(r"/case_viewer$"))
    wait_for_page(page, "case_viewer")
    title = f"{target['set']} / {target['case']}"
    assert page.locator('[data-testid="stPlotlyChart"] .gtitle').first.text_content() == title  # SVG text
    screenshot(page, shots, "case_viewer_from_map", full_page=True)


def test_diagnosis_shows_the_memorised_copies_beside_their_twins(app_url, browser_page, shots):
    page = browser_page
    page.goto(f"{app_url}/{PAGES['diagnosis'].path}")
    wait_for_page(page, "diagnosis")
    choose(page, "Submission", "memorized")
    assert_no_crash(page, "diagnosis of 'memorized'", PAGES["diagnosis"].expected_errors)
    assert page.get_by_text(re.compile(r"^Memorisation — ")).is_visible()
    heading = page.locator("h4", has_text=re.compile(r"^Suspected copies \(\d+\)$"))
    assert int(re.search(r"\d+", heading.inner_text()).group()) > 0
    assert page.locator('[data-testid="stImage"]').count() >= 2, "a copy and its real twin"
    screenshot(page, shots, "diagnosis_memorized", full_page=True)


def test_upload_adds_a_submission(app_url, browser_page, shots, tmp_path):
    """Last in this file: the new submission makes the app evaluate the workspace again."""
    from gan_eval.archives import write_archive
    from gan_eval.phantom import make_cases

    archive = tmp_path / "upl-team.zip"
    write_archive(make_cases(12, seed=9, size=64, prefix="upl"), archive)
    page = browser_page
    page.goto(f"{app_url}/{PAGES['workspace'].path}")
    wait_for_page(page, "workspace")

    form = page.locator('[data-testid="stForm"]').filter(has_text="Submissions (one archive per team")
    form.locator('input[type="file"]').set_input_files(archive)
    form.locator('[data-testid="stFileChip"]', has_text="upl-team.zip").wait_for()
    form.locator('[data-testid="stFileChipIconSpinner"]').wait_for(state="detached")  # upload finished
    form.get_by_role("button", name="Validate and add submissions").click()
    page.get_by_text("upl-team.zip: added as submission upl-team with 12 cases.").wait_for()
    assert_no_crash(page, "workspace page after the upload")
    table = page.locator('[data-testid="stDataFrame"]').filter(has_text="accepted cases")
    row = table.locator("tr").filter(has=page.locator("td", has_text=re.compile(r"^upl-team$")))
    row.wait_for(state="attached")  # the grid draws on a canvas; its accessible table is hidden
    assert row.locator("td").all_text_contents()[:4] == ["upl-team", "upl-team.zip", "12", "0"]
    screenshot(page, shots, "workspace_after_upload", full_page=True)

    go_to(page, "leaderboard")  # the new submission is embedded and scored in the background
    leaderboard = page.locator('[data-testid="stDataFrame"]').first
    leaderboard.locator("td", has_text=re.compile(r"^upl-team$")).wait_for(state="attached")
    assert_no_crash(page, "leaderboard after the upload")
