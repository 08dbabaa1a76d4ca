"""Build initrd images for tests: newc cpio, every compression, early cpio, ext2.

Other test modules reuse these builders, so every image a test reads is made
here from plain data and nothing depends on a real system's /boot.

- ``build_cpio(files, crc=False)`` -> an uncompressed newc archive (parent
  folders added, ``TRAILER!!!`` at the end).
- ``compress(data, fmt)`` for ``gzip xz lzma bzip2 zstd lz4 lz4-frame`` (``lz4``
  is the kernel's legacy frame, as ``lz4 -l`` writes it).
- ``build_initrd(modules, fmt, early, kver)`` -> a whole image like
  initramfs-tools/dracut make; ``module_path(name, kver)`` says where a module goes.
- ``build_ext2_initrd(tmp_path, files)`` -> a gzip-compressed ext2 image, as
  RHEL 3's mkinitrd made (needs ``mke2fs``; see ``MKE2FS``).
- ``write_large_initrd(path, sizes, fmt)`` streams a big image to a file
  without holding it in memory (for the memory test).
- ``zstd_zero_bomb(total, head)`` / ``gzip_zero_bomb(total, head)``: ``head``
  then ``total`` zero bytes, compressed to a few hundred bytes per MiB without
  ever holding (or compressing) the zeros: decompression bombs, made at test time.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import subprocess
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import BinaryIO, Optional

__all__ = [
    "FORMATS",
    "LZOP_HEADER",
    "MKE2FS",
    "cpio_entry",
    "build_cpio",
    "compress",
    "module_path",
    "build_early_cpio",
    "build_initrd",
    "build_ext2_initrd",
    "write_large_initrd",
    "zstd_zero_bomb",
    "gzip_zero_bomb",
]

#: Every format ``compress`` writes.
FORMATS = ("gzip", "xz", "lzma", "bzip2", "zstd", "lz4", "lz4-frame")
#: The start of an lzop file: nothing in Python writes lzo, so tests use the header.
LZOP_HEADER = b"\x89LZO\x00\r\n\x1a\n\x10\x30\x20\xa0\x09\x40\x01\x05\x03\x00\x00\x01"
MKE2FS = shutil.which("mke2fs") or shutil.which("mkfs.ext2")

S_IFREG, S_IFDIR, S_IFLNK = 0o100000, 0o040000, 0o120000
LZ4_LEGACY_MAGIC = b"\x02\x21\x4c\x18"


def cpio_entry(
    name: str, data: bytes = b"", mode: int = S_IFREG | 0o644, ino: int = 1, crc: bool = False
) -> bytes:
    """One newc member: header, NUL-terminated name and data, each padded to 4."""
    raw_name = name.encode("utf-8", "surrogateescape") + b"\x00"
    check = sum(data) & 0xFFFFFFFF if crc else 0
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(raw_name), check)
    header = (b"070702" if crc else b"070701") + b"".join(b"%08X" % f for f in fields)
    out = header + raw_name
    out += b"\x00" * (-len(out) & 3)
    out += data + b"\x00" * (-len(data) & 3)
    return out


def build_cpio(
    files: Mapping[str, bytes],
    crc: bool = False,
    symlinks: Optional[Mapping[str, str]] = None,
    dirs: bool = True,
    trailer: bool = True,
) -> bytes:
    """A newc archive of ``files`` (path -> bytes), parent folders first, then a trailer.

    ``symlinks`` maps link paths to targets. ``dirs=False`` leaves out the
    folder entries; ``trailer=False`` makes a broken archive without its end.
    """
    symlinks = dict(symlinks or {})
    folders: set[str] = set()
    if dirs:
        for path in [*files, *symlinks]:
            parts = path.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                folders.add("/".join(parts[:i]))
    out = bytearray()
    ino = 1
    for folder in sorted(folders):
        out += cpio_entry(folder, b"", S_IFDIR | 0o755, ino, crc)
        ino += 1
    for path, data in files.items():
        out += cpio_entry(path, data, S_IFREG | 0o644, ino, crc)
        ino += 1
    for path, dest in symlinks.items():
        out += cpio_entry(path, dest.encode(), S_IFLNK | 0o777, ino, crc)
        ino += 1
    if trailer:
        out += cpio_entry("TRAILER!!!", b"", 0, 0, crc)
    return bytes(out)


def _lz4_legacy(data: bytes, block_size: int = 8 << 20) -> bytes:
    import lz4.block

    out = bytearray(LZ4_LEGACY_MAGIC)
    for start in range(0, len(data), block_size):
        block = lz4.block.compress(data[start : start + block_size], store_size=False)
        out += len(block).to_bytes(4, "little") + block
    return bytes(out)


def compress(data: bytes, fmt: str, lz4_block_size: int = 8 << 20) -> bytes:
    """``data`` compressed as the kernel's initramfs readers expect ``fmt``."""
    if fmt == "gzip":
        return gzip.compress(data, mtime=0)
    if fmt == "xz":
        return lzma.compress(data, lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
    if fmt == "lzma":
        return lzma.compress(data, lzma.FORMAT_ALONE)
    if fmt == "bzip2":
        return bz2.compress(data)
    if fmt == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)
    if fmt == "lz4":
        return _lz4_legacy(data, lz4_block_size)
    if fmt == "lz4-frame":
        import lz4.frame

        return lz4.frame.compress(data)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


