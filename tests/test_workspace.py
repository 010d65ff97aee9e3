"""Workspace: sets are validated before they are registered, and a refused archive changes nothing."""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gan_eval.archives import ArchiveError, write_archive
from gan_eval.phantom import make_cases
from gan_eval.workspace import REAL, Workspace, check_team_name


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    d = tmp_path_factory.mktemp("archives")
    write_archive(make_cases(6, seed=1, size=48, prefix="real"), d / "real.zip")
    write_archive(make_cases(5, seed=2, size=48, prefix="team"), d / "team.zip")
    return d


def snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def test_add_and_remove_sets(tmp_path, archives):
    ws = Workspace(tmp_path / "ws")
    entry, report = ws.add_archive(REAL, archives / "real.zip")
    assert entry.n_accepted == 6 and report.ok
    ws.add_archive("team-a", archives / "team.zip")
    ws.add_archive("team-b", archives / "team.zip")   # same bytes: one stored archive
    assert ws.set_names() == [REAL, "team-a", "team-b"]
    assert len(list((ws.root / "archives").iterdir())) == 2
    assert ws.case_set("team-a").ids == [c.case_id for c in make_cases(5, seed=2, size=48, prefix="team")]
    assert ws.report("team-a")["accepted"] == 5
    ws.remove_submission("team-a")
    assert (ws.root / ws.entry("team-b").archive).exists()   # still referenced by team-b
    ws.remove_submission("team-b")
    assert len(list((ws.root / "archives").iterdir())) == 1
    # Re-adding a name replaces that set when asked to, and the archive nobody refers to any more goes.
    ws.add_archive("team-c", archives / "team.zip")
    ws.add_archive("team-c", archives / "real.zip", replace=True)
    assert ws.entry("team-c").sha256 == ws.real.sha256
    assert len(list((ws.root / "archives").iterdir())) == 1
    # A second Workspace object on the same folder sees the same state (it lives on disk).
    assert Workspace(tmp_path / "ws").set_names() == [REAL, "team-c"]


def _zip_with(tmp_path, name, members: dict[str, bytes]):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_bad_archives_change_nothing(tmp_path, archives):
    ws = Workspace(tmp_path / "ws")
    ws.add_archive(REAL, archives / "real.zip")
    ws.add_archive("team", archives / "team.zip")
    before = snapshot(ws.root)

    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(ArchiveError, match="corrupt.zip"):
        ws.add_archive("evil", corrupt)
    good = _npz_bytes(t1_arterial=np.eye(8), t1_portal=np.eye(8), t2=np.eye(8))
    traversal = _zip_with(tmp_path, "traversal.zip", {"../escape.npz": good})
    with pytest.raises(ArchiveError, match="escapes"):
        ws.add_archive("evil", traversal)
    nan = np.eye(8)
    nan[0, 0] = np.nan
    only_bad = _zip_with(tmp_path, "nan.zip", {"c1.npz": _npz_bytes(t1_arterial=nan, t1_portal=np.eye(8), t2=np.eye(8))})
    with pytest.raises(ArchiveError, match="no valid case"):
        ws.add_archive("evil", only_bad)
    with pytest.raises(ValueError, match="team name '../x' is not allowed"):
        ws.add_archive("../x", archives / "team.zip")
    with pytest.raises(ValueError, match="reserved"):
        check_team_name("real")

    assert snapshot(ws.root) == before
    assert not (tmp_path / "escape.npz").exists()
    assert ws.set_names() == [REAL, "team"]


def test_partly_bad_archive_keeps_good_cases_and_reports_the_rest(tmp_path, archives):
    ws = Workspace(tmp_path / "ws")
    good = _npz_bytes(t1_arterial=np.eye(8), t1_portal=np.eye(8) * 2, t2=np.eye(8) * 3)
    nan = np.eye(8)
    nan[0, 0] = np.nan
    mixed = _zip_with(tmp_path, "mixed.zip", {"ok.npz": good, "bad.npz": _npz_bytes(t1_arterial=nan, t1_portal=np.eye(8),
                                                                                       t2=np.eye(8))})
    entry, report = ws.add_archive("mixed", mixed)
    assert entry.n_accepted == 1 and entry.n_rejected == 1
    stored = ws.report("mixed")
    assert stored["rejected"][0]["case"] == "bad" and "NaN" in stored["rejected"][0]["reason"]
    assert json.loads((ws.root / "workspace.json").read_text())["submissions"]["mixed"]["n_rejected"] == 1


