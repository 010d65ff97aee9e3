"""Containers: zip, tar(.gz) and plain folders, and the byte budget they are read under.

Each container lists its members (every header check done there: names, links, special
files, sizes) and reads one member's bytes under the budget. Nothing is ever extracted:
members are read into memory, so nothing can be written anywhere. Sizes and ratios are
checked from the headers, and enforced again while reading since headers can lie.
"""

from __future__ import annotations

import os
import stat
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from .names import is_junk, normalise
from .reasons import (ARCHIVE_RATIO, CORRUPT, ENCRYPTED, ENTRY_RATIO, ENTRY_TOO_LARGE, HARDLINK, LINK_OUTSIDE,
                      SIZE_LIE, SPECIAL_FILE, SYMLINK, TOO_MANY_MEMBERS, TOTAL_TOO_LARGE, UNLISTABLE_FOLDER,
                      UNREADABLE, UNSUPPORTED_COMPRESSION)
from .report import ArchiveError, CaseRejected, Limits
from .tar_reader import STREAM_ERRORS, TarDamaged, TarEntry, open_stream, read_entries
from .zip_structure import central_directory_entries, drain


@dataclass(frozen=True)
class Member:
    name: str        # normalised posix path inside the container
    size: int        # declared uncompressed size
    handle: object   # ZipInfo, TarEntry or Path


class Budget:
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
        self.declare_overhead(size)

    def declare_overhead(self, nbytes: int) -> None:
        """Bytes a container inflates that belong to no member (tar metadata, padding)."""
        limits = self.limits
        self.declared += nbytes
        if self.declared > limits.max_total_bytes:
            raise ArchiveError(self.label, TOTAL_TOO_LARGE.format(limit=limits.max_total_bytes))
        if (self.compressed_size is not None and self.declared > limits.ratio_floor_bytes
                and self.declared > limits.max_ratio * self.compressed_size):
            raise ArchiveError(self.label, ARCHIVE_RATIO.format(
                ratio=self.declared / max(self.compressed_size, 1), limit=limits.max_ratio))

    def read_member(self, fp, member: Member) -> bytes:
        """A member's bytes from a stream that ends with it (one byte more is a lying header)."""
        data = fp.read(member.size + 1)
        if len(data) > member.size:
            raise ArchiveError(self.label, SIZE_LIE.format(entry=member.name))
        self.count_read(len(data))
        return data

    def count_read(self, nbytes: int) -> None:
        self.read += nbytes
        if self.read > self.limits.max_total_bytes:
            raise ArchiveError(self.label, TOTAL_TOO_LARGE.format(limit=self.limits.max_total_bytes))


class Source:
    """A container: ``members()`` lists files after every header check, ``read()`` returns one
    member's bytes under the byte budget, ``finish()`` (once every case is read) checks what
    reading did not, so a damaged archive is refused even where no case needed the damaged
    part. ``skipped`` names entries passed over on purpose."""

    def __init__(self, label: str, limits: Limits, compressed_size: int | None):
        self.label = label
        self.limits = limits
        self.budget = Budget(label, limits, compressed_size)
        self.skipped: list[str] = []

    def members(self) -> list[Member]:
        raise NotImplementedError

    def read(self, member: Member) -> bytes:
        raise NotImplementedError

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass

    def _corrupt(self, exc: Exception, entry: str | None = None) -> ArchiveError:
        return ArchiveError(self.label, CORRUPT.format(error=f"{entry}: {exc}" if entry else exc))


class ZipSource(Source):
    """A .zip (or a stacked .npz, whose arrays legitimately deflate far beyond any ratio limit:
    ``ratio_checked=False``). Its framing is checked and its entries counted before zipfile
    lists them (``zip_structure``); every member is read to its end, where its CRC is checked."""

    def __init__(self, path: Path, label: str, limits: Limits, ratio_checked: bool = True):
        super().__init__(label, limits, path.stat().st_size if ratio_checked else None)
        self.file = open(path, "rb")
        try:
            entries = central_directory_entries(self.file, limits.max_members)
            if entries > limits.max_members:
                raise ArchiveError(label, TOO_MANY_MEMBERS.format(limit=limits.max_members))
            self.zip = zipfile.ZipFile(self.file)
        except ArchiveError:
            self.file.close()
            raise
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            self.file.close()  # NotImplementedError: a "version needed to extract" above zipfile's
            raise self._corrupt(exc) from None
        self._unverified: dict[str, Member] = {}

    def members(self) -> list[Member]:
        members = []
        for info in self.zip.infolist():
            name = normalise(info.filename, self.label, self.limits)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ArchiveError(self.label, SYMLINK.format(entry=info.filename))
            if info.flag_bits & 0x1:
                raise ArchiveError(self.label, ENCRYPTED.format(entry=info.filename))
            self.budget.declare(info.filename, info.file_size, info.compress_size)
            if name and not info.is_dir():
                members.append(Member(name, info.file_size, info))
        self._unverified = {m.name: m for m in members}
        return members

    @contextmanager
    def stream(self, member: Member) -> Iterator[BinaryIO]:
        """One member's data as a stream; whatever the body leaves unread is read on a normal
        exit, so the member's CRC is always verified. Damage refuses the whole archive."""
        try:
            with self.zip.open(member.handle) as fp:  # type: ignore[arg-type]
                yield fp
                self.budget.count_read(drain(fp))
            self._unverified.pop(member.name, None)
        except NotImplementedError:
            raise ArchiveError(self.label, UNSUPPORTED_COMPRESSION.format(entry=member.name)) from None
        except (ArchiveError, CaseRejected):
            raise
        except Exception as exc:  # bad CRC (a header that lied), truncated or invalid deflate data
            raise self._corrupt(exc, member.name) from None

    def read(self, member: Member) -> bytes:
        with self.stream(member) as fp:
            return self.budget.read_member(fp, member)

    def finish(self) -> None:
        for member in list(self._unverified.values()):
            with self.stream(member):
                pass

    def close(self) -> None:
        self.zip.close()
        self.file.close()


