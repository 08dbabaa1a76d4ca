"""Disk names: whole-token replacement, UUID mode, one edit per real file."""

from __future__ import annotations

from tests.plan_fixtures import applied, facts, kernel, make, ref
from virtio_wizard.plan import GuestFiles
from virtio_wizard.plan.disknames import replace_token

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
    assert [s.path for s in plan_names(f, files, block=False, fix_disk_names=True).steps] == [FSTAB]


def test_renames_come_after_the_rebuild():
    f = facts(disk_refs=fstab_refs())
    p = plan_names(f, {FSTAB: FSTAB_TEXT.encode()})
    assert [s.kind for s in p.steps] == ["backup", "command", "edit"]


def test_one_edit_per_file_when_config_and_names_meet():
    path = "/etc/modules"
    text = "loop\n# root was /dev/hda1\n"
    refs = (ref(path, 2, "/dev/hda1", "/dev/vda1", context="fstab"),)
    f = facts(kernels=READY.kernels, disk_refs=refs)
    p = make(
        f,
        {path: text.encode()},
        method="sysinit",
        block=False,
        sysinit_file=path,
        fix_disk_names=True,
    )
    (step,) = p.steps
    assert step.new_text == "loop\n# root was /dev/vda1\nvirtio\nvirtio_net\nvirtio_pci\n"
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
    forced = plan_names(f, files, boot_disk="emulated", fix_disk_names=True)
    assert [s.path for s in forced.steps] == [FSTAB]
    (w,) = [x for x in forced.findings if x.id == "disk-names-boot-emulated"]
    assert w.severity == "warning"
    assert w.message.startswith("The boot disk stays emulated, yet disk names are rewritten")
