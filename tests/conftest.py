"""Shared fixtures: a small demo workspace, embedded and scored once per test session."""

import pytest

SMALL_DEMO = dict(size=64, n_real=24, n_cases=40, n_small=12)


@pytest.fixture(scope="session")
def small_workspace(tmp_path_factory):
    """A demo-like workspace (phantom real set + the six demo submissions, small) with its
    embeddings and evaluation already in the workspace cache."""
    from gan_eval.evaluation import evaluate_workspace
    from gan_eval.workspace import open_demo_workspace

    ws = open_demo_workspace(tmp_path_factory.mktemp("home") / "jury-ws", **SMALL_DEMO)
    evaluate_workspace(ws)
    return ws