_MODULE_DIRS = {
    "virtio_blk": "drivers/block",
    "virtio_net": "drivers/net",
    "virtio_scsi": "drivers/scsi",
    "ext4": "fs/ext4",
    "e1000": "drivers/net/ethernet/intel/e1000",
    "ata_piix": "drivers/ata",
}


def module_path(name: str, kver: str = "6.1.0-50-amd64", suffix: str = ".ko") -> str:
    """Where initramfs-tools puts module ``name`` (``usr/lib/modules/KVER/kernel/...``)."""
    folder = _MODULE_DIRS.get(name, "drivers/virtio")
    return f"usr/lib/modules/{kver}/kernel/{folder}/{name}{suffix}"


def build_early_cpio() -> bytes:
    """The uncompressed early archive with CPU microcode that precedes the main one."""
    return build_cpio(
        {
            "kernel/x86/microcode/GenuineIntel.bin": b"\x01\x00\x00\x00" * 64,
            "kernel/x86/microcode/AuthenticAMD.bin": b"\x02\x00\x00\x00" * 32,
        }
    )


def build_initrd(
    modules: Iterable[str] = ("virtio", "virtio_blk"),
    fmt: str = "gzip",
    early: bool = False,
    kver: str = "6.1.0-50-amd64",
    crc: bool = False,
    suffix: str = ".ko",
) -> bytes:
    """A whole image: a small root with ``modules`` under ``usr/lib/modules/KVER``.

    ``fmt="cpio"`` leaves it uncompressed; ``early=True`` puts the microcode
    archive in front, as dracut and initramfs-tools do on x86.
    """
    files = {
        "init": b"#!/bin/sh\nexec /sbin/init\n",
        "bin/busybox": b"\x7fELF" + b"\x00" * 60,
        f"usr/lib/modules/{kver}/modules.dep": b"",
    }
    for name in modules:
        files[module_path(name, kver, suffix)] = b"\x7fELF" + name.encode()
    main = build_cpio(files, crc=crc)
    if fmt != "cpio":
        main = compress(main, fmt)
    return (build_early_cpio() if early else b"") + main


