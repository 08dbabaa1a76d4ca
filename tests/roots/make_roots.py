#!/usr/bin/env python3
"""Regenerate the fixture guest roots under ``tests/roots/``.

The trees are committed (tests read them as they are); this script is how
they were made, so a change to a fixture is a change here plus a rerun:

    python tests/roots/make_roots.py            # rewrite every root
    python tests/roots/make_roots.py rhel39     # rewrite one

Each root is deleted and written again. Module files are empty (detection
looks at names only); initrd images are real, tiny archives (newc cpio,
gzip/xz/zstd compressed, an early microcode cpio in front, a gzip'd ext2
image for the 2.4 kernel, one corrupt image) so the initrd reader is tested
on the formats found in the field. Everything is deterministic (fixed
timestamps, no randomness), so a rerun gives the same bytes, except the ext2
image: ``mke2fs -d`` copies the source files' ctimes, which cannot be set, so
a few inode bytes differ from run to run (its contents do not).

FIFOs and device nodes cannot be committed to git; tests create them at run
time in a copy of a root (see ``tests/conftest.py``).
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from typing import Union

HERE = os.path.dirname(os.path.abspath(__file__))

Content = Union[str, bytes]


class Link(str):
    """A symlink target (kept verbatim, also when absolute or climbing out)."""


class Root:
    """A guest tree being written: files, folders, symlinks."""

    def __init__(self, name: str, base: str = HERE) -> None:
        self.name = name
        self.path = os.path.join(base, name)
        if os.path.lexists(self.path):
            shutil.rmtree(self.path)
        os.makedirs(self.path)

    def _host(self, guest: str) -> str:
        return os.path.join(self.path, guest.lstrip("/"))

    def file(self, guest: str, content: Content = b"", mode: int = 0o644) -> None:
        host = self._host(guest)
        os.makedirs(os.path.dirname(host), exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        with open(host, "wb") as fh:
            fh.write(data)
        os.chmod(host, mode)

    def files(self, mapping: dict[str, Content]) -> None:
        for guest, content in mapping.items():
            if isinstance(content, Link):
                self.link(guest, content)
            else:
                self.file(guest, content)

    def link(self, guest: str, target: str) -> None:
        host = self._host(guest)
        os.makedirs(os.path.dirname(host), exist_ok=True)
        os.symlink(target, host)

    def dir(self, guest: str) -> None:
        """An empty folder, kept in git by a ``.keep`` file."""
        host = self._host(guest)
        os.makedirs(host, exist_ok=True)
        if not os.listdir(host):
            open(os.path.join(host, ".keep"), "wb").close()

    def modules(self, kver: str, paths: Iterable[str], base: str = "/lib/modules") -> None:
        """Empty module files under ``base/kver/`` (names are what detection reads)."""
        for rel in paths:
            self.file(f"{base}/{kver}/{rel}")


# ---- building blocks ---------------------------------------------------------------

EM_386, EM_X86_64 = 3, 62


def elf(machine: int = EM_X86_64, bits: int = 64) -> bytes:
    """An ELF header (64 bytes) of an executable for ``machine``: enough for detection."""
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack("<HHI", 2, machine, 1)
    return header + bytes(64 - len(header))


def newc(entries: list[tuple[str, bytes]], trailer: bool = True) -> bytes:
    """A newc cpio archive of regular files and their parent folders (mtime 0)."""
    out = io.BytesIO()
    ino = 1
    seen: set[str] = set()

    def put(name: str, mode: int, data: bytes) -> None:
        nonlocal ino
        head = "070701" + "".join(
            f"{v:08x}"
            for v in (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0)
        )
        ino += 1
        out.write(head.encode("ascii") + name.encode() + b"\0")
        out.write(b"\0" * (-out.tell() % 4))
        out.write(data)
        out.write(b"\0" * (-out.tell() % 4))

    for name, data in entries:
        parts = name.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder not in seen:
                seen.add(folder)
                put(folder, 0o040755, b"")
        put(name, 0o100644, data)
    if trailer:
        put("TRAILER!!!", 0, b"")
    return out.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def xz(data: bytes) -> bytes:
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)


def zst(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=3).compress(data)


def initramfs(kver: str, modules: dict[str, str], extra: Iterable[str] = ()) -> bytes:
    """The cpio of a small modern initramfs: init, a few tools, the given modules.

    ``modules`` maps a module file name to its folder under lib/modules/KVER.
    """
    entries = [("init", b"#!/bin/sh\nexec /sbin/init\n"), ("bin/sh", elf())]
    entries += [(name, b"") for name in extra]
    for name, folder in modules.items():
        entries.append((f"lib/modules/{kver}/{folder}/{name}", b""))
    entries.append((f"lib/modules/{kver}/modules.dep", b""))
    return newc(entries)


def nash_initrd(kver: str, modules: list[str]) -> bytes:
    """A RHEL 4/5 style initrd: a nash ``init`` and modules in /lib (gzip'd cpio)."""
    lines = ["#!/bin/nash", "mount -t proc /proc /proc"]
    lines += [f'echo "Loading {m[:-3]} module"\ninsmod /lib/{m}' for m in modules]
    lines += ["mkrootdev -t ext3 -o defaults,ro hda2", "switchroot"]
    entries = [("init", ("\n".join(lines) + "\n").encode()), ("bin/nash", elf())]
    entries += [(f"lib/{m}", b"") for m in modules]
    return gz(newc(entries))


def ext2_initrd(files: dict[str, bytes]) -> bytes:
    """A RHEL 3 style initrd: a gzip'd ext2 file system image (made with mke2fs -d)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        for name, data in files.items():
            path = os.path.join(src, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
        for folder, dirs, names in os.walk(src):
            for name in dirs + names:
                os.utime(os.path.join(folder, name), (1180000000, 1180000000))
        os.utime(src, (1180000000, 1180000000))
        image = os.path.join(tmp, "initrd.ext2")
        env = dict(os.environ, E2FSPROGS_FAKE_TIME="1180000000")
        subprocess.run(
            ["mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-N", "64", "-m", "0",
             "-U", "clear", "-E", "hash_seed=6b1f0c2e-7d3a-4c55-9e21-3f0a8b7c6d5e",
             "-d", src, image, "256"],
            check=True,
            env=env,
        )
        with open(image, "rb") as fh:
            return gz(fh.read())


def config(arch: str, virtio: dict[str, str], extra: Iterable[str] = ()) -> str:
    """A short kernel config: the arch symbols, the virtio symbols, a few others."""
    lines = ["#", "# Automatically generated make config: don't edit", "#"]
    if arch == "x86_64":
        lines += ["CONFIG_X86_64=y", "CONFIG_X86=y", "CONFIG_64BIT=y"]
    else:
        lines += ["CONFIG_X86=y", "CONFIG_X86_32=y"]
    lines += list(extra)
    lines += ["CONFIG_BLK_DEV_IDE=y", "CONFIG_E1000=m", "CONFIG_EXT3_FS=m"]
    for symbol, value in virtio.items():
        if value == "n":
            lines.append(f"# CONFIG_{symbol} is not set")
        else:
            lines.append(f"CONFIG_{symbol}={value}")
    return "\n".join(lines) + "\n"


ALL_M = {"VIRTIO": "m", "VIRTIO_RING": "m", "VIRTIO_PCI": "m", "VIRTIO_BLK": "m", "VIRTIO_NET": "m"}

VIRTIO_KO_26 = {
    "kernel/drivers/virtio/virtio.ko": "",
    "kernel/drivers/virtio/virtio_ring.ko": "",
    "kernel/drivers/virtio/virtio_pci.ko": "",
    "kernel/drivers/block/virtio_blk.ko": "",
    "kernel/drivers/net/virtio_net.ko": "",
}
COMMON_KO_26 = [
    "kernel/drivers/net/e1000/e1000.ko",
    "kernel/drivers/ata/ata_piix.ko",
    "kernel/fs/ext3/ext3.ko",
    "kernel/fs/jbd/jbd.ko",
    "kernel/drivers/md/dm-mod.ko",
]


def rc_sysinit(release: int, block_at: int, total: int, latin1: bool = False) -> bytes:
    """An rc.sysinit of ``total`` lines whose ``fi`` closing the rc.modules block is
    at ``block_at``; the filler is shell of the same shape as the real file (comments,
    tests, action lines, a decoy commented block and modprobe lines with variables)."""
    head = [
        "#!/bin/bash",
        "#",
        "# /etc/rc.d/rc.sysinit - run once at boot time",
        "#",
        "# Taken in part from Miquel van Smoorenburg's bcheckrc.",
        "#",
        "",
        "HOSTNAME=`/bin/hostname`",
        "",
        "if [ -f /etc/sysconfig/network ]; then",
        "    . /etc/sysconfig/network",
        "fi",
        "",
        ". /etc/init.d/functions",
        "",
    ]
    if latin1:
        head.insert(5, "# Modifié pour le démarrage: ne pas éditer à la main.")
    filler_blocks = [
        [
            "# Start up swapping.",
            'action $"Activating swap partitions: " swapon -a -e',
            "",
        ],
        [
            "if [ -x /sbin/lvm.static ]; then",
            "    if /sbin/lvm.static vgscan --mknodes --ignorelockingfailure > /dev/null 2>&1 ; then",
            '\taction $"Setting up Logical Volume Management:" /sbin/lvm.static vgchange -a y --ignorelockingfailure',
            "    fi",
            "fi",
            "",
        ],
        [
            "for module in $USEMODULES ; do",
            "\tmodprobe $module >/dev/null 2>&1",
            "done",
            "",
        ],
        [
            "# Set the system clock.",
            "ARC=0",
            "SRM=0",
            "UTC=0",
            "",
            "if [ -f /etc/sysconfig/clock ]; then",
            "   . /etc/sysconfig/clock",
            "fi",
            "",
        ],
        [
            "# Old versions kept this disabled:",
            "# if [ -f /etc/rc.modules ]; then",
            "#\t/etc/rc.modules",
            "# fi",
            "",
        ],
        [
            "if [ -f /proc/sys/kernel/modprobe ]; then",
            "   if ! strstr \"$cmdline\" nomodules && [ -f /proc/modules ] ; then",
            '       sysctl -w kernel.modprobe="/sbin/modprobe" >/dev/null 2>&1',
            "   fi",
            "fi",
            "",
        ],
    ]
    modules_loop = [
        "# Load other user-defined modules",
        "for file in /etc/sysconfig/modules/*.modules ; do",
        "  [ -x $file ] && $file",
        "done",
        "",
    ]
    block = [
        "# Load modules (for backward compatibility with VARs)",
        "if [ -f /etc/rc.modules ]; then",
        "\t/etc/rc.modules",
        "fi",
    ]
    lines = list(head)
    i = 0
    pre = modules_loop + block if release >= 5 else block
    while len(lines) < block_at - len(pre):
        lines += filler_blocks[i % len(filler_blocks)]
        i += 1
    del lines[block_at - len(pre) :]
    lines += pre
    assert len(lines) == block_at, (len(lines), block_at)
    lines.append("")
    while len(lines) < total - 2:
        lines += filler_blocks[i % len(filler_blocks)]
        i += 1
    del lines[total - 2 :]
    lines += ["# Boot time is done.", "touch /var/run/boot.done"]
    text = "\n".join(lines) + "\n"
    return text.encode("latin-1" if latin1 else "utf-8")


def nash_mkinitrd(version: str, latin1: bool = False) -> bytes:
    """The head of a nash mkinitrd script (what detection reads: it mentions nash)."""
    text = (
        "#!/bin/bash\n"
        "\n"
        "# mkinitrd\n"
        "#\n"
        f"# Written by Erik Troan <ewt@redhat.com>  (version {version})\n"
        + ("# Contributors: Jos\xe9 Mart\xednez, Fran\xe7ois\n" if latin1 else "")
        + "#\n"
        "\n"
        "PATH=/sbin:/usr/sbin:/bin:/usr/bin:$PATH\n"
        "export PATH\n"
        "\n"
        f"VERSION={version}\n"
        "\n"
        "usage () {\n"
        '    echo "usage: `basename $0` [--version] [-v] [-f] [--preload <module>]" >&2\n'
        '    echo "       [--with=<module>] [--omit-scsi-modules] <initrd-image> <kernel-version>" >&2\n'
        "    exit 1\n"
        "}\n"
        "\n"
        "if [ -f $target ]; then\n"
        '    echo "$target already exists." >&2\n'
        "    exit 1\n"
        "fi\n"
        "\n"
        "inst /sbin/nash \"$MNTIMAGE/bin/nash\"\n"
    )
    return text.encode("latin-1")


def grub_conf(kver: str, root: str, title: str, initrd: str, extra: str = "") -> str:
    return (
        "# grub.conf generated by anaconda\n"
        "#\n"
        "# Note that you do not have to rerun grub after making changes to this file\n"
        "#boot=/dev/hda\n"
        "default=0\n"
        "timeout=5\n"
        "splashimage=(hd0,0)/grub/splash.xpm.gz\n"
        "hiddenmenu\n"
        f"title {title} ({kver})\n"
        "\troot (hd0,0)\n"
        f"\tkernel /vmlinuz-{kver} ro root={root}{extra}\n"
        f"\tinitrd /{initrd}\n"
    )


def base_tree(r: Root, *, usrmerge: bool = False, bits: int = 64) -> None:
    """What every Linux root has: /bin/bash (an ELF header), /proc, /sys, /dev, /tmp."""
    machine = EM_X86_64 if bits == 64 else EM_386
    if usrmerge:
        for name in ("bin", "sbin", "lib", "lib64"):
            r.link(f"/{name}", f"usr/{name}")
        r.file("/usr/bin/bash", elf(machine, bits), 0o755)
        r.file("/usr/bin/ls", elf(machine, bits), 0o755)
        r.dir("/usr/lib64")
    else:
        r.file("/bin/bash", elf(machine, bits), 0o755)
        r.link("/bin/sh", "bash")
    for d in ("/proc", "/sys", "/dev", "/tmp", "/root"):
        r.dir(d)


# ---- the roots -------------------------------------------------------------------------


RHEL3_VIRTIO_O = ("virtio.o", "virtio_ring.o", "virtio_pci.o", "virtio_blk.o", "virtio_net.o")


def rhel39(
    name: str = "rhel39", variant: str = "ia32e", package: bool = True, depmod: bool = True
) -> None:
    """RHEL 3.9: a 2.4.21 kernel of one variant; virtio only from the virtio package.

    ``package``: the virtio (kmod) package is installed (its .o files under
    extra/); ``depmod``: its %post ran depmod, so modules.dep lists them.
    """
    r = Root(name)
    kver = "2.4.21-58.EL"
    base_tree(r)
    r.files(
        {
            "/etc/redhat-release": "Red Hat Enterprise Linux ES release 3 (Taroon Update 9)\n",
            "/etc/fstab": (
                "/dev/hda2               /                       ext3    defaults        1 1\n"
                "LABEL=/boot             /boot                   ext3    defaults        1 2\n"
                "none                    /dev/pts                devpts  gid=5,mode=620  0 0\n"
                "none                    /proc                   proc    defaults        0 0\n"
                "none                    /dev/shm                tmpfs   defaults        0 0\n"
                "/dev/hda3               swap                    swap    defaults        0 0\n"
                "/dev/cdrom              /mnt/cdrom              udf,iso9660 noauto,owner,kudzu,ro 0 0\n"
            ),
            "/boot/grub/grub.conf": grub_conf(
                kver, "/dev/hda2", "Red Hat Enterprise Linux ES", f"initrd-{kver}.img"
            ),
            "/etc/grub.conf": Link("../boot/grub/grub.conf"),
            "/boot/grub/device.map": "# this device map was generated by anaconda\n(hd0)     /dev/hda\n",
            "/etc/modules.conf": "alias eth0 e1000\nalias usb-controller usb-uhci\n",
            "/var/log/rpmpkgs": (
                "glibc-2.3.2-95.50.x86_64.rpm\n"
                f"kernel-{kver}.{variant}.rpm\n"
                "kernel-utils-2.4-8.37.15.x86_64.rpm\n"
                "mkinitrd-3.5.13.9-2.x86_64.rpm\n"
                + (f"virtio-0.1-5.{variant}.rpm\n" if package else "")
            ),
            f"/boot/config-{kver}": config("x86_64", {}, ["CONFIG_MPSC=y", "CONFIG_SMP=y"]),
            f"/boot/vmlinuz-{kver}": b"\0" * 64,
            f"/boot/System.map-{kver}": "c0100000 T _text\n",
            f"/boot/initrd-{kver}.img": ext2_initrd(
                {
                    "linuxrc": b"#!/bin/nash\necho Loading jbd.o module\ninsmod /lib/jbd.o\n"
                    b"echo Loading ext3.o module\ninsmod /lib/ext3.o\n",
                    "bin/nash": elf(),
                    "bin/insmod": elf(),
                    "lib/jbd.o": b"\x7fELF",
                    "lib/ext3.o": b"\x7fELF",
                }
            ),
        }
    )
    r.file("/etc/rc.d/rc.sysinit", rc_sysinit(3, 442, 1010, latin1=True), 0o755)
    r.file("/sbin/mkinitrd", nash_mkinitrd("3.5.13.9", latin1=True), 0o755)
    base = ["kernel/drivers/net/e1000/e1000.o", "kernel/fs/ext3/ext3.o", "kernel/fs/jbd/jbd.o"]
    extra = [f"extra/{m}" for m in RHEL3_VIRTIO_O] if package else []
    r.modules(kver, [*base, *extra])
    # modutils' modules.dep: each module with the modules it needs.
    needs = {"ext3.o": ["kernel/fs/jbd/jbd.o"], "virtio_ring.o": ["extra/virtio.o"],
             "virtio_pci.o": ["extra/virtio_ring.o", "extra/virtio.o"],
             "virtio_blk.o": ["extra/virtio_ring.o", "extra/virtio.o"],
             "virtio_net.o": ["extra/virtio_ring.o", "extra/virtio.o"]}
    listed = base + (extra if depmod else [])
    dep = "".join(
        f"/lib/modules/{kver}/{rel}:"
        + "".join(f" /lib/modules/{kver}/{d}" for d in needs.get(rel.rsplit("/", 1)[-1], []))
        + "\n\n"
        for rel in listed
    )
    r.file(f"/lib/modules/{kver}/modules.dep", dep)


def rhel48() -> None:
    r = Root("rhel48")
    kver = "2.6.9-89.EL"
    base_tree(r)
    r.files(
        {
            "/etc/redhat-release": "Red Hat Enterprise Linux AS release 4 (Nahant Update 8)\n",
            "/etc/fstab": (
                "/dev/VolGroup00/LogVol00 /                       ext3    defaults        1 1\n"
                "/dev/sda1               /boot                   ext3    defaults        1 2\n"
                "none                    /dev/pts                devpts  gid=5,mode=620  0 0\n"
                "none                    /proc                   proc    defaults        0 0\n"
                "/dev/VolGroup00/LogVol01 swap                    swap    defaults        0 0\n"
            ),
            "/boot/grub/grub.conf": grub_conf(
                kver,
                "/dev/VolGroup00/LogVol00",
                "Red Hat Enterprise Linux AS",
                f"initrd-{kver}.img",
                " rhgb quiet",
            ),
            "/etc/grub.conf": Link("../boot/grub/grub.conf"),
            "/boot/grub/device.map": "(hd0)     /dev/sda\n",
            "/etc/modprobe.conf": (
                "alias eth0 e1000\n"
                "alias scsi_hostadapter ata_piix\n"
                "alias usb-controller uhci-hcd\n"
            ),
            f"/boot/config-{kver}": config("x86_64", ALL_M, ["CONFIG_GENERIC_CPU=y"]),
            f"/boot/vmlinuz-{kver}": b"\0" * 64,
            # The virtio package replaced the image and kept the old one (seed).
            f"/boot/initrd-{kver}.img": nash_initrd(
                kver,
                ["scsi_mod.ko", "ata_piix.ko", "virtio.ko", "virtio_ring.ko",
                 "virtio_blk.ko", "virtio_pci.ko", "jbd.ko", "ext3.ko", "dm-mod.ko"],
            ),
            f"/boot/initrd-{kver}.img.virtio.orig": nash_initrd(
                kver, ["scsi_mod.ko", "ata_piix.ko", "jbd.ko", "ext3.ko", "dm-mod.ko"]
            ),
        }
    )
    r.file("/etc/rc.d/rc.sysinit", rc_sysinit(4, 556, 1050), 0o755)
    r.file("/sbin/mkinitrd", nash_mkinitrd("4.2.1.13"), 0o755)
    r.modules(kver, [*COMMON_KO_26, *VIRTIO_KO_26])


def rhel5ga() -> None:
    r = Root("rhel5ga")
    kver = "2.6.18-8.el5"
    base_tree(r)
    r.files(
        {
            "/etc/redhat-release": "Red Hat Enterprise Linux Server release 5 (Tikanga)\n",
            "/etc/rc.sysinit": Link("rc.d/rc.sysinit"),
            "/etc/fstab": (
                "/dev/VolGroup00/LogVol00 /                       ext3    defaults        1 1\n"
                "LABEL=/boot             /boot                   ext3    defaults        1 2\n"
                "tmpfs                   /dev/shm                tmpfs   defaults        0 0\n"
                "devpts                  /dev/pts                devpts  gid=5,mode=620  0 0\n"
                "sysfs                   /sys                    sysfs   defaults        0 0\n"
                "proc                    /proc                   proc    defaults        0 0\n"
                "/dev/hda3               swap                    swap    defaults        0 0\n"
            ),
            "/boot/grub/grub.conf": grub_conf(
                kver,
                "/dev/VolGroup00/LogVol00",
                "Red Hat Enterprise Linux Server",
                f"initrd-{kver}.img",
                " rhgb quiet resume=/dev/hda3",
            ),
            "/etc/grub.conf": Link("../boot/grub/grub.conf"),
            "/boot/grub/device.map": "(hd0)     /dev/hda\n",
            "/etc/modprobe.conf": "alias eth0 8139cp\nalias scsi_hostadapter ata_piix\n",
            "/etc/sysconfig/modules/udev-stw.modules": (
                "#!/bin/sh\n\nfor i in nvram floppy parport lp snd-powermac; do\n"
                "\tmodprobe $i >/dev/null 2>&1\ndone\n"
            ),
            # The 2.6.18 config predates the virtio symbols.
            f"/boot/config-{kver}": config("x86_64", {}, ["CONFIG_GENERIC_CPU=y"]),
            f"/boot/vmlinuz-{kver}": b"\0" * 64,
            f"/boot/initrd-{kver}.img": nash_initrd(
                kver, ["ata_piix.ko", "jbd.ko", "ext3.ko", "dm-mod.ko"]
            ),
        }
    )
    r.file("/etc/rc.d/rc.sysinit", rc_sysinit(5, 352, 980), 0o755)
    r.file("/sbin/mkinitrd", nash_mkinitrd("5.1.19.6"), 0o755)
    # No virtio in the kernel; the kmod-virtio package put them under extra/.
    r.modules(
        kver,
        [
            *COMMON_KO_26,
            "extra/virtio/virtio.ko",
            "extra/virtio/virtio_ring.ko",
            "extra/virtio/virtio_pci.ko",
            "extra/virtio/virtio_blk.ko",
            "extra/virtio/virtio_net.ko",
        ],
    )


def _rhel5_family(name: str, release_file: str, release: str, kver: str) -> Root:
    r = Root(name)
    base_tree(r)
    r.files(
        {
            release_file: release,
            "/etc/rc.sysinit": Link("rc.d/rc.sysinit"),
            "/etc/fstab": (
                "/dev/VolGroup00/LogVol00 /                       ext3    defaults        1 1\n"
                "LABEL=/boot             /boot                   ext3    defaults        1 2\n"
                "proc                    /proc                   proc    defaults        0 0\n"
                "/dev/hda3               swap                    swap    defaults        0 0\n"
            ),
            "/boot/grub/grub.conf": grub_conf(
                kver, "/dev/VolGroup00/LogVol00", "Linux", f"initrd-{kver}.img", " rhgb quiet"
            ),
            "/etc/grub.conf": Link("../boot/grub/grub.conf"),
            "/boot/grub/device.map": "(hd0)     /dev/hda\n",
            "/etc/modprobe.conf": "alias eth0 e1000\nalias scsi_hostadapter ata_piix\n",
            f"/boot/config-{kver}": config("x86_64", ALL_M, ["CONFIG_GENERIC_CPU=y"]),
            f"/boot/vmlinuz-{kver}": b"\0" * 64,
        }
    )
    r.file("/etc/rc.d/rc.sysinit", rc_sysinit(5, 352, 990), 0o755)
    r.file("/sbin/mkinitrd", nash_mkinitrd("5.1.19.6"), 0o755)
    r.modules(kver, [*COMMON_KO_26, *VIRTIO_KO_26])
    return r


def rhel53() -> None:
    """RHEL 5.3, captured live: proc and sys hold a running guest's view."""
    kver = "2.6.18-128.el5"
    r = _rhel5_family(
        "rhel53",
        "/etc/redhat-release",
        "Red Hat Enterprise Linux Server release 5.3 (Tikanga)\n",
        kver,
    )
    r.file(
        f"/boot/initrd-{kver}.img",
        nash_initrd(
            kver,
            ["ata_piix.ko", "virtio.ko", "virtio_ring.ko", "virtio_blk.ko", "virtio_pci.ko",
             "jbd.ko", "ext3.ko", "dm-mod.ko"],
        ),
    )
    # A live snapshot: proc/self makes the target live; the rest is what the
    # running 5.3 guest showed on an IDE disk with a virtio NIC added.
    r.dir("/proc/self")
    r.files(
        {
            "/proc/sys/kernel/osrelease": f"{kver}\n",
            "/proc/cmdline": "ro root=/dev/VolGroup00/LogVol00 rhgb quiet\n",
            "/proc/cpuinfo": (
                "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n"
                "model name\t: Intel(R) Xeon(R) CPU E5-2680 v2 @ 2.80GHz\n\n"
            ),
            "/proc/modules": (
                "virtio_net 19265 0 - Live 0xffffffff88350000\n"
                "virtio_pci 11713 0 - Live 0xffffffff88340000\n"
                "virtio_ring 7361 1 virtio_pci, Live 0xffffffff88338000\n"
                "virtio 9281 2 virtio_net,virtio_pci, Live 0xffffffff88330000\n"
                "e1000 119569 0 - Live 0xffffffff88300000\n"
                "ata_piix 22341 3 - Live 0xffffffff88100000\n"
            ),
            "/proc/swaps": (
                "Filename\t\t\t\tType\t\tSize\tUsed\tPriority\n"
                "/dev/hda3                               partition\t2096472\t0\t-1\n"
            ),
        }
    )
    pci = "/sys/bus/pci/devices"
    for slot, vendor, device, sub, cls, driver in (
        ("0000:00:00.0", "0x8086", "0x1237", "0x1100", "0x060000", None),
        ("0000:00:01.1", "0x8086", "0x7010", "0x1100", "0x010180", "ata_piix"),
        ("0000:00:03.0", "0x8086", "0x100e", "0x1100", "0x020000", "e1000"),
        ("0000:00:04.0", "0x1af4", "0x1000", "0x0001", "0x020000", "virtio-pci"),
    ):
        r.files(
            {
                f"{pci}/{slot}/vendor": vendor + "\n",
                f"{pci}/{slot}/device": device + "\n",
                f"{pci}/{slot}/subsystem_device": sub + "\n",
                f"{pci}/{slot}/class": cls + "\n",
            }
        )
        if driver:
            r.link(f"{pci}/{slot}/driver", f"../../../../bus/pci/drivers/{driver}")
            r.dir(f"/sys/bus/pci/drivers/{driver}")
    r.dir("/sys/bus/virtio/drivers/virtio_net")
    r.dir("/sys/bus/virtio/devices")


def rhel5xen() -> None:
    """RHEL 5.4 that came from Xen: a Xen kernel beside the plain one, Xen aliases,
    DEFAULTKERNEL=kernel-xen, an xvc0 getty, kudzu on, eth0 pinned to its MAC."""
    kver = "2.6.18-164.el5"
    xver = kver + "xen"
    r = _rhel5_family(
        "rhel5xen",
        "/etc/redhat-release",
        "Red Hat Enterprise Linux Server release 5.4 (Tikanga)\n",
        kver,
    )
    r.files(
        {
            "/etc/modprobe.conf": (
                "alias eth0 xennet\nalias scsi_hostadapter xenblk\n"
                "alias scsi_hostadapter1 ata_piix\n"
            ),
            "/etc/sysconfig/kernel": (
                "# UPDATEDEFAULT specifies if new-kernel-pkg should make\n"
                "# new kernels the default\nUPDATEDEFAULT=yes\n\n"
                "# DEFAULTKERNEL specifies the default kernel package type\n"
                "DEFAULTKERNEL=kernel-xen\n"
            ),
            "/etc/inittab": (
                "id:3:initdefault:\nsi::sysinit:/etc/rc.d/rc.sysinit\n"
                "1:2345:respawn:/sbin/mingetty tty1\n"
                "co:2345:respawn:/sbin/agetty xvc0 9600 vt100-nav\n"
            ),
            "/etc/securetty": "console\nxvc0\ntty1\n",
            "/etc/sysconfig/network-scripts/ifcfg-eth0": (
                "DEVICE=eth0\nBOOTPROTO=dhcp\nHWADDR=00:16:3E:5A:2B:01\nONBOOT=yes\n"
            ),
            "/etc/rc.d/init.d/kudzu": "#!/bin/bash\n# kudzu: detects and configures new hardware\n",
            f"/boot/config-{xver}": config("x86_64", {}, ["CONFIG_XEN=y"]),
            f"/boot/vmlinuz-{xver}": b"\0" * 64,
            f"/boot/initrd-{kver}.img": nash_initrd(
                kver, ["ata_piix.ko", "jbd.ko", "ext3.ko", "dm-mod.ko"]
            ),
            f"/boot/initrd-{xver}.img": nash_initrd(
                xver, ["xenblk.ko", "xennet.ko", "jbd.ko", "ext3.ko", "dm-mod.ko"]
            ),
        }
    )
    r.link("/etc/rc.d/rc3.d/S05kudzu", "../init.d/kudzu")
    r.modules(xver, [*COMMON_KO_26, "kernel/drivers/xen/blkfront/xenblk.ko",
                     "kernel/drivers/xen/netfront/xennet.ko"])


def sles11xen() -> None:
    """SLES 11 that came from Xen: INITRD_MODULES names Xen's block and net drivers."""
    sles11("sles11xen")
    path = os.path.join(HERE, "sles11xen", "etc/sysconfig/kernel")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text.replace('INITRD_MODULES="processor', 'INITRD_MODULES="xenblk xennet processor'))


