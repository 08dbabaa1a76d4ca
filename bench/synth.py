"""Synthetic inputs for the benchmarks: module-like initramfs images and guest roots.

The bench must not depend on any particular machine's /boot, so when no
``--image`` is given it builds a comparable one: a gzip newc archive laid out
like Debian 12's initramfs-tools image (about 750 ``.ko`` files averaging
~150 KiB plus a few hundred small files, busybox and libraries), whose bytes
mix incompressible runs with symbol-table-like text and zero padding so that
gzip shrinks it about 3.6x, as it does a real image (128 MB -> 35 MB). The
decompression work per byte, the member count and the compression ratio are
what the reader's speed depends on, so those are what is imitated.

Everything is deterministic (seeded) so two runs read the same bytes.
"""

from __future__ import annotations

import os
import random
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Optional

__all__ = [
    "ImageSpec",
    "VIRTIO_MODULES",
    "image_members",
    "make_pool",
    "write_image",
    "make_root",
]

#: The virtio modules a guest image carries (virtio_ring is built in since 3.x).
VIRTIO_MODULES = ("virtio", "virtio_blk", "virtio_net", "virtio_pci", "virtio_scsi")

_MODULE_DIRS = (
    "drivers/ata",
    "drivers/block",
    "drivers/net/ethernet/intel",
    "drivers/net/ethernet/mellanox",
    "drivers/scsi",
    "drivers/md",
    "drivers/usb/storage",
    "drivers/virtio",
    "fs/ext4",
    "fs/xfs",
    "crypto",
    "lib",
)
_WORDS = [
    "init",
    "exit",
    "probe",
    "remove",
    "device",
    "driver",
    "module",
    "param",
    "queue",
    "request",
    "buffer",
    "dma",
    "irq",
    "mutex",
    "lock",
    "unlock",
    "alloc",
    "free",
    "kmalloc",
    "kfree",
    "pci",
    "bus",
    "scsi",
    "host",
    "ata",
    "port",
    "link",
    "net",
    "skb",
    "napi",
    "poll",
    "config",
    "register",
    "unregister",
    "virtqueue",
    "vring",
    "notify",
    "feature",
    "struct",
    "__this_module",
    "__ksymtab",
    "__kstrtab",
    ".text",
    ".data",
    ".bss",
    ".rodata",
    ".symtab",
    ".strtab",
]


@dataclass(frozen=True)
class ImageSpec:
    """What :func:`write_image` made: sizes and the layout detection will find."""

    path: str
    kver: str
    #: Bytes of the cpio archive (decompressed).
    raw_bytes: int
    #: Bytes of the file (gzip-compressed).
    file_bytes: int
    members: int
    modules: tuple[str, ...]


def make_pool(size: int = 1 << 20, seed: int = 1) -> bytes:
    """A block of module-like bytes: ~8 % of the runs random (code), symbol text, zero padding.

    The mix is tuned so that zlib at level 6 compresses it about 3.6x, the
    ratio of Debian 12's real initramfs.
    """
    rnd = random.Random(seed)
    out = bytearray()
    while len(out) < size:
        kind = rnd.random()
        if kind < 0.08:
            out += rnd.randbytes(rnd.randint(256, 2048))
        elif kind < 0.80:
            words = rnd.choices(_WORDS, k=rnd.randint(32, 512))
            out += "\0".join(f"{w}_{rnd.randint(0, 99)}" for w in words).encode()
        else:
            out += b"\0" * rnd.randint(64, 2048)
    return bytes(out[:size])


def image_members(raw_target: int, kver: str, seed: int = 2) -> list[tuple[str, int]]:
    """(name, size) of each member, summing to about ``raw_target`` bytes.

    Modules get ~82 % of the bytes (as in the real image), the rest goes to
    a few hundred small files and libraries. The virtio modules are always in.
    """
    rnd = random.Random(seed)
    members: list[tuple[str, int]] = [("init", 6560), ("bin/busybox", 2_000_000)]
    budget = raw_target - sum(s for _, s in members)
    other = int(budget * 0.18)
    i = 0
    while other > 0:
        size = max(16, min(other, int(rnd.lognormvariate(9.5, 2.0)) + 16))
        members.append((f"usr/lib/x86_64-linux-gnu/lib{i:04d}.so", size))
        other -= size
        i += 1
    base = f"usr/lib/modules/{kver}/kernel"
    modules = budget - sum(s for _, s in members[2:])
    for name in VIRTIO_MODULES:
        size = rnd.randint(20_000, 120_000)
        members.append((f"{base}/drivers/virtio/{name}.ko", size))
        modules -= size
    j = 0
    while modules > 0:
        size = max(16, min(modules, int(rnd.lognormvariate(11.3, 0.9)) + 2048))
        folder = _MODULE_DIRS[j % len(_MODULE_DIRS)]
        members.append((f"{base}/{folder}/drv_{j:04d}.ko", size))
        modules -= size
        j += 1
    members.append((f"usr/lib/modules/{kver}/modules.dep", 4096))
    return members


