"""apply_plan: every step kind, backups, journal, refusals, idempotence."""

from __future__ import annotations

import json
import os
import re
import stat
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
    sha,
    target_for,
    write_image_script,
)

from virtio_wizard.apply.events import ApplyEvent
from virtio_wizard.apply.preflight import ApplyRefused, StaleFileError
from virtio_wizard.apply.run import apply_plan
from virtio_wizard.finding import ERROR, WARNING, Finding
from virtio_wizard.journal import JOURNAL_DIR, latest_journal, list_journals
from virtio_wizard.plan.model import Step
from virtio_wizard.targets import LocalTarget, LockedError
from virtio_wizard.targets.demo import DemoTarget

JOURNALS = "var/lib/virtio-wizard/journal"


@pytest.fixture
def guest(tmp_path: Path) -> Path:
    return make_guest(tmp_path / "guest")


def journal_files(root: Path) -> list[str]:
    folder = root / JOURNALS
    return sorted(n for n in os.listdir(folder) if n.endswith(".json")) if folder.exists() else []


def test_edit_existing_file_keeps_a_byte_identical_backup(guest: Path) -> None:
    target = target_for(guest)
    plan = make_plan(edit(guest, "/etc/fstab", NEW_FSTAB))
    result = apply_plan(target, plan)
    assert result.status == "done" and result.ok and result.changed
    assert (guest / "etc/fstab").read_text() == NEW_FSTAB
    journal = latest_journal(target)
    assert journal is not None
    rec = journal["steps"][0]
    assert rec["status"] == "done" and rec["changed"] is True
    backup = rec["backup"]
    assert backup["path"] == f"/var/lib/virtio-wizard/backups/{journal['id']}/etc/fstab"
    assert (guest / backup["path"].lstrip("/")).read_bytes() == FSTAB.encode()
    assert backup["sha256"] == sha(FSTAB.encode())
    assert (backup["mode"], backup["uid"], backup["gid"]) == (0o644, 0, 0)
    assert rec["new_sha256"] == sha(NEW_FSTAB.encode())


def test_journal_records_plan_status_and_times(guest: Path) -> None:
    target = target_for(guest)
    plan = make_plan(edit(guest, "/etc/fstab", NEW_FSTAB))
    result = apply_plan(target, plan)
    names = journal_files(guest)
    assert len(names) == 1
    assert re.fullmatch(r"\d{8}T\d{6}-\d+(-\d+)?\.json", names[0])
    assert result.journal == f"{JOURNAL_DIR}/{names[0]}"
    data = json.loads((guest / JOURNALS / names[0]).read_text())
    assert data["schema"] == "virtio-wizard/journal/1"
    assert data["id"] == names[0][:-5]
    assert data["status"] == "done" and data["undone"] is None
    assert data["started"] and data["finished"]
    assert data["plan"] == json.loads(json.dumps(plan.to_dict()))
    assert data["target"] == {"kind": "local", "root": str(guest)}
    assert stat.S_IMODE(os.stat(guest / JOURNALS / names[0]).st_mode) == 0o600


def test_create_new_file_with_mode_0755_in_a_new_folder(guest: Path) -> None:
    target = target_for(guest)
    path = "/etc/sysconfig/modules/virtio.modules"
    text = "#!/bin/sh\nmodprobe virtio\n"
    result = apply_plan(target, make_plan(edit(guest, path, text, mode=0o755)))
    assert result.status == "done"
    host = guest / path.lstrip("/")
    assert host.read_text() == text
    assert stat.S_IMODE(host.stat().st_mode) == 0o755
    rec = latest_journal(target)["steps"][0]
    assert rec["created"] is True and "backup" not in rec
    assert rec["created_dirs"] == ["/etc/sysconfig", "/etc/sysconfig/modules"]


def test_symlinked_file_is_written_through_and_keeps_its_mode(guest: Path) -> None:
    target = target_for(guest)
    result = apply_plan(target, make_plan(edit(guest, "/etc/grub.conf", NEW_GRUB)))
    assert result.status == "done"
    assert os.readlink(guest / "etc/grub.conf") == "../boot/grub/grub.conf"
    real = guest / "boot/grub/grub.conf"
    assert real.read_text() == NEW_GRUB
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    rec = latest_journal(target)["steps"][0]
    assert rec["resolved"] == "/boot/grub/grub.conf"
    assert (guest / rec["backup"]["path"].lstrip("/")).read_text() == GRUB


