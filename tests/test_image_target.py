"""``--image DISK``: a VM's disk image, opened through libguestfs, end to end by the CLI.

Images are made from fixture guests at test time (``image_fixture``). The
guest is the RHEL 5.3 fixture with busybox and a ``sh`` stand-in for
``mkinitrd`` (as in the SSH and Ansible tests), so the rebuild really runs,
inside libguestfs's appliance. Each test names what a user would meet:
apply and undo byte for byte against an apply on the same tree with
``--root``; an image a running VM holds; a corrupt image; a disk without an
operating system; an LVM root; a guest on two disks; a qcow2 overlay.

The appliance starts in tens of seconds under TCG, so each test opens it as
few times as the command itself does. Under ``CI=true`` a missing
prerequisite fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apply_fixtures import tree_state
from fleet_fixture import CHOICES, guest_state, old_guest
from image_fixture import extract, make_image, make_lvm_image, make_two_disks, why_not
from wizard_cli import run_wizard

REPO = Path(__file__).parent.parent

if why_not() and os.environ.get("CI") == "true":
    raise RuntimeError(f"the --image tests cannot run under CI: {why_not()}")
pytestmark = [
    pytest.mark.skipif(why_not() is not None, reason=str(why_not())),
    pytest.mark.integration,
]


def wizard(*argv: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """The wizard's command line (libguestfs's appliance under emulation is slow)."""
    return run_wizard(*argv, timeout=timeout)


def files_of(tree: Path) -> dict:
    """What the comparison covers: the guest's files, not lost+found or the wizard's state."""
    return {k: v for k, v in guest_state(tree).items() if not k.startswith("lost+found")}


def test_apply_and_undo_on_an_image_equal_the_root_apply(tmp_path):
    guest = old_guest(tmp_path / "guest")
    image = make_image(guest, tmp_path / "disk.qcow2")
    before = files_of(extract(image, tmp_path / "before"))

    proc = wizard("--image", str(image), "detect")
    assert proc.returncode == 0, proc.stderr
    assert "Red Hat Enterprise Linux Server 5.3" in proc.stdout
    assert "starting the libguestfs appliance" in proc.stderr, "the wait is explained"
    assert "read-only" not in proc.stderr
    assert "libguestfs: error" not in proc.stderr, "missing files are asked without failing calls"

    # Not confirmed: the image stays closed to writes, nothing changes.
    proc = subprocess.run(
        [sys.executable, "-m", "virtio_wizard", "--image", str(image), "apply", *CHOICES],
        input="n\n", capture_output=True, text=True, cwd=REPO, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "nothing written" in proc.stderr

    proc = wizard("--image", str(image), "apply", *CHOICES, "-y")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fake mkinitrd -f --with=virtio" in proc.stdout, "mkinitrd ran in the appliance"
    after = files_of(extract(image, tmp_path / "after"))

    local = old_guest(tmp_path / "local")
    proc = wizard("--root", str(local), "apply", *CHOICES, "-y")
    assert proc.returncode == 0, proc.stderr
    assert after == files_of(local)
    assert after != before
    assert tree_state(tmp_path / "after") != tree_state(tmp_path / "before")
    journals = list((tmp_path / "after" / "var/lib/virtio-wizard/journal").glob("*.json"))
    assert len(journals) == 1, "the journal lives inside the guest, as with --root"
    assert journals[0].with_suffix(".log").is_file(), "and so does the apply's log"

    proc = wizard("--image", str(image), "undo", "-y")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert files_of(extract(image, tmp_path / "undone")) == before  # bytes, modes, owners


def test_an_image_in_use_is_refused_before_the_appliance(tmp_path):
    guest = tmp_path / "guest"
    shutil.copytree(REPO / "tests" / "roots" / "rhel53", guest, symlinks=True)
    image = make_image(guest, tmp_path / "disk.qcow2")
    vm = subprocess.Popen(
        ["qemu-system-x86_64", "-S", "-display", "none", "-nodefaults", "-machine", "accel=tcg",
         "-drive", f"file={image},format=qcow2,if=virtio"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # qemu holds the image once it has opened it
            probe = subprocess.run(["qemu-img", "info", str(image)], capture_output=True)
            if probe.returncode != 0 or vm.poll() is not None:
                break
            time.sleep(0.2)
        assert vm.poll() is None, vm.stderr.read() if vm.stderr else ""
        start = time.monotonic()
        proc = wizard("--image", str(image), "detect", timeout=120)
        took = time.monotonic() - start
    finally:
        vm.kill()
        vm.wait()
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"virtio-wizard: error: {image}: is in use (a running VM holds it): power the VM off first"
    )
    assert "appliance" not in proc.stderr, "refused before the appliance starts"
    assert took < 30


def test_a_corrupt_image_is_one_line(tmp_path):
    bad = tmp_path / "bad.qcow2"
    bad.write_bytes(b"QFI\xfb" + os.urandom(4096))
    proc = wizard("--image", str(bad), "detect", timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"virtio-wizard: error: {bad}: is not a usable qcow2 image: ")

    missing = tmp_path / "missing.qcow2"
    proc = wizard("--image", str(missing), "detect", timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"virtio-wizard: error: {missing}: cannot read the image: No such file or directory"
    )


def test_a_disk_without_an_operating_system_is_refused(tmp_path):
    empty = tmp_path / "data"
    (empty / "some").mkdir(parents=True)
    (empty / "some" / "file.txt").write_text("data, not a system\n")
    image = make_image(empty, tmp_path / "data.img", fmt="raw")
    proc = wizard("--image", str(image), "detect")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        f"virtio-wizard: error: {image}: holds no operating system that libguestfs "
        "recognises (no root file system found): is this the guest's system disk?"
    )


def test_a_qcow2_overlay_is_followed_only_when_the_user_says_so(tmp_path):
    guest = tmp_path / "guest"
    shutil.copytree(REPO / "tests" / "roots" / "rhel53", guest, symlinks=True)
    base = make_image(guest, tmp_path / "base.qcow2")
    overlay = tmp_path / "trial.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", "-b", str(base), "-F", "qcow2",
                    str(overlay)], check=True, capture_output=True)  # fmt: skip
    proc = wizard("--image", str(overlay), "detect", timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"virtio-wizard: error: {overlay}: is a qcow2 overlay of {base}: if you made it, "
        "say so with --image-format qcow2"
    )
    proc = wizard("--image", str(overlay), "--image-format", "qcow2", "detect")
    assert proc.returncode == 0, proc.stderr
    assert "Red Hat Enterprise Linux Server 5.3" in proc.stdout


def test_lvm_root(tmp_path):
    guest = tmp_path / "guest"
    shutil.copytree(REPO / "tests" / "roots" / "rhel53", guest, symlinks=True)
    image = make_lvm_image(guest, tmp_path / "lvm.qcow2", tmp_path)
    proc = wizard("--image", str(image), "plan", *CHOICES)
    assert proc.returncode == 0, proc.stderr
    assert "/dev/hda3 -> /dev/vda3" in proc.stdout
    assert "mkinitrd -f --with=virtio" in proc.stdout


def test_a_guest_on_two_disks(tmp_path):
    guest = tmp_path / "guest"
    shutil.copytree(REPO / "tests" / "roots" / "rhel53", guest, symlinks=True)
    root_img, boot_img = tmp_path / "root.qcow2", tmp_path / "boot.qcow2"
    make_two_disks(guest, root_img, boot_img, tmp_path)
    proc = wizard("--image", str(root_img), "--image", str(boot_img), "detect", "--json")
    assert proc.returncode == 0, proc.stderr
    import json

    facts = json.loads(proc.stdout)
    kernels = {k["version"]: k for k in facts["kernels"]}
    assert "2.6.18-128.el5" in kernels
    # /boot came from the second disk (mounted by the guest's own fstab: LABEL=/boot).
    kernel = kernels["2.6.18-128.el5"]
    assert kernel["initrd"] == "/boot/initrd-2.6.18-128.el5.img", kernel
    assert kernel["initrd_format"] == "gzip" and "virtio_blk" in kernel["initrd_virtio"], kernel


def test_image_format_needs_an_image():
    proc = wizard("--image-format", "raw", "detect", timeout=60)
    assert proc.returncode == 2
    assert "--image-format goes with --image DISK" in proc.stderr
    proc = wizard("--image", "x.img", "--root", "/", "detect", timeout=60)
    assert proc.returncode == 2
    assert "choose one of --root, --ssh, --image and --demo" in proc.stderr
