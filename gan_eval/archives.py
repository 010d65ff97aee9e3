"""Read and write case archives, trusting nothing.

Inputs (``read_cases`` / ``iter_cases`` / ``validate``):

- a ``.zip``, ``.tar``, ``.tar.gz``/``.tgz`` archive or a plain folder holding either
  one ``<case_id>.npz`` per case (keys ``t1_arterial``, ``t1_portal``, ``t2`` or aliases,
  optional ``mask_<seq>``/``<seq>_mask`` per sequence or one ``mask`` shared by all three;
  other keys are ignored) or one sub-folder per case (the folder name is the case id) with
  one file per sequence (``.npy``, ``.png``/``.jpg`` 8/16-bit, ``.nii``/``.nii.gz`` 2D or
  single-slice, ``.dcm``) named after the sequence, masks named ``mask_<seq>.*``,
  ``<seq>_mask.*`` or ``mask.*``. File stems may carry the case id as a prefix
  (``case_001_t2.png``).
- a single ``.npy`` shaped ``(N, 3, H, W)``, or a ``.npz`` holding ``images`` of that shape
  with optional ``masks`` (same shape) and ``case_ids``; ids default to ``case_0000``...
  Problems with such a stacked array (shape, dtype, size) concern every case and refuse
  the whole file. A ``.npz`` whose keys name sequences is read as one case.

Nothing is ever extracted: members are read into memory (``ZipFile.open``,
``TarFile.extractfile``), so nothing can be written anywhere. ``np.load`` never unpickles
(the ``.npy`` header is parsed here and object dtypes are rejected before any data is read).

Two levels of failure:

- ``ArchiveError`` refuses the whole input: corrupt or not an archive, entries escaping
  the root (``../``, absolute paths), links or special files, decompression bombs (sizes
  and ratios checked from the headers, and enforced again while reading since headers can
  lie), nesting deeper than ``Limits.max_depth``, too many entries, no cases at all.
- ``Rejection`` drops one case with an exact reason (the ``*`` templates below); the
  other cases are still read. Entries that are archives themselves (``.zip`` inside a
  ``.zip``...) are rejected this way, never opened: unpacking nested archives is how
  recursive zip bombs work, and the user can unpack them and resubmit.

Junk (``__MACOSX/``, hidden files such as ``.DS_Store``, ``Thumbs.db``, ``desktop.ini``,
READMEs and other documents) is skipped and listed in ``ValidationReport.ignored``.
Pixel arrays keep their own dtype (three sequences of different dtypes are promoted to a
common one without loss); masks become uint8 0/1. DICOM files contribute ``pixel_array``
only: no tag is kept, shown or stored. NIfTI arrays are taken as stored (no reorientation).
"""

from __future__ import annotations

import functools
import gzip
import io
import math
import os
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator

import numpy as np

from .cases import SEQUENCES, SUPPORTED_DTYPES, Case, CaseSet, canonical_sequence

# --- Reasons a single case is rejected (Rejection.reason), as str.format templates. ---
MISSING_SEQUENCE = "missing sequence {sequence} (found: {found})"
DUPLICATE_SEQUENCE = "duplicate sequence {sequence}: {first!r} and {second!r}"
SHAPE_MISMATCH = "sequences have different shapes: {shapes}"
NOT_2D = "{sequence} is not a 2D image: shape {shape}"
EMPTY_IMAGE = "{sequence} is empty: shape {shape}"
NON_FINITE = "{sequence} contains NaN or Inf"
CONSTANT_IMAGE = "{sequence} is a constant image (every pixel is {value})"
UNSUPPORTED_DTYPE = "{sequence} has unsupported dtype {dtype}"
IMAGE_TOO_LARGE = "{sequence} is {height}x{width}, larger than the {limit}-pixel limit"
COLOUR_IMAGE = "{sequence} is a colour image (its channels differ); give one grayscale image per sequence"
DECOMPRESSES_TOO_LARGE = "{sequence} decompresses to more than {limit} bytes, more than any image within the limits"
FILE_TOO_LARGE = "{sequence} file is {size} bytes, more than the {limit} bytes any image within the limits needs"
DUPLICATE_CASE = "duplicate case id {case!r}: first seen in {first!r}"
UNREADABLE = "unreadable file: {error}"
MASK_SHAPE_MISMATCH = "{mask} has shape {mask_shape} but the images are {image_shape}"
MASK_INCOMPLETE = "masks given for {given} but not for {missing}"
UNKNOWN_NAME = ("file name {stem!r} names no sequence (expected t1_arterial, t1_portal, t2 or an alias, "
                "optionally as mask_<sequence>, <sequence>_mask or mask)")
UNSUPPORTED_FILE = ("unsupported file type {suffix!r} (expected .npz per case, or .npy, .png, .jpg, .nii, "
                    ".nii.gz, .dcm per sequence)")
OUTSIDE_CASE_FOLDER = "image file outside a case folder: put each case's sequences in a folder named after the case"
NESTED_ARCHIVE = "nested archive: archives inside archives are never opened; unpack it and submit its contents"

