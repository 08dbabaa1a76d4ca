"""mdadm.conf patterns that name only the emulated disks get a /dev/vd twin in the plan."""

from __future__ import annotations

from tests.plan_fixtures import ALL, facts, kernel, make, ref
from virtio_wizard.plan.mdadm import virtio_patterns
from virtio_wizard.plan.model import Choices
from virtio_wizard.plan.needs import files_needed

READY = facts(kernels=(kernel(initrd_virtio=ALL),))
CONF = "/etc/mdadm.conf"


def plan_with(text: str, path: str = CONF, **kw):
    kw.setdefault("method", "initrd")
    return make(READY, {path: text.encode()}, **kw)


def test_device_glob_for_sd_gets_the_vd_pattern_previewed_with_a_warning():
    text = (
        "# mdadm.conf\nDEVICE /dev/sd*[0-9] /dev/hd*  # scan these\nARRAY /dev/md0 UUID=a:b:c:d\n"
    )
    p = plan_with(text)
    [step] = [s for s in p.steps if s.path == CONF]
    assert step.new_text == (
        "# mdadm.conf\nDEVICE /dev/sd*[0-9] /dev/hd* /dev/vd*[0-9] /dev/vd* # scan these\n"
        "ARRAY /dev/md0 UUID=a:b:c:d\n"
    )
    assert "+DEVICE /dev/sd*[0-9] /dev/hd* /dev/vd*[0-9] /dev/vd*" in step.diff
    [warn] = [f for f in p.findings if f.id == "mdadm-devices-miss-virtio"]
    assert "/dev/vd*[0-9] /dev/vd*" in warn.remedy.advice and CONF in warn.message


def test_continuation_lines_and_debian_path_are_read():
    text = "DEVICE /dev/sda1\n  /dev/sd[bc]1\nARRAY /dev/md0 devices=/dev/sd[abc]1\n"
    p = plan_with(text, "/etc/mdadm/mdadm.conf")
    [step] = [s for s in p.steps if s.path == "/etc/mdadm/mdadm.conf"]
    assert step.new_text == (
        "DEVICE /dev/sda1\n  /dev/sd[bc]1 /dev/vd[bc]1\n"
        "ARRAY /dev/md0 devices=/dev/sd[abc]1,/dev/vd[abc]1\n"
    )


def test_patterns_that_already_see_virtio_are_left_alone():
    for text in (
        "DEVICE partitions\n",
        "DEVICE /dev/sd* /dev/vd*\n",
        "DEVICE /dev/*\n",
        "ARRAY /dev/md0 UUID=a:b:c:d\n",
        "",
    ):
        p = plan_with(text)
        assert not [s for s in p.steps if s.path == CONF], text
        assert not [f for f in p.findings if f.id == "mdadm-devices-miss-virtio"]


def test_explicit_names_are_renamed_by_the_disk_names_not_widened():
    f = facts(
        kernels=READY.kernels,
        disk_refs=(ref(CONF, 1, "/dev/sda3", "/dev/vda3", context="mdadm"),),
    )
    p = make(f, {CONF: b"DEVICE /dev/sda3\n"}, method="initrd")
    [step] = [s for s in p.steps if s.path == CONF]
    assert step.new_text == "DEVICE /dev/vda3\n"
    assert not [x for x in p.findings if x.id == "mdadm-devices-miss-virtio"]


def test_nothing_when_the_disks_stay_emulated_or_only_the_nic_moves():
    text = "DEVICE /dev/sd*\n"
    assert not plan_with(text, block=False).steps
    emulated = plan_with(text, boot_disk="emulated", fix_disk_names=False)
    assert not [s for s in emulated.steps if s.path == CONF]
    assert CONF not in files_needed(READY, Choices(block=False))
    assert CONF in files_needed(READY, Choices())


def test_virtio_patterns_rules():
    assert virtio_patterns(["/dev/sd*"]) == ["/dev/vd*"]
    assert virtio_patterns(["/dev/hd[ab]*", "/dev/sd[ab]*"]) == ["/dev/vd[ab]*"]
    assert virtio_patterns(["PARTITIONS"]) == []
    assert virtio_patterns(["/dev/md*"]) == []
