"""What a workspace stores of an upload: the cases it read, re-written as the standard archive
(no DICOM tag survives anywhere), streamed (memory flat in the set's size), and read back one
case at a time."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gan_eval.archives import read_cases, write_archive
from gan_eval.archives.stored import StoredCases
from gan_eval.cases import SEQUENCES
from gan_eval.phantom import make_cases
from gan_eval.workspace import REAL, Workspace
from test_archives import dcm_bytes, good_arrays

REPO = Path(__file__).resolve().parents[1]


def test_no_dicom_patient_tag_survives_anywhere_under_the_workspace(tmp_path):
    upload = tmp_path / "dicom_team.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        for c in range(3):
            arrays = good_arrays(c)
            for seq in SEQUENCES:
                zf.writestr(f"patient{c}/{seq}.dcm", dcm_bytes(arrays[seq]))
    ws = Workspace(tmp_path / "ws")
    entry, report = ws.add_archive("team", upload)
    assert entry.n_accepted == 3 and entry.standard and entry.source_sha256 != entry.sha256
    from gan_eval.evaluation import embed_set

    embed_set(ws, "team")  # the cache too
    for path in (p for p in ws.root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for blob in (data, *_inflated(data)):
            assert b"Doe^Jane" not in blob and b"SECRET-4242" not in blob, path
    (case,) = [c for c in ws.case_set("team") if c.case_id == "patient0"]
    original, _ = read_cases(upload)
    np.testing.assert_array_equal(case.images, original.by_id("patient0").images)


def _inflated(data: bytes) -> list[bytes]:
    """The members of a zip (and of the npz inside it), where ``data`` is one."""
    try:
        outer = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return []
    blobs = []
    for info in outer.infolist():
        member = outer.read(info)
        blobs.append(member)
        blobs += _inflated(member)
    return blobs


def test_stored_cases_are_read_one_at_a_time_and_equal_the_upload(tmp_path):
    cases = make_cases(6, seed=4, size=48, prefix="t")
    write_archive(cases, tmp_path / "team.zip")
    ws = Workspace(tmp_path / "ws")
    ws.add_archive("team", tmp_path / "team.zip")
    stored = ws.case_set("team")
    assert isinstance(stored, StoredCases) and len(stored) == 6 and stored.ids == [c.case_id for c in cases]
    for original in cases:
        assert stored.by_id(original.case_id).digest() == original.digest()
    assert stored[5].case_id == cases[5].case_id
    with pytest.raises(KeyError, match="no case 'nope'"):
        stored.by_id("nope")


def test_a_stacked_upload_whose_ids_are_not_file_names_is_kept_as_uploaded(tmp_path):
    images = np.random.default_rng(0).integers(0, 4000, (3, 3, 16, 16)).astype(np.uint16)
    upload = tmp_path / "stack.npz"
    np.savez(upload, images=images, case_ids=np.array(["a/b", ".hidden", "ok"]))
    ws = Workspace(tmp_path / "ws")
    entry, _ = ws.add_archive("team", upload)
    assert entry.n_accepted == 3 and not entry.standard and entry.sha256 == entry.source_sha256
    assert ws.case_set("team").ids == ["a/b", ".hidden", "ok"]


_PEAK = """
import sys, tracemalloc
from gan_eval.workspace import Workspace
ws = Workspace(sys.argv[1])
tracemalloc.start()  # every allocation of Python and numpy, counted exactly (RSS varies with the allocator)
ws.add_archive("team", sys.argv[2])
print(tracemalloc.get_traced_memory()[1] // 2**20)
"""


@pytest.mark.slow
def test_registering_a_set_holds_one_case_at_a_time(tmp_path):
    """A 40-case zip of 2048x2048 float64 NIfTI slices (zeros but a few pixels, a few MB) once made
    the upload path hold 4 GB: every decoded case was kept. Now one case (~100 MB) is, plus the
    buffers that write it."""
    import nibabel as nib

    upload = tmp_path / "bomb.zip"
    with zipfile.ZipFile(upload, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for c in range(40):
            for s, seq in enumerate(SEQUENCES):
                image = np.zeros((2048, 2048), dtype=np.float64)
                image[c, s] = 1.0 + c
                image[-1, -1] = 2.0
                buffer = io.BytesIO()
                nifti = nib.Nifti1Image(image, np.eye(4))
                buffer.write(nifti.to_bytes())
                zf.writestr(f"c{c:02d}/{seq}.nii.gz", gzip.compress(buffer.getvalue(), compresslevel=1))
    assert upload.stat().st_size < 20 * 2**20
    peak_mb = int(subprocess.run([sys.executable, "-c", _PEAK, str(tmp_path / "ws"), str(upload)], cwd=REPO,
                                 capture_output=True, text=True, check=True, timeout=600).stdout.split()[-1])
    assert peak_mb < 1200, f"peak of traced memory {peak_mb} MB"
    assert Workspace(tmp_path / "ws").entry("team").n_accepted == 40


def test_a_full_disk_during_an_upload_is_named_and_changes_nothing(tmp_path, monkeypatch):
    import errno
    import shutil as shutil_module

    from gan_eval.store import DiskFullError
    from gan_eval.workspace import service

    write_archive(make_cases(4, seed=1, size=32, prefix="r"), tmp_path / "real.zip")
    write_archive(make_cases(4, seed=2, size=32, prefix="t"), tmp_path / "team.zip")
    ws = Workspace(tmp_path / "ws")
    ws.add_archive(REAL, tmp_path / "real.zip")
    before = sorted(p.relative_to(ws.root) for p in ws.root.rglob("*") if p.is_file())
    settings = (ws.root / "workspace.json").read_bytes()

    def full(src, dst, length=0):
        dst.write(src.read(1000))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil_module, "copyfileobj", full)
    with open(tmp_path / "team.zip", "rb") as stream, pytest.raises(DiskFullError, match="disk full while writing"):
        service.add_upload(ws, "team", stream, "team.zip")
    monkeypatch.undo()
    after = sorted(p.relative_to(ws.root) for p in ws.root.rglob("*") if p.is_file())
    assert after == before, "nothing half-written is left behind"
    assert (ws.root / "workspace.json").read_bytes() == settings