# --- Reasons a whole input is refused (ArchiveError.reason). ---
NOT_FOUND = "no such file or folder"
NOT_AN_ARCHIVE = "not a case archive: expected a folder, .zip, .tar, .tar.gz, .tgz, .npy or .npz"
CORRUPT = "corrupt archive: {error}"
ESCAPES_ROOT = "entry {entry!r} escapes the archive root"
ABSOLUTE_PATH = "entry {entry!r} is an absolute path"
SYMLINK = "entry {entry!r} is a symbolic link"
LINK_OUTSIDE = "entry {entry!r} is a symbolic link pointing outside the folder"
HARDLINK = "entry {entry!r} is a hard link"
SPECIAL_FILE = "entry {entry!r} is not a regular file or folder"
ENCRYPTED = "entry {entry!r} is encrypted"
UNSUPPORTED_COMPRESSION = "entry {entry!r} uses an unsupported compression method"
TOO_DEEP = "entry {entry!r} is nested {depth} levels deep, more than the limit of {limit}"
TOO_MANY_MEMBERS = "more than {limit} entries"
ENTRY_TOO_LARGE = "entry {entry!r} is {size} bytes uncompressed, more than the limit of {limit}"
TOTAL_TOO_LARGE = "more than {limit} bytes uncompressed in total"
ENTRY_RATIO = "entry {entry!r} expands {ratio:.0f}x, more than the limit of {limit:.0f}x (decompression bomb)"
ARCHIVE_RATIO = "archive expands {ratio:.0f}x, more than the limit of {limit:.0f}x (decompression bomb)"
SIZE_LIE = "entry {entry!r} holds more data than its header declares"
STACK_SHAPE = "{entry!r} must be shaped (N, 3, H, W), got shape {shape}"
STACK_MASK_SHAPE = "masks shaped {mask_shape} do not match images shaped {image_shape}"
STACK_IDS = "case_ids holds {count} ids for {n} cases"
STACK_KEYS = "no 'images' array and no sequence keys (found: {found})"
UNLISTABLE_FOLDER = "cannot list folder {entry!r}: {error}"
NO_CASES = "no cases found"


class ArchiveError(Exception):
    """The whole input is refused (corrupt, not an archive, unsafe, unsupported)."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


@dataclass
class Rejection:
    """One case that was not accepted, the file at fault and why."""

    case: str
    file: str
    reason: str


@dataclass
class ValidationReport:
    """Every accepted case (id, file), every rejected one, archive-level errors, skipped junk."""

    source: str
    accepted: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.errors

    def to_json(self) -> dict:
        """The CLI's ``--json`` contract: exactly these three keys."""
        return {
            "accepted": len(self.accepted),
            "rejected": [{"case": r.case, "file": r.file, "reason": r.reason} for r in self.rejected],
            "errors": list(self.errors),
        }

    def summary(self) -> str:
        lines = [f"{self.source}: {len(self.accepted)} accepted, {len(self.rejected)} rejected"]
        if self.rejected:
            case_w = max(4, *(len(r.case) for r in self.rejected))
            file_w = max(4, *(len(r.file) for r in self.rejected))
            lines += ["", "Rejected:", f"  {'case':<{case_w}}  {'file':<{file_w}}  reason"]
            lines += [f"  {r.case:<{case_w}}  {r.file:<{file_w}}  {r.reason}" for r in self.rejected]
        if self.errors:
            lines += ["", "Errors:"] + [f"  {e}" for e in self.errors]
        if self.ignored:
            shown = ", ".join(self.ignored[:5]) + (", ..." if len(self.ignored) > 5 else "")
            lines += ["", f"Ignored {len(self.ignored)} non-case files: {shown}"]
        return "\n".join(lines)


@dataclass(frozen=True)
class Limits:
    """Safety limits. Defaults fit a 1000-case 256x256 submission with masks many times over."""

    max_image_side: int = 2048
    max_entry_bytes: int = 1 << 30           # one member (a stacked (N,3,H,W) array is one member)
    max_total_bytes: int = 4 << 30           # everything read from one input
    max_ratio: float = 200.0                 # uncompressed / compressed, per entry and whole archive
    ratio_floor_bytes: int = 1 << 20         # smaller entries are not ratio-checked: an all-zero
                                             # 64 KB mask deflates 500x yet cannot hurt anyone
    max_depth: int = 8                       # path components of an entry
    max_members: int = 100_000

    @property
    def max_image_bytes(self) -> int:
        """Largest single image file any accepted image can need (float64 at the side limit)."""
        return self.max_image_side ** 2 * 8 + (1 << 16)


