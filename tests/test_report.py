"""The jury's report (gan_eval.report): one self-contained HTML file, rendered offline in Chromium,
its numbers the snapshot's, every upload-derived string shown as text; and ``gan-eval report``."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import pytest

from gan_eval import publish, report
from gan_eval.metrics import registry
from gan_eval.cli import main
from gan_eval.scoring import leaderboard_rows
from gan_eval.workspace import service

from browser_support import chromium_available, chromium_page
from publish_support import copy_workspace, rated_and_closed

needs_chromium = pytest.mark.skipif(not chromium_available(), reason="Debian's Chromium is not installed")
# Any URL scheme that would make a browser fetch something (base64 never holds a colon).
_SCHEME = re.compile(r"(?i)\b(?:https?|ftp|wss?|file):")


@pytest.fixture(scope="module")
def published(small_workspace, tmp_path_factory):
    ws, result = rated_and_closed(small_workspace, tmp_path_factory.mktemp("report") / "ws")
    return ws, result, publish.publish(ws, result)


def _offline_page(page, path: Path) -> list[str]:
    """Open ``path`` with every request that is not file: or data: blocked; returns the URLs the
    page tried to fetch beyond the file itself."""
    attempted: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith("data:") or url == path.as_uri():
            r.continue_()
        else:
            attempted.append(url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return attempted


def _table(page, table_id: str) -> tuple[list[str], list[list[str]]]:
    """(column keys, rows of cell texts) of a rendered table."""
    keys = page.eval_on_selector_all(f"#{table_id} thead th", "els => els.map(e => e.dataset.key)")
    rows = page.eval_on_selector_all(f"#{table_id} tbody tr",
                                     "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")
    return keys, rows


def _check_number(text: str, value, decimals: int, percent: bool) -> None:
    """The text is the value rounded to the shown decimals."""
    if value is None:
        assert text == "—"
        return
    if isinstance(value, bool):
        assert text == ("yes" if value else "no")
        return
    values = value if isinstance(value, list) else [value]
    parts = text.split("–") if isinstance(value, list) else [text]
    assert len(parts) == len(values), (text, value)
    for part, v in zip(parts, values):
        shown = float(part.rstrip("%"))
        expected = v * 100 if percent else v
        assert abs(shown - expected) <= 0.5 * 10 ** -decimals + 1e-9, (text, value)


@needs_chromium
def test_report_opens_offline_with_the_snapshots_numbers(published, tmp_path):
    ws, result, snapshot = published
    html = report.workspace_report(ws)
    assert html == report.render(snapshot)
    text = html.decode("utf-8")
    assert _SCHEME.search(text) is None, _SCHEME.search(text)
    assert "@import" not in text and "<script" not in text.lower()
    path = tmp_path / "report.html"
    path.write_bytes(html)

    frozen = snapshot.result
    with chromium_page() as page:
        attempted = _offline_page(page, path)
        assert attempted == []
        # Every resource is inline: data: URIs and in-page anchors only.
        refs = page.eval_on_selector_all("[src], [href]", "els => els.map(e => e.getAttribute('src') || e.getAttribute('href'))")
        assert refs and all(r.startswith(("data:", "#")) for r in refs), refs
        assert page.eval_on_selector_all("img", "imgs => imgs.every(i => i.complete && i.naturalWidth > 0)")
        body = page.inner_text("body")
        assert snapshot.digest in body and "Official results, published" in body and "DRAFT" not in body
        for name, entry in snapshot.record["inputs"]["submissions"].items():
            assert entry["sha256"] in body and name in body

        # The leaderboards: every team, best first, every cell the JSON's number as the registry formats it.
        order = [row["submission"] for row in leaderboard_rows(frozen)]
        for table_id in ("leaderboard-table", "leaderboard-more"):
            keys, rows = _table(page, table_id)
            assert [r[0] for r in rows] == order
            assert keys[0] == "submission" and len(keys) > 5
            for row in rows:
                scores = frozen["submissions"][row[0]]
                for key, cell in zip(keys[1:], row[1:]):
                    out = report.output_for(key)
                    assert cell == out.format(scores.get(key)), (row[0], key)
                    _check_number(cell, scores.get(key), out.decimals, out.unit == "%")
        keys, _ = _table(page, "leaderboard-table")
        assert {"rank", "fid", "fid_ci95", "fid_score", "diversity_score", "quantitative_score",
                "qualitative_score", "final_score"} <= set(keys)
        assert keys.index("fid_ci95") == keys.index("fid") + 1

        # The reading's qualitative scores are the leaderboard's.
        keys, rows = _table(page, "qualitative-table")
        for row in rows:
            assert row[keys.index("qualitative_score")] == \
                report.fmt("qualitative_score", frozen["submissions"][row[0]]["qualitative_score"])
        # Each team's gallery: its selected cases, each with a thumbnail and the readers' scores.
        for team, scores in frozen["submissions"].items():
            cases = page.eval_on_selector_all(f'article.team[data-team="{team}"] figure.case',
                                              "els => els.map(e => [e.dataset.case, e.innerText, !!e.querySelector('img')])")
            assert [c[0] for c in cases] == scores["selected_cases"]
            assert all(has_img and "Reader score" in caption for _, caption, has_img in cases)
        assert page.locator("svg.map path").count() == sum(len(s["selected_cases"]) for s in frozen["submissions"].values())

        # Print: every section on its own page, nothing scrolls inside a fixed-height box.
        page.emulate_media(media="print")
        boxed = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => {
              const s = getComputedStyle(e);
              return ['auto', 'scroll', 'hidden'].includes(s.overflowY) && e.scrollHeight > e.clientHeight + 1;
            }).map(e => e.tagName + '.' + e.className)""")
        assert boxed == []
        breaks = page.eval_on_selector_all("section.page", "els => els.map(e => getComputedStyle(e).breakBefore)")
        assert breaks == ["page"] * 6
        pdf = page.pdf(format="A4", landscape=True, print_background=True)
        assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 6