def centos5() -> None:
    kver = "2.6.18-128.el5"
    r = _rhel5_family("centos5", "/etc/centos-release", "CentOS release 5.3 (Final)\n", kver)
    r.link("/etc/redhat-release", "centos-release")
    r.file(
        f"/boot/initrd-{kver}.img",
        nash_initrd(kver, ["ata_piix.ko", "jbd.ko", "ext3.ko", "dm-mod.ko"]),
    )


def rhel6() -> None:
    r = Root("rhel6")
    kver = "2.6.32-573.el6.x86_64"
    base_tree(r)
    r.files(
        {
            "/etc/redhat-release": "Red Hat Enterprise Linux Server release 6.7 (Santiago)\n",
            "/etc/system-release": Link("redhat-release"),
            "/etc/rc.sysinit": Link("rc.d/rc.sysinit"),
            "/etc/fstab": (
                "/dev/mapper/vg_rhel6-lv_root /                   ext4    defaults        1 1\n"
                "UUID=3c1f5d2e-8f5b-4b9e-9d7a-0e4f6a2b1c3d /boot  ext4    defaults        1 2\n"
                "/dev/mapper/vg_rhel6-lv_swap swap                swap    defaults        0 0\n"
                "tmpfs                   /dev/shm                tmpfs   defaults        0 0\n"
                "proc                    /proc                   proc    defaults        0 0\n"
            ),
            "/boot/grub/grub.conf": grub_conf(
                kver,
                "/dev/mapper/vg_rhel6-lv_root",
                "Red Hat Enterprise Linux 6",
                f"initramfs-{kver}.img",
                " rd_LVM_LV=vg_rhel6/lv_root rd_NO_LUKS rhgb quiet",
            ),
            "/etc/grub.conf": Link("../boot/grub/grub.conf"),
            "/boot/grub/device.map": "(hd0)     /dev/sda\n",
            "/etc/dracut.conf": (
                "# Sample dracut config file\n\n"
                "# Specific list of dracut modules to use\n"
                '#dracutmodules+=""\n\n'
                "# Dracut modules to omit\n"
                '#omit_dracutmodules+=""\n\n'
                "# Additional kernel modules to the default\n"
                '#add_drivers+=""\n\n'
                "# Install local /etc/mdadm.conf\n"
                'mdadmconf="yes"\n'
                "# set this to yes to build a host-only initramfs\n"
                'hostonly="no"\n'
            ),
            "/etc/dracut.conf.d/.keep": "",
            "/etc/sysconfig/modules/.keep": "",
            f"/boot/config-{kver}": config(
                "x86_64",
                {"VIRTIO": "m", "VIRTIO_RING": "m", "VIRTIO_PCI": "y", "VIRTIO_BLK": "m",
                 "VIRTIO_NET": "m"},
                ["CONFIG_GENERIC_CPU=y"],
            ),
            f"/boot/vmlinuz-{kver}": b"\0" * 64,
            f"/boot/initramfs-{kver}.img": gz(
                initramfs(
                    kver,
                    {
                        "virtio.ko": "kernel/drivers/virtio",
                        "virtio_ring.ko": "kernel/drivers/virtio",
                        "virtio_blk.ko": "kernel/drivers/block",
                        "virtio_net.ko": "kernel/drivers/net",
                        "ata_piix.ko": "kernel/drivers/ata",
                        # What dracut's 90lvm puts in for this LVM ext4 root.
                        "dm-mod.ko": "kernel/drivers/md",
                        "ext4.ko": "kernel/fs/ext4",
                    },
                    ["sbin/udevd", "sbin/dmsetup", "sbin/lvm", "lib/udev/rules.d/64-lvm.rules"],
                )
            ),
            "/sbin/mkinitrd": (
                "#!/bin/bash --norc\n# mkinitrd compat wrapper around dracut\n"
                'dracut $dracut_args "$target" "$kernel"\n'
            ),
        }
    )
    r.file("/sbin/dracut", "#!/bin/bash\n# dracut: create initramfs\n", 0o755)
    r.file("/etc/rc.d/rc.sysinit", rc_sysinit(6, 512, 700), 0o755)
    r.modules(
        kver,
        [
            *[k for k in COMMON_KO_26 if "ext3" not in k and "jbd" not in k],
            "kernel/fs/ext4/ext4.ko",
            "kernel/drivers/virtio/virtio.ko",
            "kernel/drivers/virtio/virtio_ring.ko",
            "kernel/drivers/block/virtio_blk.ko",
            "kernel/drivers/net/virtio_net.ko",
            "kernel/drivers/scsi/virtio_scsi.ko",
        ],
    )


