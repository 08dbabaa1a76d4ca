"""Disk names: whole-token replacement, UUID mode, one edit per real file."""

from __future__ import annotations

import pytest
from conftest import ROOTS_DIR

from tests.plan_fixtures import applied, facts, kernel, make, ref
from virtio_wizard.detect import detect
from virtio_wizard.facts import DiskRef
from virtio_wizard.plan import GuestFiles, make_plan
from virtio_wizard.plan.disknames import replace_token
from virtio_wizard.plan.model import Choices
from virtio_wizard.present.remedy import cli_fix
from virtio_wizard.targets import LocalTarget

ALL = ("virtio", "virtio_ring", "virtio_blk", "virtio_net", "virtio_pci")
FSTAB = "/etc/fstab"
FSTAB_TEXT = (
    "/dev/hda1  /boot  ext3  defaults  1 2\n"
    "/dev/hda10 /data  ext3  defaults  1 2\n"
    "/dev/hda3  swap   swap  defaults  0 0\n"
)
GRUB = "/boot/grub/grub.conf"
GRUB_TEXT = (
    "default=0\n"
    "title Red Hat Enterprise Linux Server (2.6.18-8.el5)\n"
    "\troot (hd0,0)\n"
    "\tkernel /vmlinuz-2.6.18-8.el5 ro root=/dev/hda2 resume=/dev/hda3\n"
)
#: A kernel whose initrd already has the modules, so only disk names are planned.
READY = facts(kernels=(kernel(initrd_virtio=ALL),))


def plan_names(f, files, **kw):
    kw.setdefault("method", "initrd")
    return make(f, files, **kw)


def fstab_refs(**kw):
    return (
        ref(FSTAB, 1, "/dev/hda1", "/dev/vda1", context="fstab", mountpoint="/boot", **kw),
        ref(FSTAB, 3, "/dev/hda3", "/dev/vda3", context="fstab", mountpoint="swap"),
    )


def test_whole_token_replacement_leaves_hda10_alone():
    f = facts(kernels=READY.kernels, disk_refs=fstab_refs())
    p = plan_names(f, {FSTAB: FSTAB_TEXT.encode()})
    (step,) = p.steps
    assert step.path == FSTAB
    assert step.new_text == (
        "/dev/vda1  /boot  ext3  defaults  1 2\n"
        "/dev/hda10 /data  ext3  defaults  1 2\n"
        "/dev/vda3  swap   swap  defaults  0 0\n"
    )
    assert step.why == (
        "name the disks as virtio shows them: /dev/hda1 -> /dev/vda1, /dev/hda3 -> /dev/vda3"
    )


def test_replace_token_edges():
    assert replace_token("root=/dev/hda1 ro", "/dev/hda1", "/dev/vda1") == ("root=/dev/vda1 ro", 1)
    assert replace_token("/dev/hda10", "/dev/hda1", "/dev/vda1") == ("/dev/hda10", 0)
    assert replace_token("/dev/hda1/x /xdev/hda1", "/dev/hda1", "/dev/vda1") == (
        "/dev/hda1/x /xdev/hda1",
        0,
    )
    assert replace_token("(hd0)\t/dev/hda\n", "/dev/hda", "/dev/vda") == ("(hd0)\t/dev/vda\n", 1)


def test_uuid_mode_in_fstab_and_kernel_args():
    refs = (
        *fstab_refs(uuid="1111-aaaa"),
        ref(GRUB, 4, "/dev/hda2", "/dev/vda2", context="grub-kernel-root", uuid="2222-bbbb"),
        ref(GRUB, 4, "/dev/hda3", "/dev/vda3", context="grub-resume"),
        ref("/boot/grub/device.map", 1, "/dev/hda", "/dev/vda", context="device.map", uuid="x"),
    )
    files = {
        FSTAB: FSTAB_TEXT.encode(),
        GRUB: GRUB_TEXT.encode(),
        "/boot/grub/device.map": b"(hd0)     /dev/hda\n",
    }
    p = plan_names(facts(kernels=READY.kernels, disk_refs=refs), files, use_uuid=True)
    by_path = {s.path: s for s in p.steps}
    assert by_path[FSTAB].new_text.splitlines()[0] == "UUID=1111-aaaa  /boot  ext3  defaults  1 2"
    # No UUID known for swap: the virtio name.
    assert by_path[FSTAB].new_text.splitlines()[2].startswith("/dev/vda3 ")
    assert by_path[GRUB].new_text.splitlines()[3] == (
        "\tkernel /vmlinuz-2.6.18-8.el5 ro root=UUID=2222-bbbb resume=/dev/vda3"
    )
    # device.map maps BIOS drives to devices: never a UUID.
    assert by_path["/boot/grub/device.map"].new_text == "(hd0)     /dev/vda\n"