def test_mode_0755_of_an_existing_file_is_kept(guest: Path) -> None:
    script = guest / "etc/rc.modules"
    script.write_text("#!/bin/sh\n")
    os.chmod(script, 0o755)
    target = target_for(guest)
    apply_plan(target, make_plan(edit(guest, "/etc/rc.modules", "#!/bin/sh\nmodprobe virtio\n")))
    assert stat.S_IMODE(script.stat().st_mode) == 0o755


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_owner_is_kept_when_root(guest: Path) -> None:
    os.chown(guest / "etc/fstab", 123, 456)
    target = target_for(guest)
    apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)))
    st = (guest / "etc/fstab").stat()
    assert (st.st_uid, st.st_gid) == (123, 456)
    backup = latest_journal(target)["steps"][0]["backup"]
    assert (backup["uid"], backup["gid"]) == (123, 456)
    copy = (guest / backup["path"].lstrip("/")).stat()
    assert (copy.st_uid, copy.st_gid) == (123, 456)


def test_reapply_changes_and_records_nothing(guest: Path) -> None:
    target = target_for(guest)
    plan = make_plan(edit(guest, "/etc/fstab", NEW_FSTAB), edit(guest, "/etc/grub.conf", NEW_GRUB))
    assert apply_plan(target, plan).status == "done"
    before = journal_files(guest)
    events: list[ApplyEvent] = []
    again = apply_plan(target, plan, on_event=events.append)
    assert again.status == "nothing" and again.ok and not again.changed
    assert again.journal is None
    assert [o.status for o in again.outcomes] == ["already", "already"]
    assert {e.kind for e in events} == {"step-skipped"}
    assert journal_files(guest) == before


def test_plan_already_in_place_writes_no_state_at_all(guest: Path) -> None:
    target = target_for(guest)
    step = Step(
        kind="edit",
        why="",
        path="/etc/fstab",
        old_sha256=sha(b"something else"),
        new_text=FSTAB,
    )
    result = apply_plan(target, make_plan(step))
    assert result.status == "nothing"
    assert not (guest / "var").exists()


def test_stale_file_is_refused_before_anything_is_written(guest: Path) -> None:
    target = target_for(guest)
    plan = make_plan(edit(guest, "/etc/grub.conf", NEW_GRUB), edit(guest, "/etc/fstab", NEW_FSTAB))
    (guest / "etc/fstab").write_text(FSTAB + "# a late edit\n")
    with pytest.raises(StaleFileError) as info:
        apply_plan(target, plan)
    assert info.value.path == "/etc/fstab"
    assert "/etc/fstab changed since the plan was made: re-run plan" in str(info.value)
    assert (guest / "boot/grub/grub.conf").read_text() == GRUB
    assert not (guest / "var").exists()


def test_file_that_should_be_new_but_exists_is_stale(guest: Path) -> None:
    step = edit(guest, "/etc/modules", "virtio\n")
    (guest / "etc/modules").write_text("loop\n")
    with pytest.raises(StaleFileError, match="it exists now"):
        apply_plan(target_for(guest), make_plan(step))


def test_a_folder_where_a_file_was_planned_is_stale(guest: Path) -> None:
    step = edit(guest, "/etc/fstab", NEW_FSTAB)
    (guest / "etc/fstab").unlink()
    (guest / "etc/fstab").mkdir()
    with pytest.raises(StaleFileError, match="not a regular file"):
        apply_plan(target_for(guest), make_plan(step))


def test_two_edits_of_one_file_are_refused(guest: Path) -> None:
    plan = make_plan(
        edit(guest, "/etc/grub.conf", NEW_GRUB),
        edit(guest, "/boot/grub/grub.conf", NEW_GRUB + "#\n"),
    )
    with pytest.raises(ApplyRefused, match="edits /boot/grub/grub.conf twice"):
        apply_plan(target_for(guest), plan)
    assert (guest / "boot/grub/grub.conf").read_text() == GRUB


