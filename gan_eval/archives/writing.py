"""Writing the standard archive: a .zip holding one ``<case_id>.npz`` per case."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Iterable

import numpy as np

from ..cases import SEQUENCES, Case


def write_archive(cases: Iterable[Case], path: str | Path, compress: bool = True) -> int:
    """Write cases as a .zip holding one ``<case_id>.npz`` per case (the standard format).

    Keys: ``t1_arterial``, ``t1_portal``, ``t2`` and, when the case has masks,
    ``mask_t1_arterial``, ``mask_t1_portal``, ``mask_t2`` (only those given: a mask that was
    missing stays missing, it is not written as an empty one). Written to a temporary file and
    renamed, so a crash never leaves a half archive under ``path``. Returns the case count.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    count = 0
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(tmp, "w", compression=mode, compresslevel=1 if compress else None) as zf:
        for case in cases:
            buf = io.BytesIO()
            arrays = {seq: case.images[i] for i, seq in enumerate(SEQUENCES)}
            for i, seq in enumerate(SEQUENCES):
                if (mask := case.mask(i)) is not None:
                    arrays[f"mask_{seq}"] = mask
            np.savez(buf, **arrays)
            zf.writestr(f"{case.case_id}.npz", buf.getvalue())
            count += 1
    tmp.replace(path)
    return count
