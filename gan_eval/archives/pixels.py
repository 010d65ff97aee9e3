"""Checks every decoded image goes through, whatever its format: dtype, 2D, size, finite,
not constant. ``check_layout`` needs only the shape and dtype, so readers run it from a
header before any pixel is read."""

from __future__ import annotations

import numpy as np

from ..cases import SUPPORTED_DTYPES
from .reasons import CONSTANT_IMAGE, EMPTY_IMAGE, IMAGE_TOO_LARGE, NON_FINITE, NOT_2D, UNSUPPORTED_DTYPE
from .report import CaseRejected, Limits

_SUPPORTED = frozenset(np.dtype(t) for t in SUPPORTED_DTYPES)


def _native(dtype: np.dtype) -> np.dtype:
    return dtype.newbyteorder("=") if dtype.byteorder not in "=|" else dtype


def check_layout(label: str, shape: tuple, dtype: np.dtype, limits: Limits, mask: bool) -> None:
    """Checks that need no pixel data: dtype, 2D, size. Run before reading data when possible."""
    if not (_native(dtype) in _SUPPORTED or (mask and dtype == np.bool_)):
        raise CaseRejected(UNSUPPORTED_DTYPE.format(sequence=label, dtype=dtype))
    if len(shape) != 2:
        raise CaseRejected(NOT_2D.format(sequence=label, shape=tuple(shape)))
    if min(shape) == 0:
        raise CaseRejected(EMPTY_IMAGE.format(sequence=label, shape=tuple(shape)))
    if max(shape) > limits.max_image_side:
        raise CaseRejected(IMAGE_TOO_LARGE.format(sequence=label, height=shape[0], width=shape[1],
                                                  limit=limits.max_image_side))


def check_pixels(label: str, array: np.ndarray, mask: bool) -> np.ndarray:
    """Full check of a decoded array; returns it in native byte order."""
    if array.dtype.byteorder not in "=|":
        array = array.astype(_native(array.dtype))
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise CaseRejected(NON_FINITE.format(sequence=label))
    if not mask and array.min() == array.max():
        raise CaseRejected(CONSTANT_IMAGE.format(sequence=label, value=array.flat[0]))
    return array
