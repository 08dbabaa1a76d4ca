"""Disk images of fixture guests for the ``--image`` tests, made with libguestfs's tools.

``virt-make-fs`` turns a folder into a partitioned image; ``guestfish``
builds the layouts it cannot (LVM, two disks). Everything runs in the
libguestfs appliance, under TCG where KVM is unusable (this sandbox's KVM
fails, so ``LIBGUESTFS_BACKEND_SETTINGS=force_tcg`` is set unless the
caller set it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Optional

os.environ.setdefault("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")


def why_not() -> Optional[str]:
    """None when images can be made and opened here, else why not."""
    if os.geteuid() != 0:
        return "libguestfs's appliance needs root here (the host kernel is not readable)"
    for tool in ("virt-make-fs", "guestfish", "qemu-img", "qemu-system-x86_64"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install libguestfs-tools qemu-utils)"
    try:
        from virtio_wizard.targets.image import load_guestfs

        load_guestfs()
    except OSError as exc:
        return str(exc)
    return None


def make_image(folder: Path, image: Path, fmt: str = "qcow2") -> Path:
    """One ext4 partition on an MBR disk holding ``folder``."""
    subprocess.run(
        ["virt-make-fs", f"--format={fmt}", "--type=ext4", "--partition=mbr", "--size=+48M",
         str(folder), str(image)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return image


def _tar(folder: Path, tar: Path, exclude_top: tuple[str, ...] = ()) -> Path:
    with tarfile.open(tar, "w") as tf:
        for entry in sorted(os.listdir(folder)):
            if entry not in exclude_top:
                tf.add(folder / entry, arcname=entry)
    return tar


def guestfish(*script: str, disks: list[Path]) -> None:
    argv = ["guestfish", "--"]
    for disk in disks:
        argv[1:1] = ["-a", str(disk)]
    subprocess.run(
        argv, input="\n".join(["run", *script]) + "\n", text=True, check=True,
        capture_output=True, timeout=600,
    )  # fmt: skip


def make_lvm_image(folder: Path, image: Path, work: Path) -> Path:
    """The guest on an LVM logical volume (VolGroup00/LogVol00, as RHEL 5 installs)."""
    subprocess.run(["qemu-img", "create", "-f", "qcow2", str(image), "200M"], check=True,
                   capture_output=True)  # fmt: skip
    tar = _tar(folder, work / "root.tar")
    guestfish(
        "part-disk /dev/sda mbr",
        "pvcreate /dev/sda1",
        "vgcreate VolGroup00 /dev/sda1",
        "lvcreate LogVol00 VolGroup00 150",
        "mkfs ext4 /dev/VolGroup00/LogVol00",
        "mount /dev/VolGroup00/LogVol00 /",
        f"tar-in {tar} /",
        disks=[image],
    )
    return image


def make_two_disks(folder: Path, root_img: Path, boot_img: Path, work: Path) -> None:
    """Root on one disk, ``/boot`` (labelled ``/boot``, as the guest's fstab says) on another."""
    for img in (root_img, boot_img):
        subprocess.run(["qemu-img", "create", "-f", "qcow2", str(img), "100M"], check=True,
                       capture_output=True)  # fmt: skip
    root_tar = _tar(folder, work / "root.tar", exclude_top=("boot",))
    boot_tar = _tar(folder / "boot", work / "boot.tar")
    guestfish(
        "part-disk /dev/sda mbr",
        "part-disk /dev/sdb mbr",
        "mkfs ext4 /dev/sda1",
        "mkfs ext4 /dev/sdb1 label:/boot",
        "mount /dev/sda1 /",
        f"tar-in {root_tar} /",
        "mkdir-p /boot",
        "mount /dev/sdb1 /boot",
        f"tar-in {boot_tar} /boot",
        disks=[root_img, boot_img],
    )


def extract(image: Path, dest: Path, device: str = "/dev/sda1") -> Path:
    """The files of the file system on ``device`` of ``image``, into ``dest``.

    (Not ``guestfish -i``: the fixture guests' fstab names an LVM root that a
    one-partition test image does not have; the wizard mounts the root that
    inspection finds whatever fstab calls it.)
    """
    dest.mkdir(parents=True, exist_ok=True)
    tar = dest.parent / (dest.name + ".tar")
    subprocess.run(
        ["guestfish", "--ro", "-a", str(image), "run", ":", "mount-ro", device, "/",
         ":", "tar-out", "/", str(tar), "numericowner:true"],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    with tarfile.open(tar) as tf:
        tf.extractall(dest, numeric_owner=True, filter="fully_trusted")
    tar.unlink()
    return dest
