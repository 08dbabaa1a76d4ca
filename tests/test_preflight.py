"""Apply checks what the plan needs before its first write, and its messages say what is true.

- guest commands that cannot run here (no bwrap, not root) and files or
  folders that cannot be written (read-only, immutable, no permission) stop
  the apply with nothing written: no backup, no lock file, no journal;
- a lock that cannot be taken on a full disk leaves no lock file behind;
- a failed journal save on a full disk says to free space, not to reconnect;
- a write that fails on an immutable file names the guest path, not the
  temp file beside it.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from apply_fixtures import (
    GRUB,
    NEW_FSTAB,
    NEW_GRUB,
    edit,
    make_guest,
    make_plan,
    rebuild_steps,
    target_for,
    tree_state,
)
from sandbox_fixture import in_ci

from virtio_wizard.apply.run import apply_plan
from virtio_wizard.targets import LocalTarget, TargetError, sandbox

REPO = Path(__file__).resolve().parent.parent


def need_root() -> None:
    if os.geteuid() == 0:
        return
    if in_ci():
        pytest.fail("CI runs as root")
    pytest.skip("needs root")


def all_files(root: Path) -> set[str]:
    return {
        os.path.relpath(os.path.join(d, n), root)
        for d, dirs, files in os.walk(root)
        for n in dirs + files
    }


def rebuild_plan(guest: Path):
    backup, cmd = rebuild_steps(guest, "true")
    return make_plan(edit(guest, "/etc/fstab", NEW_FSTAB), backup, cmd)


def test_no_bwrap_on_an_offline_root_refuses_before_the_first_backup(tmp_path, monkeypatch):
    guest = make_guest(tmp_path / "guest")
    before = all_files(guest)
    real = shutil.which
    monkeypatch.setattr(sandbox.shutil, "which", lambda n: None if n == "bwrap" else real(n))
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 0)
    with pytest.raises(TargetError) as info:
        apply_plan(LocalTarget(str(guest)), rebuild_plan(guest))
    assert str(info.value) == (
        "sh: bwrap (bubblewrap) is not installed: guest commands of an offline root run only "
        "in its sandbox; install it (apt-get install bubblewrap, dnf install bubblewrap); "
        "nothing was changed"
    )
    assert all_files(guest) == before


def test_a_plan_without_commands_needs_no_sandbox(tmp_path, monkeypatch):
    guest = make_guest(tmp_path / "guest")
    monkeypatch.setattr(sandbox.shutil, "which", lambda n: None)
    result = apply_plan(LocalTarget(str(guest)), make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)))
    assert result.status == "done"


def test_non_root_initrd_apply_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    """Item 14: it used to write the .virtio.orig backup, then fail at the bind mount.

    The wizard runs as a user (``geteuid`` says 1000) on a guest tree: the
    planner's own plan (backup, mkinitrd, edits) is refused before any of it.
    """
    from virtio_wizard.detect import detect
    from virtio_wizard.plan import make_plan as plan_for
    from virtio_wizard.plan.model import Choices

    guest = tmp_path / "guest"
    shutil.copytree(REPO / "tests/roots/rhel5ga", guest, symlinks=True)
    target = LocalTarget(str(guest))
    plan = plan_for(target, detect(target), Choices(method="initrd", net=False))
    # modprobe.conf's aliases and the renames first (issue 13), then backup and mkinitrd.
    assert [s.kind for s in plan.steps][0] == "edit"
    assert [s.kind for s in plan.steps][-2:] == ["backup", "command"]
    before = all_files(guest)
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    with pytest.raises(TargetError) as info:
        apply_plan(target, plan)
    assert str(info.value) == (
        "mkinitrd: running the guest's commands (mkinitrd, dracut ...) on an offline root "
        "needs root: run virtio-wizard as root (sudo); nothing was changed"
    )
    assert all_files(guest) == before


def test_an_immutable_file_is_refused_before_the_first_write(tmp_path: Path) -> None:
    need_root()
    guest = make_guest(tmp_path / "guest")
    grub = guest / "boot/grub/grub.conf"
    plan = make_plan(edit(guest, "/etc/fstab", NEW_FSTAB), edit(guest, "/etc/grub.conf", NEW_GRUB))
    before = all_files(guest)
    subprocess.run(["chattr", "+i", str(grub)], check=True)
    try:
        with pytest.raises(TargetError) as info:
            apply_plan(target_for(guest), plan)
        assert str(info.value) == (
            "/etc/grub.conf: cannot be written: the file is immutable or append-only "
            "(lsattr shows i or a; chattr -i -a); nothing was changed"
        )
        assert all_files(guest) == before
    finally:
        subprocess.run(["chattr", "-i", str(grub)], check=True)


def test_a_failed_write_on_an_immutable_file_names_the_guest_path(tmp_path: Path) -> None:
    """Made immutable after the checks: the error names /etc/grub.conf, not .grub.conf.vw-X."""
    need_root()
    guest = make_guest(tmp_path / "guest")
    grub = guest / "boot/grub/grub.conf"
    subprocess.run(["chattr", "+i", str(grub)], check=True)
    try:
        with pytest.raises(OSError) as info:
            target_for(guest).write_file("/etc/grub.conf", NEW_GRUB.encode())
        assert info.value.filename == "/etc/grub.conf"
        assert ".vw-" not in str(info.value)
        assert grub.read_text() == GRUB
        assert not [n for n in os.listdir(grub.parent) if ".vw-" in n]
    finally:
        subprocess.run(["chattr", "-i", str(grub)], check=True)


def test_a_folder_the_user_cannot_write_is_refused(tmp_path: Path, monkeypatch) -> None:
    guest = make_guest(tmp_path / "guest")
    real = os.access

    def access(path, mode, *a, **kw):
        if os.fspath(path).endswith("/boot/grub") and mode & os.W_OK:
            return False
        return real(path, mode, *a, **kw)

    monkeypatch.setattr(os, "access", access)
    before = all_files(guest)
    plan = make_plan(edit(guest, "/etc/fstab", NEW_FSTAB), edit(guest, "/etc/grub.conf", NEW_GRUB))
    with pytest.raises(TargetError, match="no permission to write in /boot/grub; nothing"):
        apply_plan(target_for(guest), plan)
    assert all_files(guest) == before


# ---- full disk: the lock and the journal -------------------------------------------


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    need_root()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def fill(mnt: Path) -> None:
    with open(mnt / "filler", "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass


def test_enospc_on_the_lock_leaves_no_lock_file(small_tmpfs: Path) -> None:
    guest = make_guest(small_tmpfs / "guest")
    plan = make_plan(edit(guest, "/etc/fstab", NEW_FSTAB))
    before = tree_state(guest)
    fill(small_tmpfs)
    with pytest.raises(TargetError) as info:
        apply_plan(target_for(guest), plan)
    assert str(info.value) == (
        "/var/lib/virtio-wizard/lock: cannot take the lock: No space left on device; "
        "nothing was changed"
    )
    assert not (guest / "var").exists(), "nothing was changed: no lock file, no folder"
    assert tree_state(guest) == before


def test_a_journal_save_failing_for_space_says_to_free_space(tmp_path, monkeypatch) -> None:
    guest = make_guest(tmp_path / "guest")
    plan = make_plan(edit(guest, "/etc/fstab", NEW_FSTAB), edit(guest, "/etc/grub.conf", NEW_GRUB))
    real = LocalTarget.write_file
    calls = {"journal": 0}

    def write_file(self, path, data, *args, **kw):
        if "/journal/" in path:
            calls["journal"] += 1
            if calls["journal"] > 3:  # the first step is recorded, then the disk is full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        elif path == "/etc/grub.conf":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        return real(self, path, data, *args, **kw)

    monkeypatch.setattr(LocalTarget, "write_file", write_file)
    result = apply_plan(target_for(guest), plan)
    assert result.status == "failed"
    text = " ".join(result.messages)
    assert "once /var/lib/virtio-wizard has free space again (it resumes and finishes)" in text
    assert "reachable" not in text