def test_runtime_contexts_are_not_edited_but_noted():
    refs = (
        ref("/proc/cmdline", 1, "/dev/hda2", "/dev/vda2", context="cmdline"),
        ref("/etc/mtab", 2, "/dev/hda1", "/dev/vda1", context="mtab"),
        ref("/proc/swaps", 2, "/dev/hda3", "/dev/vda3", context="swaps"),
    )
    p = plan_names(facts(kernels=READY.kernels, disk_refs=refs), {})
    assert p.steps == ()
    (note,) = [f for f in p.findings if f.id == "disk-names-runtime"]
    assert note.severity == "info"
    assert note.message == (
        "/proc/cmdline, /etc/mtab, /proc/swaps still name the old disks: that is the running "
        "state, and it follows the edited files after a reboot."
    )


def test_guessed_names_warn():
    refs = (ref(FSTAB, 1, "/dev/sdb1", "/dev/vdb1", context="fstab", guessed=True),)
    files = {FSTAB: b"/dev/sdb1 /x ext3 defaults 0 0\n"}
    p = plan_names(facts(kernels=READY.kernels, disk_refs=refs), files)
    (w,) = [f for f in p.findings if f.id == "disk-order-guessed"]
    assert w.severity == "warning"
    assert "/dev/sdb1 -> /dev/vdb1" in w.message


def test_stale_reference_is_left_alone_with_a_warning():
    refs = (ref(FSTAB, 2, "/dev/hda1", "/dev/vda1", context="fstab"),)
    p = plan_names(facts(kernels=READY.kernels, disk_refs=refs), {FSTAB: FSTAB_TEXT.encode()})
    assert p.steps == ()
    (w,) = [f for f in p.findings if f.id == "disk-ref-stale"]
    assert w.message == (
        "These disk references were not where detection saw them (the file changed?) and are "
        "left alone: /etc/fstab:2 /dev/hda1."
    )


def test_symlinked_grub_conf_edits_the_real_file_once():
    refs = (
        ref("/etc/grub.conf", 4, "/dev/hda2", "/dev/vda2", context="grub-kernel-root"),
        ref(GRUB, 4, "/dev/hda2", "/dev/vda2", context="grub-kernel-root"),
        ref(GRUB, 4, "/dev/hda3", "/dev/vda3", context="grub-resume"),
    )
    files = GuestFiles(
        {"/etc/grub.conf": GRUB_TEXT.encode(), GRUB: GRUB_TEXT.encode()},
        real={"/etc/grub.conf": GRUB},
    )
    p = plan_names(facts(kernels=READY.kernels, disk_refs=refs), files)
    (step,) = p.steps
    assert step.path == GRUB
    assert "root=/dev/vda2 resume=/dev/vda3" in step.new_text
    assert not [f for f in p.findings if f.id == "disk-ref-stale"]


def test_keep_disk_names_and_net_only_plan_no_renames():
    f = facts(kernels=READY.kernels, disk_refs=fstab_refs())
    files = {FSTAB: FSTAB_TEXT.encode()}
    assert plan_names(f, files, fix_disk_names=False).steps == ()
    assert plan_names(f, files, block=False).steps == ()


