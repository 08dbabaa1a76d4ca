"""The domain rules as data, each with the source it comes from.

Detection, checks and planning read their rules from here and nowhere else, so
a rule changes in one place and its source stands beside it. ``SEED`` is the
chapter "KVM Para-virtualized Drivers" of *Red Hat Enterprise Linux 6
Essentials* (``shared/seed``); ``docs/knowledge.md`` explains each rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Optional

# ---- sources -----------------------------------------------------------------

SEED = "RHEL 6 Essentials, ch. 11 'KVM Para-virtualized Drivers'"
SEED_AUTO = SEED + " (drivers loaded automatically)"
SEED_ORDER = SEED + " (module load order)"
SEED_SYSINIT = SEED + " ('Loading the para-virtualized drivers with the sysinit script')"
SEED_INITRD = SEED + " ('Adding the para-virtualized drivers to the initrd RAM disk')"
SEED_CPU = SEED + " ('AMD64 and Intel 64 issues')"
SEED_NET = SEED + " ('Network performance issues')"
SEED_SWAP = SEED + " ('Para-virtualized driver swap partition issue')"
SEED_PCI = SEED + " (note on PCI devices)"
SEED_ORIG = SEED + " ('Modified initrd files')"
RHEL5_VIRT_GUIDE = (
    "RHEL 5 Virtualization Guide, 'Para-virtualization Restrictions and Support', table 12.1"
)
VIRT_V2V = "libguestfs virt-v2v convert/convert_linux.ml"
#: Why GSO/TSO advice is a troubleshooting step today (virtio-net with vhost-net offloads).
VIRT_V2V_NOTES = "virtio-net with vhost-net (current hosts keep GSO/TSO on by default)"
OS_RELEASE = "os-release(5)"
DRACUT_CONF = "dracut.conf(5)"
INITRAMFS_TOOLS = "initramfs-tools(7), initramfs.conf(5)"
MKINITCPIO = "mkinitcpio(8)"
NASH_MKINITRD = "mkinitrd(8) (nash, RHEL 3-5)"
SUSE_MKINITRD = "mkinitrd(8) (SUSE), /etc/sysconfig/kernel"
PCI_IDS = "virtio 1.x spec 4.1.2 (PCI Device Discovery); pci.ids"

# ---- modules and their order (the guide) -------------------------------------------

#: The guide's five modules in the one order that works (blk and net may swap).
SEED_MODULES: tuple[str, ...] = ("virtio", "virtio_ring", "virtio_blk", "virtio_net", "virtio_pci")
BLOCK_MODULES: tuple[str, ...] = ("virtio", "virtio_ring", "virtio_blk", "virtio_pci")
NET_MODULES: tuple[str, ...] = ("virtio", "virtio_net", "virtio_pci")
#: Kernel config symbol for each module.
CONFIG_SYMBOLS: dict[str, str] = {
    "virtio": "CONFIG_VIRTIO",
    "virtio_ring": "CONFIG_VIRTIO_RING",
    "virtio_blk": "CONFIG_VIRTIO_BLK",
    "virtio_net": "CONFIG_VIRTIO_NET",
    "virtio_pci": "CONFIG_VIRTIO_PCI",
    "virtio_scsi": "CONFIG_SCSI_VIRTIO",
}
#: virt-v2v's initrd list; virtio_scsi is added only where the kernel has it.
V2V_INITRD_MODULES: tuple[str, ...] = (
    "virtio",
    "virtio_ring",
    "virtio_blk",
    "virtio_scsi",
    "virtio_net",
    "virtio_pci",
)
#: Every name the initrd reader reports as "a virtio module".
VIRTIO_MODULE_NAMES = frozenset(V2V_INITRD_MODULES) | {"virtio_console", "virtio_balloon"}


def canonical_module(name: str) -> str:
    """Module names use ``-`` and ``_`` interchangeably; file names add suffixes.

    >>> canonical_module("virtio-blk.ko.xz")
    'virtio_blk'
    """
    base = name.rsplit("/", 1)[-1]
    base = re.sub(r"\.(ko|o)(\.(gz|xz|zst|bz2|lzma))?$", "", base)
    return base.replace("-", "_")


def modules_for(block: bool, net: bool) -> tuple[str, ...]:
    """The guide's list for the chosen drivers, in load order."""
    if block and net:
        return SEED_MODULES
    if block:
        return BLOCK_MODULES
    if net:
        return NET_MODULES
    return ()


