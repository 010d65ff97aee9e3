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
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from browser_support import (PAGES, second_page, assert_no_crash, box_select, chromium_available, chromium_page, choose,
                             click_map_point, crowded_diamond, go_to, hover_text, map_colours, map_graph, map_points,
                             most_isolated_point, open_selection_button, preview_heading, screenshot, sign_in, streamlit_server,
                             viewer_title, wait_for_page, wait_for_rerun, wait_until_idle)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="Debian's Chromium is not installed at /usr/bin/chromium "
                                                        "(apt-get install chromium chromium-driver)"),
    pytest.mark.timeout(240),
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
    servers = []
    with streamlit_server(home, JURY_PASSWORD, server=servers) as url:
        SERVER.extend(servers)
        yield url


SERVER = []  # the running server (its log), for the tests that read it


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


def test_the_server_log_has_no_warning_at_launch(app_url):
    """The demo is scored at server start (st.App's start-up hook), and neither the job threads
    nor the "spawn" worker processes make Streamlit calls outside a script run."""
    log = SERVER[0].log_text()
    assert "ScriptRunContext" not in log and "WARNING" not in log and "Traceback" not in log, log


SCREENS = {"projector": (1024, 768), "full_hd": (1920, 1080)}


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_renders_without_error(app_url, browser_page, shots, name):
    page = browser_page
    page.goto(f"{app_url}/{PAGES[name].path}")
    wait_for_page(page, name)
    saved = screenshot(page, shots, name, full_page=True)
    assert saved[0].stat().st_size > 10_000, "the screenshot shows a rendered page"
    assert_no_crash(page, f"page {name!r} after rendering", PAGES[name].expected_errors)
    for screen, (width, height) in SCREENS.items():  # what a projector and a wide screen show above the fold
        page.set_viewport_size({"width": width, "height": height})
        wait_until_idle(page)
        screenshot(page, shots, f"{name}_{screen}")
        assert_no_crash(page, f"page {name!r} at {width}x{height}", PAGES[name].expected_errors)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_at_1024x768_the_viewer_shows_its_images_and_the_leaderboard_its_challenge_columns(app_url, browser_page,
                                                                                          shots):
    with second_page(browser_page, 1024, 768) as page:
        page.goto(f"{app_url}/{PAGES['case_viewer'].path}")
        wait_for_page(page, "case_viewer")
        plot = page.locator('[data-testid="stPlotlyChart"]').first.bounding_box()
        assert plot["y"] + plot["height"] * 0.8 < 768, f"the three sequences are below the fold: {plot}"
        for label in ("Set", "Window", "Outline"):  # whole labels, not "Previ…"
            element = page.get_by_text(label, exact=True).first
            assert element.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), f"label {label!r} is cut"
        deadline = time.monotonic() + 180
        while True:  # an earlier test's upload may still be being scored: the table comes when it is done
            page.goto(app_url)
            wait_for_page(page, "leaderboard")
            grid = page.locator('[data-testid="stDataFrame"]').first
            headers = grid.locator('[role="columnheader"]').all_text_contents() if grid.count() else []
            if any(h.strip().startswith("Rank") for h in headers) or time.monotonic() > deadline:
                break
            time.sleep(2)
        for heading in ("Rank", "Cases", "FID", "FID score", "1-NN acc.", "Diversity", "Quantitative"):
            assert any(h.strip().startswith(heading) for h in headers), (heading, headers)
        box = grid.bounding_box()
        assert box["x"] + box["width"] <= 1024 and not grid.evaluate(
            "e => { const s = e.querySelector('.dvn-scroller'); return s && s.scrollWidth > s.clientWidth + 1 }"), \
            "the challenge table scrolls sideways at 1024 px"
        cells = " ".join(grid.locator('[role="gridcell"]').all_text_contents())
        assert "None" not in cells and "-0.0" not in cells
        screenshot(page, shots, "leaderboard_1024_checked")


