"""Every place the boot path names a disk is renamed, before any initrd rebuild.

One Debian-like guest "installed on SATA" holds each of them: grub2's
grub.cfg linux lines (``GRUB_DISABLE_LINUX_UUID=true``), /etc/default/grub,
initramfs-tools' RESUME=, mdadm.conf, a dracut add_device, BLS options,
/etc/kernel/cmdline, SUSE's /etc/sysconfig/bootloader, grub2's device.map and
crypttab.
"""

from __future__ import annotations

from pathlib import Path

from virtio_wizard.detect import detect
from virtio_wizard.plan import Choices, make_plan
from virtio_wizard.present.remedy import cli_fix
from virtio_wizard.targets import LocalTarget

KVER = "6.1.0-50-amd64"
VIRTIO_CONFIG = "".join(
    f"CONFIG_{s}=m\n" for s in ("VIRTIO", "VIRTIO_RING", "VIRTIO_BLK", "VIRTIO_NET", "VIRTIO_PCI")
)
GRUB_CFG = f"""\
set default="0"
menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-/dev/sda1' {{
\tlinux\t/boot/vmlinuz-{KVER} root=/dev/sda1 ro resume=/dev/sda2 quiet
\tinitrd\t/boot/initrd.img-{KVER}
}}
"""

FILES = {
    "/etc/os-release": 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12"\n',
    f"/boot/vmlinuz-{KVER}": "kernel",
    f"/boot/initrd.img-{KVER}": "",
    f"/boot/config-{KVER}": VIRTIO_CONFIG,
    f"/lib/modules/{KVER}/modules.order": "",
    "/usr/sbin/update-initramfs": "#!/bin/sh\n",
    "/etc/initramfs-tools/initramfs.conf": "MODULES=list\n",
    "/etc/initramfs-tools/modules": "ext4\n",
    "/etc/fstab": "/dev/sda1 / ext4 errors=remount-ro 0 1\n/dev/sda2 none swap sw 0 0\n",
    "/etc/crypttab": "# <target> <source> <key> <options>\ncrypt_home /dev/sdb2 none luks\n",
    "/boot/grub/grub.cfg": GRUB_CFG,
    "/etc/default/grub": 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="resume=/dev/sda2"\n'
    "GRUB_DISABLE_LINUX_UUID=true\n",
    "/boot/grub2/device.map": "(hd0)\t/dev/sda\n",
    "/etc/initramfs-tools/conf.d/resume": "RESUME=/dev/sda2\n",
    "/etc/mdadm/mdadm.conf": "DEVICE /dev/sda3 /dev/sdb1\n"
    "ARRAY /dev/md0 metadata=1.2 name=x:0\n   devices=/dev/sda3,/dev/sdb1\n",
    "/etc/dracut.conf.d/resume.conf": 'add_device+=" /dev/sda2 "\n',
    "/boot/loader/entries/abc-6.1.conf": "title X\nversion 6.1\nlinux /vmlinuz-6.1\n"
    "options root=/dev/sda1 ro resume=/dev/sda2\n",
    "/etc/kernel/cmdline": "root=/dev/sda1 ro resume=/dev/sda2\n",
    "/etc/sysconfig/bootloader": 'DEFAULT_APPEND="resume=/dev/sda2 splash=silent"\n',
}


def guest(tmp_path: Path, files: dict[str, str] = FILES) -> LocalTarget:
    for rel, text in files.items():
        path = tmp_path / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return LocalTarget(str(tmp_path))


def test_every_boot_path_place_is_detected(tmp_path):
    facts = detect(guest(tmp_path), read_initrds=False)
    found = {(r.file, r.context, r.device, r.proposed) for r in facts.disk_refs}
    for want in [
        ("/boot/grub/grub.cfg", "grub2-root", "/dev/sda1", "/dev/vda1"),
        ("/boot/grub/grub.cfg", "grub2-resume", "/dev/sda2", "/dev/vda2"),
        ("/etc/default/grub", "default-grub", "/dev/sda2", "/dev/vda2"),
        ("/boot/grub2/device.map", "device.map", "/dev/sda", "/dev/vda"),
        ("/etc/initramfs-tools/conf.d/resume", "initramfs-resume", "/dev/sda2", "/dev/vda2"),
        ("/etc/mdadm/mdadm.conf", "mdadm", "/dev/sdb1", "/dev/vdb1"),
        ("/etc/dracut.conf.d/resume.conf", "dracut-conf", "/dev/sda2", "/dev/vda2"),
        ("/boot/loader/entries/abc-6.1.conf", "bls-root", "/dev/sda1", "/dev/vda1"),
        ("/etc/kernel/cmdline", "kernel-cmdline", "/dev/sda2", "/dev/vda2"),
        ("/etc/sysconfig/bootloader", "suse-bootloader", "/dev/sda2", "/dev/vda2"),
        ("/etc/crypttab", "crypttab", "/dev/sdb2", "/dev/vdb2"),
    ]:
        assert want in found, want
    md = sorted(r.line for r in facts.disk_refs if r.context == "mdadm" and r.device == "/dev/sda3")
    assert md == [1, 3]  # DEVICE line, and devices= on a continuation line


