"""LVM's filter and devices file, and the stale device caches (blkid, LVM).

A filter that accepts only sd* is fixed in the plan; the devices file and
the caches are removed before any rebuild, with a copy that undo restores
byte for byte; a cache the guest made again since is kept by undo.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from virtio_wizard.apply.preflight import StaleFileError
from virtio_wizard.apply.run import apply_plan
from virtio_wizard.apply.undo import undo
from virtio_wizard.detect import detect
from virtio_wizard.plan import Choices, Plan, make_plan
from virtio_wizard.plan.lvm import filter_accepts, parse_filters
from virtio_wizard.targets import LocalTarget

LVM_CONF = """\
devices {
    dir = "/dev"
    # filter = [ "r|.*|" ]   (a comment: not active)
    filter = [ "a|^/dev/sda[0-9]*$|", "r|.*|" ]
    global_filter = [ "r|^/dev/fd|" ]
}
"""
DEVICES = (
    "# LVM uses devices listed in this file.\nVERSION=1.1.2\n"
    "IDTYPE=sys_wwid IDNAME=t10.ATA_QEMU_HARDDISK_QM00001 DEVNAME=/dev/sda2 PVID=abc PART=2\n"
)
FILES = {
    "/etc/os-release": 'ID=debian\nVERSION_ID="12"\n',
    "/boot/vmlinuz-6.1.0-50-amd64": "kernel",
    "/boot/config-6.1.0-50-amd64": "".join(
        f"CONFIG_{s}=m\n"
        for s in ("VIRTIO", "VIRTIO_RING", "VIRTIO_BLK", "VIRTIO_NET", "VIRTIO_PCI")
    ),
    "/lib/modules/6.1.0-50-amd64/modules.order": "",
    "/etc/modules": "loop\n",
    "/etc/fstab": "/dev/mapper/vg-root / ext4 defaults 0 1\n",
    "/etc/lvm/lvm.conf": LVM_CONF,
    "/etc/lvm/devices/system.devices": DEVICES,
    "/etc/lvm/cache/.cache": 'persistent_filter_cache {\n valid_devices=["/dev/sda2"]\n}\n',
    "/etc/blkid/blkid.tab": '<device DEVNO="0x0802" TYPE="LVM2_member">/dev/sda2</device>\n',
}
SYSINIT = Choices(method="sysinit", boot_disk="emulated", sysinit_file="/etc/modules")


def guest(tmp_path: Path) -> LocalTarget:
    for rel, text in FILES.items():
        path = tmp_path / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return LocalTarget(str(tmp_path))


def hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "var/lib/virtio-wizard" not in str(p)
    }


def test_filter_rules_follow_lvm_conf():
    assert parse_filters(LVM_CONF) == [
        ("filter", LVM_CONF.index('[ "a|') + 1, ["a|^/dev/sda[0-9]*$|", "r|.*|"]),
        ("global_filter", LVM_CONF.index('[ "r|^/dev/fd') + 1, ["r|^/dev/fd|"]),
    ]
    assert filter_accepts(["a|^/dev/sda[0-9]*$|", "r|.*|"], "/dev/sda2") is True
    assert filter_accepts(["a|^/dev/sda[0-9]*$|", "r|.*|"], "/dev/vda2") is False
    assert filter_accepts(["a|^/dev/vd|", "a|^/dev/sda|", "r|.*|"], "/dev/vda2") is True
    assert filter_accepts(["x|bad|"], "/dev/vda2") is None


def test_plan_fixes_the_filter_and_removes_devices_file_and_caches_before_rebuilds(tmp_path):
    target = guest(tmp_path)
    plan = make_plan(target, detect(target, read_initrds=False), SYSINIT)
    assert not plan.refused, plan.refusals
    ids = [f.id for f in plan.findings]
    assert "lvm-filter-rejects-virtio" in ids and "stale-device-caches" in ids
    [lvm] = [s for s in plan.steps if s.path == "/etc/lvm/lvm.conf"]
    assert 'filter = [ "a|^/dev/vd|", "a|^/dev/sda[0-9]*$|", "r|.*|" ]' in lvm.new_text
    assert 'global_filter = [ "r|^/dev/fd|" ]' in lvm.new_text  # accepts vd* already
    assert '# filter = [ "r|.*|" ]' in lvm.new_text  # comments untouched
    removed = [s.path for s in plan.steps if s.kind == "remove"]
    assert removed == [
        "/etc/blkid/blkid.tab",
        "/etc/lvm/cache/.cache",
        "/etc/lvm/devices/system.devices",
    ]
    kinds = [s.kind for s in plan.steps]
    assert kinds.index("remove") > max(i for i, k in enumerate(kinds) if k == "edit")
    # The plan survives its JSON form (saved plans, journals).
    assert Plan.from_dict(plan.to_dict()) == plan


def test_apply_removes_with_a_copy_and_undo_restores_byte_for_byte(tmp_path):
    target = guest(tmp_path)
    before = hashes(tmp_path)
    plan = make_plan(target, detect(target, read_initrds=False), SYSINIT)
    result = apply_plan(target, plan)
    assert result.ok, result.messages
    assert not (tmp_path / "etc/lvm/devices/system.devices").exists()
    assert not (tmp_path / "etc/blkid/blkid.tab").exists()
    # A second apply finds them gone: nothing to do.
    assert apply_plan(target, plan).status == "nothing"
    undone = undo(target)
    assert undone.status == "done"
    assert hashes(tmp_path) == before


def test_undo_keeps_a_cache_the_guest_made_again(tmp_path):
    target = guest(tmp_path)
    plan = make_plan(target, detect(target, read_initrds=False), SYSINIT)
    assert apply_plan(target, plan).ok
    cache = tmp_path / "etc/lvm/cache/.cache"
    cache.write_text('persistent_filter_cache {\n valid_devices=["/dev/vda2"]\n}\n')
    messages = []
    undone = undo(target, on_event=lambda e: messages.append(e.text))
    assert undone.status == "done"
    assert "vda2" in cache.read_text()
    assert any("made again since the apply" in m for m in messages), messages
    assert (tmp_path / "etc/lvm/devices/system.devices").read_text() == DEVICES


def test_a_devices_file_changed_since_planning_is_refused(tmp_path):
    target = guest(tmp_path)
    plan = make_plan(target, detect(target, read_initrds=False), SYSINIT)
    (tmp_path / "etc/lvm/devices/system.devices").write_text(DEVICES + "# more\n")
    with pytest.raises(StaleFileError):
        apply_plan(target, plan)
    assert (tmp_path / "etc/blkid/blkid.tab").exists()  # nothing was changed


def test_preview_and_script_show_the_removal(tmp_path):
    from virtio_wizard.preview import render_text
    from virtio_wizard.script import render_script

    target = guest(tmp_path)
    plan = make_plan(target, detect(target, read_initrds=False), SYSINIT)
    text = render_text(plan)
    assert "remove /etc/lvm/devices/system.devices (a copy is kept with the journal)" in text
    assert "$ rm -f /etc/lvm/devices/system.devices" in text
    script = render_script(plan)
    assert 'rm -f "$p" || vw_die "cannot remove $p"' in script


def test_removals_come_before_the_initrd_rebuild_on_a_dracut_guest(tmp_path):
    """dracut copies lvm.conf and the devices file into the image: both settled first."""
    files = {
        **FILES,
        "/etc/os-release": 'ID="rhel"\nVERSION_ID="9.2"\nID_LIKE="fedora"\n',
        "/usr/bin/dracut": "#!/bin/sh\n",
        "/boot/initramfs-6.1.0-50-amd64.img": "",
    }
    del files["/etc/modules"]
    for rel, text in files.items():
        path = tmp_path / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    target = LocalTarget(str(tmp_path))
    plan = make_plan(target, detect(target, read_initrds=False), Choices(method="initrd"))
    assert not plan.refused, plan.refusals
    kinds = [(s.kind, s.path or s.argv[0]) for s in plan.steps]
    rebuild = next(i for i, (kind, _) in enumerate(kinds) if kind == "command")
    removed = [i for i, (kind, _) in enumerate(kinds) if kind == "remove"]
    lvm = kinds.index(("edit", "/etc/lvm/lvm.conf"))
    assert removed and max(removed) < rebuild and lvm < rebuild, kinds
    assert plan.steps[rebuild].argv[0] == "dracut", kinds