def order_violation(names: Sequence[str]) -> Optional[int]:
    """Index of the first name that breaks the guide's order, or None.

    Only the five seed modules are considered; others are ignored. A module
    may not come before one that the guide loads earlier, except that
    ``virtio_blk`` and ``virtio_net`` may swap.

    >>> order_violation(["virtio", "virtio_ring", "virtio_net", "virtio_blk", "virtio_pci"])
    >>> order_violation(["virtio_pci", "virtio"])
    1
    """
    rank = {"virtio": 0, "virtio_ring": 1, "virtio_blk": 2, "virtio_net": 2, "virtio_pci": 3}
    highest = -1
    for i, raw in enumerate(names):
        name = canonical_module(raw)
        if name not in rank:
            continue
        if rank[name] < highest:
            return i
        highest = max(highest, rank[name])
    return None


def order_matters(kernel_version: Optional[str]) -> bool:
    """True where the load order is a hard rule: the 2.4 kernels of RHEL 3.

    The guide's order is written for the RHEL 3.9 virtio package (2.4.21,
    modutils): there each module must be loaded after the ones it uses, and
    the probing order decides the vdX numbering (virt-v2v: "If we change it,
    RHEL 3 KVM guests won't boot"). From 2.6 on, modprobe loads the
    dependencies named in ``modules.dep`` first and the driver core binds a
    virtio driver whichever of it and ``virtio_pci`` comes first, so another
    order still works. Unknown kernel: be strict.

    >>> order_matters("2.4.21-58.EL"), order_matters("6.1.0-50-amd64")
    (True, False)
    """
    if not kernel_version:
        return True
    parts = version_tuple(kernel_version)
    return parts[:2] < (2, 6)


def is_xen_kernel(version: str) -> bool:
    """A Xen paravirtual kernel (``2.6.18-128.el5xen``, ``2.6.16.60-0.21-xen``).

    These run only as Xen guests and never get virtio (virt-v2v skips
    ``ki_is_xen_pv_only_kernel``): they are named and left out.

    >>> is_xen_kernel("2.6.18-128.el5xen"), is_xen_kernel("2.6.18-128.el5")
    (True, False)
    """
    return "xen" in version.lower()


# ---- when the drivers come by themselves (the guide) -------------------------------

#: RHEL major -> first minor release that loads the drivers by itself.
RHEL_AUTO_FROM: dict[int, int] = {3: 9, 4: 8, 5: 3, 6: 0}
#: Any kernel this new or newer loads them (seed: "based on the 2.6.27 kernel").
KERNEL_AUTO_FROM: tuple[int, ...] = (2, 6, 27)
#: Distros whose versions follow RHEL's numbering for this rule.
RHEL_LIKE_IDS = frozenset({"rhel", "centos", "scientific", "oracle", "ol", "rocky", "almalinux"})


def version_tuple(text: str) -> tuple[int, ...]:
    """Leading numeric parts of a version: ``"2.6.18-92.el5"`` -> ``(2, 6, 18, 92, 5)``.

    >>> version_tuple("2.6.9-89.EL")
    (2, 6, 9, 89)
    """
    return tuple(int(n) for n in re.findall(r"\d+", text))


def kernel_sort_key(version: str) -> tuple[int, ...]:
    """Sort key for kernel versions (numeric parts, in order)."""
    return version_tuple(version)