def fedora19() -> None:
    r = Root("fedora19")
    kver = "3.9.5-301.fc19.x86_64"
    base_tree(r, usrmerge=True)
    r.files(
        {
            "/etc/fedora-release": "Fedora release 19 (Schrödinger’s Cat)\n",
            "/etc/redhat-release": Link("fedora-release"),
            "/etc/system-release": Link("fedora-release"),
            "/etc/os-release": (
                "NAME=Fedora\n"
                'VERSION="19 (Schrödinger’s Cat)"\n'
                "ID=fedora\n"
                "VERSION_ID=19\n"
                'PRETTY_NAME="Fedora 19 (Schrödinger’s Cat)"\n'
                'ANSI_COLOR="0;34"\n'
                'CPE_NAME="cpe:/o:fedoraproject:fedora:19"\n'
            ),
            "/etc/fstab": (
                "#\n# /etc/fstab\n# Created by anaconda\n#\n"
                "/dev/mapper/fedora-root /                       ext4    defaults        1 1\n"
                "UUID=9a8b7c6d-1e2f-4a3b-8c9d-0e1f2a3b4c5d /boot ext4    defaults        1 2\n"
                "/dev/mapper/fedora-swap swap                    swap    defaults        0 0\n"
            ),
            "/etc/default/grub": (
                'GRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR="Fedora"\nGRUB_DEFAULT=saved\n'
                'GRUB_CMDLINE_LINUX="rd.lvm.lv=fedora/swap rd.lvm.lv=fedora/root '
                'vconsole.font=latarcyrheb-sun16 rhgb quiet"\n'
            ),
            "/boot/grub2/device.map": "(hd0)      /dev/sda\n",
            "/etc/dracut.conf": "# PUT YOUR CONFIG HERE OR IN separate files named *.conf\n",
            "/etc/dracut.conf.d/01-hostonly.conf": 'hostonly="yes"\n',
            "/usr/lib/dracut/dracut.conf.d/01-dist.conf": (
                "# dracut config file customized for Fedora\n"
                'i18n_vars="/etc/sysconfig/keyboard:KEYTABLE-KEYMAP"\n'
                "stdloglvl=3\n"
            ),
            "/usr/sbin/mkinitrd": (
                "#!/bin/bash --norc\n# mkinitrd compat wrapper: calls dracut\n"
                'dracut $dracut_args "$target" "$kernel"\n'
            ),
            "/etc/modules-load.d/.keep": "",
            f"/boot/config-{kver}": config("x86_64", ALL_M, ["CONFIG_GENERIC_CPU=y"]),
            f"/boot/vmlinuz-{kver}": b"\0" * 64,
            # Host-only image made on an IDE/e1000 guest: no virtio inside.
            f"/boot/initramfs-{kver}.img": xz(
                initramfs(
                    kver,
                    {"ata_piix.ko": "kernel/drivers/ata", "e1000.ko": "kernel/drivers/net"},
                    ["usr/lib/systemd/systemd"],
                )
            ),
        }
    )
    r.file("/usr/bin/dracut", "#!/bin/bash\n# dracut\n", 0o755)
    r.modules(
        kver,
        [
            "kernel/fs/ext4/ext4.ko",
            "kernel/drivers/ata/ata_piix.ko",
            "kernel/drivers/net/ethernet/intel/e1000/e1000.ko",
            "kernel/drivers/virtio/virtio.ko",
            "kernel/drivers/virtio/virtio_ring.ko",
            "kernel/drivers/virtio/virtio_pci.ko",
            "kernel/drivers/block/virtio_blk.ko",
            "kernel/drivers/net/virtio_net.ko",
            "kernel/drivers/scsi/virtio_scsi.ko",
        ],
        base="/usr/lib/modules",
    )


