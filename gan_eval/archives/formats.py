"""File formats: the one registry of suffixes, and the decoders of one sequence's image file.

Every suffix the reader knows is in ``FORMATS``, with what a file of that type is: a whole
input (``.zip``, ``.tar``...), one case (``.npz`` in an archive), one sequence's image (with its
decoder), an archive that is never opened inside another one, or a document skipped as junk.
The accepted-types messages, ``archive_name``, the uploader's types and the planner's tables
are all derived from it, so adding a format is one line here.

Decoders turn the bytes of one file into one 2D array. They raise ``CaseRejected`` for policy
(too large, not 2D, colour...); any other exception means the file is unreadable. Pixel arrays
keep their own dtype. DICOM files contribute their pixels only, as displayed values (the
modality transform applied, MONOCHROME1 inverted); no tag is kept, shown or stored. NIfTI
arrays are taken as stored (no reorientation).
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

import numpy as np

from .npy import read_npy
from .pixels import check_layout, check_pixels
from .reasons import (COLOUR_IMAGE, DECOMPRESSES_TOO_LARGE, DICOM_NOT_GRAYSCALE, IMAGE_TOO_LARGE, NOT_2D,
                      NOT_NAMED_FORMAT, UNREADABLE)
from .report import ArchiveError, CaseRejected, Limits

Decoder = Callable[[bytes, str, Limits, bool], np.ndarray]


# ----------------------------------------------------------------------------------------
# Decoders
# ----------------------------------------------------------------------------------------

def _decode_npy(data: bytes, label: str, limits: Limits, mask: bool) -> np.ndarray:
    return read_npy(io.BytesIO(data), label, limits, mask)


_PIL_DIRECT_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F", "RGB", "RGBA"})


def _pil_decoder(pil_format: str) -> Decoder:
    """A decoder that opens only ``pil_format``. Pillow otherwise opens by content: a ``.png``
    holding TIFF, GIF, BMP, ICO, TGA, PCX or PPM would be accepted, and a ``.jpg`` holding EPS
    would make Pillow run Ghostscript on it."""
    def decode(data: bytes, label: str, limits: Limits, mask: bool) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        try:
            image = Image.open(io.BytesIO(data), formats=[pil_format])
        except UnidentifiedImageError:
            raise CaseRejected(NOT_NAMED_FORMAT.format(format=pil_format)) from None
        with image:
            width, height = image.size
            if max(width, height) > limits.max_image_side:  # before decoding any pixel
                raise CaseRejected(IMAGE_TOO_LARGE.format(sequence=label, height=height, width=width,
                                                          limit=limits.max_image_side))
            if image.mode not in _PIL_DIRECT_MODES:  # palette, CMYK, YCbCr...: to RGBA, then checked
                image = image.convert("RGBA")
            array = np.asarray(image)
        if array.ndim == 3:
            # Grayscale saved as RGB(A)/LA: accept when the colour channels are equal; alpha is dropped.
            colour = array[..., :3] if array.shape[2] >= 3 else array[..., :1]
            if not (colour == colour[..., :1]).all():
                raise CaseRejected(COLOUR_IMAGE.format(sequence=label))
            array = colour[..., 0]
        return array
    return decode


def _decode_nifti(data: bytes, label: str, limits: Limits, mask: bool) -> np.ndarray:
    import nibabel

    try:
        image = nibabel.Nifti1Image.from_bytes(data)
    except Exception:
        image = nibabel.Nifti2Image.from_bytes(data)
    shape = tuple(int(s) for s in image.shape)
    squeezed = tuple(s for s in shape if s != 1)  # single-slice 3D volumes are 2D images
    if len(squeezed) != 2:
        raise CaseRejected(NOT_2D.format(sequence=label, shape=shape))
    check_layout(label, squeezed, image.get_data_dtype(), limits, mask)
    return np.asanyarray(image.dataobj).reshape(squeezed)


def _decode_nifti_gz(data: bytes, label: str, limits: Limits, mask: bool) -> np.ndarray:
    # Bounded gunzip: a .nii.gz can be a gzip bomb, and a 3D volume is a common honest mistake.
    cap = limits.max_image_bytes
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
        raw = gz.read(cap + 1)
    if len(raw) > cap:
        raise CaseRejected(DECOMPRESSES_TOO_LARGE.format(sequence=label, limit=cap))
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
        raise CaseRejected(NOT_2D.format(sequence=label, shape=shape))
    if max(rows, columns) > limits.max_image_side:
        raise CaseRejected(IMAGE_TOO_LARGE.format(sequence=label, height=rows, width=columns,
                                                  limit=limits.max_image_side))
    photometric = str(dataset.get("PhotometricInterpretation", "")).strip().upper()
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):  # PALETTE COLOR pixels are indices
        raise CaseRejected(DICOM_NOT_GRAYSCALE.format(sequence=label, value=photometric or "none"))
    return _stored_to_displayed(np.array(dataset.pixel_array), dataset, photometric)


def _stored_to_displayed(stored: np.ndarray, dataset, photometric: str) -> np.ndarray:
    """Stored values -> the values they stand for: the modality transform (rescale slope and
    intercept, or a modality LUT; a negative slope flips brightness), then MONOCHROME1 (minimum
    shown white) inverted. The stored dtype is kept when the transform is the identity."""
    from pydicom.pixels import apply_modality_lut

    rescaled = "RescaleSlope" in dataset and "RescaleIntercept" in dataset  # pydicom applies both or neither
    identity = not dataset.get("ModalityLUTSequence") and (
        not rescaled or (float(dataset.RescaleSlope) == 1 and float(dataset.RescaleIntercept) == 0))
    values = stored if identity else apply_modality_lut(stored, dataset)
    if photometric == "MONOCHROME1":
        # Inverted within the image's own range: after min-max preprocessing this is exactly
        # the MONOCHROME2 image. ``high - v`` then ``+ low`` stays in range, in any dtype.
        low, high = values.min(), values.max()
        values = (high - values) + low
    return values


# ----------------------------------------------------------------------------------------
# The registry
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileFormat:
    """One suffix (lower case, ``.nii.gz`` is one suffix) and what a file of that type is."""

    suffix: str
    whole_input: bool = False        # may be given as the whole input (a path, an upload)
    decoder: Decoder | None = None   # one sequence's image inside a case folder
    case_file: bool = False          # one whole case per file inside an archive
    archive: bool = False            # an archive: never opened inside another one
    document: bool = False           # READMEs and the like: skipped as junk
    listed: bool = True              # named in messages (".jpeg" goes unsaid beside ".jpg")


FORMATS: tuple[FileFormat, ...] = (
    FileFormat(".zip", whole_input=True, archive=True),
    FileFormat(".tar", whole_input=True, archive=True),
    FileFormat(".tar.gz", whole_input=True, archive=True),
    FileFormat(".tgz", whole_input=True, archive=True),
    FileFormat(".npy", whole_input=True, decoder=_decode_npy),
    FileFormat(".npz", whole_input=True, case_file=True),
    FileFormat(".png", decoder=_pil_decoder("PNG")),
    FileFormat(".jpg", decoder=_pil_decoder("JPEG")),
    FileFormat(".jpeg", decoder=_pil_decoder("JPEG"), listed=False),
    FileFormat(".nii", decoder=_decode_nifti),
    FileFormat(".nii.gz", decoder=_decode_nifti_gz),
    FileFormat(".dcm", decoder=_decode_dicom),
    # Archives and compressed files this reader never opens inside an archive: unpacking nested
    # archives is how recursive zip bombs work.
    *(FileFormat(s, archive=True) for s in (".gz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tbz2", ".txz", ".jar")),
    *(FileFormat(s, document=True) for s in (".txt", ".md", ".rst", ".pdf", ".json", ".csv", ".tsv", ".yaml",
                                              ".yml", ".html", ".log", ".doc", ".docx")),
)

INPUT_SUFFIXES: tuple[str, ...] = tuple(f.suffix for f in FORMATS if f.whole_input)
DECODERS: dict[str, Decoder] = {f.suffix: f.decoder for f in FORMATS if f.decoder is not None}
CASE_FILE_SUFFIXES = frozenset(f.suffix for f in FORMATS if f.case_file)
NESTED_ARCHIVE_SUFFIXES = frozenset(f.suffix for f in FORMATS if f.archive)
DOCUMENT_SUFFIXES = frozenset(f.suffix for f in FORMATS if f.document)
# Streamlit's file_uploader(type=...) matches the last extension only, so ".tar.gz" is "gz".
UPLOAD_SUFFIXES: tuple[str, ...] = tuple(dict.fromkeys(s.rsplit(".", 1)[1] for s in INPUT_SUFFIXES))
_MULTIPART = tuple(sorted((f.suffix for f in FORMATS if f.suffix.count(".") > 1), key=len, reverse=True))


def _spoken(suffixes: list[str]) -> str:
    return ", ".join(suffixes[:-1]) + " or " + suffixes[-1]


NOT_AN_ARCHIVE = f"not a case archive: expected a folder, {_spoken(list(INPUT_SUFFIXES))}"
UNSUPPORTED_FILE = ("unsupported file type {suffix!r} (expected "
                    + " or ".join(s + " per case" for s in sorted(CASE_FILE_SUFFIXES)) + ", or "
                    + ", ".join(f.suffix for f in FORMATS if f.decoder and f.listed) + " per sequence)")


def suffix_of(name: str) -> str:
    """The registry suffix of a file name, lower case: ``.nii.gz`` and ``.tar.gz`` are one suffix."""
    lowered = name.lower()
    for multipart in _MULTIPART:
        if lowered.endswith(multipart):
            return multipart
    return PurePosixPath(lowered).suffix


def archive_name(path: Path) -> str:
    """The name of an input without its suffix: ``team_a.tar.gz`` -> ``team_a``."""
    name = path.name
    suffix = suffix_of(name)
    return name[: -len(suffix)] if suffix in INPUT_SUFFIXES else name


def upload_suffix(filename: str) -> str:
    """The suffix an uploaded file keeps when it is stored under another name.

    Its content decides how it is read; the suffix only tells a numpy ``.npz`` from a zip
    container, so it must survive. Any name the uploader accepts (``UPLOAD_SUFFIXES``) is
    kept as is, ``cases.gz`` included (a gzipped tar is read as one; anything else is refused
    when read); other names raise ``ArchiveError`` here.
    """
    suffix = suffix_of(filename)
    if suffix.rpartition(".")[2] not in UPLOAD_SUFFIXES:
        raise ArchiveError(filename, NOT_AN_ARCHIVE)
    return suffix


# ----------------------------------------------------------------------------------------
# Decoding one file
# ----------------------------------------------------------------------------------------

def unreadable(exc: Exception) -> CaseRejected:
    return CaseRejected(UNREADABLE.format(error=f"{type(exc).__name__}: {exc}"))


def decode(data: bytes, suffix: str, label: str, file: str, limits: Limits, mask: bool) -> np.ndarray:
    """Decode one sequence or mask file and run every per-image check; rejections name ``file``."""
    try:
        try:
            array = DECODERS[suffix](data, label, limits, mask)
        except CaseRejected:
            raise
        except Exception as exc:  # any decoder failure means this file cannot be read
            raise unreadable(exc) from None
        check_layout(label, array.shape, array.dtype, limits, mask)
        return check_pixels(label, array, mask)
    except CaseRejected as exc:
        raise CaseRejected(exc.reason, file) from None
