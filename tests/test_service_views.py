"""The library side of the map, viewer, leaderboard and progress: colours, picked cases, hover
details, window presets, the leaderboard's layout and formats, overall progress, and the
evaluation that publishes provisional rows."""

import shutil

import numpy as np
import pytest

from gan_eval import palette
from gan_eval.archives import write_archive
from gan_eval.evaluation import embed_set, evaluate_workspace
from gan_eval.figures import case_figure, embedding_map
from gan_eval.phantom import make_cases
from gan_eval.render import WINDOW_PRESETS, intensity_range, percentile_window, preset_window
from gan_eval.scoring import leaderboard_rows
from gan_eval.workspace import REAL, Workspace
from gan_eval.workspace import staged
from gan_eval.workspace import explore


# ------------------------------------------------------------------------------------- colours

def test_palette_has_12_colours_distinct_under_colour_blindness():
    assert len(set(palette.TEAM_PALETTE)) == 12 and palette.REFERENCE_COLOUR not in palette.TEAM_PALETTE
    differences = palette.min_difference(list(palette.TEAM_PALETTE))
    assert set(differences) == {"normal", "protanopia", "deuteranopia", "tritanopia"}
    assert min(differences.values()) > 18  # CIE76 ΔE: clearly different colours for every vision


def test_assign_colours_keeps_colours_and_reuses_only_past_the_palette():
    first = palette.assign_colours({}, ["b", "a"])
    assert first == {"b": palette.TEAM_PALETTE[0], "a": palette.TEAM_PALETTE[1]}  # order of arrival, not names
    assert palette.assign_colours(first, ["aa", "b", "a"])["aa"] == palette.TEAM_PALETTE[2]
    assert palette.assign_colours(first, ["aa", "b", "a"])["b"] == first["b"]
    many = palette.assign_colours({}, [f"t{i}" for i in range(14)])
    assert len({many[f"t{i}"] for i in range(12)}) == 12
    # A removed team's colour goes to a newcomer only once every colour has been handed out.
    removed = palette.assign_colours({"gone": palette.TEAM_PALETTE[0]}, ["new"])
    assert removed["new"] == palette.TEAM_PALETTE[1]


def _archive(tmp_path, name, n=3, seed=0):
    path = tmp_path / f"{name}.zip"
    write_archive(make_cases(n, seed=seed, size=32, prefix=name), path)
    return path