def sles11(name: str = "sles11") -> None:
    r = Root(name)
    kver = "3.0.76-0.11-default"
    base_tree(r)
    disk = "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001"
    r.files(
        {
            # No final newline, as some SUSE releases ship it.
            "/etc/SuSE-release": (
                "SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 3"
            ),
            "/etc/fstab": (
                f"{disk}-part1 swap                 swap       defaults              0 0\n"
                f"{disk}-part2 /                    ext3       acl,user_xattr        1 1\n"
                "/dev/sda3            /srv                 ext3       defaults              1 2\n"
                "proc                 /proc                proc       defaults              0 0\n"
            ),
            "/boot/grub/menu.lst": (
                "# Modified by YaST2. Last modification on Mon Jun  3 10:00:00 UTC 2013\n"
                "default 0\ntimeout 8\n\n"
                f"title SUSE Linux Enterprise Server 11 SP3 - {kver}\n"
                "    root (hd0,1)\n"
                f"    kernel /boot/vmlinuz-{kver} root={disk}-part2 resume={disk}-part1 "
                "splash=silent crashkernel=256M-:128M showopts vga=0x314\n"
                f"    initrd /boot/initrd-{kver}\n"
            ),
            "/boot/grub/device.map": "(hd0)\t/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001\n",
            "/etc/sysconfig/kernel": (
                "## Path:\tSystem/Kernel\n"
                "## Description:\n"
                "## Type:\tstring\n"
                "#\n"
                "# This variable contains the list of modules to be added to the initial\n"
                "# ramdisk by calling the script \"mkinitrd\"\n"
                "#\n"
                'INITRD_MODULES="processor thermal ata_piix ata_generic piix fan jbd ext3 edd"\n'
                "\n"
                "## Type:\tstring\n"
                "#\n"
                "# This variable contains the list of modules to be loaded once the main\n"
                "# filesystem is active\n"
                "#\n"
                'MODULES_LOADED_ON_BOOT=""\n'
            ),
            f"/boot/config-{kver}": config("x86_64", ALL_M, ["CONFIG_GENERIC_CPU=y"]),
            f"/boot/vmlinuz-{kver}": b"\0" * 64,
            f"/boot/initrd-{kver}": gz(
                initramfs(
                    kver,
                    {"ata_piix.ko": "kernel/drivers/ata", "ext3.ko": "kernel/fs/ext3",
                     "jbd.ko": "kernel/fs/jbd"},
                    ["run_all.sh"],
                )
            ),
            "/boot/vmlinuz": Link(f"vmlinuz-{kver}"),
            "/boot/initrd": Link(f"initrd-{kver}"),
        }
    )
    r.file(
        "/sbin/mkinitrd",
        "#!/bin/bash\n#%stage: setup\n# mkinitrd - create the initramfs images (SUSE)\n"
        "# usage: mkinitrd [-k kernel] [-i initrd] [-m modules]\n",
        0o755,
    )
    r.modules(kver, [*COMMON_KO_26, *VIRTIO_KO_26, "kernel/drivers/scsi/virtio_scsi.ko"])


