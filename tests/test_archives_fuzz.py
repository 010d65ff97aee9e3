"""Fuzzing the readers: a few hundred seeded mutations of small zip, tar, tar.gz and stacked
npz/npy inputs (bit flips, truncation, inserted and deleted bytes, header fields overwritten).

Every outcome must be one of: cases accepted, cases rejected with a reason, or the whole input
refused with an ``ArchiveError`` and a reason; ``validate`` and ``read_cases`` must agree; no
input may take long or use much memory. Any other exception is a bug.
"""

from __future__ import annotations

import io
import resource
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gan_eval.archives import ArchiveError, read_cases, validate
from gan_eval.cases import SEQUENCES
from test_archives import dcm_bytes, good_arrays, mask, nii_gz_bytes, npy_bytes, npz_bytes, png_bytes

MUTANTS_PER_INPUT = 60       # 7 inputs: 420 mutants, a few seconds
SECONDS_PER_INPUT = 10.0         # far above the ~10 ms each takes: only a hang gets near it
RSS_GROWTH_LIMIT = 300 << 20     # bytes of peak-RSS growth over the whole run


def _entries() -> dict[str, bytes]:
    """One case per reader path: npz per case, and a case folder of every image format."""
    arrays = good_arrays(1, np.uint8)
    return {
        "c0.npz": npz_bytes(**good_arrays(0), mask_t2=mask(0)),
        "c1/t1_arterial.png": png_bytes(arrays["t1_arterial"]),
        "c1/t1_portal.nii.gz": nii_gz_bytes(arrays["t1_portal"]),
        "c1/t2.dcm": dcm_bytes(arrays["t2"].astype(np.uint16)),
        "c1/mask.npy": npy_bytes(mask(1)),
        "README.md": b"# team fuzz\n",
    }


def _tar(entries: dict[str, bytes], mode: str, fmt: int = tarfile.GNU_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=fmt) as tf:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _stack(compressed: bool) -> bytes:
    images = np.stack([np.stack([good_arrays(i)[s] for s in SEQUENCES]) for i in range(3)])
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(
        buf, images=images, masks=np.stack([np.stack([mask(i)] * 3) for i in range(3)]),
        case_ids=np.array(["a", "b", "c"]))
    return buf.getvalue()


def base_inputs() -> dict[str, bytes]:
    entries = _entries()
    images = np.stack([np.stack([good_arrays(i)[s] for s in SEQUENCES]) for i in range(2)])
    long_names = {f"{'x' * 90}/{'y' * 30}/{name}": data for name, data in entries.items()}  # pax headers
    return {"s.zip": _zip(entries), "s.tar": _tar(entries, "w"), "s.tar.gz": _tar(entries, "w:gz"),
            "pax.tar": _tar(long_names, "w", tarfile.PAX_FORMAT),
            "stack.npz": _stack(False), "stackz.npz": _stack(True), "stack.npy": npy_bytes(images)}


def _header_offsets(data: bytes) -> list[int]:
    """Where headers start: zip records, tar header blocks, npy headers."""
    offsets = []
    for signature in (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"\x93NUMPY", b"ustar"):
        start = data.find(signature)
        while start != -1:
            offsets.append(start - 257 if signature == b"ustar" else start)
            start = data.find(signature, start + 1)
    return [o for o in offsets if o >= 0] or [0]


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    kind = rng.integers(5)
    if kind == 0:  # bit flips
        for _ in range(int(rng.integers(1, 5))):
            out[int(rng.integers(len(out)))] ^= 1 << int(rng.integers(8))
    elif kind == 1:  # truncation
        del out[int(rng.integers(len(out))):]
    elif kind == 2:  # inserted bytes
        at = int(rng.integers(len(out)))
        out[at:at] = rng.integers(0, 256, int(rng.integers(1, 17)), dtype=np.uint8).tobytes()
    elif kind == 3:  # deleted bytes
        at = int(rng.integers(len(out)))
        del out[at:at + int(rng.integers(1, 17))]
    else:  # a header field overwritten: zero, all ones, a big octal number, or noise
        at = int(rng.choice(_header_offsets(data))) + int(rng.integers(0, 160))
        width = int(rng.choice([1, 2, 4, 8, 12]))
        value = [bytes(width), b"\xff" * width, b"7" * (width - 1) + b"\x00", rng.bytes(width)][rng.integers(4)]
        out[at:at + width] = value[:max(0, len(out) - at)]
    return bytes(out)


def outcome(path: Path) -> str:
    """Read ``path`` both ways; check they agree and every problem has a reason."""
    report = validate(path)
    try:
        cases, full = read_cases(path)
    except ArchiveError as exc:
        assert exc.reason and report.errors == [str(exc)], (report.errors, exc)
        return "refused"
    assert not report.errors and len(report.accepted) == len(cases) == len(full.accepted)
    assert all(r.reason and r.case and r.file for r in full.rejected)
    assert [r.reason for r in report.rejected] == [r.reason for r in full.rejected]
    return "rejected some" if full.rejected else "accepted"


@pytest.mark.timeout(600)
def test_mutated_archives_are_read_or_refused_with_a_reason(tmp_path):
    rng = np.random.default_rng(20240601)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    seen: dict[str, dict[str, int]] = {}
    for name, data in base_inputs().items():
        assert outcome(_write(tmp_path, name, data)) == "accepted", name  # the unmutated input is good
        counts = seen.setdefault(name, {})
        for i in range(MUTANTS_PER_INPUT):
            path = _write(tmp_path, name, mutate(data, rng))
            started = time.monotonic()
            try:
                result = outcome(path)
            except Exception as exc:  # keep the input for the report: the bug's reproducer
                kept = tmp_path / f"bug-{i}-{name}"
                path.rename(kept)
                raise AssertionError(f"mutant {i} of {name} ({kept}) raised {type(exc).__name__}: {exc}") from exc
            assert time.monotonic() - started < SECONDS_PER_INPUT, f"mutant {i} of {name} took too long"
            counts[result] = counts.get(result, 0) + 1
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - peak_before
    assert growth < RSS_GROWTH_LIMIT, f"peak memory grew by {growth >> 20} MB"
    # Most damage is caught: the mutants are not all accepted unnoticed.
    for name, counts in seen.items():
        assert counts.get("refused", 0) + counts.get("rejected some", 0) > MUTANTS_PER_INPUT // 2, (name, counts)


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path
