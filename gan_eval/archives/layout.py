"""Layout rules: which members of a container make which case, and which file or npz key is
which sequence or mask.

An archive or folder holds either one ``<case_id>.npz`` per case (keys ``t1_arterial``,
``t1_portal``, ``t2`` or aliases, optional ``mask_<seq>``/``<seq>_mask`` per sequence or one
``mask`` shared by all three; other keys are ignored) or one sub-folder per case (the folder
name is the case id) with one file per sequence named after the sequence, masks named
``mask_<seq>.*``, ``<seq>_mask.*`` or ``mask.*``. File stems may carry the case id as a prefix
(``case_001_t2.png``). Entries that are archives themselves (``.zip`` inside a ``.zip``...) are
rejected, never opened: unpacking nested archives is how recursive zip bombs work, and the user
can unpack them and resubmit.

Three sequences of different dtypes are promoted to a common one without loss; masks become
uint8 0/1.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Callable, Iterable

import numpy as np

from ..cases import SEQUENCES, Case, canonical_sequence
from .containers import Member, Source
from .formats import (CASE_FILE_SUFFIXES, DECODERS, NESTED_ARCHIVE_SUFFIXES, UNSUPPORTED_FILE, decode, suffix_of,
                      unreadable)
from .names import is_junk
from .npy import read_npy
from .pixels import check_pixels
from .zip_structure import central_directory_entries, drain
from .reasons import (DECOMPRESSES_TOO_LARGE, DUPLICATE_SEQUENCE, FILE_TOO_LARGE, MASK_SHAPE_MISMATCH,
                      MISSING_SEQUENCE, NESTED_ARCHIVE, OUTSIDE_CASE_FOLDER, SHAPE_MISMATCH,
                      UNKNOWN_NAME)
from .report import CaseRejected, Limits

# ----------------------------------------------------------------------------------------
# Names: which sequence or mask a key / file stem is
# ----------------------------------------------------------------------------------------

SHARED_MASK = "*"
_MASK_SHARED = re.compile(r"^(?:.+[_\-\s])?masks?$", re.IGNORECASE)
_MASK_PREFIX = re.compile(r"^masks?[_\-\s.]+(.+)$", re.IGNORECASE)
_MASK_SUFFIX = re.compile(r"^(.+?)[_\-\s.]+masks?$", re.IGNORECASE)


def role_of(name: str, case_id: str) -> tuple[str, str] | None:
    """('image', seq), ('mask', seq) or ('mask', SHARED_MASK) for a key or file stem; else None."""
    lowered = name.strip().lower()
    prefix = case_id.lower()
    if lowered.startswith(prefix) and len(lowered) > len(prefix) and lowered[len(prefix)] in "_- .":
        lowered = lowered[len(prefix) + 1:]
    if lowered in ("mask", "masks"):
        return ("mask", SHARED_MASK)
    if (seq := canonical_sequence(lowered)) is not None:
        return ("image", seq)
    for pattern in (_MASK_PREFIX, _MASK_SUFFIX):
        match = pattern.match(lowered)
        if match and (seq := canonical_sequence(match.group(1))) is not None:
            return ("mask", seq)
    return None


@dataclass
class _Parts:
    """The files (or npz keys) of one case, by role, checked for duplicates."""

    images: dict[str, str] = field(default_factory=dict)
    masks: dict[str, str] = field(default_factory=dict)

    def add(self, role: tuple[str, str], item: str) -> None:
        kind, seq = role
        table = self.images if kind == "image" else self.masks
        for target in (SEQUENCES if seq == SHARED_MASK else (seq,)):
            if target in table:
                label = target if kind == "image" else f"mask_{target}"
                raise CaseRejected(DUPLICATE_SEQUENCE.format(sequence=label, first=table[target], second=item))
            table[target] = item

    def check_complete(self, found: Iterable[str]) -> None:
        """Every sequence needs an image; masks are optional, each on its own."""
        for seq in SEQUENCES:
            if seq not in self.images:
                raise CaseRejected(MISSING_SEQUENCE.format(sequence=seq, found=", ".join(sorted(found)) or "nothing"))


def _mask_label(item: str, seq: str) -> str:
    """How messages name a mask: 'mask' when one file or key serves all three sequences."""
    stem = PurePosixPath(item).name.split(".")[0].lower()
    return "mask" if _MASK_SHARED.match(stem) else f"mask_{seq}"


def _common_shape(images: dict[str, np.ndarray]) -> tuple[int, int]:
    shapes = {seq: images[seq].shape for seq in SEQUENCES}
    if len(set(shapes.values())) > 1:
        raise CaseRejected(SHAPE_MISMATCH.format(shapes=", ".join(f"{s} {shapes[s]}" for s in SEQUENCES)))
    return shapes[SEQUENCES[0]]


def _check_mask_shape(label: str, mask: np.ndarray, shape: tuple[int, int], file: str | None) -> np.ndarray:
    if mask.shape != shape:
        raise CaseRejected(MASK_SHAPE_MISMATCH.format(mask=label, mask_shape=mask.shape, image_shape=shape), file)
    return mask


def assemble(case_id: str, source: str, images: dict[str, np.ndarray], masks: dict[str, np.ndarray]) -> Case:
    """Stack checked arrays of one shape into a Case (a lossless common dtype; masks to 0/1).
    Masks may cover some sequences only: the others are named in ``Case.missing_masks``."""
    shape = images[SEQUENCES[0]].shape
    dtype = np.result_type(*(images[s].dtype for s in SEQUENCES))
    stacked = np.empty((len(SEQUENCES), *shape), dtype=dtype)
    for i, seq in enumerate(SEQUENCES):
        stacked[i] = images[seq]
    mask_stack = None
    if masks:
        mask_stack = np.zeros((len(SEQUENCES), *shape), dtype=np.uint8)
        for i, seq in enumerate(SEQUENCES):
            if seq in masks:
                np.not_equal(masks[seq], 0, out=mask_stack[i], casting="unsafe")
    missing = tuple(seq for seq in SEQUENCES if masks and seq not in masks)
    return Case(case_id=case_id, images=stacked, masks=mask_stack, source=source, missing_masks=missing)


# ----------------------------------------------------------------------------------------
# One case from a per-case .npz or from a case folder
# ----------------------------------------------------------------------------------------

def case_from_npz(data: bytes, case_id: str, file: str, limits: Limits) -> Case:
    """One case from the bytes of a per-case ``.npz``. Its framing is checked as an archive's
    is (``zip_structure``), and every array is read to its end, where its CRC is verified."""
    try:
        if central_directory_entries(io.BytesIO(data), limits.max_members) > limits.max_members:
            raise zipfile.BadZipFile(f"more than {limits.max_members} arrays")
        inner = zipfile.ZipFile(io.BytesIO(data))
        infos = {info.filename[:-4] if info.filename.endswith(".npy") else info.filename: info
                 for info in inner.infolist()}
    except Exception as exc:
        raise unreadable(exc) from None
    parts = _Parts()
    for key in infos:
        if (found := role_of(key, case_id)) is not None:
            parts.add(found, key)
    parts.check_complete(infos)

    @functools.cache  # a shared "mask" key serves three sequences: read it once
    def load(key: str, label: str, mask: bool) -> np.ndarray:
        info = infos[key]
        if info.file_size > limits.max_image_bytes:  # header says too big: do not inflate it
            raise CaseRejected(DECOMPRESSES_TOO_LARGE.format(sequence=label, limit=limits.max_image_bytes))
        try:
            with inner.open(info) as fp:
                array = read_npy(fp, label, limits, mask)
                drain(fp)
        except CaseRejected:
            raise
        except Exception as exc:
            raise unreadable(exc) from None
        return check_pixels(label, array, mask)

    images = {seq: load(parts.images[seq], seq, False) for seq in SEQUENCES}
    shape = _common_shape(images)
    masks = {}
    for seq, key in parts.masks.items():
        label = _mask_label(key, seq)
        masks[seq] = _check_mask_shape(label, load(key, label, True), shape, None)
    _verify_unused(inner, [infos[k] for k in infos if k not in {*parts.images.values(), *parts.masks.values()}],
                   limits)
    return assemble(case_id, file, images, masks)


def _verify_unused(inner: zipfile.ZipFile, unused: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Arrays no sequence needs (spacing, notes...) are still part of the file: a damaged one
    means a damaged file. None may be larger than an image could be, so checking is cheap."""
    for info in unused:
        if info.file_size > limits.max_image_bytes:
            raise CaseRejected(DECOMPRESSES_TOO_LARGE.format(sequence=info.filename, limit=limits.max_image_bytes))
        try:
            with inner.open(info) as fp:
                drain(fp)
        except Exception as exc:
            raise unreadable(exc) from None


