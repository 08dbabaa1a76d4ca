"""A full disk and a read-only guest, for real: a 256 KiB tmpfs and a ro bind mount.

``tests/test_faults.py`` injects ENOSPC and checks a completely full and a
remounted-ro tmpfs with hand-made plans. Here the plan is the real one
(``detect`` + ``make_plan`` on a small RHEL 5 guest) and the disk is left
with 0, 4, 8, ... KiB free, so the apply runs out of space at every point in
turn: before the lock, while writing the journal, while backing up, while
replacing a file. Whatever the point, every guest file must be byte for byte
either as it was or as planned, the journal on disk must say which (and be
readable), and ``undo`` once space is back must restore every byte. The
read-only case uses a ``mount --bind`` remounted ``ro,bind`` and the CLI, to
check the message and exit code a user sees. Tests skip when mounting is not
permitted; every mount is undone in the fixture's finalizer.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest
from apply_fixtures import initrd_with
from wizard_cli import run_wizard as cli

from virtio_wizard.apply.run import apply_plan
from virtio_wizard.apply.undo import undo
from virtio_wizard.detect import detect
from virtio_wizard.journal import STATE_DIR, list_journals
from virtio_wizard.plan import Choices, make_plan
from virtio_wizard.targets import LocalTarget, TargetError

REPO = Path(__file__).resolve().parent.parent
KVER = "2.6.18-8.el5"
STATE = STATE_DIR.lstrip("/")
#: Both drivers with the boot disk moving: the disks are renamed (fstab, grub.conf,
#: device.map), and the initrd already holds the modules, so every step is an edit.
CHOICES = Choices(method="initrd", block=True, net=True, fix_disk_names=True)
CLI_CHOICES = ["--method", "initrd", "--drivers", "block,net"]
CLI_CHOICES += ["--fix-disk-names", "--yes"]
MODULES = ("virtio", "virtio_ring", "virtio_pci", "virtio_blk", "virtio_net")

FILES = {
    "etc/redhat-release": "Red Hat Enterprise Linux Server release 5 (Tikanga)\n",
    "etc/rc.d/rc.sysinit": "#!/bin/bash\nif [ -f /etc/rc.modules ]; then\n"
    "\t/etc/rc.modules\nfi\n\necho ok\n",
    # The padding makes one edited file span several KiB, so the disk fills mid-file.
    "etc/fstab": "/dev/hda2 / ext3 defaults 1 1\nLABEL=/boot /boot ext3 defaults 1 2\n"
    "/dev/hda3 swap swap defaults 0 0\n" + "# padding line for a bigger file\n" * 150,
    "boot/grub/grub.conf": "default=0\ntitle RHEL\n\troot (hd0,0)\n"
    f"\tkernel /vmlinuz-{KVER} ro root=/dev/hda2 resume=/dev/hda3\n",
    "boot/grub/device.map": "(hd0)     /dev/hda\n",
    f"boot/vmlinuz-{KVER}": "\x7fELF",
    "sbin/mkinitrd": "#!/bin/bash\n",
}


def build_guest(root: Path) -> None:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="latin-1")
    for name in ("virtio", "virtio_ring", "virtio_pci", "virtio_blk", "virtio_net"):
        mod = root / f"lib/modules/{KVER}/extra/virtio/{name}.ko"
        mod.parent.mkdir(parents=True, exist_ok=True)
        mod.write_bytes(b"\x7fELF")
    (root / f"boot/initrd-{KVER}.img").write_bytes(initrd_with(MODULES, KVER))
    os.symlink("../boot/grub/grub.conf", root / "etc/grub.conf")


def guest_files(root: Path) -> dict[str, bytes]:
    """Every guest file's bytes, the wizard's own state folder left out."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath, name)
            rel = str(path.relative_to(root))
            if rel.startswith(STATE) or path.is_symlink():
                continue
            out[rel] = path.read_bytes()
    return out


def _mount(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"mounting is not permitted here ({' '.join(argv)}: {proc.stderr.strip()})")