class _Rejected(Exception):
    """Raised inside case readers; becomes a Rejection (``file`` None: the case's own file)."""

    def __init__(self, reason: str, file: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.file = file


# ----------------------------------------------------------------------------------------
# Pixel checks shared by every format
# ----------------------------------------------------------------------------------------

_SUPPORTED = frozenset(np.dtype(t) for t in SUPPORTED_DTYPES)


def _native(dtype: np.dtype) -> np.dtype:
    return dtype.newbyteorder("=") if dtype.byteorder not in "=|" else dtype


def _check_layout(label: str, shape: tuple, dtype: np.dtype, limits: Limits, mask: bool) -> None:
    """Checks that need no pixel data: dtype, 2D, size. Run before reading data when possible."""
    if not (_native(dtype) in _SUPPORTED or (mask and dtype == np.bool_)):
        raise _Rejected(UNSUPPORTED_DTYPE.format(sequence=label, dtype=dtype))
    if len(shape) != 2:
        raise _Rejected(NOT_2D.format(sequence=label, shape=tuple(shape)))
    if min(shape) == 0:
        raise _Rejected(EMPTY_IMAGE.format(sequence=label, shape=tuple(shape)))
    if max(shape) > limits.max_image_side:
        raise _Rejected(IMAGE_TOO_LARGE.format(sequence=label, height=shape[0], width=shape[1],
                                               limit=limits.max_image_side))


def _check_pixels(label: str, array: np.ndarray, mask: bool) -> np.ndarray:
    """Full check of a decoded array; returns it in native byte order."""
    if array.dtype.byteorder not in "=|":
        array = array.astype(_native(array.dtype))
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise _Rejected(NON_FINITE.format(sequence=label))
    if not mask and array.min() == array.max():
        raise _Rejected(CONSTANT_IMAGE.format(sequence=label, value=array.flat[0]))
    return array


# ----------------------------------------------------------------------------------------
# Decoders: bytes of one file -> one 2D array (raise _Rejected for policy, anything else
# means the file is unreadable)
# ----------------------------------------------------------------------------------------

def _read_exact(fp, nbytes: int, what: str) -> bytes:
    data = fp.read(nbytes)
    if len(data) != nbytes:
        raise ValueError(f"{what} truncated: {len(data)} of {nbytes} bytes")
    return data


# The header numpy itself writes, parsed without ast.literal_eval (a sixth of the reading time
# of a small case); anything else goes through numpy's own parser.
_NPY_CANONICAL_HEADER = re.compile(
    rb"\{'descr': '([<>|=]?[a-zA-Z]\d*)', 'fortran_order': (True|False), 'shape': \(((?:\d+, ?)*\d*)\), \} *\n")
_NPY_MAX_HEADER = 10_000  # numpy's own default cap on header length


def _read_npy_header(fp) -> tuple[tuple, bool, np.dtype]:
    version = np.lib.format.read_magic(fp)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ValueError(f"unsupported .npy format version {version}")
    length_bytes = _read_exact(fp, 2 if version == (1, 0) else 4, "array header length")
    length = int.from_bytes(length_bytes, "little")
    if length > _NPY_MAX_HEADER:
        raise ValueError(f"array header of {length} bytes, more than {_NPY_MAX_HEADER}")
    header = _read_exact(fp, length, "array header")
    match = _NPY_CANONICAL_HEADER.fullmatch(header)
    if match:
        descr, fortran, shape = match.groups()
        return tuple(int(n) for n in shape.split(b",") if n.strip()), fortran == b"True", np.dtype(descr.decode())
    replay = io.BytesIO(length_bytes + header)
    # 2.0 and 3.0 share the layout (3.0 only allows utf-8 in structured field names).
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return reader(replay)


def _read_npy(fp, label: str, limits: Limits, mask: bool) -> np.ndarray:
    """Read one .npy stream, refusing dtype/shape/size from the header before any data."""
    shape, fortran, dtype = _read_npy_header(fp)
    _check_layout(label, shape, dtype, limits, mask)
    data = _read_exact(fp, math.prod(shape) * dtype.itemsize, "array data")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _decode_npy(data: bytes, label: str, limits: Limits, mask: bool) -> np.ndarray:
    return _read_npy(io.BytesIO(data), label, limits, mask)


_PIL_DIRECT_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F", "RGB", "RGBA"})


def _decode_pil(data: bytes, label: str, limits: Limits, mask: bool) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if max(width, height) > limits.max_image_side:  # before decoding any pixel
            raise _Rejected(IMAGE_TOO_LARGE.format(sequence=label, height=height, width=width,
                                                   limit=limits.max_image_side))
        if image.mode not in _PIL_DIRECT_MODES:  # palette, CMYK, YCbCr...: to RGBA, then checked
            image = image.convert("RGBA")
        array = np.asarray(image)
    if array.ndim == 3:
        # Grayscale saved as RGB(A)/LA: accept when the colour channels are equal; alpha is dropped.
        colour = array[..., :3] if array.shape[2] >= 3 else array[..., :1]
        if not (colour == colour[..., :1]).all():
            raise _Rejected(COLOUR_IMAGE.format(sequence=label))
        array = colour[..., 0]
    return array


def _decode_nifti(data: bytes, label: str, limits: Limits, mask: bool) -> np.ndarray:
    import nibabel

    try:
        image = nibabel.Nifti1Image.from_bytes(data)
    except Exception:
        image = nibabel.Nifti2Image.from_bytes(data)
    shape = tuple(int(s) for s in image.shape)
    squeezed = tuple(s for s in shape if s != 1)  # single-slice 3D volumes are 2D images
    if len(squeezed) != 2:
        raise _Rejected(NOT_2D.format(sequence=label, shape=shape))
    _check_layout(label, squeezed, image.get_data_dtype(), limits, mask)
    return np.asanyarray(image.dataobj).reshape(squeezed)


def _decode_nifti_gz(data: bytes, label: str, limits: Limits, mask: bool) -> np.ndarray:
    # Bounded gunzip: a .nii.gz can be a gzip bomb, and a 3D volume is a common honest mistake.
    cap = limits.max_image_bytes
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
        raw = gz.read(cap + 1)
    if len(raw) > cap:
        raise _Rejected(DECOMPRESSES_TOO_LARGE.format(sequence=label, limit=cap))
    return _decode_nifti(raw, label, limits, mask)


def _decode_dicom(data: bytes, label: str, limits: Limits, mask: bool) -> np.ndarray:
    import pydicom

    # Only geometry and pixels are looked at; the dataset (patient tags included) is dropped here.
    dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    if "PixelData" not in dataset:
        raise ValueError("no pixel data")
    rows, columns = int(dataset.Rows), int(dataset.Columns)
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    samples = int(dataset.get("SamplesPerPixel", 1) or 1)
    if frames != 1 or samples != 1:
        shape = ((frames,) if frames != 1 else ()) + (rows, columns) + ((samples,) if samples != 1 else ())
        raise _Rejected(NOT_2D.format(sequence=label, shape=shape))
    if max(rows, columns) > limits.max_image_side:
        raise _Rejected(IMAGE_TOO_LARGE.format(sequence=label, height=rows, width=columns,
                                               limit=limits.max_image_side))
    return np.array(dataset.pixel_array)


_DECODERS: dict[str, Callable[[bytes, str, Limits, bool], np.ndarray]] = {
    ".npy": _decode_npy,
    ".png": _decode_pil,
    ".jpg": _decode_pil,
    ".jpeg": _decode_pil,
    ".nii": _decode_nifti,
    ".nii.gz": _decode_nifti_gz,
    ".dcm": _decode_dicom,
}


def _unreadable(exc: Exception) -> _Rejected:
    return _Rejected(UNREADABLE.format(error=f"{type(exc).__name__}: {exc}"))


def _decode(data: bytes, suffix: str, label: str, file: str, limits: Limits, mask: bool) -> np.ndarray:
    """Decode one sequence or mask file and run every per-image check; rejections name ``file``."""
    try:
        try:
            array = _DECODERS[suffix](data, label, limits, mask)
        except _Rejected:
            raise
        except Exception as exc:  # any decoder failure means this file cannot be read
            raise _unreadable(exc) from None
        _check_layout(label, array.shape, array.dtype, limits, mask)
        return _check_pixels(label, array, mask)
    except _Rejected as exc:
        raise _Rejected(exc.reason, file) from None


# ----------------------------------------------------------------------------------------
# Names: which sequence or mask a key / file stem is
# ----------------------------------------------------------------------------------------

SHARED_MASK = "*"
_MASK_SHARED = re.compile(r"^(?:.+[_\-\s])?masks?$", re.IGNORECASE)
_MASK_PREFIX = re.compile(r"^masks?[_\-\s.]+(.+)$", re.IGNORECASE)
_MASK_SUFFIX = re.compile(r"^(.+?)[_\-\s.]+masks?$", re.IGNORECASE)


def _role(name: str, case_id: str) -> tuple[str, str] | None:
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
                raise _Rejected(DUPLICATE_SEQUENCE.format(sequence=label, first=table[target], second=item))
            table[target] = item

    def check_complete(self, found: Iterable[str]) -> None:
        for seq in SEQUENCES:
            if seq not in self.images:
                raise _Rejected(MISSING_SEQUENCE.format(sequence=seq, found=", ".join(sorted(found)) or "nothing"))
        if self.masks and len(self.masks) != len(SEQUENCES):
            given = [s for s in SEQUENCES if s in self.masks]
            missing = [s for s in SEQUENCES if s not in self.masks]
            raise _Rejected(MASK_INCOMPLETE.format(given=", ".join(given), missing=", ".join(missing)))


def _mask_label(item: str, seq: str) -> str:
    """How messages name a mask: 'mask' when one file or key serves all three sequences."""
    stem = PurePosixPath(item).name.split(".")[0].lower()
    return "mask" if _MASK_SHARED.match(stem) else f"mask_{seq}"


def _common_shape(images: dict[str, np.ndarray]) -> tuple[int, int]:
    shapes = {seq: images[seq].shape for seq in SEQUENCES}
    if len(set(shapes.values())) > 1:
        raise _Rejected(SHAPE_MISMATCH.format(shapes=", ".join(f"{s} {shapes[s]}" for s in SEQUENCES)))
    return shapes[SEQUENCES[0]]


def _check_mask_shape(label: str, mask: np.ndarray, shape: tuple[int, int], file: str | None) -> np.ndarray:
    if mask.shape != shape:
        raise _Rejected(MASK_SHAPE_MISMATCH.format(mask=label, mask_shape=mask.shape, image_shape=shape), file)
    return mask


def _assemble(case_id: str, source: str, images: dict[str, np.ndarray], masks: dict[str, np.ndarray]) -> Case:
    """Stack checked arrays of one shape into a Case (a lossless common dtype; masks to 0/1)."""
    shape = images[SEQUENCES[0]].shape
    dtype = np.result_type(*(images[s].dtype for s in SEQUENCES))
    stacked = np.empty((len(SEQUENCES), *shape), dtype=dtype)
    for i, seq in enumerate(SEQUENCES):
        stacked[i] = images[seq]
    mask_stack = None
    if masks:
        mask_stack = np.empty((len(SEQUENCES), *shape), dtype=np.uint8)
        for i, seq in enumerate(SEQUENCES):
            np.not_equal(masks[seq], 0, out=mask_stack[i], casting="unsafe")
    return Case(case_id=case_id, images=stacked, masks=mask_stack, source=source)


def _case_from_npz(data: bytes, case_id: str, file: str, limits: Limits) -> Case:
    """One case from the bytes of a per-case ``.npz``."""
    try:
        inner = zipfile.ZipFile(io.BytesIO(data))
        infos = {info.filename[:-4] if info.filename.endswith(".npy") else info.filename: info
                 for info in inner.infolist()}
    except Exception as exc:
        raise _unreadable(exc) from None
    parts = _Parts()
    for key in infos:
        if (role := _role(key, case_id)) is not None:
            parts.add(role, key)
    parts.check_complete(infos)

    @functools.cache  # a shared "mask" key serves three sequences: read it once
    def load(key: str, label: str, mask: bool) -> np.ndarray:
        info = infos[key]
        if info.file_size > limits.max_image_bytes:  # header says too big: do not inflate it
            raise _Rejected(DECOMPRESSES_TOO_LARGE.format(sequence=label, limit=limits.max_image_bytes))
        try:
            with inner.open(info) as fp:
                array = _read_npy(fp, label, limits, mask)
        except _Rejected:
            raise
        except Exception as exc:
            raise _unreadable(exc) from None
        return _check_pixels(label, array, mask)

    images = {seq: load(parts.images[seq], seq, False) for seq in SEQUENCES}
    shape = _common_shape(images)
    masks = {}
    for seq, key in parts.masks.items():
        label = _mask_label(key, seq)
        masks[seq] = _check_mask_shape(label, load(key, label, True), shape, None)
    return _assemble(case_id, file, images, masks)


def _case_from_files(case_id: str, folder: str, members: list[_Member],
                     read: Callable[[_Member], bytes], limits: Limits) -> Case:
    """One case from a per-case folder. Names are checked before any file is read."""
    parts = _Parts()
    by_name = {m.name: m for m in members}
    for name in by_name:
        suffix = _suffix(name)
        stem = PurePosixPath(name).name[: -len(suffix)]
        if suffix not in _DECODERS:
            raise _Rejected(UNSUPPORTED_FILE.format(suffix=suffix), name)
        role = _role(stem, case_id)
        if role is None:
            raise _Rejected(UNKNOWN_NAME.format(stem=stem), name)
        try:
            parts.add(role, name)
        except _Rejected as exc:
            raise _Rejected(exc.reason, name) from None
    try:
        parts.check_complete(PurePosixPath(n).name for n in by_name)
    except _Rejected as exc:
        raise _Rejected(exc.reason, folder) from None

    @functools.cache  # a shared mask file serves three sequences: read it once
    def load(name: str, label: str, mask: bool) -> np.ndarray:
        member = by_name[name]
        if member.size > limits.max_image_bytes:  # no valid image file is this big: do not read it
            raise _Rejected(FILE_TOO_LARGE.format(sequence=label, size=member.size, limit=limits.max_image_bytes),
                            name)
        return _decode(read(member), _suffix(name), label, name, limits, mask)

    images = {seq: load(parts.images[seq], seq, False) for seq in SEQUENCES}
    try:
        shape = _common_shape(images)
    except _Rejected as exc:
        raise _Rejected(exc.reason, folder) from None
    masks = {}
    for seq, name in parts.masks.items():
        label = _mask_label(name, seq)
        masks[seq] = _check_mask_shape(label, load(name, label, True), shape, name)
    return _assemble(case_id, folder, images, masks)


# ----------------------------------------------------------------------------------------
# Containers: zip, tar(.gz), folder. Each lists its members (all header checks done there)
# and reads one member's bytes under the byte budget.
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Member:
    name: str        # normalised posix path inside the container
    size: int        # declared uncompressed size
    handle: object   # ZipInfo, TarInfo or Path


def _normalise(raw: str, label: str, limits: Limits) -> str:
    """Check an entry name for escape and depth; return it without './' or trailing '/'."""
    if raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw):
        raise ArchiveError(label, ABSOLUTE_PATH.format(entry=raw))
    parts = [p for p in re.split(r"[/\\]", raw) if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(label, ESCAPES_ROOT.format(entry=raw))
    if len(parts) > limits.max_depth:
        raise ArchiveError(label, TOO_DEEP.format(entry=raw, depth=len(parts), limit=limits.max_depth))
    return "/".join(parts)


class _Budget:
    """Header checks on sizes, and the same limits enforced on the bytes actually read."""

    def __init__(self, label: str, limits: Limits, compressed_size: int | None):
        self.label = label
        self.limits = limits
        self.compressed_size = compressed_size
        self.declared = 0
        self.count = 0
        self.read = 0

    def declare(self, entry: str, size: int, compressed: int | None = None) -> None:
        limits = self.limits
        self.count += 1
        if self.count > limits.max_members:
            raise ArchiveError(self.label, TOO_MANY_MEMBERS.format(limit=limits.max_members))
        if size > limits.max_entry_bytes:
            raise ArchiveError(self.label, ENTRY_TOO_LARGE.format(entry=entry, size=size,
                                                                  limit=limits.max_entry_bytes))
        if compressed is not None and size > limits.ratio_floor_bytes and size > limits.max_ratio * compressed:
            raise ArchiveError(self.label, ENTRY_RATIO.format(entry=entry, ratio=size / max(compressed, 1),
                                                              limit=limits.max_ratio))
        self.declared += size
        if self.declared > limits.max_total_bytes:
            raise ArchiveError(self.label, TOTAL_TOO_LARGE.format(limit=limits.max_total_bytes))
        if (self.compressed_size is not None and self.declared > limits.ratio_floor_bytes
                and self.declared > limits.max_ratio * self.compressed_size):
            raise ArchiveError(self.label, ARCHIVE_RATIO.format(
                ratio=self.declared / max(self.compressed_size, 1), limit=limits.max_ratio))

    def read_member(self, fp, member: _Member) -> bytes:
        data = fp.read(member.size + 1)
        if len(data) > member.size:
            raise ArchiveError(self.label, SIZE_LIE.format(entry=member.name))
        self.read += len(data)
        if self.read > self.limits.max_total_bytes:
            raise ArchiveError(self.label, TOTAL_TOO_LARGE.format(limit=self.limits.max_total_bytes))
        return data


class _Source:
    """A container: ``members()`` lists files after every header check, ``read()`` returns one
    member's bytes under the byte budget. ``skipped`` names entries passed over on purpose."""

    def __init__(self, label: str, limits: Limits, compressed_size: int | None):
        self.label = label
        self.limits = limits
        self.budget = _Budget(label, limits, compressed_size)
        self.skipped: list[str] = []

    def members(self) -> list[_Member]:
        raise NotImplementedError

    def read(self, member: _Member) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def _corrupt(self, exc: Exception, entry: str | None = None) -> ArchiveError:
        return ArchiveError(self.label, CORRUPT.format(error=f"{entry}: {exc}" if entry else exc))


class _ZipSource(_Source):
    def __init__(self, path: Path, label: str, limits: Limits):
        super().__init__(label, limits, path.stat().st_size)
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise self._corrupt(exc) from None

    def members(self) -> list[_Member]:
        members = []
        for info in self.zip.infolist():
            name = _normalise(info.filename, self.label, self.limits)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ArchiveError(self.label, SYMLINK.format(entry=info.filename))
            if info.flag_bits & 0x1:
                raise ArchiveError(self.label, ENCRYPTED.format(entry=info.filename))
            self.budget.declare(info.filename, info.file_size, info.compress_size)
            if name and not info.is_dir():
                members.append(_Member(name, info.file_size, info))
        return members

    def read(self, member: _Member) -> bytes:
        try:
            with self.zip.open(member.handle) as fp:  # type: ignore[arg-type]
                return self.budget.read_member(fp, member)
        except NotImplementedError:
            raise ArchiveError(self.label, UNSUPPORTED_COMPRESSION.format(entry=member.name)) from None
        except ArchiveError:
            raise
        except Exception as exc:  # bad CRC (a header that lied), truncated or invalid deflate data
            raise self._corrupt(exc, member.name) from None

    def close(self) -> None:
        self.zip.close()


class _TarSource(_Source):
    """A .tar, .tar.gz/.tgz (or other tarfile compression). Per-entry ratios do not exist in a
    compressed tar (one stream), so the whole-archive ratio is checked as headers are read."""

    def __init__(self, path: Path, label: str, limits: Limits):
        super().__init__(label, limits, path.stat().st_size)
        try:
            self.tar = tarfile.open(path, "r:*")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise self._corrupt(exc) from None

    def members(self) -> list[_Member]:
        # Headers one by one, so each size is checked before the reader skips (and in a .tar.gz
        # inflates) that member's data to reach the next header.
        members = []
        try:
            while (info := self.tar.next()) is not None:
                name = _normalise(info.name, self.label, self.limits)
                if info.issym():
                    raise ArchiveError(self.label, SYMLINK.format(entry=info.name))
                if info.islnk():
                    raise ArchiveError(self.label, HARDLINK.format(entry=info.name))
                if not (info.isreg() or info.isdir()):
                    raise ArchiveError(self.label, SPECIAL_FILE.format(entry=info.name))
                self.budget.declare(info.name, info.size if info.isreg() else 0)
                if name and info.isreg():
                    members.append(_Member(name, info.size, info))
        except ArchiveError:
            raise
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise self._corrupt(exc) from None
        return members

    def read(self, member: _Member) -> bytes:
        try:
            fp = self.tar.extractfile(member.handle)  # type: ignore[arg-type]
            return self.budget.read_member(fp, member)
        except ArchiveError:
            raise
        except Exception as exc:
            raise self._corrupt(exc, member.name) from None

    def close(self) -> None:
        self.tar.close()


class _FolderSource(_Source):
    """A plain folder. A symlink is followed only when it resolves inside the folder, and only
    to a file: linked folders are not descended (their real path is walked anyway). Junk
    folders (hidden, ``__MACOSX``) are not descended either."""

    def __init__(self, path: Path, label: str, limits: Limits):
        super().__init__(label, limits, None)
        self.root = path.resolve()

    def members(self) -> list[_Member]:
        members = []
        for dirpath, dirnames, filenames in os.walk(self.root, onerror=self._unlistable):  # no followlinks
            here = Path(dirpath)
            for entry in sorted(dirnames):
                rel = (here / entry).relative_to(self.root).as_posix()
                if self._skip(here / entry, rel, is_dir=True):
                    dirnames.remove(entry)
                else:
                    self.budget.declare(rel, 0)
            dirnames.sort()
            for entry in sorted(filenames):
                full = here / entry
                rel = full.relative_to(self.root).as_posix()
                if self._skip(full, rel, is_dir=False):
                    continue
                info = full.stat()
                if not stat.S_ISREG(info.st_mode):
                    raise ArchiveError(self.label, SPECIAL_FILE.format(entry=rel))
                self.budget.declare(rel, info.st_size)
                members.append(_Member(rel, info.st_size, full))
        return members

    def _unlistable(self, exc: OSError) -> None:
        entry = Path(exc.filename).relative_to(self.root).as_posix() if exc.filename else "."
        raise ArchiveError(self.label, UNLISTABLE_FOLDER.format(entry=entry, error=exc.strerror or exc))

    def _skip(self, full: Path, rel: str, is_dir: bool) -> bool:
        _normalise(rel, self.label, self.limits)
        if full.is_symlink():
            target = full.resolve()
            if not target.is_relative_to(self.root):
                raise ArchiveError(self.label, LINK_OUTSIDE.format(entry=rel))
            if not target.exists() or target.is_dir():
                self.skipped.append(f"{rel} (symbolic link to a folder or to nothing, not followed)")
                return True
        if is_dir and _is_junk(rel):
            self.skipped.append(rel + "/")
            return True
        return False

    def read(self, member: _Member) -> bytes:
        # Unlike a bad CRC inside an archive, one unreadable file (permissions) in a folder
        # says nothing about the others: only its case is rejected.
        try:
            with open(member.handle, "rb") as fp:  # type: ignore[arg-type]
                return self.budget.read_member(fp, member)
        except OSError as exc:
            raise _Rejected(UNREADABLE.format(error=f"{type(exc).__name__}: {exc.strerror}"), member.name) from None


# ----------------------------------------------------------------------------------------
# Planning: which members make which case
# ----------------------------------------------------------------------------------------

_JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx"})
_JUNK_STEMS = frozenset({"readme", "license", "licence", "notes", "changelog"})
_DOC_SUFFIXES = frozenset({".txt", ".md", ".rst", ".pdf", ".json", ".csv", ".tsv", ".yaml", ".yml",
                           ".html", ".log", ".doc", ".docx"})
_ARCHIVE_SUFFIXES = frozenset({".zip", ".tar", ".tar.gz", ".tgz", ".gz", ".bz2", ".xz", ".zst", ".7z",
                               ".rar", ".tbz2", ".txz", ".jar"})


def _suffix(name: str) -> str:
    lowered = name.lower()
    for double in (".nii.gz", ".tar.gz"):
        if lowered.endswith(double):
            return double
    return PurePosixPath(lowered).suffix


def _is_junk(name: str) -> bool:
    parts = name.split("/")
    if any(p.startswith(".") or p.lower() in _JUNK_NAMES for p in parts):
        return True
    leaf = PurePosixPath(parts[-1])
    return _suffix(leaf.name) in _DOC_SUFFIXES or leaf.stem.lower() in _JUNK_STEMS


@dataclass
class _Unit:
    """One would-be case: an npz member, a folder of members, or an entry rejected unread."""

    case_id: str
    file: str
    members: list[_Member]
    kind: str                      # "npz", "folder" or "reject"
    reason: str = ""


def _plan(members: list[_Member], ignored: list[str]) -> list[_Unit]:
    units: list[_Unit] = []
    folders: dict[str, _Unit] = {}
    for member in members:
        path = PurePosixPath(member.name)
        suffix = _suffix(path.name)
        stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
        if _is_junk(member.name):
            ignored.append(member.name)
        elif suffix in _ARCHIVE_SUFFIXES:
            units.append(_Unit(stem, member.name, [member], "reject", NESTED_ARCHIVE))
        elif suffix == ".npz":
            units.append(_Unit(stem, member.name, [member], "npz"))
        elif str(path.parent) != ".":
            folder = str(path.parent)
            if folder not in folders:
                folders[folder] = _Unit(path.parent.name, folder + "/", [], "folder")
                units.append(folders[folder])
            folders[folder].members.append(member)
        elif suffix in _DECODERS:
            units.append(_Unit(stem, member.name, [member], "reject", OUTSIDE_CASE_FOLDER))
        else:
            units.append(_Unit(stem, member.name, [member], "reject", UNSUPPORTED_FILE.format(suffix=suffix)))
    return units


def _read_unit(source: _Source, unit: _Unit, limits: Limits) -> Case:
    if unit.kind == "reject":
        raise _Rejected(unit.reason)
    if unit.kind == "npz":
        return _case_from_npz(source.read(unit.members[0]), unit.case_id, unit.file, limits)
    return _case_from_files(unit.case_id, unit.file, unit.members, source.read, limits)


# ----------------------------------------------------------------------------------------
# Stacked (N, 3, H, W) arrays and single-case npz files
# ----------------------------------------------------------------------------------------

_IMAGE_KEYS = ("images", "cases", "x")
_MASK_KEYS = ("masks", "mask")
_ID_KEYS = ("case_ids", "ids")


class _StackReader:
    """Reads an (N, 3, H, W) .npy stream one case at a time (C order), or whole (Fortran)."""

    def __init__(self, fp, entry: str, label: str, limits: Limits, mask: bool):
        shape, fortran, dtype = _read_npy_header(fp)
        if len(shape) != 4 or shape[1] != len(SEQUENCES):
            raise ArchiveError(label, STACK_SHAPE.format(entry=entry, shape=tuple(shape)))
        try:
            _check_layout(entry, shape[2:], dtype, limits, mask)
        except _Rejected as exc:
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
            return _read_exact(self.fp, nbytes, self.entry)
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
            checked = {seq: _check_pixels(seq, block[j], False) for j, seq in enumerate(SEQUENCES)}
            mask_arrays = ({seq: _check_pixels(f"mask_{seq}", mask_block[j], True) for j, seq in enumerate(SEQUENCES)}
                           if mask_block is not None else {})
            yield _assemble(case_id, item, checked, mask_arrays)
        except _Rejected as exc:
            yield Rejection(case_id, item, exc.reason)


def _npz_listing(zf: zipfile.ZipFile, label: str, limits: Limits) -> dict[str, zipfile.ZipInfo]:
    """Arrays of a .npz by key, sizes checked. No ratio check: the arrays are read as streams of
    exactly the sizes their headers give (capped above), and stacked masks, mostly zeros,
    legitimately deflate over 1000x in ``savez_compressed`` files."""
    budget = _Budget(label, limits, None)
    infos = {}
    for info in zf.infolist():
        budget.declare(info.filename, info.file_size)
        infos[info.filename[:-4] if info.filename.endswith(".npy") else info.filename] = info
    return infos


# ----------------------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------------------

def archive_name(path: Path) -> str:
    name = path.name
    for suffix in (".tar.gz", ".tgz", ".tar", ".zip", ".npz", ".npy"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


class CaseStream:
    """Iterator over the cases of one input, yielding each ``Case`` or ``Rejection`` as it is read.

    Holds one case at a time. Whole-input failures raise ``ArchiveError`` from ``next()``.
    ``ignored`` lists skipped junk once iteration is done.
    """

    def __init__(self, path: str | Path, limits: Limits = Limits()):
        self.path = Path(path)
        self.source = self.path.name
        self.limits = limits
        self.ignored: list[str] = []
        self._items = self._generate()

    def __iter__(self) -> "CaseStream":
        return self

    def __next__(self) -> Case | Rejection:
        return next(self._items)

    def close(self) -> None:
        self._items.close()

    def _generate(self) -> Iterator[Case | Rejection]:
        label, path = self.source, self.path
        if not path.exists():
            raise ArchiveError(label, NOT_FOUND)
        # Ids are checked here, for every format: the first occurrence keeps the id (even when
        # that case is rejected) and every later one is rejected.
        first_file: dict[str, str] = {}
        for item in self._dispatch():
            case_id, file = (item.case, item.file) if isinstance(item, Rejection) else (item.case_id, item.source)
            if case_id in first_file:
                item = Rejection(case_id, file, DUPLICATE_CASE.format(case=case_id, first=first_file[case_id]))
            else:
                first_file[case_id] = file
            yield item
        if not first_file:
            raise ArchiveError(label, NO_CASES)

    def _dispatch(self) -> Iterator[Case | Rejection]:
        path, label = self.path, self.source
        if path.is_dir():
            yield from self._container(_FolderSource(path, label, self.limits))
            return
        with open(path, "rb") as fp:
            head = fp.read(6)
        suffix = _suffix(path.name)
        if head.startswith(b"\x93NUMPY"):
            yield from self._stacked_npy()
        elif head.startswith(b"PK") and suffix == ".npz":
            yield from self._npz_file()
        elif head.startswith(b"PK") and zipfile.is_zipfile(path):
            yield from self._container(_ZipSource(path, label, self.limits))
        elif tarfile.is_tarfile(path):
            yield from self._container(_TarSource(path, label, self.limits))
        elif suffix in (".zip", ".tar", ".tar.gz", ".tgz", ".npz", ".npy"):
            raise ArchiveError(label, CORRUPT.format(error=f"not a valid {suffix} file"))
        else:
            raise ArchiveError(label, NOT_AN_ARCHIVE)

    def _container(self, source: _Source) -> Iterator[Case | Rejection]:
        try:
            units = _plan(source.members(), self.ignored)
            self.ignored.extend(source.skipped)
            for unit in units:
                try:
                    yield _read_unit(source, unit, self.limits)
                except _Rejected as exc:
                    yield Rejection(unit.case_id, exc.file or unit.file, exc.reason)
        finally:
            source.close()

    def _stacked_npy(self) -> Iterator[Case | Rejection]:
        label = self.source
        _Budget(label, self.limits, None).declare(label, self.path.stat().st_size)
        with open(self.path, "rb") as fp:
            try:
                reader = _StackReader(fp, label, label, self.limits, False)
            except ArchiveError:
                raise
            except Exception as exc:
                raise ArchiveError(label, CORRUPT.format(error=exc)) from None
            yield from _stack_cases(label, reader, None, None)

    def _npz_file(self) -> Iterator[Case | Rejection]:
        label, limits = self.source, self.limits
        try:
            zf = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise ArchiveError(label, CORRUPT.format(error=exc)) from None
        with zf:
            infos = _npz_listing(zf, label, limits)
            stem = archive_name(self.path)
            if any((_role(key, stem) or ("", ""))[0] == "image" for key in infos):
                # One case stored as one .npz: read it like an archive member.
                member = _Member(label, self.path.stat().st_size, self.path)
                budget = _Budget(label, limits, None)
                budget.declare(label, member.size)
                with open(self.path, "rb") as fp:
                    data = budget.read_member(fp, member)
                try:
                    yield _case_from_npz(data, stem, label, limits)
                except _Rejected as exc:
                    yield Rejection(stem, label, exc.reason)
                return
            image_key = next((k for k in _IMAGE_KEYS if k in infos), None)
            arrays = [k for k in infos if k not in _MASK_KEYS + _ID_KEYS]
            if image_key is None and len(arrays) == 1:
                image_key = arrays[0]
            if image_key is None:
                raise ArchiveError(label, STACK_KEYS.format(found=", ".join(sorted(infos)) or "nothing"))
            ids = self._stack_ids(zf, infos, label)
            mask_key = next((k for k in _MASK_KEYS if k in infos), None)
            with zf.open(infos[image_key]) as image_fp:
                try:
                    images = _StackReader(image_fp, image_key, label, limits, False)
                    if mask_key is None:
                        yield from _stack_cases(label, images, None, ids)
                        return
                    with zf.open(infos[mask_key]) as mask_fp:
                        masks = _StackReader(mask_fp, mask_key, label, limits, True)
                        yield from _stack_cases(label, images, masks, ids)
                except ArchiveError:
                    raise
                except Exception as exc:
                    raise ArchiveError(label, CORRUPT.format(error=exc)) from None

    def _stack_ids(self, zf: zipfile.ZipFile, infos: dict, label: str) -> list[str] | None:
        key = next((k for k in _ID_KEYS if k in infos), None)
        if key is None:
            return None
        try:
            with zf.open(infos[key]) as fp:
                shape, fortran, dtype = _read_npy_header(fp)
                if dtype.kind not in "US" or len(shape) != 1:
                    raise ValueError(f"{key} must be a 1D string array, got {dtype} shaped {shape}")
                data = _read_exact(fp, math.prod(shape) * dtype.itemsize, key)
        except Exception as exc:
            raise ArchiveError(label, CORRUPT.format(error=exc)) from None
        values = np.frombuffer(data, dtype=dtype)
        return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def iter_cases(path: str | Path, limits: Limits = Limits()) -> CaseStream:
    """Stream the cases of ``path`` (archive, folder or stacked array): each item is a ``Case``
    or a ``Rejection``. Raises ``ArchiveError`` (while iterating) if the input is refused."""
    return CaseStream(path, limits)


def _collect(stream: CaseStream, keep: bool) -> tuple[list[Case], ValidationReport]:
    report = ValidationReport(source=stream.source)
    cases: list[Case] = []
    for item in stream:
        if isinstance(item, Rejection):
            report.rejected.append(item)
            continue
        report.accepted.append((item.case_id, item.source))
        if keep:
            cases.append(item)
    report.ignored = stream.ignored
    return cases, report


def read_cases(path: str | Path, name: str | None = None,
               limits: Limits = Limits()) -> tuple[CaseSet, ValidationReport]:
    """All accepted cases of ``path`` as a CaseSet, and the report of what was rejected.

    Raises ``ArchiveError`` when the whole input is refused; a bad case never blocks good ones.
    """
    stream = iter_cases(path, limits)
    cases, report = _collect(stream, keep=True)
    return CaseSet(name or archive_name(Path(path)), cases), report


def validate(path: str | Path, limits: Limits = Limits()) -> ValidationReport:
    """Check ``path`` without keeping any pixels; whole-input failures land in ``report.errors``."""
    stream = iter_cases(path, limits)
    try:
        return _collect(stream, keep=False)[1]
    except ArchiveError as exc:
        return ValidationReport(source=stream.source, errors=[str(exc)])


def write_archive(cases: Iterable[Case], path: str | Path, compress: bool = True) -> int:
    """Write cases as a .zip holding one ``<case_id>.npz`` per case (the standard format).

    Keys: ``t1_arterial``, ``t1_portal``, ``t2`` and, when the case has masks,
    ``mask_t1_arterial``, ``mask_t1_portal``, ``mask_t2``. Written to a temporary file and
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
            if case.masks is not None:
                arrays.update({f"mask_{seq}": case.masks[i] for i, seq in enumerate(SEQUENCES)})
            np.savez(buf, **arrays)
            zf.writestr(f"{case.case_id}.npz", buf.getvalue())
            count += 1
    tmp.replace(path)
    return count
