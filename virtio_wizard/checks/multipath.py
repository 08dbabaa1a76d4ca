"""Mounts on device-mapper multipath maps, which a virtio-blk disk does not get.

A disk that multipathd claims is mounted through its map
(``/dev/mapper/mpatha1``, or an alias from ``/etc/multipath/bindings`` or
``multipath.conf``). multipath names a map by the disk's WWID, which udev
reads from the SCSI inquiry (``scsi_id``) or, for virtio-blk, only from the
serial the host gives the disk (``ID_SERIAL`` in udev's
``60-persistent-storage.rules``): a virtio-blk disk without a serial has no
WWID, so no map is made and every mount that names one is not found. No
text edit can fix that (the right name depends on the host), so detection
warns and the plan repeats the warning whenever the disks move to virtio.
"""

from __future__ import annotations

import re
from typing import Optional

from ..facts import Facts, GuestLine
from ..finding import WARNING, Finding, Remedy

__all__ = ["SOURCE", "check_multipath", "multipath_finding"]

SOURCE = (
    "multipath.conf(5); udev 60-persistent-storage.rules (virtio-blk: ID_SERIAL only from "
    "the disk's serial)"
)


def _blacklists_virtio(entries: tuple[str, ...]) -> list[str]:
    """The blacklist ``devnode`` entries that match a virtio disk name (``vda``)."""
    out = []
    for entry in entries:
        kind, _sep, pattern = entry.partition(" ")
        if kind != "devnode":
            continue
        try:
            if re.search(pattern, "vda"):
                out.append(entry)
        except re.error:
            continue
    return out


def _where(lines: tuple[GuestLine, ...]) -> str:
    return "; ".join(
        f"{g.file}:{g.line} {g.value} ({g.about})" if g.line else f"{g.file}: {g.value} ({g.about})"
        for g in lines
    )


def multipath_finding(facts: Facts) -> Optional[Finding]:
    """Mounts (or the root's LVM physical volumes) on multipath maps, which virtio-blk loses."""
    mp = facts.multipath
    if mp is None or not mp.on_multipath:
        return None
    root = any(g.about.split()[0] == "/" for g in mp.on_multipath)
    what = "the root file system" if root else "these mounts"
    listed = _where(mp.on_multipath)
    blacklisted = _blacklists_virtio(mp.blacklist)
    note = (
        f" multipath.conf's blacklist ({', '.join(blacklisted)}) also keeps multipath off "
        "the virtio disks."
        if blacklisted
        else ""
    )
    return Finding(
        "multipath-on-virtio",
        WARNING,
        f"On multipath maps: {listed}. A virtio-blk disk has no WWID unless the host "
        "gives it a serial, so multipathd makes no map for it after the switch and "
        f"{what} would not be found.{note}",
        Remedy(
            "Before the switch, name them by UUID= or LABEL= (blkid shows them) in "
            "/etc/fstab and in root=, which finds the file system on /dev/vdX directly, "
            "and rebuild the initrd. A VM disk has one path: to keep multipath away from it "
            'add `devnode "^vd[a-z]"` to the blacklist in /etc/multipath.conf; to keep '
            "multipath on virtio-blk instead, give the disk a <serial> in the VM definition "
            "and run `multipath -a /dev/vda` after the switch (the WWID is the serial now, "
            "so the map may get a new name in /etc/multipath/bindings)."
        ),
        SOURCE,
    )


def check_multipath(facts: Facts) -> list[Finding]:
    """The multipath warning at detection: it holds for any switch of the disks to virtio."""
    found = multipath_finding(facts)
    return [found] if found else []
