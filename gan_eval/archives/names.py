"""Entry names: which are safe (inside the root, not too deep) and which are junk.

Junk (``__MACOSX/``, hidden files such as ``.DS_Store``, ``Thumbs.db``, ``desktop.ini``,
READMEs and other documents) is skipped and listed in ``ValidationReport.ignored``.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from .formats import DOCUMENT_SUFFIXES, suffix_of
from .reasons import ABSOLUTE_PATH, ESCAPES_ROOT, TOO_DEEP
from .report import ArchiveError, Limits

_JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx"})
_JUNK_STEMS = frozenset({"readme", "license", "licence", "notes", "changelog"})


def normalise(raw: str, label: str, limits: Limits) -> str:
    """Check an entry name for escape and depth; return it without './' or trailing '/'."""
    if raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw):
        raise ArchiveError(label, ABSOLUTE_PATH.format(entry=raw))
    parts = [p for p in re.split(r"[/\\]", raw) if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(label, ESCAPES_ROOT.format(entry=raw))
    if len(parts) > limits.max_depth:
        raise ArchiveError(label, TOO_DEEP.format(entry=raw, depth=len(parts), limit=limits.max_depth))
    return "/".join(parts)


def is_junk(name: str) -> bool:
    parts = name.split("/")
    if any(p.startswith(".") or p.lower() in _JUNK_NAMES for p in parts):
        return True
    leaf = PurePosixPath(parts[-1])
    return suffix_of(leaf.name) in DOCUMENT_SUFFIXES or leaf.stem.lower() in _JUNK_STEMS