def test_reader_signs_in(app_url, browser_page, shots):
    page = browser_page
    page.goto(f"{app_url}/{PAGES['reader_study'].path}")
    wait_for_page(page, "reader_study")
    sign_in(page, "Dr Browser", JURY_PASSWORD)
    assert page.get_by_role("tab", name="Read cases").is_visible()
    assert page.get_by_text(re.compile(r"^\d+ of \d+ cases rated$")).is_visible()
    screenshot(page, shots, "reader_study_signed_in", full_page=True)
    assert_no_crash(page, "reader study after signing in")
    # The compact reading layout: on a 1440 x 900 screen the images and the whole form are in view.
    page.set_viewport_size({"width": 1440, "height": 900})
    wait_until_idle(page)
    save = page.get_by_role("button", name="Save and next").bounding_box()
    plot = page.locator('[data-testid="stPlotlyChart"]').first.bounding_box()
    assert save["y"] + save["height"] <= 900 and plot["y"] + plot["height"] <= 900, (save, plot)
    assert save["x"] > plot["x"] + plot["width"] - 5, "the rating form is beside the images"
    screenshot(page, shots, "reader_study_1440x900")
    page.set_viewport_size({"width": 1400, "height": 1000})


def map_layout(page) -> dict:
    return page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first.evaluate(
        "gd => ({dragmode: gd._fullLayout.dragmode, clickmode: gd._fullLayout.clickmode})")


def _open_map(page, app_url):
    page.goto(f"{app_url}/{PAGES['embedding_map'].path}")
    wait_for_page(page, "embedding_map")
    return map_points(page)


def _check_click_opens(page, target: dict, shots, name: str, dx: float = 0.0, dy: float = 0.0) -> None:
    """Hovering at the click position names ``target``; clicking selects it; the Open button opens it."""
    page.mouse.move(target["x"] + dx, target["y"] + dy)
    page.wait_for_timeout(400)
    assert target["case"] in hover_text(page), f"hover over {target['case']} shows {hover_text(page)!r}"
    click_map_point(page, target, dx, dy)
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
    assert button.inner_text().endswith(f"Open {target['case']}")
    assert preview_heading(page) == f"{target['set']} / {target['case']}"
    assert page.locator('[data-testid="stImage"]').count() >= 1, "the preview shows the case"
    # The diamonds keep their look after the click (plotly greys out unselected points by default).
    opacities = map_graph(page).evaluate(
        "gd => gd._fullData.filter(t => t.name.endsWith('(cluster-selected)')).map(t => t.unselected.marker.opacity)")
    assert opacities and all(o == 1 for o in opacities)
    screenshot(page, shots, name, full_page=True)
    assert_no_crash(page, "embedding map after a click")
    button.click()
    page.wait_for_url(re.compile(r"/case_viewer$"))
    wait_for_page(page, "case_viewer")
    assert viewer_title(page) == f"{target['set']} / {target['case']}"  # SVG text


def test_clicking_a_diamond_opens_exactly_that_case(app_url, browser_page, shots):
    """The diamond with an ordinary point closest beneath it, clicked off its centre towards that
    point (inside the diamond): the diamond's case opens, not its neighbour's."""
    page = browser_page
    points = _open_map(page, app_url)
    assert {p["set"] for p in points} == {"real", "good", "collapsed", "memorized", "blurry", "inconsistent",
                                          "small"}
    diamond, neighbour = crowded_diamond(points)
    gap = ((neighbour["x"] - diamond["x"]) ** 2 + (neighbour["y"] - diamond["y"]) ** 2) ** 0.5
    step = min(3.0, gap * 0.7)  # towards the neighbour, still within the diamond (7.5 px radius)
    dx, dy = ((neighbour["x"] - diamond["x"]) / gap * step, (neighbour["y"] - diamond["y"]) / gap * step) if gap else (0, 0)
    _check_click_opens(page, diamond, shots, "embedding_map_diamond", dx, dy)
    screenshot(page, shots, "case_viewer_from_map", full_page=True)


def test_clicking_an_ordinary_point_opens_exactly_that_case(app_url, browser_page, shots):
    page = browser_page
    points = _open_map(page, app_url)
    _check_click_opens(page, most_isolated_point(points, diamond=False), shots, "embedding_map_point")