def test_not_root_on_the_running_system_is_refused_first(monkeypatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    plan = make_plan(Step(kind="edit", why="", path="/nonexistent/x", new_text="y"))
    with pytest.raises(ApplyRefused, match=r"applying to this system \(/\) needs root"):
        apply_plan(LocalTarget("/"), plan)


def test_refused_plan_is_not_applied(guest: Path) -> None:
    refusal = Finding("sysinit-boot-disk", ERROR, "the sysinit method cannot boot from virtio")
    note = Finding("note", WARNING, "just a note")
    plan = make_plan(edit(guest, "/etc/fstab", NEW_FSTAB), findings=(note, refusal))
    with pytest.raises(ApplyRefused) as info:
        apply_plan(target_for(guest), plan)
    assert "the plan is refused: the sysinit method cannot boot from virtio" in str(info.value)
    assert info.value.findings == (refusal,)
    assert (guest / "etc/fstab").read_text() == FSTAB


def test_plan_for_another_guest_is_refused(guest: Path, tmp_path: Path) -> None:
    plan = make_plan(
        edit(guest, "/etc/fstab", NEW_FSTAB), target={"kind": "root", "root": str(tmp_path)}
    )
    target = LocalTarget(str(guest))
    with pytest.raises(ApplyRefused, match="this plan was made for root .*make a new plan"):
        apply_plan(target, plan)
    wrong_kind = make_plan(
        edit(guest, "/etc/fstab", NEW_FSTAB), target={"kind": "local", "root": str(guest)}
    )
    with pytest.raises(ApplyRefused, match="made for local"):
        apply_plan(target, wrong_kind)
    right = make_plan(
        edit(guest, "/etc/fstab", NEW_FSTAB), target={"kind": "root", "root": str(guest)}
    )
    assert apply_plan(target, right).status == "done"


def test_second_concurrent_apply_is_refused_by_the_lock(guest: Path) -> None:
    target = target_for(guest)
    plan = make_plan(edit(guest, "/etc/fstab", NEW_FSTAB))
    held = target.lock("/var/lib/virtio-wizard/lock")
    with held, pytest.raises(LockedError, match="another virtio-wizard is applying"):
        apply_plan(target, plan)
    assert (guest / "etc/fstab").read_text() == FSTAB
    assert journal_files(guest) == []


def test_backup_of_a_missing_file_is_refused(guest: Path) -> None:
    step = Step(kind="backup", why="", path="/boot/nothing.img", to="/boot/nothing.img.orig")
    with pytest.raises(StaleFileError, match="the file to back up is missing"):
        apply_plan(target_for(guest), make_plan(step))


def test_existing_backup_is_kept_not_overwritten(guest: Path) -> None:
    image = guest / f"boot/initrd-{KVER}.img"
    (guest / f"boot/initrd-{KVER}.img.vw-orig").write_bytes(b"older original")
    backup, _cmd = rebuild_steps(guest, "true")
    plan = make_plan(backup, edit(guest, "/etc/fstab", NEW_FSTAB))
    result = apply_plan(target_for(guest), plan)
    assert [o.status for o in result.outcomes] == ["already", "done"]
    assert (guest / f"boot/initrd-{KVER}.img.vw-orig").read_bytes() == b"older original"
    assert image.exists()


def test_command_output_is_streamed_and_recorded(guest: Path) -> None:
    image = initrd_with(MODULES)
    backup, cmd = rebuild_steps(guest, write_image_script(guest, image))
    events: list[ApplyEvent] = []
    result = apply_plan(target_for(guest), make_plan(backup, cmd), on_event=events.append)
    assert result.status == "done", result.messages
    assert [e.text for e in events if e.kind == "output"] == ["building", "built"]
    kinds = [e.kind for e in events if e.index == 1]
    assert kinds == ["step-start", "output", "output", "step-done"]
    rec = latest_journal(target_for(guest))["steps"][1]
    assert rec["exit_code"] == 0 and rec["output_tail"] == ["building", "built"]
    assert rec["image"]["before_sha256"] == sha(initrd_with(()))
    assert rec["image"]["after_sha256"] == sha(image)
    assert (guest / f"boot/initrd-{KVER}.img.vw-orig").read_bytes() == initrd_with(())


def test_failing_command_stops_and_leaves_the_backups(guest: Path) -> None:
    backup, cmd = rebuild_steps(guest, "echo 'mkinitrd: no space'; exit 4")
    plan = make_plan(
        edit(guest, "/etc/fstab", NEW_FSTAB), backup, cmd, edit(guest, "/etc/grub.conf", NEW_GRUB)
    )
    result = apply_plan(target_for(guest), plan)
    assert result.status == "failed" and not result.ok
    assert [o.status for o in result.outcomes] == ["done", "done", "failed", "pending"]
    text = "\n".join(result.messages)
    assert "`sh -c 'echo '\"'\"'mkinitrd: no space'\"'\"'; exit 4'` failed with exit code 4" in text
    assert f"the original initrd is kept at /boot/initrd-{KVER}.img.vw-orig" in text
    assert "virtio-wizard undo" in text
    assert (guest / f"boot/initrd-{KVER}.img.vw-orig").read_bytes() == initrd_with(())
    assert (guest / "boot/grub/grub.conf").read_text() == GRUB
    journal = latest_journal(target_for(guest))
    assert journal["status"] == "failed"
    assert journal["steps"][2]["exit_code"] == 4
    assert journal["steps"][2]["output_tail"] == ["mkinitrd: no space"]
    assert journal["steps"][3]["status"] == "pending"


def test_missing_command_is_a_failed_step(guest: Path) -> None:
    step = Step(kind="command", why="", argv=("/no/such/mkinitrd", "-f"))
    result = apply_plan(target_for(guest), make_plan(step))
    assert result.status == "failed"
    assert "command not found" in result.outcomes[0].text


def test_demo_target_skips_commands_clearly_and_still_edits(guest: Path) -> None:
    target = DemoTarget(str(guest))
    backup, cmd = rebuild_steps(guest, "exit 9")
    result = apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB), backup, cmd))
    assert result.status == "done"
    assert [o.status for o in result.outcomes] == ["done", "done", "skipped"]
    assert result.outcomes[2].text.startswith("demo: would run: sh -c 'exit 9'")
    assert "not checked in the demo" in result.outcomes[2].text
    rec = latest_journal(target)["steps"][2]
    assert rec["status"] == "skipped" and rec["note"].startswith("demo: would run:")


