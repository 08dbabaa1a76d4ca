"""Recognise an initrd segment's compression by its magic and decompress it in chunks.

Why chunks: a modern initramfs is 100+ MB decompressed; every decompressor
here yields at most about ``OUT_CHUNK`` bytes at a time (lz4 legacy: one 8 MiB
block) and hands the bytes after its stream back to the raw stream, where the
next segment starts. The magics are the kernel's own
(``lib/decompress.c``: ``compressed_formats``).

Which library inflates what:

- gzip: python-isal's ``igzip_lib`` (a regular dependency on x86_64 and
  aarch64, where it has wheels: Intel's ISA-L inflates 2-3x faster than zlib,
  and the inflate is most of reading a Debian or RHEL initrd), else the
  standard library's ``zlib``.
- zstd (Debian 12, Ubuntu, Fedora): the standard library's ``compression.zstd``
  where the Python has it (3.14+; ``backports.zstd`` is the same module for
  older Pythons, used when installed), else ``zstandard``, a regular dependency.
- lz4 (some Ubuntu releases): ``lz4``, a regular dependency.
- xz, lzma, bzip2: the standard library.

lzo has no well-kept Python decompressor, and a package missing from an
install that skipped the dependencies is reported the same way: InitrdError
with a sentence saying so, never ImportError.
"""

from __future__ import annotations

import bz2
import importlib
import lzma
import zlib
from collections.abc import Iterator
from types import ModuleType
from typing import Callable, Optional

from .errors import InitrdError
from .stream import ByteStream

__all__ = ["MAGICS", "OUT_CHUNK", "detect", "decompress"]

#: The most decompressed bytes handed out at once (lz4 legacy blocks excepted).
OUT_CHUNK = 1 << 20
#: xz/lzma dictionaries are allocated up front; refuse absurd ones from a bad header.
LZMA_MEMLIMIT = 256 << 20

LZ4_LEGACY_MAGIC = b"\x02\x21\x4c\x18"
LZ4_FRAME_MAGIC = b"\x04\x22\x4d\x18"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: Legacy lz4 blocks decompress to at most 8 MiB (lz4 -l, the kernel's unlz4).
LZ4_LEGACY_BLOCK = 8 << 20
_LZ4_LEGACY_BOUND = LZ4_LEGACY_BLOCK + LZ4_LEGACY_BLOCK // 255 + 16
#: A zstd block never decompresses to more than 128 KiB (RFC 8878, Block_Maximum_Size).
_ZSTD_BLOCK_MAX = 128 << 10
#: zstd blocks fed to ``zstandard``'s decompressor at once: bounds its output to
#: 256 KiB, which stays in the CPU's cache while the cpio walk reads it (2-8 %
#: less CPU than 1 MiB feeds on Debian 12's 33 MiB image, in-process).
_ZSTD_BLOCKS_PER_FEED = 2

#: (magic, format) in the kernel's order; the first match wins.
MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"\x1f\x9e", "gzip"),
    (b"BZh", "bzip2"),
    (b"\x5d\x00\x00", "lzma"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x89LZO", "lzo"),
    (LZ4_LEGACY_MAGIC, "lz4"),
    (LZ4_FRAME_MAGIC, "lz4"),
    (ZSTD_MAGIC, "zstd"),
)


def detect(head: bytes) -> Optional[str]:
    """The compression whose magic ``head`` starts with, or None."""
    for magic, name in MAGICS:
        if head.startswith(magic):
            return name
    return None


def decompress(raw: ByteStream, fmt: str) -> Iterator[bytes]:
    """Decompressed chunks of the ``fmt`` stream at the front of ``raw``.

    Consecutive streams of the same kind (pbzip2, pzstd and ``cat a.gz b.gz``
    write several) continue one another, as they do for the kernel. The bytes
    after the last one are left in ``raw``.
    """
    if fmt == "lzo":
        raise InitrdError("no lzo decompressor available")
    while True:
        head = raw.peek(8)
        if fmt == "lz4" and head.startswith(LZ4_LEGACY_MAGIC):
            yield from _lz4_legacy(raw)
        else:
            yield from _ONE_STREAM[fmt](raw)
        if detect(raw.peek(8)) != fmt:
            return


