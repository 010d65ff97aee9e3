"""Case archive readers: every input format, every rejection reason, every unsafe-archive kind.

Inputs are real files built in tmp_path with the libraries users write them with (numpy,
Pillow, nibabel, pydicom, zipfile, tarfile). Unsafe-archive tests also check that reading
never writes anything: the tree under tmp_path is identical before and after, and the paths
an extraction would have escaped to do not exist.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import zipfile
from pathlib import Path

import nibabel
import numpy as np
import pytest
from PIL import Image

from gan_eval import archives as A
from gan_eval.archives import ArchiveError, Limits, Rejection, iter_cases, read_cases, validate, write_archive
from gan_eval.cases import SEQUENCES, Case

SIDE = 16


# ----------------------------------------------------------------------------------------
# Builders
# ----------------------------------------------------------------------------------------

def image(seed: int, dtype=np.uint16, shape=(SIDE, SIDE)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.random(shape).astype(dtype)
    return rng.integers(0, min(np.iinfo(dtype).max, 4000), shape).astype(dtype)


def mask(seed: int, shape=(SIDE, SIDE)) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) > 0.7).astype(np.uint8)


def good_arrays(seed: int = 0, dtype=np.uint16) -> dict[str, np.ndarray]:
    return {seq: image(seed * 10 + i, dtype) for i, seq in enumerate(SEQUENCES)}


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def jpg_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def nii_bytes(array: np.ndarray) -> bytes:
    return nibabel.Nifti1Image(array, np.eye(4)).to_bytes()


def nii_gz_bytes(array: np.ndarray) -> bytes:
    return gzip.compress(nii_bytes(array))


def dcm_bytes(array: np.ndarray) -> bytes:
    """A minimal valid MR DICOM file (file meta included) carrying patient tags; a 3D array
    becomes a multi-frame file."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "SECRET-4242"
    ds.Rows, ds.Columns = array.shape[-2:]
    if array.ndim == 3:
        ds.NumberOfFrames = array.shape[0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = array.astype(np.uint16).tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def make_zip(path: Path, entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def make_tar(path: Path, entries: dict[str, bytes], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def make_folder(root: Path, entries: dict[str, bytes]) -> Path:
    for name, data in entries.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


def assert_refused(path: Path, reason: str, limits: Limits = Limits(), escapes: tuple[Path, ...] = ()) -> None:
    """Reading ``path`` raises exactly ``<name>: <reason>`` and writes nothing anywhere."""
    watched = path.parent.parent
    before = tree(watched)
    with pytest.raises(ArchiveError) as info:
        read_cases(path, limits=limits)
    assert str(info.value) == f"{path.name}: {reason}"
    assert info.value.reason == reason
    assert tree(watched) == before
    for escaped in escapes:
        assert not escaped.exists()
    report = validate(path, limits=limits)
    assert report.errors == [f"{path.name}: {reason}"] and not report.accepted


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A folder for inputs, one level below tmp_path, so escapes would land in tmp_path."""
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


def assert_same_case(case: Case, arrays: dict[str, np.ndarray]) -> None:
    assert case.images.shape == (3, SIDE, SIDE)
    for i, seq in enumerate(SEQUENCES):
        np.testing.assert_array_equal(case.images[i], arrays[seq])
    assert case.images.dtype == arrays[SEQUENCES[0]].dtype


# ----------------------------------------------------------------------------------------
# Reader formats
# ----------------------------------------------------------------------------------------

def test_zip_of_npz_round_trips_write_archive(src):
    cases = [Case(f"case_{i}", np.stack(list(good_arrays(i).values())), np.stack([mask(i)] * 3))
             for i in range(3)]
    write_archive(cases, src / "real.zip")
    got, report = read_cases(src / "real.zip")
    assert got.name == "real" and got.ids == ["case_0", "case_1", "case_2"]
    for want, case in zip(cases, got):
        np.testing.assert_array_equal(case.images, want.images)
        np.testing.assert_array_equal(case.masks, want.masks)
        assert case.images.dtype == np.uint16 and case.masks.dtype == np.uint8
    assert report.ok and report.accepted == [("case_0", "case_0.npz"), ("case_1", "case_1.npz"),
                                             ("case_2", "case_2.npz")]


@pytest.mark.parametrize("name, mode", [("s.tar", "w"), ("s.tar.gz", "w:gz"), ("s.tgz", "w:gz")])
def test_tar_archives_of_npz(src, name, mode):
    arrays = [good_arrays(i, np.float32) for i in range(2)]
    make_tar(src / name, {f"./sub/c{i}.npz": npz_bytes(**a) for i, a in enumerate(arrays)}, mode)
    got, report = read_cases(src / name)
    assert got.ids == ["c0", "c1"] and report.ok
    for case, want in zip(got, arrays):
        assert_same_case(case, want)
        assert case.masks is None


def test_folder_of_npz_with_junk_ignored(src):
    arrays = good_arrays(1, np.int16)
    make_folder(src / "sub", {
        "top/c1.npz": npz_bytes(**arrays),
        "__MACOSX/top/._c1.npz": b"\x00\x05\x16\x07 apple double",
        "top/.DS_Store": b"junk", "top/Thumbs.db": b"junk", "README.md": b"# my submission",
    })
    got, report = read_cases(src / "sub")
    assert got.ids == ["c1"]
    assert_same_case(got[0], arrays)
    assert report.ok and sorted(report.ignored) == ["README.md", "__MACOSX/", "top/.DS_Store", "top/Thumbs.db"]


def test_npz_keys_by_alias_with_one_shared_mask(src):
    a = good_arrays(2)
    lesion = mask(2)
    make_zip(src / "s.zip", {"c.npz": npz_bytes(ART=a["t1_arterial"], pv=a["t1_portal"], T2_fs=a["t2"],
                                                mask=lesion * 255, spacing=np.ones(2))})
    (case,), report = read_cases(src / "s.zip")
    assert_same_case(case, a)
    assert report.ok and case.masks.dtype == np.uint8
    for i in range(3):
        np.testing.assert_array_equal(case.masks[i], lesion)


def _folder_case(writer, arrays: dict[str, np.ndarray], ext: str) -> dict[str, bytes]:
    return {f"case_a/{seq}{ext}": writer(arrays[seq]) for seq in SEQUENCES}


@pytest.mark.parametrize("writer, ext, dtype", [
    (npy_bytes, ".npy", np.uint16),
    (png_bytes, ".png", np.uint8),
    (png_bytes, ".png", np.uint16),
    (nii_bytes, ".nii", np.int16),
    (nii_gz_bytes, ".nii.gz", np.float32),
    (dcm_bytes, ".dcm", np.uint16),
])
def test_case_folders_in_zip_per_file_format(src, writer, ext, dtype):
    arrays = good_arrays(3, dtype)
    make_zip(src / "s.zip", _folder_case(writer, arrays, ext))
    (case,), report = read_cases(src / "s.zip")
    assert case.case_id == "case_a" and report.accepted == [("case_a", "case_a/")]
    assert_same_case(case, arrays)


def test_jpeg_case_folder_reads_the_decoded_grayscale(src):
    arrays = good_arrays(4, np.uint8)
    entries = _folder_case(jpg_bytes, arrays, ".jpg")
    make_zip(src / "s.zip", entries)
    (case,), _ = read_cases(src / "s.zip")
    for i, seq in enumerate(SEQUENCES):  # jpeg is lossy: compare with what Pillow decodes
        decoded = np.asarray(Image.open(io.BytesIO(entries[f"case_a/{seq}.jpg"])))
        np.testing.assert_array_equal(case.images[i], decoded)
    assert case.images.dtype == np.uint8


def test_rgb_png_with_equal_channels_is_read_as_grayscale(src):
    arrays = good_arrays(5, np.uint8)
    entries = {f"c/{seq}.png": png_bytes(np.repeat(arrays[seq][..., None], 3, axis=2)) for seq in SEQUENCES}
    make_zip(src / "s.zip", entries)
    (case,), _ = read_cases(src / "s.zip")
    assert_same_case(case, arrays)


def test_single_slice_3d_nifti_is_a_2d_image(src):
    arrays = good_arrays(6, np.float32)
    make_zip(src / "s.zip", {f"c/{seq}.nii": nii_bytes(arrays[seq][..., None]) for seq in SEQUENCES})
    (case,), _ = read_cases(src / "s.zip")
    assert_same_case(case, arrays)


def test_dicom_patient_tags_are_never_kept(src):
    arrays = good_arrays(7)
    make_zip(src / "s.zip", _folder_case(dcm_bytes, arrays, ".dcm"))
    (case,), report = read_cases(src / "s.zip")
    kept = repr(case) + repr(case.meta) + report.summary() + repr(report.to_json())
    assert "Doe^Jane" not in kept and "SECRET-4242" not in kept and case.meta == {}


@pytest.mark.parametrize("names", [
    ("mask_t1_arterial", "mask_t1_portal", "mask_t2"),
    ("art_mask", "pv_mask", "t2_mask"),
    ("mask",),
])
def test_case_folder_on_disk_with_aliases_id_prefix_and_mask_names(src, names):
    a = good_arrays(8)
    lesion = mask(8)
    entries = {"c7/c7_ART.png": png_bytes(a["t1_arterial"]), "c7/c7_venous.npy": npy_bytes(a["t1_portal"]),
               "c7/T2W.nii": nii_bytes(a["t2"])}
    entries.update({f"c7/{n}.png": png_bytes(lesion * 255) for n in names})
    (case,), report = read_cases(make_folder(src / "sub", entries))
    assert_same_case(case, a)
    np.testing.assert_array_equal(case.masks, np.stack([lesion] * 3))
    assert report.ok


def test_stacked_npy_gets_generated_ids(src):
    stack = np.stack([np.stack(list(good_arrays(i).values())) for i in range(3)])
    np.save(src / "gen.npy", stack)
    got, report = read_cases(src / "gen.npy")
    assert got.ids == ["case_0000", "case_0001", "case_0002"]
    np.testing.assert_array_equal(np.stack([c.images for c in got]), stack)
    assert report.accepted[1] == ("case_0001", "gen.npy[1]")
    np.save(src / "fortran.npy", np.asfortranarray(stack))  # not streamable: read whole
    np.testing.assert_array_equal(np.stack([c.images for c in read_cases(src / "fortran.npy")[0]]), stack)


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_stacked_npz_with_masks_and_ids(src, save):
    stack = np.stack([np.stack(list(good_arrays(i, np.float32).values())) for i in range(3)])
    masks = np.stack([np.stack([mask(i)] * 3) for i in range(3)]).astype(bool)
    save(src / "gen.npz", images=stack, masks=masks, case_ids=np.array(["x", "y", "z"]))
    got, _ = read_cases(src / "gen.npz")
    assert got.ids == ["x", "y", "z"]
    np.testing.assert_array_equal(np.stack([c.images for c in got]), stack)
    np.testing.assert_array_equal(np.stack([c.masks for c in got]), masks.astype(np.uint8))


def test_npz_with_one_unnamed_stack_and_single_case_npz(src):
    stack = np.stack([np.stack(list(good_arrays(i).values())) for i in range(2)])
    np.savez(src / "gen.npz", stack)
    assert read_cases(src / "gen.npz")[0].ids == ["case_0000", "case_0001"]
    np.savez(src / "one.npz", **good_arrays(9))
    (case,), _ = read_cases(src / "one.npz")
    assert case.case_id == "one"
    assert_same_case(case, good_arrays(9))


def test_iter_cases_streams_until_the_archive_breaks(src):
    path = make_zip(src / "s.zip", {f"c{i}.npz": npz_bytes(**good_arrays(i)) for i in range(3)})
    data = bytearray(path.read_bytes())
    third = data.index(b"c2.npz") + len("c2.npz")  # first bytes of c2's deflate data
    data[third + 200: third + 260] = bytes(60)
    path.write_bytes(bytes(data))
    stream = iter_cases(path)
    assert [next(stream).case_id, next(stream).case_id] == ["c0", "c1"]
    with pytest.raises(ArchiveError, match=r"^s\.zip: corrupt archive: c2\.npz: "):
        next(stream)


# ----------------------------------------------------------------------------------------
# Case rejections: one bad case, one good one; the exact reason
# ----------------------------------------------------------------------------------------

def _without(arrays: dict, key: str) -> dict:
    return {k: v for k, v in arrays.items() if k != key}


def _with(**changes) -> dict:
    return {**good_arrays(1), **changes}


NPZ_REJECTIONS = [
    ("missing", _without(good_arrays(1), "t2"),
     A.MISSING_SEQUENCE.format(sequence="t2", found="t1_arterial, t1_portal")),
    ("duplicate", {**good_arrays(1), "art": image(5)},
     A.DUPLICATE_SEQUENCE.format(sequence="t1_arterial", first="t1_arterial", second="art")),
    ("shapes", _with(t1_portal=image(5, shape=(SIDE, 8))),
     A.SHAPE_MISMATCH.format(shapes="t1_arterial (16, 16), t1_portal (16, 8), t2 (16, 16)")),
    ("not2d", _with(t2=image(5, shape=(2, SIDE, SIDE))), A.NOT_2D.format(sequence="t2", shape=(2, 16, 16))),
    ("empty", _with(t2=np.zeros((0, SIDE), np.uint16)), A.EMPTY_IMAGE.format(sequence="t2", shape=(0, 16))),
    ("nan", _with(t1_portal=np.where(np.eye(SIDE) > 0, np.nan, 1.0).astype(np.float32)),
     A.NON_FINITE.format(sequence="t1_portal")),
    ("inf", _with(t2=np.where(np.eye(SIDE) > 0, np.inf, 1.0)), A.NON_FINITE.format(sequence="t2")),
    ("constant", _with(t1_portal=np.full((SIDE, SIDE), 7, np.uint16)),
     A.CONSTANT_IMAGE.format(sequence="t1_portal", value=7)),
    ("complex", _with(t2=image(5).astype(np.complex64)), A.UNSUPPORTED_DTYPE.format(sequence="t2", dtype="complex64")),
    ("pickled", _with(t2=np.array([[object()] * 2] * 2)), A.UNSUPPORTED_DTYPE.format(sequence="t2", dtype="object")),
    ("boolimage", _with(t2=image(5) > 100), A.UNSUPPORTED_DTYPE.format(sequence="t2", dtype="bool")),
    ("maskshape", _with(mask_t1_arterial=mask(1), mask_t1_portal=mask(1), mask_t2=mask(1, (8, 8))),
     A.MASK_SHAPE_MISMATCH.format(mask="mask_t2", mask_shape=(8, 8), image_shape=(16, 16))),
    ("masknan", _with(mask=np.full((SIDE, SIDE), np.nan)), A.NON_FINITE.format(sequence="mask")),
    ("maskdup", _with(mask=mask(1), t2_mask=mask(2)),
     A.DUPLICATE_SEQUENCE.format(sequence="mask_t2", first="mask", second="t2_mask")),
]


@pytest.mark.parametrize("case_id, arrays, reason", NPZ_REJECTIONS, ids=[r[0] for r in NPZ_REJECTIONS])
def test_npz_case_rejected_with_exact_reason_and_good_case_kept(src, case_id, arrays, reason):
    make_zip(src / "s.zip", {"good.npz": npz_bytes(**good_arrays(0)), f"{case_id}.npz": npz_bytes(**arrays)})
    got, report = read_cases(src / "s.zip")
    assert got.ids == ["good"] and report.accepted == [("good", "good.npz")]
    assert report.rejected == [Rejection(case_id, f"{case_id}.npz", reason)]
    assert not report.ok and not report.errors


def test_masks_for_some_sequences_only_are_kept_with_a_note(src):
    """(Was the "maskpart" rejection above: a missing mask is not a reason to drop a case.)"""
    lesion = mask(1)
    make_zip(src / "s.zip", {"good.npz": npz_bytes(**good_arrays(0)), "maskpart.npz": npz_bytes(**_with(mask_t2=lesion))})
    got, report = read_cases(src / "s.zip")
    assert got.ids == ["good", "maskpart"] and report.ok
    case = got.by_id("maskpart")
    assert case.missing_masks == ("t1_arterial", "t1_portal") and case.mask(0) is None and case.mask(1) is None
    np.testing.assert_array_equal(case.mask(2), lesion)
    note = A.MASK_INCOMPLETE.format(given="t2", missing="t1_arterial, t1_portal")
    assert report.notes == [A.Note("maskpart", "maskpart.npz", note)]
    assert report.to_json()["notes"] == [{"case": "maskpart", "file": "maskpart.npz", "note": note}]
    assert f"  maskpart  maskpart.npz  {note}" in report.summary().split("Notes:")[1]
    # Written back, the missing masks stay missing (not empty masks).
    write_archive(got, src / "again.zip")
    with zipfile.ZipFile(src / "again.zip") as zf, np.load(io.BytesIO(zf.read("maskpart.npz"))) as npz:
        assert sorted(npz.files) == ["mask_t2", "t1_arterial", "t1_portal", "t2"]
    again, _ = read_cases(src / "again.zip")
    assert again.by_id("maskpart").missing_masks == case.missing_masks


def test_readme_example_tree_validates(src):
    """The README's team_c.tar.gz: NIfTI, DICOM and a mask for T2 only, per case folder."""
    entries = {}
    for i in range(3):
        a = good_arrays(20 + i)
        entries.update({f"cases/c00{i + 1}/arterial.nii.gz": nii_gz_bytes(a["t1_arterial"].astype(np.int16)),
                        f"cases/c00{i + 1}/portal.nii.gz": nii_gz_bytes(a["t1_portal"].astype(np.int16)),
                        f"cases/c00{i + 1}/t2.dcm": dcm_bytes(a["t2"]),
                        f"cases/c00{i + 1}/t2_mask.npy": npy_bytes(mask(i))})
    path = make_tar(src / "team_c.tar.gz", entries, "w:gz")
    report = validate(path)
    assert report.ok and [cid for cid, _ in report.accepted] == ["c001", "c002", "c003"]
    assert [n.case for n in report.notes] == ["c001", "c002", "c003"]
    got, _ = read_cases(path)
    np.testing.assert_array_equal(got.by_id("c002").mask(2), mask(1))
    np.testing.assert_array_equal(got.by_id("c002").images[2], good_arrays(21)["t2"])


def test_image_larger_than_the_limit(src):
    make_zip(src / "s.zip", {"big.npz": npz_bytes(**good_arrays(0))})
    _, report = read_cases(src / "s.zip", limits=Limits(max_image_side=8))
    assert report.rejected == [Rejection("big", "big.npz", A.IMAGE_TOO_LARGE.format(
        sequence="t1_arterial", height=16, width=16, limit=8))]


def test_npz_array_whose_bytes_exceed_any_valid_image_is_not_inflated(src):
    limits = Limits(max_image_side=16)
    make_zip(src / "s.zip", {"big.npz": npz_bytes(**_with(t2=np.zeros((128, 128))))})
    _, report = read_cases(src / "s.zip", limits=limits)
    assert report.rejected == [Rejection("big", "big.npz", A.DECOMPRESSES_TOO_LARGE.format(
        sequence="t2", limit=limits.max_image_bytes))]


def test_duplicate_case_id_rejects_the_second(src):
    make_zip(src / "s.zip", {"a/c1.npz": npz_bytes(**good_arrays(0)), "b/c1.npz": npz_bytes(**good_arrays(1)),
                             "c1/t1_arterial.npy": b"", "c2.npz": npz_bytes(**good_arrays(2))})
    got, report = read_cases(src / "s.zip")
    assert got.ids == ["c1", "c2"]
    np.testing.assert_array_equal(got[0].images[0], good_arrays(0)["t1_arterial"])
    reason = A.DUPLICATE_CASE.format(case="c1", first="a/c1.npz")
    assert report.rejected == [Rejection("c1", "b/c1.npz", reason), Rejection("c1", "c1/", reason)]


def test_unreadable_npz(src):
    make_zip(src / "s.zip", {"bad.npz": b"not a zip at all", "good.npz": npz_bytes(**good_arrays(0))})
    _, report = read_cases(src / "s.zip")
    assert report.rejected == [Rejection("bad", "bad.npz", A.UNREADABLE.format(
        error="BadZipFile: File is not a zip file"))]


def _folder_entries(changes: dict[str, bytes | None]) -> dict[str, bytes]:
    """Case folder ``c/`` with three good .npy files, then ``changes`` (None deletes a file)."""
    entries = {f"c/{seq}.npy": npy_bytes(a) for seq, a in good_arrays(0).items()}
    for name, data in changes.items():
        if data is None:
            del entries[f"c/{name}"]
        else:
            entries[f"c/{name}"] = data
    return entries


FOLDER_REJECTIONS = [
    ("dup", {"T2W.png": png_bytes(image(1, np.uint8))}, "c/T2W.png",
     A.DUPLICATE_SEQUENCE.format(sequence="t2", first="c/t2.npy", second="c/T2W.png")),
    ("colour", {"t2.npy": None, "t2.png": png_bytes(np.stack([image(1, np.uint8)] * 2 + [image(2, np.uint8)], 2))},
     "c/t2.png", A.COLOUR_IMAGE.format(sequence="t2")),
    ("unknown", {"preview.png": png_bytes(image(1, np.uint8))}, "c/preview.png", A.UNKNOWN_NAME.format(stem="preview")),
    ("suffix", {"t2.npy": None, "t2.tif": b"II*\x00"}, "c/t2.tif", A.UNSUPPORTED_FILE.format(suffix=".tif")),
    ("missing", {"t2.npy": None}, "c/",
     A.MISSING_SEQUENCE.format(sequence="t2", found="t1_arterial.npy, t1_portal.npy")),
    ("volume", {"t2.npy": None, "t2.nii": nii_bytes(image(1, np.int16, (SIDE, SIDE, 4)))}, "c/t2.nii",
     A.NOT_2D.format(sequence="t2", shape=(16, 16, 4))),
    ("unreadable", {"t2.npy": b"\x93NUMPY garbage"}, "c/t2.npy",
     A.UNREADABLE.format(error="ValueError: unsupported .npy format version (32, 103)")),
    ("corruptpng", {"t2.npy": None, "t2.png": png_bytes(image(1, np.uint8))[:60]}, "c/t2.png", None),
    ("frames", {"t2.npy": None, "t2.dcm": dcm_bytes(image(1, shape=(2, SIDE, SIDE)))}, "c/t2.dcm",
     A.NOT_2D.format(sequence="t2", shape=(2, 16, 16))),
    ("maskshape", {"mask.png": png_bytes(mask(1, (8, 8)))}, "c/mask.png",
     A.MASK_SHAPE_MISMATCH.format(mask="mask", mask_shape=(8, 8), image_shape=(16, 16))),
]


@pytest.mark.parametrize("name, files, file, reason", FOLDER_REJECTIONS, ids=[r[0] for r in FOLDER_REJECTIONS])
def test_case_folder_rejected_with_exact_reason(src, name, files, file, reason):
    entries = _folder_entries(files)
    entries["ok/t1_arterial.npy"], entries["ok/t1_portal.npy"], entries["ok/t2.npy"] = (
        npy_bytes(a) for a in good_arrays(3).values())
    got, report = read_cases(make_zip(src / "s.zip", entries))
    assert got.ids == ["ok"]
    (rejection,) = report.rejected
    assert (rejection.case, rejection.file) == ("c", file)
    if reason is None:  # Pillow's message holds a memory address: check the start only
        assert rejection.reason.startswith("unreadable file: ")
    else:
        assert rejection.reason == reason


@pytest.mark.parametrize("writer, ext", [(png_bytes, ".png"), (nii_bytes, ".nii"), (dcm_bytes, ".dcm")])
def test_image_larger_than_the_limit_in_each_file_format(src, writer, ext):
    make_zip(src / "s.zip", _folder_case(writer, good_arrays(0), ext))
    _, report = read_cases(src / "s.zip", limits=Limits(max_image_side=8))
    assert report.rejected == [Rejection("case_a", f"case_a/t1_arterial{ext}", A.IMAGE_TOO_LARGE.format(
        sequence="t1_arterial", height=16, width=16, limit=8))]


def test_oversized_files_are_never_decoded(src):
    limits = Limits(max_image_side=16)
    big = np.zeros((128, 128))
    big[0, 0] = 1
    make_zip(src / "s.zip", {"c/t1_arterial.npy": npy_bytes(big), "c/t1_portal.npy": npy_bytes(image(1)),
                             "c/t2.npy": npy_bytes(image(2)),
                             "d/t1_arterial.npy": npy_bytes(image(1)), "d/t1_portal.npy": npy_bytes(image(1)),
                             "d/t2.nii.gz": nii_gz_bytes(np.zeros((64, 64, 64)))})
    _, report = read_cases(src / "s.zip", limits=limits)
    assert report.rejected == [
        Rejection("c", "c/t1_arterial.npy", A.FILE_TOO_LARGE.format(
            sequence="t1_arterial", size=len(npy_bytes(big)), limit=limits.max_image_bytes)),
        Rejection("d", "d/t2.nii.gz", A.DECOMPRESSES_TOO_LARGE.format(sequence="t2", limit=limits.max_image_bytes)),
    ]


def test_loose_files_nested_archives_and_unsupported_files_are_rejected(src):
    inner = make_zip(src / "inner.zip", {"c.npz": npz_bytes(**good_arrays(0))}).read_bytes()
    make_zip(src / "s.zip", {"more.zip": inner, "t2.png": png_bytes(image(1, np.uint8)), "model.pt": b"weights",
                             "good.npz": npz_bytes(**good_arrays(0))})
    got, report = read_cases(src / "s.zip")
    assert got.ids == ["good"]
    assert report.rejected == [Rejection("more", "more.zip", A.NESTED_ARCHIVE),
                               Rejection("t2", "t2.png", A.OUTSIDE_CASE_FOLDER),
                               Rejection("model", "model.pt", A.UNSUPPORTED_FILE.format(suffix=".pt"))]


def test_report_json_and_summary(src):
    make_zip(src / "s.zip", {"good.npz": npz_bytes(**good_arrays(0)),
                             "bad.npz": npz_bytes(**_with(t2=np.zeros((SIDE, SIDE))))})
    report = validate(src / "s.zip")
    assert report.to_json() == {"accepted": 1, "rejected": [
        {"case": "bad", "file": "bad.npz", "reason": "t2 is a constant image (every pixel is 0.0)"}], "errors": []}
    assert report.summary().splitlines()[0] == "s.zip: 1 accepted, 1 rejected"
    assert "  bad   bad.npz  t2 is a constant image (every pixel is 0.0)" in report.summary()


# ----------------------------------------------------------------------------------------
# Whole archives refused
# ----------------------------------------------------------------------------------------

def _zip_with_infos(path: Path, infos: list[tuple[zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in infos:
            zf.writestr(info, data)
    return path


@pytest.mark.parametrize("entry, reason", [
    ("../evil.npz", A.ESCAPES_ROOT.format(entry="../evil.npz")),
    ("ok/../../evil.npz", A.ESCAPES_ROOT.format(entry="ok/../../evil.npz")),
    ("..\\evil.npz", A.ESCAPES_ROOT.format(entry="..\\evil.npz")),
    ("/tmp/gan_eval_evil.npz", A.ABSOLUTE_PATH.format(entry="/tmp/gan_eval_evil.npz")),
    ("C:/evil.npz", A.ABSOLUTE_PATH.format(entry="C:/evil.npz")),
])
def test_zip_entries_escaping_the_root(src, tmp_path, entry, reason):
    path = _zip_with_infos(src / "real.zip", [(zipfile.ZipInfo("good.npz"), npz_bytes(**good_arrays(0))),
                                              (zipfile.ZipInfo(entry), npz_bytes(**good_arrays(1)))])
    assert_refused(path, reason, escapes=(tmp_path / "evil.npz", Path("/tmp/gan_eval_evil.npz")))


def test_zip_symlink_and_encrypted_entries(src):
    link = zipfile.ZipInfo("c.npz")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    assert_refused(_zip_with_infos(src / "link.zip", [(link, b"/etc/passwd")]), A.SYMLINK.format(entry="c.npz"))
    locked = make_zip(src / "locked.zip", {"c.npz": b"x"})
    raw = bytearray(locked.read_bytes())
    raw[raw.index(b"PK\x01\x02") + 8] |= 0x1  # the central directory's "encrypted" flag bit
    locked.write_bytes(bytes(raw))
    assert_refused(locked, A.ENCRYPTED.format(entry="c.npz"))
    odd = make_zip(src / "odd.zip", {"c.npz": npz_bytes(**good_arrays(0))})
    raw = bytearray(odd.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # compression method 97
        raw[raw.index(signature) + offset] = 97
    odd.write_bytes(bytes(raw))
    assert_refused(odd, A.UNSUPPORTED_COMPRESSION.format(entry="c.npz"))


def _tar_with(path: Path, info: tarfile.TarInfo, mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        good = npz_bytes(**good_arrays(0))
        ok = tarfile.TarInfo("good.npz")
        ok.size = len(good)
        tf.addfile(ok, io.BytesIO(good))
        tf.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return path


def _tarinfo(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", size: int = 1) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = size if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize("info, reason", [
    (_tarinfo("../evil.npz"), A.ESCAPES_ROOT.format(entry="../evil.npz")),
    (_tarinfo("/tmp/gan_eval_evil.npz"), A.ABSOLUTE_PATH.format(entry="/tmp/gan_eval_evil.npz")),
    (_tarinfo("c.npz", tarfile.SYMTYPE, "/etc/passwd"), A.SYMLINK.format(entry="c.npz")),
    (_tarinfo("c.npz", tarfile.LNKTYPE, "good.npz"), A.HARDLINK.format(entry="c.npz")),
    (_tarinfo("fifo", tarfile.FIFOTYPE), A.SPECIAL_FILE.format(entry="fifo")),
    (_tarinfo("dev", tarfile.CHRTYPE), A.SPECIAL_FILE.format(entry="dev")),
])
@pytest.mark.parametrize("name, mode", [("real.tar", "w"), ("real.tar.gz", "w:gz")])
def test_unsafe_tar_entries(src, tmp_path, info, reason, name, mode):
    assert_refused(_tar_with(src / name, info, mode), reason,
                   escapes=(tmp_path / "evil.npz", Path("/tmp/gan_eval_evil.npz")))


def test_zip_bomb_caught_from_headers(src):
    zeros = bytes(4 << 20)  # 4 MiB deflates ~1000x
    path = make_zip(src / "bomb.zip", {"c.npz": zeros})
    ratio = (4 << 20) / zipfile.ZipFile(path).getinfo("c.npz").compress_size
    assert_refused(path, A.ENTRY_RATIO.format(entry="c.npz", ratio=ratio, limit=200))
    stored = make_zip(src / "big.zip", {"a.npz": bytes(3000), "b.npz": bytes(3000)}, zipfile.ZIP_STORED)
    assert_refused(stored, A.ENTRY_TOO_LARGE.format(entry="a.npz", size=3000, limit=2000),
                   Limits(max_entry_bytes=2000))
    assert_refused(stored, A.TOTAL_TOO_LARGE.format(limit=5000), Limits(max_total_bytes=5000))


def test_tar_gz_bomb_caught_by_the_archive_ratio(src):
    path = make_tar(src / "bomb.tar.gz", {"c.npz": bytes(4 << 20)}, "w:gz")
    ratio = (4 << 20) / path.stat().st_size
    assert_refused(path, A.ARCHIVE_RATIO.format(ratio=ratio, limit=200))


def test_zip_header_that_lies_about_the_size_is_caught_while_reading(src):
    data = npz_bytes(**good_arrays(0))
    path = make_zip(src / "lie.zip", {"c.npz": data})
    raw = path.read_bytes()
    true_size = len(data).to_bytes(4, "little")
    claimed = (100).to_bytes(4, "little")
    local, central = raw.index(b"PK\x03\x04"), raw.index(b"PK\x01\x02")
    assert raw[local + 22: local + 26] == true_size and raw[central + 24: central + 28] == true_size
    raw = raw[:local + 22] + claimed + raw[local + 26: central + 24] + claimed + raw[central + 28:]
    path.write_bytes(raw)
    assert_refused(path, A.CORRUPT.format(error="c.npz: Bad CRC-32 for file 'c.npz'"))


def test_nesting_too_deep_and_too_many_members(src):
    deep = "/".join(["d"] * 8) + "/c.npz"
    assert_refused(make_zip(src / "deep.zip", {deep: b"x"}), A.TOO_DEEP.format(entry=deep, depth=9, limit=8))
    many = make_zip(src / "many.zip", {f"c{i}.npz": b"x" for i in range(5)})
    assert_refused(many, A.TOO_MANY_MEMBERS.format(limit=4), Limits(max_members=4))


def test_corrupt_and_non_archives(src):
    whole = make_zip(src / "whole.zip", {"c.npz": npz_bytes(**good_arrays(0))}).read_bytes()
    (src / "cut.zip").write_bytes(whole[: len(whole) // 2])
    assert_refused(src / "cut.zip", A.CORRUPT.format(error="not a valid .zip file"))
    tgz = make_tar(src / "whole.tar.gz", {"c.npz": npz_bytes(**good_arrays(0))}, "w:gz").read_bytes()
    (src / "cut.tar.gz").write_bytes(tgz[: len(tgz) // 2])
    with pytest.raises(ArchiveError, match=r"^cut\.tar\.gz: corrupt archive: "):
        read_cases(src / "cut.tar.gz")
    (src / "notes.bin").write_bytes(b"hello, these are not cases")
    assert_refused(src / "notes.bin", A.NOT_AN_ARCHIVE)
    assert_refused(src / "missing.zip", A.NOT_FOUND)


def test_no_cases_found(src):
    assert_refused(make_zip(src / "empty.zip", {"README.md": b"nothing here"}), A.NO_CASES)


def test_bad_stacked_arrays_are_refused(src):
    np.save(src / "flat.npy", np.zeros((2, SIDE, SIDE), np.float32))
    assert_refused(src / "flat.npy", A.STACK_SHAPE.format(entry="flat.npy", shape=(2, 16, 16)))
    np.savez(src / "ids.npz", images=np.ones((2, 3, 4, 4)), case_ids=np.array(["a"]))
    assert_refused(src / "ids.npz", A.STACK_IDS.format(count=1, n=2))
    np.savez(src / "masks.npz", images=np.ones((2, 3, 4, 4)), masks=np.ones((2, 3, 2, 2)))
    assert_refused(src / "masks.npz", A.STACK_MASK_SHAPE.format(mask_shape=(2, 3, 2, 2), image_shape=(2, 3, 4, 4)))


def test_stacked_cases_are_checked_one_by_one(src):
    stack = np.stack([np.stack(list(good_arrays(i, np.float32).values())) for i in range(3)])
    stack[1, 2, 0, 0] = np.nan
    np.savez(src / "gen.npz", images=stack, case_ids=np.array(["a", "b", "a"]))
    got, report = read_cases(src / "gen.npz")
    assert got.ids == ["a"]
    assert report.rejected == [Rejection("b", "gen.npz[1]", A.NON_FINITE.format(sequence="t2")),
                               Rejection("a", "gen.npz[2]", A.DUPLICATE_CASE.format(case="a", first="gen.npz[0]"))]


def test_folder_symlinks(src, tmp_path):
    outside = tmp_path / "secret.npy"
    np.save(outside, image(0))
    root = make_folder(src / "sub", {f"c/{seq}.npy": npy_bytes(a) for seq, a in good_arrays(0).items()})
    (root / "d").mkdir()
    os.symlink(root / "c" / "t1_arterial.npy", root / "d" / "t1_arterial.npy")  # inside: followed
    for seq in ("t1_portal", "t2"):
        (root / "d" / f"{seq}.npy").write_bytes(npy_bytes(image(3)))
    os.symlink(root / "c", root / "alias")  # linked folder: not descended
    got, report = read_cases(root)
    assert got.ids == ["c", "d"]
    np.testing.assert_array_equal(got[1].images[0], good_arrays(0)["t1_arterial"])
    assert report.ignored == ["alias (symbolic link to a folder or to nothing, not followed)"]
    os.symlink(outside, root / "c" / "mask.npy")
    assert_refused(root, A.LINK_OUTSIDE.format(entry="c/mask.npy"))