def _hostile(snapshot: publish.Snapshot) -> tuple[publish.Snapshot, dict]:
    """The snapshot with team 'good', its case ids and file, and the readers renamed to markup."""
    names = {"team": "<script>alert(1)</script>", "case": "<img src=x onerror=alert(2)>",
             "file": "<svg onload=alert(3)>.zip", "reader": "<b onmouseover=alert(4)>Dr Ada</b>"}

    def rename(value):
        if isinstance(value, dict):
            return {rename(k): rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        if value == "good":
            return names["team"]
        if value == "good.zip":
            return names["file"]
        if value == "Dr Ada":
            return names["reader"]
        if isinstance(value, str) and value.startswith("good_"):
            return names["case"] + value
        return value

    record = rename(snapshot.record)
    assets = dict(snapshot.assets)
    old_map = record["figures"]["map"]["sha256"]
    map_bytes = publish.canonical_json(rename(json.loads(assets.pop(old_map))))
    record["figures"]["map"]["sha256"] = hashlib.sha256(map_bytes).hexdigest()
    assets[record["figures"]["map"]["sha256"]] = map_bytes
    return dataclasses.replace(snapshot, record=record, assets=assets), names


@needs_chromium
def test_markup_in_names_shows_as_text(published, tmp_path):
    _, _, snapshot = published
    hostile, names = _hostile(snapshot)
    html = report.render(hostile).decode()
    for name in names.values():
        assert name not in html  # only ever escaped
    path = tmp_path / "hostile.html"
    path.write_text(html)
    with chromium_page() as page:
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        assert _offline_page(page, path) == []
        page.mouse.move(300, 300)
        assert dialogs == []
        assert page.evaluate("document.scripts.length") == 0
        assert page.locator("img:not([src^='data:'])").count() == 0 and page.locator("main svg:not(.gauge):not(.map)").count() == 0
        _, rows = _table(page, "leaderboard-table")
        assert names["team"] in [r[0] for r in rows]
        body = page.inner_text("body")
        assert f"{names['team']} — rank" in body
        assert names["case"] + "good_" in body and names["file"] in body and names["reader"] in body
        titles = page.eval_on_selector_all("svg.map title", "els => els.map(e => e.textContent)")
        assert any(t.startswith(names["team"] + " / " + names["case"]) for t in titles)


def test_draft_report_is_marked_and_blinded_while_reading_is_open(small_workspace, tmp_path):
    ws = copy_workspace(small_workspace, tmp_path / "ws")
    result = service.evaluate(ws)
    service.sync_reading_pool(ws, result)
    html = report.workspace_report(ws, result).decode()
    assert 'class="banner draft"' in html and "DRAFT — not the official results" in html
    assert '<body class="draft">' in html
    assert "Reading is open: team results stay blinded" in html and not re.search(r"Reader score \d", html)
    assert _SCHEME.search(html) is None
    # No export names the cases being read while the reading is open: neither ids nor thumbnails.
    draft = report.workspace_snapshot(ws, result)
    assert all("selected_cases" not in s for s in draft.result["submissions"].values())
    assert not any(draft.record["figures"]["thumbnails"].values()) and not draft.assets or \
        all(not t for t in draft.record["figures"]["thumbnails"].values())
    assert "cases the readers rated" not in html and "Withheld until the reading is closed" in html


def test_draft_forced_over_a_published_snapshot(published):
    ws, result, snapshot = published
    draft = report.workspace_snapshot(ws, result, draft=True)
    assert draft.is_draft and draft.result == snapshot.result
    assert "DRAFT — not the official results" in report.render(draft).decode()
    assert report.report_filename(draft).endswith("-DRAFT.html")


def test_cli_writes_the_report(published, tmp_path, capsys):
    ws, _, snapshot = published
    out = tmp_path / "report.html"
    assert main(["report", str(ws.root), "--out", str(out)]) == 0
    assert out.read_bytes() == report.render(snapshot)
    assert snapshot.digest in capsys.readouterr().out
    assert main(["report", str(ws.root), "--out", str(tmp_path / "draft.html"), "--draft"]) == 0
    assert "DRAFT" in capsys.readouterr().out and "DRAFT" in (tmp_path / "draft.html").read_text()


def test_cli_refuses_a_folder_that_is_not_a_workspace(tmp_path, capsys):
    folder = tmp_path / "not-a-workspace"
    folder.mkdir()
    assert main(["report", str(folder), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {folder} is not a gan_eval workspace") and "Traceback" not in err
    assert list(folder.iterdir()) == [] and not (tmp_path / "r.html").exists()
    assert main(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "r.html")]) == 2


def test_cli_refuses_a_tampered_snapshot(small_workspace, tmp_path, capsys):
    ws, result = rated_and_closed(small_workspace, tmp_path / "ws")
    snapshot = publish.publish(ws, result)
    snapshot.path.write_text(snapshot.path.read_text().replace('"fid_max": ', '"fid_max": 1', 1))
    assert main(["report", str(ws.root), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert str(snapshot.path) in err and "does not match its digest" in err
    assert not (tmp_path / "r.html").exists()


def test_statistics_added_later_are_rendered_from_the_json(published):
    """Rank confidence and a Turing test, when a snapshot holds them, whether or not the registry
    knows their keys yet."""
    _, _, snapshot = published
    record = json.loads(json.dumps(snapshot.record))
    teams = list(record["result"]["submissions"])
    for i, s in enumerate(record["result"]["submissions"].values()):
        s["rank_ci95"] = [max(1, s["rank"] - 1), s["rank"] + 1]
        s["rank_probabilities"] = [1.0 if j == s["rank"] - 1 else 0.0 for j in range(len(teams))]
    record["reading"]["turing"] = {t: {"turing_accuracy": 0.5 + 0.01 * i} for i, t in enumerate(teams)}
    html = report.render(dataclasses.replace(snapshot, record=record)).decode()
    assert 'data-key="rank_ci95"' in html and 'id="rank-probabilities"' in html and 'id="turing"' in html
    good = record["result"]["submissions"]["good"]
    row = re.search(r'<table id="leaderboard-table".*?</table>', html, re.S).group(0)
    assert f'<td data-key="rank_ci95" class="">{good["rank_ci95"][0]}–{good["rank_ci95"][1]}</td>' in row
    certain = registry.output("rank_probabilities").format(1.0)  # the registry's one format: "100%"
    assert certain in re.search(r'<table id="rank-probabilities".*?</table>', html, re.S).group(0)
