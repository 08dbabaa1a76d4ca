"""modprobe.conf / modules.conf: eth aliases, nash host-adapter persistence, Xen leftovers.

The host-adapter rule is checked against Red Hat's nash mkinitrd itself: its
pipeline (``grep | grep -v | LC_ALL=C sort -u | awk``) runs in a real shell
on the planned file, and must pick virtio_blk first (issue 13).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.plan_fixtures import facts, kernel, make
from virtio_wizard.facts import Distro
from virtio_wizard.plan.modprobe import nash_scsi_modules
from virtio_wizard.present.remedy import cli_fix

CONF = "/etc/modprobe.conf"
RHEL5 = "alias eth0 e1000\nalias scsi_hostadapter ata_piix\nalias usb-controller ehci-hcd\n"
#: The script's own pipeline (Red Hat mkinitrd, findmodules for SCSI host adapters).
NASH_PIPELINE = (
    'grep "alias[[:space:]]\\+scsi_hostadapter" "$1" | grep -v \'^[ \t]*#\' '
    "| LC_ALL=C sort -u | awk '{ print $3 }'"
)


def nash_in_shell(text: str, tmp_path) -> list[str]:
    """What the real pipeline prints for ``text`` (bash, grep, sort, awk)."""
    conf = tmp_path / "modprobe.conf"
    conf.write_text(text)
    out = subprocess.run(
        ["bash", "-c", NASH_PIPELINE, "nash", str(conf)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def initrd(files, f=None, **kw):
    return make(f or facts(), files, method="initrd", **kw)


def conf_step(p):
    (step,) = [s for s in p.steps if s.path in (CONF, "/etc/modules.conf")]
    return step


needs_shell = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("bash", "grep", "sort", "awk")),
    reason="the nash pipeline needs bash, grep, sort and awk",
)


@needs_shell
@pytest.mark.parametrize(
    "text",
    [
        RHEL5,
        "alias scsi_hostadapter1 ata_piix\nalias scsi_hostadapter mptscsih\n",
        "# alias scsi_hostadapter virtio_blk\n  alias scsi_hostadapter2 piix\n",
        "alias scsi_hostadapter10 a\nalias scsi_hostadapter2 b\nalias scsi_hostadapter1 c\n",
        "alias scsi_hostadapter x\nalias scsi_hostadapter x\n\talias  scsi_hostadapter1   y  \n",
    ],
)
def test_nash_parser_matches_the_real_pipeline(text, tmp_path):
    assert nash_scsi_modules(text) == nash_in_shell(text, tmp_path)


@needs_shell
def test_virtio_blk_comes_first_for_nash_and_the_old_adapters_follow(tmp_path):
    text = "alias eth0 e1000\nalias scsi_hostadapter ata_piix\nalias scsi_hostadapter1 mptscsih\n"
    step = conf_step(initrd({CONF: text.encode()}, block=True, net=True))
    assert step.new_text == (
        "alias eth0 virtio_net\n"
        "alias scsi_hostadapter virtio_blk\n"
        "alias scsi_hostadapter1 virtio_pci\n"
        "alias scsi_hostadapter2 ata_piix\n"
        "alias scsi_hostadapter3 mptscsih\n"
    )
    got = nash_in_shell(step.new_text, tmp_path)
    assert got == ["virtio_blk", "virtio_pci", "ata_piix", "mptscsih"]
    assert "kernel update builds keeps the virtio block driver" in step.why
    assert "the interface keeps its name" in step.why


def test_virtio_pci_only_where_it_is_a_module():
    k = kernel(
        virtio={
            "virtio": "module",
            "virtio_ring": "module",
            "virtio_blk": "module",
            "virtio_net": "module",
            "virtio_pci": "builtin",
        }
    )
    step = conf_step(initrd({CONF: RHEL5.encode()}, facts(kernels=(k,)), net=False))
    assert "alias scsi_hostadapter virtio_blk\nalias scsi_hostadapter1 ata_piix\n" in (
        step.new_text
    )
    assert "virtio_pci" not in step.new_text
    assert "alias eth0 e1000" in step.new_text  # net not chosen: the NIC alias stays


def test_rhel3_uses_modules_conf():
    rhel3 = facts(
        distro=Distro("rhel", "RHEL ES", "3.9", "redhat"), kernels=(kernel("2.4.21-58.EL"),)
    )
    files = {"/etc/modules.conf": b"alias eth0 e1000\nalias usb-controller usb-uhci\n"}
    step = conf_step(initrd(files, rhel3))
    assert step.path == "/etc/modules.conf"
    assert step.new_text == (
        "alias eth0 virtio_net\nalias usb-controller usb-uhci\n"
        "alias scsi_hostadapter virtio_blk\nalias scsi_hostadapter1 virtio_pci\n"
    )


@pytest.mark.parametrize("nic", ["e1000", "e1000e", "8139cp", "8139too", "pcnet32", "xennet"])
def test_each_emulated_or_xen_nic_alias_becomes_virtio_net(nic):
    files = {CONF: f"alias eth0 {nic}\nalias eth1 bonding\n".encode()}
    step = conf_step(initrd(files, block=False))
    assert step.new_text == "alias eth0 virtio_net\nalias eth1 bonding\n"


def test_not_raised_when_nothing_to_change():
    done = (
        "alias eth0 virtio_net\nalias scsi_hostadapter virtio_blk\n"
        "alias scsi_hostadapter1 virtio_pci\nalias scsi_hostadapter2 ata_piix\n"
    )
    p = initrd({CONF: done.encode()})
    assert not [s for s in p.steps if s.path == CONF]
    assert "xen-aliases" not in [f.id for f in p.findings]
    # Boot disk kept emulated: the host adapters are left as they are.
    p = initrd({CONF: RHEL5.encode()}, block=True, net=False, boot_disk="emulated")
    assert not [s for s in p.steps if s.path == CONF]
    # No modprobe.conf at all: nothing is created.
    assert not [s for s in initrd({}).steps if s.path == CONF]


def test_xen_block_alias_is_dropped_and_noted():
    text = "alias eth0 xennet\nalias scsi_hostadapter xenblk\nalias scsi_hostadapter1 ata_piix\n"
    p = initrd({CONF: text.encode()})
    step = conf_step(p)
    assert "xenblk" not in step.new_text and "xennet" not in step.new_text
    assert nash_scsi_modules(step.new_text)[0] == "virtio_blk"
    assert "No module ... found" in step.why
    (note,) = [f for f in p.findings if f.id == "xen-aliases"]
    assert note.severity == "info" and "xenblk" in note.message
    # Even with the boot disk kept emulated the Xen alias goes (mkinitrd would fail).
    p = initrd({CONF: text.encode()}, boot_disk="emulated")
    assert "xenblk" not in conf_step(p).new_text


def test_xen_net_alias_without_the_net_driver_is_a_warning():
    p = initrd({CONF: b"alias eth0 xennet\nalias scsi_hostadapter ata_piix\n"}, net=False)
    (note,) = [f for f in p.findings if f.id == "xen-aliases"]
    assert note.severity == "warning" and "eth0 xennet" in note.message
    assert "--drivers block,net" in cli_fix(note.remedy)


def test_already_has_virtio_note_tells_the_truth_about_later_images():
    """RHEL 5: 'images built later get them too' only once modprobe.conf names them."""
    inside = ("virtio", "virtio_blk", "virtio_net", "virtio_pci", "virtio_ring")
    k = kernel(initrd_virtio=inside)
    p = initrd({CONF: RHEL5.encode()}, facts(kernels=(k,)))
    (note,) = [f for f in p.findings if f.id == "initrd-already-has-virtio"]
    assert "alias scsi_hostadapter virtio_blk puts them in images built later" in cli_fix(
        note.remedy
    )
    kept = initrd({CONF: RHEL5.encode()}, facts(kernels=(k,)), boot_disk="emulated")
    (note,) = [f for f in kept.findings if f.id == "initrd-already-has-virtio"]
    assert "will lack them unless /etc/modprobe.conf names virtio_blk" in cli_fix(note.remedy)
    assert "get them too" not in cli_fix(note.remedy)