def _debian_initramfs_tools(r: Root, modules_policy: str, conf_d: bool) -> None:
    conf = (
        "#\n# initramfs.conf\n# Configuration file for mkinitramfs(8). See initramfs.conf(5).\n#\n"
        "# MODULES: [ most | netboot | dep | list ]\n"
        "#\n"
        "# most - Add most filesystem and all harddrive drivers.\n"
        "#\n"
        "# dep - Try and guess which modules to load.\n"
        "#\n"
        "MODULES=most\n\nBUSYBOX=auto\n\nCOMPRESS=gzip\n"
    )
    r.file("/etc/initramfs-tools/initramfs.conf", conf)
    r.file(
        "/etc/initramfs-tools/modules",
        "# List of modules that you want to include in your initramfs.\n"
        "# They will be loaded at boot time in the order below.\n#\n"
        "# Syntax:  module_name [args ...]\n#\n# You must run update-initramfs(8) to effect "
        "this change.\n#\n# Examples:\n#\n# raid1\n# sd_mod\n",
    )
    r.dir("/etc/initramfs-tools/conf.d")
    if conf_d:
        r.file("/etc/initramfs-tools/conf.d/driver-policy", f"MODULES={modules_policy}\n")
    r.file("/usr/sbin/update-initramfs", "#!/bin/sh\n# update-initramfs\n", 0o755)
    r.file("/etc/kernel/postinst.d/initramfs-tools", "#!/bin/sh\n", 0o755)


