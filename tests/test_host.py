"""The hypervisor half: the domain XML transform, its schema validity, the CLI.

The domains in ``tests/domains/`` are ``virsh dumpxml`` shapes: i440fx with
IDE and a CD-ROM, q35 with SATA and e1000e, SCSI with two disks (listed out
of order, one with ``<wwn>``), two NICs (e1000 and one with no model), an
already-virtio one, a Xen one and a malformed one. Every output is checked
with libvirt's own schema (``virt-xml-validate``, Debian ``libvirt-clients``
+ ``libxml2-utils``, installed by ``.ci/run``): missing in CI is a failure.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from virtio_wizard.cli import main
from virtio_wizard.facts import DiskRef, Distro, Facts, Kernel, TargetInfo
from virtio_wizard.host import (
    DomainRefused,
    DomainXMLError,
    GuestView,
    guest_view,
    transform_domain,
)
from virtio_wizard.host_steps import generic_steps, host_steps, way_back
from virtio_wizard.knowledge import legacy_only_virtio

DOMAINS = Path(__file__).parent / "domains"


def read(name: str) -> bytes:
    return (DOMAINS / name).read_bytes()


def validate(tmp_path: Path, text: str, name: str = "out.xml") -> None:
    """libvirt's schema says yes, or the test fails with its words."""
    tool = shutil.which("virt-xml-validate")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("virt-xml-validate missing: .ci/run installs libvirt-clients")
        pytest.skip(
            "virt-xml-validate not installed (apt-get install libvirt-clients libxml2-utils)"
        )
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run([tool, str(path), "domain"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    """Lines only in the old text and lines only in the new text."""
    import difflib

    minus, plus = [], []
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        if line.startswith("- "):
            minus.append(line[2:])
        elif line.startswith("+ "):
            plus.append(line[2:])
    return minus, plus


MODERN = GuestView(legacy_only=False, legacy_reason="kernel 6.1 has the virtio 1.0 driver")
LEGACY = GuestView(legacy_only=True, legacy_reason="kernel 2.6.32 predates virtio 1.0 (Linux 4.0)")


# ---- the transform --------------------------------------------------------------


def test_i440fx_ide_disk_and_rtl8139(tmp_path):
    old = read("i440fx-ide.xml")
    result = transform_domain(old, LEGACY)
    minus, plus = changed_lines(result.old_text, result.new_text)
    assert minus == [
        "      <target dev='hda' bus='ide'/>",
        "      <address type='drive' controller='0' bus='0' target='0' unit='0'/>",
        "      <model type='rtl8139'/>",
    ]
    # i440fx keeps the legacy interface on: plain virtio even for an old kernel.
    assert plus == ["      <target dev='vda' bus='virtio'/>", "      <model type='virtio'/>"]
    assert not result.transitional
    # Comments, the declaration, the CD-ROM and its drive address stay byte for byte.
    assert result.new_text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!--\nWARNING')
    assert "<!-- the system disk -->" in result.new_text
    assert "<target dev='hdc' bus='ide'/>" in result.new_text
    assert "<address type='drive' controller='0' bus='1' target='0' unit='0'/>" in result.new_text
    # The NIC keeps its MAC and its PCI slot (virtio fits the same slot).
    assert "<mac address='52:54:00:a1:b2:c3'/>" in result.new_text
    assert "slot='0x03'" in result.new_text
    assert [(d.old_target, d.new_target, d.old_bus) for d in result.disks] == [
        ("hda", "vda", "ide")
    ]
    assert [(n.mac, n.old_model, n.new_model) for n in result.nics] == [
        ("52:54:00:a1:b2:c3", "rtl8139", "virtio")
    ]
    validate(tmp_path, result.new_text)


def test_q35_legacy_guest_gets_transitional_models(tmp_path):
    result = transform_domain(read("q35-sata-e1000e.xml"), LEGACY)
    assert result.transitional
    assert "<disk type='file' device='disk' model='virtio-transitional'>" in result.new_text
    assert "<model type='virtio-transitional'/>" in result.new_text
    assert "<target dev='vda' bus='virtio'/>" in result.new_text
    # The NIC's address was on a PCIe root port: dropped, libvirt picks a PCI slot.
    assert "bus='0x01' slot='0x00'" not in result.new_text
    # The CD-ROM stays on SATA, with its address; the boot order stays.
    assert "<target dev='sdb' bus='sata'/>" in result.new_text
    assert "unit='1'/>" in result.new_text
    assert "<boot order='1'/>" in result.new_text
    assert any("q35" in n and "predates virtio 1.0" in n for n in result.notes)
    validate(tmp_path, result.new_text)


def test_q35_modern_guest_gets_plain_virtio(tmp_path):
    result = transform_domain(read("q35-sata-e1000e.xml"), MODERN)
    assert not result.transitional
    assert "transitional" not in result.new_text
    assert "<model type='virtio'/>" in result.new_text
    # A modern NIC keeps its slot on the root port.
    assert "bus='0x01' slot='0x00'" in result.new_text
    validate(tmp_path, result.new_text)


def test_q35_unknown_kernel_is_transitional_and_says_why():
    result = transform_domain(read("q35-sata-e1000e.xml"), GuestView())
    assert result.transitional
    assert any("not known" in n for n in result.notes)


def test_scsi_two_disks_follow_the_old_name_order_and_nics(tmp_path):
    result = transform_domain(read("scsi-two-disks-e1000.xml"), MODERN)
    # XML order is sdb then sda; the letters follow the names (sda -> vda), as
    # the guest's disk-name edits assume.
    assert [(d.old_target, d.new_target) for d in result.disks] == [("sdb", "vdb"), ("sda", "vda")]
    assert "<wwn>" not in result.new_text
    assert any("<wwn>" in n for n in result.notes)
    # Double quotes stay double quotes; a NIC without <model> gets one under its MAC.
    assert '<model type="virtio"/>' in result.new_text
    assert (
        "      <mac address='52:54:00:00:00:02'/>\n      <model type='virtio'/>\n"
        in result.new_text
    )
    # The namespaced qemu:commandline survives untouched.
    assert "<qemu:arg value='-no-hpet'/>" in result.new_text
    assert "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" in result.new_text
    # The SCSI controller is not a disk: untouched.
    assert "<controller type='scsi' index='0' model='lsilogic'/>" in result.new_text
    validate(tmp_path, result.new_text)


def test_the_guest_mapping_wins_over_the_name_order(tmp_path):
    view = GuestView(disk_map={"sdb": "vda"}, legacy_only=False)
    result = transform_domain(read("scsi-two-disks-e1000.xml"), view)
    assert [(d.old_target, d.new_target) for d in result.disks] == [("sdb", "vda"), ("sda", "vdb")]
    validate(tmp_path, result.new_text)


def test_boot_disk_emulated_keeps_it_on_its_bus(tmp_path):
    view = GuestView(legacy_only=False, boot_disk="emulated")
    result = transform_domain(read("q35-sata-e1000e.xml"), view)
    assert "<target dev='sda' bus='sata'/>" in result.new_text
    assert [d.moved for d in result.disks] == [False]
    validate(tmp_path, result.new_text)


def test_net_only_leaves_the_disks(tmp_path):
    view = GuestView(legacy_only=False, block=False)
    result = transform_domain(read("i440fx-ide.xml"), view)
    assert "<target dev='hda' bus='ide'/>" in result.new_text
    assert "<model type='virtio'/>" in result.new_text
    validate(tmp_path, result.new_text)


def test_already_virtio_is_nothing_to_do(tmp_path):
    result = transform_domain(read("already-virtio.xml"), MODERN)
    assert not result.changed
    assert result.new_text == read("already-virtio.xml").decode()


def test_malformed_xml_is_an_error_with_its_position():
    with pytest.raises(DomainXMLError, match=r"not well-formed XML: mismatched tag: line 5"):
        transform_domain(read("malformed.xml"), MODERN)
    with pytest.raises(DomainXMLError, match="not a domain XML"):
        transform_domain(b"<network><name>x</name></network>", MODERN)


def test_non_kvm_domain_is_refused():
    with pytest.raises(DomainRefused, match="type 'xen', not kvm or qemu"):
        transform_domain(read("xen.xml"), MODERN)


# ---- the rule and the guest's facts ----------------------------------------------


@pytest.mark.parametrize(
    ("distro", "version", "kernel", "legacy"),
    [
        ("rhel", "5.2", "2.6.18-92.el5", True),
        ("centos", "6.10", "2.6.32-754.el6.x86_64", True),
        ("rhel", "7.9", "3.10.0-1160.el7.x86_64", False),
        ("centos", "7.0", "3.10.0-123.el7.x86_64", False),
        ("ubuntu", "14.04", "3.13.0-24-generic", True),
        ("ubuntu", "14.04", "4.4.0-148-generic", False),  # the HWE kernel
        ("debian", "8.11", None, True),
        ("debian", "9", None, False),
        ("sles", "11.3", None, True),
        ("rhel", "3.9", "2.4.21-63.EL", True),
        ("arch", "", None, None),
    ],
)
def test_legacy_only_rule(distro, version, kernel, legacy):
    assert legacy_only_virtio(distro, version, kernel)[0] is legacy


def test_guest_view_takes_the_plan_mapping_and_choices():
    facts = Facts(
        TargetInfo("root", "/g"),
        distro=Distro("centos", "CentOS", "6.10", "redhat"),
        kernels=(Kernel("2.6.32-754.el6.x86_64"),),
        disk_refs=(
            DiskRef("/etc/fstab", 3, "/dev/hda3", "legacy", "/dev/vda3", "fstab", "swap"),
            DiskRef(
                "/etc/fstab", 4, "/dev/hdb1", "legacy", "/dev/vdb1", "fstab", "/data", guessed=True
            ),
            DiskRef("/etc/fstab", 1, "UUID=1", "uuid", None, "fstab", "/"),
        ),
    )
    image = "/boot/initramfs-2.6.32-754.el6.x86_64.img"
    plan = {
        "choices": {"block": True, "net": False, "boot_disk": "virtio"},
        "steps": [{"kind": "backup", "path": image, "to": image + ".virtio.orig"}],
    }
    view = guest_view(facts, plan)
    assert view.disk_map == {"hda": "vda", "hdb": "vdb"}
    assert view.guessed and view.legacy_only and not view.net
    assert view.initrd_backups == ((image, image + ".virtio.orig"),)
    assert f"the apply kept {image} as {image}.virtio.orig" in "\n".join(way_back(view))


def test_steps_name_power_off_define_start_and_the_mac():
    result = transform_domain(read("i440fx-ide.xml"), LEGACY)
    steps = host_steps(LEGACY, result, result.name, "rhel52-virtio.xml")
    text = "\n".join(steps)
    assert "virsh shutdown rhel52" in steps[0] and "not just reboot" in steps[0]
    assert "virsh define rhel52-virtio.xml" in text
    assert "keep the MAC 52:54:00:a1:b2:c3" in text
    assert steps[-1].startswith("start it: virsh start rhel52")


def test_generic_steps_have_qemu_flags_and_the_overlay_trial():
    view = GuestView(
        disk_map={"hda": "vda"},
        legacy_only=True,
        legacy_reason="old",
        nics=(("eth0", "52:54:00:01:02:03"),),
    )
    text = "\n".join(generic_steps(view, "rhel52"))
    assert "virtio-blk-pci-transitional,drive=disk0" in text
    assert "if=virtio" in text
    assert "virtio-net-pci-transitional,netdev=net0,mac=52:54:00:01:02:03" in text
    assert "qemu-img create -f qcow2 -b DISK -F FMT trial.qcow2" in text
    assert "virsh shutdown rhel52" in text and "virsh start rhel52" in text


def test_way_back_says_what_the_old_bus_does():
    files = ("/etc/fstab", "/boot/grub/grub.conf")
    renamed = "\n".join(way_back(GuestView(bus_named_files=files)))
    assert "expect trouble from /etc/fstab, /boot/grub/grub.conf" in renamed
    assert "virtio-wizard --root /mnt/guest undo" in renamed
    assert ".virtio.orig" in renamed
    assert "the old bus still boots" in "\n".join(way_back(GuestView(bus_named_files=())))
    assert "depends on the disk names" in "\n".join(way_back(GuestView()))
    demo = "\n".join(way_back(GuestView(demo=True)))
    assert "temporary copy" in demo and "fresh copy with nothing to undo" in demo
    assert "virtio-wizard --root /mnt/guest undo" in demo


def test_guest_view_lists_the_files_that_name_disks_by_bus():
    refs = (
        DiskRef("/etc/fstab", 1, "/dev/hda1", "legacy", "/dev/vda1", "fstab", "/"),
        DiskRef("/boot/grub/grub.conf", 9, "/dev/vda1", "virtio", None, "grub-root"),
        DiskRef("/proc/cmdline", 1, "/dev/hda1", "legacy", "/dev/vda1", "cmdline"),
        DiskRef("/etc/crypttab", 1, "UUID=1", "uuid", None, "crypttab"),
    )
    facts = Facts(TargetInfo("root", "/g"), disk_refs=refs)
    assert guest_view(facts).bus_named_files == ("/etc/fstab", "/boot/grub/grub.conf")
    kept = guest_view(facts, {"choices": {"fix_disk_names": False}})
    assert kept.bus_named_files == ("/boot/grub/grub.conf",)


# ---- the command ----------------------------------------------------------------------


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "name", ["i440fx-ide.xml", "q35-sata-e1000e.xml", "scsi-two-disks-e1000.xml"]
)
def test_cli_writes_a_valid_domain_and_never_the_input(tmp_path, capsys, name):
    src = tmp_path / name
    shutil.copy(DOMAINS / name, src)
    before = sha(src)
    out = tmp_path / "new.xml"
    assert main(["host", "--domain-xml", str(src), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"--- {name} (as it is)" in printed and "bus='virtio'" in printed
    assert "virsh define" in printed and "qemu-img create -f qcow2 -b" in printed
    assert "If the guest does not boot after the switch" in printed
    assert sha(src) == before
    validate(tmp_path, out.read_text(encoding="utf-8"), "checked.xml")


def test_cli_with_the_demo_guest_uses_its_facts(tmp_path, capsys):
    src = tmp_path / "d.xml"
    shutil.copy(DOMAINS / "q35-sata-e1000e.xml", src)
    assert main(["host", "--demo", "rhel52", "--domain-xml", str(src)]) == 0
    printed = capsys.readouterr().out
    # RHEL 5.2's 2.6.18 kernel predates virtio 1.0: transitional on q35.
    assert "model='virtio-transitional'" in printed
    assert "kernel 2.6.18" in printed


def test_cli_refuses_to_overwrite_the_input(tmp_path, capsys):
    src = tmp_path / "d.xml"
    shutil.copy(DOMAINS / "i440fx-ide.xml", src)
    before = sha(src)
    assert main(["host", "--domain-xml", str(src), "-o", str(src)]) == 2
    assert "the input domain XML is never changed" in capsys.readouterr().err
    assert sha(src) == before


def test_cli_already_virtio(capsys):
    assert main(["host", "--domain-xml", str(DOMAINS / "already-virtio.xml")]) == 0
    assert "Nothing to do: domain debian12 already uses virtio" in capsys.readouterr().out


def test_cli_malformed_is_one_line_exit_2(capsys):
    assert main(["host", "--domain-xml", str(DOMAINS / "malformed.xml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not well-formed XML" in err


def test_cli_non_kvm_is_refused_exit_3(capsys):
    assert main(["host", "--domain-xml", str(DOMAINS / "xen.xml")]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not kvm or qemu" in err


def test_cli_missing_file_is_an_error(tmp_path, capsys):
    assert main(["host", "--domain-xml", str(tmp_path / "nope.xml")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_cli_without_xml_prints_the_steps(capsys):
    assert main(["host", "--demo", "rhel52", "--name", "rhel52"]) == 0
    out = capsys.readouterr().out
    assert "virsh shutdown rhel52" in out
    assert "-device virtio-blk-pci" in out and "if=virtio" in out
    assert "qemu-img create -f qcow2 -b DISK -F FMT trial.qcow2" in out
    # The demo guest is a throwaway copy: its way back says so.
    assert "temporary copy" in out


def test_the_report_shows_the_host_steps_with_the_mac(tree, capsys):
    from live_fixtures import MAC, journal

    files = {
        "etc/redhat-release": "CentOS release 6.10 (Final)\n",
        "etc/fstab": "/dev/hda1 / ext4 defaults 1 1\n",
        "etc/sysconfig/network-scripts/ifcfg-eth0": f"DEVICE=eth0\nHWADDR={MAC}\n",
        "var/lib/virtio-wizard/journal/20260101T000000-1.json": journal(),
    }
    target = tree(files)
    assert main(["report", "--root", target.root]) == 0
    out = capsys.readouterr().out
    assert "## On the host, after the apply" in out
    assert "virsh shutdown VM" in out and "virsh start VM" in out
    assert f"keep the MAC of eth0: {MAC}" in out
    assert "### If the guest does not boot after the switch" in out
    assert main(["report", "--root", target.root, "--format", "json"]) == 0
    doc = __import__("json").loads(capsys.readouterr().out)
    assert any(MAC in step for step in doc["after_switch"]["host_steps"])
