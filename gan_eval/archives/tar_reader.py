"""Tar archives, read here rather than by ``tarfile``.

``tarfile`` trusts its metadata headers: a GNU long-name header (``././@LongLink``, types
``L``/``K``) declaring 1 GB of name is read whole into memory, a pax header (``x``/``g``) of
128 KB of digits parses in quadratic time on some Python versions (CVE-2024-6232), and a
damaged header after the first member silently ends the archive, so a broken upload reads as
a short, valid one. This reader walks the raw 512-byte headers itself, whatever the Python
version:

- every header's checksum is verified, and a damaged one refuses the archive;
- metadata headers are size-checked before a byte of them is read, and parsed in linear time;
- the walk goes to the end of the stream: the end-of-archive marker must be there, and
  nothing but zero padding may follow it, so a truncated or damaged archive never passes
  for a shorter one. A compressed stream (gzip, bzip2, xz, told apart by their magic bytes,
  not by the file's name) is thereby decompressed to its end, where the decompressor
  verifies its checksums (gzip's CRC32 and length).

Members are found by ``read_entries``; their data is then read from the same decompressed
stream at the offsets it gives.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

from .reasons import TAR_METADATA_TOO_LARGE
from .report import ArchiveError, Limits

BLOCK = 512
_ZERO_BLOCK = bytes(BLOCK)
_METADATA_KINDS = {b"L": "GNU long-name", b"K": "GNU long-link", b"x": "pax", b"g": "pax global"}
_GNU_MAGIC = b"ustar  \x00"
_DECOMPRESSORS: tuple[tuple[bytes, Callable[[BinaryIO], BinaryIO]], ...] = (
    (b"\x1f\x8b", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    (b"BZh", lambda raw: bz2.BZ2File(raw)),
    (b"\xfd7zXZ\x00", lambda raw: lzma.LZMAFile(raw)),
)

# What the decompressors and file reads raise on damaged or truncated data.
STREAM_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)


class TarDamaged(Exception):
    """The archive's structure is broken: a bad header, a truncation, trailing data."""


@dataclass(frozen=True)
class TarEntry:
    name: str       # as stored (not yet normalised)
    kind: str       # "file", "dir", "symlink", "hardlink" or "special"
    size: int       # bytes of data (0 for anything but a file)
    offset: int     # where the data starts in the decompressed stream


def open_stream(raw: BinaryIO) -> BinaryIO:
    """The decompressed stream of a tar file, chosen by the file's first bytes."""
    raw.seek(0)
    head = raw.read(6)
    raw.seek(0)
    for magic, decompressor in _DECOMPRESSORS:
        if head.startswith(magic):
            return decompressor(raw)
    return raw


def looks_like_tar(raw: BinaryIO) -> bool:
    """Whether the (decompressed) stream starts with a valid tar header. Reads one block only."""
    stream = open_stream(raw)
    try:
        block = stream.read(BLOCK)
    except STREAM_ERRORS:
        return False
    finally:
        if stream is not raw:
            stream.close()  # a decompressor's: it leaves ``raw`` open
    return len(block) == BLOCK and block != _ZERO_BLOCK and _checksum_ok(block)


def _number(field: bytes) -> int:
    """A numeric header field: NUL/space-terminated octal, or GNU base-256 (high bit set)."""
    if field[0] in (0o200, 0o377):
        value = int.from_bytes(field[1:], "big")
        return value - 256 ** (len(field) - 1) if field[0] == 0o377 else value
    text = field.split(b"\x00", 1)[0].strip()
    try:
        return int(text or b"0", 8)
    except ValueError:
        raise TarDamaged(f"invalid number {text[:16]!r} in a header") from None


def _text(field: bytes) -> str:
    return field.split(b"\x00", 1)[0].decode("utf-8", "replace")


def _checksum_ok(block: bytes) -> bool:
    try:
        stored = _number(block[148:156])
    except TarDamaged:
        return False
    unsigned = 256 + sum(struct.unpack_from("148B8x356B", block))
    signed = 256 + sum(struct.unpack_from("148b8x356b", block))  # some old tars sum signed bytes
    return stored in (unsigned, signed)