def test_resting_the_pointer_on_a_point_previews_that_case(app_url, browser_page, shots):
    page = browser_page
    points = _open_map(page, app_url)
    panel = page.locator(".st-key-map-hover-preview")
    for target in (most_isolated_point(points, diamond=False), most_isolated_point(points, ("real",), diamond=False)):
        page.mouse.move(target["x"], target["y"])
        heading = panel.get_by_text(f"Under the pointer: {target['set']} / {target['case']}", exact=True)
        heading.wait_for(timeout=SELECTION_TIMEOUT_MS)
        panel.locator("img").wait_for(timeout=SELECTION_TIMEOUT_MS)  # the case's three sequences
        assert panel.locator("img").count() == 1
    assert not page.get_by_role("button", name=re.compile(r"^Open ")).count(), "hovering selects nothing"
    screenshot(page, shots, "embedding_map_hover_preview")


def test_a_box_selection_shows_a_clickable_gallery_with_counts_per_team(app_url, browser_page, shots):
    page = browser_page
    points = _open_map(page, app_url)
    xs, ys = sorted(p["x"] for p in points), sorted(p["y"] for p in points)
    # The left half of the map, top to bottom: many cases of several teams.
    box_select(page, xs[0] - 5, ys[0] - 5, (xs[0] + xs[-1]) / 2, ys[-1] + 5)
    summary = page.get_by_text(re.compile(r"^\d+ selected cases — "))
    summary.wait_for(timeout=SELECTION_TIMEOUT_MS)
    wait_until_idle(page)
    inside = [p for p in points if p["x"] <= (xs[0] + xs[-1]) / 2]
    counts = dict(re.findall(r"([\w-]+): (\d+)", summary.inner_text().split("—", 1)[1]))
    assert int(summary.inner_text().split()[0]) == len({(p["set"], p["case"]) for p in inside})
    assert sum(map(int, counts.values())) == len({(p["set"], p["case"]) for p in inside})
    rings = map_graph(page).evaluate("gd => gd._fullData.filter(t => t.name.startsWith('selected')).length")
    assert rings == 1, "the selection is ringed on the map"
    grid = page.locator('[class*="st-key-map-grid-"]').get_by_role("button", name=re.compile(r" \/ "))  # keys map-grid-<i>
    assert grid.count() == min(12, len(inside)), "one button per thumbnail on the first page"
    screenshot(page, shots, "embedding_map_box_selection", full_page=True)
    first = grid.first.inner_text().replace("open_in_new", "").strip()  # less the icon's ligature
    grid.first.click()
    page.wait_for_url(re.compile(r"/case_viewer$"))
    wait_for_page(page, "case_viewer")
    assert viewer_title(page) == first


