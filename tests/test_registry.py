"""The metric registry: a metric registered here appears in evaluate, the leaderboard rows, the
CLI table and the app's leaderboard columns without touching any other file; registration is
validated with exact messages; the stored results' version follows the registry."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gan_eval.cli.score import format_leaderboard
from gan_eval.embedding_set import EmbeddingSet
from gan_eval.evaluation import evaluate_workspace
from gan_eval.metrics import registry
from gan_eval.metrics.registry import Metric, Output
from gan_eval.scoring import evaluate, leaderboard_rows

APP = Path(__file__).resolve().parents[1] / "app.py"


def spread_ratio(inputs: registry.SubmissionInputs) -> dict:
    """A toy metric: the generated features' spread relative to the real ones'."""
    return {"spread_ratio": float(inputs.generated.std() / inputs.real.std())}


SPREAD = Metric("spread", spread_ratio, (Output("spread_ratio", "Spread ratio", 3, "generated sd / real sd"),))


@pytest.fixture
def spread_metric():
    registry.register(SPREAD)
    yield SPREAD
    registry.unregister("spread")


def sets():
    rng = np.random.default_rng(0)
    make = lambda x, p: EmbeddingSet(x.astype(np.float32), [f"{p}{i}" for i in range(len(x))], "b", "f" * 16, p)
    return make(rng.normal(size=(30, 8)), "r"), {"wide": make(rng.normal(size=(40, 8)) * 2, "w"),
                                                 "same": make(rng.normal(size=(40, 8)), "s")}


def test_a_registered_metric_reaches_evaluate_rows_and_the_cli_table(spread_metric):
    real, subs = sets()
    result = evaluate(real, subs)
    wide = result["submissions"]["wide"]["spread_ratio"]
    assert wide == pytest.approx(subs["wide"].features.std() / real.features.std())
    assert 1.6 < wide < 2.4 and result["submissions"]["same"]["spread_ratio"] < 1.3
    rows = {r["submission"]: r for r in leaderboard_rows(result)}
    assert rows["wide"]["spread_ratio"] == wide
    table = format_leaderboard(result)
    assert "Spread ratio" in table.splitlines()[1]
    assert f"{wide:.3f}" in next(line for line in table.splitlines() if line.startswith("wide"))


def test_a_registered_metric_heads_its_own_leaderboard_group_by_its_title():
    from gan_eval.workspace import explore

    real, subs = sets()
    titled = Metric("spread", spread_ratio, SPREAD.outputs, title="Feature spread against the real set")
    for metric, heading in ((titled, "Feature spread against the real set"), (SPREAD, "Spread")):
        registry.register(metric)
        try:
            layout = explore.leaderboard_layout(leaderboard_rows(evaluate(real, subs)))
        finally:
            registry.unregister("spread")
        assert (heading, ["spread_ratio"]) in layout.groups


def test_registering_a_metric_changes_the_results_version(spread_metric):
    with_metric = registry.version()
    registry.unregister("spread")
    try:
        assert registry.version() != with_metric
    finally:
        registry.register(SPREAD)
    assert registry.version() == with_metric


def test_a_registered_metric_is_a_leaderboard_column_in_the_app(small_workspace, spread_metric):
    expected = {r["submission"]: r["spread_ratio"] for r in leaderboard_rows(evaluate_workspace(small_workspace))}
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["workspace_root"] = str(small_workspace.root)
    at.switch_page("views/leaderboard.py")
    at.run()
    deadline = time.monotonic() + 120
    while not [d for d in at.dataframe if "spread_ratio" in d.value.columns] and time.monotonic() < deadline:
        time.sleep(1)  # a scoring job started before the metric was registered: the page shows it when done
        at.run()
    assert not at.exception, at.exception
    # The metric gets its own group of columns (the challenge's table comes first).
    (table,) = [d.value for d in at.dataframe if "spread_ratio" in d.value.columns]
    for name, value in expected.items():
        assert table.loc[name, "spread_ratio"] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("metric,message", [
    (Metric("fid", spread_ratio, (Output("x", "X"),)), "metric 'fid' is already registered"),
    (Metric("other", spread_ratio, (Output("fid", "FID again"),)),
     "metric 'other': output key 'fid' is already defined by fid"),
    (Metric("other", spread_ratio, (Output("rank", "Rank again"),)),
     "metric 'other': output key 'rank' is already defined by the leaderboard"),
    (Metric("other", spread_ratio, ()), "metric 'other' declares no outputs"),
    (Metric("other", spread_ratio, (Output("x", "X", decimals=-1),)), "metric 'other': output 'x' needs 0-12 decimals"),
    (Metric("other", spread_ratio, (Output("x", "X", unit="cm"),)), "metric 'other': output 'x' has unknown unit 'cm'"),
    (Metric("other", spread_ratio, (Output("x", "X"),), settings={"n_boot": 3}),
     "metric 'other': setting(s) n_boot already belong to another metric"),
    (Metric("not an id", spread_ratio, (Output("x", "X"),)), "metric name must be an identifier"),
])
def test_registration_is_validated(metric, message):
    before = registry.version()
    with pytest.raises(ValueError, match=re.escape(message)):
        registry.register(metric)
    assert registry.version() == before


def test_unknown_settings_are_refused():
    real, subs = sets()
    with pytest.raises(ValueError, match=r"unknown metric setting\(s\): n_bot; known: "):
        evaluate(real, subs, settings={"n_bot": 10})


@pytest.mark.parametrize("key,value,shown", [
    ("fid", 4.05123, "4.05"), ("kid", -0.00001, "0.0000"), ("loo_accuracy", 0.4512, "45.1%"),
    ("rank", None, "—"), ("consistency_flag", True, "yes"), ("fid_ci95", [3.64, 4.55], "3.6–4.5"), ("quantitative_score", 0.9698, "0.97"),
])
def test_one_number_format_per_output(key, value, shown):
    assert registry.output(key).format(value) == shown
