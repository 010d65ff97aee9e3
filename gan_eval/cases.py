"""The case model: one case is three co-registered 2D MRI slices plus optional lesion masks.

Sequences are always stored in the challenge's channel order: T1 arterial, T1 portal-venous,
fat-saturated T2. Input names are matched case-insensitively through a small alias table.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import numpy as np

SEQUENCES: tuple[str, str, str] = ("t1_arterial", "t1_portal", "t2")
SEQUENCE_LABELS: dict[str, str] = {
    "t1_arterial": "T1 arterial",
    "t1_portal": "T1 portal-venous",
    "t2": "T2 fat-sat",
}

# Lower-case tokens accepted for each sequence in file names and npz keys.
SEQUENCE_ALIASES: dict[str, tuple[str, ...]] = {
    "t1_arterial": ("t1_arterial", "t1-arterial", "t1arterial", "arterial", "art", "t1_art", "t1art", "ap"),
    "t1_portal": ("t1_portal", "t1-portal", "t1portal", "portal", "pv", "venous", "t1_pv", "t1pv",
                  "portal_venous", "portalvenous", "t1_venous", "pvp"),
    "t2": ("t2", "t2_fs", "t2fs", "t2_fatsat", "t2-fs", "t2w"),
}
_ALIAS_TO_SEQUENCE = {alias: seq for seq, aliases in SEQUENCE_ALIASES.items() for alias in aliases}

# Accepted pixel dtypes (after reading). Anything else is rejected by validation.
SUPPORTED_DTYPES = (np.uint8, np.uint16, np.int16, np.int32, np.uint32, np.int64, np.float16, np.float32, np.float64)


def canonical_sequence(name: str) -> str | None:
    """Map a key or file stem such as 'ART', 'pv', 'T2_fs', 'mask_portal' to a sequence name.

    Returns None when the name matches no sequence. Mask prefixes are not stripped here.
    """
    token = re.sub(r"\s+", "_", name.strip().lower())
    return _ALIAS_TO_SEQUENCE.get(token)


@dataclass(frozen=True)
class Case:
    """One case. ``images`` is ``(3, H, W)`` in SEQUENCES order, in the archive's own dtype.

    ``masks`` is ``(3, H, W)`` uint8 (0/1) or None. A case may have masks for some sequences
    only: ``missing_masks`` names the others, whose planes in ``masks`` are all zero and mean
    "not given", not "no lesion" (``mask(i)`` is None for them). ``source`` names where the
    case came from (an archive member or a file), for messages.
    """

    case_id: str
    images: np.ndarray
    masks: np.ndarray | None = None
    source: str = ""
    meta: dict = field(default_factory=dict, compare=False)
    missing_masks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.missing_masks and (self.masks is None or not set(self.missing_masks) < set(SEQUENCES)):
            raise ValueError(f"{self.case_id}: missing_masks {self.missing_masks} must name some, not all, "
                             f"of {SEQUENCES}, and the case must have masks")

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def mask(self, index: int) -> np.ndarray | None:
        """The lesion mask of sequence ``index``, or None where none was given."""
        if self.masks is None or SEQUENCES[index] in self.missing_masks:
            return None
        return self.masks[index]

    def digest(self) -> str:
        """Content hash of the pixel data (shape, dtype and bytes), the embedding cache key."""
        return pixel_digest(self.images)


def pixel_digest(images: np.ndarray) -> str:
    """blake2b-128 of an image stack's shape, dtype and bytes."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{images.dtype.str}|{images.shape}|".encode())
    h.update(np.ascontiguousarray(images).data)
    return h.hexdigest()


@dataclass
class CaseSet:
    """An ordered list of cases with unique ids (a real set or one team's submission)."""

    name: str
    cases: list[Case]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for case in self.cases:
            if case.case_id in seen:
                raise ValueError(f"{self.name}: duplicate case id {case.case_id!r}")
            seen.add(case.case_id)

    def __len__(self) -> int:
        return len(self.cases)

    def __iter__(self):
        return iter(self.cases)

    def __getitem__(self, index: int) -> Case:
        return self.cases[index]

    @property
    def ids(self) -> list[str]:
        return [c.case_id for c in self.cases]

    def by_id(self, case_id: str) -> Case:
        for case in self.cases:
            if case.case_id == case_id:
                return case
        raise KeyError(f"{self.name}: no case {case_id!r}")
