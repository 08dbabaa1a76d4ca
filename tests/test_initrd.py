"""The initrd reader: every format, segment layout, failure, and its memory bound."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import os
import re
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from initrd_factory import (
    LZOP_HEADER,
    MKE2FS,
    build_cpio,
    build_early_cpio,
    build_ext2_initrd,
    build_initrd,
    compress,
    cpio_entry,
    module_path,
    write_large_initrd,
)

from virtio_wizard.initrd import (
    InitrdError,
    InitrdInfo,
    format_name,
    inspect_initrd,
    iter_members,
    iter_names,
    module_name,
    read_initrd,
)
from virtio_wizard.initrd import ext2 as ext2_mod
from virtio_wizard.targets import LocalTarget

SEED = ("virtio", "virtio_blk", "virtio_net", "virtio_pci", "virtio_ring")
needs_mke2fs = pytest.mark.skipif(MKE2FS is None, reason="mke2fs (e2fsprogs) is not installed")


def guest(tmp_path: Path, images: dict[str, bytes]) -> LocalTarget:
    """A guest root with the given files under it."""
    root = tmp_path / "root"
    for path, data in images.items():
        dest = root / path.strip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    root.mkdir(exist_ok=True)
    return LocalTarget(str(root))


def read(data: bytes) -> InitrdInfo:
    return read_initrd(io.BytesIO(data), "/boot/initrd.img")


def names(data: bytes) -> list[str]:
    return list(iter_names(io.BytesIO(data)))


def failure(data: bytes) -> str:
    """The InitrdError message iter_names gives, checking inspect agrees."""
    with pytest.raises(InitrdError) as caught:
        names(data)
    info = read(data)
    assert info.virtio is None and info.modules is None
    assert info.error == str(caught.value)
    return str(caught.value)


# ---- formats ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["cpio", "gzip", "xz", "lzma", "bzip2", "zstd", "lz4"])
def test_each_compression_lists_the_virtio_modules(tmp_path: Path, fmt: str) -> None:
    image = build_initrd(SEED + ("ext4", "e1000"), fmt=fmt)
    target = guest(tmp_path, {"/boot/initrd.img-6.1.0-50-amd64": image})
    info = inspect_initrd(target, "/boot/initrd.img-6.1.0-50-amd64")
    assert info.error is None
    assert info.format == fmt
    assert info.virtio == tuple(sorted(SEED))
    assert info.modules == tuple(sorted(SEED + ("ext4", "e1000")))
    assert info.path == "/boot/initrd.img-6.1.0-50-amd64"
    # init, busybox, modules.dep, 7 modules, and their folders
    assert info.entries == len(names(image))
    assert info.entries > 10


def test_lz4_modern_frame_is_read_too() -> None:
    image = compress(build_cpio({module_path("virtio_net"): b"x"}), "lz4-frame")
    info = read(image)
    assert (info.format, info.virtio, info.error) == ("lz4", ("virtio_net",), None)


def test_legacy_lz4_with_many_blocks_and_a_repeated_magic() -> None:
    archive = build_cpio({module_path("virtio"): os.urandom(200_000), "init": b"x"})
    image = compress(archive, "lz4", lz4_block_size=65536)
    info = read(image)
    assert (info.format, info.virtio, info.error) == ("lz4", ("virtio",), None)
    # Two legacy streams glued together: the kernel skips the second magic.
    half = len(archive) // 2
    glued = compress(archive[:half], "lz4") + compress(archive[half:], "lz4")
    assert read(glued).virtio == ("virtio",)


def test_crc_archives_are_read() -> None:
    image = build_initrd(SEED, fmt="gzip", crc=True)
    assert gzip.decompress(image).startswith(b"070702")
    assert read(image).virtio == tuple(sorted(SEED))


@pytest.mark.parametrize("fmt", ["gzip", "xz", "zstd", "lz4", "bzip2", "lzma"])
def test_early_microcode_then_compressed_main(fmt: str) -> None:
    image = build_initrd(("virtio_blk",), fmt=fmt, early=True)
    assert image.startswith(b"070701")
    info = read(image)
    assert info.format == f"early+{fmt}"
    assert info.virtio == ("virtio_blk",)
    listed = names(image)
    assert listed[:2] == ["kernel", "kernel/x86"]
    assert "kernel/x86/microcode/GenuineIntel.bin" in listed
    assert module_path("virtio_blk") in listed


def test_wholly_uncompressed_image_with_early_part_is_cpio() -> None:
    info = read(build_initrd(("virtio",), fmt="cpio", early=True))
    assert (info.format, info.virtio) == ("cpio", ("virtio",))


def test_module_suffixes_and_dashes() -> None:
    files = {
        module_path("virtio-blk", suffix=".ko.xz"): b"x",
        module_path("virtio_net", suffix=".ko.zst"): b"x",
        module_path("virtio_pci", suffix=".ko.gz"): b"x",
        "lib/modules/2.6.9/kernel/drivers/virtio/virtio_ring.ko": b"x",
    }
    info = read(compress(build_cpio(files), "gzip"))
    assert info.virtio == ("virtio_blk", "virtio_net", "virtio_pci", "virtio_ring")


def test_only_module_files_under_lib_count() -> None:
    files = {
        "etc/virtio.ko": b"x",  # not under lib/
        "virtio_net.ko": b"x",  # top level
        "usr/lib/modules/k/virtio_blk.ko.bz3": b"x",  # not a module suffix
        "usr/lib/modules/k/README": b"x",
        "usr/lib/modules/k/virtio_console.ko": b"x",
    }
    info = read(build_cpio(files, symlinks={"lib/modules/k/virtio_pci.ko": "/nowhere"}))
    assert info.modules == ("virtio_console",)
    assert info.virtio == ("virtio_console",)


def test_readable_image_without_virtio_gives_empty_tuple() -> None:
    info = read(build_initrd(("ext4", "ata_piix"), fmt="gzip"))
    assert info.virtio == ()
    assert info.modules == ("ata_piix", "ext4")
    assert info.error is None


def test_module_name() -> None:
    assert module_name("lib/virtio.o") == "virtio"
    assert module_name("/lib/modules/2.4.21-57.EL/kernel/drivers/block/virtio_blk.o") == (
        "virtio_blk"
    )
    assert module_name("./usr/lib/modules/6.1/virtio-net.ko") == "virtio_net"
    assert module_name("virtio.ko") is None
    assert module_name("usr/share/virtio.ko") is None
    assert module_name("usr/lib/modules/6.1/modules.dep") is None


def test_format_name() -> None:
    assert format_name([]) == "unknown"
    assert format_name(["cpio"]) == "cpio"
    assert format_name(["cpio", "cpio"]) == "cpio"
    assert format_name(["cpio", "gzip"]) == "early+gzip"
    assert format_name(["gzip", "gzip"]) == "gzip"
    assert format_name(["gzip", "xz"]) == "gzip+xz"
    assert format_name(["ext2"]) == "ext2"


# ---- several segments ----------------------------------------------------------


def test_concatenated_compressed_archives_with_padding_between() -> None:
    first = compress(build_cpio({module_path("virtio"): b"a"}), "gzip")
    second = compress(build_cpio({module_path("virtio_blk"): b"b"}), "gzip")
    image = first + b"\x00" * 512 + second
    info = read(image)
    assert (info.format, info.virtio) == ("gzip", ("virtio", "virtio_blk"))


def test_mixed_compressions_are_named_in_order() -> None:
    image = (
        build_early_cpio()
        + compress(build_cpio({module_path("virtio"): b"a"}), "xz")
        + compress(build_cpio({module_path("virtio_net"): b"b"}), "zstd")
    )
    info = read(image)
    assert (info.format, info.virtio) == ("early+xz+zstd", ("virtio", "virtio_net"))


def test_several_archives_inside_one_compressed_stream() -> None:
    one = build_cpio({module_path("virtio"): b"a"})
    two = build_cpio({module_path("virtio_pci"): b"b"})
    info = read(compress(one + b"\x00" * 508 + two, "gzip"))
    assert info.virtio == ("virtio", "virtio_pci")


@pytest.mark.parametrize("fmt", ["bzip2", "zstd", "gzip", "xz"])
def test_archive_split_across_consecutive_streams(fmt: str) -> None:
    """pbzip2 and pzstd write several streams; an archive may span them."""
    archive = build_cpio({module_path(m): os.urandom(3000) for m in SEED})
    cut = len(archive) // 3
    image = compress(archive[:cut], fmt) + compress(archive[cut:], fmt)
    info = read(image)
    assert (info.format, info.virtio, info.error) == (fmt, tuple(sorted(SEED)), None)


def test_several_early_archives() -> None:
    image = build_early_cpio() + build_early_cpio() + build_initrd(("virtio",), fmt="gzip")
    info = read(image)
    assert (info.format, info.virtio) == ("early+gzip", ("virtio",))


# ---- ext2 (2.4-kernel) images ---------------------------------------------------

RHEL3_FILES = {
    "linuxrc": b"#!/bin/nash\ninsmod /lib/virtio.o\n",
    "bin/nash": b"\x7fELF" + b"\x01" * 40_000,
    "lib/virtio.o": b"\x7fELF virtio",
    "lib/virtio_ring.o": b"\x7fELF ring",
    "lib/virtio_blk.o": b"\x7fELF blk",
    "lib/jbd.o": b"\x7fELF jbd",
    "etc/fstab": b"",
}


@needs_mke2fs
@pytest.mark.parametrize("block_size", [1024, 4096])
def test_gzip_ext2_initrd_of_rhel3(tmp_path: Path, block_size: int) -> None:
    image = build_ext2_initrd(tmp_path, RHEL3_FILES, block_size=block_size)
    target = guest(tmp_path, {"/boot/initrd-2.4.21-57.EL.img": image})
    info = inspect_initrd(target, "/boot/initrd-2.4.21-57.EL.img")
    assert info.error is None
    assert info.format == "ext2"
    assert info.virtio == ("virtio", "virtio_blk", "virtio_ring")
    assert info.modules == ("jbd", "virtio", "virtio_blk", "virtio_ring")
    listed = set(names(image))
    assert set(RHEL3_FILES) <= listed
    assert {"bin", "lib", "etc", "lost+found"} <= listed


@needs_mke2fs
def test_uncompressed_ext2_image(tmp_path: Path) -> None:
    image = build_ext2_initrd(tmp_path, RHEL3_FILES, compressed=False)
    info = read(image)
    assert (info.format, info.virtio) == ("ext2", ("virtio", "virtio_blk", "virtio_ring"))


@needs_mke2fs
def test_ext2_big_folder_uses_indirect_blocks(tmp_path: Path) -> None:
    """1100 names of 200 characters fill ~290 blocks of 1 KiB: double indirect."""
    files = {f"lib/{i:04d}{'x' * 196}": b"" for i in range(1100)}
    files["lib/virtio_net.o"] = b"net"
    image = build_ext2_initrd(tmp_path, files, size_kib=4096)
    listed = names(image)
    assert set(files) <= set(listed)
    assert len(listed) == len(set(listed))
    assert read(image).virtio == ("virtio_net",)


@needs_mke2fs
def test_ext2_image_beyond_the_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = build_ext2_initrd(tmp_path, RHEL3_FILES)
    monkeypatch.setattr(ext2_mod, "MAX_IMAGE_BYTES", 256 << 10)
    info = read(image)
    assert info.format == "ext2"
    assert info.error == "the ext2 image is larger than 256 KiB"


@needs_mke2fs
def test_corrupt_ext2_superblock(tmp_path: Path) -> None:
    raw = bytearray(build_ext2_initrd(tmp_path, RHEL3_FILES, compressed=False))
    raw[1024 + 40 : 1024 + 44] = b"\x00\x00\x00\x00"  # inodes per group
    assert failure(gzip.compress(bytes(raw))) == "the ext2 superblock is corrupt"


@needs_mke2fs
def test_corrupt_ext2_inode_table_pointer(tmp_path: Path) -> None:
    raw = bytearray(build_ext2_initrd(tmp_path, RHEL3_FILES, compressed=False))
    gdt = 2048  # 1 KiB blocks: group descriptors in block 2
    raw[gdt + 8 : gdt + 12] = (10**6).to_bytes(4, "little")
    assert "out of range" in failure(bytes(raw))


@needs_mke2fs
def test_corrupt_ext2_directory_entry(tmp_path: Path) -> None:
    raw = bytearray(build_ext2_initrd(tmp_path, {"lib/virtio.o": b"x"}, compressed=False))
    # Find the root folder's block (its first entry is "." with inode 2) and break rec_len.
    pos = raw.find(b"\x02\x00\x00\x00\x0c\x00\x01\x02.\x00\x00\x00")
    assert pos > 0
    raw[pos + 4 : pos + 6] = b"\x03\x00"
    assert failure(bytes(raw)) == "the ext2 image is corrupt (bad directory entry)"


@needs_mke2fs
def test_ext2_with_unknown_features_is_refused(tmp_path: Path) -> None:
    raw = bytearray(build_ext2_initrd(tmp_path, RHEL3_FILES, compressed=False))
    raw[1024 + 96 : 1024 + 100] = (0x40 | 0x2).to_bytes(4, "little")  # extents
    assert "features this reader does not know (0x42)" in failure(bytes(raw))


def _root_inode_offset(raw: bytes) -> int:
    """Where inode 2 (the root folder) sits in an image with 1 KiB blocks."""
    table = int.from_bytes(raw[2048 + 8 : 2048 + 12], "little")
    inode_size = int.from_bytes(raw[1024 + 88 : 1024 + 90], "little")
    return table * 1024 + inode_size


@needs_mke2fs
def test_ext2_root_that_is_not_a_folder(tmp_path: Path) -> None:
    raw = bytearray(build_ext2_initrd(tmp_path, RHEL3_FILES, compressed=False))
    at = _root_inode_offset(raw)
    raw[at : at + 2] = (0o100644).to_bytes(2, "little")
    assert failure(bytes(raw)) == "the ext2 image is corrupt (the root is not a folder)"


@needs_mke2fs
def test_ext2_folder_larger_than_the_image(tmp_path: Path) -> None:
    raw = bytearray(build_ext2_initrd(tmp_path, RHEL3_FILES, compressed=False))
    at = _root_inode_offset(raw)
    raw[at + 4 : at + 8] = (0xFFFFFF00).to_bytes(4, "little")
    assert failure(bytes(raw)) == ("the ext2 image is corrupt (a folder larger than the image)")


@needs_mke2fs
def test_ext2_bad_inode_size(tmp_path: Path) -> None:
    raw = bytearray(build_ext2_initrd(tmp_path, RHEL3_FILES, compressed=False))
    raw[1024 + 88 : 1024 + 90] = (100).to_bytes(2, "little")
    assert failure(bytes(raw)) == "the ext2 inode size 100 is invalid"


def test_truncated_ext2_superblock() -> None:
    head = bytearray(1082)
    head[1080:1082] = b"\x53\xef"
    assert failure(gzip.compress(bytes(head))) == (
        "the ext2 image is truncated inside its superblock"
    )


# ---- failures --------------------------------------------------------------------


def test_lzo_is_recognised_but_not_read() -> None:
    info = read(LZOP_HEADER + b"\x00" * 100)
    assert info.format == "lzo"
    assert info.error == "no lzo decompressor available"
    assert info.virtio is None
    early = read(build_early_cpio() + LZOP_HEADER)
    assert (early.format, early.error) == ("early+lzo", "no lzo decompressor available")


@pytest.mark.parametrize(
    ("fmt", "module", "package"),
    [
        ("zstd", "zstandard", "zstandard"),
        ("lz4", "lz4.block", "lz4"),
        ("lz4-frame", "lz4.frame", "lz4"),
    ],
)
def test_missing_optional_library_is_an_error_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, fmt: str, module: str, package: str
) -> None:
    image = compress(build_cpio({module_path("virtio"): b"x"}), fmt)
    monkeypatch.setitem(sys.modules, module, None)
    # Where the standard library's API reads zstd (3.14+, or backports.zstd installed),
    # only an install without it would miss.
    monkeypatch.setitem(sys.modules, "compression.zstd", None)
    monkeypatch.setitem(sys.modules, "backports.zstd", None)
    info = read(image)
    shown = "lz4" if fmt == "lz4-frame" else fmt
    assert info.format == shown
    assert info.error == (
        f"this is a {shown} image, but the Python package {package} is not installed"
    )
    assert info.virtio is None


def test_empty_file(tmp_path: Path) -> None:
    assert failure(b"") == "the image is empty"
    target = guest(tmp_path, {"/boot/initrd.img": b""})
    info = inspect_initrd(target, "/boot/initrd.img")
    assert (info.format, info.error, info.entries) == ("unknown", "the image is empty", 0)


def test_only_zero_bytes() -> None:
    assert failure(b"\x00" * 5000) == "the image holds only zero bytes"


def test_garbage_is_unknown_format() -> None:
    info = read(b"\x7fELF" + b"\x01" * 3000)
    assert info.format == "unknown"
    assert info.error == "unknown image format (it starts with 7f 45 4c 46)"


def test_garbage_after_a_good_segment() -> None:
    image = build_initrd(("virtio",), fmt="gzip") + b"JUNKJUNK"
    info = read(image)
    assert info.format == "gzip"
    assert info.error is not None and info.error.startswith("unknown data at offset ")
    assert info.entries > 0  # the members before the junk were read


@pytest.mark.parametrize("fmt", ["gzip", "xz", "lzma", "bzip2", "zstd", "lz4", "lz4-frame"])
def test_truncated_compressed_stream(fmt: str) -> None:
    archive = build_cpio({module_path(m): os.urandom(20_000) for m in SEED})
    image = compress(archive, fmt)[: -max(40, len(archive) // 50)]
    message = failure(image)
    assert "truncated" in message
    assert read(image).format == ("lz4" if fmt == "lz4-frame" else fmt)


def test_truncated_uncompressed_archive_at_every_kind_of_place() -> None:
    archive = build_cpio({"init": b"#!/bin/sh\n" * 10})
    # inside the first header, inside a name, inside file data, before the trailer
    assert failure(archive[:50]) == "the cpio archive is truncated inside a header"
    assert failure(archive[:112]) == "the cpio archive is truncated inside a name"
    assert failure(archive[:130]) == "the cpio archive is truncated inside init"
    no_trailer = build_cpio({"init": b"x"}, trailer=False)
    assert failure(no_trailer) == "the cpio archive ends without its TRAILER!!! entry"
    assert failure(compress(no_trailer, "gzip")) == (
        "the cpio archive ends without its TRAILER!!! entry"
    )


def test_corrupt_gzip_data() -> None:
    image = bytearray(compress(build_cpio({module_path("virtio"): os.urandom(5000)}), "gzip"))
    image[100:140] = b"\xff" * 40
    message = failure(bytes(image))
    assert message.startswith("the gzip data is corrupt (")


@pytest.mark.parametrize("fmt", ["xz", "bzip2", "zstd", "lz4"])
def test_corrupt_compressed_data(fmt: str) -> None:
    image = bytearray(compress(build_cpio({module_path("virtio"): os.urandom(5000)}), fmt))
    image[40:80] = b"\xa5" * 40
    message = failure(bytes(image))
    assert message.startswith(f"the {fmt} data is ") and message.endswith((")", "truncated"))


def test_zstd_frame_with_reserved_bit(zstd_library: str) -> None:
    image = bytearray(compress(build_cpio({"init": b"x"}), "zstd"))
    image[4] |= 0x08
    error = failure(bytes(image))
    assert error.startswith("the zstd data is corrupt (")
    if zstd_library == "zstandard":  # the block walk's own words
        assert error == "the zstd data is corrupt (reserved frame header bit set)"


def test_zstd_block_of_reserved_type(zstd_library: str) -> None:
    image = bytearray(compress(build_cpio({"init": b"x"}), "zstd"))
    descriptor = image[4]
    header = 5 + (0 if descriptor & 0x20 else 1) + (0, 1, 2, 4)[descriptor & 3]
    header += (1 if descriptor & 0x20 else 0, 2, 4, 8)[descriptor >> 6]
    image[header] |= 0x06  # block type 3 (reserved)
    error = failure(bytes(image))
    assert error.startswith("the zstd data is corrupt (")
    if zstd_library == "zstandard":
        assert error == f"the zstd data is corrupt (bad block header at offset {header})"


def test_bad_header_digits() -> None:
    entry = bytearray(cpio_entry("init", b"x"))
    entry[60] = ord("Z")  # inside the file size field
    assert failure(bytes(entry)) == "bad cpio header at offset 0 of the archive data"


def test_unsupported_odc_cpio_header() -> None:
    assert failure(b"070707" + b"0" * 200) == "bad cpio header at offset 0 of the archive data"


def test_absurd_name_size() -> None:
    entry = bytearray(cpio_entry("init", b"x"))
    entry[94:102] = b"7FFFFFFF"
    assert failure(bytes(entry)) == "cpio name size 2147483647 at offset 0 is out of range"
    entry[94:102] = b"00000000"
    assert failure(bytes(entry)) == "cpio name size 0 at offset 0 is out of range"


def test_name_without_nul() -> None:
    entry = bytearray(cpio_entry("init", b"x"))
    entry[110 + 4] = ord("X")  # the NUL after "init"
    assert failure(bytes(entry)) == "the cpio name at offset 0 does not end in a NUL byte"


def test_huge_file_size_is_a_truncation_not_an_allocation() -> None:
    entry = bytearray(cpio_entry("init", b"x"))
    entry[54:62] = b"FFFFFFFF"
    tracemalloc.start()
    try:
        assert failure(bytes(entry)) == "the cpio archive is truncated inside init"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


def test_junk_inside_compressed_stream_after_trailer() -> None:
    image = compress(build_cpio({"init": b"x"}) + b"hello", "gzip")
    assert failure(image).startswith("junk within the gzip data at offset ")


def test_missing_folder_and_fifo_images(tmp_path: Path) -> None:
    target = guest(tmp_path, {"/boot/keep": b""})
    missing = inspect_initrd(target, "/boot/initrd-2.6.18.img")
    assert missing.format == "unknown" and missing.virtio is None
    assert missing.error == "cannot read /boot/initrd-2.6.18.img: No such file or directory"
    folder = inspect_initrd(target, "/boot")
    assert folder.error == "cannot read /boot: not a regular file"
    os.mkfifo(tmp_path / "root/boot/fifo.img")
    fifo = inspect_initrd(target, "/boot/fifo.img")
    assert fifo.error == "cannot read /boot/fifo.img: not a regular file"


def test_symlinked_image_is_followed_inside_the_root(tmp_path: Path) -> None:
    target = guest(tmp_path, {"/boot/initrd-real.img": build_initrd(("virtio_net",))})
    os.symlink("/boot/initrd-real.img", tmp_path / "root/boot/initrd.img")
    assert inspect_initrd(target, "/boot/initrd.img").virtio == ("virtio_net",)


class _FailingStream(io.RawIOBase):
    """A stream that gives some bytes, then fails with ``exc``."""

    def __init__(self, data: bytes, exc: BaseException) -> None:
        self._data = data
        self._exc = exc

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._data:
            data, self._data = self._data, b""
            return data
        raise self._exc


def test_read_error_midway_is_reported() -> None:
    stream = _FailingStream(build_early_cpio(), OSError(5, "Input/output error"))
    info = read_initrd(stream, "/boot/x")
    assert info.format == "cpio"
    assert info.error == "reading failed: Input/output error"


def test_any_unexpected_exception_is_reported_not_raised() -> None:
    stream = _FailingStream(b"", RuntimeError("boom"))
    info = read_initrd(stream, "/boot/x")
    assert info.error == "unexpected error while reading the image: RuntimeError: boom"


def test_target_that_fails_to_open() -> None:
    class Broken:
        def open_binary(self, path: str) -> object:
            raise RuntimeError("connection lost")

    info = inspect_initrd(Broken(), "/boot/x")  # type: ignore[arg-type]
    assert info == InitrdInfo(
        "/boot/x", "unknown", None, None, "cannot read /boot/x: connection lost"
    )


def test_iter_members_gives_modes() -> None:
    image = build_cpio({"bin/sh": b"x"}, symlinks={"sh": "bin/sh"})
    kinds = {m.name: m.is_file for m in iter_members(io.BytesIO(image))}
    assert kinds == {"bin": False, "bin/sh": True, "sh": False}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_images_never_crash(data: st.DataObject) -> None:
    fmt = data.draw(st.sampled_from(["cpio", "gzip", "xz", "zstd", "lz4", "bzip2"]))
    image = bytearray(
        build_initrd(("virtio", "virtio_blk"), fmt=fmt, early=data.draw(st.booleans()))
    )
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(image) - 1))
        image[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(image)))
    mutated = bytes(image[:cut])
    info = read(mutated)
    assert isinstance(info, InitrdInfo)
    assert (info.error is None) == (info.virtio is not None)
    with contextlib.suppress(InitrdError):
        names(mutated)


# ---- agreement with real tools ---------------------------------------------------


@pytest.mark.skipif(shutil.which("cpio") is None, reason="GNU cpio is not installed")
def test_names_match_cpio_t(tmp_path: Path) -> None:
    files = {module_path(m): os.urandom(n) for m, n in zip(SEED, (1, 2, 3, 4, 4097))}
    files["usr/share/naïve-ünïcode"] = b"u"
    files["etc/empty"] = b""
    image = build_cpio(files, symlinks={"lib": "usr/lib", "bin/sh": "busybox"})
    expected = (
        subprocess.run(["cpio", "-t", "--quiet"], input=image, capture_output=True, check=True)
        .stdout.decode("utf-8")
        .splitlines()
    )
    assert names(image) == expected
    assert names(compress(image, "gzip")) == expected


REAL_TOOLS = {
    "gzip": ["gzip", "-9", "-n", "-c"],
    "xz": ["xz", "--check=crc32", "-c"],
    "lzma": ["lzma", "-c"],
    "bzip2": ["bzip2", "-c"],
    "zstd": ["zstd", "-q", "-c", "-19"],
    "lz4": ["lz4", "-l", "-q", "-c"],
}


@pytest.mark.parametrize("fmt", sorted(REAL_TOOLS))
def test_images_made_by_the_real_compressors(fmt: str) -> None:
    argv = REAL_TOOLS[fmt]
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed")
    archive = build_cpio({module_path(m): os.urandom(9000) for m in SEED})
    image = subprocess.run(argv, input=archive, capture_output=True, check=True).stdout
    info = read(build_early_cpio() + image)
    assert (info.format, info.virtio, info.error) == (f"early+{fmt}", tuple(sorted(SEED)), None)


# ---- memory ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["gzip", "zstd", "lz4"])
def test_a_130_mb_archive_is_streamed(tmp_path: Path, fmt: str) -> None:
    sizes = {
        "usr/lib/firmware/big-1.bin": 48 << 20,
        "usr/lib/firmware/big-2.bin": 48 << 20,
        "usr/lib/firmware/big-3.bin": 34 << 20,
        module_path("virtio_blk"): 12345,
    }
    path = tmp_path / f"big.{fmt}"
    total = write_large_initrd(path, sizes, fmt)
    assert total > 130 << 20
    tracemalloc.start()
    try:
        with open(path, "rb") as fh:
            info = read_initrd(fh, "/boot/big")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (info.error, info.virtio) == (None, ("virtio_blk",))
    # Other formats step by 1 MiB. A legacy lz4 block is up to 8 MiB: its
    # compressed bytes, lz4's working buffer and the result are each that big.
    assert peak < (40 << 20 if fmt == "lz4" else 8 << 20), peak


def test_zstd_rle_bomb_stays_bounded() -> None:
    """zstd turns 64 MiB of zeros into a few KiB; output must still come in bounded steps."""
    zeros = 64 << 20
    archive_head = cpio_entry("big", b"")
    archive_head = archive_head[:54] + b"%08X" % zeros + archive_head[62:]
    import zstandard

    c = zstandard.ZstdCompressor(level=1).compressobj()
    image = c.compress(archive_head)
    chunk = b"\x00" * (1 << 20)
    for _ in range(zeros >> 20):
        image += c.compress(chunk)
    image += c.compress(cpio_entry("TRAILER!!!", b"", 0, 0)) + c.flush()
    assert len(image) < 1 << 20
    tracemalloc.start()
    try:
        info = read(image)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (info.error, info.entries) == (None, 1)
    assert peak < 8 << 20, peak


def test_bzip2_multistream_from_pbzip2_style_writer() -> None:
    archive = build_cpio({module_path("virtio"): b"v" * 100})
    streams = b"".join(bz2.compress(archive[i : i + 50]) for i in range(0, len(archive), 50))
    assert read(streams).virtio == ("virtio",)


# ---- which library inflates: the fast or standard one, the fallback ---------------


def _library(module: str):
    """A decompressor module the test extra installs; a missing one fails under CI."""
    if os.environ.get("CI") == "true":
        return __import__(module, fromlist=["_"])
    return pytest.importorskip(module)


@pytest.fixture(params=["isal", "zlib"])
def gzip_library(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """gzip through python-isal's igzip (the ``fast`` extra) or the stdlib fallback."""
    if request.param == "zlib":
        monkeypatch.setitem(sys.modules, "isal.igzip_lib", None)
    else:
        _library("isal.igzip_lib")
    return request.param