def test_the_viewer_keeps_zoom_shows_pixel_values_and_follows_the_arrow_keys(app_url, browser_page, shots):
    page = browser_page
    page.goto(f"{app_url}/{PAGES['case_viewer'].path}")
    wait_for_page(page, "case_viewer")
    graph = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    title = viewer_title(page)
    box = graph.locator(".xy .nsewdrag").first.bounding_box()  # the first panel's plot area
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(400)
    assert re.search(r"value -?\d", hover_text(page)), f"hover shows {hover_text(page)!r}"
    # Drag a box over the middle of the first panel: the three panels zoom to it.
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (0.3 + 0.03 * i), box["y"] + box["height"] * (0.3 + 0.03 * i))
    page.mouse.up()
    wait_for_rerun(page)
    graph = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    zoomed = graph.evaluate(_RANGES_JS)
    assert zoomed[0] == zoomed[1] == zoomed[2] and zoomed[0][1] - zoomed[0][0] < 40, f"no linked zoom: {zoomed}"
    page.mouse.move(5, 300)
    page.keyboard.press("ArrowRight")
    wait_for_rerun(page)
    assert viewer_title(page) != title, "→ shows the next case"
    graph = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    page.wait_for_function("gd => gd._fullLayout && Math.abs(gd._fullLayout.xaxis3.range[0] - %r) < 1e-6"
                           % zoomed[0][0], arg=graph.element_handle(), timeout=10_000)
    ranges = graph.evaluate(_RANGES_JS)
    assert _flat(ranges) == pytest.approx(_flat(zoomed)), f"zoom lost on Next: {ranges} instead of {zoomed}"
    # The wheel zooms further in and a shift-drag pans; both are kept on Previous too.
    box = graph.locator(".xy .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_timeout(600)
    page.keyboard.down("Shift")
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (0.5 - 0.02 * i), box["y"] + box["height"] / 2)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.wait_for_timeout(600)
    moved = graph.evaluate(_RANGES_JS)
    assert moved[0] == moved[1] == moved[2], f"wheel zoom or pan not linked: {moved}"
    assert moved[0][1] - moved[0][0] < zoomed[0][1] - zoomed[0][0] - 1, f"the wheel did not zoom: {moved}"
    assert moved[0][0] > zoomed[0][0] + 1, f"the shift-drag did not pan: {moved} after {zoomed}"
    page.mouse.move(5, 300)
    page.keyboard.press("ArrowLeft")
    wait_for_rerun(page)
    assert viewer_title(page) == title
    graph = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    page.wait_for_function("gd => gd._fullLayout && Math.abs(gd._fullLayout.xaxis3.range[0] - %r) < 1e-6"
                           % moved[0][0], arg=graph.element_handle(), timeout=10_000)
    assert _flat(graph.evaluate(_RANGES_JS)) == pytest.approx(_flat(moved)), "wheel zoom and pan lost on Previous"
    # A double-click resets the zoom, and the next case opens at full view.
    box = graph.locator(".xy .nsewdrag").first.bounding_box()
    page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(600)
    full = graph.evaluate(_RANGES_JS)
    assert full[0][1] - full[0][0] > 60, f"double-click did not reset the zoom: {full}"
    page.mouse.move(5, 300)
    page.keyboard.press("ArrowRight")
    wait_for_rerun(page)
    page.wait_for_timeout(600)
    graph = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    assert graph.evaluate(_RANGES_JS)[0][1] - graph.evaluate(_RANGES_JS)[0][0] > 60, "a reset zoom came back"
    screenshot(page, shots, "case_viewer_zoomed", full_page=True)


def test_a_generated_case_and_its_nearest_real_case_zoom_together(app_url, browser_page):
    page = browser_page
    page.goto(f"{app_url}/{PAGES['case_viewer'].path}")
    wait_for_page(page, "case_viewer")
    box_locator = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text("Set", exact=True))
    box_locator.locator("input").click()
    page.get_by_role("option").nth(1).click()  # the first submission
    wait_for_rerun(page)
    graphs = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')
    assert graphs.count() == 2, "a generated case is shown beside its nearest real case"
    box = graphs.nth(0).locator(".xy .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(4):
        page.mouse.wheel(0, -200)
        page.wait_for_timeout(200)
    page.wait_for_timeout(600)
    fractions = "gd => gd._fullLayout.xaxis.range.map(v => (v + 0.5) / gd.layout.meta.width)"
    generated, twin = graphs.nth(0).evaluate(fractions), graphs.nth(1).evaluate(fractions)
    assert generated[1] - generated[0] < 0.8, f"the wheel did not zoom: {generated}"
    assert twin == pytest.approx(generated), f"the nearest real case did not follow: {twin} vs {generated}"


_RANGES_JS = "gd => [1, 2, 3].map(i => gd._fullLayout['xaxis' + (i > 1 ? i : '')].range)"


def _flat(ranges: list[list[float]]) -> list[float]:
    return [value for pair in ranges for value in pair]


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


COLOURS_BEFORE: dict = {}


def test_map_colours_before_the_upload(app_url, browser_page):
    page = browser_page
    _open_map(page, app_url)
    COLOURS_BEFORE.update(map_colours(page))
    assert len(set(COLOURS_BEFORE.values())) == len(COLOURS_BEFORE) == 7


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

    # Every team keeps its colour on the map; the newcomer gets one nobody has.
    go_to(page, "embedding_map")
    after = map_colours(page)
    assert {team: after[team] for team in COLOURS_BEFORE} == COLOURS_BEFORE
    assert after["upl-team"] not in COLOURS_BEFORE.values()