def kernel_is_auto(version: str) -> bool:
    """True for kernels 2.6.27 and newer (the guide)."""
    return version_tuple(version)[:3] >= KERNEL_AUTO_FROM


def rhel_is_auto(distro_id: str, version: str) -> Optional[bool]:
    """The guide's RHEL rule; None when it does not apply to this distro."""
    if distro_id not in RHEL_LIKE_IDS:
        return None
    parts = version_tuple(version)
    if not parts:
        return None
    major = parts[0]
    minor = parts[1] if len(parts) > 1 else 0
    if major > max(RHEL_AUTO_FROM):
        return True
    if major not in RHEL_AUTO_FROM:
        return False
    return minor >= RHEL_AUTO_FROM[major]


# ---- which package for which CPU (seed, corrected) ---------------------------

VENDOR_INTEL = "GenuineIntel"
VENDOR_AMD = "AuthenticAMD"


def package_arch(machine: Optional[str], vendor: Optional[str]) -> Optional[str]:
    """The guide's package choice: ``ia32e`` on Intel 64, ``x86_64`` on AMD64.

    32-bit guests: ``i686`` on Intel, ``athlon`` on AMD. None when unknown.

    >>> package_arch("x86_64", "GenuineIntel")
    'ia32e'
    >>> package_arch("x86_64", "AuthenticAMD")
    'x86_64'
    """
    if machine is None or vendor not in (VENDOR_INTEL, VENDOR_AMD):
        return None
    if machine in ("x86_64", "amd64", "ia32e"):
        return "ia32e" if vendor == VENDOR_INTEL else "x86_64"
    if re.fullmatch(r"i[3-6]86", machine) or machine == "athlon":
        return "i686" if vendor == VENDOR_INTEL else "athlon"
    return None


#: RHEL majors whose kernels come in processor-specific variants (RHEL 5 guide).
RHEL_CPU_VARIANT_MAJORS = frozenset({3})
#: What each RHEL 3 kernel/package variant is built for (guide 11.1, RHEL 5 guide table 12.1).
RHEL3_VARIANTS: dict[str, str] = {
    "ia32e": "Intel 64",
    "x86_64": "AMD64",
    "athlon": "32-bit AMD",
    "i686": "32-bit Intel",
}


def rhel_major(distro_id: str, version: str) -> Optional[int]:
    """The major release of a RHEL-like distro, None for anything else.

    >>> rhel_major("centos", "3.9")
    3
    >>> rhel_major("debian", "12")
    """
    if distro_id not in RHEL_LIKE_IDS:
        return None
    parts = version_tuple(version)
    return parts[0] if parts else None


def drivers_from_package(distro_id: str, version: str) -> bool:
    """True where the virtio modules come from a separately installed package.

    RHEL 3's 2.4.21 kernels have no virtio at all: the five modules (``.o``)
    come from the virtio (kmod) package built per kernel variant (guide 11.1;
    virt-v2v's note on the RHEL 3 kmod-virtio postinstall). RHEL 4.8, 5.3 and
    6 ship them in the kernel, so no per-vendor package exists there.
    """
    return rhel_major(distro_id, version) in RHEL_CPU_VARIANT_MAJORS


def package_fix(variant: Optional[str]) -> str:
    """The one fix for missing modules on RHEL 3, with the variant named.

    >>> package_fix("ia32e")
    'install the virtio package built for this kernel variant: ia32e (Intel 64)'
    """
    if variant is None:
        return (
            "install the virtio package built for this kernel variant: ia32e on Intel 64, "
            "x86_64 on AMD64 (the vendor and the installed kernel variant could not be read; "
            "check them with uname -m, /proc/cpuinfo and rpm -q kernel)"
        )
    what = RHEL3_VARIANTS.get(variant)
    return "install the virtio package built for this kernel variant: " + (
        f"{variant} ({what})" if what else variant
    )


