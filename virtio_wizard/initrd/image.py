"""Walk an initrd image segment by segment and list its members.

An image is a sequence of segments, read the way the kernel's
``init/initramfs.c`` (``unpack_to_rootfs``) reads them: zero padding is
skipped; a ``0`` starts an uncompressed newc archive (the *early* cpio with
CPU microcode); anything else must be a compression magic, whose decompressed
data holds one or more archives. 2.4-kernel images are instead an ext2 file
system, gzip-compressed or not.

Two guards keep a decompression bomb (kilobytes that inflate to gigabytes of
zeros) from holding detection for minutes: decompressed data must start as
an archive does (the kernel refuses anything else as well), and an image may
inflate to at most ``MAX_DECOMPRESSED`` bytes in all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from . import compression, cpio, ext2
from .cpio import Member
from .errors import InitrdError
from .stream import ByteStream, file_chunks

__all__ = ["ImageReader", "iter_members", "iter_names", "format_name", "MAX_DECOMPRESSED"]

#: The most one image may inflate to, all segments together. Real images stay
#: far below: a generic dracut image with all firmware is a few hundred MiB.
MAX_DECOMPRESSED = 1 << 30
#: How decompressed data may start: a newc cpio header, or (2.4 kernels) ext2.
_CPIO_MAGIC = b"07070"


def format_name(kinds: list[str]) -> str:
    """The image's format from its segments: ``cpio``, ``gzip``, ``early+xz``, ``ext2``.

    >>> format_name(["cpio", "gzip", "gzip"])
    'early+gzip'
    """
    merged: list[str] = []
    for kind in kinds:
        if not merged or merged[-1] != kind:
            merged.append(kind)
    if not merged:
        return "unknown"
    if merged[0] == "cpio" and len(merged) > 1:
        merged[0] = "early"
    return "+".join(merged)


class ImageReader:
    """Reads one image from a binary stream; ``format`` names what was seen so far.

    ``format`` stays meaningful after a failure (``gzip`` for a truncated
    gzip image), which is why the reader is an object and not a function.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._raw = ByteStream(file_chunks(stream))
        self.kinds: list[str] = []
        self._inflated = 0

    @property
    def format(self) -> str:
        return format_name(self.kinds)

    def members(self) -> Iterator[Member]:
        """Every member of every segment, in order; InitrdError on anything unreadable."""
        raw = self._raw
        head = raw.peek(ext2.PROBE_SIZE)
        if not head:
            raise InitrdError("the image is empty")
        if not head.startswith(b"0") and compression.detect(head) is None and ext2.is_ext2(head):
            self.kinds.append("ext2")
            yield from ext2.list_members(raw.read_all(ext2.MAX_IMAGE_BYTES, "ext2 image"))
            return
        while True:
            raw.skip_zeros()
            head = raw.peek(8)
            if not head:
                break
            if head.startswith(b"0"):
                self.kinds.append("cpio")
                yield from cpio.read_archive(raw)
                continue
            fmt = compression.detect(head)
            if fmt is None:
                if not self.kinds:
                    raise InitrdError(f"unknown image format (it starts with {head[:4].hex(' ')})")
                raise InitrdError(f"unknown data at offset {raw.offset} ({head[:4].hex(' ')})")
            self.kinds.append(fmt)
            out = ByteStream(self._capped(compression.decompress(raw, fmt), fmt))
            probe = out.peek(ext2.PROBE_SIZE)
            if probe and not probe.startswith(_CPIO_MAGIC) and not ext2.is_ext2(probe):
                raise InitrdError(
                    f"the {fmt} data holds no cpio archive or ext2 image "
                    f"(it starts with {probe[:6].hex(' ')}): not an initrd"
                )
            if not probe.startswith(b"0") and ext2.is_ext2(probe):
                self.kinds[-1] = "ext2"
                data = out.read_all(ext2.MAX_IMAGE_BYTES, "ext2 image")
                yield from ext2.list_members(data)
                continue
            yield from cpio.read_archives(out)
            if out.peek(1):
                raise InitrdError(f"junk within the {fmt} data at offset {out.offset}")
        if not self.kinds:
            raise InitrdError("the image holds only zero bytes")

    def _capped(self, chunks: Iterator[bytes], fmt: str) -> Iterator[bytes]:
        """``chunks``, stopped with InitrdError once the image inflated past the cap."""
        for chunk in chunks:
            self._inflated += len(chunk)
            if self._inflated > MAX_DECOMPRESSED:
                raise InitrdError(
                    f"the {fmt} data inflates to more than {_size(MAX_DECOMPRESSED)}: reading "
                    "stopped there (real initrds are far smaller; this one is damaged or "
                    "built to exhaust readers)"
                )
            yield chunk


def _size(n: int) -> str:
    """``1 GiB``, ``64 MiB``: the cap as the message says it."""
    return f"{n >> 30} GiB" if n >= 1 << 30 and not n % (1 << 30) else f"{n >> 20} MiB"


def iter_members(stream: BinaryIO) -> Iterator[Member]:
    """Members (name and mode) of a whole image, all segments; InitrdError on corruption."""
    return ImageReader(stream).members()


def iter_names(stream: BinaryIO) -> Iterator[str]:
    """Member names of a whole image (all segments); InitrdError on corruption.

    Names are as stored (``usr/lib/modules/...``), as ``cpio -t`` prints them.
    """
    for member in ImageReader(stream).members():
        yield member.name
