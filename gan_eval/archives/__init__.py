"""Read and write case archives, trusting nothing.

Inputs (``read_cases`` / ``iter_cases`` / ``validate``):

- a ``.zip``, ``.tar``, ``.tar.gz``/``.tgz`` archive or a plain folder holding one ``.npz`` per
  case or one sub-folder per case with one file per sequence (``.npy``, ``.png``/``.jpg``
  8/16-bit, ``.nii``/``.nii.gz`` 2D or single-slice, ``.dcm``): see ``layout``;
- a single ``.npy``/``.npz`` stack shaped ``(N, 3, H, W)``: see ``stacked``.

Nothing is ever extracted: members are read into memory, so nothing can be written anywhere.
``np.load`` never unpickles (the ``.npy`` header is parsed here and object dtypes are rejected
before any data is read).

Two levels of failure:

- ``ArchiveError`` refuses the whole input: corrupt or not an archive, entries escaping
  the root (``../``, absolute paths), links or special files, decompression bombs (sizes
  and ratios checked from the headers, and enforced again while reading since headers can
  lie), nesting deeper than ``Limits.max_depth``, too many entries, no cases at all.
- ``Rejection`` drops one case with an exact reason (the templates in ``reasons``); the
  other cases are still read.

Modules: ``formats`` (the suffix registry and the image decoders), ``containers`` (zip, tar,
folder and the byte budget), ``names`` (safe and junk entry names), ``layout`` (members to
cases), ``stacked`` (``(N, 3, H, W)`` arrays), ``npy`` and ``pixels`` (what every array goes
through), ``reasons`` (messages), ``report`` (the result types), ``reading`` (the entry points)
and ``writing`` (``write_archive``).
"""

from . import reasons as _reasons
from .formats import (FORMATS, INPUT_SUFFIXES, NOT_AN_ARCHIVE, UNSUPPORTED_FILE, UPLOAD_SUFFIXES, archive_name,
                      suffix_of, upload_suffix)
from .reading import CaseStream, accepted_cases, iter_cases, read_cases, validate
from .reasons import *  # noqa: F403  (the message templates are public: callers and tests compare them)
from .report import ArchiveError, Limits, Note, Rejection, ValidationReport
from .writing import write_archive

__all__ = [
    "ArchiveError", "CaseStream", "FORMATS", "accepted_cases", "INPUT_SUFFIXES", "Limits", "Note", "Rejection", "UPLOAD_SUFFIXES",
    "ValidationReport", "archive_name", "iter_cases", "read_cases", "suffix_of", "upload_suffix", "validate",
    "write_archive", "NOT_AN_ARCHIVE", "UNSUPPORTED_FILE",
    *(name for name in vars(_reasons) if name.isupper()),
]
