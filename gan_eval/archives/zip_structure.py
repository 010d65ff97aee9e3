"""The zip end-of-central-directory record and central directory, checked before ``zipfile``
builds its member list.

``zipfile`` is lenient where a hostile or broken file needs strictness:

- it searches the file's last 64 KiB for the end record and accepts one that is not at the
  end, and it reads a central directory that is not where the end record says as "data
  prepended to the archive". So a truncated ``.zip`` whose last member is an uncompressed
  ``.npz`` reads as that inner npz: a different archive, silently;
- it builds a ``ZipInfo`` for every central-directory entry before anyone can count them:
  a zip of a million empty entries costs 613 MB.

``central_directory_entries`` finds the end record exactly as ``zipfile`` does (so both see
the same archive), requires it to end the file and the central directory to end exactly where
the end record begins, and counts the entries, stopping as soon as there are too many.
Member data is verified separately, by reading each member to its end (``drain``), where
``zipfile`` checks its CRC-32.
"""

from __future__ import annotations

import struct
import zipfile
from typing import BinaryIO

_END = struct.Struct("<4s4H2LH")                 # end of central directory record
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")        # one central-directory file header
_MAX_COMMENT = (1 << 16) - 1


def _bad(message: str) -> zipfile.BadZipFile:
    return zipfile.BadZipFile(message)


def _end_record(fp: BinaryIO, file_size: int) -> tuple[int, tuple]:
    """The end record's offset and fields, found as zipfile's ``_EndRecData`` finds it."""
    if file_size < _END.size:
        raise _bad("File is not a zip file")
    fp.seek(file_size - _END.size)
    tail = fp.read(_END.size)
    if tail[:4] == b"PK\x05\x06" and tail[-2:] == b"\x00\x00":
        return file_size - _END.size, _END.unpack(tail)
    window_start = max(file_size - _MAX_COMMENT - _END.size, 0)
    fp.seek(window_start)
    window = fp.read()
    start = window.rfind(b"PK\x05\x06")
    if start < 0 or len(window) - start < _END.size:
        raise _bad("File is not a zip file")
    return window_start + start, _END.unpack(window[start:start + _END.size])


def central_directory_entries(fp: BinaryIO, stop_after: int) -> int:
    """Check the zip's framing and count its entries (at most ``stop_after + 1``: more means
    too many, and the rest is not walked). Raises ``zipfile.BadZipFile`` on any damage."""
    fp.seek(0, 2)
    file_size = fp.tell()
    end_at, (_, disk, cd_disk, on_disk, total, cd_size, cd_offset, comment_len) = _end_record(fp, file_size)
    if end_at + _END.size + comment_len != file_size:
        raise _bad("the end-of-central-directory record does not end the file (truncated or appended to)")
    cd_end = end_at
    if end_at >= _END64_LOCATOR.size:
        fp.seek(end_at - _END64_LOCATOR.size)
        locator = _END64_LOCATOR.unpack(fp.read(_END64_LOCATOR.size))
        if locator[0] == b"PK\x06\x07":  # zip64: the real counts and offsets are in its own record
            cd_end = end_at - _END64_LOCATOR.size - _END64.size
            fp.seek(max(cd_end, 0))
            record = fp.read(_END64.size)
            if cd_end < 0 or len(record) != _END64.size or record[:4] != b"PK\x06\x06":
                raise _bad("damaged zip64 end-of-central-directory record")
            _, _, _, _, disk, cd_disk, on_disk, total, cd_size, cd_offset = _END64.unpack(record)
    if disk or cd_disk or on_disk != total:
        raise _bad("zip files that span several disks are not supported")
    if cd_offset + cd_size != cd_end:
        raise _bad("the central directory is not where the end record places it (truncated, or data before it)")
    if total > stop_after:
        return total
    return _walk(fp, cd_offset, cd_size, total, stop_after)


def _walk(fp: BinaryIO, offset: int, size: int, declared: int, stop_after: int) -> int:
    fp.seek(offset)
    count, walked = 0, 0
    while walked < size:
        header = fp.read(_CENTRAL.size)
        if len(header) != _CENTRAL.size or header[:4] != b"PK\x01\x02":
            raise _bad("damaged central directory")
        fields = _CENTRAL.unpack(header)
        variable = fields[12] + fields[13] + fields[14]  # name, extra field, comment
        fp.seek(variable, 1)
        walked += _CENTRAL.size + variable
        count += 1
        if count > stop_after:
            return count
    if walked != size or count != declared:
        raise _bad(f"damaged central directory ({count} entries for {declared} declared)")
    return count


def drain(fp: BinaryIO) -> int:
    """Read a member stream to its end (where zipfile verifies the CRC-32); the byte count."""
    total = 0
    while chunk := fp.read(1 << 20):
        total += len(chunk)
    return total
