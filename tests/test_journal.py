"""The journal store: ids, paths, atomic records, reading back, hashing; and verify."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from apply_fixtures import NEW_FSTAB, edit, make_guest, make_plan, target_for

from virtio_wizard.apply.run import apply_plan
from virtio_wizard.apply.verify import verify
from virtio_wizard.facts import DiskRef, Facts, TargetInfo
from virtio_wizard.journal import (
    JOURNAL_DIR,
    JOURNAL_SCHEMA,
    backup_path,
    changed_anything,
    journal_path,
    latest_journal,
    list_journals,
    new_journal_id,
    read_journal,
    sha256_file,
    touched,
    write_journal,
)
from virtio_wizard.plan.model import Choices, Plan
from virtio_wizard.targets import LocalTarget, TargetError
from virtio_wizard.targets.demo import DemoTarget


@pytest.fixture
def target(tmp_path: Path) -> LocalTarget:
    return LocalTarget(str(tmp_path))


def record(journal_id: str, **extra) -> dict:
    return {"schema": JOURNAL_SCHEMA, "id": journal_id, "steps": [], **extra}


def test_ids_are_time_and_pid_and_never_collide(target: LocalTarget, tmp_path: Path) -> None:
    first = new_journal_id(target, pid=42)
    assert first.endswith("-42") and first[8] == "T" and first[:8].isdigit()
    write_journal(target, record(first))
    second = new_journal_id(target, pid=42)
    if second.startswith(first):  # same second: a suffix tells them apart
        assert second == f"{first}-2"
    assert second != first


def test_paths() -> None:
    assert journal_path("x") == f"{JOURNAL_DIR}/x.json"
    assert backup_path("x", "/boot/grub/grub.conf") == (
        "/var/lib/virtio-wizard/backups/x/boot/grub/grub.conf"
    )


def test_write_is_private_and_reads_back(target: LocalTarget, tmp_path: Path) -> None:
    path = write_journal(target, record("a", note="café"))
    host = tmp_path / path.lstrip("/")
    assert oct(host.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / JOURNAL_DIR.lstrip("/")).stat().st_mode & 0o777) == "0o700"
    back = read_journal(target, path)
    assert back["note"] == "café" and back["path"] == path
    assert not [n for n in os.listdir(host.parent) if n.startswith(".")], "no temp files left"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"schema": "other"}', "not a virtio-wizard/journal/1 document"),
        (b'["a"]', "not a virtio-wizard/journal/1 document"),
        (json.dumps({"schema": JOURNAL_SCHEMA, "id": "x"}).encode(), "journal without id or steps"),
    ],
)
def test_bad_journal_files_are_named(target, tmp_path: Path, content, message) -> None:
    folder = tmp_path / JOURNAL_DIR.lstrip("/")
    folder.mkdir(parents=True)
    (folder / "bad.json").write_bytes(content)
    with pytest.raises(ValueError, match=message):
        read_journal(target, f"{JOURNAL_DIR}/bad.json")
    [listed] = list_journals(target)
    assert listed["status"] == "unreadable" and message in listed["error"]
    assert latest_journal(target) is None


def test_list_ignores_temp_and_other_files(target: LocalTarget, tmp_path: Path) -> None:
    write_journal(target, record("b", started_ts=2.0))
    write_journal(target, record("a", started_ts=1.0))
    folder = tmp_path / JOURNAL_DIR.lstrip("/")
    (folder / ".b.json.vw-tmp").write_text("x")
    (folder / "notes.txt").write_text("x")
    assert [j["id"] for j in list_journals(target)] == ["a", "b"]
    assert latest_journal(target)["id"] == "b"


def test_no_journals_at_all(target: LocalTarget) -> None:
    assert list_journals(target) == [] and latest_journal(target) is None


def test_touched_and_changed_anything() -> None:
    assert touched({"changed": True})
    assert not touched({"status": "done"})
    assert touched({"status": "running", "backup": {"path": "/x"}})
    assert touched({"status": "failed", "image": {"path": "/boot/i"}})
    assert not touched({"status": "failed", "backup": {"path": "/x"}, "intact": True})
    assert not touched({"status": "pending", "created": True})
    assert changed_anything({"steps": [{"status": "already"}, {"changed": True}]})
    assert not changed_anything({"steps": [{"status": "already"}]})


def test_sha256_file_streams_and_refuses_non_files(target, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    (tmp_path / "big").write_bytes(data)
    assert sha256_file(target, "/big") == hashlib.sha256(data).hexdigest()
    assert sha256_file(target, "/missing") is None
    (tmp_path / "dir").mkdir()
    with pytest.raises(TargetError, match="not a regular file"):
        sha256_file(target, "/dir")


# ---- verify ---------------------------------------------------------------------


def test_verify_says_what_is_left_and_which_names_were_guesses(tmp_path: Path) -> None:
    guest = make_guest(tmp_path / "guest")
    target = target_for(guest)
    plan = make_plan(edit(guest, "/etc/fstab", NEW_FSTAB))
    apply_plan(target, plan)
    before = Facts(
        target=TargetInfo("local", str(guest)),
        disk_refs=(
            DiskRef("/etc/fstab", 1, "/dev/hda1", "legacy", "/dev/vda1", "fstab", guessed=True),
            DiskRef("/etc/fstab", 2, "/dev/hdb1", "legacy", "/dev/vdb1", "fstab", guessed=True),
        ),
    )
    lines = verify(target, plan, before=before)
    assert (
        "next: power the guest off, switch the disk bus and the NIC model to virtio in the "
        "VM definition, then start it (a reboot keeps the old devices: the bus changes only "
        "on a fresh start)" in lines
    )
    # Issue 11.4: no reboot before the switch, and the way back from a rescue system.
    assert any(line.startswith("do not reboot before switching") for line in lines)
    assert (
        "to go back: virtio-wizard undo; if the guest no longer boots, from a rescue "
        "system with its disk mounted at /mnt/guest: virtio-wizard --root /mnt/guest undo"
    ) in lines
    assert (
        "make sure the hypervisor presents the disks in the order assumed: "
        "/dev/hda1 -> /dev/vda1, /dev/hdb1 -> /dev/vdb1" in lines
    )
    left = [line for line in lines if "old names" in line]
    assert left == ["1 disk reference(s) still use the old names: /boot/grub/grub.conf:1 /dev/hda1"]


def test_verify_names_references_left_behind(tmp_path: Path) -> None:
    guest = make_guest(tmp_path / "guest")
    target = target_for(guest)
    plan = Plan(choices=Choices(method="initrd", block=True, net=False))
    lines = verify(target, plan)
    assert (
        "3 disk reference(s) still use the old names: /etc/fstab:1 /dev/hda1, "
        "/etc/fstab:2 /dev/hda3, /boot/grub/grub.conf:1 /dev/hda1"
    ) in lines
    # A boot disk that stays emulated keeps its names: nothing is "left behind".
    kept = Plan(choices=Choices(method="sysinit", block=True, net=False, boot_disk="emulated"))
    lines = verify(target, kept)
    assert not [line for line in lines if "old names" in line]
    assert (
        "next: power the guest off, switch the bus of the other disks (the boot disk stays "
        "emulated) to virtio in the VM definition, then start it (a reboot keeps the old "
        "devices: the bus changes only on a fresh start)"
    ) in lines
    assert not [line for line in lines if line.startswith("do not reboot")]


def test_verify_on_the_demo_says_nothing_was_run(tmp_path: Path) -> None:
    guest = make_guest(tmp_path / "guest")
    target = DemoTarget(str(guest))
    lines = verify(target, Plan(choices=Choices(block=False, net=True)))
    assert "demo: commands were shown, not run; no initrd was rebuilt" in lines
    assert lines[-2].startswith("next: power the guest off, switch the NIC model to virtio")
    # Each demo run is a new copy: "virtio-wizard undo" later would find nothing.
    assert "virtio-wizard undo" not in lines[-1].replace("--demo undo finds nothing", "")
    assert lines[-1].startswith("to go back in the demo: undo before the wizard exits")


def test_the_state_folders_are_named_in_journal_only():
    """One meaning per name: no module defines its own STATE_DIR or JOURNAL_DIR."""
    import ast
    from pathlib import Path

    import virtio_wizard

    package = Path(virtio_wizard.__file__).parent
    defined = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                where = str(path.relative_to(package))
                defined += [(where, n) for n in names if n.endswith(("STATE_DIR", "JOURNAL_DIR"))]
    assert defined == [("journal.py", "STATE_DIR"), ("journal.py", "JOURNAL_DIR")]
