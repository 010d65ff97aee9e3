"""Jury mode in real browsers: two readers signed in at once by their invite links each see only
their own blinded reading (no team name, file name or case id in the page, its URL or its images),
no organiser control, and keep their identity across a reload; a wrong link and a visitor get the
sign-in page only."""

from __future__ import annotations

import re
import shutil

import pytest

from browser_support import chromium_available, chromium_page, second_page, streamlit_server, wait_until_idle
from gan_eval import access
from gan_eval.evaluation import evaluate_workspace
from gan_eval.workspace import Workspace, service

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not chromium_available(), reason="Debian's chromium is not installed")]
SECRET = "browser-organiser-secret"


def heading(page) -> str:
    page.wait_for_selector("h3 > span[data-heading-text]")
    wait_until_idle(page)
    return page.inner_text("h3 > span[data-heading-text]")


def test_two_readers_see_only_their_own_blinded_reading(small_workspace, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(small_workspace.root, home / "jury",
                    ignore=shutil.ignore_patterns("reader_study.sqlite*", "access.sqlite*", "audit.jsonl"))
    ws = Workspace(home / "jury")
    result = evaluate_workspace(ws)
    service.set_served_workspace(ws.root, home)
    invites = access.Invites(ws.access_db)
    readers = [("Dr Alice", invites.create("Dr Alice")[1]), ("Dr Bob", invites.create("Dr Bob")[1])]
    case_ids = [cid for s in result["submissions"].values() for cid in s["selected_cases"]]
    filenames = [e.filename for e in ws.submissions.values()]
    env = {access.ORGANISER_ENV: SECRET, "GAN_EVAL_DEMO_AT_START": "0"}
    with streamlit_server(home, "", env=env) as url, chromium_page(1440, 900) as first, \
            second_page(first, 1440, 900) as second:
        for page, (name, token) in zip((first, second), readers):
            page.goto(f"{url}/?invite={token}")
            assert heading(page) == "Reader study"
        for page, (name, token) in zip((first, second), readers):
            page.wait_for_selector("text=Case 1 of")
            wait_until_idle(page)
            text, dom = page.inner_text("body"), page.content()
            assert f"Signed in as {name}" in text
            other = [n for n, _ in readers if n != name][0]
            assert other not in text, "a reader never sees another reader"
            for team in result["submissions"]:
                assert not re.search(rf"\b{re.escape(team)}\b", text), team
            for needle in case_ids + filenames:
                assert needle not in dom and needle not in page.url, needle
            images = page.eval_on_selector_all("img", "els => els.map(e => e.src + ' ' + e.alt)")
            assert not any(cid in src for cid in case_ids for src in images)
            links = page.eval_on_selector_all('[data-testid="stSidebarNav"] a', "els => els.map(e => e.innerText)")
            assert {link.splitlines()[-1] for link in links} <= {"Reader study", "Sign in"}, links
            assert "Close reading" not in text and "Organiser" not in text and "Invite" not in text
            page.reload()
            assert heading(page) == "Reader study" and f"Signed in as {name}" in page.inner_text("body")
        # A wrong link and a visitor get the sign-in page, and nothing else.
        first.goto(f"{url}/?invite=not-a-token")
        assert heading(first) == "Sign in"
        assert "invite link is not valid" in first.inner_text("body")
        second.goto(url)
        assert heading(second) == "Sign in"
        for team in result["submissions"]:
            assert not re.search(rf"\b{re.escape(team)}\b", second.inner_text("body"))