def test_renames_every_place_before_the_rebuild_and_says_grub_cfg_is_edited_by_text(tmp_path):
    target = guest(tmp_path)
    facts = detect(target, read_initrds=False)
    plan = make_plan(target, facts, Choices(method="initrd"))
    assert not plan.refused, plan.refusals
    kinds = [s.kind for s in plan.steps]
    first_rebuild = kinds.index("backup")
    assert all(k == "edit" for k in kinds[:first_rebuild])
    assert kinds[first_rebuild:] == ["backup", "command"]
    edited = {s.path: s.new_text for s in plan.steps if s.kind == "edit"}
    assert "root=/dev/vda1 ro resume=/dev/vda2" in edited["/boot/grub/grub.cfg"]
    assert edited["/etc/initramfs-tools/conf.d/resume"] == "RESUME=/dev/vda2\n"
    assert 'GRUB_CMDLINE_LINUX="resume=/dev/vda2"' in edited["/etc/default/grub"]
    assert edited["/boot/grub2/device.map"] == "(hd0)\t/dev/vda\n"
    assert "DEVICE /dev/vda3 /dev/vdb1\n" in edited["/etc/mdadm/mdadm.conf"]
    assert "devices=/dev/vda3,/dev/vdb1" in edited["/etc/mdadm/mdadm.conf"]
    assert edited["/etc/kernel/cmdline"] == "root=/dev/vda1 ro resume=/dev/vda2\n"
    assert edited["/etc/crypttab"].endswith("crypt_home /dev/vdb2 none luks\n")
    assert "resume=/dev/vda2 splash" in edited["/etc/sysconfig/bootloader"]
    assert '" /dev/vda2 "' in edited["/etc/dracut.conf.d/resume.conf"]
    assert (
        "options root=/dev/vda1 ro resume=/dev/vda2" in edited["/boot/loader/entries/abc-6.1.conf"]
    )
    [note] = [f for f in plan.findings if f.id == "grub-cfg-remapped"]
    assert "offline root grub-mkconfig would probe the host's disks" in note.message
    assert "`update-grub`" in cli_fix(note.remedy)


def test_resume_gets_uuid_where_asked_and_known(tmp_path):
    import dataclasses

    from virtio_wizard.plan import files_needed, read_files
    from virtio_wizard.plan import plan as plan_pure

    target = guest(tmp_path)
    facts = detect(target, read_initrds=False)
    refs = tuple(
        dataclasses.replace(r, uuid="1111-2222") if r.device == "/dev/sda2" else r
        for r in facts.disk_refs
    )
    facts = dataclasses.replace(facts, disk_refs=refs)
    choices = Choices(method="initrd", use_uuid=True)
    plan = plan_pure(facts, choices, read_files(target, files_needed(facts, choices)))
    edited = {s.path: s.new_text for s in plan.steps if s.kind == "edit"}
    assert edited["/etc/initramfs-tools/conf.d/resume"] == "RESUME=UUID=1111-2222\n"
    assert "resume=UUID=1111-2222" in edited["/boot/grub/grub.cfg"]


def test_on_a_live_guest_grub_cfg_is_remapped_too_and_the_command_is_for_after_the_switch(
    tmp_path,
):
    """Live, update-grub before the switch would write root=/dev/sda1 back (grub-probe)."""
    from virtio_wizard.preview import render_text

    files = {**FILES, "/proc/self/status": "Name: init\n", "/proc/cmdline": "ro quiet\n"}
    guest(tmp_path, files)
    target = LocalTarget(str(tmp_path), live=True)
    facts = detect(target, read_initrds=False)
    assert facts.target.live
    plan = make_plan(target, facts, Choices(method="initrd"))
    assert not plan.refused, plan.refusals
    assert not [s for s in plan.steps if s.kind == "command" and "grub" in s.argv[0]]
    [note] = [f for f in plan.findings if f.id == "grub-cfg-remapped"]
    assert "before the switch grub-probe still sees the emulated disk" in note.message
    assert "After the switch, `update-grub`" in note.remedy.advice
    assert "update-grub" in render_text(plan)  # the preview names the command


