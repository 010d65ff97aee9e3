"""The leaderboard page shows the ranking statistics the library computed: rank intervals and
probabilities, P(A beats B), the noise floor, the size note, the final score's rank confidence."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from gan_eval.evaluation import evaluate_workspace
from gan_eval.metrics import registry
from gan_eval.reader_scores import CRITERION_KEYS, Rating, qualitative_scores
from gan_eval.scoring import add_qualitative

APP = Path(__file__).resolve().parents[1] / "app.py"


def open_leaderboard(ws) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["workspace_root"] = str(ws.root)
    at.switch_page("views/leaderboard.py")
    return at.run()


def test_rank_confidence_and_noise_floor_as_the_library_computed_them(small_workspace):
    result = evaluate_workspace(small_workspace)
    at = open_leaderboard(small_workspace)
    assert not at.exception
    tables = [d.value for d in at.dataframe]
    ranks = next(t for t in tables if "rank (95%)" in t.columns)
    best = min(result["submissions"], key=lambda n: result["submissions"][n]["quantitative_rank"])
    s = result["submissions"][best]
    assert ranks.index[0] == best
    assert ranks.loc[best, "rank (95%)"] == f"{s['quantitative_rank']} ({s['rank_ci95'][0]}–{s['rank_ci95'][1]})"
    assert ranks.loc[best, "P(rank 1)"] == registry.output("rank_probabilities").format(s["rank_probabilities"][0])
    beats = next(t for t in tables if set(t.columns) == set(t.index) and best in t.columns)
    other = next(n for n in beats.index if n != best)
    assert beats.loc[best, best] == registry.MISSING, "a team against itself shows the missing mark, not None"
    assert beats.loc[best, other] == registry.output("rank_pairwise").format(
        result["rank_confidence"]["pairwise"][best][other])
    assert not any(t.isna().any().any() for t in tables if t.dtypes.eq(object).all()), "a text table shows None"
    floor = next(t for t in tables if "FID" in t.columns and "KID" in t.columns)
    fid = registry.output("fid")
    assert floor.loc["real vs real", "FID"] == (f"{fid.format(result['noise_floor']['fid'])} ± "
                                                f"{fid.format(result['noise_floor_spread']['fid'])}")
    warnings = " ".join(w.value for w in at.warning)
    assert result["sizes_differ"] and f"n = {result['fid_matched_n']} generated cases" in warnings


def test_the_final_scores_rank_confidence_once_ratings_are_folded_in(small_workspace, monkeypatch):
    from gan_eval.workspace import service

    result = evaluate_workspace(small_workspace)
    teams = ["good", "collapsed"]
    ratings = [Rating(reader, team, case, key, value)
               for reader, value in (("A", 4), ("B", 2))
               for team in teams for case in result["submissions"][team]["selected_cases"] for key in CRITERION_KEYS]
    scored = add_qualitative(result, qualitative_scores(ratings), ratings=ratings)
    monkeypatch.setattr(service, "leaderboard", lambda ws, r: scored)
    at = open_leaderboard(small_workspace)
    assert not at.exception
    assert any("Final score" in m.value for m in at.markdown)
    final = [d.value for d in at.dataframe if "rank (95%)" in d.value.columns][1]
    assert sorted(final.index) == sorted(teams)
    for team in teams:
        s = scored["submissions"][team]
        assert final.loc[team, "rank (95%)"] == f"{s['rank']} ({s['final_rank_ci95'][0]}–{s['final_rank_ci95'][1]})"
