"""Checks on disk names.

References that must become ``/dev/vdX``, and bus-specific names (by-id,
by-path) that virtio does not show.
"""

from __future__ import annotations

from .. import knowledge as kn
from ..facts import Facts
from ..finding import WARNING, Finding, Remedy, Setting, choose

__all__ = ["check_legacy_disk_names", "check_disk_names_unmapped"]


def check_legacy_disk_names(facts: Facts) -> list[Finding]:
    """References to /dev/hdX, /dev/sdX that must become /dev/vdX (the guide's swap issue)."""
    refs = [r for r in facts.disk_refs if r.proposed]
    if not refs:
        return []
    listed = "; ".join(f"{r.file}:{r.line} {r.device} -> {r.proposed}" for r in refs)
    swap = [
        r
        for r in refs
        if (r.mountpoint == "swap" or r.context in _RESUME_CONTEXTS)
        and r.device.startswith(("/dev/hd", "/dev/disk/"))
    ]
    swap_note = ""
    if swap:
        swap_note = (
            f"; swap on {', '.join(kn.unique(r.device for r in swap))} is silently lost after "
            "the switch"
        )
    guessed = kn.unique(r.device for r in refs if r.guessed)
    guess_note = ""
    if guessed:
        guess_note = (
            f" The new letters for {', '.join(guessed)} are a guess from the old order: check the "
            "order the hypervisor presents the disks in."
        )
    uuid_note = ""
    options = [choose(fix_disk_names=True)]
    if any(r.uuid for r in refs):
        uuid_note = " Where a UUID is known, UUID= survives any renaming."
        options.append(choose(fix_disk_names=True, use_uuid=True))
    return [
        Finding(
            "legacy-disk-names",
            WARNING,
            f"{len(refs)} disk reference{'s' if len(refs) != 1 else ''} must change for "
            f"virtio: {listed}{swap_note}.",
            Remedy(
                "Let the wizard rewrite them or edit each line to the "
                f"/dev/vd* name shown.{guess_note}{uuid_note}",
                tuple(options),
            ),
            kn.SEED_SWAP + "; " + kn.VIRT_V2V,
        )
    ]


#: DiskRef contexts naming the root (kernel ``root=``) and the resume/swap device.
_ROOT_CONTEXTS = ("grub-root", "grub-kernel-root", "grub2-root", "bls-root")
_RESUME_CONTEXTS = (
    "swaps",
    "grub-resume",
    "grub2-resume",
    "bls-resume",
    "initramfs-resume",
    "dracut-conf",
)


#: What breaks when a reference that cannot be renamed is left as it is.
_LOST_ROOT = "the guest will not find its root file system"
_LOST_SWAP = "swap is silently lost"


def check_disk_names_unmapped(facts: Facts) -> list[Finding]:
    """Bus-specific names (by-id ata-/scsi-/wwn-, by-path) with no virtio name to put instead.

    A virtio disk has none of these links (at most ``by-id/virtio-<serial>``),
    so the reference dies with the switch; unless the name is QEMU's own IDE
    serial or a live link told the kernel name, the wizard cannot know which
    ``/dev/vdX`` it becomes, and only ``UUID=``/``LABEL=`` is safe.
    """
    refs = [r for r in facts.disk_refs if r.scheme == "legacy" and not r.proposed]
    if not refs:
        return []
    one = len(refs) == 1
    listed = "; ".join(f"{r.file}:{r.line} {r.device}" for r in refs)
    harm = []
    if any(r.mountpoint == "/" or r.context in _ROOT_CONTEXTS for r in refs):
        harm.append(_LOST_ROOT)
    if any(r.mountpoint == "swap" or r.context in _RESUME_CONTEXTS for r in refs):
        harm.append(_LOST_SWAP)
    harm_note = f": {' and '.join(harm)}" if harm else ""
    fix = "Change them to UUID= or LABEL= (blkid shows them) before switching the disk to virtio."
    known = kn.unique(r.device for r in refs if r.uuid)
    options: tuple[tuple[Setting, ...], ...] = ()
    if known:
        fix += f" For {', '.join(known)} the UUID is known: the wizard can write UUID= there."
        options = (choose(use_uuid=True),)
    if any(r.context == "device.map" for r in refs):
        fix += " In /boot/grub/device.map name the virtio disk itself (/dev/vda)."
    return [
        Finding(
            "disk-names-unmapped",
            WARNING,
            f"{len(refs)} disk reference{'' if one else 's'} {'names' if one else 'name'} a "
            "disk by its emulated bus, which virtio does not show, and no /dev/vd* name can be "
            f"told for {'it' if one else 'them'}: {listed}. After the switch "
            f"{'that name is' if one else 'those names are'} gone{harm_note}.",
            Remedy(fix, options),
            kn.SEED_SWAP + "; " + kn.VIRT_V2V,
        )
    ]
