"""``python -m gan_eval score`` and ``select`` on embedding files: table, JSON, seeds, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gan_eval.cli as cli
from gan_eval.embedding_set import EmbeddingSet

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("emb")
    rng = np.random.default_rng(0)
    arrays = {
        "real": rng.normal(size=(40, 16)),
        "good": rng.normal(size=(120, 16)),
        "far": rng.normal(size=(120, 16)) + 2.0,
        "narrow": rng.normal(size=(120, 8)),
    }
    paths = {}
    for name, x in arrays.items():
        paths[name] = root / f"{name}.npy"
        np.save(paths[name], x.astype(np.float32))
    paths["inception"] = root / "inception.npz"
    EmbeddingSet(arrays["good"], [f"g{i}" for i in range(120)], "inception-v3", "a" * 64).save(paths["inception"])
    return paths


def score(files, *extra: str) -> int:
    return cli.main(["score", "--real", f"emb:{files['real']}", "--submission", f"good=emb:{files['good']}",
                     "--submission", f"far=emb:{files['far']}", *extra])


def test_prints_leaderboard_and_writes_json(files, tmp_path, capsys):
    out = tmp_path / "result.json"
    assert score(files, "--seed", "3", "--json", str(out)) == 0
    printed = capsys.readouterr().out
    assert "backbone precomputed" in printed and "seed 3" in printed and "40 real cases" in printed
    table = [line.split()[0] for line in printed.splitlines()[2:4]]
    assert table == ["good", "far"]  # best quantitative score first
    result = json.loads(out.read_text())
    assert result["seed"] == 3 and result["backbone"] == "precomputed" and result["real"]["n"] == 40
    good, far = result["submissions"]["good"], result["submissions"]["far"]
    assert far["fid"] > good["fid"] and far["fid_score"] == 0.0
    assert len(good["selected_cases"]) == 10 and good["selected_cases"][0].startswith("case_")
    assert f"{good['fid']:.2f}" in printed
    headings = printed.splitlines()[1].split("  ")
    headings = [h.strip() for h in headings if h.strip()]
    assert headings.count("n") == 1 and len(headings) == len(set(headings)), headings
    assert "final" not in headings and "Reads" not in headings, "no reader-study column before there are scores"


def test_same_seed_same_json(files, tmp_path, capsys):
    paths = [tmp_path / f"{i}.json" for i in range(3)]
    for path, seed in zip(paths, ("5", "5", "6")):
        assert score(files, "--seed", seed, "--json", str(path)) == 0
    capsys.readouterr()
    first, second, other = (json.loads(p.read_text()) for p in paths)
    assert first == second
    assert other["submissions"]["good"]["loo_accuracy"] != first["submissions"]["good"]["loo_accuracy"]


def test_qualitative_scores_give_final_scores_and_ranks(files, tmp_path, capsys):
    qual = tmp_path / "qual.json"
    qual.write_text(json.dumps({"far": 19.0}))
    out = tmp_path / "result.json"
    assert score(files, "--qualitative", str(qual), "--json", str(out)) == 0
    printed = capsys.readouterr().out
    assert " final " in printed.splitlines()[1]
    subs = json.loads(out.read_text())["submissions"]
    assert subs["far"]["final_score"] == pytest.approx((subs["far"]["quantitative_score"] + 19 / 20) / 2)
    assert subs["far"]["rank"] == 1 and subs["good"]["rank"] is None


@pytest.mark.parametrize("args,message", [
    (["--submission", "x=missing.npy"], "x: missing.npy: no such file or folder"),
    (["--submission", "x=emb:{narrow}"], "embedding dimensions differ: real has 16, x has 8"),
    (["--submission", "x=emb:{inception}"], "cannot compare embeddings from different backbones: real uses precomputed"),
    (["--submission", "x=emb:{good}", "--submission", "x=emb:{far}"], "submission name(s) given more than once: x"),
    (["--submission", "x=emb:{good}", "--qualitative", "missing.json"], "missing.json: cannot read the qualitative scores"),
    (["--submission", "x=emb:{good}", "--fid-max", "0"], "fid_max must be a finite number > 0, got 0.0"),
])
def test_bad_input_exits_2_with_a_message(files, args, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    assert cli.main(["score", "--real", f"emb:{files['real']}", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_unknown_qualitative_team_exits_2(files, tmp_path, capsys):
    qual = tmp_path / "qual.json"
    qual.write_text(json.dumps({"nobody": 10}))
    assert score(files, "--qualitative", str(qual)) == 2
    assert "qualitative scores for unknown submission(s): nobody" in capsys.readouterr().err


def test_module_entry_point_reports_without_traceback(files):
    proc = subprocess.run([sys.executable, "-m", "gan_eval", "score", "--real", f"emb:{files['real']}",
                           "--submission", f"bad=emb:{files['narrow']}"], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert proc.returncode == 2
    assert "embedding dimensions differ" in proc.stderr and "Traceback" not in proc.stderr


def test_select_prints_and_writes_the_cases(files, tmp_path, capsys):
    out = tmp_path / "sel.json"
    assert cli.main(["select", f"emb:{files['good']}", "--k", "4", "--seed", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    sel = json.loads(out.read_text())
    assert (sel["k"], sel["n"], sel["seed"], sel["backbone"]) == (4, 120, 2, "precomputed")
    assert len(set(sel["selected_cases"])) == 4
    assert sel["selected_cases"] == [f"case_{i:04d}" for i in sel["selected_indices"]]
    assert all(f"cluster {c}: {case}" in printed for c, case in enumerate(sel["selected_cases"]))
    # Same seed, same cases.
    assert cli.main(["select", f"emb:{files['good']}", "--k", "4", "--seed", "2", "--json", str(out)]) == 0
    assert json.loads(out.read_text()) == sel


def test_select_bad_k_exits_2(files, capsys):
    assert cli.main(["select", f"emb:{files['good']}", "--k", "500"]) == 2
    assert "cannot select 500 cases from a set of 120" in capsys.readouterr().err
