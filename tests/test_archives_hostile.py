"""Archives built to hurt or that lie: metadata bombs, damage that a lenient reader reads as a
shorter valid archive, checksums nobody verified, files whose content is not what their name
says. Each test here failed on the reader before these fixes (see the docstrings).
"""

from __future__ import annotations

import gzip
import io
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gan_eval import archives as A
from gan_eval.archives import ArchiveError, Limits, read_cases, validate
from test_archives import good_arrays, make_tar, make_zip, npz_bytes, src  # noqa: F401 (src: the fixture)

GOOD = {f"c{i}.npz": npz_bytes(**good_arrays(i)) for i in range(5)}


def tar_header(name: bytes, typeflag: bytes, size: int) -> bytes:
    """One raw GNU-format tar header block with a correct checksum."""
    block = bytearray(512)
    block[0:len(name)] = name
    block[100:108] = b"0000644\x00"
    block[108:116] = block[116:124] = b"0000000\x00"
    block[124:136] = b"%011o\x00" % size
    block[136:148] = b"00000000000\x00"
    block[156:157] = typeflag
    block[257:265] = b"ustar  \x00"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block)


def tar_bytes(entries: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def refusal(path: Path, limits: Limits = Limits()) -> str:
    with pytest.raises(ArchiveError) as info:
        read_cases(path, limits=limits)
    assert validate(path, limits=limits).errors == [str(info.value)]
    return info.value.reason


# ----------------------------------------------------------------------------------------
# Tar metadata bombs: bounded before tarfile (or anything) reads them
# ----------------------------------------------------------------------------------------

@pytest.mark.timeout(60)
@pytest.mark.parametrize("typeflag, kind", [(b"L", "GNU long-name"), (b"K", "GNU long-link"), (b"x", "pax"),
                                            (b"g", "pax global")])
def test_tar_metadata_header_declaring_a_huge_size_is_refused_unread(src, typeflag, kind):
    """A 1 GB long name in a 1 MB .tar.gz made tarfile allocate the whole name (9.3 GB)."""
    name = b"././@LongLink" if typeflag in b"LK" else b"./PaxHeaders/c0.npz"
    (src / "bomb.tar.gz").write_bytes(gzip.compress(tar_header(name, typeflag, 1 << 30) + b"a" * (1 << 20)))
    tracemalloc.start()
    try:
        reason = refusal(src / "bomb.tar.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reason == A.TAR_METADATA_TOO_LARGE.format(kind=kind, entry=name.decode(), size=1 << 30,
                                                     limit=Limits().max_tar_metadata_bytes)
    assert peak < 8 << 20


def test_tar_long_name_that_is_really_there_is_still_not_read(src):
    """A 2 MiB long name, present in full before a good member: tarfile read it all."""
    name = b"a" * (2 << 20)
    data = (tar_header(b"././@LongLink", b"L", len(name)) + name + bytes(-len(name) % 512)
            + tar_bytes({"c0.npz": GOOD["c0.npz"]}))
    (src / "long.tar.gz").write_bytes(gzip.compress(data))
    tracemalloc.start()
    try:
        reason = refusal(src / "long.tar.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reason.startswith("tar GNU long-name header '././@LongLink' declares 2097152 bytes")
    assert peak < 1 << 20


@pytest.mark.timeout(60)
def test_pax_header_of_many_digits_is_refused_quickly(src):
    """128 KB of digits in a pax header took tarfile 21 s on Python 3.11.7 (CVE-2024-6232);
    within the size limit the records are parsed in one linear pass."""
    for digits, expected in ((128 << 10, "tar pax header"), (60 << 10, "corrupt archive: damaged pax header")):
        pax = b"1" * digits
        data = (tar_header(b"./PaxHeaders/c0.npz", b"x", len(pax)) + pax + bytes(-len(pax) % 512)
                + tar_bytes({"c0.npz": GOOD["c0.npz"]}))
        (src / "pax.tar").write_bytes(data)
        assert refusal(src / "pax.tar").startswith(expected)


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_long_and_non_ascii_names_of_every_tar_format_still_read(src, fmt):
    folder = "très_long_" + "d" * 120  # > 100 bytes: a long-name, pax or ustar prefix header
    arrays = good_arrays(3)
    entries = {f"{folder}/case_ü/{seq}.npy": _npy(a) for seq, a in arrays.items()}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=fmt) as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    (src / "names.tar.gz").write_bytes(buf.getvalue())
    (case,), report = read_cases(src / "names.tar.gz")
    assert case.case_id == "case_ü" and report.accepted == [("case_ü", f"{folder}/case_ü/")]


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


# ----------------------------------------------------------------------------------------
# Archives that lie: read to the end, every checksum verified
# ----------------------------------------------------------------------------------------

def _offsets(data: bytes) -> list[tuple[int, int]]:
    """(header offset, data end) of each member of an uncompressed tar made by tarfile."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return [(m.offset, m.offset_data + m.size) for m in tf.getmembers()]


@pytest.mark.parametrize("compress", [False, True], ids=["tar", "tar.gz"])
@pytest.mark.parametrize("cut", ["inside the last member", "after member 2", "inside header 3"])
def test_truncated_tar_is_refused(src, compress, cut):
    """Cut at a header boundary, the old reader read a 5-member tar as 2 members, exit 0."""
    data = tar_bytes(GOOD)
    members = _offsets(data)
    at = {"inside the last member": members[-1][1] - 100, "after member 2": members[2][0],
          "inside header 3": members[2][0] + 200}[cut]
    name = "cut.tar.gz" if compress else "cut.tar"
    (src / name).write_bytes(gzip.compress(data[:at]) if compress else data[:at])
    assert refusal(src / name).startswith("corrupt archive: ")


@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_damaged_tar_header_mid_archive_refuses_the_archive(src, mode):
    """A damaged fourth header made the old reader report "3 accepted, 0 rejected"."""
    data = bytearray(tar_bytes(GOOD))
    data[_offsets(bytes(data))[3][0] + 5] ^= 0x20  # one letter of c3.npz's name
    raw = bytes(data)
    (src / "damaged.tar").write_bytes(gzip.compress(raw) if mode == "w:gz" else raw)
    assert refusal(src / "damaged.tar").startswith("corrupt archive: damaged tar header at byte ")


def test_data_after_the_end_of_a_tar_is_refused(src):
    """A second archive appended (``cat a.tar b.tar``) was silently ignored."""
    (src / "two.tar").write_bytes(tar_bytes(dict(list(GOOD.items())[:2])) + tar_bytes(dict(list(GOOD.items())[2:])))
    assert refusal(src / "two.tar") == "corrupt archive: data after the end-of-archive marker"


def test_gzip_payload_bit_flips_never_pass_as_other_pixels(src):
    """54 of 60 bit-flipped .tar.gz files used to be accepted, with changed pixels."""
    path = make_tar(src / "ok.tar.gz", GOOD, "w:gz")
    data = path.read_bytes()
    want = {c.case_id: c.images for c in read_cases(path)[0]}
    rng = np.random.default_rng(0)
    refused = 0
    for position in rng.integers(10, len(data) - 8, 30):  # the deflate payload: header and trailer apart
        flipped = bytearray(data)
        flipped[position] ^= 1 << int(rng.integers(8))
        (src / "flip.tar.gz").write_bytes(bytes(flipped))
        try:
            got, _ = read_cases(src / "flip.tar.gz")
        except ArchiveError as exc:
            assert exc.reason.startswith("corrupt archive: ")
            refused += 1
            continue
        assert {c.case_id: c.images.tobytes() for c in got} == {k: v.tobytes() for k, v in want.items()}
    assert refused >= 28


@pytest.mark.parametrize("field, error", [(slice(-8, -4), "CRC check failed"), (slice(-4, None), "Incorrect length")])
def test_gzip_trailer_crc_and_length_are_verified(src, field, error):
    data = bytearray(make_tar(src / "ok.tar.gz", GOOD, "w:gz").read_bytes())
    data[field] = bytes(b ^ 0xFF for b in data[field])
    (src / "trailer.tar.gz").write_bytes(bytes(data))
    assert error in refusal(src / "trailer.tar.gz")


def test_truncated_zip_ending_in_a_stored_npz_is_refused(src):
    """zipfile found the inner npz's end record and read the cut archive as that npz: its
    arrays came back as "image file outside a case folder" rejections, not a refusal."""
    path = make_zip(src / "cut.zip", GOOD, zipfile.ZIP_STORED)
    with zipfile.ZipFile(path) as zf:
        central_directory = zf.start_dir
    path.write_bytes(path.read_bytes()[:central_directory])
    assert zipfile.is_zipfile(path)  # what fooled the old reader
    assert refusal(path) == A.CORRUPT.format(
        error="the central directory is not where the end record places it (truncated, or data before it)")


def test_zip_with_data_appended_is_refused(src):
    path = make_zip(src / "more.zip", GOOD)
    path.write_bytes(path.read_bytes() + b"trailing bytes")
    assert refusal(path) == A.CORRUPT.format(
        error="the end-of-central-directory record does not end the file (truncated or appended to)")


def _damage_member(path: Path, name: str) -> None:
    """Flip a byte in the middle of one member's stored data (its CRC no longer matches)."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_damaged_member_no_case_needs_still_refuses_the_zip(src):
    """The old reader never read README.md or the nested zip, so their CRCs went unchecked."""
    entries = {**GOOD, "README.md": b"# notes\n" * 50, "more.zip": b"PK" + bytes(300)}
    for damaged in ("README.md", "more.zip"):
        path = make_zip(src / "s.zip", entries, zipfile.ZIP_STORED)
        _damage_member(path, damaged)
        assert refusal(path) == A.CORRUPT.format(error=f"{damaged}: Bad CRC-32 for file '{damaged}'")


def test_damaged_array_no_sequence_needs_rejects_its_case(src):
    """A per-case npz's unused key (here ``spacing``) was never read, so never checked."""
    case = src / "c.npz"
    case.write_bytes(npz_bytes(**good_arrays(0), spacing=np.arange(64.0)))
    _damage_member(case, "spacing.npy")
    make_tar(src / "s.tar", {"bad.npz": case.read_bytes(), "good.npz": GOOD["c0.npz"]})
    got, report = read_cases(src / "s.tar")
    assert got.ids == ["good"]
    assert report.rejected == [A.Rejection("bad", "bad.npz", A.UNREADABLE.format(
        error="BadZipFile: Bad CRC-32 for file 'spacing.npy'"))]


def test_damaged_unused_array_of_a_stacked_npz_is_refused(src):
    np.savez(src / "gen.npz", images=np.stack([np.stack(list(good_arrays(i).values())) for i in range(2)]),
             notes=np.arange(100.0))
    _damage_member(src / "gen.npz", "notes.npy")
    assert refusal(src / "gen.npz") == A.CORRUPT.format(error="notes.npy: Bad CRC-32 for file 'notes.npy'")


# ----------------------------------------------------------------------------------------
# Stacked npz: damage is a refusal with a reason, never a traceback
# ----------------------------------------------------------------------------------------

def test_stacked_npz_with_a_damaged_local_header_is_refused(src):
    """``zf.open`` sat outside any try: zipfile.BadZipFile escaped as a traceback."""
    np.savez(src / "gen.npz", images=np.stack([np.stack(list(good_arrays(i).values())) for i in range(2)]))
    data = bytearray((src / "gen.npz").read_bytes())
    data[3] = 0x05  # the first local header's signature: PK\x03\x04 -> PK\x03\x05
    (src / "gen.npz").write_bytes(bytes(data))
    assert refusal(src / "gen.npz") == A.CORRUPT.format(error="images.npy: Bad magic number for file header")


def test_stacked_npz_ids_that_are_not_utf8_are_refused(src):
    """Raised UnicodeDecodeError."""
    np.savez(src / "gen.npz", images=np.stack([np.stack(list(good_arrays(i).values())) for i in range(2)]),
             case_ids=np.array([b"ok", b"\xff\xfe"]))
    assert refusal(src / "gen.npz") == A.STACK_ID_NOT_TEXT.format(key="case_ids", index=1)


# ----------------------------------------------------------------------------------------
# Entry counts from the end record, before zipfile lists anything
# ----------------------------------------------------------------------------------------

@pytest.fixture
def no_listing(monkeypatch):
    """Make zipfile's member listing of the outer archive fail the test if it runs."""
    def listed(self):
        raise AssertionError("zipfile listed the members before the entry count was checked")
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", listed)


def _patch_end_record(path: Path, count: int) -> None:
    data = bytearray(path.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    data[end + 8:end + 12] = count.to_bytes(2, "little") * 2  # entries on this disk, in total
    path.write_bytes(bytes(data))


def test_zip_entry_count_is_refused_from_the_end_record_before_listing(src, no_listing):
    """A zip of 1M entries took 613 MB before it was refused: zipfile built every ZipInfo."""
    path = make_zip(src / "many.zip", GOOD)
    _patch_end_record(path, 65535)
    assert refusal(path, Limits(max_members=1000)) == A.TOO_MANY_MEMBERS.format(limit=1000)


def test_zip_whose_end_record_understates_the_count_is_still_counted(src, no_listing):
    path = make_zip(src / "many.zip", GOOD)
    _patch_end_record(path, 1)
    assert refusal(path, Limits(max_members=4)) == A.TOO_MANY_MEMBERS.format(limit=4)


def test_zip_whose_end_record_misstates_the_count_is_refused(src):
    path = make_zip(src / "many.zip", GOOD)
    _patch_end_record(path, 7)
    assert refusal(path) == A.CORRUPT.format(error="damaged central directory (5 entries for 7 declared)")


def test_zip64_archive_reads(src):
    """More than 65535 entries: zipfile writes zip64 end records, which must still be read."""
    with zipfile.ZipFile(src / "big.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("c0.npz", GOOD["c0.npz"])
        for i in range(1 << 16):
            zf.writestr(f"__MACOSX/{i}", b"")
    assert b"PK\x06\x06" in (src / "big.zip").read_bytes()[-200:]
    got, report = read_cases(src / "big.zip")
    assert got.ids == ["c0"] and len(report.ignored) == 1 << 16


# ----------------------------------------------------------------------------------------
# Images are opened as the format their name says, never by content
# ----------------------------------------------------------------------------------------

def _png_case_with_t2(t2: bytes, suffix: str = ".png") -> dict[str, bytes]:
    from test_archives import png_bytes

    arrays = good_arrays(4, np.uint8)
    return {"c/t1_arterial.png": png_bytes(arrays["t1_arterial"]), "c/t1_portal.png": png_bytes(arrays["t1_portal"]),
            f"c/t2{suffix}": t2, **{f"ok/{seq}.png": png_bytes(a) for seq, a in good_arrays(5, np.uint8).items()}}


@pytest.mark.parametrize("fmt", ["TIFF", "GIF", "BMP", "ICO", "TGA", "PCX", "PPM", "JPEG"])
def test_png_holding_another_format_is_rejected(src, fmt):
    """Pillow opened by content: each of these was accepted as a .png."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(good_arrays(4, np.uint8)["t2"]).save(buf, format=fmt)
    got, report = read_cases(make_zip(src / "s.zip", _png_case_with_t2(buf.getvalue())))
    assert got.ids == ["ok"]
    assert report.rejected == [A.Rejection("c", "c/t2.png", A.NOT_NAMED_FORMAT.format(format="PNG"))]


def test_jpg_holding_eps_never_reaches_ghostscript(src, monkeypatch):
    """Pillow identified the EPS and ran Ghostscript on it to decode the pixels."""
    from PIL import EpsImagePlugin

    calls = []
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *args, **kwargs: calls.append(args) or 1 / 0)
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\n0 0 16 16 rectfill\n%%EOF\n"
    got, report = read_cases(make_zip(src / "s.zip", _png_case_with_t2(eps, ".jpg")))
    assert got.ids == ["ok"] and calls == []
    assert report.rejected == [A.Rejection("c", "c/t2.jpg", A.NOT_NAMED_FORMAT.format(format="JPEG"))]


def test_jpeg_named_jpeg_reads(src):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(good_arrays(4, np.uint8)["t2"]).save(buf, format="JPEG")
    got, report = read_cases(make_zip(src / "s.zip", _png_case_with_t2(buf.getvalue(), ".jpeg")))
    assert got.ids == ["c", "ok"] and report.ok


# ----------------------------------------------------------------------------------------
# DICOM pixels as the values they stand for
# ----------------------------------------------------------------------------------------

def dicom_with(array: np.ndarray, **tags) -> bytes:
    """A DICOM file of ``array`` (stored values) with extra or changed tags."""
    import pydicom

    from test_archives import dcm_bytes

    dataset = pydicom.dcmread(io.BytesIO(dcm_bytes(array)))
    for tag, value in tags.items():
        setattr(dataset, tag, value)
    buf = io.BytesIO()
    dataset.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _dicom_case(src: Path, **tags) -> tuple[dict[str, np.ndarray], object]:
    arrays = good_arrays(6)
    path = make_zip(src / "s.zip", {f"c/{seq}.dcm": dicom_with(a, **tags) for seq, a in arrays.items()})
    return arrays, read_cases(path)


def test_dicom_monochrome1_is_inverted(src):
    """MONOCHROME1 (minimum shown white) was read as MONOCHROME2: brightness inverted."""
    arrays, ((case,), report) = _dicom_case(src, PhotometricInterpretation="MONOCHROME1")
    assert report.ok and case.images.dtype == np.uint16
    for i, stored in enumerate(arrays.values()):
        np.testing.assert_array_equal(case.images[i], stored.max() + stored.min() - stored)


@pytest.mark.parametrize("slope, intercept", [(-1, 100), (2.5, -3), (1, -1024)])
def test_dicom_rescale_is_applied(src, slope, intercept):
    """A negative RescaleSlope was ignored, so its image came out inverted."""
    arrays, ((case,), report) = _dicom_case(src, RescaleSlope=slope, RescaleIntercept=intercept)
    assert report.ok
    for i, stored in enumerate(arrays.values()):
        np.testing.assert_allclose(case.images[i], stored * float(slope) + intercept)


def test_dicom_identity_rescale_keeps_the_stored_dtype(src):
    arrays, ((case,), _) = _dicom_case(src, RescaleSlope=1, RescaleIntercept=0)
    assert case.images.dtype == np.uint16
    np.testing.assert_array_equal(case.images, np.stack(list(arrays.values())))


def test_dicom_palette_colour_is_rejected(src):
    """PALETTE COLOR pixels are indices into a colour table: they were read as intensities."""
    _, (got, report) = _dicom_case(src, PhotometricInterpretation="PALETTE COLOR")
    assert len(got) == 0
    assert report.rejected == [A.Rejection("c", "c/t1_arterial.dcm", A.DICOM_NOT_GRAYSCALE.format(
        sequence="t1_arterial", value="PALETTE COLOR"))]


def test_finite_extremes_are_accepted(src):
    """Preprocessing, not validation, must cope with them: every finite value is a valid pixel."""
    extreme = {"t1_arterial": np.array([[-3e38, 3e38], [0, 1]], np.float32),
               "t1_portal": np.array([[-1e308, 1e308], [0, 1]]), "t2": good_arrays(0)["t2"][:2, :2]}
    make_zip(src / "s.zip", {"c.npz": npz_bytes(**extreme)})
    (case,), report = read_cases(src / "s.zip")
    assert report.ok and np.isfinite(case.images).all()
