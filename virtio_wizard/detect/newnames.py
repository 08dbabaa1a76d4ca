"""The virtio name each legacy disk name becomes.

The new letters follow the old names' order (hda, hdb, ... then sda, ...):
the hypervisor presents virtio disks in the order they are attached, so with
more than one disk, or a gap in the letters, the mapping is marked a guess.
Kept apart from ``disks.py``, which finds every place a guest names a disk:
this module only answers what a name becomes, from names alone (no Target),
so the host-side domain edit uses the same letter sequence.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Optional

from ..facts import DiskRef
from ..knowledge import LEGACY_DISK_RE

__all__ = ["Disk", "KernelName", "disk_letters", "legacy_disk", "propose_names"]

#: A legacy disk: (prefix, letters), e.g. ("hd", "c") for /dev/hdc and /dev/hdc1.
Disk = tuple[str, str]

#: A QEMU IDE/AHCI disk without a user-set serial. QEMU's hw/ide/core.c
#: (``ide_init1``: ``static int drive_serial = 1; s->drive_serial =
#: drive_serial++;``; ``ide_init_drive``: ``snprintf(s->drive_serial_str, ...,
#: "QM%05d", s->drive_serial)``) numbers the drives from 1 in the order the
#: IDE units are set up (primary master, primary slave, secondary master,
#: ...), so ``QM00001`` is unit 0 (hda), ``QM00002`` unit 1 (hdb), and so on.
#: libata shows the same serial as ``scsi-SATA_QEMU_HARDDISK_QM00001``.
_QEMU_IDE_BY_ID_RE = re.compile(
    r"^/dev/disk/by-id/(?:ata-|scsi-SATA_)QEMU_HARDDISK_QM(\d{5})(?:-part(\d+))?$"
)


def disk_letters(index: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa (the kernel's disk letter sequence)."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = string.ascii_lowercase[rest] + out
    return out


def _letter_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - ord("a") + 1)
    return n - 1


_FAMILY_ORDER = {"hd": 0, "sd": 1, "xvd": 2}


def propose_names(
    refs: list[DiskRef],
    optical: Iterable[Disk] = (),
    resolved: Optional[Mapping[str, str]] = None,
) -> list[DiskRef]:
    """Fill ``proposed``/``guessed`` on legacy references.

    Distinct legacy disks in old-name order (hda, hdb, ..., sda, ...) become
    vda, vdb, ...; ``guessed`` when more than one disk is named or the only
    one is not the first of its kind (a gap: the hypervisor decides). Disks
    in ``optical`` keep their names and take no letter.

    A ``/dev/disk/...`` name counts as the kernel name ``resolved`` gives it
    (a live guest's link), else, for a QEMU IDE disk, as the disk its serial
    numbers (see ``_qemu_ide_disk``), always ``guessed``; so ``/dev/hda1``
    and ``by-id/ata-QEMU_HARDDISK_QM00001-part2`` share one letter. Other
    bus-specific names stay without a proposal.

    >>> r = propose_names([DiskRef("/etc/fstab", 1, "/dev/hda3", "legacy")])[0]
    >>> r.proposed, r.guessed
    ('/dev/vda3', False)
    >>> qm = "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part2"
    >>> refs = [DiskRef("/etc/fstab", n, d, "legacy") for n, d in ((1, "/dev/hda1"), (2, qm))]
    >>> [(r.proposed, r.guessed) for r in propose_names(refs)]
    [('/dev/vda1', False), ('/dev/vda2', True)]
    """
    skip = set(optical)
    links = dict(resolved or {})
    family = _ide_family(links.get(r.device, r.device) for r in refs)
    names = [_kernel_name(ref, links, family) for ref in refs]
    disks = {name[0] for name in names if name is not None and name[0] not in skip}
    order = sorted(
        disks, key=lambda d: (_FAMILY_ORDER.get(d[0], 9), len(d[1]), _letter_index(d[1]))
    )
    new = {disk: "vd" + disk_letters(i) for i, disk in enumerate(order)}
    guessed = len(order) > 1 or any(_letter_index(letters) != 0 for _, letters in order)
    out = []
    for ref, name in zip(refs, names):
        if name is not None and name[0] in new:
            disk, part, deduced = name
            ref = replace(ref, proposed=f"/dev/{new[disk]}{part}", guessed=guessed or deduced)
        out.append(ref)
    return out


#: (disk, partition digits, True when the disk was deduced rather than named)
KernelName = tuple[Disk, str, bool]


def _kernel_name(ref: DiskRef, links: Mapping[str, str], family: str) -> Optional[KernelName]:
    """The kernel disk a legacy reference names, when it can be known."""
    if ref.scheme != "legacy":
        return None
    match = LEGACY_DISK_RE.match(links.get(ref.device, ref.device))
    if match:
        return (match.group(1), match.group(2)), match.group(3), False
    return _qemu_ide_disk(ref.device, family)


def _qemu_ide_disk(device: str, family: str) -> Optional[KernelName]:
    """The disk a QEMU IDE by-id name numbers: ``QM0000N`` is IDE unit N-1.

    >>> _qemu_ide_disk("/dev/disk/by-id/ata-QEMU_HARDDISK_QM00002-part5", "sd")
    (('sd', 'b'), '5', True)
    >>> _qemu_ide_disk("/dev/disk/by-id/ata-WDC_WD10EZEX-00BN5A0_WD-WCC3F", "hd") is None
    True
    """
    match = _QEMU_IDE_BY_ID_RE.match(device)
    if not match or int(match.group(1)) < 1:
        return None
    return (family, disk_letters(int(match.group(1)) - 1)), match.group(2) or "", True


def _ide_family(devices: Iterable[str]) -> str:
    """How this guest's kernel names its IDE disks: ``hd`` or ``sd`` (libata).

    The old IDE driver names them hdX, libata (SLES 11, RHEL 6 and later) sdX;
    the guest's other references (and the kernel names its live links point
    at) tell which: any ``/dev/hdX`` means the old driver, else any
    ``/dev/sdX`` means libata. With neither the choice does not change the
    order, and ``hd`` is kept.
    """
    families = {d[0] for d in map(legacy_disk, devices) if d is not None}
    if "hd" in families or "sd" not in families:
        return "hd"
    return "sd"


def legacy_disk(device: str) -> Optional[Disk]:
    match = LEGACY_DISK_RE.match(device)
    return (match.group(1), match.group(2)) if match else None
