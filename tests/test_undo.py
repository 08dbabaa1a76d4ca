"""undo: byte-for-byte restore, created files, initrd images, refusals, order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from apply_fixtures import (
    FSTAB,
    GRUB,
    KVER,
    MODULES,
    NEW_FSTAB,
    NEW_GRUB,
    edit,
    initrd_with,
    make_guest,
    make_plan,
    rebuild_steps,
    target_for,
    tree_state,
    write_image_script,
)

from virtio_wizard.apply.events import ApplyEvent
from virtio_wizard.apply.preflight import ApplyRefused
from virtio_wizard.apply.run import apply_plan
from virtio_wizard.apply.undo import UndoRefused, describe_journal, undo, undoable_journal
from virtio_wizard.journal import latest_journal, list_journals
from virtio_wizard.targets import LocalTarget, LockedError

IMAGE = f"boot/initrd-{KVER}.img"


@pytest.fixture
def guest(tmp_path: Path) -> Path:
    root = make_guest(tmp_path / "guest")
    script = root / "etc/rc.modules"
    script.write_bytes(b"#!/bin/sh\n# caf\xe9 (Latin-1)\n")
    os.chmod(script, 0o755)
    if os.geteuid() == 0:
        os.chown(root / "etc/fstab", 123, 456)
    return root


def full_plan(guest: Path):
    return make_plan(
        edit(guest, "/etc/fstab", NEW_FSTAB),
        edit(guest, "/etc/grub.conf", NEW_GRUB),
        edit(guest, "/etc/rc.modules", "#!/bin/sh\nmodprobe virtio\n", mode=0o700),
        edit(guest, "/etc/sysconfig/modules/virtio.modules", "modprobe virtio\n", mode=0o755),
        edit(guest, "/etc/modules", "virtio\n"),
    )


def test_undo_restores_every_file_byte_for_byte_with_mode_and_owner(guest: Path) -> None:
    target = target_for(guest)
    before = tree_state(guest)
    assert apply_plan(target, full_plan(guest)).status == "done"
    assert tree_state(guest) != before
    events: list[ApplyEvent] = []
    result = undo(target, on_event=events.append)
    assert result.status == "done"
    assert tree_state(guest) == before
    assert os.readlink(guest / "etc/grub.conf") == "../boot/grub/grub.conf"
    assert set(result.restored) == {"/etc/fstab", "/boot/grub/grub.conf", "/etc/rc.modules"}
    assert set(result.removed) == {"/etc/sysconfig/modules/virtio.modules", "/etc/modules"}
    assert [e.kind for e in events].count("step-done") == 5
    assert "folders apply made are left in place: /etc/sysconfig, /etc/sysconfig/modules" in (
        result.messages
    )


def test_undo_marks_the_journal_and_a_second_undo_has_nothing(guest: Path) -> None:
    target = target_for(guest)
    apply_plan(target, full_plan(guest))
    undo(target)
    journal = latest_journal(target)
    assert journal["undone"]
    assert journal["undo"]["restored"]
    assert undoable_journal(target) is None
    again = undo(target)
    assert again.status == "nothing" and again.messages == ("nothing to undo",)
    assert "undone" in describe_journal(journal)


def test_double_undo_reverts_the_applies_newest_first(guest: Path) -> None:
    target = target_for(guest)
    apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)))
    apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB + "# second\n")))
    first, second = list_journals(target)
    assert undo(target).journal == second["path"]
    assert (guest / "etc/fstab").read_text() == NEW_FSTAB
    assert undo(target).journal == first["path"]
    assert (guest / "etc/fstab").read_text() == FSTAB
    assert undo(target).status == "nothing"


def test_apply_after_undo_starts_a_new_journal(guest: Path) -> None:
    target = target_for(guest)
    plan = make_plan(edit(guest, "/etc/fstab", NEW_FSTAB))
    apply_plan(target, plan)
    undo(target)
    assert apply_plan(target, plan).status == "done"
    assert len(list_journals(target)) == 2
    assert undo(target).status == "done"
    assert (guest / "etc/fstab").read_text() == FSTAB


def test_undo_refuses_a_file_edited_since_and_changes_nothing(guest: Path) -> None:
    target = target_for(guest)
    apply_plan(target, full_plan(guest))
    (guest / "etc/fstab").write_text(NEW_FSTAB + "/dev/vdb1 /data ext3 defaults 0 0\n")
    with pytest.raises(UndoRefused) as info:
        undo(target)
    assert info.value.paths == ("/etc/fstab",)
    message = str(info.value)
    assert message.startswith("/etc/fstab was changed after the apply")
    assert "undo refused, nothing was changed" in message
    assert "the original is kept at /var/lib/virtio-wizard/backups/" in message
    assert (guest / "boot/grub/grub.conf").read_text() == NEW_GRUB
    assert (guest / "etc/modules").exists()
    assert undoable_journal(target) is not None


def test_undo_refuses_a_created_file_edited_since(guest: Path) -> None:
    target = target_for(guest)
    apply_plan(target, make_plan(edit(guest, "/etc/modules", "virtio\n")))
    (guest / "etc/modules").write_text("virtio\nloop\n")
    with pytest.raises(UndoRefused, match="/etc/modules was changed after the apply"):
        undo(target)
    assert (guest / "etc/modules").read_text() == "virtio\nloop\n"


def test_undo_accepts_files_already_put_back_by_hand(guest: Path) -> None:
    target = target_for(guest)
    apply_plan(target, full_plan(guest))
    (guest / "etc/fstab").write_text(FSTAB)
    (guest / "etc/modules").unlink()
    events: list[ApplyEvent] = []
    result = undo(target, on_event=events.append)
    assert "/etc/fstab" not in result.restored and "/etc/modules" not in result.removed
    skipped = [e.text for e in events if e.kind == "step-skipped"]
    assert "/etc/fstab is already as it was" in skipped
    assert "/etc/modules is already gone" in skipped


def test_undo_refuses_a_damaged_backup_copy(guest: Path) -> None:
    target = target_for(guest)
    apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)))
    copy = latest_journal(target)["steps"][0]["backup"]["path"]
    (guest / copy.lstrip("/")).write_text("garbage")
    with pytest.raises(UndoRefused, match=f"the backup copy {copy} of /etc/fstab is missing"):
        undo(target)
    assert (guest / "etc/fstab").read_text() == NEW_FSTAB


def test_undo_restores_the_initrd_and_removes_the_backup_apply_made(guest: Path) -> None:
    target = target_for(guest)
    original = (guest / IMAGE).read_bytes()
    os.chmod(guest / IMAGE, 0o600)
    backup, cmd = rebuild_steps(guest, write_image_script(guest, initrd_with(MODULES)))
    assert apply_plan(target, make_plan(backup, cmd)).status == "done"
    result = undo(target)
    assert result.restored == (f"/{IMAGE}",)
    assert result.removed == (f"/{IMAGE}.vw-orig",)
    assert (guest / IMAGE).read_bytes() == original
    assert os.stat(guest / IMAGE).st_mode & 0o777 == 0o600
    assert not (guest / f"{IMAGE}.vw-orig").exists()


def test_undo_after_a_failed_rebuild_restores_the_half_written_image(guest: Path) -> None:
    target = target_for(guest)
    original = (guest / IMAGE).read_bytes()
    script = f"printf broken > {guest}/{IMAGE}; exit 1"
    backup, cmd = rebuild_steps(guest, script)
    result = apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB), backup, cmd))
    assert result.status == "failed"
    assert (guest / IMAGE).read_bytes() == b"broken"
    assert undo(target).status == "done"
    assert (guest / IMAGE).read_bytes() == original
    assert (guest / "etc/fstab").read_text() == FSTAB


def test_undo_refuses_an_image_rebuilt_again_since(guest: Path) -> None:
    target = target_for(guest)
    backup, cmd = rebuild_steps(guest, write_image_script(guest, initrd_with(MODULES)))
    apply_plan(target, make_plan(backup, cmd))
    (guest / IMAGE).write_bytes(initrd_with(MODULES + ("virtio_scsi",)))
    with pytest.raises(UndoRefused, match=f"/{IMAGE} was changed after the apply"):
        undo(target)


def test_undo_refuses_when_the_initrd_backup_is_gone(guest: Path) -> None:
    target = target_for(guest)
    backup, cmd = rebuild_steps(guest, write_image_script(guest, initrd_with(MODULES)))
    apply_plan(target, make_plan(backup, cmd))
    (guest / f"{IMAGE}.vw-orig").unlink()
    with pytest.raises(UndoRefused, match=f"there is no backup of /{IMAGE} as it was"):
        undo(target)


def test_undo_passes_over_an_apply_that_changed_nothing(guest: Path, monkeypatch) -> None:
    target = target_for(guest)
    apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)))
    failing = make_plan(edit(guest, "/etc/rc.modules", "#!/bin/sh\n"))
    real_write = LocalTarget.write_file

    def write_file(self, path, data, *args, **kw):
        if path == "/etc/rc.modules":
            raise OSError(28, "No space left on device", path)
        return real_write(self, path, data, *args, **kw)

    monkeypatch.setattr(LocalTarget, "write_file", write_file)
    assert apply_plan(target, failing).status == "failed"
    monkeypatch.undo()
    assert undo(target).journal == list_journals(target)[0]["path"]
    assert (guest / "etc/fstab").read_text() == FSTAB


def test_undo_needs_root_on_the_running_system(monkeypatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(ApplyRefused, match=r"undoing changes to this system \(/\) needs root"):
        undo(LocalTarget("/"))


def test_undo_waits_for_no_one_while_an_apply_holds_the_lock(guest: Path) -> None:
    target = target_for(guest)
    apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)))
    held = target.lock("/var/lib/virtio-wizard/lock")
    with held, pytest.raises(LockedError):
        undo(target)
    assert (guest / "etc/fstab").read_text() == NEW_FSTAB


def test_unchanged_originals_stay_untouched(guest: Path) -> None:
    """Undo writes only what apply changed: other files keep their times."""
    target = target_for(guest)
    stamp = os.stat(guest / "etc/rc.modules").st_mtime_ns
    apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)))
    undo(target)
    assert os.stat(guest / "etc/rc.modules").st_mtime_ns == stamp
    assert (guest / "boot/grub/grub.conf").read_text() == GRUB


def test_undo_stands_without_the_executor() -> None:
    """Undo needs the events and the refusals, not apply's executor: no cycle between them."""
    import subprocess
    import sys

    code = (
        "import sys, virtio_wizard.apply.undo\n"
        "print(sorted(m for m in sys.modules if m.startswith('virtio_wizard.apply.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "virtio_wizard.apply.undo" in out
    assert "virtio_wizard.apply.run" not in out


def _damage_newest_journal(target, data: bytes = b'{"schema": "virtio-wizard/jour') -> str:
    newest = list_journals(target)[-1]["path"]
    with open(target.host_path(newest), "wb") as fh:
        fh.write(data)
    return newest


def test_a_damaged_newest_journal_stops_undo_instead_of_reverting_the_older(guest: Path) -> None:
    """Two applies, the newest journal torn: undo must not revert the first apply
    underneath the second's changes and call that 'undid the apply of ...'."""
    target = target_for(guest)
    apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)))
    apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB + "# second\n")))
    damaged = _damage_newest_journal(target)
    before = tree_state(guest)
    with pytest.raises(UndoRefused) as info:
        undo(target)
    message = str(info.value)
    assert message.startswith(f"the newest journal {damaged} is unreadable (")
    assert "undo refused, nothing was changed" in message
    assert f"move the damaged journal aside (e.g. to {damaged}.damaged)" in message
    assert info.value.paths == (damaged,)
    assert tree_state(guest) == before
    with pytest.raises(UndoRefused):
        undoable_journal(target)
    # Done as the message says (restore by hand, move aside): undo reverts the older apply.
    damaged_id = os.path.basename(damaged)[: -len(".json")]
    kept = guest / f"var/lib/virtio-wizard/backups/{damaged_id}/etc/fstab"
    assert f"/var/lib/virtio-wizard/backups/{damaged_id}/" in message
    (guest / "etc/fstab").write_bytes(kept.read_bytes())
    os.rename(target.host_path(damaged), target.host_path(damaged) + ".damaged")
    assert undo(target).status == "done"
    assert (guest / "etc/fstab").read_text() == FSTAB


def test_the_only_journal_damaged_is_not_nothing_to_undo(guest: Path) -> None:
    target = target_for(guest)
    apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)))
    _damage_newest_journal(target, b"\xff\xfe")
    with pytest.raises(UndoRefused, match="is unreadable"):
        undo(target)


def test_an_older_damaged_journal_does_not_block_undoing_a_newer_one(guest: Path) -> None:
    target = target_for(guest)
    apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)))
    older = list_journals(target)[0]
    newer_id = "29991231T235959-1"  # newer than any journal this test writes
    journal = dict(older, id=newer_id)
    journal.pop("path")
    from virtio_wizard.journal import write_journal

    write_journal(target, journal)
    with open(target.host_path(older["path"]), "wb") as fh:
        fh.write(b"not json")
    assert undoable_journal(target)["id"] == newer_id