class TarSource(Source):
    """A .tar, .tar.gz/.tgz (or bzip2/xz-compressed tar), walked by ``tar_reader`` to its end
    before any member is read. Per-entry ratios do not exist in a compressed tar (one stream),
    so the whole-archive ratio is checked as headers are read."""

    def __init__(self, path: Path, label: str, limits: Limits):
        super().__init__(label, limits, path.stat().st_size)
        self.raw = open(path, "rb")
        self.stream = open_stream(self.raw)

    def members(self) -> list[Member]:
        # Entries one by one, so each size is checked before the walk skips (and in a .tar.gz
        # inflates) that member's data to reach the next header.
        members = []
        try:
            for entry in read_entries(self.stream, self.label, self.limits, self.budget.declare_overhead):
                name = normalise(entry.name, self.label, self.limits)
                if entry.kind == "symlink":
                    raise ArchiveError(self.label, SYMLINK.format(entry=entry.name))
                if entry.kind == "hardlink":
                    raise ArchiveError(self.label, HARDLINK.format(entry=entry.name))
                if entry.kind == "special":
                    raise ArchiveError(self.label, SPECIAL_FILE.format(entry=entry.name))
                self.budget.declare(entry.name, entry.size)
                if name and entry.kind == "file":
                    members.append(Member(name, entry.size, entry))
        except (TarDamaged, *STREAM_ERRORS) as exc:
            raise self._corrupt(exc) from None
        return members

    def read(self, member: Member) -> bytes:
        entry: TarEntry = member.handle  # type: ignore[assignment]
        try:
            self.stream.seek(entry.offset)
            data = self.stream.read(entry.size)
        except STREAM_ERRORS as exc:
            raise self._corrupt(exc, member.name) from None
        if len(data) != entry.size:  # the walk saw it whole: the file changed under us
            raise self._corrupt(TarDamaged("truncated"), member.name)
        self.budget.count_read(len(data))
        return data

    def close(self) -> None:
        self.stream.close()
        self.raw.close()


class FolderSource(Source):
    """A plain folder. A symlink is followed only when it resolves inside the folder, and only
    to a file: linked folders are not descended (their real path is walked anyway). Junk
    folders (hidden, ``__MACOSX``) are not descended either."""

    def __init__(self, path: Path, label: str, limits: Limits):
        super().__init__(label, limits, None)
        self.root = path.resolve()

    def members(self) -> list[Member]:
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
                members.append(Member(rel, info.st_size, full))
        return members

    def _unlistable(self, exc: OSError) -> None:
        entry = Path(exc.filename).relative_to(self.root).as_posix() if exc.filename else "."
        raise ArchiveError(self.label, UNLISTABLE_FOLDER.format(entry=entry, error=exc.strerror or exc))

    def _skip(self, full: Path, rel: str, is_dir: bool) -> bool:
        normalise(rel, self.label, self.limits)
        if full.is_symlink():
            target = full.resolve()
            if not target.is_relative_to(self.root):
                raise ArchiveError(self.label, LINK_OUTSIDE.format(entry=rel))
            if not target.exists() or target.is_dir():
                self.skipped.append(f"{rel} (symbolic link to a folder or to nothing, not followed)")
                return True
        if is_dir and is_junk(rel):
            self.skipped.append(rel + "/")
            return True
        return False

    def read(self, member: Member) -> bytes:
        # Unlike a bad CRC inside an archive, one unreadable file (permissions) in a folder
        # says nothing about the others: only its case is rejected.
        try:
            with open(member.handle, "rb") as fp:  # type: ignore[arg-type]
                return self.budget.read_member(fp, member)
        except OSError as exc:
            raise CaseRejected(UNREADABLE.format(error=f"{type(exc).__name__}: {exc.strerror}"),
                               member.name) from None
