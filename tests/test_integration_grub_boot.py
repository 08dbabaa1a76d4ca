"""Proof through the guest's own boot loader: a Debian 12 guest "installed on SATA".

The disk is partitioned (p1 ext4 root, p2 swap); the guest names them
``/dev/sda1`` and ``/dev/sda2`` everywhere a Debian installer would with
``GRUB_DISABLE_LINUX_UUID=true``: fstab, the ``linux`` line of a grub.cfg in
update-grub's format, and initramfs-tools' ``RESUME=``; its initramfs is
``MODULES=list`` with only ext4. Each boot runs exactly what grub.cfg's
default entry says (kernel, initrd, arguments, read with the wizard's own
boot-menu reader and checked against the file), the disk on virtio-blk,
with an init that reports the root device and what ``swapon -a`` activated.

1. Before apply: the boot fails (no virtio, and /dev/sda1 is gone).
2. Undo right after ``apply --method initrd`` gives every file back byte for byte.
3. After apply: root on /dev/vda1, swap /dev/vda2 active, no resume wait.
4. After the distro's own ``update-initramfs -u -k all`` (what a kernel
   update runs): still clean.
5. Undo then names the image the distro rebuilt and overwrites nothing.

Needs root, debootstrap, qemu-system-x86_64, mke2fs, mkswap, sfdisk
(``.ci/run`` installs them). Under ``CI=true`` a missing piece fails.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests import debian_root, qemu_boot
from tests.qemu_boot import wizard

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sata_guest(tmp_path_factory) -> Path:
    return build_sata_guest(tmp_path_factory, "sata")


def build_sata_guest(tmp_path_factory, name: str) -> Path:
    """A private Debian 12 root named as installed on SATA (see the module doc)."""
    root = qemu_boot.debian_guest(tmp_path_factory, name, "mkswap", "sfdisk", "dd")
    kver = debian_root.kernel_version(root)
    (root / "etc/fstab").write_text(
        "# <file system> <mount point> <type> <options> <dump> <pass>\n"
        "/dev/sda1 / ext4 errors=remount-ro 0 1\n"
        "/dev/sda2 none swap sw 0 0\n"
    )
    qemu_boot.install_sata_grub(root, kver)
    conf = root / "etc/initramfs-tools/conf.d"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "resume").write_text("RESUME=/dev/sda2\n")
    (conf / "virtio-wizard-test").write_text("MODULES=list\n")
    (root / "etc/initramfs-tools/modules").write_text("ext4\n")
    rebuilt = subprocess.run(
        ["chroot", str(root), "update-initramfs", "-u", "-k", kver],
        capture_output=True,
        text=True,
    )
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    qemu_boot.install_probe(root)
    return root


def default_entry(root: Path):
    return qemu_boot.default_entry((root / "boot/grub/grub.cfg").read_text())


def boot_default(root: Path, tmp_path: Path, name: str) -> qemu_boot.BootResult:
    """What grub.cfg's default entry boots, the partitioned disk on virtio-blk."""
    entry = default_entry(root)
    image = tmp_path / "disk.img"
    qemu_boot.make_partitioned_disk(root, image)
    result = qemu_boot.boot(
        qemu_boot.entry_file(root, entry.kernel),
        qemu_boot.entry_file(root, entry.initrd),
        entry.args,
        image,
        tmp_path / f"{name}.log",
    )
    image.unlink()
    return result


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every regular file under the guest's etc and boot."""
    out = {}
    for top in ("etc", "boot"):
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and not path.is_symlink():
                out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_sata_guest_boots_on_virtio_through_grub_and_survives_the_next_update(
    sata_guest: Path, tmp_path: Path
):
    root = sata_guest
    apply_args = ("apply", "--root", str(root), "--method", "initrd", "--drivers", "block,net")

    before = boot_default(root, tmp_path, "before")
    assert not before.reached_root, before.console[-2000:]
    assert before.failure, before.console[-2000:]

    # Undo right after apply: every file back, byte for byte.
    pristine = tree_hashes(root)
    applied = wizard(*apply_args, "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert tree_hashes(root) != pristine
    undone = wizard("undo", "--root", str(root), "--yes")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert tree_hashes(root) == pristine

    applied = wizard(*apply_args, "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # The scratch build with the distro's default command holds virtio.
    assert "a kernel update keeps virtio" in applied.stdout, applied.stdout
    assert "root=/dev/vda1" in default_entry(root).args
    assert (root / "etc/initramfs-tools/conf.d/resume").read_text() == "RESUME=/dev/vda2\n"

    after = boot_default(root, tmp_path, "after")
    assert after.reached_root, after.failure + "\n" + after.console[-3000:]
    assert " /dev/vda1 / " in after.root_line + " ", after.root_line
    assert "/dev/vda2" in after.swaps, after.swap_line + "\n" + after.console[-2000:]
    assert not after.resume_wait, after.console[-2000:]

    # What a kernel update runs: the distro's own rebuild of every image.
    distro = subprocess.run(
        ["chroot", str(root), "update-initramfs", "-u", "-k", "all"],
        capture_output=True,
        text=True,
    )
    assert distro.returncode == 0, distro.stdout + distro.stderr
    again = boot_default(root, tmp_path, "after-update")
    assert again.reached_root, again.failure + "\n" + again.console[-3000:]
    assert " /dev/vda1 / " in again.root_line + " ", again.root_line
    assert "/dev/vda2" in again.swaps, again.swap_line
    assert not again.resume_wait, again.console[-2000:]

    # Undo now: the image the distro rebuilt is named, nothing is overwritten.
    image = root / f"boot/initrd.img-{debian_root.kernel_version(root)}"
    rebuilt = hashlib.sha256(image.read_bytes()).hexdigest()
    fstab = (root / "etc/fstab").read_bytes()
    refused = wizard("undo", "--root", str(root), "--yes")
    assert refused.returncode != 0, refused.stdout + refused.stderr
    assert f"/boot/initrd.img-{debian_root.kernel_version(root)}" in refused.stdout + refused.stderr
    assert hashlib.sha256(image.read_bytes()).hexdigest() == rebuilt
    assert (root / "etc/fstab").read_bytes() == fstab