@pytest.mark.parametrize(
    "asked",
    [{"fix_disk_names": True}, {"use_uuid": True}, {"fix_disk_names": True, "use_uuid": True}],
)
@pytest.mark.parametrize("method", ["initrd", "sysinit"])
def test_renaming_disks_when_only_the_network_moves_is_refused(asked, method):
    """Issue 11.1: with the net driver alone every disk stays emulated, so no name changes."""
    f = facts(kernels=READY.kernels, disk_refs=fstab_refs(uuid="1234-abcd"))
    files = {FSTAB: FSTAB_TEXT.encode(), "/etc/rc.d/rc.sysinit": b"#!/bin/bash\n"}
    p = plan_names(f, files, method=method, block=False, **asked)
    assert p.refused and p.steps == ()
    (refusal,) = p.refusals
    assert refusal.id == "disk-names-stay-emulated"
    assert refusal.message.startswith("Only the network driver is chosen, so every disk stays")
    assert "--keep-disk-names" in cli_fix(refusal.remedy)
    assert "--drivers block,net --method initrd" in cli_fix(refusal.remedy)


def test_renames_come_before_the_rebuild():
    """nash mkinitrd and dracut copy root and resume= into the image: rename first."""
    f = facts(disk_refs=fstab_refs())
    p = plan_names(f, {FSTAB: FSTAB_TEXT.encode()})
    assert [s.kind for s in p.steps] == ["edit", "backup", "command"]


def test_one_edit_per_file_when_config_and_names_meet():
    """The module list and a disk name in one file: one edit carries both changes."""
    path = "/etc/initramfs-tools/modules"
    text = "loop\n# root was /dev/hda1\n"
    refs = (ref(path, 2, "/dev/hda1", "/dev/vda1", context="fstab"),)
    f = facts(disk_refs=refs, initrd_tool="initramfs-tools")
    p = make(f, {path: text.encode()}, method="initrd", fix_disk_names=True)
    (step,) = [s for s in p.steps if s.kind == "edit"]
    assert step.path == path
    assert step.new_text == (
        "loop\n# root was /dev/vda1\nvirtio\nvirtio_ring\nvirtio_blk\nvirtio_net\nvirtio_pci\n"
    )
    assert step.why.count(";") == 1


def test_disk_names_are_idempotent():
    f = facts(kernels=READY.kernels, disk_refs=fstab_refs())
    files = {FSTAB: FSTAB_TEXT.encode()}
    first = plan_names(f, files)
    again = plan_names(f, applied(first, files))
    assert again.steps == ()  # the refs now point at text that no longer names hda


def test_boot_disk_kept_emulated_keeps_names_by_default():
    f = facts(kernels=READY.kernels, disk_refs=fstab_refs())
    files = {FSTAB: FSTAB_TEXT.encode()}
    p = plan_names(f, files, boot_disk="emulated")
    assert p.steps == ()
    (note,) = [x for x in p.findings if x.id == "disk-names-boot-emulated"]
    assert note.severity == "info"
    assert note.message == (
        "The boot disk stays emulated, so disk names are left as they are: "
        "its /dev/hdX or /dev/sdX names stay right."
    )


@pytest.mark.parametrize(
    "asked",
    [{"fix_disk_names": True}, {"use_uuid": True}, {"fix_disk_names": True, "use_uuid": True}],
)
@pytest.mark.parametrize("method", ["initrd", "sysinit"])
def test_renaming_a_boot_disk_that_stays_emulated_is_refused(asked, method):
    """Issue 11.1: /boot and swap renamed to vda while the disk stays on IDE broke the guest."""
    f = facts(kernels=READY.kernels, disk_refs=fstab_refs(uuid="1234-abcd"))
    files = {FSTAB: FSTAB_TEXT.encode(), "/etc/rc.d/rc.sysinit": b"#!/bin/bash\n"}
    p = plan_names(f, files, method=method, boot_disk="emulated", **asked)
    assert p.refused and p.steps == ()
    (refusal,) = p.refusals
    assert refusal.id == "disk-names-stay-emulated"
    assert refusal.message.startswith("The boot disk stays emulated (IDE/SATA)")
    assert "--keep-disk-names" in cli_fix(refusal.remedy)


