"""Proof for ``--image``: convert a VM's disk image from the host, then boot that image on virtio.

The guest is the debootstrap Debian 12 root of the boot test, installed "on
SATA" on a **partitioned** qcow2 image (p1 ext4 root, p2 swap): fstab names
``/dev/sda1`` and ``/dev/sda2``, grub.cfg is in update-grub's format with
``GRUB_DISABLE_LINUX_UUID=true`` (``root=/dev/sda1`` on the linux line),
``RESUME=/dev/sda2``, and the initramfs is built with ``MODULES=list`` (ext4
only: no virtio in it). From the host,

    virtio-wizard --image DISK apply --method initrd --drivers block,net --yes

rebuilds the initramfs inside libguestfs's appliance and renames the disks.
Then qemu boots **that image** with the disk on virtio-blk, using the kernel,
initrd and arguments of grub.cfg's default entry; a probe init reports the
root device and what ``swapon -a`` activated. Last, ``--image DISK undo``
gives the image's /etc and /boot back byte for byte.

Under ``CI=true`` every missing prerequisite fails (``.ci/run`` installs them).
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest
from apply_fixtures import tree_state
from image_fixture import guestfish, why_not

from tests import debian_root, qemu_boot
from tests.qemu_boot import wizard

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sata_guest(tmp_path_factory) -> tuple[Path, str]:
    """The Debian 12 root, set up as installed on SATA, initramfs without virtio."""
    reason = why_not()
    if reason:
        debian_root.skip_or_fail(reason)
    root = qemu_boot.debian_guest(tmp_path_factory, "sata")
    kver = debian_root.kernel_version(root)
    (root / "etc/fstab").write_text(
        "/dev/sda1 / ext4 errors=remount-ro 0 1\n/dev/sda2 none swap sw 0 0\n"
    )
    (root / "etc/initramfs-tools/conf.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/initramfs-tools/conf.d/virtio-wizard-test").write_text("MODULES=list\n")
    (root / "etc/initramfs-tools/conf.d/resume").write_text("RESUME=/dev/sda2\n")
    (root / "etc/initramfs-tools/modules").write_text("ext4\n")
    qemu_boot.install_sata_grub(root, kver)
    qemu_boot.install_probe(root)
    from virtio_wizard.targets import LocalTarget

    built = LocalTarget(str(root)).run(["update-initramfs", "-u", "-k", kver])
    assert built.returncode == 0, built.output
    return root, kver


def partitioned_image(root: Path, image: Path, work: Path) -> Path:
    """p1 ext4 holding ``root`` (1.6 GiB), p2 swap, on an MBR qcow2 disk."""
    subprocess.run(["qemu-img", "create", "-f", "qcow2", str(image), "2G"], check=True,
                   capture_output=True)  # fmt: skip
    tar = work / "root.tar"
    subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tar), "."], check=True)
    guestfish(
        "part-init /dev/sda mbr",
        "part-add /dev/sda p 2048 3401727",
        "part-add /dev/sda p 3401728 -2048",
        "mkfs ext4 /dev/sda1",
        "mkswap /dev/sda2",
        "mount /dev/sda1 /",
        f"tar-in {tar} /",
        disks=[image],
    )
    tar.unlink()
    return image


def image_files(image: Path, dest: Path) -> dict:
    """tree_state of the image's /etc and /boot (what the wizard may change), via guestfish."""
    dest.mkdir(parents=True)
    for folder in ("etc", "boot"):
        tar = dest / f"{folder}.tar"
        subprocess.run(
            ["guestfish", "--ro", "-a", str(image), "run", ":", "mount-ro", "/dev/sda1", "/",
             ":", "tar-out", f"/{folder}", str(tar), "numericowner:true"],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        with tarfile.open(tar) as tf:
            tf.extractall(dest / folder, numeric_owner=True, filter="fully_trusted")
        tar.unlink()
    return tree_state(dest)


def read_out(image: Path, path: str, dest: Path) -> Path:
    subprocess.run(
        ["guestfish", "--ro", "-a", str(image), "run", ":", "mount-ro", "/dev/sda1", "/",
         ":", "download", path, str(dest)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return dest


def test_convert_an_image_from_the_host_then_boot_it_on_virtio(sata_guest, tmp_path):
    root, kver = sata_guest
    image = partitioned_image(root, tmp_path / "debian12.qcow2", tmp_path)
    before = image_files(image, tmp_path / "before")

    proc = wizard("--image", str(image), "apply", "--method", "initrd", "--drivers", "block,net",
                  "--yes")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr

    grub_cfg = read_out(image, "/boot/grub/grub.cfg", tmp_path / "grub.cfg").read_text()
    entry = qemu_boot.default_entry(grub_cfg)
    assert "root=/dev/vda1" in entry.args, entry.args
    boot_dir = tmp_path / "boot"
    boot_dir.mkdir()
    kernel_file = read_out(image, entry.kernel or "", boot_dir / "vmlinuz")
    initrd_file = read_out(image, entry.initrd or "", boot_dir / "initrd")
    booted = qemu_boot.boot(
        kernel_file, initrd_file, entry.args, image, tmp_path / "console.log", "qcow2"
    )
    assert " /dev/vda1 / ext4 " in booted.root_line + " ", booted.console[-3000:]
    assert "/dev/vda2" in booted.swaps, booted.console[-3000:]
    assert not booted.resume_wait, booted.console[-3000:]

    proc = wizard("--image", str(image), "undo", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = image_files(image, tmp_path / "after")
    assert after == before  # bytes, modes and owners of /etc and /boot
