"""Every page of the Streamlit app, driven by AppTest on a small demo workspace."""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gan_eval.archives import write_archive
from gan_eval.evaluation import evaluate_workspace
from gan_eval.phantom import make_cases
from gan_eval.scoring import leaderboard_rows
from gan_eval.workspace import REAL
from ui.pages import PAGE_NAMES

APP = Path(__file__).resolve().parents[1] / "app.py"
PAGES = list(PAGE_NAMES)


def open_app(ws, page: str, **state) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["workspace_root"] = str(ws.root)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(f"views/{page}.py")
    return at.run()


def texts(at: AppTest) -> str:
    """All visible text of the page (markdown, captions, alerts, widget labels)."""
    parts = []
    for kind in ("markdown", "caption", "info", "success", "warning", "error", "subheader", "title"):
        parts += [str(e.value) for e in getattr(at, kind)]
    for kind in ("button", "selectbox", "radio", "text_input", "toggle", "slider", "multiselect"):
        parts += [str(w.label) for w in getattr(at, kind)]
    return "\n".join(parts)


def figures(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_without_error(small_workspace, page, monkeypatch):
    monkeypatch.setenv("GAN_EVAL_JURY_PASSWORD", "s3cret")
    at = open_app(small_workspace, page)
    assert not at.exception, at.exception
    # The diagnosis page shows its verdicts as alerts; every other red box would be a failure.
    problems = [e.value for e in at.error if not (page == "diagnosis" and e.value.startswith("**"))]
    assert not problems, problems


def test_leaderboard_matches_the_library(small_workspace):
    expected = leaderboard_rows(evaluate_workspace(small_workspace))
    at = open_app(small_workspace, "leaderboard")
    table = at.dataframe[0].value
    assert list(table.index) == [row["submission"] for row in expected]
    for row in expected:
        for key in ("fid", "fid_score", "diversity_score", "quantitative_score", "loo_accuracy"):
            assert table.loc[row["submission"], key] == pytest.approx(row[key], rel=1e-12)
    # The gauges show the selected submission's values (accuracy and diversity).
    chosen = at.selectbox(key="leaderboard-submission").value
    scores = evaluate_workspace(small_workspace)["submissions"][chosen]
    gauges = [f for f in figures(at) if f["data"][0]["type"] == "indicator"]
    values = [g["data"][0]["value"] for g in gauges]
    assert values[0] == pytest.approx(scores["loo_accuracy"] * 100)
    assert gauges[0]["data"][0]["gauge"]["threshold"]["value"] == 50.0
    assert values[1:] == pytest.approx([scores["diversity_score"], scores["fid_score"], scores["quantitative_score"]])
    assert "efficientnet-lite0" in texts(at)


def test_the_map_previews_the_hovered_case_and_ignores_a_pair_naming_no_case(small_workspace):
    # The pair comes from the page's script (tested in a real browser in test_browser.py): any
    # strings a client sends must show nothing rather than fail or reach a file.
    case_id = small_workspace.case_set("good").ids[2]
    at = open_app(small_workspace, "embedding_map", **{"map-hovered": ("good", case_id)})
    assert not at.exception and f"Under the pointer: **good / {case_id}**" in texts(at)
    for forged in (("good", "../../workspace.json"), ("nope", case_id)):
        at = open_app(small_workspace, "embedding_map", **{"map-hovered": forged})
        assert not at.exception and "Under the pointer" not in texts(at)
        assert "Rest the pointer on a point to preview it here" in texts(at)


def test_map_selection_opens_the_viewer_with_nearest_real_case(small_workspace):
    result = evaluate_workspace(small_workspace)
    case_id = result["submissions"]["memorized"]["selected_cases"][0]
    at = open_app(small_workspace, "embedding_map", **{"map-selection": [("memorized", case_id)]})
    assert not at.exception
    assert at.get("plotly_chart"), "the map is drawn"
    assert len(at.image) >= 1, "the selection gallery shows the case"
    open_button = at.button(key="map-open")
    assert case_id in open_button.label
    at = open_button.click().run()
    assert not at.exception
    page_text = texts(at)
    assert f"memorized / {case_id}" in json.dumps(figures(at)[0]["layout"]["title"])
    assert "Nearest real case" in page_text
    # memorized cases are near-copies: the nearest real case is much closer than real cases are to each other.
    nearest = [m.value for m in at.markdown if "Nearest real case" in m.value][0]
    ratio = float(nearest.split("ratio ")[1].split(" ")[0])
    assert ratio < 0.5 and "a suspected copy" in nearest


def test_diagnosis_of_memorized_shows_copies_beside_their_twins(small_workspace):
    at = open_app(small_workspace, "diagnosis", **{"diag-set": "memorized"})
    assert not at.exception
    copies = evaluate_workspace(small_workspace)["submissions"]["memorized"]["suspected_copies"]
    assert copies and any("Memorisation" in e.value for e in at.error)
    first = copies[0]
    assert any(f"{first['generated']} ↔ real {first['real']}" in c.value for c in at.caption)
    assert len(at.image) == 2 * min(len(copies), 5)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_upload_validates_and_bad_uploads_change_nothing(small_workspace, tmp_path):
    from gan_eval.workspace import Workspace

    ws = Workspace(tmp_path / "upload-ws")
    archive = tmp_path / "team.zip"
    write_archive(make_cases(12, seed=9, size=64, prefix="upl"), archive)
    at = open_app(ws, "workspace")
    at.file_uploader(key="up-subs").set_value([("team.zip", archive.read_bytes(), "application/zip")])
    at.text_input(key="up-teams").set_value("team-x")
    at = at.form_submit_button[1].click().run()
    assert not at.exception
    assert any("added as submission **team-x** with 12 cases" in s.value for s in at.success)
    assert "team-x" in ws.submissions

    nan = np.eye(16)
    nan[3, 3] = np.nan
    good = _npz(t1_arterial=np.eye(16), t1_portal=np.eye(16) * 2, t2=np.eye(16) * 3)
    bad_uploads = {
        "corrupt.zip": b"PK\x03\x04 not really a zip",
        "traversal.zip": _zip({"../../escape.npz": good}),
        "nan.zip": _zip({"c_nan.npz": _npz(t1_arterial=nan, t1_portal=np.eye(16), t2=np.eye(16))}),
    }
    before = (ws.root / "workspace.json").read_text()
    for name, data in bad_uploads.items():
        at.file_uploader(key="up-subs").set_value([(name, data, "application/zip")])
        at.text_input(key="up-teams").set_value("evil")
        at = at.form_submit_button[1].click().run()
        assert not at.exception
        errors = " ".join(e.value for e in at.error)
        assert f"**{name}** was not added" in errors and "Nothing in the workspace was changed" in errors
    assert (ws.root / "workspace.json").read_text() == before
    assert not (tmp_path / "escape.npz").exists()
    assert list(ws.submissions) == ["team-x"]
    # A partly bad archive is added with its good cases, and the table shows the rejected case and why.
    mixed = _zip({"ok.npz": good, "c_nan.npz": _npz(t1_arterial=nan, t1_portal=np.eye(16), t2=np.eye(16))})
    at.file_uploader(key="up-subs").set_value([("mixed.zip", mixed, "application/zip")])
    at.text_input(key="up-teams").set_value("mixed")
    at = at.form_submit_button[1].click().run()
    rejected = at.dataframe[0].value
    assert list(rejected["case"]) == ["c_nan"] and "NaN" in rejected["reason"].iloc[0]


def test_reader_study_is_blinded_and_password_protected(small_workspace, monkeypatch):
    monkeypatch.delenv("GAN_EVAL_JURY_PASSWORD", raising=False)
    at = open_app(small_workspace, "reader_study")
    assert "No jury password is configured" in texts(at)

    monkeypatch.setenv("GAN_EVAL_JURY_PASSWORD", "s3cret")
    at = open_app(small_workspace, "reader_study")
    at.text_input[0].set_value("Dr Reader")
    at.text_input[1].set_value("wrong")
    at = at.form_submit_button[0].click().run()
    assert any("Wrong jury password" in e.value for e in at.error)
    at.text_input[1].set_value("s3cret")
    at = at.form_submit_button[0].click().run()
    assert not at.exception
    shown = texts(at) + json.dumps(figures(at)) + " ".join(str(i.proto) for i in at.image)
    result = evaluate_workspace(small_workspace)
    assert "Case 1 of" in shown
    for team, scores in result["submissions"].items():
        assert team not in shown.replace("Sign in", "")
        for case_id in scores["selected_cases"]:
            assert case_id not in shown
    for entry in small_workspace.submissions.values():
        assert entry.filename not in shown and entry.sha256[:12] not in shown
    # Saving with criteria left unrated stores nothing and says what is missing.
    at = [b for b in at.form_submit_button if b.label == "Save and next"][0].click().run()
    assert any("Rate every criterion before saving" in w.value for w in at.warning)
    assert any("0 of" in str(p.proto.text) for p in at.get("progress"))
    # Rate the first case: it is stored and progress moves on.
    for radio in at.radio:
        if radio.key and radio.key.startswith("rate-"):
            radio.set_value(3)
    save = [b for b in at.form_submit_button if b.label == "Save and next"][0]
    at = save.click().run()
    assert not at.exception
    assert any("1 of" in str(p.proto.text) for p in at.get("progress"))


def test_baseline_gan_page_starts_and_stops_a_run(small_workspace, tmp_path):
    import time

    from gan_eval.gan import runs
    from gan_eval.workspace import Workspace

    ws = Workspace(tmp_path / "gan-ws")
    ws.add_archive(REAL, small_workspace.archive_path(REAL), filename="real.zip")
    at = open_app(ws, "baseline_gan")
    assert not at.exception
    at.number_input[0].set_value(10_000)   # steps: long enough that only Stop can end it
    at.number_input[1].set_value(4)        # batch size
    at = [b for b in at.form_submit_button if b.label == "Start training"][0].click().run()
    assert not at.exception
    (run,) = runs.list_runs(ws.gan_runs_dir)
    assert run["config"]["steps"] == 10_000 and run["config"]["batch_size"] == 4
    deadline = time.time() + 120
    while runs.read_status(run["run_dir"])["state"] != "running" and time.time() < deadline:
        time.sleep(0.5)
    at = at.run()
    at = at.button(key="gan-stop").click().run()
    while runs.read_status(run["run_dir"])["state"] == "running" and time.time() < deadline:
        time.sleep(0.5)
    status = runs.read_status(run["run_dir"])
    assert status["state"] == "stopped", status
    assert 0 < status["step"] < 10_000
    at = at.run()
    assert at.button(key="gan-resume") is not None


def test_leaderboard_final_score_and_rank_follow_the_stored_ratings(small_workspace, tmp_path):
    import shutil

    from gan_eval.reader_study import CRITERION_KEYS, ReaderStudy
    from gan_eval.workspace import Workspace

    root = tmp_path / "rated-ws"
    shutil.copytree(small_workspace.root, root, ignore=shutil.ignore_patterns("reader_study.sqlite*"))
    ws = Workspace(root)
    result = evaluate_workspace(ws)
    study = ReaderStudy(ws.reader_db)
    items = study.register_items({team: s["selected_cases"] for team, s in result["submissions"].items()})
    # Two readers rate two teams; every criterion gets the same value, so a case scores 5 x value.
    values = {("A", "good"): 4, ("B", "good"): 3, ("A", "collapsed"): 2, ("B", "collapsed"): 1}
    for (reader, team), value in values.items():
        for item in items[team]:
            study.save_ratings(reader, item, {key: value for key in CRITERION_KEYS})

    at = open_app(ws, "leaderboard")
    table = at.dataframe[0].value
    assert "final_score" not in table.columns, "results stay blinded while reading is open"

    study.close_reading()
    at = open_app(ws, "leaderboard")
    table = at.dataframe[0].value
    # By hand: good = mean over readers of (5 x 4, 5 x 3) = 17.5; collapsed = mean(10, 5) = 7.5.
    quantitative = {team: result["submissions"][team]["quantitative_score"] for team in ("good", "collapsed")}
    assert table.loc["good", "qualitative_score"] == pytest.approx(17.5)
    assert table.loc["collapsed", "qualitative_score"] == pytest.approx(7.5)
    assert table.loc["good", "final_score"] == pytest.approx((quantitative["good"] + 17.5 / 20) / 2)
    assert table.loc["collapsed", "final_score"] == pytest.approx((quantitative["collapsed"] + 7.5 / 20) / 2)
    expected_rank = {"good": 1, "collapsed": 2} if (quantitative["good"] + 0.875 > quantitative["collapsed"] + 0.375) \
        else {"good": 2, "collapsed": 1}
    assert {team: table.loc[team, "rank"] for team in expected_rank} == expected_rank
    assert table["rank"].isna().sum() == len(table) - 2, "unrated teams get no final rank"
    assert list(table.index[:2]) == sorted(expected_rank, key=expected_rank.get)


def test_every_row_shows_while_the_radiomic_features_are_computed(small_workspace, tmp_path, monkeypatch):
    """A first launch: every submission's row (final in the workspace's backbone) is on the
    leaderboard before the radiomic feature space, the slowest part, is done; FRD follows."""
    import shutil
    import threading
    import time

    from gan_eval.features import radiomic
    from gan_eval.workspace import Workspace

    root = tmp_path / "first-launch"
    shutil.copytree(small_workspace.root, root, ignore=shutil.ignore_patterns("reader_study.sqlite*"))
    for computed in ("features", "orientation", "sources", "results"):  # keep the exported model only
        shutil.rmtree(root / "cache" / computed, ignore_errors=True)
    ws = Workspace(root)
    released, engine = threading.Event(), radiomic.engine

    def slow_radiomics(batch):
        assert released.wait(120), "the test never released the radiomic features"
        return engine(batch)
    monkeypatch.setattr(radiomic, "engine", slow_radiomics)

    def frd_column(at: AppTest):
        """The FRD column of the leaderboard's tables, or None when none shows it."""
        tables = [t.value for t in at.dataframe if "frd" in t.value.columns]
        return tables[0]["frd"] if tables else None

    def page_until(condition, what: str) -> AppTest:
        deadline = time.monotonic() + 120
        while True:
            at = open_app(ws, "leaderboard")
            assert not at.exception, at.exception
            if condition(at):
                return at
            assert time.monotonic() < deadline, f"the leaderboard never showed {what}:\n{texts(at)}"
            time.sleep(0.5)

    try:
        at = page_until(lambda at: "Every submission is scored" in texts(at), "every row before radiomics")
        assert set(at.dataframe[0].value.index) == set(ws.submissions)
        assert "radiomics feature space" in texts(at) and "Provisional scores" not in texts(at)
        assert frd_column(at) is None and "Rank agreement between feature spaces" not in texts(at)
    finally:
        released.set()
    at = page_until(lambda at: "Every submission is scored" not in texts(at), "the final scores")
    final = evaluate_workspace(ws)
    frd = frd_column(at)
    for name, record in final["submissions"].items():
        assert frd[name] == pytest.approx(record["frd"], rel=1e-12)
        assert at.dataframe[0].value.loc[name, "fid"] == pytest.approx(record["fid"], rel=1e-12)
    assert "Rank agreement between feature spaces" in texts(at)


def test_names_from_an_upload_are_shown_as_text_never_as_markdown(tmp_path):
    """A crafted file or entry name once rendered as a live link and fetched an image URL."""
    from gan_eval.workspace import Workspace

    ws = Workspace(tmp_path / "md-ws")
    at = open_app(ws, "workspace")
    evil = "[Session expired, sign in](http://evil.example/x) ![t](http://evil.example/i.png) **x**.zip"
    at.file_uploader(key="up-subs").set_value([(evil, b"PK\x03\x04 not a zip", "application/zip")])
    at.text_input(key="up-teams").set_value("team")
    at = at.form_submit_button[1].click().run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert "was not added" in error
    assert "](http" not in error and "![" not in error and "**x**" not in error
    rendered = error.replace("\\", "").replace("\u200b", "")
    assert "[Session expired, sign in](http://evil.example/x)" in rendered  # the name, as text


def test_a_selection_of_many_cases_shows_a_clickable_grid_with_counts(small_workspace):
    result = evaluate_workspace(small_workspace)
    good = [cid for cid in small_workspace.case_set("good").ids][:13]
    picked = [("good", cid) for cid in good] + [(REAL, small_workspace.case_set(REAL).ids[0])]
    at = open_app(small_workspace, "embedding_map", **{"map-selection": picked})
    assert not at.exception
    assert any(m.value.startswith("**14 selected cases** — real: 1 · good: 13") for m in at.markdown)
    grid = {b.key: b for b in at.button if b.key and b.key.startswith("map-grid-")}
    assert len(grid) == 12 and grid["map-grid-3"].label == f"good / {good[3]}"  # the first page of 12
    figure = figures(at)[0]
    assert figure["data"][-1]["name"] == "selected (14)"  # the selection stays ringed on the map
    at = grid["map-grid-3"].click().run()
    assert not at.exception
    assert f"good / {good[3]}" in json.dumps(figures(at)[0]["layout"]["title"])
    assert result["submissions"]["good"]["n"] == 40


def test_the_viewer_puts_cases_in_one_zoom_group_and_windows_by_preset(small_workspace):
    # The zoom itself lives in the browser (ui/linked_zoom.js, tested in test_browser.py); the
    # page must name the group, with each image's size, on the case and on its nearest real case.
    at = open_app(small_workspace, "case_viewer")
    assert not at.exception
    first = figures(at)[0]
    real_case = small_workspace.case_set(REAL)[0]
    height, width = real_case.images[0].shape
    assert first["layout"]["meta"] == {"zoom_group": "viewer", "width": width, "height": height}
    assert first["layout"]["dragmode"] == "zoom"
    at = at.button(key="viewer-next").click().run()
    assert figures(at)[0]["layout"]["title"] != first["layout"]["title"]
    at.selectbox(key="viewer-set").set_value("good")
    at = at.run()
    generated, twin = figures(at)
    assert generated["layout"]["meta"]["zoom_group"] == twin["layout"]["meta"]["zoom_group"] == "viewer"
    at.selectbox(key="viewer-set").set_value(REAL)
    at = at.run()
    at.selectbox(key="viewer-preset-all").set_value("Full range")
    at = at.run()
    heatmap = [t for t in figures(at)[0]["data"] if t["type"] == "heatmap"][0]
    case = small_workspace.case_set(REAL)[1]
    assert heatmap["zmin"] == pytest.approx(float(case.images[0].min()))
    assert heatmap["zmax"] == pytest.approx(float(case.images[0].max()))
