"""What a guest's /dev and running kernel say about its disks, beyond its files.

The files name disks; only the guest's devices can say which kernel disk a
``/dev/disk/by-id`` link is, which drive is a CD-ROM (it stays on the
emulated controller and keeps its name), and which file-system UUID a device
carries (the plan can then write ``UUID=``). An offline root's /dev is empty
or stale, so the live-only questions are asked only of a running guest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Optional

from ..facts import DiskRef
from ..knowledge import LEGACY_DISK_RE
from ..logs import run_logged
from ..targets import Target
from ._read import read_guest_text
from .newnames import Disk, legacy_disk

__all__ = ["optical_from_dev_links", "optical_from_live", "resolve_links", "with_uuids"]

#: Links that name the optical drive on old guests (static /dev or udev rules).
_OPTICAL_LINKS = ("/dev/cdrom", "/dev/cdrom0", "/dev/cdrom1", "/dev/cdrw", "/dev/dvd")

log = logging.getLogger(__name__)


def resolve_links(target: Target, refs: Iterable[DiskRef]) -> dict[str, str]:
    """Kernel names (``/dev/sda2``) behind the ``/dev/disk/...`` links a live guest has.

    Only a running guest's /dev tells the truth about its disks; an offline
    root's /dev is empty or stale, so it is not asked.
    """
    if not (target.live and target.kind in ("local", "ssh")):
        return {}
    out: dict[str, str] = {}
    for ref in refs:
        if ref.scheme != "legacy" or not ref.device.startswith("/dev/disk/"):
            continue
        if ref.device in out:
            continue
        link = target.readlink(ref.device) if target.is_symlink(ref.device) else None
        if link:
            name = "/dev/" + link.rstrip("/").rsplit("/", 1)[-1]
            if LEGACY_DISK_RE.match(name):
                out[ref.device] = name
    return out


def optical_from_dev_links(target: Target) -> set[Disk]:
    """Legacy disks that ``/dev/cdrom`` and friends point at."""
    found = set()
    for path in _OPTICAL_LINKS:
        link = target.readlink(path) if target.is_symlink(path) else None
        if link:
            disk = legacy_disk("/dev/" + link.rstrip("/").rsplit("/", 1)[-1])
            if disk is not None:
                found.add(disk)
    return found


def optical_from_live(target: Target, refs: list[DiskRef]) -> set[Disk]:
    """Legacy disks the running kernel reports as CD/DVD drives (old IDE and sysfs)."""
    if not target.live:
        return set()
    found = set()
    for ref in refs:
        disk = legacy_disk(ref.device) if ref.scheme == "legacy" else None
        if disk is None or disk in found:
            continue
        name = disk[0] + disk[1]
        for path in (f"/proc/ide/{name}/media", f"/sys/block/{name}/device/media"):
            if target.is_file(path):
                text = read_guest_text(target, path, None, limit=4096) or ""
                if text.strip() == "cdrom":
                    found.add(disk)
    return found


# ---- UUIDs --------------------------------------------------------------------------


def with_uuids(target: Target, refs: list[DiskRef]) -> list[DiskRef]:
    """Add each local device's file-system UUID from ``blkid`` (never fails detection)."""
    if not (target.can_run and target.kind == "local" and target.live):
        return refs
    cache: dict[str, Optional[str]] = {}
    out = []
    for ref in refs:
        if ref.scheme in ("legacy", "virtio") and target.exists(ref.device):
            if ref.device not in cache:
                cache[ref.device] = _blkid_uuid(target, ref.device)
            if cache[ref.device]:
                ref = replace(ref, uuid=cache[ref.device])
        out.append(ref)
    return out


def _blkid_uuid(target: Target, device: str) -> Optional[str]:
    try:
        result = run_logged(target, ["blkid", "-o", "value", "-s", "UUID", device], log)
    except OSError:
        return None
    value = result.output.strip().splitlines()
    if result.returncode != 0 or not value:
        return None
    uuid = value[0].strip()
    return uuid if re.fullmatch(r"[0-9A-Fa-f-]{4,64}", uuid) else None
