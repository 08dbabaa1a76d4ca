"""A running guest after the switch, as a fixture tree (``proc/self`` present).

Shared by ``test_verify_live.py`` and the Welcome back screen's Pilot tests:
``live_guest()`` is a guest where every ``verify`` check holds, with an apply
journal pending verification; keyword overrides change one file (None
removes it). ``lvm_root()`` adds an installed RHEL 5 kernel whose root is on
LVM, with an initrd holding the members given (``test_verify_after_apply.py``
uses it alone, as an offline tree).
"""

from __future__ import annotations

import json
from pathlib import Path

from apply_fixtures import MODULES, newc

from virtio_wizard.journal import JOURNAL_SCHEMA

__all__ = [
    "VIRTIO_VDA1",
    "ATA_SDA1",
    "VIRTIO_NET",
    "E1000",
    "MAC",
    "JID",
    "KVER",
    "IMAGE",
    "VIRTIO",
    "DM_MOD",
    "EXT3",
    "CONFIG",
    "journal",
    "lvm_root",
    "live_guest",
    "materialize",
    "after_a_bad_switch",
]

VIRTIO_VDA1 = Path("../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda1")
ATA_SDA1 = Path(
    "../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1"
)
VIRTIO_NET = Path("../../../../bus/virtio/drivers/virtio_net")
E1000 = Path("../../../../bus/pci/drivers/e1000")
MAC = "52:54:00:12:34:56"
JID = "20260101T000000-1"
#: The kernel of ``lvm_root``, its initrd and the members an image may hold.
KVER = "2.6.18-164.el5"
IMAGE = f"/boot/initrd-{KVER}.img"
VIRTIO = tuple(f"lib/modules/{KVER}/kernel/drivers/virtio/{m}.ko" for m in MODULES)
DM_MOD = f"lib/modules/{KVER}/kernel/drivers/md/dm-mod.ko"
EXT3 = f"lib/modules/{KVER}/kernel/fs/ext3/ext3.ko"
CONFIG = "\n".join(
    [
        "CONFIG_EXT3_FS=m",
        "CONFIG_BLK_DEV_DM=m",
        "CONFIG_VIRTIO=m",
        "CONFIG_VIRTIO_RING=m",
        "CONFIG_VIRTIO_PCI=m",
        "CONFIG_VIRTIO_BLK=m",
        "CONFIG_VIRTIO_NET=m",
        "",
    ]
)


def journal(status: str = "done", **extra) -> str:
    doc = {
        "schema": JOURNAL_SCHEMA,
        "id": JID,
        "started": "2026-01-01T00:00:00+00:00",
        "started_ts": 1.0,
        "status": status,
        "undone": None,
        "plan": {"choices": {"method": "initrd", "block": True, "net": True}},
        "steps": [{"status": "done", "changed": True, "path": "/etc/fstab"}],
        **extra,
    }
    return json.dumps(doc)


def live_guest(**override) -> dict:
    """A guest after a good switch: root and /data on virtio, swap on, eth0 on virtio_net."""
    files = {
        "proc/self/mountinfo": (
            "22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
            "23 22 0:21 / /proc rw - proc proc rw\n"
            "24 22 252:17 / /data rw - ext4 /dev/vdb1 rw\n"
        ),
        "proc/swaps": "Filename\tType\tSize\tUsed\tPriority\n/dev/vda2 partition 1048572 0 -2\n",
        "sys/dev/block/252:1": VIRTIO_VDA1,
        "dev/vda1": "",
        "dev/vda2": "",
        "dev/vdb1": "",
        "etc/fstab": (
            "/dev/vda1 / ext4 defaults 1 1\n"
            "/dev/vda2 swap swap defaults 0 0\n"
            "proc /proc proc defaults 0 0\n"
            "/dev/vdb1 /data ext4 defaults 0 2\n"
            "/dev/cdrom /media/cdrom iso9660 noauto,ro 0 0\n"
        ),
        "sys/class/net/eth0/address": MAC + "\n",
        "sys/class/net/eth0/device/driver": VIRTIO_NET,
        "sys/class/net/lo/address": "00:00:00:00:00:00\n",
        "etc/sysconfig/network-scripts/ifcfg-eth0": f"DEVICE=eth0\nHWADDR={MAC}\nONBOOT=yes\n",
        f"var/lib/virtio-wizard/journal/{JID}.json": journal(),
    }
    files.update(override)
    return {k: v for k, v in files.items() if v is not None}


def lvm_root(members: tuple[str, ...], config: str = CONFIG) -> dict:
    """A RHEL 5.4 guest (nash mkinitrd) whose root is on LVM; its one initrd holds ``members``.

    The root needs ext3 (or ext4), dm_mod and ``/bin/lvm`` in the image
    (nash runs no udev: no rules asked), unless ``config`` builds them in.
    """
    return {
        "etc/redhat-release": "Red Hat Enterprise Linux Server release 5.4 (Tikanga)\n",
        "etc/fstab": "/dev/VolGroup00/LogVol00 / ext3 defaults 1 1\n",
        "sbin/mkinitrd": "#!/bin/bash\n# nash\n",
        f"boot/vmlinuz-{KVER}": "",
        f"boot/config-{KVER}": config,
        "boot/grub/grub.conf": (
            f"default=0\ntitle RHEL ({KVER})\n\troot (hd0,0)\n"
            f"\tkernel /vmlinuz-{KVER} ro root=/dev/VolGroup00/LogVol00\n"
            f"\tinitrd /initrd-{KVER}.img\n"
        ),
        IMAGE.lstrip("/"): newc(["init", "bin/nash", *members]),
    }


def materialize(root: str, files: dict) -> str:
    """Write ``files`` under ``root`` as the ``tree`` fixture does (text, bytes, Path: a link)."""
    import os

    for rel, content in files.items():
        path = Path(root) / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            os.symlink(os.fspath(content), path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def after_a_bad_switch() -> dict:
    """A guest whose VM still presents its boot disk on SATA after the apply."""
    return live_guest(
        **{
            "sys/dev/block/8:1": ATA_SDA1,
            "sys/dev/block/252:1": None,
            "proc/self/mountinfo": (
                "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
                "24 22 252:17 / /data rw - ext4 /dev/vdb1 rw\n"
            ),
        }
    )