# ---- initrd tools (per tool man page; virt-v2v) ------------------------------

INITRD_TOOLS: dict[str, dict[str, str]] = {
    "mkinitrd": {
        "name": "mkinitrd (nash, RHEL 3-5)",
        "source": NASH_MKINITRD,
        "list": "zcat IMAGE | cpio -t",
    },
    "dracut": {"name": "dracut", "source": DRACUT_CONF, "list": "lsinitrd IMAGE"},
    "suse-mkinitrd": {"name": "mkinitrd (SUSE)", "source": SUSE_MKINITRD, "list": "lsinitrd IMAGE"},
    "initramfs-tools": {
        "name": "initramfs-tools",
        "source": INITRAMFS_TOOLS,
        "list": "lsinitramfs IMAGE",
    },
    "mkinitcpio": {"name": "mkinitcpio", "source": MKINITCPIO, "list": "lsinitcpio IMAGE"},
}
#: Kernels that cannot unpack an initramfs cpio: their initrd is an ext2 file
#: system image, which nash mkinitrd of that era builds with ``losetup`` and
#: ``mount -t ext2`` of an image file (KNOWLEDGE.md section 4; mkinitrd(8)).
LOOP_IMAGE_KERNELS: tuple[str, ...] = ("2.2.", "2.4.")


def builds_on_loop(argv: Sequence[str]) -> bool:
    """True for a nash ``mkinitrd ... IMAGE KVER`` of a 2.2/2.4 kernel.

    Such a rebuild mounts its image on a loop device, so the sandbox has to
    let it (``virtio_wizard.targets.sandbox``). The kernel version is the last word.

    >>> builds_on_loop(["mkinitrd", "-f", "/boot/initrd-2.4.21-4.EL.img", "2.4.21-4.EL"])
    True
    >>> builds_on_loop(["mkinitrd", "-f", "/boot/initrd-2.6.18-8.el5.img", "2.6.18-8.el5"])
    False
    """
    if len(argv) < 2 or argv[0].rsplit("/", 1)[-1] != "mkinitrd":
        return False
    return argv[-1].startswith(LOOP_IMAGE_KERNELS)


#: Suffix of the file an initrd is built into before it is checked and renamed
#: over the image (apply; never a name the tools or boot loaders use).
INITRD_BUILD_SUFFIX = ".virtio-wizard.new"


DRACUT_DROPIN = "/etc/dracut.conf.d/virtio.conf"
INITRAMFS_TOOLS_MODULES = "/etc/initramfs-tools/modules"
MKINITCPIO_CONF = "/etc/mkinitcpio.conf"
MKINITCPIO_DROPIN = "/etc/mkinitcpio.conf.d/virtio.conf"
SUSE_SYSCONFIG_KERNEL = "/etc/sysconfig/kernel"

# ---- the sysinit path (the guide) --------------------------------------------------

RC_SYSINIT = "/etc/rc.d/rc.sysinit"
RC_MODULES = "/etc/rc.modules"
SYSCONFIG_MODULES = "/etc/sysconfig/modules/virtio.modules"
ETC_MODULES = "/etc/modules"
MODULES_LOAD_D = "/etc/modules-load.d/virtio.conf"
#: The three lines the guide's edit goes after (TAB before /etc/rc.modules).
RC_MODULES_BLOCK: tuple[str, ...] = ("if [ -f /etc/rc.modules ]; then", "\t/etc/rc.modules", "fi")
#: The sysinit-style files a user may choose, and what each expects.
SYSINIT_FILES: dict[str, str] = {
    RC_SYSINIT: "Red Hat's edit: modprobe lines after the /etc/rc.modules block",
    RC_MODULES: "executable script run by rc.sysinit (#!/bin/sh, mode 0755)",
    SYSCONFIG_MODULES: "executable script run by rc.sysinit on RHEL 5 and later",
    ETC_MODULES: "one module per line, loaded at boot (Debian, Ubuntu)",
    MODULES_LOAD_D: "one module per line, loaded by systemd-modules-load",
}