def debian6() -> None:
    r = Root("debian6")
    kver = "2.6.32-5-amd64"
    base_tree(r)
    _debian_initramfs_tools(r, "most", conf_d=False)
    r.files(
        {
            "/etc/debian_version": "6.0.10\n",
            "/etc/fstab": (
                "# /etc/fstab: static file system information.\n#\n"
                "# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n"
                "proc            /proc           proc    defaults        0       0\n"
                "# / was on /dev/sda1 during installation\n"
                "UUID=0f3e2d1c-5b4a-4c3d-9e8f-7a6b5c4d3e2f /               ext3    "
                "errors=remount-ro 0       1\n"
                "/dev/sda5       none            swap    sw              0       0\n"
                "/dev/scd0       /media/cdrom0   udf,iso9660 user,noauto     0       0\n"
            ),
            "/etc/default/grub": (
                "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n"
                "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
                'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n'
            ),
            "/boot/grub/device.map": "(hd0)\t/dev/sda\n",
            "/etc/modules": (
                "# /etc/modules: kernel modules to load at boot time.\n#\n"
                "# This file contains the names of kernel modules that should be loaded\n"
                '# at boot time, one per line. Lines beginning with "#" are ignored.\n'
                "# Parameters can be specified after the module name.\n\nloop\n"
            ),
            f"/boot/config-{kver}": config("x86_64", ALL_M, ["CONFIG_GENERIC_CPU=y"]),
            f"/boot/vmlinuz-{kver}": b"\0" * 64,
            f"/boot/initrd.img-{kver}": gz(
                initramfs(
                    kver,
                    {
                        "virtio.ko": "kernel/drivers/virtio",
                        "virtio_ring.ko": "kernel/drivers/virtio",
                        "virtio_pci.ko": "kernel/drivers/virtio",
                        "virtio_blk.ko": "kernel/drivers/block",
                        "virtio_net.ko": "kernel/drivers/net",
                        "ata_piix.ko": "kernel/drivers/ata",
                    },
                    ["scripts/local", "bin/busybox"],
                )
            ),
            "/vmlinuz": Link(f"boot/vmlinuz-{kver}"),
            "/initrd.img": Link(f"boot/initrd.img-{kver}"),
        }
    )
    r.modules(kver, [*COMMON_KO_26, *VIRTIO_KO_26])


def debian12(name: str = "debian12") -> Root:
    r = Root(name)
    kver = "6.1.0-50-amd64"
    base_tree(r, usrmerge=True)
    _debian_initramfs_tools(r, "dep", conf_d=True)
    early = newc([("kernel/x86/microcode/AuthenticAMD.bin", b"\0" * 16)])
    main = zst(
        initramfs(
            kver,
            {"ata_piix.ko": "kernel/drivers/ata", "e1000.ko": "kernel/drivers/net/ethernet"},
            ["scripts/local", "usr/bin/busybox"],
        )
    )
    r.files(
        {
            "/etc/os-release": (
                'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
                'NAME="Debian GNU/Linux"\n'
                'VERSION_ID="12"\n'
                'VERSION="12 (bookworm)"\n'
                "VERSION_CODENAME=bookworm\n"
                "ID=debian\n"
                'HOME_URL="https://www.debian.org/"\n'
            ),
            "/etc/debian_version": "12.8\n",
            "/etc/fstab": (
                "# /etc/fstab: static file system information.\n"
                "UUID=5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9 /               ext4    "
                "errors=remount-ro 0       1\n"
                "UUID=1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d none            swap    sw  0       0\n"
                "/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0\n"
            ),
            "/etc/default/grub": (
                "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n"
                "GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n"
                'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="console=ttyS0"\n'
            ),
            "/etc/modules": (
                "# /etc/modules: kernel modules to load at boot time.\n#\n"
                "# This file contains the names of kernel modules that should be loaded\n"
                '# at boot time, one per line. Lines beginning with "#" are ignored.\n'
            ),
            "/etc/modules-load.d/modules.conf": Link("../modules"),
            f"/boot/config-{kver}": config(
                "x86_64", ALL_M, ["CONFIG_GENERIC_CPU=y", "CONFIG_SCSI_VIRTIO=m"]
            ),
            f"/boot/vmlinuz-{kver}": b"\0" * 64,
            # MODULES=dep on an IDE/e1000 guest: the host-only trap, no virtio.
            f"/boot/initrd.img-{kver}": early + main,
            "/vmlinuz": Link(f"boot/vmlinuz-{kver}"),
            "/initrd.img": Link(f"boot/initrd.img-{kver}"),
        }
    )
    r.file("/usr/bin/dracut", "#!/bin/bash\n# dracut-core's program, not the one in use\n", 0o755)
    r.modules(
        kver,
        [
            "kernel/drivers/ata/ata_piix.ko",
            "kernel/drivers/net/ethernet/intel/e1000/e1000.ko",
            "kernel/fs/ext4/ext4.ko",
            "kernel/drivers/virtio/virtio.ko",
            "kernel/drivers/virtio/virtio_ring.ko",
            "kernel/drivers/virtio/virtio_pci.ko",
            "kernel/drivers/block/virtio_blk.ko",
            "kernel/drivers/net/virtio_net.ko",
            "kernel/drivers/scsi/virtio_scsi.ko",
        ],
        base="/usr/lib/modules",
    )
    return r