def test_workspace_team_colours_are_stored_and_survive_new_teams(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.add_archive(REAL, _archive(tmp_path, "r"))
    for name in ("zeta", "alpha"):
        ws.add_archive(name, _archive(tmp_path, name, seed=1))
    before = ws.team_colours()
    assert before == {"zeta": palette.TEAM_PALETTE[0], "alpha": palette.TEAM_PALETTE[1]}
    ws.add_archive("baseline-gan", _archive(tmp_path, "b", seed=2))
    after = Workspace(tmp_path / "ws").team_colours()  # read back from workspace.json
    assert {k: after[k] for k in before} == before and after["baseline-gan"] == palette.TEAM_PALETTE[2]


# ------------------------------------------------------------------------------------- the map

def test_picked_cases_reads_customdata_as_list_or_dict_with_string_keys():
    points = [{"customdata": {"0": "good", "1": "good_0011", "2": 7}},
              {"customdata": ["real", "real_0003", 1]},
              {"customdata": {"1": "good_0011", "0": "good", "2": 7}},  # a repeat
              {"point_index": 3}]
    assert explore.picked_cases(points) == [("good", "good_0011"), ("real", "real_0003")]


def test_map_points_rows_hover_and_selection(small_workspace):
    result = evaluate_workspace(small_workspace)
    embeddings = {n: embed_set(small_workspace, n) for n in small_workspace.set_names()}
    points = explore.all_map_points(result, embeddings)
    assert list(dict.fromkeys(points.set_names)) == [REAL, *result["submissions"]]
    rows = explore.map_rows(points, ["good"])
    assert {points.set_names[r] for r in rows} == {REAL, "good"}
    details = explore.map_hover_details(points, result, embeddings[REAL])
    copy = result["submissions"]["memorized"]["suspected_copies"][0]
    row = explore.selected_rows(points, [("memorized", copy["generated"])])[0]
    assert f"nearest real {copy['real']}" in details[row] and "a suspected copy" in details[row]
    assert all("K-means selected" in details[r] for r in np.flatnonzero(points.highlighted))
    assert explore.selection_counts([("good", "a"), ("real", "b"), ("good", "c")], [REAL, "good", "blurry"]) == \
        {REAL: 1, "good": 2}


def test_embedding_map_draws_diamonds_on_top_keeps_looks_and_rings_the_selection():
    coords = np.arange(20, dtype=float).reshape(10, 2)
    sets = ["real"] * 4 + ["<b>team</b>"] * 6
    ids = [f"c{i}" for i in range(10)]
    highlighted = np.array([False] * 8 + [True] * 2)
    fig = embedding_map(coords, sets, ids, highlighted, "PCA", colours={"<b>team</b>": "#123456"}, selected=[1, 9])
    kinds = [(t.type, t.name) for t in fig.data]
    assert kinds == [("scattergl", "&lt;b&gt;team&lt;/b&gt;"), ("scattergl", "real"),
                     ("scatter", "&lt;b&gt;team&lt;/b&gt; (cluster-selected)"), ("scatter", "selected (2)")]
    assert fig.data[0].marker.color == "#123456" and fig.data[1].marker.color == palette.REFERENCE_COLOUR
    for trace in fig.data[:3]:  # a selection never greys the other points out
        assert trace.unselected.marker.opacity == trace.marker.opacity
    assert [list(map(str, row)) for row in fig.data[3].customdata] == [["real", "c1", "1"], ["<b>team</b>", "c9", "9"]]
    assert "&lt;b&gt;" in fig.data[0].hovertext[0]  # upload-derived names are text in hover labels
    assert fig.layout.uirevision == "map"


# ----------------------------------------------------------------------------------- the viewer

def test_window_presets_and_the_viewer_figure():
    case = make_cases(1, seed=3, size=64)[0]
    image = case.images[0]
    assert preset_window(image, "Auto (0.5–99.5 %)") == percentile_window(image)
    level, width = preset_window(image, "Full range")
    assert level - width / 2 == pytest.approx(image.min()) and level + width / 2 == pytest.approx(image.max())
    assert intensity_range(np.zeros((4, 4))) == (0.0, 1.0)
    with pytest.raises(ValueError, match="unknown window preset"):
        preset_window(image, "Lung")
    windows = [preset_window(im, next(iter(WINDOW_PRESETS))) for im in case.images]
    fig = case_figure(case, windows, show_mask=True, title="a <i>b</i>", uirevision="viewer")
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 3 and "value %{z" in heatmaps[0].hovertemplate  # the pixel value under the pointer
    assert heatmaps[1].zmin == pytest.approx(windows[1][0] - windows[1][1] / 2)
    assert fig.layout.uirevision == "viewer" and fig.layout.title.text == "a &lt;i&gt;b&lt;/i&gt;"
    assert fig.layout.xaxis2.matches == "x" and fig.layout.yaxis3.matches == "y"


# ------------------------------------------------------------------------------ the leaderboard

def test_leaderboard_layout_puts_the_challenge_first_and_groups_the_rest(small_workspace):
    from gan_eval.metrics import registry

    rows = leaderboard_rows(evaluate_workspace(small_workspace))
    layout = explore.leaderboard_layout(rows)
    assert layout.challenge == ["quantitative_rank", "n", "fid", "fid_score", "loo_accuracy", "diversity_score",
                                "quantitative_score"]
    grouped = [c for _, cols in layout.groups for c in cols]
    # Hidden until the reader study is closed (the reference flag: until there is a reference set).
    reading = {"rank", "qualitative_score", "final_score", "qualitative_ci95_low", "qualitative_ci95_high", "reads",
               "reference"}
    assert sorted(grouped + layout.challenge) == sorted(c for c in registry.table_columns()
                                                        if c in rows[0] and c not in reading)
    assert len(grouped) == len(set(grouped))
    ranked = [dict(r, rank=1 if i == 0 else None, qualitative_score=10.0 if i == 0 else None,
                   final_score=0.5 if i == 0 else None) for i, r in enumerate(rows)]
    ranked_layout = explore.leaderboard_layout(ranked)
    assert ranked_layout.challenge[0] == "rank" and ranked_layout.challenge[-3:] == ["qualitative_score", "final_score",
                                                                                      "reads"]
    assert ("Ranks", ["quantitative_rank"]) in ranked_layout.groups


def test_leaderboard_cells_have_one_format_per_column():
    assert explore.formatted("loo_accuracy", 0.45) == "45.0%"
    assert explore.formatted("loo_accuracy", 0.5156) == "51.6%"
    assert explore.formatted("kid", -0.00001) == "0.0000"
    assert explore.formatted("rank", None) == explore.formatted("rank", float("nan")) == "—"
    assert explore.formatted("rank", 2.0) == "2" and explore.formatted("fid", 12.3456) == "12.35"


# ------------------------------------------------------------------------------------- progress

def test_overall_progress_spans_every_set_and_ignores_cached_sets_in_its_rate():
    now = [0.0]
    forwarded = []
    tracker = staged.OverallProgress({"embedding real": 100, "embedding a": 1000, "embedding b": 1000},
                                      forward=lambda *call: forwarded.append(call))
    tracker._clock = lambda: now[0]
    tracker(100, 100, "embedding real")        # all cached: done at once, no speed measured
    assert tracker.completed == 100 and not tracker.computing and tracker.seconds_left() is None
    tracker(0, 1000, "embedding a")
    now[0] = 10.0
    tracker(500, 1000, "embedding a")          # 500 cases in 10 s: 1500 left -> 30 s
    assert tracker.fraction == pytest.approx(600 / 2100) and tracker.seconds_left() == pytest.approx(30.0)
    tracker(0, None, "scoring")                # not a counted stage
    assert tracker.completed == 600 and "now: scoring" in tracker.describe()
    assert forwarded[-1] == (0, None, "scoring")


def test_evaluation_totals_count_every_set(small_workspace):
    totals = staged.evaluation_totals(small_workspace)
    sets = {n: small_workspace.entry(n).n_accepted for n in small_workspace.set_names()}
    # Radiomics, the comparison space found on every machine (no weights), counts too.
    assert totals == {f"embedding {n}": k for n, k in sets.items()} | {f"embedding {n} in radiomics": k
                                                                         for n, k in sets.items()}


def test_evaluate_in_steps_shows_rows_early_and_ends_with_the_evaluation(tmp_path, monkeypatch):
    """The demo built in steps: the real and small sets are scored first (provisional), then each
    set as it is written; the final result is evaluate_workspace's, from the same stored key."""
    monkeypatch.setenv("GAN_EVAL_HOME", str(tmp_path))
    options = dict(size=64, n_real=12, n_cases=12, n_small=6, workers=1)
    ws = Workspace(tmp_path / "demo")
    published = []
    calls = []
    totals = staged.evaluation_totals(ws, options)
    assert totals[staged.DEMO_BUILD_STAGE] == 12 + 5 * 12 + 6
    tracker = staged.OverallProgress(totals, forward=lambda *c: calls.append(c))
    done_when_published = []

    def publish(scores):
        published.append(scores)
        done_when_published.append(tracker.fraction)
    result = staged.evaluate_in_steps(ws, progress=tracker, publish=publish, demo_options=options)
    # The bar is not full while the radiomic features are computed, and is at the end.
    assert done_when_published[-2] < 1 and done_when_published[-1] == tracker.fraction == 1
    assert published[0].provisional and list(published[0].result["submissions"]) == ["small"]
    assert published[-1].pending == () and published[-1].result == result
    # Before the radiomic features are computed, every row, final in the workspace's backbone.
    every_row = published[-2]
    assert every_row.pending == () and every_row.pending_spaces == ("radiomics",) and every_row.provisional
    assert every_row.result["submissions"].keys() == result["submissions"].keys()
    for name, record in result["submissions"].items():
        assert record["frd"] is not None and every_row.result["submissions"][name]["frd"] is None
        assert {k: v for k, v in every_row.result["submissions"][name].items() if k != "frd"} == \
            {k: v for k, v in record.items() if k != "frd"}
    assert {k: v for k, v in every_row.result.items() if k not in ("submissions", "frechet_by_space", "rank_agreement")} \
        == {k: v for k, v in result.items() if k not in ("submissions", "frechet_by_space", "rank_agreement")}
    assert [len(p.result["submissions"]) for p in published] == sorted(len(p.result["submissions"]) for p in published)
    assert set(ws.set_names()) == {REAL, "good", "collapsed", "memorized", "blurry", "inconsistent", "small"}
    assert ws.entry("good").n_accepted == 12 and ws.entry("small").n_accepted == 6
    assert result == evaluate_workspace(ws)
    assert any(stage == staged.DEMO_BUILD_STAGE for _, _, stage in calls)
    assert not list(ws.root.glob("demo_staging*"))
    assert any(stage == "embedding good in radiomics" for _, _, stage in calls)
    # Every set in the cache in every space: no provisional scores, no false "being computed".
    published.clear()
    assert staged.evaluate_in_steps(ws, publish=published.append) == result
    assert [p.provisional for p in published] == [False]
    # Every set in the cache, radiomics not (its code changed, say): the rows come first all the same.
    shutil.rmtree(next((ws.cache_dir / "features").glob("radiomics*")))
    published.clear()
    calls.clear()

    def publish_in_order(scores):
        published.append(scores)
        calls.append(("published", scores.pending_spaces))
    assert staged.evaluate_in_steps(ws, progress=lambda *c: calls.append(c), publish=publish_in_order) == result
    assert [p.pending_spaces for p in published] == [("radiomics",), ()]
    first_radiomics = next(i for i, c in enumerate(calls) if str(c[-1]).endswith("in radiomics"))
    assert calls.index(("published", ("radiomics",))) < first_radiomics
