"""Proof on a real guest: the host-only initramfs trap, then the wizard's fix.

A Debian 12 root (debootstrap, real kernel and initramfs-tools) is set to
``MODULES=list`` with only ``ext4`` in ``/etc/initramfs-tools/modules``: its
initramfs can mount the root file system but has no virtio driver, the
commonest field failure. Booted from a virtio disk under qemu it ends in
``ALERT! /dev/vda does not exist``. After ``virtio-wizard apply --method
initrd --drivers block,net --yes`` the same boot reaches the root on /dev/vda.

Needs root, debootstrap, qemu-system-x86_64 and mke2fs (``.ci/run`` installs
them); skips with the reason where they cannot be had, and fails under CI=true.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import debian_root, qemu_boot
from tests.qemu_boot import wizard

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def debian12(tmp_path_factory) -> Path:
    return qemu_boot.debian_guest(tmp_path_factory, "guest")


def boot(root: Path, kver: str, image: Path, log: Path) -> qemu_boot.BootResult:
    """The root's kernel and initrd, the whole disk as the root file system."""
    qemu_boot.make_disk(root, image)
    return qemu_boot.boot(
        root / f"boot/vmlinuz-{kver}",
        root / f"boot/initrd.img-{kver}",
        "root=/dev/vda rw rootdelay=5",
        image,
        log,
    )


def test_host_only_initramfs_fails_then_wizard_fixes_it(debian12: Path, tmp_path: Path):
    from virtio_wizard.detect import detect
    from virtio_wizard.targets import LocalTarget

    root = debian12
    kver = debian_root.kernel_version(root)
    # The trap: an initramfs with the root file system's driver but no virtio.
    conf = root / "etc/initramfs-tools/conf.d/virtio-wizard-test"
    conf.write_text("MODULES=list\n")
    (root / "etc/initramfs-tools/modules").write_text("ext4\n")
    target = LocalTarget(str(root))
    rebuilt = target.run(["update-initramfs", "-u", "-k", kver])
    assert rebuilt.returncode == 0, rebuilt.output
    qemu_boot.install_probe(root)
    (root / "etc/fstab").write_text("/dev/vda / ext4 defaults 0 1\n")

    facts = detect(target)
    kernel = facts.kernel(kver)
    assert kernel is not None and kernel.initrd_virtio is not None
    assert "virtio_blk" not in kernel.initrd_virtio
    assert kernel.virtio["virtio_blk"] == "module"

    image = tmp_path / "disk.img"
    before = boot(root, kver, image, tmp_path / "before.log")
    assert not before.reached_root, before.console[-2000:]
    assert before.failure in ("ALERT!", "Gave up waiting for root"), before.console[-2000:]

    applied = wizard(
        "apply", "--root", str(root), "--method", "initrd", "--drivers", "block,net", "--yes"
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr

    facts = detect(target)
    kernel = facts.kernel(kver)
    assert kernel is not None and kernel.initrd_virtio is not None
    for module in ("virtio_blk", "virtio_net", "virtio_pci"):
        assert module in kernel.initrd_virtio

    after = boot(root, kver, image, tmp_path / "after.log")
    assert after.reached_root, after.failure + "\n" + after.console[-3000:]
    assert " /dev/vda / " in after.root_line + " ", after.root_line

    # And the wizard's undo puts the guest back byte for byte.
    undone = wizard("undo", "--root", str(root), "--yes")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert (root / "etc/initramfs-tools/modules").read_text() == "ext4\n"
