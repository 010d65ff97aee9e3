"""Jury mode in the app, per role (AppTest): a visitor sees only the sign-in page; a reader's
invite link shows only the reading page, blinded, and survives a rerun; a wrong or revoked token
is refused and repeated failures are slowed; the organiser's controls are the organiser's; demo
mode is unchanged; exports withhold the reading pool while reading is open."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from gan_eval import access
from gan_eval.evaluation import evaluate_workspace
from gan_eval.workspace import Workspace, service

APP = Path(__file__).resolve().parents[1] / "app.py"
SECRET = "organiser-s3cret"


@pytest.fixture
def jury(small_workspace, tmp_path, monkeypatch):
    """A copy of the small workspace served by a jury server (organiser secret set)."""
    home = tmp_path / "home"
    root = home / "jury"
    shutil.copytree(small_workspace.root, root, ignore=shutil.ignore_patterns("reader_study.sqlite*"))
    monkeypatch.setenv("GAN_EVAL_HOME", str(home))
    monkeypatch.setenv(access.ORGANISER_ENV, SECRET)
    service.set_served_workspace(root, home)
    ws = Workspace(root)
    evaluate_workspace(ws)
    return ws


def run(page: str | None = None, query: dict | None = None, **state) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in state.items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if page:
        at.switch_page(f"views/{page}.py")
    return at.run()


def visible_text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "success", "warning", "error", "subheader", "title", "code"):
        parts += [str(e.value) for e in getattr(at, kind)]
    for kind in ("button", "selectbox", "radio", "text_input", "toggle", "checkbox", "multiselect"):
        parts += [str(w.label) for w in getattr(at, kind)]
    parts += [json.dumps(json.loads(e.proto.spec)) for e in at.get("plotly_chart")]
    parts += [str(d.value.to_dict()) for d in at.dataframe]
    return "\n".join(parts)


def test_a_visitor_sees_only_the_sign_in_page(jury):
    for page in (None, "leaderboard", "workspace", "case_viewer", "reader_study"):
        at = run(page)
        assert not at.exception, at.exception
        assert [s.value for s in at.subheader] == ["Sign in"], page
        shown = visible_text(at)
        for team in jury.submissions:
            assert team not in shown
        assert not at.dataframe and not at.get("plotly_chart")


def test_a_reader_link_shows_only_the_blinded_reading_and_survives_a_rerun(jury):
    result = evaluate_workspace(jury)
    reader, token = access.Invites(jury.access_db).create("Dr Alice")
    at = run(query={"invite": token})
    assert not at.exception, at.exception
    assert [s.value for s in at.subheader] == ["Reader study"]
    assert [t.label for t in at.tabs] == ["Read cases"], "no organiser tab for a reader"
    shown = visible_text(at)
    assert "Signed in as **Dr Alice**" in shown
    for team, scores in result["submissions"].items():
        assert team not in shown
        assert not any(case_id in shown for case_id in scores["selected_cases"])
    for entry in jury.submissions.values():
        assert entry.filename not in shown
    assert not any(b.key in ("close-reading", "reopen-reading", "revoke") for b in at.button)
    # Pages a reader may not open are not there: asking for one lands on the reading page.
    for page in ("leaderboard", "case_viewer", "workspace", "diagnosis", "embedding_map"):
        other = run(page, query={"invite": token})
        assert [s.value for s in other.subheader] == ["Reader study"], page
    at = at.run()  # a reload keeps the identity: it is the link
    assert "Signed in as **Dr Alice**" in visible_text(at)


def test_wrong_and_revoked_tokens_are_refused_and_failures_slowed(jury, monkeypatch):
    from ui import auth

    reader, token = access.Invites(jury.access_db).create("Bob")
    access.Invites(jury.access_db).revoke(reader.id)
    at = run(query={"invite": token})
    assert [s.value for s in at.subheader] == ["Sign in"]
    assert any("invite link is not valid" in e.value for e in at.error)
    # Wrong organiser secrets: after three, even the right one must wait.
    auth._throttle.clear()
    at = run()
    for _ in range(3):
        at.text_input(key="organiser-secret").set_value("guess")
        at = at.form_submit_button[0].click().run()
        assert [e.value for e in at.error] == ["Wrong organiser secret."]
    at.text_input(key="organiser-secret").set_value(SECRET)
    at = at.form_submit_button[0].click().run()
    assert [e.value for e in at.error][0].startswith("Too many failed attempts"), [e.value for e in at.error]
    assert [s.value for s in at.subheader] == ["Sign in"]
    auth._throttle.clear()


def test_the_organiser_manages_readers_and_closing_needs_confirmation(jury):
    at = run()
    at.text_input(key="organiser-secret").set_value(SECRET)
    at = at.form_submit_button[0].click().run()
    assert not at.exception, at.exception
    assert at.session_state["organiser"] is True
    at.switch_page("views/reader_study.py")
    at = at.run()
    assert [t.label for t in at.tabs] == ["Organiser"]
    at.text_input(key="invite-name").set_value("Dr Carol")
    at = [b for b in at.form_submit_button if b.label == "Create invite link"][0].click().run()
    (link,) = [c.value for c in at.code]
    token = link.split("invite=")[1]
    assert access.Invites(jury.access_db).reader_for(token).name == "Dr Carol"
    assert token not in (jury.root / "access.sqlite").read_bytes().decode("latin-1")
    # Nothing is read yet: closing names what is missing and is disabled until confirmed.
    assert any("Dr Carol" in w.value and "unread" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.button(key="close-reading").disabled
    at.checkbox(key="close-anyway").check()
    at = at.run()
    at = at.button(key="close-reading").click().run()
    assert service.reader_study(jury).is_closed()
    actions = [e["action"] for e in access.AuditLog(jury.audit_log).entries()]
    assert actions == ["sign in", "invite reader", "close reading"]


def test_exports_withhold_the_reading_pool_while_reading_is_open(jury):
    result = evaluate_workspace(jury)
    exported = service.exportable(jury, result)
    assert all("selected_cases" not in s for s in exported["submissions"].values())
    assert "selected_cases" in next(iter(result["submissions"].values())), "the stored result is untouched"
    service.reader_study(jury).close_reading()
    assert service.exportable(jury, result) == result


def test_demo_mode_is_unchanged_and_says_it_has_no_access_control(small_workspace, monkeypatch):
    monkeypatch.delenv(access.ORGANISER_ENV, raising=False)
    at = run("leaderboard", workspace_root=str(small_workspace.root))
    assert not at.exception
    assert [s.value for s in at.subheader] == ["Leaderboard"]
    assert any("Demo mode: no access control" in c.value for c in at.caption)


def test_publishing_shows_the_frozen_results_to_visitors(jury):
    from gan_eval import publish

    result = evaluate_workspace(jury)
    service.reader_study(jury).close_reading()
    at = run()
    assert [s.value for s in at.subheader] == ["Sign in"], "nothing published yet"
    at.text_input(key="organiser-secret").set_value(SECRET)
    at = at.form_submit_button[0].click().run()
    assert any("Draft: these results are not published" in w.value for w in at.warning)
    at = at.button(key="publish").click().run()
    assert not at.exception, at.exception
    snapshot = publish.latest(jury)
    assert snapshot is not None and any("published results" in s.value for s in at.success)
    assert "publish" in [e["action"] for e in access.AuditLog(jury.audit_log).entries()]
    visitor = run()
    assert [s.value for s in visitor.subheader] == ["Published results"]
    table = visitor.dataframe[0].value
    for team, scores in snapshot.result["submissions"].items():
        assert table.loc[team, "fid"] == pytest.approx(scores["fid"])
    assert snapshot.digest in visible_text(visitor)
    assert not any(b.key in ("publish", "close-reading") for b in visitor.button)
    assert result["fid_max"] == snapshot.result["fid_max"]


def test_a_turing_test_mixes_real_cases_and_asks_readers(jury):
    """The organiser turns the test on; the reader gets real cases among the blinded ones and must
    say real or generated; after closing the organiser sees the rates."""
    from gan_eval.reader_scores import CRITERION_KEYS

    at = run()
    at.text_input(key="organiser-secret").set_value(SECRET)
    at = at.form_submit_button[0].click().run()
    at.switch_page("views/reader_study.py")
    at = at.run()
    at.number_input(key="turing-n-real").set_value(3)
    at.toggle(key="turing-enabled").set_value(True)
    at = at.run()
    assert not at.exception, at.exception
    study = service.reader_study(jury)
    assert tuple(study.turing_setting()) [:2] == (True, 3)
    result = evaluate_workspace(jury)
    pool = service.reading_pool(jury, result)
    assert len(pool["real"]) == 3

    reader, token = access.Invites(jury.access_db).create("Dr Dee")
    page = run(query={"invite": token})
    shown = visible_text(page)
    assert "Is this case real or generated?" in shown
    assert not any(case_id in shown for case_id in pool["real"]), "real cases are blinded like any"
    # Saving without the verdict is refused with the reason; with it, the case is stored.
    for radio in page.radio:
        if radio.key and radio.key.startswith("rate-"):
            radio.set_value(2)
    page = [b for b in page.form_submit_button if b.label == "Save and next"][0].click().run()
    assert any("real or generated, and how sure" in w.value for w in page.warning)
    for radio in page.radio:
        if radio.key and radio.key.startswith("rate-"):
            radio.set_value(2)
        elif radio.key and radio.key.startswith("turing-says-"):
            radio.set_value("real")
        elif radio.key and radio.key.startswith("turing-confidence-"):
            radio.set_value(3)
    page = [b for b in page.form_submit_button if b.label == "Save and next"][0].click().run()
    assert not page.exception, page.exception
    (verdict,) = study.verdicts(selected=pool)
    assert verdict.says == "real" and verdict.confidence == 3 and verdict.reader == "Dr Dee"
    # The organiser closes and sees the Turing test's rates beside the scores.
    for item in study.reader_order("Dr Dee"):
        if study.ratings_for("Dr Dee", item):
            continue
        team, _ = study.item_reference(item)
        study.save_ratings("Dr Dee", item, {k: 3 for k in CRITERION_KEYS},
                           verdict=("real" if team == "real" else "generated", 2))
    study.close_reading()
    at = at.run()
    assert not at.exception, at.exception
    assert any(s.value == "#### Visual Turing test" for s in at.markdown)
    summary = service.reading_summary(jury, result, ["Dr Dee"])
    assert summary["detection"]["Dr Dee"].n_reads == sum(len(v) for v in pool.values())
