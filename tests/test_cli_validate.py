"""``python -m gan_eval validate``: the printed report, exit codes 0/1/2 and the --json contract."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import gan_eval.cli as cli

REPO = Path(__file__).resolve().parents[1]


def npz_bytes(seed: int, keys=("t1_arterial", "t1_portal", "t2")) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    np.savez(buf, **{k: rng.integers(0, 1000, (8, 8)).astype(np.uint16) for k in keys})
    return buf.getvalue()


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


@pytest.fixture
def main(monkeypatch):
    # Parse with the validate command alone: the other commands' modules are not under test.
    monkeypatch.setattr(cli, "COMMANDS", ("validate",))
    return cli.main


def run_json(main, path: Path, tmp_path: Path) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    code = main(["validate", str(path), "--json", str(out)])
    return code, json.loads(out.read_text())


def test_all_accepted_exits_0(main, tmp_path, capsys):
    path = make_zip(tmp_path / "good.zip", {"a.npz": npz_bytes(0), "b.npz": npz_bytes(1)})
    code, report = run_json(main, path, tmp_path)
    assert code == 0
    assert report == {"accepted": 2, "rejected": [], "errors": []}
    assert capsys.readouterr().out.splitlines()[0] == "good.zip: 2 accepted, 0 rejected"


def test_some_rejected_exits_1_with_a_table(main, tmp_path, capsys):
    path = make_zip(tmp_path / "sub.zip", {"a.npz": npz_bytes(0), "b.npz": npz_bytes(1, ("t1_arterial", "t2"))})
    code, report = run_json(main, path, tmp_path)
    reason = "missing sequence t1_portal (found: t1_arterial, t2)"
    assert code == 1
    assert report == {"accepted": 1, "rejected": [{"case": "b", "file": "b.npz", "reason": reason}], "errors": []}
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == ["sub.zip: 1 accepted, 1 rejected", "", "Rejected:", "  case  file   reason",
                       f"  b     b.npz  {reason}"]


@pytest.mark.parametrize("entries, error", [
    ({"../evil.npz": b"x"}, "bad.zip: entry '../evil.npz' escapes the archive root"),
    ({"README.md": b"no cases"}, "bad.zip: no cases found"),
    (None, "bad.zip: corrupt archive: not a valid .zip file"),
])
def test_refused_input_exits_2(main, tmp_path, capsys, entries, error):
    path = tmp_path / "bad.zip"
    if entries is None:
        path.write_bytes(b"PK\x03\x04 truncated")
    else:
        make_zip(path, entries)
    code, report = run_json(main, path, tmp_path)
    assert code == 2
    assert report == {"accepted": 0, "rejected": [], "errors": [error]}
    assert error in capsys.readouterr().out
    assert not (tmp_path.parent / "evil.npz").exists()


def test_python_dash_m_gan_eval_validate(tmp_path):
    path = make_zip(tmp_path / "sub.zip", {"a.npz": npz_bytes(0), "b.npz": b"garbage"})
    out = tmp_path / "r.json"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "gan_eval", "validate", str(path), "--json", str(out)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.stderr == "" and done.returncode == 1
    assert "sub.zip: 1 accepted, 1 rejected" in done.stdout
    assert json.loads(out.read_text())["rejected"] == [
        {"case": "b", "file": "b.npz", "reason": "unreadable file: BadZipFile: File is not a zip file"}]


def test_notes_on_accepted_cases_keep_exit_0(main, tmp_path, capsys):
    rng = np.random.default_rng(0)
    arrays = {k: rng.integers(0, 1000, (8, 8)).astype(np.uint16) for k in ("t1_arterial", "t1_portal", "t2")}
    buf = io.BytesIO()
    np.savez(buf, **arrays, mask_t2=(arrays["t2"] > 500).astype(np.uint8))
    path = make_zip(tmp_path / "masks.zip", {"a.npz": buf.getvalue(), "b.npz": npz_bytes(1)})
    code, report = run_json(main, path, tmp_path)
    note = "masks given for t2 but not for t1_arterial, t1_portal"
    assert code == 0
    assert report == {"accepted": 2, "rejected": [], "errors": [], "notes": [{"case": "a", "file": "a.npz", "note": note}]}
    assert capsys.readouterr().out.splitlines()[2:5] == ["Notes:", "  case  file   note", f"  a     a.npz  {note}"]