def test_demo_with_only_commands_writes_nothing(guest: Path) -> None:
    target = DemoTarget(str(guest))
    result = apply_plan(target, make_plan(Step(kind="command", why="", argv=("dracut", "-f"))))
    assert result.status == "nothing"
    assert result.outcomes[0].status == "skipped"
    assert result.outcomes[0].text == "demo: would run: dracut -f"
    assert not (guest / "var").exists()


def test_new_initrd_is_verified_to_hold_the_modules(guest: Path) -> None:
    good = initrd_with(MODULES)
    backup, cmd = rebuild_steps(guest, write_image_script(guest, good))
    assert apply_plan(target_for(guest), make_plan(backup, cmd)).status == "done"


def test_new_initrd_lacking_a_module_fails_with_the_way_back(guest: Path) -> None:
    bad = initrd_with(("virtio", "virtio_ring", "virtio_blk", "virtio_pci"))
    backup, cmd = rebuild_steps(guest, write_image_script(guest, bad))
    result = apply_plan(target_for(guest), make_plan(backup, cmd))
    assert result.status == "failed"
    assert result.outcomes[1].text == (
        f"the new initrd /boot/initrd-{KVER}.img lacks virtio_net; "
        "restore the backup with `virtio-wizard undo`"
    )


def test_unreadable_new_initrd_fails(guest: Path) -> None:
    backup, cmd = rebuild_steps(guest, write_image_script(guest, b"\x00" * 64))
    result = apply_plan(target_for(guest), make_plan(backup, cmd))
    assert result.status == "failed"
    assert result.outcomes[1].text.startswith(f"cannot read /boot/initrd-{KVER}.img")


def test_image_already_holding_the_modules_is_not_rebuilt(guest: Path) -> None:
    (guest / f"boot/initrd-{KVER}.img").write_bytes(initrd_with(MODULES))
    _backup, cmd = rebuild_steps(guest, "exit 1")
    result = apply_plan(target_for(guest), make_plan(cmd))
    assert result.status == "nothing"


def test_too_little_space_for_the_rebuild_is_refused(guest: Path, monkeypatch) -> None:
    target = target_for(guest)
    asked = []

    def free_bytes(path: str) -> int:
        asked.append(path)
        return 5 * 1024 * 1024

    monkeypatch.setattr(target, "free_bytes", free_bytes)
    backup, cmd = rebuild_steps(guest, "true")
    with pytest.raises(ApplyRefused, match=r"/boot has 5 MiB free; rebuilding the initrd needs"):
        apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB), backup, cmd))
    assert asked == ["/boot"]
    assert (guest / "etc/fstab").read_text() == FSTAB
    assert journal_files(guest) == []


def test_journals_are_listed_oldest_first_and_unreadable_ones_shown(guest: Path) -> None:
    target = target_for(guest)
    apply_plan(target, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)))
    apply_plan(target, make_plan(edit(guest, "/etc/grub.conf", NEW_GRUB)))
    (guest / JOURNALS / "zz-broken.json").write_text("{not json")
    journals = list_journals(target)
    assert [j["status"] for j in journals] == ["done", "done", "unreadable"]
    assert journals[1]["steps"][0]["path"] == "/etc/grub.conf"
    assert "not valid JSON" in journals[2]["error"]
    assert latest_journal(target)["id"] == journals[1]["id"]