def build_ext2_initrd(
    tmp_path: Path,
    files: Mapping[str, bytes],
    block_size: int = 1024,
    compressed: bool = True,
    size_kib: Optional[int] = None,
) -> bytes:
    """A RHEL 3-style initrd: an ext2 file system of ``files``, gzip-compressed.

    Made with ``mke2fs -t ext2 -d DIR`` (no root, no mount). Callers skip
    when ``MKE2FS`` is None.
    """
    if MKE2FS is None:
        raise RuntimeError("mke2fs is not installed")
    tree = Path(tmp_path) / "ext2-tree"
    tree.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        dest = tree / path.strip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    if size_kib is None:
        payload = sum(len(d) for d in files.values()) + 512 * len(files)
        size_kib = max(1024, 2 * payload // 1024 + 512)
    image = Path(tmp_path) / "ext2.img"
    if image.exists():
        image.unlink()
    subprocess.run(
        [MKE2FS, "-q", "-F", "-t", "ext2", "-b", str(block_size), "-N", str(2 * len(files) + 64),
         "-d", str(tree), str(image), f"{size_kib}k"],
        check=True,
        capture_output=True,
        env={**os.environ, "E2FSPROGS_FAKE_TIME": "1"},
    )  # fmt: skip
    data = image.read_bytes()
    return gzip.compress(data, mtime=0) if compressed else data


class _LegacyLz4Writer:
    """Streams the kernel's legacy lz4 frame (magic, then length + block)."""

    def __init__(self, out: BinaryIO) -> None:
        import lz4.block

        self._block = lz4.block
        self._out = out
        self._pending = bytearray()
        out.write(LZ4_LEGACY_MAGIC)

    def write(self, data: bytes) -> None:
        self._pending += data
        while len(self._pending) >= 8 << 20:
            self._emit(bytes(self._pending[: 8 << 20]))
            del self._pending[: 8 << 20]

    def _emit(self, data: bytes) -> None:
        block = self._block.compress(data, store_size=False)
        self._out.write(len(block).to_bytes(4, "little") + block)

    def close(self) -> None:
        if self._pending:
            self._emit(bytes(self._pending))
            self._pending.clear()


class _CompressWriter:
    """A file-like writer that compresses with a stdlib-style compressobj."""

    def __init__(self, out: BinaryIO, fmt: str) -> None:
        self._out = out
        if fmt == "gzip":
            self._c = zlib.compressobj(1, zlib.DEFLATED, 31)
        elif fmt == "zstd":
            import zstandard

            self._c = zstandard.ZstdCompressor(level=1).compressobj()
        elif fmt == "xz":
            self._c = lzma.LZMACompressor(lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, preset=0)
        else:
            raise ValueError(f"write_large_initrd does not stream {fmt!r}")

    def write(self, data: bytes) -> None:
        self._out.write(self._c.compress(data))

    def close(self) -> None:
        self._out.write(self._c.flush())


def write_large_initrd(path: Path, sizes: Mapping[str, int], fmt: str = "gzip") -> int:
    """Stream an image with members of the given sizes to ``path``; returns the cpio size.

    The data is a repeated pseudo-random 64 KiB block, so it compresses fast
    but is not all zeros. Nothing of the size of the archive is ever held.
    """
    pattern = (bytes(range(256)) * 256)[: 1 << 16]
    pattern = bytes(b ^ ((i * 2654435761) >> 13 & 0xFF) for i, b in enumerate(pattern))
    block = pattern * 16
    total = 0
    with open(path, "wb") as fh:
        writer = _LegacyLz4Writer(fh) if fmt == "lz4" else _CompressWriter(fh, fmt)
        ino = 1
        for name, size in sizes.items():
            head = cpio_entry(name, b"", S_IFREG | 0o644, ino)
            # Patch the size into the empty-member header; the data follows in pieces.
            head = head[:54] + b"%08X" % size + head[62:]
            writer.write(head)
            total += len(head)
            left = size
            while left:
                n = min(left, len(block))
                writer.write(block if n == len(block) else block[:n])
                left -= n
            writer.write(b"\x00" * (-size & 3))
            total += size + (-size & 3)
            ino += 1
        tail = cpio_entry("TRAILER!!!", b"", 0, 0)
        writer.write(tail)
        writer.close()
    return total + len(tail)


def zstd_zero_bomb(total: int, head: bytes = b"") -> bytes:
    """One zstd frame of ``head`` (a raw block) then ``total`` zeros as RLE blocks.

    Each 4-byte RLE block stands for 128 KiB (RFC 8878 section 3.1.1.2), so
    20 GiB of zeros take about 640 KB: the shape of a real zstd bomb.
    """
    block = 128 << 10
    assert len(head) <= block and total % block == 0 and total
    header = b"\x28\xb5\x2f\xfd" + bytes([0x00, 7 << 3])  # no content size, 128 KiB window
    raw = (len(head) << 3).to_bytes(3, "little") + head if head else b""
    rle = (1 << 1) | (block << 3)  # not last, RLE, 128 KiB of the next byte
    body = (rle.to_bytes(3, "little") + b"\x00") * (total // block - 1)
    return header + raw + body + (rle | 1).to_bytes(3, "little") + b"\x00"


def gzip_zero_bomb(total: int, head: bytes = b"") -> bytes:
    """A gzip member of ``head`` then ``total`` zeros (a multiple of 1 MiB).

    One 1 MiB block of zeros is deflated once with a full flush (byte-aligned,
    no history), so the same ~1 KB repeats; the CRC is computed over the zeros
    chunk by chunk, so the member is valid to its trailer.
    """
    mib = 1 << 20
    assert total % mib == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH) if head else b""
    zeros = b"\x00" * mib
    piece = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    for _ in range(total // mib):
        crc = zlib.crc32(zeros, crc)
    size = (len(head) + total) & 0xFFFFFFFF
    trailer = crc.to_bytes(4, "little") + size.to_bytes(4, "little")
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + first + piece * (total // mib) + b"\x03\x00" + trailer  # final empty block