def case_from_files(case_id: str, folder: str, members: list[Member],
                    read: Callable[[Member], bytes], limits: Limits) -> Case:
    """One case from a per-case folder. Names are checked before any file is read."""
    parts = _Parts()
    by_name = {m.name: m for m in members}
    for name in by_name:
        suffix = suffix_of(name)
        stem = PurePosixPath(name).name[: -len(suffix)]
        if suffix not in DECODERS:
            raise CaseRejected(UNSUPPORTED_FILE.format(suffix=suffix), name)
        found = role_of(stem, case_id)
        if found is None:
            raise CaseRejected(UNKNOWN_NAME.format(stem=stem), name)
        try:
            parts.add(found, name)
        except CaseRejected as exc:
            raise CaseRejected(exc.reason, name) from None
    try:
        parts.check_complete(PurePosixPath(n).name for n in by_name)
    except CaseRejected as exc:
        raise CaseRejected(exc.reason, folder) from None

    @functools.cache  # a shared mask file serves three sequences: read it once
    def load(name: str, label: str, mask: bool) -> np.ndarray:
        member = by_name[name]
        if member.size > limits.max_image_bytes:  # no valid image file is this big: do not read it
            raise CaseRejected(FILE_TOO_LARGE.format(sequence=label, size=member.size,
                                                     limit=limits.max_image_bytes), name)
        return decode(read(member), suffix_of(name), label, name, limits, mask)

    images = {seq: load(parts.images[seq], seq, False) for seq in SEQUENCES}
    try:
        shape = _common_shape(images)
    except CaseRejected as exc:
        raise CaseRejected(exc.reason, folder) from None
    masks = {}
    for seq, name in parts.masks.items():
        label = _mask_label(name, seq)
        masks[seq] = _check_mask_shape(label, load(name, label, True), shape, name)
    return assemble(case_id, folder, images, masks)