def debian12_order() -> None:
    """Debian 12 whose initramfs-tools list loads virtio_pci before virtio_blk.

    Out of the guide's order, yet it works on a 6.1 kernel (modprobe resolves
    dependencies, the driver core binds in any order): it must plan cleanly.
    """
    r = debian12("debian12-order")
    r.file(
        "/etc/initramfs-tools/modules",
        "# List of modules that you want to include in your initramfs.\n"
        "# They will be loaded at boot time in the order below.\n"
        "virtio_pci\nvirtio_blk\n",
    )


def ubuntu1004() -> None:
    r = Root("ubuntu1004")
    kver = "2.6.32-21-generic"
    base_tree(r)
    _debian_initramfs_tools(r, "most", conf_d=False)
    r.files(
        {
            "/etc/lsb-release": (
                "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=10.04\nDISTRIB_CODENAME=lucid\n"
                'DISTRIB_DESCRIPTION="Ubuntu 10.04 LTS"\n'
            ),
            "/etc/debian_version": "squeeze/sid\n",
            "/etc/fstab": (
                "# /etc/fstab: static file system information.\n"
                "proc            /proc           proc    nodev,noexec,nosuid 0       0\n"
                "# / was on /dev/sda1 during installation\n"
                "UUID=7c6b5a49-3827-4160-9f5e-4d3c2b1a0f9e /               ext4    "
                "errors=remount-ro 0       1\n"
                "# swap was on /dev/sda5 during installation\n"
                "/dev/sda5 none            swap    sw              0       0\n"
            ),
            "/etc/default/grub": (
                "GRUB_DEFAULT=0\nGRUB_HIDDEN_TIMEOUT=0\nGRUB_TIMEOUT=10\n"
                'GRUB_CMDLINE_LINUX_DEFAULT="quiet splash"\nGRUB_CMDLINE_LINUX=""\n'
            ),
            "/etc/modules": (
                "# /etc/modules: kernel modules to load at boot time.\n#\n"
                "# This file contains the names of kernel modules that should be loaded\n"
                '# at boot time, one per line. Lines beginning with "#" are ignored.\n\nlp\n'
            ),
            # Ubuntu's generic kernels build virtio in.
            f"/boot/config-{kver}": config(
                "x86_64",
                {"VIRTIO": "y", "VIRTIO_RING": "y", "VIRTIO_PCI": "y", "VIRTIO_BLK": "y",
                 "VIRTIO_NET": "y"},
                ["CONFIG_GENERIC_CPU=y"],
            ),
            f"/boot/vmlinuz-{kver}": b"\0" * 64,
            f"/boot/initrd.img-{kver}": gz(
                initramfs(kver, {"ata_piix.ko": "kernel/drivers/ata"}, ["scripts/local"])
            ),
        }
    )
    r.modules(kver, [*COMMON_KO_26])
    r.file(
        f"/lib/modules/{kver}/modules.builtin",
        "kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_ring.ko\n"
        "kernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/block/virtio_blk.ko\n"
        "kernel/drivers/net/virtio_net.ko\n",
    )


def arch() -> None:
    r = Root("arch")
    kver = "6.6.8-arch1-1"
    base_tree(r, usrmerge=True)
    r.files(
        {
            "/etc/arch-release": "",
            "/etc/fstab": (
                "# Static information about the filesystems.\n"
                "# /dev/sda2\n"
                "UUID=2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901\t/\text4\trw,relatime\t0 1\n"
                "# /dev/sda1\n"
                "/dev/sda1\tnone\tswap\tdefaults\t0 0\n"
            ),
            "/etc/default/grub": 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="loglevel=3 quiet"\n',
            "/etc/mkinitcpio.conf": (
                "# vim:set ft=sh\n"
                "# MODULES\n"
                "# The following modules are loaded before any boot hooks are\n"
                "# run.  Advanced users may wish to specify all system modules\n"
                "# in this array.  For instance:\n"
                "#     MODULES=(usbhid xhci_hcd)\n"
                "MODULES=()\n\n"
                "BINARIES=()\n\nFILES=()\n\n"
                "HOOKS=(base udev autodetect microcode modconf kms keyboard keymap "
                "consolefont block filesystems fsck)\n"
            ),
            "/etc/mkinitcpio.conf.d/.keep": "",
            "/usr/lib/modules/6.6.8-arch1-1/pkgbase": "linux\n",
            "/usr/lib/modules/6.6.8-arch1-1/vmlinuz": b"\0" * 64,
            "/boot/vmlinuz-linux": b"\0" * 64,
            "/boot/initramfs-linux.img": zst(
                initramfs(kver, {"ata_piix.ko.zst": "kernel/drivers/ata"}, ["hooks/udev"])
            ),
            "/boot/initramfs-linux-fallback.img": zst(
                initramfs(
                    kver,
                    {
                        "virtio.ko.zst": "kernel/drivers/virtio",
                        "virtio_ring.ko.zst": "kernel/drivers/virtio",
                        "virtio_pci.ko.zst": "kernel/drivers/virtio",
                        "virtio_blk.ko.zst": "kernel/drivers/block",
                        "virtio_net.ko.zst": "kernel/drivers/net",
                    },
                    ["hooks/udev"],
                )
            ),
        }
    )
    r.file("/usr/bin/mkinitcpio", "#!/bin/bash\n# mkinitcpio\n", 0o755)
    r.modules(
        kver,
        [
            "kernel/drivers/ata/ata_piix.ko.zst",
            "kernel/drivers/virtio/virtio.ko.zst",
            "kernel/drivers/virtio/virtio_ring.ko.zst",
            "kernel/drivers/virtio/virtio_pci.ko.zst",
            "kernel/drivers/block/virtio_blk.ko.zst",
            "kernel/drivers/net/virtio_net.ko.zst",
            "kernel/drivers/scsi/virtio_scsi.ko.zst",
        ],
        base="/usr/lib/modules",
    )