def _entry(name: str, size: int, ino: int, mode: int = 0o100644) -> bytes:
    """A newc header and name, padded to 4 (the data and its padding follow)."""
    raw = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(raw), 0)
    head = b"070701" + b"".join(b"%08X" % f for f in fields) + raw
    return head + b"\0" * (-len(head) & 3)


def _write_cpio(out: BinaryIO, members: list[tuple[str, int]], pool: bytes) -> int:
    """Stream the archive through ``out.write``; returns its size."""
    total = 0
    folders: set[str] = set()
    ino = 1
    offset = 0
    for name, size in members:
        parts = name.split("/")[:-1]
        for k in range(1, len(parts) + 1):
            folder = "/".join(parts[:k])
            if folder not in folders:
                folders.add(folder)
                head = _entry(folder, 0, ino, 0o040755)
                out.write(head)
                total += len(head)
                ino += 1
        head = _entry(name, size, ino)
        out.write(head + b"\x7fELF")
        total += len(head) + 4
        left = size - 4
        while left > 0:
            start = offset % (len(pool) - 4096)
            n = min(left, len(pool) - start)
            out.write(pool[start : start + n])
            left -= n
            offset += n + 1237  # shift so that members do not repeat each other
        pad = b"\0" * (-size & 3)
        out.write(pad)
        total += size - 4 + len(pad)
        ino += 1
    tail = _entry("TRAILER!!!", 0, 0, 0)
    out.write(tail)
    return total + len(tail)


class _GzipWriter:
    """Compress as ``gzip -6`` does (initramfs-tools' default), streaming to a file."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._z = zlib.compressobj(6, zlib.DEFLATED, 31)

    def write(self, data: bytes) -> None:
        self._fh.write(self._z.compress(data))

    def close(self) -> None:
        self._fh.write(self._z.flush())


def write_image(path: str, raw_target: int, kver: str = "6.1.0-50-amd64") -> ImageSpec:
    """Write a gzip initramfs of about ``raw_target`` decompressed bytes to ``path``.

    Written to a temp name and renamed, so an interrupted bench never leaves a
    truncated image for the next run to time.
    """
    members = image_members(raw_target, kver)
    tmp = f"{path}.part"
    with open(tmp, "wb") as fh:
        writer = _GzipWriter(fh)
        raw = _write_cpio(writer, members, make_pool())
        writer.close()
    os.replace(tmp, path)
    modules = tuple(sorted(n.rsplit("/", 1)[1][:-3] for n, _ in members if n.endswith(".ko")))
    return ImageSpec(path, kver, raw, os.path.getsize(path), len(members), modules)


_CONFIG = """\
CONFIG_VIRTIO=y
CONFIG_VIRTIO_PCI=m
CONFIG_VIRTIO_BLK=m
CONFIG_VIRTIO_NET=m
CONFIG_SCSI_VIRTIO=m
CONFIG_EXT4_FS=m
"""


def make_root(
    root: str,
    kernels: list[tuple[str, Optional[str]]],
    extra_modules: int = 3000,
    link: bool = True,
) -> str:
    """A small Debian-like guest root under ``root`` with one entry per kernel.

    ``kernels`` is ``[(kver, image_path_or_None), ...]``; each image is
    hard-linked (``link``, for the bench's own images) or copied (a user's
    ``--image``, whose inode must not change) to ``/boot/initrd.img-KVER``
    beside an empty ``vmlinuz-KVER``, a ``config-KVER`` and a
    ``/lib/modules/KVER`` tree of ``extra_modules`` empty ``.ko`` files plus
    the virtio ones, the size of a distribution kernel's tree.
    """
    base = Path(root)
    (base / "etc").mkdir(parents=True, exist_ok=True)
    (base / "etc/os-release").write_text(
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="12"\nID=debian\n'
    )
    (base / "etc/debian_version").write_text("12.5\n")
    (base / "etc/fstab").write_text("/dev/sda1 / ext4 defaults 0 1\n")
    (base / "boot").mkdir(exist_ok=True)
    for kver, image in kernels:
        (base / f"boot/vmlinuz-{kver}").write_bytes(b"")
        (base / f"boot/config-{kver}").write_text(_CONFIG)
        if image is not None:
            dest = base / f"boot/initrd.img-{kver}"
            if not dest.exists():
                copy = not link
                if link:
                    try:
                        os.link(image, dest)
                    except OSError:  # another file system: copy instead
                        copy = True
                if copy:
                    shutil.copyfile(image, dest)
        tree = base / f"lib/modules/{kver}"
        for name in VIRTIO_MODULES:
            folder = tree / "kernel/drivers/virtio"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.ko").touch()
        for j in range(extra_modules):
            folder = tree / "kernel" / _MODULE_DIRS[j % len(_MODULE_DIRS)]
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"drv_{j:04d}.ko").touch()
        (tree / "modules.builtin").write_text("kernel/drivers/virtio/virtio_ring.ko\n")
    return root