# ----------------------------------------------------------------------------------------
# Planning: which members make which case
# ----------------------------------------------------------------------------------------

@dataclass
class Unit:
    """One would-be case: an npz member, a folder of members, or an entry rejected unread."""

    case_id: str
    file: str
    members: list[Member]
    kind: str                      # "npz", "folder" or "reject"
    reason: str = ""


def plan(members: list[Member], ignored: list[str]) -> list[Unit]:
    units: list[Unit] = []
    folders: dict[str, Unit] = {}
    for member in members:
        path = PurePosixPath(member.name)
        suffix = suffix_of(path.name)
        stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
        if is_junk(member.name):
            ignored.append(member.name)
        elif suffix in NESTED_ARCHIVE_SUFFIXES:
            units.append(Unit(stem, member.name, [member], "reject", NESTED_ARCHIVE))
        elif suffix in CASE_FILE_SUFFIXES:
            units.append(Unit(stem, member.name, [member], "npz"))
        elif str(path.parent) != ".":
            folder = str(path.parent)
            if folder not in folders:
                folders[folder] = Unit(path.parent.name, folder + "/", [], "folder")
                units.append(folders[folder])
            folders[folder].members.append(member)
        elif suffix in DECODERS:
            units.append(Unit(stem, member.name, [member], "reject", OUTSIDE_CASE_FOLDER))
        else:
            units.append(Unit(stem, member.name, [member], "reject", UNSUPPORTED_FILE.format(suffix=suffix)))
    return units


def read_unit(source: Source, unit: Unit, limits: Limits) -> Case:
    if unit.kind == "reject":
        raise CaseRejected(unit.reason)
    if unit.kind == "npz":
        return case_from_npz(source.read(unit.members[0]), unit.case_id, unit.file, limits)
    return case_from_files(unit.case_id, unit.file, unit.members, source.read, limits)
