"""PCI functions in the guest's sysfs, classified for this wizard.

Only the guest's sysfs says which disk and network controllers the guest
sees today (PIIX IDE and e1000 before the switch, virtio after). Real sysfs
device entries are symlinks into ``/sys/devices``; fixture trees may use plain
folders: the Target resolves both inside the root, so neither can lead out.
"""

from __future__ import annotations

import posixpath
from typing import Optional

from ..facts import PciDevice, Unreadable
from ..knowledge import pci_kind
from ..targets import Target
from ._read import note, read_guest_text

__all__ = ["detect_devices", "PCI_DEVICES"]

PCI_DEVICES = "/sys/bus/pci/devices"


def detect_devices(
    target: Target, problems: Optional[list[Unreadable]] = None
) -> tuple[PciDevice, ...]:
    """Every PCI function with readable ``vendor`` and ``device`` ids, by slot.

    A function whose ids are missing or not hex is skipped and noted in
    ``problems``; ``driver`` is the basename of the ``driver`` link, None
    when no driver is bound. An offline root has none: its ``sys`` (a bind
    mount for a rescue chroot, or a leftover) shows the machine running the
    wizard, not the guest's virtual hardware.
    """
    if not target.live:
        return ()
    devices = []
    for slot in target.listdir(PCI_DEVICES):
        base = f"{PCI_DEVICES}/{slot}"
        vendor = _hex_attr(target, f"{base}/vendor", problems)
        device = _hex_attr(target, f"{base}/device", problems)
        if vendor is None or device is None:
            note(problems, base, "no readable vendor/device id")
            continue
        subsystem = _hex_attr(target, f"{base}/subsystem_device", problems)
        pci_class = _hex_attr(target, f"{base}/class", problems)
        devices.append(
            PciDevice(
                slot=slot,
                vendor=vendor,
                device=device,
                kind=pci_kind(vendor, device, subsystem),
                driver=_driver(target, f"{base}/driver"),
                subsystem_device=subsystem,
                pci_class=pci_class,
            )
        )
    return tuple(devices)


def _hex_attr(target: Target, path: str, problems: Optional[list[Unreadable]]) -> Optional[str]:
    """A sysfs id such as ``0x1af4`` (lower case), or None when absent or not hex."""
    if not target.exists(path):
        return None
    text = read_guest_text(target, path, problems, limit=4096)
    if text is None:
        return None
    value = text.strip().lower()
    if not value.startswith("0x"):
        value = "0x" + value
    try:
        int(value, 16)
    except ValueError:
        note(problems, path, f"not a hexadecimal id: {text.strip()[:40]!r}")
        return None
    return value


def _driver(target: Target, path: str) -> Optional[str]:
    """The bound driver's name: the basename of the ``driver`` symlink."""
    if not target.is_symlink(path):
        return None
    link = target.readlink(path)
    if not link:
        return None
    name = posixpath.basename(link.rstrip("/"))
    return name or None