# ---- initramfs-tools: RESUME= in every file mkinitramfs sources ----------------------

RESUME_FILES = {
    **{k: v for k, v in FILES.items() if k != "/etc/initramfs-tools/conf.d/resume"},
    "/etc/initramfs-tools/initramfs.conf": "MODULES=list\n# RESUME=/dev/sda9 (old)\n"
    "RESUME=/dev/sda2\n",
    "/etc/initramfs-tools/conf.d/zz-local": 'RESUME="/dev/sda2"  # the swap partition\n',
    "/etc/initramfs-tools/conf.d/resume~": "RESUME=/dev/sda3\n",  # mkinitramfs skips it
    "/etc/initramfs-tools/conf.d/resume.dpkg-old": "RESUME=/dev/sda3\n",
}


def test_resume_is_found_in_initramfs_conf_and_every_conf_d_file(tmp_path):
    """mkinitramfs sources initramfs.conf, then conf.d/* (the last RESUME= wins)."""
    facts = detect(guest(tmp_path, RESUME_FILES), read_initrds=False)
    found = {(r.file, r.line, r.device) for r in facts.disk_refs if r.context == "initramfs-resume"}
    assert found == {
        ("/etc/initramfs-tools/initramfs.conf", 3, "/dev/sda2"),
        ("/etc/initramfs-tools/conf.d/zz-local", 1, "/dev/sda2"),
    }


def test_resume_is_renamed_there_keeping_comments_and_quoting(tmp_path):
    from virtio_wizard.preview import render_text

    target = guest(tmp_path, RESUME_FILES)
    plan = make_plan(target, detect(target, read_initrds=False), Choices(method="initrd"))
    assert not plan.refused, plan.refusals
    edited = {s.path: s.new_text for s in plan.steps if s.kind == "edit"}
    assert edited["/etc/initramfs-tools/initramfs.conf"] == (
        "MODULES=list\n# RESUME=/dev/sda9 (old)\nRESUME=/dev/vda2\n"
    )
    assert edited["/etc/initramfs-tools/conf.d/zz-local"] == (
        'RESUME="/dev/vda2"  # the swap partition\n'
    )
    assert not [p for p in edited if p.endswith(("resume~", "dpkg-old"))]
    kinds = [s.kind for s in plan.steps]
    assert all(k == "edit" for k in kinds[: kinds.index("backup")])  # before the rebuild
    shown = render_text(plan)
    assert "/etc/initramfs-tools/conf.d/zz-local" in shown
    assert '+RESUME="/dev/vda2"' in shown


def test_quoted_resume_gets_uuid_inside_its_quotes(tmp_path):
    import dataclasses

    from virtio_wizard.plan import files_needed, read_files
    from virtio_wizard.plan import plan as plan_pure

    target = guest(tmp_path, RESUME_FILES)
    facts = detect(target, read_initrds=False)
    refs = tuple(
        dataclasses.replace(r, uuid="1111-2222") if r.device == "/dev/sda2" else r
        for r in facts.disk_refs
    )
    facts = dataclasses.replace(facts, disk_refs=refs)
    choices = Choices(method="initrd", use_uuid=True)
    plan = plan_pure(facts, choices, read_files(target, files_needed(facts, choices)))
    edited = {s.path: s.new_text for s in plan.steps if s.kind == "edit"}
    assert edited["/etc/initramfs-tools/conf.d/zz-local"].startswith('RESUME="UUID=1111-2222"')
    assert edited["/etc/initramfs-tools/initramfs.conf"].endswith("\nRESUME=UUID=1111-2222\n")


def test_an_unreadable_conf_d_file_refuses_the_renames(tmp_path):
    """It may hold a RESUME= the plan must change: refused by name, as fstab is."""
    files = {**RESUME_FILES, "/etc/initramfs-tools/conf.d/zz-local": "RESUME=/dev/sda2\n\0"}
    target = guest(tmp_path, files)
    plan = make_plan(target, detect(target, read_initrds=False), Choices(method="initrd"))
    assert plan.refused
    assert "/etc/initramfs-tools/conf.d/zz-local" in " ".join(f.message for f in plan.refusals)
