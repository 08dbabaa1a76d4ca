"""PCI devices from the guest's sysfs (trees opened as recorded snapshots of running guests)."""

from __future__ import annotations

import os
from pathlib import Path

from virtio_wizard.detect.devices import detect_devices
from virtio_wizard.targets import LocalTarget

PCI = "sys/bus/pci/devices"


def pci(root: Path, slot: str, ids: dict[str, str], driver: str = "", link: bool = False) -> None:
    """One PCI function; ``link=True`` makes it a symlink into sys/devices, as real sysfs."""
    if link:
        real = root / "sys/devices/pci0000:00" / slot
        real.mkdir(parents=True)
        (root / PCI).mkdir(parents=True, exist_ok=True)
        os.symlink(f"../../../devices/pci0000:00/{slot}", root / PCI / slot)
        folder = real
    else:
        folder = root / PCI / slot
        folder.mkdir(parents=True)
    for name, value in ids.items():
        (folder / name).write_text(value + "\n")
    if driver:
        (root / "sys/bus/pci/drivers" / driver).mkdir(parents=True, exist_ok=True)
        os.symlink(f"../../../../bus/pci/drivers/{driver}", folder / "driver")


IDE = {"vendor": "0x8086", "device": "0x7010", "subsystem_device": "0x1100", "class": "0x010180"}
E1000 = {"vendor": "0x8086", "device": "0x100e", "class": "0x020000"}
VBLK = {"vendor": "0x1af4", "device": "0x1042", "subsystem_device": "0x1100", "class": "0x010000"}
VNET_LEGACY = {"vendor": "0x1af4", "device": "0x1000", "subsystem_device": "0x0001"}


def test_emulated_and_virtio_devices(tmp_path):
    pci(tmp_path, "0000:00:01.1", IDE, driver="ata_piix")
    pci(tmp_path, "0000:00:03.0", E1000, driver="e1000", link=True)
    pci(tmp_path, "0000:00:04.0", VBLK, driver="virtio-pci", link=True)
    pci(tmp_path, "0000:00:05.0", VNET_LEGACY)
    devices = detect_devices(LocalTarget(str(tmp_path), live=True))
    assert [(d.slot, d.kind, d.driver) for d in devices] == [
        ("0000:00:01.1", "ide", "ata_piix"),
        ("0000:00:03.0", "e1000", "e1000"),
        ("0000:00:04.0", "virtio-blk", "virtio-pci"),
        ("0000:00:05.0", "virtio-net", None),
    ]
    ide = devices[0]
    assert (ide.vendor, ide.device, ide.subsystem_device, ide.pci_class) == (
        "0x8086",
        "0x7010",
        "0x1100",
        "0x010180",
    )
    assert devices[1].subsystem_device is None


def test_ids_are_normalised_to_lower_case_hex(tmp_path):
    pci(tmp_path, "0000:00:06.0", {"vendor": "1AF4", "device": "0x1041"})
    [d] = detect_devices(LocalTarget(str(tmp_path), live=True))
    assert (d.vendor, d.device, d.kind) == ("0x1af4", "0x1041", "virtio-net")


def test_no_sysfs_gives_no_devices(tmp_path):
    assert detect_devices(LocalTarget(str(tmp_path), live=True)) == ()


def test_function_without_ids_is_skipped_and_noted(tmp_path):
    pci(tmp_path, "0000:00:01.1", IDE)
    pci(tmp_path, "0000:00:07.0", {"class": "0x020000"})
    problems: list = []
    devices = detect_devices(LocalTarget(str(tmp_path), live=True), problems)
    assert [d.slot for d in devices] == ["0000:00:01.1"]
    assert [p.path for p in problems] == ["/sys/bus/pci/devices/0000:00:07.0"]


def test_garbage_ids_and_fifo_are_noted_not_hung(tmp_path):
    pci(tmp_path, "0000:00:08.0", {"vendor": "hello", "device": "0x1000"})
    pci(tmp_path, "0000:00:09.0", {"device": "0x1000"})
    os.mkfifo(tmp_path / PCI / "0000:00:09.0" / "vendor")
    problems: list = []
    assert detect_devices(LocalTarget(str(tmp_path), live=True), problems) == ()
    reasons = {(p.path, p.reason) for p in problems}
    assert ("/sys/bus/pci/devices/0000:00:08.0/vendor", "not a hexadecimal id: 'hello'") in reasons
    assert ("/sys/bus/pci/devices/0000:00:09.0/vendor", "not a regular file") in reasons


def test_driver_that_is_a_folder_not_a_link_is_no_driver(tmp_path):
    pci(tmp_path, "0000:00:03.0", E1000)
    (tmp_path / PCI / "0000:00:03.0" / "driver").mkdir()
    [d] = detect_devices(LocalTarget(str(tmp_path), live=True))
    assert d.driver is None


def test_device_link_leaving_the_root_reads_nothing_outside(tmp_path):
    host = tmp_path / "host_dev"
    host.mkdir()
    (host / "vendor").write_text("0x1af4\n")
    (host / "device").write_text("0x1042\n")
    root = tmp_path / "guest"
    (root / PCI).mkdir(parents=True)
    os.symlink("../../../../../host_dev", root / PCI / "0000:00:0a.0")
    os.symlink(str(host), root / PCI / "0000:00:0b.0")
    problems: list = []
    assert detect_devices(LocalTarget(str(root), live=True), problems) == ()
    assert len(problems) == 2


def test_this_machine_matches_sys():
    base = "/sys/bus/pci/devices"
    slots = sorted(os.listdir(base)) if os.path.isdir(base) else []
    devices = detect_devices(LocalTarget("/"))
    assert [d.slot for d in devices] == slots
    for d in devices:
        with open(f"{base}/{d.slot}/vendor") as fh:
            assert d.vendor == fh.read().strip().lower()
        link = f"{base}/{d.slot}/driver"
        expected = os.path.basename(os.readlink(link)) if os.path.islink(link) else None
        assert d.driver == expected
        if d.vendor == "0x1af4":
            assert d.kind.startswith("virtio-")


def test_offline_root_sys_is_not_the_guests(tmp_path):
    """A sys/ inside an offline root (bind mount, leftover) shows the host's PCI bus."""
    pci(tmp_path, "0000:00:03.0", E1000, driver="e1000")
    assert detect_devices(LocalTarget(str(tmp_path))) == ()