def test_disks_are_renamed_by_default_only_when_they_move_to_virtio():
    from virtio_wizard.plan import Choices

    assert Choices(method="initrd").fixes_disk_names is True
    assert Choices(method="sysinit", boot_disk="emulated").fixes_disk_names is False
    assert Choices(method="initrd", boot_disk="emulated").fixes_disk_names is False
    assert Choices(method="initrd", block=False).fixes_disk_names is False


# ---- bus-specific names (/dev/disk/by-id, /dev/disk/by-path) -----------------------------

QM1 = "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001"
WDC = "/dev/disk/by-id/ata-WDC_WD10EZEX-00BN5A0_WD-WCC3F1234567"
MENU = "/boot/grub/menu.lst"
SLES_FSTAB = (
    f"{QM1}-part1 swap swap defaults 0 0\n"
    f"{QM1}-part2 / ext3 acl,user_xattr 1 1\n"
    f"{WDC}-part1 /data ext3 defaults 1 2\n"
)
SLES_MENU = (
    "title SLES 11\n"
    "    root (hd0,1)\n"
    f"    kernel /boot/vmlinuz root={QM1}-part2 resume={QM1}-part1 splash=silent\n"
)
DEVICE_MAP = "/boot/grub/device.map"


def unmapped(file, line, device, context, uuid=None, mountpoint=None):
    return DiskRef(file, line, device, "legacy", None, context, mountpoint, uuid)


def sles_refs(wdc_uuid=None, root_uuid=None):
    return (
        ref(FSTAB, 1, f"{QM1}-part1", "/dev/vda1", context="fstab", mountpoint="swap"),
        ref(FSTAB, 2, f"{QM1}-part2", "/dev/vda2", context="fstab", mountpoint="/", uuid=root_uuid),
        unmapped(FSTAB, 3, f"{WDC}-part1", "fstab", wdc_uuid, "/data"),
        ref(MENU, 3, f"{QM1}-part2", "/dev/vda2", context="grub-root", uuid=root_uuid),
        ref(MENU, 3, f"{QM1}-part1", "/dev/vda1", context="grub-resume"),
        unmapped(DEVICE_MAP, 1, WDC, "device.map", "ffff-0000"),
    )


def sles_files():
    return {
        FSTAB: SLES_FSTAB.encode(),
        MENU: SLES_MENU.encode(),
        DEVICE_MAP: f"(hd0)\t{WDC}\n".encode(),
    }


def test_by_id_names_are_rewritten_whole_and_unmapped_ones_warned():
    p = plan_names(facts(kernels=READY.kernels, disk_refs=sles_refs()), sles_files())
    by_path = {s.path: s for s in p.steps}
    assert set(by_path) == {FSTAB, MENU}
    assert by_path[FSTAB].new_text == (
        "/dev/vda1 swap swap defaults 0 0\n"
        "/dev/vda2 / ext3 acl,user_xattr 1 1\n"
        f"{WDC}-part1 /data ext3 defaults 1 2\n"
    )
    assert by_path[MENU].new_text.splitlines()[2] == (
        "    kernel /boot/vmlinuz root=/dev/vda2 resume=/dev/vda1 splash=silent"
    )
    (w,) = [f for f in p.findings if f.id == "disk-names-unmapped"]
    assert w.severity == "warning"
    assert w.message == (
        "Left as they are, with no virtio name known (they name a disk by its emulated bus, "
        f"which virtio does not show): /etc/fstab:3 {WDC}-part1, {DEVICE_MAP}:1 {WDC}."
    )
    assert cli_fix(w.remedy) == (
        "Change them to UUID= or LABEL= (blkid shows them) before switching the disk to "
        "virtio, or let the wizard write UUID= where it is known (for some of them it is). "
        "Command line: --use-uuid."
    )
    assert not [f for f in p.findings if f.id == "disk-ref-stale"]


