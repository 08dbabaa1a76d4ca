"""Disk names on the EFI system partition: grub.cfg and grubenv in EFI/<vendor>.

RHEL 7-8 and Fedora before 34 on UEFI keep the real grub menu in
``/boot/efi/EFI/<vendor>/grub.cfg``; with ``GRUB_DISABLE_LINUX_UUID=true`` its
``linuxefi`` lines say ``root=/dev/sda2``. RHEL 8 keeps its grubenv (with the
``kernelopts`` its BLS entries expand) there too. Both are found and renamed
like their /boot counterparts; a vendor folder's ``configfile`` stub that
only hands over to /boot/grub2/grub.cfg names no disk and is left alone.
"""

from __future__ import annotations

from pathlib import Path

from apply_fixtures import target_for

from virtio_wizard.detect import detect
from virtio_wizard.plan import Choices, make_plan
from virtio_wizard.present.remedy import cli_fix
from virtio_wizard.preview import render_text

KVER7 = "3.10.0-1160.el7.x86_64"
KVER8 = "4.18.0-513.el8.x86_64"
ESP_CFG = "/boot/efi/EFI/redhat/grub.cfg"
ESP_ENV = "/boot/efi/EFI/redhat/grubenv"
STUB = "/boot/efi/EFI/BOOT/grub.cfg"
STUB_TEXT = (
    "search --no-floppy --fs-uuid --set=dev 1234-abcd\n"
    "set prefix=($dev)/grub2\nexport $prefix\nconfigfile $prefix/grub.cfg\n"
)
CONFIG = "".join(
    f"CONFIG_{s}=m\n" for s in ("VIRTIO", "VIRTIO_RING", "VIRTIO_BLK", "VIRTIO_NET", "VIRTIO_PCI")
)
RHEL7_CFG = f"""\
set default="${{saved_entry}}"
menuentry 'Red Hat Enterprise Linux Server ({KVER7})' --class red {{
\tset root='hd0,gpt2'
\tlinuxefi /vmlinuz-{KVER7} root=/dev/sda2 ro crashkernel=auto resume=/dev/sda3 rhgb quiet
\tinitrdefi /initramfs-{KVER7}.img
}}
"""
FSTAB = "/dev/sda2 / xfs defaults 0 0\n/dev/sda3 swap swap defaults 0 0\n"
RHEL7 = {
    "/etc/os-release": 'ID="rhel"\nVERSION_ID="7.9"\nPRETTY_NAME="Red Hat Enterprise Linux 7.9"\n',
    "/etc/redhat-release": "Red Hat Enterprise Linux Server release 7.9 (Maipo)\n",
    f"/boot/vmlinuz-{KVER7}": "kernel",
    f"/boot/config-{KVER7}": CONFIG,
    f"/lib/modules/{KVER7}/modules.order": "",
    "/etc/fstab": FSTAB,
    ESP_CFG: RHEL7_CFG,
    STUB: STUB_TEXT,
}


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, text in files.items():
        path = root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
    return root


def names_only() -> Choices:
    """Disk names with the block driver, one kernel: the renames are what is looked at."""
    return Choices(method="initrd", block=True, net=True, all_kernels=False)


def test_root_and_resume_on_the_esp_grub_cfg_are_detected_and_the_stub_names_none(tmp_path):
    facts = detect(target_for(write(tmp_path, RHEL7)), read_initrds=False)
    found = {(r.file, r.context, r.device, r.proposed) for r in facts.disk_refs}
    assert (ESP_CFG, "grub2-root", "/dev/sda2", "/dev/vda2") in found
    assert (ESP_CFG, "grub2-resume", "/dev/sda3", "/dev/vda3") in found
    assert not [r for r in facts.disk_refs if r.file == STUB]
    assert facts.boot.config == ESP_CFG  # the menu is read from the same place


def test_plan_renames_the_esp_grub_cfg_by_text_and_names_grub2_mkconfig(tmp_path):
    target = target_for(write(tmp_path, RHEL7))
    plan = make_plan(target, detect(target, read_initrds=False), names_only())
    assert not plan.refused, plan.refusals
    edited = {s.path: s.new_text for s in plan.steps if s.kind == "edit"}
    assert edited[ESP_CFG] == RHEL7_CFG.replace("/dev/sda", "/dev/vda")
    assert STUB not in edited
    [note] = [f for f in plan.findings if f.id == "grub-cfg-remapped"]
    assert ESP_CFG in note.message
    assert "`grub2-mkconfig -o /boot/efi/EFI/redhat/grub.cfg`" in cli_fix(note.remedy)
    shown = render_text(plan)
    assert ESP_CFG in shown and "root=/dev/vda2 ro crashkernel=auto resume=/dev/vda3" in shown


