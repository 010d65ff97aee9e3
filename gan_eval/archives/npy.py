"""The ``.npy`` format, read from a stream without ``np.load``: the header is parsed here, so
object dtypes are refused before any data is read and nothing is ever unpickled."""

from __future__ import annotations

import io
import math
import re

import numpy as np

from .pixels import check_layout
from .report import Limits


def read_exact(fp, nbytes: int, what: str) -> bytes:
    data = fp.read(nbytes)
    if len(data) != nbytes:
        raise ValueError(f"{what} truncated: {len(data)} of {nbytes} bytes")
    return data


# The header numpy itself writes, parsed without ast.literal_eval (a sixth of the reading time
# of a small case); anything else goes through numpy's own parser.
_NPY_CANONICAL_HEADER = re.compile(
    rb"\{'descr': '([<>|=]?[a-zA-Z]\d*)', 'fortran_order': (True|False), 'shape': \(((?:\d+, ?)*\d*)\), \} *\n")
_NPY_MAX_HEADER = 10_000  # numpy's own default cap on header length


def read_npy_header(fp) -> tuple[tuple, bool, np.dtype]:
    version = np.lib.format.read_magic(fp)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ValueError(f"unsupported .npy format version {version}")
    length_bytes = read_exact(fp, 2 if version == (1, 0) else 4, "array header length")
    length = int.from_bytes(length_bytes, "little")
    if length > _NPY_MAX_HEADER:
        raise ValueError(f"array header of {length} bytes, more than {_NPY_MAX_HEADER}")
    header = read_exact(fp, length, "array header")
    match = _NPY_CANONICAL_HEADER.fullmatch(header)
    if match:
        descr, fortran, shape = match.groups()
        return tuple(int(n) for n in shape.split(b",") if n.strip()), fortran == b"True", np.dtype(descr.decode())
    replay = io.BytesIO(length_bytes + header)
    # 2.0 and 3.0 share the layout (3.0 only allows utf-8 in structured field names).
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    try:
        return reader(replay)
    except Exception:  # numpy's messages can hold memory addresses: say what the header was
        raise ValueError(f"invalid array header {header.strip()[:120]!r}") from None


def read_npy(fp, label: str, limits: Limits, mask: bool) -> np.ndarray:
    """Read one .npy stream, refusing dtype/shape/size from the header before any data."""
    shape, fortran, dtype = read_npy_header(fp)
    check_layout(label, shape, dtype, limits, mask)
    data = read_exact(fp, math.prod(shape) * dtype.itemsize, "array data")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
