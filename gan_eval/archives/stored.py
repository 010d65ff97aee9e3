"""Random access to a standard archive (``write_archive``'s zip of one ``<case_id>.npz`` per case):
the viewer, the gallery and the reader study open one case at a time, so a set of any size costs
the memory of the cases on screen, not of the set.

Each case is decoded with every check of ``iter_cases`` (``layout.case_from_npz``): the file is
the workspace's own copy, but it is still read as if it came from outside.
"""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

from ..cases import Case
from .layout import case_from_npz
from .report import ArchiveError, CaseRejected, Limits
from .reasons import CORRUPT


class StoredCases:
    """The cases of a standard archive by position and by id, read on demand."""

    def __init__(self, path: str | Path, name: str, limits: Limits = Limits()):
        self.path, self.name, self.limits = Path(path), name, limits
        self._lock = threading.Lock()  # one ZipFile shared by the sessions that look at this set
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ArchiveError(self.path.name, CORRUPT.format(error=exc)) from None
        self._members = [i for i in self._zip.infolist() if i.filename.endswith(".npz") and "/" not in i.filename]
        self.ids = [i.filename[: -len(".npz")] for i in self._members]
        self._index = {case_id: position for position, case_id in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self._members)

    def __getitem__(self, position: int) -> Case:
        info = self._members[position]
        with self._lock:
            data = self._zip.read(info)
        try:
            return case_from_npz(data, self.ids[position], info.filename, self.limits)
        except CaseRejected as exc:
            raise ArchiveError(self.path.name, f"stored case {self.ids[position]!r} is damaged: {exc}") from None

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def by_id(self, case_id: str) -> Case:
        try:
            return self[self._index[case_id]]
        except KeyError:
            raise KeyError(f"{self.name}: no case {case_id!r}") from None