def _pax_records(data: bytes) -> dict[str, str]:
    """``"<length> <key>=<value>\\n"`` records, parsed in one linear pass."""
    records, pos = {}, 0
    while pos < len(data) and data[pos] != 0:  # NUL padding ends the records
        space = data.find(b" ", pos, pos + 21)
        if space == -1 or not data[pos:space].isdigit():
            raise TarDamaged("damaged pax header")
        end = pos + int(data[pos:space])
        record = data[space + 1:end]
        if end <= space or end > len(data) or not record.endswith(b"\n") or b"=" not in record:
            raise TarDamaged("damaged pax header")
        key, _, value = record[:-1].partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        pos = end
    return records


class _Reader:
    """Reads the stream sequentially, tracking the offset; short reads are truncation."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.offset = 0

    def read(self, nbytes: int, where: str) -> bytes:
        data = self.stream.read(nbytes)
        self.offset += len(data)
        if len(data) != nbytes:
            raise TarDamaged(f"the archive is truncated {where}")
        return data

    def skip(self, nbytes: int, where: str) -> None:
        # Seeking a decompressing stream forward inflates (and so checks) what it skips.
        self.offset += nbytes
        if self.stream.seek(self.offset) != self.offset:
            raise TarDamaged(f"the archive is truncated {where}")


def _kind(typeflag: bytes, name: str) -> str:
    if typeflag in (b"0", b"7") or (typeflag == b"\x00" and not name.endswith("/")):
        return "file"
    if typeflag == b"5" or typeflag == b"\x00":
        return "dir"
    return {b"1": "hardlink", b"2": "symlink"}.get(typeflag, "special")  # "S" sparse files included


def read_entries(stream: BinaryIO, label: str, limits: Limits,
                 account: Callable[[int], None]) -> Iterator[TarEntry]:
    """Every entry of the tar stream, to its end. ``account`` is told the bytes that belong to
    no member (metadata headers, padding after the end marker) so the budget counts them.
    The consumer checks each entry before the walk skips (and so inflates) its data."""
    reader = _Reader(stream)
    pending: dict[str, str] = {}    # from long-name and pax headers, for the next entry
    previous = "the first entry"
    while True:
        where = f"after {previous}"
        block = reader.read(BLOCK, f"{where} (no end-of-archive marker)")
        if block == _ZERO_BLOCK:
            break
        if not _checksum_ok(block):
            raise TarDamaged(f"damaged tar header at byte {reader.offset - BLOCK} ({where})")
        typeflag, size = block[156:157], _number(block[124:136])
        if size < 0:
            raise TarDamaged(f"negative size in the tar header at byte {reader.offset - BLOCK}")
        padded = -(-size // BLOCK) * BLOCK
        if typeflag in _METADATA_KINDS:
            if size > limits.max_tar_metadata_bytes:
                raise ArchiveError(label, TAR_METADATA_TOO_LARGE.format(
                    kind=_METADATA_KINDS[typeflag], entry=_text(block[0:100]), size=size,
                    limit=limits.max_tar_metadata_bytes))
            account(padded)
            data = reader.read(padded, f"inside a metadata header {where}")[:size]
            if typeflag == b"L":
                pending["path"] = _text(data)
            elif typeflag == b"K":
                pending["linkpath"] = _text(data)
            elif typeflag == b"x":
                pending.update(_pax_records(data))
            else:
                _pax_records(data)  # global records name no member: checked, not applied
            continue
        name = _text(block[0:100])
        prefix = _text(block[345:500]) if block[257:265] != _GNU_MAGIC else ""
        if prefix:
            name = f"{prefix}/{name}"
        name = pending.pop("path", name)
        if "size" in pending:
            size = _pax_size(pending.pop("size"))
            padded = -(-size // BLOCK) * BLOCK
        kind = "special" if any(key.startswith("GNU.sparse.") for key in pending) else _kind(typeflag, name)
        pending.clear()
        # Only files carry data, as tarfile and GNU tar read it: a folder's size is ignored.
        entry = TarEntry(name, kind, size if kind == "file" else 0, reader.offset)
        yield entry
        previous = repr(name)
        if kind == "file":
            reader.skip(padded, f"inside {previous}")
    _check_padding(reader, account)


def _pax_size(value: str) -> int:
    if not value.isdigit():
        raise TarDamaged(f"invalid pax size {value[:20]!r}")
    return int(value)


def _check_padding(reader: _Reader, account: Callable[[int], None]) -> None:
    """After the end-of-archive marker only zeros may follow, to the end of the stream."""
    while chunk := reader.stream.read(1 << 16):
        account(len(chunk))
        if chunk.count(0) != len(chunk):
            raise TarDamaged("data after the end-of-archive marker")