def _umount(where: Path) -> None:
    if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    """A real 256 KiB tmpfs, unmounted whatever the test does."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    _mount(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)])
    try:
        yield mnt
    finally:
        _umount(mnt)


@pytest.fixture
def read_only_view(tmp_path: Path):
    """``make(src)`` -> a read-only bind mount of ``src``; unmounted at the end."""
    if os.geteuid() != 0:
        pytest.skip("bind mounts need root")
    mounted: list[Path] = []

    def make(src: Path) -> Path:
        view = tmp_path / "ro-view"
        view.mkdir()
        _mount(["mount", "--bind", str(src), str(view)])
        mounted.append(view)
        _mount(["mount", "-o", "remount,ro,bind", str(view)])
        return view

    try:
        yield make
    finally:
        for view in reversed(mounted):
            _umount(view)


def fill_leaving(mnt: Path, free: int) -> None:
    """Fill the file system, then give back ``free`` bytes."""
    filler = mnt / "filler"
    with open(filler, "wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\xaa" * 4096)
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - free))


# ---- disk full ----------------------------------------------------------------------


@pytest.mark.parametrize("free_kib", [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48])
def test_full_disk_at_every_point_keeps_files_old_or_new(small_tmpfs: Path, free_kib: int):
    guest = small_tmpfs / "guest"
    build_guest(guest)
    target = LocalTarget(str(guest))
    facts = detect(target)
    plan = make_plan(target, facts, CHOICES)
    assert not plan.refused and len(plan.steps) >= 3
    before = guest_files(guest)
    planned = {s.path.lstrip("/"): s.new_bytes() for s in plan.steps if s.kind == "edit"}
    fill_leaving(small_tmpfs, free_kib * 1024)

    messages: list[str] = []
    try:
        result = apply_plan(target, plan)
    except TargetError as exc:
        # No room even for the lock file: refused before any guest change.
        assert str(exc).endswith("No space left on device; nothing was changed"), str(exc)
        messages.append(str(exc))
    else:
        messages += result.messages
        if result.status == "failed":
            assert "No space left on device" in " ".join(result.messages), result.messages

    now = guest_files(guest)
    assert set(now) == set(before)
    for rel, data in before.items():
        assert now[rel] in (data, planned.get(rel, data)), f"{rel} is neither old nor new"

    # The journal on disk (when one could be written) says what happened.
    journals = [j for j in list_journals(target) if j.get("status") != "unreadable"]
    assert len(journals) <= 1
    for journal in journals:
        assert journal["status"] in ("running", "failed", "done")
        for rec, step in zip(journal["steps"], plan.steps):
            if step.kind != "edit":
                continue
            rel = step.path.lstrip("/")
            if rec["status"] == "done":
                assert now[rel] == planned[rel]
            elif rec["status"] == "pending":
                assert now[rel] == before[rel]
    changed = [rel for rel in before if now[rel] != before[rel]]
    if changed:
        assert journals, f"{changed} changed with no journal to undo them"

    # Space back: undo puts every byte back.
    (small_tmpfs / "filler").unlink()
    undo(target)
    after = guest_files(guest)
    assert after == before, messages


def test_full_disk_through_the_cli_is_one_clear_error(small_tmpfs: Path):
    guest = small_tmpfs / "guest"
    build_guest(guest)
    before = guest_files(guest)
    fill_leaving(small_tmpfs, 0)
    proc = cli("--root", str(guest), "apply", *CLI_CHOICES)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "No space left on device" in proc.stderr
    assert "nothing was changed" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert guest_files(guest) == before


# ---- read-only --------------------------------------------------------------------------


def test_read_only_bind_mount_apply_is_a_clear_error(tmp_path: Path, read_only_view):
    guest = tmp_path / "guest"
    build_guest(guest)
    before = guest_files(guest)
    view = read_only_view(guest)
    proc = cli("--root", str(view), "apply", *CLI_CHOICES)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stderr.strip().splitlines()[-1] == (
        "virtio-wizard: error: /var/lib/virtio-wizard: cannot be written: "
        "read-only file system; nothing was changed"
    )
    assert guest_files(guest) == before
    assert not (guest / STATE).exists()


def test_read_only_bind_mount_undo_is_a_clear_error(tmp_path: Path, read_only_view):
    guest = tmp_path / "guest"
    build_guest(guest)
    before = guest_files(guest)
    target = LocalTarget(str(guest))
    applied = apply_plan(target, make_plan(target, detect(target), CHOICES))
    assert applied.ok and applied.changed
    changed = guest_files(guest)
    view = read_only_view(guest)
    proc = cli("--root", str(view), "undo", "--yes")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Read-only file system" in proc.stderr and "nothing was changed" in proc.stderr
    assert guest_files(guest) == changed
    # Writable again, the same undo restores every byte.
    assert undo(target).status == "done"
    assert guest_files(guest) == before