def test_an_unreadable_esp_grub_cfg_refuses_the_renames(tmp_path):
    """It may hold root=/dev/sda2: refused by name, as an unreadable /boot one is."""
    target = target_for(write(tmp_path, {**RHEL7, ESP_CFG: RHEL7_CFG + "\0"}))
    plan = make_plan(target, detect(target, read_initrds=False), names_only())
    assert plan.refused
    assert ESP_CFG in " ".join(f.message for f in plan.refusals)


def grubenv(kernelopts: str) -> bytes:
    body = f"# GRUB Environment Block\nsaved_entry=abc-{KVER8}\nkernelopts={kernelopts}\n"
    return (body + "#" * (1024 - len(body))).encode()


RHEL8 = {
    "/etc/os-release": 'ID="rhel"\nVERSION_ID="8.9"\nPRETTY_NAME="Red Hat Enterprise Linux 8.9"\n',
    "/etc/redhat-release": "Red Hat Enterprise Linux release 8.9 (Ootpa)\n",
    f"/boot/vmlinuz-{KVER8}": "kernel",
    f"/boot/config-{KVER8}": CONFIG,
    f"/lib/modules/{KVER8}/modules.order": "",
    "/etc/fstab": FSTAB,
    ESP_CFG: 'set default="${saved_entry}"\nblscfg\n',
    f"/boot/loader/entries/abc-{KVER8}.conf": f"title RHEL 8\nversion {KVER8}\n"
    f"linux /vmlinuz-{KVER8}\ninitrd /initramfs-{KVER8}.img\noptions $kernelopts\n",
    ESP_ENV: grubenv("root=/dev/sda2 ro resume=/dev/sda3 rhgb quiet"),
}


def test_kernelopts_in_the_esp_grubenv_are_renamed_with_no_link_from_boot(tmp_path):
    """RHEL 8 on UEFI: the grubenv is on the ESP; /boot/grub2/grubenv need not exist."""
    target = target_for(write(tmp_path, RHEL8))
    facts = detect(target, read_initrds=False)
    found = {(r.context, r.device) for r in facts.disk_refs if r.file == ESP_ENV}
    assert found == {("grubenv-kernelopts", "/dev/sda2"), ("grubenv-kernelopts", "/dev/sda3")}
    plan = make_plan(target, facts, names_only())
    [step] = [s for s in plan.steps if s.path == ESP_ENV]
    new = step.new_bytes()
    assert len(new) == 1024
    assert b"kernelopts=root=/dev/vda2 ro resume=/dev/vda3 rhgb quiet\n" in new
    assert [f for f in plan.findings if f.id == "grubenv-kernelopts"]


def test_the_grubenv_behind_a_link_from_boot_is_renamed_once(tmp_path):
    root = write(tmp_path, RHEL8)
    (root / "boot/grub2").mkdir(parents=True)
    (root / "boot/grub2/grubenv").symlink_to("../efi/EFI/redhat/grubenv")
    target = target_for(root)
    facts = detect(target, read_initrds=False)
    files = {r.file for r in facts.disk_refs if r.context == "grubenv-kernelopts"}
    assert files == {ESP_ENV}
    plan = make_plan(target, facts, names_only())
    assert [s.path for s in plan.steps if s.kind == "edit" and "grubenv" in s.path] == [ESP_ENV]


def test_an_esp_grubenv_too_full_for_uuid_names_the_esp_grub_cfg_to_regenerate(tmp_path):
    """grubenv-full's way out is grub2-mkconfig -o the grub.cfg beside that grubenv."""
    import dataclasses

    from virtio_wizard.plan import files_needed, read_files
    from virtio_wizard.plan import plan as plan_pure

    files = {**RHEL8, ESP_ENV: grubenv("root=/dev/sda2 " + "x" * 950)}
    target = target_for(write(tmp_path, files))
    facts = detect(target, read_initrds=False)
    refs = tuple(dataclasses.replace(r, uuid="a" * 36) for r in facts.disk_refs)
    facts = dataclasses.replace(facts, disk_refs=refs)
    choices = dataclasses.replace(names_only(), use_uuid=True)
    plan = plan_pure(facts, choices, read_files(target, files_needed(facts, choices)))
    assert not [s for s in plan.steps if s.path == ESP_ENV]
    [warn] = [f for f in plan.findings if f.id == "grubenv-full"]
    assert ESP_ENV in warn.message
    assert "`grub2-mkconfig -o /boot/efi/EFI/redhat/grub.cfg`" in warn.remedy.advice