# ---- disk names (seed; virt-v2v) ----------------------------------------------

#: Legacy disk name -> (prefix, disk letter, partition). hd* is IDE, sd* SCSI/SATA.
LEGACY_DISK_RE = re.compile(r"^/dev/(hd|sd|xvd)([a-z]+)(\d*)$")
VIRTIO_DISK_RE = re.compile(r"^/dev/vd([a-z]+)(\d*)$")

# ---- PCI ids (virtio spec; pci.ids) -------------------------------------------

VIRTIO_VENDOR = "0x1af4"
#: Transitional (legacy) device ids; the virtio type is in subsystem_device.
VIRTIO_LEGACY_IDS: dict[str, str] = {
    "0x1000": "virtio-net",
    "0x1001": "virtio-blk",
    "0x1002": "virtio-balloon",
    "0x1003": "virtio-console",
    "0x1004": "virtio-scsi",
    "0x1005": "virtio-rng",
    "0x1009": "virtio-other",  # 9p transport
}
#: Virtio device type -> kind; modern device id is 0x1040 + type.
VIRTIO_TYPES: dict[int, str] = {
    1: "virtio-net",
    2: "virtio-blk",
    3: "virtio-console",
    4: "virtio-rng",
    5: "virtio-balloon",
    8: "virtio-scsi",
    19: "virtio-vsock",
}
EMULATED_IDS: dict[tuple[str, str], str] = {
    ("0x8086", "0x7010"): "ide",  # PIIX3 IDE
    ("0x8086", "0x7111"): "ide",  # PIIX4 IDE
    ("0x8086", "0x2922"): "ahci",  # ICH9 AHCI
    ("0x8086", "0x100e"): "e1000",
    ("0x8086", "0x10d3"): "e1000",  # e1000e
    ("0x10ec", "0x8139"): "rtl8139",
}


def pci_kind(vendor: str, device: str, subsystem_device: Optional[str] = None) -> str:
    """Classify a PCI function by its ids (hex strings as sysfs prints them).

    >>> pci_kind("0x1af4", "0x1042")
    'virtio-blk'
    >>> pci_kind("0x1af4", "0x1000")
    'virtio-net'
    """
    vendor, device = vendor.lower(), device.lower()
    if vendor == VIRTIO_VENDOR:
        try:
            dev = int(device, 16)
        except ValueError:
            return "virtio-other"
        if 0x1000 <= dev <= 0x103F:
            kind = VIRTIO_LEGACY_IDS.get(device)
            if kind is None and subsystem_device:
                try:
                    kind = VIRTIO_TYPES.get(int(subsystem_device, 16))
                except ValueError:
                    kind = None
            return kind or "virtio-other"
        if 0x1040 <= dev <= 0x107F:
            return VIRTIO_TYPES.get(dev - 0x1040, "virtio-other")
        return "virtio-other"
    return EMULATED_IDS.get((vendor, device), "other")


#: Guest PCI slots: 32, 4 fixed, 28 free, 8 functions each (the guide).
PCI_SLOTS_TOTAL = 32
PCI_SLOTS_FIXED = 4
PCI_SLOTS_FREE = PCI_SLOTS_TOTAL - PCI_SLOTS_FIXED
PCI_FUNCTIONS = 8
#: Warn from this many used slots on.
PCI_SLOTS_WARN = 24

# ---- host-side network tuning (the guide) ------------------------------------------

GSO_TSO_COMMANDS: tuple[str, ...] = (
    "ethtool -k IFACE",
    "ethtool -K IFACE gso off",
    "ethtool -K IFACE tso off",
)


