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


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 4 KB in every computation done a block of rows at a time (``metrics.distances``),
    so that a small test set takes many of them."""
    from gan_eval.metrics import distances

    monkeypatch.setattr(distances, "BLOCK_BYTES", 4096)