def test_uuid_mode_rewrites_unmapped_names_whose_uuid_is_known():
    refs = sles_refs(wdc_uuid="0a1b-2c3d", root_uuid="1111-aaaa")
    p = plan_names(facts(kernels=READY.kernels, disk_refs=refs), sles_files(), use_uuid=True)
    by_path = {s.path: s for s in p.steps}
    assert set(by_path) == {FSTAB, MENU}
    assert by_path[FSTAB].new_text == (
        "/dev/vda1 swap swap defaults 0 0\n"
        "UUID=1111-aaaa / ext3 acl,user_xattr 1 1\n"
        "UUID=0a1b-2c3d /data ext3 defaults 1 2\n"
    )
    assert f"{WDC}-part1 -> UUID=0a1b-2c3d" in by_path[FSTAB].why
    assert by_path[MENU].new_text.splitlines()[2] == (
        "    kernel /boot/vmlinuz root=UUID=1111-aaaa resume=/dev/vda1 splash=silent"
    )
    # device.map takes a disk, never UUID=: still named, without the --use-uuid hint.
    (w,) = [f for f in p.findings if f.id == "disk-names-unmapped"]
    assert w.message.endswith(f"{DEVICE_MAP}:1 {WDC}.")
    assert "--use-uuid" not in cli_fix(w.remedy)


def test_unmapped_without_uuid_in_uuid_mode_is_left_and_warned():
    refs = (unmapped(FSTAB, 3, f"{WDC}-part1", "fstab", mountpoint="/data"),)
    files = {FSTAB: SLES_FSTAB.encode()}
    p = plan_names(facts(kernels=READY.kernels, disk_refs=refs), files, use_uuid=True)
    assert p.steps == ()
    (w,) = [f for f in p.findings if f.id == "disk-names-unmapped"]
    assert cli_fix(w.remedy).endswith("before switching the disk to virtio.")


def test_unmapped_uuid_in_a_bare_kernel_argument_is_not_written():
    """UUID= means something only after root=/resume=: elsewhere the token is left."""
    line = f"kernel /vmlinuz ro root=LABEL=/ noresume={WDC}-part1\n"
    refs = (unmapped(MENU, 1, f"{WDC}-part1", "grub-resume", "0a1b-2c3d"),)
    p = plan_names(
        facts(kernels=READY.kernels, disk_refs=refs), {MENU: line.encode()}, use_uuid=True
    )
    assert p.steps == ()
    (w,) = [f for f in p.findings if f.id == "disk-ref-stale"]
    assert f"{MENU}:1 {WDC}-part1" in w.message


def test_runtime_unmapped_names_are_not_warned_as_left():
    refs = (unmapped("/proc/cmdline", 1, f"{WDC}-part2", "cmdline"),)
    p = plan_names(facts(kernels=READY.kernels, disk_refs=refs), {})
    assert not [f for f in p.findings if f.id == "disk-names-unmapped"]


def test_sles11_root_plans_initrd_modules_and_rewrites_fstab_and_menu_lst():
    """The SUSE path end to end on the fixture root: detect, then plan with --fix-disk-names."""
    target = LocalTarget(str(ROOTS_DIR / "sles11"))
    f = detect(target, read_initrds=False)
    qm = [r for r in f.disk_refs if r.device.startswith(QM1)]
    assert {(r.file, r.proposed) for r in qm} == {
        ("/etc/fstab", "/dev/vda1"),
        ("/etc/fstab", "/dev/vda2"),
        (MENU, "/dev/vda1"),
        (MENU, "/dev/vda2"),
        (DEVICE_MAP, "/dev/vda"),
    }
    p = make_plan(target, f, Choices(method="initrd", fix_disk_names=True))
    assert not [x for x in p.findings if x.severity == "error"]
    by_path = {s.path: s for s in p.steps if s.kind == "edit"}
    assert "virtio_blk" in by_path["/etc/sysconfig/kernel"].new_text
    assert QM1 not in by_path["/etc/fstab"].new_text
    assert "/dev/vda2 /" in by_path["/etc/fstab"].new_text
    assert "root=/dev/vda2 resume=/dev/vda1 " in by_path[MENU].new_text
    assert QM1 not in by_path[MENU].new_text
    assert any(s.kind == "command" and s.argv[0] == "mkinitrd" for s in p.steps)
