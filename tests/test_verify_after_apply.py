"""``apply.verify`` right after an apply: does each prepared initrd hold what the root needs?

Besides the virtio modules, a prepared kernel's image must hold what the
guest's root needs (its file system module, device-mapper and the lvm tool
on LVM, ...: ``plan.rootneeds``), else the guest stops before ``/`` is
mounted. ``verify`` detects the guest again, asks ``root_needs`` of the new
Facts and reads each image once. Fixture guests: a RHEL 5 (nash mkinitrd)
root on LVM, whose image holds or lacks ``/bin/lvm`` and ``dm-mod.ko``, and
one whose kernel has everything built in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_fixtures import MODULES, newc
from live_fixtures import CONFIG, DM_MOD, EXT3, IMAGE, KVER, VIRTIO, lvm_root

from virtio_wizard.apply import scratch
from virtio_wizard.apply.scratch import ScratchCheck
from virtio_wizard.apply.verify import check_root_needs, verify
from virtio_wizard.detect import detect
from virtio_wizard.plan.model import Choices, Plan


@pytest.fixture(autouse=True)
def no_scratch_build(monkeypatch):
    """The kernel-update check would run mkinitrd on this machine: it has tests of its own."""
    monkeypatch.setattr(
        scratch,
        "check_survives_update",
        lambda target, facts, modules, kernel: ScratchCheck(kernel.version, reason="not here"),
    )


def initrd_plan() -> Plan:
    return Plan(choices=Choices(method="initrd", net=False), modules=MODULES, kernel=KVER)


def root_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if "root needs" in line]


def test_an_image_with_everything_says_so(tree):
    target = tree(lvm_root((*VIRTIO, DM_MOD, EXT3, "bin/lvm")))
    lines = verify(target, initrd_plan())
    assert f"the initrd of {KVER} now holds {', '.join(MODULES)}" in lines
    assert root_lines(lines) == [
        f"the initrd of {KVER} also holds what the root needs: the root file system, ext3; "
        "device-mapper: root on LVM; the lvm tool: root on LVM"
    ]


def test_an_lvm_root_whose_image_lacks_lvm_and_dm_mod(tree):
    target = tree(lvm_root((*VIRTIO, EXT3)))
    lines = verify(target, initrd_plan())
    assert f"the initrd of {KVER} now holds {', '.join(MODULES)}" in lines
    assert root_lines(lines) == [
        f"the initrd of {KVER} ({IMAGE}) lacks what the root needs: "
        "dm_mod (device-mapper: root on LVM); lvm (the lvm tool: root on LVM); "
        f"booted from it, {KVER} cannot mount /"
    ]


def test_built_in_modules_ask_nothing_and_the_image_is_not_read(tree, monkeypatch):
    """ext3 and device-mapper built in, and no LVM: nothing asked, no line, no read."""
    built_in = CONFIG.replace("CONFIG_EXT3_FS=m", "CONFIG_EXT3_FS=y")
    files = lvm_root(VIRTIO, config=built_in)
    files["etc/fstab"] = "/dev/hda1 / ext3 defaults 1 1\n"
    target = tree(files)
    monkeypatch.setattr(
        "virtio_wizard.initrd.members.image_members",
        lambda *a: pytest.fail("the image must not be read when nothing is asked"),
    )
    assert root_lines(verify(target, initrd_plan())) == []
    facts = detect(target)
    answer = check_root_needs(target, facts, facts.kernel(KVER))
    assert answer.needs == () and answer.holds is True and answer.line() == ""


def test_an_unreadable_image_is_said_plainly(tree):
    files = lvm_root(VIRTIO)
    target = tree(files)
    facts = detect(target)
    Path(target.root, IMAGE.lstrip("/")).write_bytes(b"\x1f\x8b not gzip at all")
    answer = check_root_needs(target, facts, facts.kernel(KVER))
    assert answer.holds is None
    assert answer.line().startswith(
        f"could not read the initrd of {KVER} ({IMAGE}) to check what the root needs: "
    )
    Path(target.root, IMAGE.lstrip("/")).unlink()
    gone = check_root_needs(target, facts, facts.kernel(KVER))
    assert gone.holds is None and "cannot read" in gone.line()


def test_each_prepared_kernel_gets_its_own_line(tree):
    other = "2.6.18-128.el5"
    files = lvm_root((*VIRTIO, DM_MOD, EXT3, "bin/lvm"))
    files[f"boot/vmlinuz-{other}"] = ""
    files[f"boot/config-{other}"] = CONFIG
    files[f"boot/initrd-{other}.img"] = newc(["init", *(v.replace(KVER, other) for v in VIRTIO)])
    files["boot/grub/grub.conf"] += (
        f"title RHEL ({other})\n\troot (hd0,0)\n\tkernel /vmlinuz-{other} ro\n"
        f"\tinitrd /initrd-{other}.img\n"
    )
    target = tree(files)
    plan = Plan(
        choices=Choices(method="initrd", net=False),
        modules=MODULES,
        kernel=KVER,
        kernels=(KVER, other),
    )
    lines = root_lines(verify(target, plan))
    assert lines[0].startswith(f"the initrd of {KVER} also holds")
    assert lines[1].startswith(f"the initrd of {other} (/boot/initrd-{other}.img) lacks")
    assert "ext3 (the root file system, ext3)" in lines[1]


def test_a_sysinit_apply_reads_no_image(tree, monkeypatch):
    target = tree(lvm_root(VIRTIO))
    monkeypatch.setattr(
        "virtio_wizard.initrd.members.image_members",
        lambda *a: pytest.fail("a sysinit apply rebuilt no image"),
    )
    plan = Plan(choices=Choices(method="sysinit", net=False), modules=MODULES, kernel=KVER)
    assert root_lines(verify(target, plan)) == []


def test_a_read_that_fails_part_way_is_said_plainly(tree, monkeypatch):
    target = tree(lvm_root(VIRTIO))
    facts = detect(target)

    def eio(*a):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("virtio_wizard.initrd.members.image_members", eio)
    answer = check_root_needs(target, facts, facts.kernel(KVER))
    assert answer.holds is None
    assert answer.line() == (
        f"could not read the initrd of {KVER} ({IMAGE}) to check what the root needs: "
        "Input/output error"
    )
