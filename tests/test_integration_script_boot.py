"""Proof for the exported script: the same SATA-named Debian 12 guest, converted by it.

``plan --script`` is what a user runs where the wizard cannot reach (and what
the Ansible role runs). Here it is exported from the guest's root, run with
the guest's own ``/bin/sh`` (dash) chrooted into it, so the initramfs is
rebuilt by the guest's own ``update-initramfs`` (a zstd image with the early
microcode archive in front) and checked by the script's own listing before
it replaces the old one. Then the guest boots what grub.cfg's default entry
says with its disk on virtio-blk: root on ``/dev/vda1``, swap on
``/dev/vda2``, no resume wait. ``--undo`` then gives every file back byte
for byte.

Needs what ``test_integration_grub_boot`` needs; under ``CI=true`` a
missing piece fails.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.qemu_boot import wizard
from tests.test_integration_grub_boot import boot_default, build_sata_guest, tree_hashes

pytestmark = pytest.mark.integration

GUEST_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}


def run_in_guest(root: Path, script: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the exported script with the guest's own shell, chrooted into the guest."""
    inside = root / "vw-convert.sh"
    shutil.copy(script, inside)
    try:
        return subprocess.run(
            ["chroot", str(root), "/bin/sh", "/vw-convert.sh", *args],
            capture_output=True,
            text=True,
            env=GUEST_ENV,
            timeout=1800,
        )
    finally:
        inside.unlink()


def test_the_exported_script_converts_a_sata_guest_that_then_boots_on_virtio(
    tmp_path_factory, tmp_path: Path
) -> None:
    root = build_sata_guest(tmp_path_factory, "sata-script")
    pristine = tree_hashes(root)
    script = tmp_path / "convert.sh"
    made = wizard(
        "plan", "--root", str(root), "--method", "initrd", "--drivers", "block,net",
        "--script", str(script),
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr

    ran = run_in_guest(root, script)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "wrote /etc/fstab" in ran.stdout, ran.stdout
    assert "run: " in ran.stdout, ran.stdout
    assert "cannot look inside" not in ran.stdout + ran.stderr
    assert (root / "etc/initramfs-tools/conf.d/resume").read_text() == "RESUME=/dev/vda2\n"

    after = boot_default(root, tmp_path, "script")
    assert after.reached_root, after.failure + "\n" + after.console[-3000:]
    assert " /dev/vda1 / " in after.root_line + " ", after.root_line
    assert "/dev/vda2" in after.swaps, after.swap_line + "\n" + after.console[-2000:]
    assert not after.resume_wait, after.console[-2000:]

    again = run_in_guest(root, script)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already holds the virtio drivers and what the root needs" in again.stdout

    undone = run_in_guest(root, script, "--undo")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert tree_hashes(root) == pristine
