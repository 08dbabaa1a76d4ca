"""Faults of one hand-made plan: full disks, read-only guests, failed or lacking builds.

A crash (exception, ``kill -9``, a signal to the process group) at every
write boundary of every kind of plan is in ``test_fault_plan_kinds.py``,
on the planner's own plans; here ``apply_in_child`` with a fault
(``step:N:PHASE``, see ``virtio_wizard.apply.run._fault``) stops apply at one
boundary where a test needs it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from apply_fixtures import (
    FSTAB,
    GRUB,
    KVER,
    MODULES,
    NEW_FSTAB,
    NEW_GRUB,
    apply_in_child,
    edit,
    initrd_with,
    make_guest,
    make_plan,
    rebuild_steps,
    target_for,
    tree_state,
    write_image_script,
)

from virtio_wizard.apply.preflight import ApplyRefused
from virtio_wizard.apply.run import _Run, apply_plan
from virtio_wizard.apply.undo import undo
from virtio_wizard.journal import list_journals
from virtio_wizard.plan.model import Plan
from virtio_wizard.targets import LocalTarget, TargetError

IMAGE = f"boot/initrd-{KVER}.img"
MODULES_TEXT = "virtio\nvirtio_blk\n"


def build(tmp_path: Path) -> tuple[Path, Plan, bytes]:
    guest = make_guest(tmp_path / "guest")
    new_image = initrd_with(MODULES)
    backup, cmd = rebuild_steps(guest, write_image_script(guest, new_image))
    plan = make_plan(
        edit(guest, "/etc/fstab", NEW_FSTAB),
        edit(guest, "/etc/grub.conf", NEW_GRUB),
        edit(guest, "/etc/modules", MODULES_TEXT),
        backup,
        cmd,
    )
    return guest, plan, new_image


def test_kill_9_without_a_fault_hook_changes_nothing_in_behaviour(tmp_path: Path) -> None:
    """The hook names one boundary; any other value leaves apply alone."""
    guest, plan, new_image = build(tmp_path)
    child = apply_in_child(guest, plan, "step:99:start")
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "done"
    assert (guest / IMAGE).read_bytes() == new_image


def refuse_writes(monkeypatch, err: int, only: str = "") -> None:
    """Make ``LocalTarget.write_file`` fail with ``err`` (for paths containing ``only``)."""
    real = LocalTarget.write_file

    def write_file(self, path, data, *args, **kw):
        if only in path:
            raise OSError(err, os.strerror(err), path)
        return real(self, path, data, *args, **kw)

    monkeypatch.setattr(LocalTarget, "write_file", write_file)


def test_enospc_on_a_file_stops_with_files_intact(tmp_path: Path, monkeypatch) -> None:
    guest, plan, _new = build(tmp_path)
    refuse_writes(monkeypatch, errno.ENOSPC, only="/etc/grub.conf")
    result = apply_plan(target_for(guest), plan)
    assert result.status == "failed"
    assert [o.status for o in result.outcomes] == [
        "done",
        "failed",
        "pending",
        "pending",
        "pending",
    ]
    assert result.outcomes[1].text == (
        "/etc/grub.conf: No space left on device; the file being written is unchanged"
    )
    assert any("run `virtio-wizard undo`" in m for m in result.messages)
    assert (guest / "boot/grub/grub.conf").read_text() == GRUB
    assert (guest / "etc/fstab").read_text() == NEW_FSTAB
    monkeypatch.undo()
    assert undo(target_for(guest)).status == "done"
    assert (guest / "etc/fstab").read_text() == FSTAB


def test_enospc_everywhere_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    guest, plan, _new = build(tmp_path)
    before = tree_state(guest)
    refuse_writes(monkeypatch, errno.ENOSPC)
    result = apply_plan(target_for(guest), plan)
    assert result.status == "failed" and result.journal is None
    assert len(result.messages) == 1
    assert result.messages[0].startswith(
        "cannot write the journal: /var/lib/virtio-wizard/journal/"
    )
    assert result.messages[0].endswith("No space left on device; nothing was changed")
    assert tree_state(guest) == before


def test_read_only_target_is_a_clear_error_with_files_intact(tmp_path, monkeypatch) -> None:
    guest, plan, _new = build(tmp_path)
    before = tree_state(guest)
    refuse_writes(monkeypatch, errno.EROFS)
    result = apply_plan(target_for(guest), plan)
    assert result.status == "failed"
    assert result.messages[0].startswith("cannot write the journal: /var/lib/virtio-wizard/")
    assert result.messages[0].endswith("Read-only file system; nothing was changed")
    assert tree_state(guest) == before


@contextlib.contextmanager
def tmpfs(where: Path, size: str):
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)])
    if proc.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)])


def test_really_read_only_guest(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "64m") as mnt:
        guest, plan, _new = build(mnt)
        before = tree_state(guest)
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        with pytest.raises(TargetError) as info:
            apply_plan(target_for(guest), plan)
        assert str(info.value) == (
            "/var/lib/virtio-wizard: cannot be written: read-only file system; nothing was changed"
        )
        assert tree_state(guest) == before


def fill(mnt: Path) -> None:
    with open(mnt / "filler", "wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 4096)


def test_really_full_disk_fails_cleanly(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "1m") as mnt:
        guest, plan, _new = build(mnt)
        edits_only = make_plan(*plan.steps[:3])
        before = tree_state(guest)
        with target_for(guest).lock("/var/lib/virtio-wizard/lock"):
            pass  # the lock file exists (with a pid) before the disk fills
        fill(mnt)
        result = apply_plan(target_for(guest), edits_only)
        assert result.status == "failed"
        assert "No space left on device" in " ".join(result.messages)
        assert tree_state(guest) == before


def test_really_full_boot_refuses_the_rebuild(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "1m") as mnt:
        guest, plan, _new = build(mnt)
        fill(mnt)
        with pytest.raises(ApplyRefused, match="/boot has 0 MiB free; rebuilding the initrd"):
            apply_plan(target_for(guest), plan)
        assert not (guest / "var/lib/virtio-wizard/journal").exists()


# ---- a rebuild into a build file beside the image (the planner's way) --------------

BUILD = f"/boot/initrd-{KVER}.img.virtio-wizard.new"


def build_into_file(tmp_path: Path, script: str, verify=MODULES) -> tuple[Path, Plan]:
    """The plan above, its command writing ``BUILD`` (renamed over the image by apply)."""
    guest, plan, _new = build(tmp_path)
    steps = list(plan.steps)
    steps[4] = replace(steps[4], argv=("sh", "-c", script), build=BUILD, verify_modules=verify)
    return guest, replace(plan, steps=tuple(steps))


def test_undo_after_an_interrupted_rebuild_removes_the_build_file(tmp_path: Path) -> None:
    guest, plan = build_into_file(tmp_path, f"echo half > {tmp_path}/guest{BUILD}; exit 9")
    original = tree_state(guest)
    # A kill after the tool wrote its half file: simulated by a tool that fails and a
    # cleanup that never ran.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_Run, "_clear_build", lambda self, build: None)
        result = apply_plan(target_for(guest), plan)
    assert result.status == "failed"
    assert (guest / BUILD.lstrip("/")).exists()
    assert undo(target_for(guest)).status == "done"
    assert tree_state(guest) == original
    assert not (guest / BUILD.lstrip("/")).exists()


def test_a_failed_build_leaves_the_image_as_it_was(tmp_path: Path) -> None:
    guest, plan = build_into_file(tmp_path, f"echo half > {tmp_path}/guest{BUILD}; exit 3")
    old_image = (guest / IMAGE).read_bytes()
    result = apply_plan(target_for(guest), plan)
    assert result.status == "failed"
    assert result.outcomes[4].text == (
        f"`sh -c 'echo half > {tmp_path}/guest{BUILD}; exit 3'` failed with exit code 3; "
        f"/boot/initrd-{KVER}.img is unchanged"
    )
    assert (guest / IMAGE).read_bytes() == old_image
    assert not (guest / BUILD.lstrip("/")).exists(), "the failed build file is removed"


def test_a_build_without_the_modules_never_replaces_the_image(tmp_path: Path) -> None:
    src = tmp_path / "lacking.img"
    src.write_bytes(initrd_with(("virtio",)))
    guest, plan = build_into_file(tmp_path, f"cp {src} {tmp_path}/guest{BUILD}")
    old_image = (guest / IMAGE).read_bytes()
    result = apply_plan(target_for(guest), plan)
    assert result.status == "failed"
    assert result.outcomes[4].text.startswith(f"the new initrd {BUILD} lacks virtio_ring")
    assert result.outcomes[4].text.endswith(f"; /boot/initrd-{KVER}.img is unchanged")
    assert (guest / IMAGE).read_bytes() == old_image


def test_a_tool_that_makes_no_build_file_is_a_failure(tmp_path: Path) -> None:
    guest, plan = build_into_file(tmp_path, "true")
    result = apply_plan(target_for(guest), plan)
    assert result.status == "failed"
    assert result.outcomes[4].text == (
        f"`sh -c true` exited 0 but made no {BUILD}; /boot/initrd-{KVER}.img is unchanged"
    )


def test_an_unfinished_apply_with_other_choices_is_refused(tmp_path: Path) -> None:
    """One undo must give back the guest as before the first apply: no second journal
    on top of an unfinished one made with other choices."""
    guest, plan = build_into_file(tmp_path, "exit 1")
    assert apply_plan(target_for(guest), plan).status == "failed"
    other = replace(
        make_plan(edit(guest, "/etc/modules", "virtio_net\n")),
        choices=replace(plan.choices, block=False),
    )
    with pytest.raises(ApplyRefused) as info:
        apply_plan(target_for(guest), other)
    assert "did not finish and was made with other choices" in info.value.message
    assert info.value.message.endswith(
        "run it again with its choices to finish it, or `virtio-wizard undo` to revert it, "
        "then apply; nothing was changed"
    )
    assert len(list_journals(target_for(guest))) == 1


def test_a_resumed_edit_is_never_backed_up_twice(tmp_path: Path, monkeypatch) -> None:
    """Killed after the backup was recorded, before the write: the rerun reuses it."""
    guest, plan, _new = build(tmp_path)
    child = apply_in_child(guest, plan, "step:0:recorded")
    assert child.returncode == -signal.SIGKILL
    copies = []
    real = LocalTarget.copy_file

    def copy_file(self, src, dst):
        copies.append((src, dst))
        return real(self, src, dst)

    monkeypatch.setattr(LocalTarget, "copy_file", copy_file)
    assert apply_plan(target_for(guest), plan).status == "done"
    assert not [c for c in copies if c[0] == "/etc/fstab"], copies
