"""The newc cpio format of initramfs archives (``070701``, and ``070702`` with a CRC).

A header is 110 ASCII bytes: the magic, then 13 eight-digit hex fields. The
name follows (its size counts the final NUL), padded so that header + name is
a multiple of 4; then the data, padded to 4. ``TRAILER!!!`` ends an archive.
See the kernel's ``Documentation/driver-api/early-userspace/buffer-format.rst``.

File data is skipped, never kept, so a member of any size costs no memory; a
size that runs past the end of the data shows up as a truncated archive.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from ..targets import decode_text
from .errors import InitrdError
from .stream import ByteStream

__all__ = ["Member", "HEADER_SIZE", "MAX_NAME_SIZE", "TRAILER", "read_archive", "read_archives"]

HEADER_SIZE = 110
#: PATH_MAX, as the kernel's initramfs unpacker: longer names are corruption.
MAX_NAME_SIZE = 4096
TRAILER = b"TRAILER!!!"
_HEADER = re.compile(rb"07070[12][0-9A-Fa-f]{104}")


@dataclass(frozen=True)
class Member:
    """One entry of an image: its path as stored and its ``st_mode``."""

    name: str
    mode: int

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.mode)


def read_archive(src: ByteStream) -> Iterator[Member]:
    """The members of the one archive at the front of ``src``, up to its trailer."""
    while True:
        start = src.offset
        header = src.read(HEADER_SIZE)
        if not header:
            raise InitrdError("the cpio archive ends without its TRAILER!!! entry")
        if len(header) < HEADER_SIZE:
            raise InitrdError("the cpio archive is truncated inside a header")
        if not _HEADER.fullmatch(header):
            raise InitrdError(f"bad cpio header at offset {start} of the archive data")
        mode = int(header[14:22], 16)
        file_size = int(header[54:62], 16)
        name_size = int(header[94:102], 16)
        if name_size < 1 or name_size > MAX_NAME_SIZE:
            raise InitrdError(f"cpio name size {name_size} at offset {start} is out of range")
        raw_name = src.read(name_size)
        if len(raw_name) < name_size:
            raise InitrdError("the cpio archive is truncated inside a name")
        if raw_name[-1] != 0:
            raise InitrdError(f"the cpio name at offset {start} does not end in a NUL byte")
        raw_name = raw_name[: raw_name.index(b"\x00")]
        pad = -(HEADER_SIZE + name_size) & 3
        if raw_name == TRAILER:
            src.skip(pad)
            return
        need = pad + file_size + (-file_size & 3)
        if src.skip(need) < need:
            raise InitrdError(f"the cpio archive is truncated inside {decode_text(raw_name)}")
        yield Member(decode_text(raw_name), mode)


def read_archives(src: ByteStream) -> Iterator[Member]:
    """Consecutive archives with zero padding between, as the kernel accepts them.

    Stops (without consuming it) at the first byte that cannot start an
    archive, or at the end; the caller decides whether what follows is junk.
    """
    while True:
        src.skip_zeros()
        if src.peek(1) != b"0":
            return
        yield from read_archive(src)