def offline_empty() -> None:
    """A modern (Rocky 9) root mounted offline: proc/ and sys/ are empty folders."""
    r = Root("offline-empty")
    kver = "5.14.0-362.8.1.el9_3.x86_64"
    base_tree(r, usrmerge=True)
    r.files(
        {
            "/etc/os-release": (
                'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\n'
                'ID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\nPLATFORM_ID="platform:el9"\n'
                'PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"\n'
            ),
            "/etc/redhat-release": "Rocky Linux release 9.3 (Blue Onyx)\n",
            "/etc/fstab": (
                "/dev/mapper/rl-root     /                       xfs     defaults        0 0\n"
                "UUID=4d5e6f70-8192-4a3b-b4c5-d6e7f8091a2b /boot xfs     defaults        0 0\n"
                "/dev/mapper/rl-swap     none                    swap    defaults        0 0\n"
            ),
            "/etc/default/grub": (
                'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="crashkernel=1G-4G:192M resume=/dev/mapper/'
                'rl-swap rd.lvm.lv=rl/root rd.lvm.lv=rl/swap"\n'
            ),
            "/etc/dracut.conf": "# PUT YOUR CONFIG IN separate files\n",
            "/etc/dracut.conf.d/virtio.conf": 'add_drivers+=" virtio_blk virtio_net "\n',
            "/usr/lib/dracut/dracut.conf.d/01-dist.conf": 'hostonly="yes"\nhostonly_cmdline="no"\n',
            f"/boot/config-{kver}": config(
                "x86_64",
                {"VIRTIO": "y", "VIRTIO_PCI": "y", "VIRTIO_BLK": "m", "VIRTIO_NET": "m"},
                ["CONFIG_GENERIC_CPU=y", "CONFIG_SCSI_VIRTIO=m"],
            ),
            f"/boot/vmlinuz-{kver}": b"\0" * 64,
            f"/boot/initramfs-{kver}.img": gz(
                initramfs(
                    kver,
                    {"virtio_blk.ko.xz": "kernel/drivers/block",
                     "virtio_net.ko.xz": "kernel/drivers/net"},
                    ["usr/lib/systemd/systemd"],
                )
            ),
            f"/boot/initramfs-{kver}kdump.img": b"not read: kdump images are skipped",
        }
    )
    r.file("/usr/bin/dracut", "#!/bin/bash\n# dracut\n", 0o755)
    r.modules(
        kver,
        [
            "kernel/drivers/block/virtio_blk.ko.xz",
            "kernel/drivers/net/virtio_net.ko.xz",
            "kernel/drivers/scsi/virtio_scsi.ko.xz",
        ],
        base="/usr/lib/modules",
    )


def windows() -> None:
    r = Root("windows")
    r.files(
        {
            "/Windows/System32/config/SOFTWARE": b"regf" + bytes(60),
            "/Windows/System32/drivers/etc/hosts": "127.0.0.1 localhost\r\n",
            "/Program Files/Common Files/.keep": "",
            "/pagefile.sys": b"",
        }
    )


def broken_garbage() -> None:
    """Every file detection reads holds binary garbage (fixed bytes, not random)."""
    r = Root("broken-garbage")
    junk = bytes((i * 73 + 41) % 256 for i in range(512))
    kver = "2.6.18-8.el5"
    r.dir("/proc")
    r.dir("/sys")
    r.files(
        {
            "/bin/bash": junk[:64],
            "/bin/ls": b"#!/bin/sh\n",
            "/etc/os-release": junk,
            "/etc/redhat-release": junk,
            "/etc/SuSE-release": b"\0\0\0\0",
            "/etc/debian_version": junk[:40],
            "/etc/lsb-release": junk,
            "/etc/fstab": junk,
            "/etc/modprobe.conf": junk,
            "/etc/modules": junk,
            "/etc/sysconfig/kernel": junk,
            "/etc/initramfs-tools/initramfs.conf": junk,
            "/boot/grub/grub.conf": junk,
            f"/boot/config-{kver}": junk,
            f"/boot/vmlinuz-{kver}": junk,
            # A gzip header, then garbage: the reader must fail politely.
            f"/boot/initrd-{kver}.img": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + junk,
            f"/lib/modules/{kver}/modules.builtin": junk,
            f"/lib/modules/{kver}/kernel/drivers/virtio/virtio.ko": junk,
        }
    )
    r.file("/etc/rc.d/rc.sysinit", junk, 0o755)
    r.file("/sbin/mkinitrd", junk, 0o755)


def broken_missing() -> None:
    """Almost nothing: an /etc with no release file, an empty /boot."""
    r = Root("broken-missing")
    r.dir("/etc")
    r.dir("/boot")
    r.dir("/lib/modules")


def hostile(base: str = HERE) -> None:
    """Symlinks that try to leave the root, and loops. Resolved inside the root,
    each lands on a harmless file of the guest or nowhere; the tests check that
    nothing outside the root is opened.

    This root is built at test time (``RUNTIME_ROOTS``), never committed: its
    links point at the host's ``/``, and tools that walk the repository
    following links (setuptools while building a wheel, pytest collecting)
    would wander through the whole host."""
    r = Root("hostile", base)
    r.dir("/proc")
    r.dir("/sys")
    r.files(
        {
            "/bin/bash": Link("../../../../../../../../bin/bash"),  # -> itself: a loop
            "/bin/ls": Link("/usr/bin/ls"),
            "/usr/bin/ls": Link("../../bin/ls"),  # ls <-> usr/bin/ls loop
            "/bin/echo": Link("/etc/shadow"),  # the guest's own (absent) shadow
            "/etc/os-release": Link("/etc/shadow"),
            "/etc/lsb-release": Link("../../../../../../etc/shadow"),
            "/etc/redhat-release": Link("../../../../../../../../etc/passwd"),
            "/etc/passwd": "root:x:0:0:guest root:/root:/bin/bash\n",
            "/etc/fstab": Link("/proc/self/mounts"),
            "/etc/debian_version": Link("debian_version"),  # a link to itself
            "/etc/SuSE-release": Link("/etc/SuSE-release.d/../SuSE-release"),
            "/etc/rc.d/rc.sysinit": Link("../../../../../../../etc/rc.d/rc.sysinit"),
            "/etc/modprobe.conf": Link("/root/../../../../etc/modprobe.conf"),
            "/etc/dracut.conf.d": Link("/etc/dracut.conf.d"),
            "/etc/initramfs-tools": Link("/etc"),
            "/sbin/mkinitrd": Link("/sbin/mkinitrd"),
            "/boot/grub/grub.conf": Link("/boot/grub/menu.lst"),
            "/boot/grub/menu.lst": Link("/boot/grub/grub.conf"),
            "/boot/vmlinuz-2.6.32-1": Link("/vmlinuz"),
            "/boot/initrd-2.6.32-1.img": Link("../../../../../../../boot/initrd-2.6.32-1.img"),
            "/boot/config-2.6.32-1": Link("/proc/config.gz"),
            "/lib/modules/2.6.32-1": Link("/lib/modules/2.6.32-1"),
            "/lib/modules/2.6.32-2": Link("/boot"),
            "/root/.keep": "",
        }
    )


ROOTS = {
    "rhel39": rhel39,
    "rhel39-amd": lambda: rhel39("rhel39-amd", variant="x86_64"),
    "rhel39-nopkg": lambda: rhel39("rhel39-nopkg", package=False),
    "rhel39-nodep": lambda: rhel39("rhel39-nodep", depmod=False),
    "rhel48": rhel48,
    "rhel5ga": rhel5ga,
    "rhel53": rhel53,
    "rhel6": rhel6,
    "centos5": centos5,
    "rhel5xen": rhel5xen,
    "sles11xen": sles11xen,
    "fedora19": fedora19,
    "sles11": sles11,
    "debian6": debian6,
    "debian12": debian12,
    "debian12-order": debian12_order,
    "ubuntu1004": ubuntu1004,
    "arch": arch,
    "offline-empty": offline_empty,
    "windows": windows,
    "broken-garbage": broken_garbage,
    "broken-missing": broken_missing,
}

#: Roots built into a temporary folder by the tests instead of committed.
RUNTIME_ROOTS = {"hostile": hostile}


def main(argv: list[str]) -> int:
    names = argv or list(ROOTS)
    unknown = [n for n in names if n not in ROOTS]
    if any(n in RUNTIME_ROOTS for n in names):
        print("the hostile root is built by the tests at run time, not here", file=sys.stderr)
        return 2
    if unknown:
        print(f"unknown root(s): {', '.join(unknown)}; known: {', '.join(ROOTS)}", file=sys.stderr)
        return 2
    for name in names:
        ROOTS[name]()
        print(f"wrote tests/roots/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
