"""The entry points that read an input: ``iter_cases`` (a stream), ``read_cases`` and
``validate``. The input's kind is decided from its first bytes, not its name, except that a
zip named ``.npz`` is a numpy archive rather than a container."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterator

from ..cases import SEQUENCES, Case, CaseSet
from .containers import FolderSource, Source, TarSource, ZipSource
from .formats import INPUT_SUFFIXES, NOT_AN_ARCHIVE, archive_name, suffix_of
from .layout import plan, read_unit
from .reasons import CORRUPT, DUPLICATE_CASE, MASK_INCOMPLETE, NO_CASES, NOT_FOUND
from .report import ArchiveError, CaseRejected, Limits, Note, Rejection, ValidationReport
from .stacked import read_npz_file, read_stacked_npy
from .tar_reader import looks_like_tar


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
            yield from self._container(FolderSource(path, label, self.limits))
            return
        with open(path, "rb") as fp:
            head = fp.read(6)
            is_tar = not head.startswith((b"\x93NUMPY", b"PK")) and looks_like_tar(fp)
        suffix = suffix_of(path.name)
        if head.startswith(b"\x93NUMPY"):
            yield from read_stacked_npy(path, label, self.limits)
        elif head.startswith(b"PK") and suffix == ".npz":
            yield from read_npz_file(path, label, self.limits)
        elif head.startswith(b"PK") and zipfile.is_zipfile(path):
            yield from self._container(ZipSource(path, label, self.limits))
        elif is_tar:
            yield from self._container(TarSource(path, label, self.limits))
        elif suffix in INPUT_SUFFIXES:
            raise ArchiveError(label, CORRUPT.format(error=f"not a valid {suffix} file"))
        else:
            raise ArchiveError(label, NOT_AN_ARCHIVE)

    def _container(self, source: Source) -> Iterator[Case | Rejection]:
        try:
            units = plan(source.members(), self.ignored)
            self.ignored.extend(source.skipped)
            for unit in units:
                try:
                    yield read_unit(source, unit, self.limits)
                except CaseRejected as exc:
                    yield Rejection(unit.case_id, exc.file or unit.file, exc.reason)
            source.finish()
        finally:
            source.close()


def iter_cases(path: str | Path, limits: Limits = Limits()) -> CaseStream:
    """Stream the cases of ``path`` (archive, folder or stacked array): each item is a ``Case``
    or a ``Rejection``. Raises ``ArchiveError`` (while iterating) if the input is refused."""
    return CaseStream(path, limits)


def accepted_cases(stream: CaseStream, report: ValidationReport) -> Iterator[Case]:
    """The accepted cases of ``stream``, one at a time, while ``report`` records every
    acceptance, rejection and note (and, at the end, the skipped junk)."""
    for item in stream:
        if isinstance(item, Rejection):
            report.rejected.append(item)
            continue
        report.accepted.append((item.case_id, item.source))
        if item.missing_masks:
            given = [seq for seq in SEQUENCES if seq not in item.missing_masks]
            report.notes.append(Note(item.case_id, item.source, MASK_INCOMPLETE.format(
                given=", ".join(given), missing=", ".join(item.missing_masks))))
        yield item
    report.ignored = stream.ignored


def _collect(stream: CaseStream, keep: bool) -> tuple[list[Case], ValidationReport]:
    report = ValidationReport(source=stream.source)
    cases = [case for case in accepted_cases(stream, report) if keep]
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
