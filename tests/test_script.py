"""The shell-script export, run for real under busybox sh and dash in a chroot.

Each test builds a small guest tree holding busybox (and dash), exports a
hand-made plan, runs the script chrooted into a copy of the tree, and
compares the result with ``apply_plan`` on another copy, byte for byte.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Optional

import pytest
from apply_fixtures import KVER, MODULES, initrd_with, sha, tree_state
from sshd_fixture import copy_guest, install_busybox

from virtio_wizard.finding import ERROR, Finding
from virtio_wizard.journal import SCRIPT_BACKUP_DIR
from virtio_wizard.plan.model import Choices, Plan, Step
from virtio_wizard.script import plan_id, render_script, write_script
from virtio_wizard.targets import LocalTarget

IMAGE = f"/boot/initrd-{KVER}.img"
LATIN1 = b"# caf\xe9 \xab rc.sysinit \xbb\nmodprobe foo\n"


def chroot_ok() -> Optional[str]:
    if os.geteuid() != 0:
        return "running the script chrooted needs root"
    if not os.path.exists("/bin/busybox") or shutil.which("chroot") is None:
        return "busybox and chroot are needed"
    return None


needs_chroot = pytest.mark.skipif(chroot_ok() is not None, reason=str(chroot_ok()))
SHELLS = ["/bin/busybox sh", "/bin/dash"] if shutil.which("dash") else ["/bin/busybox sh"]


def make_guest(root: Path, applets: Optional[list[str]] = None) -> Path:
    root.mkdir()
    install_busybox(root, applets)
    dash = shutil.which("dash")
    if dash:
        shutil.copy2(dash, root / "bin" / "dash")
    (root / "etc" / "rc.d").mkdir(parents=True)
    (root / "boot" / "grub").mkdir(parents=True)
    (root / "etc" / "fstab").write_bytes(b"/dev/hda1 / ext3 defaults 1 1\n")
    os.chmod(root / "etc" / "fstab", 0o644)
    os.chown(root / "etc" / "fstab", 12, 34)
    (root / "etc" / "rc.d" / "rc.sysinit").write_bytes(LATIN1)
    os.chmod(root / "etc" / "rc.d" / "rc.sysinit", 0o755)
    (root / "boot" / "grub" / "grub.conf").write_bytes(b"kernel /vmlinuz root=/dev/hda1")
    os.chmod(root / "boot" / "grub" / "grub.conf", 0o600)
    os.symlink("../boot/grub/grub.conf", root / "etc" / "grub.conf")
    (root / "boot" / IMAGE.rsplit("/", 1)[1]).write_bytes(initrd_with(()))
    (root / "boot" / "new.img").write_bytes(initrd_with(MODULES))
    return root


def edit(root: Path, path: str, new: bytes, mode: Optional[int] = None, enc="latin-1") -> Step:
    host = root / path.lstrip("/")
    old = sha(host.read_bytes()) if host.exists() else None
    return Step(
        kind="edit",
        why=f"edit {path}",
        path=path,
        old_sha256=old,
        new_text=new.decode(enc),
        encoding=enc,
        mode=mode,
    )


def full_plan(root: Path) -> Plan:
    steps = (
        edit(root, "/etc/fstab", b"/dev/vda1 / ext3 defaults 1 1\n"),
        # Through a symlink, no newline at the end, mode changed.
        edit(root, "/etc/grub.conf", b"kernel /vmlinuz root=/dev/vda1", mode=0o644),
        edit(root, "/etc/rc.d/rc.sysinit", LATIN1 + b"modprobe virtio_blk\n"),
        # A new file, in a new folder, whose text holds what looks like the delimiter.
        edit(root, "/etc/sysconfig/modules/virtio.modules", b"VW_END_OF_FILE_3\n'$x'\n\\n\n"),
        # Bytes a here-document cannot carry.
        edit(root, "/etc/odd.bin", b"a\0b\xff\n%s\\", enc="latin-1"),
        Step(kind="backup", why="keep the old initrd", path=IMAGE, to=IMAGE + ".vw-orig"),
        Step(
            kind="command",
            why="rebuild the initrd",
            argv=("sh", "-c", f"echo building; cp /boot/new.img {IMAGE}"),
            image=IMAGE,
            verify_modules=MODULES,
        ),
    )
    return Plan(choices=Choices(), steps=steps, modules=MODULES, kernel=KVER)


def run_script(root: Path, script: Path, *args: str, shell: str = "/bin/busybox sh"):
    inside = root / "vw-plan.sh"
    shutil.copy(script, inside)
    proc = subprocess.run(
        [shutil.which("chroot") or "chroot", str(root), *shell.split(), "/vw-plan.sh", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/bin"},
    )
    inside.unlink()
    return proc


def state(root: Path) -> dict:
    return {k: v for k, v in tree_state(root).items() if k != "vw-plan.sh"}


@needs_chroot
@pytest.mark.parametrize("shell", SHELLS)
def test_script_equals_apply_and_undo_restores(tmp_path, shell):
    original = make_guest(tmp_path / "original")
    plan = full_plan(original)
    script = Path(write_script(plan, str(tmp_path / "plan.sh")))
    assert os.access(script, os.X_OK)
    by_script = tmp_path / "by-script"
    by_apply = tmp_path / "by-apply"
    copy_guest(original, by_script)
    copy_guest(original, by_apply)
    before = state(original)

    from virtio_wizard.apply.run import apply_plan

    result = apply_plan(LocalTarget(str(by_apply)), plan)
    assert result.status == "done", result.messages
    proc = run_script(by_script, script, shell=shell)
    assert proc.returncode == 0, proc.stderr
    assert "step 1: wrote /etc/fstab" in proc.stdout
    assert state(by_script) == state(by_apply)
    assert state(by_script) != before
    assert (by_script / "etc" / "grub.conf").is_symlink()
    assert (by_script / "etc" / "odd.bin").read_bytes() == b"a\0b\xff\n%s\\"
    assert not [p for p in by_script.rglob("*.vw-new.*")]

    # A rerun changes nothing and says so.
    snapshot = state(by_script)
    again = run_script(by_script, script, shell=shell)
    assert again.returncode == 0, again.stderr
    assert "already as planned" in again.stdout
    assert "already holds the virtio drivers and what the root needs" in again.stdout
    assert "backup /boot/initrd-2.6.18-92.el5.img.vw-orig exists, kept" in again.stdout
    assert state(by_script) == snapshot

    undo = run_script(by_script, script, "--undo", shell=shell)
    assert undo.returncode == 0, undo.stderr
    assert state(by_script) == before  # byte for byte, modes and owners
    assert not (by_script / "etc" / "sysconfig" / "modules" / "virtio.modules").exists()
    assert not (by_script / "etc" / "odd.bin").exists()


@needs_chroot
def test_changed_file_stops_before_any_write(tmp_path):
    root = make_guest(tmp_path / "guest")
    plan = full_plan(root)
    script = write_script(plan, str(tmp_path / "plan.sh"))
    (root / "etc" / "rc.d" / "rc.sysinit").write_bytes(LATIN1 + b"# edited by hand\n")
    before = state(root)
    proc = run_script(root, Path(script))
    assert proc.returncode == 1
    assert "/etc/rc.d/rc.sysinit changed since the plan was made" in proc.stderr
    assert "nothing was changed" in proc.stderr
    assert state(root) == before
    assert not (root / SCRIPT_BACKUP_DIR.lstrip("/")).exists()
    check = run_script(root, Path(script), "--check")
    assert check.returncode == 1
    bad_arg = run_script(root, Path(script), "--frobnicate")
    assert bad_arg.returncode == 2 and "usage" in bad_arg.stderr


@needs_chroot
def test_check_mode_changes_nothing(tmp_path):
    root = make_guest(tmp_path / "guest")
    script = write_script(full_plan(root), str(tmp_path / "plan.sh"))
    before = state(root)
    proc = run_script(root, Path(script), "--check")
    assert proc.returncode == 0, proc.stderr
    assert "check passed" in proc.stdout
    assert state(root) == before


@needs_chroot
def test_undo_refuses_files_changed_since(tmp_path):
    root = make_guest(tmp_path / "guest")
    script = Path(write_script(full_plan(root), str(tmp_path / "plan.sh")))
    assert run_script(root, script).returncode == 0
    (root / "etc" / "fstab").write_bytes(b"changed after the script\n")
    snapshot = state(root)
    undo = run_script(root, script, "--undo")
    assert undo.returncode == 1
    assert "/etc/fstab changed since the script wrote it" in undo.stderr
    assert state(root) == snapshot


@needs_chroot
def test_undo_without_a_run_says_so(tmp_path):
    root = make_guest(tmp_path / "guest")
    script = Path(write_script(full_plan(root), str(tmp_path / "plan.sh")))
    undo = run_script(root, script, "--undo")
    assert undo.returncode == 1
    assert "nothing to undo" in undo.stderr


OLD_GUEST_TOOLS = [
    "cat", "cp", "mv", "rm", "ls", "mkdir", "chmod", "dirname", "dd", "sync", "md5sum",
    "cmp", "gzip", "grep", "echo", "printf", "test", "[", "od", "tr", "sed", "cut", "tail", "wc",
]  # fmt: skip


@needs_chroot
def test_guest_without_sha256sum_uses_md5(tmp_path):
    """RHEL 3/4 have md5sum but no sha256sum: the export carries MD5s of old and new."""
    root = make_guest(tmp_path / "guest", applets=OLD_GUEST_TOOLS)
    plan = full_plan(root)
    target = LocalTarget(str(root))
    with_md5 = Path(write_script(plan, str(tmp_path / "md5.sh"), target=target))
    without = Path(write_script(plan, str(tmp_path / "plain.sh")))
    before = state(root)
    proc = run_script(root, without)
    assert proc.returncode == 1
    assert "no sha256sum" in proc.stderr and "re-export with a target" in proc.stderr
    assert state(root) == before
    proc = run_script(root, with_md5)
    assert proc.returncode == 0, proc.stderr
    assert (root / "etc" / "fstab").read_bytes() == b"/dev/vda1 / ext3 defaults 1 1\n"
    assert run_script(root, with_md5, "--undo").returncode == 0
    assert state(root) == before


def test_render_refuses_a_refused_plan():
    plan = Plan(
        choices=Choices(),
        findings=(Finding("no-virtio", ERROR, "this kernel has no virtio drivers"),),
    )
    with pytest.raises(ValueError, match="no virtio drivers"):
        render_script(plan)


def test_render_is_stable_and_names_the_plan(tmp_path):
    root = make_guest(tmp_path / "guest") if os.geteuid() == 0 else None
    if root is None:
        pytest.skip("needs root for the fixture tree")
    plan = full_plan(root)
    text = render_script(plan)
    assert text == render_script(plan)
    assert text.startswith("#!/bin/sh\n")
    assert f"{SCRIPT_BACKUP_DIR}/{plan_id(plan)}" in text
    assert "set -e" in text
    data = Path(write_script(plan, str(tmp_path / "p.sh"))).read_bytes()
    assert LATIN1 in data  # Latin-1 bytes are carried exactly, not re-encoded
    assert stat.S_IMODE(os.stat(tmp_path / "p.sh").st_mode) == 0o700


@needs_chroot
@pytest.mark.parametrize("shell", SHELLS)
def test_first_failure_stops_the_script_non_zero(tmp_path, shell):
    """A failing step ends the script at once (exit 1); the steps after it are not run."""
    root = make_guest(tmp_path / "guest")
    steps = (
        Step(kind="backup", why="keep the old initrd", path=IMAGE, to=IMAGE + ".vw-orig"),
        Step(kind="command", why="rebuild", argv=("sh", "-c", "echo trying; exit 7")),
        edit(root, "/etc/fstab", b"/dev/vda1 / ext3 defaults 1 1\n"),
    )
    plan = Plan(choices=Choices(), steps=steps, modules=MODULES, kernel=KVER)
    script = Path(write_script(plan, str(tmp_path / "plan.sh")))
    fstab = (root / "etc" / "fstab").read_bytes()
    proc = run_script(root, script, shell=shell)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "trying" in proc.stdout
    assert "virtio-wizard: error: step 2: `sh -c 'echo trying; exit 7'` failed" in proc.stderr
    assert "step 3" not in proc.stdout
    assert (root / "etc" / "fstab").read_bytes() == fstab
    assert (root / IMAGE.lstrip("/")).with_name(IMAGE.rsplit("/", 1)[1] + ".vw-orig").exists()
    # --undo takes back what was done before the failure (the backup copy).
    undo = run_script(root, script, "--undo", shell=shell)
    assert undo.returncode == 0, undo.stderr
    assert not (root / (IMAGE.lstrip("/") + ".vw-orig")).exists()
