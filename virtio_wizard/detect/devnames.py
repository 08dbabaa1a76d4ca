"""How a guest names a device, and which config files stand behind their names.

Shared by the detectors that read disk names (``disks``, ``grubenv``,
``rootstack``, ``bootentries``): the naming scheme of one reference
(``/dev/hda3`` legacy, ``UUID=`` uuid, an LVM volume, a bus-specific
``/dev/disk/by-id`` name), and the real files behind a list of config paths
(links resolved, each file once).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Optional

from ..knowledge import LEGACY_DISK_RE, VIRTIO_DISK_RE
from ..targets import Target

__all__ = ["classify_device", "real_files"]

#: Folders under /dev that are not LVM volume groups.
_NOT_VG = frozenset(
    {"disk", "mapper", "md", "cciss", "ida", "rd", "loop", "block", "char", "bus", "input"}
    | {"pts", "shm", "fd", "net", "snd", "dri", "usb", "cdroms", "discs", "ataraid", "i2o"}
)
_BY_ID = "/dev/disk/by-id/"
_BY_PATH = "/dev/disk/by-path/"
#: by-id prefixes udev derives from the bus the disk sits on (udev's
#: 60-persistent-storage.rules: ``ata-$ID_SERIAL``, ``scsi-$ID_SERIAL``,
#: ``wwn-$ID_WWN_WITH_EXTENSION``, ``nvme-...``). A virtio-blk disk gets none
#: of them, only ``virtio-$ID_SERIAL`` when it has a serial, so each one
#: stops existing after the switch. ``usb-`` names are left out on purpose:
#: a USB disk stays on the emulated USB controller and keeps its name.
_BUS_BY_ID_PREFIXES = ("ata-", "scsi-", "wwn-", "nvme-")
#: by-path buses that go away with the emulated disk controller; a path
#: through USB (``...-usb-...-scsi-...``) stays, as does iSCSI (``ip-...``).
_BUS_BY_PATH_RE = re.compile(r"-(?:ata|ide|scsi|sas|nvme)-")
#: QEMU's optical drives (``ata-QEMU_DVD-ROM_QM00003``) stay emulated: their names hold.
_OPTICAL_BY_ID_RE = re.compile(r"(?:CD|DVD)-ROM", re.IGNORECASE)


def classify_device(device: str) -> Optional[str]:
    """The naming scheme of a device reference, or None when it names no device.

    >>> classify_device("/dev/hda3"), classify_device("UUID=0a1b"), classify_device("proc")
    ('legacy', 'uuid', None)
    >>> classify_device("/dev/VolGroup00/LogVol00")
    'lvm'
    """
    upper = device.upper()
    if upper.startswith(("LABEL=", "PARTLABEL=")):
        return "label"
    if upper.startswith(("UUID=", "PARTUUID=")):
        return "uuid"
    if not device.startswith("/dev/"):
        return None
    if device.startswith(("/dev/disk/by-uuid/", "/dev/disk/by-partuuid/")):
        return "uuid"
    if device.startswith(("/dev/disk/by-label/", "/dev/disk/by-partlabel/")):
        return "label"
    if device.startswith(_BY_ID):
        return _classify_by_id(device[len(_BY_ID) :])
    if device.startswith(_BY_PATH):
        return _classify_by_path(device[len(_BY_PATH) :])
    if LEGACY_DISK_RE.match(device):
        return "legacy"
    if VIRTIO_DISK_RE.match(device):
        return "virtio"
    parts = device.split("/")
    if device.startswith("/dev/mapper/") or (
        len(parts) == 4 and parts[2] not in _NOT_VG and parts[2] and parts[3]
    ):
        return "lvm"
    return "other"


def _classify_by_id(name: str) -> str:
    """``virtio-*`` is virtio; bus-specific disk names are legacy (they change).

    >>> _classify_by_id("ata-QEMU_HARDDISK_QM00001-part2"), _classify_by_id("virtio-0a1b")
    ('legacy', 'virtio')
    >>> _classify_by_id("usb-Kingston_DT_101-0:0"), _classify_by_id("ata-QEMU_DVD-ROM_QM00003")
    ('other', 'other')
    """
    if name.startswith("virtio-"):
        return "virtio"
    if name.startswith(_BUS_BY_ID_PREFIXES) and not _OPTICAL_BY_ID_RE.search(name):
        return "legacy"
    return "other"


def _classify_by_path(name: str) -> str:
    """A PCI path through an emulated disk bus is legacy; through virtio, virtio.

    >>> _classify_by_path("pci-0000:00:01.1-ata-1-part2")
    'legacy'
    >>> _classify_by_path("virtio-pci-0000:00:04.0")
    'virtio'
    >>> _classify_by_path("pci-0000:00:1d.0-usb-0:1:1.0-scsi-0:0:0:0")
    'other'
    """
    if "virtio" in name:
        return "virtio"
    if name.startswith("pci-") and "-usb-" not in name and _BUS_BY_PATH_RE.search(name):
        return "legacy"
    return "other"


def real_files(target: Target, paths: Iterable[str]) -> list[str]:
    """The real files behind ``paths`` that exist, each once (links resolved)."""
    seen: list[str] = []
    for path in paths:
        if not target.exists(path):
            continue
        try:
            real = target.resolve(path)
        except OSError:
            continue
        if real not in seen:
            seen.append(real)
    return seen
