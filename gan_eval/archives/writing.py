"""Writing the standard archive: a .zip holding one ``<case_id>.npz`` per case.

The bytes depend on the cases alone (every zip entry, outer and inner, carries the same fixed
time stamp), so writing the same cases twice gives the same file and the same content hash: the
workspace stores what it read this way, and identical submissions are stored once.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from typing import Iterable

import numpy as np

from ..cases import SEQUENCES, Case
from ..store import atomic_path

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


_SAMPLE = 1 << 16   # bytes of a member tried with deflate before deciding
_WORTH = 0.8         # deflate a member whose sample shrinks below this fraction


def _worth_deflating(data: bytes) -> bool:
    """Whether deflate pays for ``data``: 12-16-bit MRI noise barely shrinks and deflates at a few MB/s
    (a 1000-case upload took minutes), while flat backgrounds and masks shrink many times, fast
    (and a few MB of zeros must not become GBs on disk)."""
    sample = data[len(data) // 2: len(data) // 2 + _SAMPLE]
    return len(zlib.compress(sample, 1)) < _WORTH * len(sample)


def _entry(name: str, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """What ``np.savez`` writes (an uncompressed zip of ``.npy`` files), with fixed time stamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for key, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
            zf.writestr(_entry(f"{key}.npy", compress=False), member.getvalue())
    return buffer.getvalue()


def write_archive(cases: Iterable[Case], path: str | Path, compress: bool = True) -> int:
    """Write cases as a .zip holding one ``<case_id>.npz`` per case (the standard format).

    Keys: ``t1_arterial``, ``t1_portal``, ``t2`` and, when the case has masks,
    ``mask_t1_arterial``, ``mask_t1_portal``, ``mask_t2`` (only those given: a mask that was
    missing stays missing, it is not written as an empty one). With ``compress`` each case is
    deflated when that pays (``_worth_deflating``), else stored. Written whole or not at all
    (gan_eval.store), streaming: one case in memory at a time. Returns the case count.
    """
    count = 0
    with atomic_path(Path(path)) as tmp, zipfile.ZipFile(tmp, "w", compresslevel=1 if compress else None) as zf:
        for case in cases:
            arrays = {seq: case.images[i] for i, seq in enumerate(SEQUENCES)}
            for i, seq in enumerate(SEQUENCES):
                if (mask := case.mask(i)) is not None:
                    arrays[f"mask_{seq}"] = mask
            data = npz_bytes(arrays)
            zf.writestr(_entry(f"{case.case_id}.npz", compress and _worth_deflating(data)), data)
            count += 1
    return count