def unique(items: Iterable[str]) -> list[str]:
    """Items in first-seen order without repeats."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


# ---- the hypervisor half: legacy-only virtio drivers (virtio 1.0 spec; libvirt) ---

VIRTIO_1_SPEC = "OASIS virtio 1.0 spec, 4.1.2 (legacy and transitional PCI devices)"
LIBVIRT_TRANSITIONAL = (
    "libvirt formatdomain 'Virtio-related options' (model virtio-transitional, libvirt 5.2); "
    "QEMU virtio-pci disable-legacy=auto (legacy off on PCI Express ports)"
)
TP_QEMU_VIRTIO_MODE = (
    "autotest/tp-qemu qemu/tests/cfg/virtio_mode.cfg (Red Hat's QE runs modern-only "
    "virtio devices on every RHEL guest but RHEL.6)"
)
#: Upstream Linux got the virtio 1.0 ("modern") PCI driver in 4.0
#: (drivers/virtio/virtio_pci_modern.c). Older kernels drive only legacy
#: (0.9.5) devices: on q35, libvirt puts a ``model='virtio'`` device on a PCIe
#: root port, where QEMU turns its legacy interface off, and such a guest
#: sees no disk and no NIC. ``virtio-transitional`` keeps both interfaces
#: (libvirt places it on a conventional PCI slot); i440fx keeps legacy on.
MODERN_VIRTIO_KERNEL: tuple[int, ...] = (4, 0)
#: Releases whose own kernels predate virtio 1.0 and got no backport
#: (the last release of each line named): RHEL <= 6 (2.6.32), SLES <= 11
#: (3.0), Debian <= 8 (3.16), Ubuntu <= 14.04 (3.13). RHEL 7's 3.10.0 kernel
#: is *not* legacy-only: Red Hat backported the modern driver, and its QE
#: runs modern-only devices on RHEL 7 guests (TP_QEMU_VIRTIO_MODE).
LEGACY_ONLY_LAST: dict[str, tuple[int, ...]] = {
    "redhat-like": (6,),
    "sles": (11,),
    "debian": (8,),
    "ubuntu": (14, 4),
}
#: Distros whose kernel carries the virtio 1.0 backport although its version is < 4.0.
MODERN_BACKPORT_FROM: dict[str, tuple[int, ...]] = {"redhat-like": (7,)}


def legacy_only_virtio(
    distro_id: str, version: str, kernel: Optional[str]
) -> tuple[Optional[bool], str]:
    """Whether the guest's virtio drivers predate virtio 1.0, and why.

    The kernel that boots next decides; its version is read against 4.0, with
    the RHEL 7 backport as the one known exception; the release table decides
    when no kernel is known. None when neither says.

    >>> legacy_only_virtio("centos", "6.10", "2.6.32-754.el6.x86_64")[0]
    True
    >>> legacy_only_virtio("rhel", "7.9", "3.10.0-1160.el7.x86_64")[0]
    False
    >>> legacy_only_virtio("debian", "12", "6.1.0-18-amd64")[0]
    False
    """
    key = "redhat-like" if distro_id in RHEL_LIKE_IDS else distro_id
    release = version_tuple(version)
    backport = MODERN_BACKPORT_FROM.get(key)
    if kernel:
        kver = version_tuple(kernel)[:2]
        if kver >= MODERN_VIRTIO_KERNEL:
            return False, f"kernel {kernel} has the virtio 1.0 driver (Linux 4.0 and newer)"
        if backport is not None and release and release[: len(backport)] >= backport:
            return False, f"kernel {kernel} of release {version} carries the virtio 1.0 backport"
        return True, f"kernel {kernel} predates virtio 1.0 (Linux 4.0)"
    last = LEGACY_ONLY_LAST.get(key)
    if last is None or not release:
        return None, "the guest's kernel is not known"
    if release[: len(last)] <= last:
        return True, f"release {version}'s kernels predate virtio 1.0"
    return False, f"release {version}'s kernels have the virtio 1.0 driver"