@pytest.fixture(params=["compression.zstd", "backports.zstd", "zstandard"])
def zstd_library(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """zstd through the stdlib's API (3.14+; ``backports.zstd`` before) or ``zstandard``."""
    if request.param != "compression.zstd":
        monkeypatch.setitem(sys.modules, "compression.zstd", None)
    if request.param == "zstandard":
        monkeypatch.setitem(sys.modules, "backports.zstd", None)
    elif request.param == "backports.zstd":
        _library("backports.zstd")
    elif sys.version_info < (3, 14):
        monkeypatch.setitem(sys.modules, "compression.zstd", _library("backports.zstd"))
    return request.param


def _counting(monkeypatch: pytest.MonkeyPatch, module: str, cls: str) -> list[int]:
    """Count the decompressor objects made from ``module.cls`` (proof of which library ran)."""
    real = __import__(module, fromlist=["_"])
    made: list[int] = []
    original = getattr(real, cls)

    def counted(*args, **kwargs):
        made.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(real, cls, counted)
    return made


def test_gzip_is_inflated_by_the_chosen_library(
    gzip_library: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if gzip_library == "isal":
        made = _counting(monkeypatch, "isal.igzip_lib", "IgzipDecompressor")
    else:
        made = _counting(monkeypatch, "zlib", "decompressobj")
    info = read(build_initrd(SEED, fmt="gzip"))
    assert (info.format, info.virtio, info.error) == ("gzip", tuple(sorted(SEED)), None)
    assert made == [1]


def test_zstd_is_read_by_the_chosen_library(
    zstd_library: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if zstd_library in ("zstandard", "backports.zstd"):
        made = _counting(monkeypatch, zstd_library, "ZstdDecompressor")
    else:
        made = _counting(monkeypatch, sys.modules["compression.zstd"].__name__, "ZstdDecompressor")
    info = read(build_initrd(SEED, fmt="zstd"))
    assert (info.format, info.virtio, info.error) == ("zstd", tuple(sorted(SEED)), None)
    assert made == [1]


def _same_behaviour(fmt: str) -> None:
    """What every library must agree on: streams in a row, junk, truncation, corruption."""
    archive = build_cpio({module_path(m): os.urandom(3000) for m in SEED})
    cut = len(archive) // 3
    split = compress(archive[:cut], fmt) + compress(archive[cut:], fmt)
    assert (read(split).virtio, read(split).error) == (tuple(sorted(SEED)), None)
    whole = compress(archive, fmt)
    early = read(build_early_cpio() + whole)
    assert (early.format, early.virtio) == (f"early+{fmt}", tuple(sorted(SEED)))
    junk = read(whole + b"JUNKJUNK")
    assert junk.error is not None and junk.error.startswith("unknown data at offset ")
    assert "truncated" in failure(whole[: -len(whole) // 5])
    bad = bytearray(whole)
    bad[len(bad) // 2 : len(bad) // 2 + 64] = b"\xa5" * 64
    assert failure(bytes(bad)).startswith(f"the {fmt} data is ")


def test_gzip_libraries_behave_alike(gzip_library: str) -> None:
    _same_behaviour("gzip")


def test_zstd_libraries_behave_alike(zstd_library: str) -> None:
    _same_behaviour("zstd")


def test_zstd_bomb_stays_bounded_with_the_stdlib_api(zstd_library: str) -> None:
    """``compression.zstd`` bounds each call's output itself (no block walk needed)."""
    zeros = 32 << 20
    head = cpio_entry("big", b"")
    head = head[:54] + b"%08X" % zeros + head[62:]
    import zstandard

    c = zstandard.ZstdCompressor(level=1).compressobj()
    image = c.compress(head)
    for _ in range(zeros >> 20):
        image += c.compress(b"\x00" * (1 << 20))
    image += c.compress(cpio_entry("TRAILER!!!", b"", 0, 0)) + c.flush()
    tracemalloc.start()
    try:
        info = read(image)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (info.error, info.entries) == (None, 1)
    assert peak < 8 << 20, peak


def test_default_compressions_are_read_by_regular_dependencies() -> None:
    """Issue 11.12: a plain ``pip install .`` reads every supported distro's default.

    zstd (Debian 12, Ubuntu, Fedora), lz4 (some Ubuntu releases) and gzip's
    fast inflate (python-isal, where it has wheels) come with the package;
    no extra is needed for them.
    """
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    deps = {re.split(r"[<>=;\s]", d, maxsplit=1)[0]: d for d in project["project"]["dependencies"]}
    assert "python_version < '3.14'" in deps["zstandard"]  # then compression.zstd
    assert "lz4" in deps
    assert "platform_machine == 'x86_64'" in deps["isal"]
    assert "platform_machine == 'aarch64'" in deps["isal"]
    assert not any(project["project"]["optional-dependencies"].get(x) for x in ("fast", "initrd"))