def _require(module: str, fmt: str) -> ModuleType:
    """Import an optional decompressor, or say in one sentence that it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise InitrdError(
            f"this is a {fmt} image, but the Python package {package} is not installed"
        ) from None


def _optional(module: str) -> Optional[ModuleType]:
    """A faster or standard-library decompressor when this Python has it, else None."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _truncated(fmt: str) -> InitrdError:
    return InitrdError(f"the {fmt} data is truncated")


def _corrupt(fmt: str, exc: BaseException) -> InitrdError:
    return InitrdError(f"the {fmt} data is corrupt ({exc})")


def _gzip(raw: ByteStream) -> Iterator[bytes]:
    """ISA-L's igzip when installed, else zlib; both check the gzip trailer's CRC."""
    igzip = _optional("isal.igzip_lib")
    if igzip is not None:
        d = igzip.IgzipDecompressor(flag=igzip.DECOMP_GZIP)
        return _incremental(raw, d, "gzip", (igzip.IsalError,))
    return _zlib_gzip(raw)


def _zlib_gzip(raw: ByteStream) -> Iterator[bytes]:
    """zlib with ``max_length``: input stays in ``unconsumed_tail``, output is bounded."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    data = b""
    while not d.eof:
        at_end = False
        if not data:
            data = raw.take()
            at_end = not data
        try:
            out = d.decompress(data, OUT_CHUNK)
        except zlib.error as exc:
            raise _corrupt("gzip", exc) from None
        data = d.unconsumed_tail
        if out:
            yield out
        elif at_end and not d.eof:
            raise _truncated("gzip")
    raw.unread(d.unused_data)


def _incremental(
    raw: ByteStream, d: object, fmt: str, errors: tuple[type[BaseException], ...]
) -> Iterator[bytes]:
    """The stdlib-style decompressors with ``needs_input`` (lzma, bz2, lz4.frame)."""
    stalls = 0
    while not d.eof:  # type: ignore[attr-defined]
        data = b""
        if d.needs_input:  # type: ignore[attr-defined]
            data = raw.take()
            if not data:
                raise _truncated(fmt)
        try:
            out = d.decompress(data, OUT_CHUNK)  # type: ignore[attr-defined]
        except errors as exc:
            raise _corrupt(fmt, exc) from None
        if out:
            stalls = 0
            yield out
        elif not data:
            stalls += 1
            if stalls > 2:
                raise _corrupt(fmt, RuntimeError("no progress"))
    raw.unread(d.unused_data)  # type: ignore[attr-defined]


def _xz(raw: ByteStream) -> Iterator[bytes]:
    d = lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=LZMA_MEMLIMIT)
    return _incremental(raw, d, "xz", (lzma.LZMAError,))


def _lzma(raw: ByteStream) -> Iterator[bytes]:
    d = lzma.LZMADecompressor(lzma.FORMAT_ALONE, memlimit=LZMA_MEMLIMIT)
    return _incremental(raw, d, "lzma", (lzma.LZMAError,))


def _bzip2(raw: ByteStream) -> Iterator[bytes]:
    return _incremental(raw, bz2.BZ2Decompressor(), "bzip2", (OSError, ValueError))


def _lz4_frame(raw: ByteStream) -> Iterator[bytes]:
    frame = _require("lz4.frame", "lz4")
    return _incremental(raw, frame.LZ4FrameDecompressor(), "lz4", (RuntimeError, ValueError))


def _lz4_legacy(raw: ByteStream) -> Iterator[bytes]:
    """The kernel's lz4 (``lz4 -l``): magic, then blocks of LE32 length + lz4 block.

    The stream has no end marker: it ends at the end of the data, at a zero
    length (padding), or at a length no block can have (the next segment).
    A repeated magic starts a further legacy stream, as the kernel accepts.
    """
    block = _require("lz4.block", "lz4")
    raw.read(len(LZ4_LEGACY_MAGIC))
    while True:
        head = raw.peek(4)
        if len(head) < 4:
            if head.strip(b"\x00"):
                raise _truncated("lz4")
            return
        if head == LZ4_LEGACY_MAGIC:
            raw.skip(4)
            continue
        size = int.from_bytes(head, "little")
        if size == 0 or size > _LZ4_LEGACY_BOUND:
            return
        raw.skip(4)
        data = raw.read(size)
        if len(data) < size:
            raise _truncated("lz4")
        try:
            out = block.decompress(data, uncompressed_size=LZ4_LEGACY_BLOCK)
        except block.LZ4BlockError as exc:
            raise _corrupt("lz4", exc) from None
        del data
        view = memoryview(out)
        for start in range(0, len(out), OUT_CHUNK):
            yield bytes(view[start : start + OUT_CHUNK])


def _zstd(raw: ByteStream) -> Iterator[bytes]:
    """One zstd frame: the standard library's API where there is one, else ``zstandard``.

    ``compression.zstd`` (3.14+; the same module as ``backports.zstd`` before)
    works like lzma's decompressor: one frame, an output bound per call,
    ``unused_data`` after the frame's end, and it inflates a little faster
    than ``zstandard`` fed block by block.
    """
    std = _optional("compression.zstd") or _optional("backports.zstd")
    if std is not None:
        return _incremental(raw, std.ZstdDecompressor(), "zstd", (std.ZstdError,))
    return _zstandard(raw)


def _zstandard(raw: ByteStream) -> Iterator[bytes]:
    """One zstd frame through ``zstandard``, fed to the decompressor a few whole blocks at a time.

    ``zstandard``'s decompressobj has no output bound, and a block of a few
    bytes can stand for 128 KiB of output (RLE). Walking the frame's block
    headers (RFC 8878, section 3.1.1) bounds each feed's output and finds the
    frame's exact end, so the following bytes stay in ``raw``.
    """
    zstandard = _require("zstandard", "zstd")
    d = zstandard.ZstdDecompressor().decompressobj()
    pending, checksum = _zstd_frame_header(raw)
    blocks = 0
    last = False
    while not last:
        block, last = _zstd_block(raw)
        pending += block
        blocks += 1
        if last and checksum:
            pending.append(_zstd_exact(raw, 4))
        if last or blocks >= _ZSTD_BLOCKS_PER_FEED:
            try:
                out = d.decompress(b"".join(pending))
            except zstandard.ZstdError as exc:
                raise _corrupt("zstd", exc) from None
            pending, blocks = [], 0
            if out:
                yield out


def _zstd_exact(raw: ByteStream, n: int) -> bytes:
    """The next ``n`` bytes of a zstd frame; InitrdError when the data ends first."""
    data = raw.read(n)
    if len(data) < n:
        raise _truncated("zstd")
    return data


def _zstd_frame_header(raw: ByteStream) -> tuple[list[bytes], bool]:
    """The frame header's bytes (magic to frame content size), and whether a checksum ends it."""
    head = _zstd_exact(raw, 5)
    descriptor = head[4]
    if (descriptor >> 3) & 1:
        raise _corrupt("zstd", ValueError("reserved frame header bit set"))
    single_segment = (descriptor >> 5) & 1
    rest = (0 if single_segment else 1) + (0, 1, 2, 4)[descriptor & 3]
    rest += (1 if single_segment else 0, 2, 4, 8)[descriptor >> 6]
    return [head, _zstd_exact(raw, rest)], bool((descriptor >> 2) & 1)


def _zstd_block(raw: ByteStream) -> tuple[tuple[bytes, bytes], bool]:
    """One block (its 3-byte header and content), and whether it is the frame's last."""
    header = _zstd_exact(raw, 3)
    value = int.from_bytes(header, "little")
    last, kind, size = value & 1, (value >> 1) & 3, value >> 3
    if kind == 3 or size > _ZSTD_BLOCK_MAX:
        raise _corrupt("zstd", ValueError(f"bad block header at offset {raw.offset - 3}"))
    # An RLE block (kind 1) stores its one byte; the size is how often it repeats.
    return (header, _zstd_exact(raw, 1 if kind == 1 else size)), bool(last)


_ONE_STREAM: dict[str, Callable[[ByteStream], Iterator[bytes]]] = {
    "gzip": _gzip,
    "xz": _xz,
    "lzma": _lzma,
    "bzip2": _bzip2,
    "lz4": _lz4_frame,
    "zstd": _zstd,
}