def test_demo_workspace_reports_progress_in_cases_under_one_stage(tmp_path):
    from gan_eval.workspace import open_demo_workspace

    calls = []
    ws = open_demo_workspace(tmp_path / "demo", size=32, n_real=4, n_cases=6, n_small=2, workers=1,
                             progress=lambda done, total, stage: calls.append((done, total, stage)))
    total = 4 + 5 * 6 + 2
    assert {stage for _, _, stage in calls} == {"building the demo cases"}
    assert {t for _, t, _ in calls} == {total}
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls) and calls[-1][0] == total
    assert ws.set_names() == ["real", "blurry", "collapsed", "good", "inconsistent", "memorized", "small"]
    assert not (ws.root / "demo_staging").exists()


_BUILD_DEMO = """
import sys
import gan_eval.demo as demo
original = demo.build_demo
def counted(*args, **kwargs):
    with open(sys.argv[2], "a") as f:
        f.write("build\\n")
    return original(*args, **kwargs)
demo.build_demo = counted
from gan_eval.workspace import open_demo_workspace
ws = open_demo_workspace(sys.argv[1], size=32, n_real=4, n_cases=6, n_small=2, workers=1)
print(",".join(ws.set_names()))
"""


def test_two_processes_opening_the_demo_at_once_build_it_once(tmp_path):
    import subprocess
    import sys

    root, builds = tmp_path / "demo", tmp_path / "builds.txt"
    repo = Path(__file__).resolve().parents[1]
    procs = [subprocess.Popen([sys.executable, "-c", _BUILD_DEMO, str(root), str(builds)], cwd=repo,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert out.strip() == "real,blurry,collapsed,good,inconsistent,memorized,small"
    assert builds.read_text().splitlines() == ["build"]
    assert len(list((root / "archives").iterdir())) == 7
    assert not [p.name for p in root.iterdir() if p.name.startswith(("demo_staging", "."))
                and p.name not in (".lock", ".demo-build.lock")]


def test_a_set_is_never_replaced_by_a_name_collision(tmp_path, archives):
    from gan_eval.workspace import service
    from gan_eval.workspace.folder import SetExistsError

    ws = Workspace(tmp_path / "ws")
    ws.add_archive(REAL, archives / "real.zip")
    ws.add_archive("good", archives / "team.zip")
    before = (ws.root / "workspace.json").read_text()
    # A submission called "real" (typed, or taken from a file named real.zip) never touches the real set.
    for name in ("real", "Real", " real "):
        with open(archives / "team.zip", "rb") as stream, pytest.raises(ValueError, match="reserved for the real set"):
            service.add_upload(ws, name, stream, "real.zip", replace=True)
        with open(archives / "team.zip", "rb") as stream, pytest.raises(ValueError, match="reserved for the real set"):
            service.add_upload(ws, name, stream, "real.zip")
    # The same team name up to spaces or case is a collision, refused unless replacing is confirmed.
    for name in ("good", " good ", "good  "):
        with pytest.raises(SetExistsError, match=r"already has a submission named 'good': confirm replacing it"):
            ws.add_archive(name, archives / "real.zip")
    with pytest.raises(SetExistsError, match=r"'GOOD' differs from the registered set 'good' only in case"):
        ws.add_archive("GOOD", archives / "real.zip", replace=True)
    with pytest.raises(SetExistsError, match=r"already has a real set: confirm replacing it"):
        ws.add_archive(REAL, archives / "team.zip")
    assert (ws.root / "workspace.json").read_text() == before
    assert ws.entry(REAL).n_accepted == 6 and ws.entry("good").n_accepted == 5
    assert not list((ws.root / "incoming").glob("*")), "no upload left behind"
    ws.add_archive("good", archives / "real.zip", replace=True)
    assert ws.entry("good").n_accepted == 6


@pytest.mark.parametrize("name", ["x" * 300, "ｆｕｌｌｗｉｄｔｈ", "../escape", "a/b", "", "demo\x00"])
def test_workspace_names_are_plain_short_folder_names(tmp_path, name):
    from gan_eval.workspace import service

    with pytest.raises(ValueError, match="workspace name .* is not allowed"):
        service.workspace_path(name, tmp_path)
    assert service.workspace_path("sfr2021", tmp_path) == tmp_path / "sfr2021"

def _upload_contents(tmp_path, archives) -> dict[str, bytes]:
    """Bytes a user might upload: real archives of every kind, and things that are not."""
    import gzip
    import tarfile

    from gan_eval.archives import read_cases

    cases, _ = read_cases(archives / "team.zip")
    tgz = tmp_path / "team.tar.gz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(archives / "team.zip", arcname="not_a_case.txt")
        for case in cases:
            data = _npz_bytes(t1_arterial=case.images[0], t1_portal=case.images[1], t2=case.images[2])
            info = tarfile.TarInfo(f"{case.case_id}.npz")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    stack = np.stack([case.images for case in cases])
    npy, npz = io.BytesIO(), io.BytesIO()
    np.save(npy, stack)
    np.savez(npz, images=stack)
    return {"zip": (archives / "team.zip").read_bytes(), "tar.gz": tgz.read_bytes(), "npy": npy.getvalue(),
            "npz": npz.getvalue(), "gzip of an npy": gzip.compress(npy.getvalue()), "junk": b"\x00 not an archive" * 9}


def test_every_upload_type_gives_a_case_set_or_a_clear_refusal(tmp_path, archives):
    """Whatever the uploader lets through (it matches the last extension only) ends in a
    registered set or an ArchiveError naming the file: never another exception."""
    from gan_eval.archives import UPLOAD_SUFFIXES

    ws = Workspace(tmp_path / "ws")
    contents = _upload_contents(tmp_path, archives)
    outcomes = {}
    for suffix in UPLOAD_SUFFIXES:
        for kind, data in contents.items():
            upload = tmp_path / f"cases.{suffix}"
            upload.write_bytes(data)
            try:
                entry, _ = ws.add_archive("team", upload, replace=True)
                outcomes[suffix, kind] = entry.n_accepted
            except ArchiveError as exc:
                assert str(exc).startswith(f"cases.{suffix}: ") and exc.reason
                outcomes[suffix, kind] = None
    assert outcomes["zip", "zip"] == outcomes["gz", "tar.gz"] == outcomes["npy", "npy"] == 5
    assert outcomes["npz", "npz"] == outcomes["tgz", "tar.gz"] == outcomes["tar", "tar.gz"] == 5
    assert outcomes["gz", "junk"] is None and outcomes["npy", "junk"] is None


def test_gz_upload_is_read_by_its_content(tmp_path, archives):
    """``cases.gz`` holding a tar is a tar.gz; holding anything else it is refused, with the
    accepted types in the message (it used to raise TypeError from a one-argument ArchiveError)."""
    from gan_eval.archives import NOT_AN_ARCHIVE

    ws = Workspace(tmp_path / "ws")
    contents = _upload_contents(tmp_path, archives)
    (tmp_path / "cases.gz").write_bytes(contents["tar.gz"])
    entry, report = ws.add_archive("team", tmp_path / "cases.gz")
    assert entry.n_accepted == 5 and report.ok and entry.filename == "cases.gz"
    before = snapshot(ws.root)
    (tmp_path / "other.gz").write_bytes(contents["gzip of an npy"])
    with pytest.raises(ArchiveError) as info:
        ws.add_archive("team2", tmp_path / "other.gz")
    assert str(info.value) == f"other.gz: {NOT_AN_ARCHIVE}"
    (tmp_path / "cases.rar").write_bytes(contents["zip"])
    with pytest.raises(ArchiveError) as info:
        ws.add_archive("team2", tmp_path / "cases.rar")
    assert str(info.value) == f"cases.rar: {NOT_AN_ARCHIVE}"
    assert snapshot(ws.root) == before
