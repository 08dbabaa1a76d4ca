"""device-mapper multipath: detected from the guest's files, and warned about for virtio-blk."""

from __future__ import annotations

from pathlib import Path

from apply_fixtures import target_for

from tests.plan_fixtures import facts
from virtio_wizard.detect.rootstack import detect_multipath
from virtio_wizard.facts import GuestLine, Multipath
from virtio_wizard.plan import Choices, plan

FILES = {
    "/etc/fstab": "/dev/mapper/mpatha1 / ext4 defaults 1 1\n"
    "/dev/mapper/data-part1 /srv xfs defaults 0 0\n"
    "UUID=0a1b /boot ext4 defaults 1 2\n",
    "/etc/multipath/bindings": "# Multipath bindings, Version : 1.0\n"
    "mpatha 36001405abcdef0123456789\n",
    "/etc/multipath/wwids": "# Valid WWIDs:\n/36001405abcdef0123456789/\n",
    "/etc/multipath.conf": "defaults {\n  user_friendly_names yes\n}\n"
    'blacklist {\n  devnode "^vd[a-z]"\n  wwid 3600a0b80000\n}\n'
    "multipaths {\n  multipath {\n    wwid 3600508b4000\n    alias data\n  }\n}\n",
}


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_detects_bindings_wwids_aliases_blacklist_and_mounts_on_maps(tmp_path: Path):
    write(tmp_path, FILES)
    mp = detect_multipath(target_for(tmp_path))
    assert [b.value for b in mp.bindings] == ["mpatha 36001405abcdef0123456789"]
    assert mp.wwids == ("36001405abcdef0123456789",)
    assert mp.aliases == ("data",)
    assert mp.blacklist == ("devnode ^vd[a-z]", "wwid 3600a0b80000")
    assert [(g.line, g.value, g.about) for g in mp.on_multipath] == [
        (1, "/dev/mapper/mpatha1", "/"),
        (2, "/dev/mapper/data-part1", "/srv"),
    ]


def test_root_vg_on_a_multipath_pv_is_found(tmp_path: Path):
    write(
        tmp_path,
        {
            "/etc/fstab": "/dev/mapper/vg-root / xfs defaults 0 0\n",
            "/etc/lvm/backup/vg": 'vg {\n pv0 {\n  device = "/dev/mapper/mpathb2"\n }\n}\n',
            "/etc/multipath.conf": "defaults {\n}\n",
        },
    )
    mp = detect_multipath(target_for(tmp_path))
    found = [(g.file, g.value) for g in mp.on_multipath]
    assert found == [("/etc/lvm/backup/vg", "/dev/mapper/mpathb2")]


def test_no_multipath_no_fact(tmp_path: Path):
    write(tmp_path, {"/etc/fstab": "/dev/sda1 / ext4 defaults 1 1\n"})
    assert detect_multipath(target_for(tmp_path)) is None


def findings(f, **choices):
    return [x for x in plan(f, Choices(method="initrd", **choices), {}).findings
            if x.id == "multipath-on-virtio"]  # fmt: skip


def test_the_warning_explains_the_missing_wwid_and_what_to_do(tmp_path: Path):
    write(tmp_path, FILES)
    f = facts(multipath=detect_multipath(target_for(tmp_path)))
    [warn] = findings(f)
    assert warn.severity == "warning"
    assert "/etc/fstab:1 /dev/mapper/mpatha1 (/)" in warn.message
    assert "has no WWID unless the host gives it a serial" in warn.message
    assert "the root file system would not be found" in warn.message
    assert "blacklist (devnode ^vd[a-z])" in warn.message


def test_no_warning_without_mounts_on_maps_or_when_the_disks_stay_emulated(tmp_path: Path):
    quiet = Multipath(bindings=(GuestLine("/etc/multipath/bindings", 1, "mpatha 3600", "mpatha"),))
    assert findings(facts(multipath=quiet)) == []
    write(tmp_path, FILES)
    f = facts(multipath=detect_multipath(target_for(tmp_path)))
    assert findings(f, block=False) == []
    assert findings(f, boot_disk="emulated", fix_disk_names=False) == []


def test_detection_warns_before_any_plan_and_the_plan_repeats_the_same_words(tmp_path: Path):
    from virtio_wizard.checks import FINDING_IDS, check

    write(tmp_path, FILES)
    f = facts(multipath=detect_multipath(target_for(tmp_path)))
    [seen] = [x for x in check(f) if x.id == "multipath-on-virtio"]
    assert "multipath-on-virtio" in FINDING_IDS
    assert seen == findings(f)[0], "one id, one meaning: detection and plan say the same"
    quiet = Multipath(bindings=(GuestLine("/etc/multipath/bindings", 1, "mpatha 3600", "mpatha"),))
    assert [x for x in check(facts(multipath=quiet)) if x.id == "multipath-on-virtio"] == []
