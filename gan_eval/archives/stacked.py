"""Stacked inputs: one ``.npy`` shaped ``(N, 3, H, W)``, or one ``.npz`` holding ``images`` of
that shape with optional ``masks`` (same shape) and ``case_ids``; ids default to
``case_0000``... Problems with such a stacked array (shape, dtype, size) concern every case and
refuse the whole file. A ``.npz`` whose keys name sequences is read as one case.

Arrays are streamed one case at a time (C order), so a large stack is never held whole.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import numpy as np

from ..cases import SEQUENCES, Case
from .containers import Budget, Member, ZipSource
from .formats import archive_name
from .layout import assemble, case_from_npz, role_of
from .npy import read_exact, read_npy_header
from .pixels import check_layout, check_pixels
from .reasons import (CORRUPT, ENTRY_TOO_LARGE, STACK_ID_NOT_TEXT, STACK_IDS, STACK_KEYS, STACK_MASK_SHAPE,
                      STACK_SHAPE)
from .report import ArchiveError, CaseRejected, Limits, Rejection

_IMAGE_KEYS = ("images", "cases", "x")
_MASK_KEYS = ("masks", "mask")
_ID_KEYS = ("case_ids", "ids")


class _StackReader:
    """Reads an (N, 3, H, W) .npy stream one case at a time (C order), or whole (Fortran)."""

    def __init__(self, fp, entry: str, label: str, limits: Limits, mask: bool):
        shape, fortran, dtype = read_npy_header(fp)
        if len(shape) != 4 or shape[1] != len(SEQUENCES):
            raise ArchiveError(label, STACK_SHAPE.format(entry=entry, shape=tuple(shape)))
        try:
            check_layout(entry, shape[2:], dtype, limits, mask)
        except CaseRejected as exc:
            raise ArchiveError(label, exc.reason) from None
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > limits.max_entry_bytes:
            raise ArchiveError(label, ENTRY_TOO_LARGE.format(entry=entry, size=nbytes, limit=limits.max_entry_bytes))
        self.fp, self.shape, self.dtype, self.label, self.entry = fp, tuple(shape), dtype, label, entry
        self.whole = None
        if fortran:
            data = self._read(nbytes)
            self.whole = np.frombuffer(data, dtype=dtype).reshape(shape, order="F")

    def _read(self, nbytes: int) -> bytes:
        try:
            return read_exact(self.fp, nbytes, self.entry)
        except Exception as exc:
            raise ArchiveError(self.label, CORRUPT.format(error=exc)) from None

    def case(self, index: int) -> np.ndarray:
        if self.whole is not None:
            return self.whole[index]
        per_case = math.prod(self.shape[1:])
        return np.frombuffer(self._read(per_case * self.dtype.itemsize), dtype=self.dtype).reshape(self.shape[1:])


def _stack_cases(label: str, images: _StackReader, masks: _StackReader | None,
                 ids: list[str] | None) -> Iterator[Case | Rejection]:
    n = images.shape[0]
    if masks is not None and masks.shape != images.shape:
        raise ArchiveError(label, STACK_MASK_SHAPE.format(mask_shape=masks.shape, image_shape=images.shape))
    if ids is not None and len(ids) != n:
        raise ArchiveError(label, STACK_IDS.format(count=len(ids), n=n))
    width = max(4, len(str(n - 1)))
    ids = ids or [f"case_{i:0{width}d}" for i in range(n)]
    for i, case_id in enumerate(ids):
        item = f"{label}[{i}]"
        block = images.case(i)
        mask_block = masks.case(i) if masks is not None else None
        try:
            checked = {seq: check_pixels(seq, block[j], False) for j, seq in enumerate(SEQUENCES)}
            mask_arrays = ({seq: check_pixels(f"mask_{seq}", mask_block[j], True) for j, seq in enumerate(SEQUENCES)}
                           if mask_block is not None else {})
            yield assemble(case_id, item, checked, mask_arrays)
        except CaseRejected as exc:
            yield Rejection(case_id, item, exc.reason)


def read_stacked_npy(path: Path, label: str, limits: Limits) -> Iterator[Case | Rejection]:
    Budget(label, limits, None).declare(label, path.stat().st_size)
    with open(path, "rb") as fp:
        try:
            reader = _StackReader(fp, label, label, limits, False)
        except ArchiveError:
            raise
        except Exception as exc:
            raise ArchiveError(label, CORRUPT.format(error=exc)) from None
        yield from _stack_cases(label, reader, None, None)


def read_npz_file(path: Path, label: str, limits: Limits) -> Iterator[Case | Rejection]:
    """A top-level ``.npz``: one case when its keys name sequences, else a stack.

    No ratio check: the arrays are read as streams of exactly the sizes their headers give
    (capped above), and stacked masks, mostly zeros, legitimately deflate over 1000x in
    ``savez_compressed`` files."""
    source = ZipSource(path, label, limits, ratio_checked=False)
    try:
        arrays = {m.name[:-4] if m.name.endswith(".npy") else m.name: m for m in source.members()}
        stem = archive_name(path)
        if any((role_of(key, stem) or ("", ""))[0] == "image" for key in arrays):
            # One case stored as one .npz: read it like an archive member.
            member = Member(label, path.stat().st_size, path)
            budget = Budget(label, limits, None)
            budget.declare(label, member.size)
            with open(path, "rb") as fp:
                data = budget.read_member(fp, member)
            try:
                yield case_from_npz(data, stem, label, limits)
            except CaseRejected as exc:
                yield Rejection(stem, label, exc.reason)
            return
        image_key = next((k for k in _IMAGE_KEYS if k in arrays), None)
        stacks = [k for k in arrays if k not in _MASK_KEYS + _ID_KEYS]
        if image_key is None and len(stacks) == 1:
            image_key = stacks[0]
        if image_key is None:
            raise ArchiveError(label, STACK_KEYS.format(found=", ".join(sorted(arrays)) or "nothing"))
        ids = _stack_ids(source, arrays, label)
        mask_key = next((k for k in _MASK_KEYS if k in arrays), None)
        with source.stream(arrays[image_key]) as image_fp:
            images = _StackReader(image_fp, image_key, label, limits, False)
            if mask_key is None:
                yield from _stack_cases(label, images, None, ids)
            else:
                with source.stream(arrays[mask_key]) as mask_fp:
                    masks = _StackReader(mask_fp, mask_key, label, limits, True)
                    yield from _stack_cases(label, images, masks, ids)
        source.finish()
    finally:
        source.close()


def _stack_ids(source: ZipSource, arrays: dict[str, Member], label: str) -> list[str] | None:
    key = next((k for k in _ID_KEYS if k in arrays), None)
    if key is None:
        return None
    with source.stream(arrays[key]) as fp:
        shape, fortran, dtype = read_npy_header(fp)
        if dtype.kind not in "US" or len(shape) != 1:
            raise ValueError(f"{key} must be a 1D string array, got {dtype} shaped {shape}")
        data = read_exact(fp, math.prod(shape) * dtype.itemsize, key)
    ids = []
    for index, value in enumerate(np.frombuffer(data, dtype=dtype)):
        try:
            ids.append(value.decode("utf-8") if isinstance(value, bytes) else str(value))
        except (UnicodeDecodeError, ValueError):  # not text: bytes that are not UTF-8, or no code point
            raise ArchiveError(label, STACK_ID_NOT_TEXT.format(key=key, index=index)) from None
    return ids
