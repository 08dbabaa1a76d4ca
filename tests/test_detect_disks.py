"""Disk references in guest files, and the virtio names proposed for them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from virtio_wizard.detect.devnames import classify_device
from virtio_wizard.detect.disks import detect_disk_refs
from virtio_wizard.detect.newnames import propose_names
from virtio_wizard.facts import DiskRef
from virtio_wizard.targets import LocalTarget, RunResult


def tree(root: Path, files: dict[str, str], live: bool = False) -> LocalTarget:
    """``live=True``: a snapshot of a running guest (only ``/`` and ``--ssh`` are live)."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return LocalTarget(str(root), live=live)


def refs_of(target, **kw):
    return [
        (r.file, r.line, r.device, r.context, r.scheme, r.proposed)
        for r in detect_disk_refs(target, **kw)
    ]


RHEL5_FSTAB = """\
/dev/VolGroup00/LogVol00 /                       ext3    defaults        1 1
# the boot partition
/dev/hda1\t\t/boot\text3\tdefaults\t1 2
tmpfs                   /dev/shm                tmpfs   defaults        0 0
devpts                  /dev/pts                devpts  gid=5,mode=620  0 0
sysfs                   /sys                    sysfs   defaults        0 0
proc                    /proc                   proc    defaults        0 0
/dev/hda3               swap                    swap    defaults        0 0
"""


@pytest.mark.parametrize(
    ("device", "scheme"),
    [
        ("/dev/hda3", "legacy"),
        ("/dev/sdb", "legacy"),
        ("/dev/xvda1", "legacy"),
        ("/dev/vda2", "virtio"),
        ("LABEL=/boot", "label"),
        ("label=root", "label"),
        ("UUID=3f6c2b8e-5d41", "uuid"),
        ("PARTUUID=0a1b-01", "uuid"),
        ("/dev/disk/by-uuid/3f6c", "uuid"),
        ("/dev/disk/by-label/root", "label"),
        ("/dev/disk/by-id/ata-QEMU_HARDDISK", "legacy"),
        ("/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part2", "legacy"),
        ("/dev/disk/by-id/scsi-SATA_QEMU_HARDDISK_QM00001-part1", "legacy"),
        ("/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi0-0-0-0", "legacy"),
        ("/dev/disk/by-id/wwn-0x5000c500a1b2c3d4-part1", "legacy"),
        ("/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_deadbeef-part1", "legacy"),
        ("/dev/disk/by-id/virtio-0a1b2c3d-part1", "virtio"),
        ("/dev/disk/by-id/usb-Kingston_DataTraveler_001-0:0-part1", "other"),
        ("/dev/disk/by-id/ata-QEMU_DVD-ROM_QM00003", "other"),
        ("/dev/disk/by-id/dm-name-VolGroup00-LogVol00", "other"),
        ("/dev/disk/by-id/md-uuid-0a1b2c3d:4e5f6a7b", "other"),
        ("/dev/disk/by-path/pci-0000:00:01.1-ata-1-part2", "legacy"),
        ("/dev/disk/by-path/pci-0000:00:01.1-scsi-0:0:0:0-part1", "legacy"),
        ("/dev/disk/by-path/pci-0000:00:01.1-ide-0:0-part1", "legacy"),
        ("/dev/disk/by-path/pci-0000:00:1f.2-sas-0x5000c500a1b2c3d4-lun-0", "legacy"),
        ("/dev/disk/by-path/virtio-pci-0000:00:04.0-part1", "virtio"),
        ("/dev/disk/by-path/pci-0000:00:04.0-virtio-pci-virtio1-part1", "virtio"),
        ("/dev/disk/by-path/pci-0000:00:1d.0-usb-0:1:1.0-scsi-0:0:0:0", "other"),
        ("/dev/disk/by-path/ip-192.168.0.5:3260-iscsi-iqn.2001-04.com.x:disk-lun-0", "other"),
        ("/dev/mapper/VolGroup00-LogVol01", "lvm"),
        ("/dev/VolGroup00/LogVol00", "lvm"),
        ("/dev/md0", "other"),
        ("/dev/cciss/c0d0p1", "other"),
        ("/dev/sr0", "other"),
        ("proc", None),
        ("tmpfs", None),
        ("server:/export", None),
        ("//server/share", None),
    ],
)
def test_classify(device, scheme):
    assert classify_device(device) == scheme


def test_rhel5_fstab(tmp_path):
    t = tree(tmp_path, {"etc/fstab": RHEL5_FSTAB})
    refs = detect_disk_refs(t)
    assert [(r.line, r.device, r.scheme, r.mountpoint, r.proposed) for r in refs] == [
        (1, "/dev/VolGroup00/LogVol00", "lvm", "/", None),
        (3, "/dev/hda1", "legacy", "/boot", "/dev/vda1"),
        (8, "/dev/hda3", "legacy", "swap", "/dev/vda3"),
    ]
    assert all(r.context == "fstab" and not r.guessed and r.uuid is None for r in refs)


def test_grub_legacy_via_symlinks_is_read_once(tmp_path):
    grub = (
        "default=0\n#boot=/dev/hda\ntitle RHEL\n\troot (hd0,0)\n"
        "\tkernel /vmlinuz-2.6.18-92.el5 ro root=/dev/VolGroup00/LogVol00 rhgb resume=/dev/hda3\n"
        "\tinitrd /initrd-2.6.18-92.el5.img\n"
    )
    t = tree(tmp_path, {"boot/grub/grub.conf": grub})
    (tmp_path / "etc").mkdir()
    os.symlink("../boot/grub/grub.conf", tmp_path / "etc/grub.conf")
    os.symlink("./grub.conf", tmp_path / "boot/grub/menu.lst")
    assert refs_of(t) == [
        ("/boot/grub/grub.conf", 5, "/dev/VolGroup00/LogVol00", "grub-root", "lvm", None),
        ("/boot/grub/grub.conf", 5, "/dev/hda3", "grub-resume", "legacy", "/dev/vda3"),
    ]


def test_suse_menu_lst_and_real_etc_grub_conf(tmp_path):
    t = tree(
        tmp_path,
        {
            "boot/grub/menu.lst": "kernel /boot/vmlinuz root=/dev/sda2 resume=/dev/sda1\n",
            "etc/grub.conf": "kernel /vmlinuz root=LABEL=/ ro\n",
        },
    )
    assert refs_of(t) == [
        ("/boot/grub/menu.lst", 1, "/dev/sda2", "grub-root", "legacy", "/dev/vda2"),
        ("/boot/grub/menu.lst", 1, "/dev/sda1", "grub-resume", "legacy", "/dev/vda1"),
        ("/etc/grub.conf", 1, "LABEL=/", "grub-root", "label", None),
    ]


def test_device_map_crypttab_default_grub(tmp_path):
    t = tree(
        tmp_path,
        {
            "boot/grub/device.map": "# made by anaconda\n(fd0)     /dev/fd0\n(hd0)     /dev/hda\n",
            "etc/crypttab": "# name device key\ncrypt_home /dev/hdb1 none luks\nbad-line\n",
            "etc/default/grub": "GRUB_TIMEOUT=5\n"
            'GRUB_CMDLINE_LINUX_DEFAULT="quiet resume=/dev/sda2"\n'
            "GRUB_CMDLINE_LINUX='root=/dev/sda1 console=ttyS0'\n",
        },
    )
    assert refs_of(t) == [
        ("/etc/crypttab", 2, "/dev/hdb1", "crypttab", "legacy", "/dev/vdb1"),
        ("/boot/grub/device.map", 3, "/dev/hda", "device.map", "legacy", "/dev/vda"),
        ("/etc/default/grub", 2, "/dev/sda2", "default-grub", "legacy", "/dev/vdc2"),
        ("/etc/default/grub", 3, "/dev/sda1", "default-grub", "legacy", "/dev/vdc1"),
    ]
    assert all(r.guessed for r in detect_disk_refs(t))


def test_default_grub_unbalanced_quote_still_read(tmp_path):
    t = tree(tmp_path, {"etc/default/grub": 'GRUB_CMDLINE_LINUX="root=/dev/hda2 quiet\n'})
    assert [r.device for r in detect_disk_refs(t)] == ["/dev/hda2"]


def test_live_cmdline_swaps_and_real_mtab(tmp_path):
    t = tree(
        tmp_path,
        {
            "proc/self/status": "",
            "proc/cmdline": "ro root=/dev/hda2 quiet resume=/dev/hda3\n",
            "proc/swaps": "Filename\tType\tSize\tUsed\tPriority\n/dev/hda3 partition 2 0 -1\n",
            "etc/mtab": "/dev/hda2 / ext3 rw 0 0\nproc /proc proc rw 0 0\n",
        },
        live=True,
    )
    assert t.live
    assert [(r.file, r.context, r.device, r.mountpoint) for r in detect_disk_refs(t)] == [
        ("/proc/cmdline", "cmdline", "/dev/hda2", None),
        ("/proc/cmdline", "cmdline", "/dev/hda3", None),
        ("/proc/swaps", "swaps", "/dev/hda3", None),
        ("/etc/mtab", "mtab", "/dev/hda2", "/"),
    ]


def test_offline_root_ignores_stale_proc_and_mtab_link_to_proc(tmp_path):
    t = tree(
        tmp_path,
        {"proc/cmdline": "root=/dev/hda2\n", "proc/swaps": "/dev/hda3 partition 1 0 -1\n"},
    )
    (tmp_path / "etc").mkdir()
    os.symlink("../proc/self/mounts", tmp_path / "etc/mtab")
    assert not t.live
    assert detect_disk_refs(t) == ()


def test_mtab_link_into_proc_is_not_an_editable_reference(tmp_path):
    t = tree(tmp_path, {"proc/self/mounts": "/dev/vda1 / ext4 rw 0 0\n"})
    (tmp_path / "etc").mkdir()
    os.symlink("../proc/self/mounts", tmp_path / "etc/mtab")
    assert [r.context for r in detect_disk_refs(t)] == []


# ---- proposals ------------------------------------------------------------------------


def ref(device: str, scheme: str = "legacy") -> DiskRef:
    return DiskRef("/etc/fstab", 1, device, scheme)


def test_single_first_disk_is_not_a_guess():
    out = propose_names([ref("/dev/hda3"), ref("/dev/hda"), ref("/dev/VolGroup00/LogVol00", "lvm")])
    assert [(r.proposed, r.guessed) for r in out] == [
        ("/dev/vda3", False),
        ("/dev/vda", False),
        (None, False),
    ]


def test_second_disk_and_order_by_old_name_not_appearance():
    out = propose_names([ref("/dev/hdb1"), ref("/dev/sda1"), ref("/dev/hda1")])
    assert [r.proposed for r in out] == ["/dev/vdb1", "/dev/vdc1", "/dev/vda1"]
    assert all(r.guessed for r in out)


def test_gap_in_letters_is_a_guess():
    out = propose_names([ref("/dev/hdc1")])
    assert (out[0].proposed, out[0].guessed) == ("/dev/vda1", True)
    out = propose_names([ref("/dev/hda1"), ref("/dev/hdc1")])
    assert [r.proposed for r in out] == ["/dev/vda1", "/dev/vdb1"]


def test_many_disks_reach_two_letters():
    refs = [ref(f"/dev/sd{c}1") for c in "abcdefghijklmnopqrstuvwxyz"] + [ref("/dev/sdaa1")]
    out = propose_names(refs)
    assert out[-1].proposed == "/dev/vdaa1"
    assert out[25].proposed == "/dev/vdz1"


def test_virtio_label_uuid_get_no_proposal():
    out = propose_names(
        [ref("/dev/vda1", "virtio"), ref("UUID=ab", "uuid"), ref("LABEL=/", "label")]
    )
    assert [r.proposed for r in out] == [None, None, None]


# ---- optical drives keep their names ------------------------------------------------------


def test_cdrom_by_fs_type_or_mount_point_keeps_its_name(tmp_path):
    t = tree(
        tmp_path,
        {
            "etc/fstab": "/dev/hda1 / ext3 defaults 1 1\n"
            "/dev/hdc /mnt/cdrom auto noauto,ro 0 0\n"
            "/dev/hdd /mnt/x udf,iso9660 noauto 0 0\n"
            "/dev/hdb1 /data ext3 defaults 1 2\n",
        },
    )
    got = {r.device: (r.proposed, r.guessed) for r in detect_disk_refs(t)}
    assert got == {
        "/dev/hda1": ("/dev/vda1", True),
        "/dev/hdc": (None, False),
        "/dev/hdd": (None, False),
        "/dev/hdb1": ("/dev/vdb1", True),
    }


def test_cdrom_named_by_dev_link_is_not_a_disk(tmp_path):
    t = tree(tmp_path, {"etc/fstab": "/dev/hda2 / ext3 defaults 1 1\n/dev/hdc /x auto ro 0 0\n"})
    (tmp_path / "dev").mkdir()
    os.symlink("hdc", tmp_path / "dev/cdrom")
    got = {r.device: (r.proposed, r.guessed) for r in detect_disk_refs(t)}
    assert got == {"/dev/hda2": ("/dev/vda2", False), "/dev/hdc": (None, False)}


def test_cdrom_seen_by_the_running_kernel(tmp_path):
    t = tree(
        tmp_path,
        {
            "proc/self/status": "",
            "proc/ide/hdc/media": "cdrom\n",
            "proc/ide/hda/media": "disk\n",
            "sys/block/sdb/device/media": "cdrom\n",
            "etc/mtab": "/dev/hda1 / ext3 rw 0 0\n/dev/hdc /x auto ro 0 0\n"
            "/dev/sdb /y auto ro 0 0\n",
        },
        live=True,
    )
    assert [(r.device, r.proposed) for r in detect_disk_refs(t)] == [
        ("/dev/hda1", "/dev/vda1"),
        ("/dev/hdc", None),
        ("/dev/sdb", None),
    ]


# ---- bad input --------------------------------------------------------------------


def test_garbage_fstab_gives_nothing_and_does_not_fail(tmp_path):
    t = tree(tmp_path, {"etc/fstab": "garbage\n\t\n===\n#/dev/hda1 / ext3\n  # /dev/hdb /x\n"})
    assert detect_disk_refs(t) == ()


def test_binary_fstab_is_noted(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/fstab").write_bytes(b"/dev/hda1 / ext3\x00\x00\xff\xfe")
    problems: list = []
    assert detect_disk_refs(LocalTarget(str(tmp_path)), problems) == ()
    assert [p.path for p in problems] == ["/etc/fstab"]


def test_latin1_fstab_is_read(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/fstab").write_bytes(
        b"# Platte f\xfcr Daten\n/dev/hdb1 /daten ext3 defaults 1 2\n"
    )
    assert [r.device for r in detect_disk_refs(LocalTarget(str(tmp_path)))] == ["/dev/hdb1"]


def test_fstab_fifo_is_noted_and_does_not_hang(tmp_path):
    (tmp_path / "etc").mkdir()
    os.mkfifo(tmp_path / "etc/fstab")
    problems: list = []
    assert detect_disk_refs(LocalTarget(str(tmp_path)), problems) == ()
    assert [(p.path, p.reason) for p in problems] == [("/etc/fstab", "not a regular file")]


def test_fstab_folder_is_noted(tmp_path):
    (tmp_path / "etc/fstab").mkdir(parents=True)
    problems: list = []
    assert detect_disk_refs(LocalTarget(str(tmp_path)), problems) == ()
    assert [p.path for p in problems] == ["/etc/fstab"]


def test_fstab_link_out_of_the_root_reads_the_guest_not_the_host(tmp_path):
    host = tmp_path / "hostetc"
    host.mkdir()
    (host / "fstab").write_text("/dev/hdz9 /host ext3 defaults 0 0\n")
    root = tmp_path / "guest"
    (root / "etc").mkdir(parents=True)
    os.symlink("../../hostetc/fstab", root / "etc/fstab")
    os.symlink(str(host), root / "etc/grub.conf")
    assert detect_disk_refs(LocalTarget(str(root))) == ()


def test_no_files_no_refs(tmp_path):
    assert detect_disk_refs(LocalTarget(str(tmp_path))) == ()


# ---- UUIDs from blkid ------------------------------------------------------------------


class FakeLocal:
    """A live local target whose fstab names /dev/hda1 and whose blkid answers."""

    kind, root, live, can_run = "local", "/", True, True

    def __init__(self, tmp_path: Path, answer):
        self._t = tree(tmp_path, {"etc/fstab": "/dev/hda1 / ext3 defaults 1 1\n", "dev/hda1": ""})
        self.answer = answer
        self.calls: list = []

    def __getattr__(self, name):
        return getattr(self._t, name)

    def run(self, argv, on_line=None):
        self.calls.append(tuple(argv))
        if isinstance(self.answer, Exception):
            raise self.answer
        return RunResult(tuple(argv), self.answer[0], self.answer[1])


def test_uuid_from_blkid_on_local_system(tmp_path):
    t = FakeLocal(tmp_path, (0, "3f6c2b8e-5d41-4c1e-9a0b-7e2f1d9c8a61\n"))
    [r] = detect_disk_refs(t)
    assert r.uuid == "3f6c2b8e-5d41-4c1e-9a0b-7e2f1d9c8a61"
    assert t.calls == [("blkid", "-o", "value", "-s", "UUID", "/dev/hda1")]


@pytest.mark.parametrize("answer", [(2, ""), (0, "blkid: garbage here"), FileNotFoundError(2, "x")])
def test_blkid_failing_or_missing_leaves_uuid_none(tmp_path, answer):
    [r] = detect_disk_refs(FakeLocal(tmp_path, answer))
    assert r.uuid is None and r.proposed == "/dev/vda1"


def test_blkid_not_run_on_offline_root(tmp_path):
    t = FakeLocal(tmp_path, (0, "abcd-1234"))
    t.kind = "root"
    [r] = detect_disk_refs(t)
    assert r.uuid is None and t.calls == []


def test_this_machine_does_not_fail():
    refs = detect_disk_refs(LocalTarget("/"))
    assert all(r.scheme in ("legacy", "virtio", "label", "uuid", "lvm", "other") for r in refs)


# ---- bus-specific names (/dev/disk/by-id, /dev/disk/by-path) -----------------------------

QM1 = "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001"
QM2 = "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00002"


def proposals(refs):
    return [(r.device, r.proposed, r.guessed) for r in refs]


def test_qemu_ide_by_id_maps_by_its_serial_number_and_is_a_guess():
    out = propose_names([ref(f"{QM1}-part2"), ref(f"{QM1}-part1"), ref(QM1)])
    assert proposals(out) == [
        (f"{QM1}-part2", "/dev/vda2", True),
        (f"{QM1}-part1", "/dev/vda1", True),
        (QM1, "/dev/vda", True),
    ]


def test_qemu_serial_index_orders_the_disks():
    out = propose_names([ref(f"{QM2}-part1"), ref(f"{QM1}-part1")])
    assert proposals(out) == [
        (f"{QM2}-part1", "/dev/vdb1", True),
        (f"{QM1}-part1", "/dev/vda1", True),
    ]


def test_mixed_hda_and_by_id_are_one_disk():
    out = propose_names([ref("/dev/hda1"), ref(f"{QM1}-part2"), ref("/dev/hdb1")])
    assert proposals(out) == [
        ("/dev/hda1", "/dev/vda1", True),
        (f"{QM1}-part2", "/dev/vda2", True),
        ("/dev/hdb1", "/dev/vdb1", True),
    ]
    # One disk named two ways is still one disk: /dev/hda1 alone is no guess.
    out = propose_names([ref("/dev/hda1"), ref(f"{QM1}-part2")])
    assert proposals(out) == [
        ("/dev/hda1", "/dev/vda1", False),
        (f"{QM1}-part2", "/dev/vda2", True),
    ]


def test_libata_guest_by_id_shares_the_letter_of_sda():
    """SLES 11 (libata) names its first IDE disk sda: by-id QM00001 is that disk."""
    out = propose_names([ref(f"{QM2}-part1"), ref("/dev/sda3"), ref(f"{QM1}-part2")])
    assert proposals(out) == [
        (f"{QM2}-part1", "/dev/vdb1", True),
        ("/dev/sda3", "/dev/vda3", True),
        (f"{QM1}-part2", "/dev/vda2", True),
    ]


def test_old_ide_guest_by_id_is_hd_and_sd_is_another_disk():
    out = propose_names([ref("/dev/sda1"), ref(f"{QM1}-part2"), ref("/dev/hdb1")])
    assert proposals(out) == [
        ("/dev/sda1", "/dev/vdc1", True),
        (f"{QM1}-part2", "/dev/vda2", True),
        ("/dev/hdb1", "/dev/vdb1", True),
    ]


@pytest.mark.parametrize(
    "device",
    [
        "/dev/disk/by-id/ata-WDC_WD10EZEX-00BN5A0_WD-WCC3F1234567-part1",
        "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi0-0-0-0-part1",
        "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4-part1",
        "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00000-part1",
        "/dev/disk/by-path/pci-0000:00:01.1-ata-1-part2",
    ],
)
def test_bus_names_without_a_known_disk_get_no_proposal(device):
    out = propose_names([ref(device), ref("/dev/hda1")])
    assert proposals(out) == [(device, None, False), ("/dev/hda1", "/dev/vda1", False)]


def test_virtio_by_id_is_left_alone(tmp_path):
    t = tree(tmp_path, {"etc/fstab": "/dev/disk/by-id/virtio-0a1b-part1 / ext4 defaults 1 1\n"})
    [r] = detect_disk_refs(t)
    assert (r.scheme, r.proposed, r.guessed) == ("virtio", None, False)


SLES_FSTAB = f"""\
{QM1}-part1 swap swap defaults 0 0
{QM1}-part2 / ext3 acl,user_xattr 1 1
/dev/disk/by-id/ata-ST3500418AS_9VM12345-part1 /data ext3 defaults 1 2
/dev/disk/by-path/pci-0000:00:01.1-scsi-0:0:1:0-part1 /srv ext3 defaults 1 2
/dev/disk/by-id/usb-Kingston_DT_101-0:0-part1 /media/usb vfat noauto 0 0
"""
SLES_MENU = f"""\
title SLES 11
    root (hd0,1)
    kernel /boot/vmlinuz root={QM1}-part2 resume={QM1}-part1 splash=silent
"""


def test_sles_fstab_and_menu_lst_offline(tmp_path):
    t = tree(tmp_path, {"etc/fstab": SLES_FSTAB, "boot/grub/menu.lst": SLES_MENU})
    got = [(r.file, r.line, r.context, r.scheme, r.proposed) for r in detect_disk_refs(t)]
    assert got == [
        ("/etc/fstab", 1, "fstab", "legacy", "/dev/vda1"),
        ("/etc/fstab", 2, "fstab", "legacy", "/dev/vda2"),
        ("/etc/fstab", 3, "fstab", "legacy", None),
        ("/etc/fstab", 4, "fstab", "legacy", None),
        ("/etc/fstab", 5, "fstab", "other", None),
        ("/boot/grub/menu.lst", 3, "grub-root", "legacy", "/dev/vda2"),
        ("/boot/grub/menu.lst", 3, "grub-resume", "legacy", "/dev/vda1"),
    ]


class LiveLocal:
    """A live local target over a tree: /dev/disk links answer, blkid answers by device."""

    kind, root, live, can_run = "local", "/", True, True

    def __init__(self, t: LocalTarget, uuids: dict):
        self._t = t
        self.uuids = uuids

    def __getattr__(self, name):
        return getattr(self._t, name)

    def run(self, argv, on_line=None):
        uuid = self.uuids.get(argv[-1])
        return RunResult(tuple(argv), 0 if uuid else 2, (uuid or "") + "\n")


def _link(root: Path, name: str, to: str) -> None:
    path = root / name.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(to, path)


def test_live_by_id_link_is_read_to_its_kernel_name(tmp_path):
    t = tree(tmp_path, {"etc/fstab": SLES_FSTAB, "dev/sda1": "", "dev/sdb1": ""})
    _link(tmp_path, "/dev/disk/by-id/ata-ST3500418AS_9VM12345-part1", "../../sdb1")
    _link(tmp_path, f"{QM1}-part1", "../../sda1")
    live = LiveLocal(t, {"/dev/disk/by-id/ata-ST3500418AS_9VM12345-part1": "0a1b-2c3d"})
    got = [(r.device, r.proposed, r.guessed, r.uuid) for r in detect_disk_refs(live)]
    assert got[:3] == [
        # The link says sda1: certain, yet two disks are named, so the order is a guess.
        (f"{QM1}-part1", "/dev/vda1", True, None),
        (f"{QM1}-part2", "/dev/vda2", True, None),
        ("/dev/disk/by-id/ata-ST3500418AS_9VM12345-part1", "/dev/vdb1", True, "0a1b-2c3d"),
    ]
    # No link on the guest: no proposal, and no UUID either.
    assert got[3][1:] == (None, False, None)


def test_live_link_to_a_non_disk_name_is_not_used(tmp_path):
    t = tree(tmp_path, {"etc/fstab": "/dev/disk/by-id/wwn-0x5000c5-part1 / ext4 defaults 1 1\n"})
    _link(tmp_path, "/dev/disk/by-id/wwn-0x5000c5-part1", "../../nvme0n1p1")
    [r] = detect_disk_refs(LiveLocal(t, {}))
    assert (r.scheme, r.proposed) == ("legacy", None)


def test_offline_root_does_not_trust_its_dev_links(tmp_path):
    t = tree(tmp_path, {"etc/fstab": "/dev/disk/by-id/wwn-0x5000c5-part1 / ext4 defaults 1 1\n"})
    _link(tmp_path, "/dev/disk/by-id/wwn-0x5000c5-part1", "../../sda1")
    [r] = detect_disk_refs(t)
    assert (r.scheme, r.proposed) == ("legacy", None)


def test_live_link_to_the_only_disk_is_no_guess(tmp_path):
    t = tree(tmp_path, {"etc/fstab": f"{QM1}-part2 / ext3 defaults 1 1\n", "dev/sda2": ""})
    _link(tmp_path, f"{QM1}-part2", "../../sda2")
    [r] = detect_disk_refs(LiveLocal(t, {}))
    assert (r.proposed, r.guessed) == ("/dev/vda2", False)


def test_detect_json_on_the_sles11_root_shows_by_id_proposals(capsys):
    import json

    from conftest import ROOTS_DIR

    from virtio_wizard.cli import main

    assert main(["--root", str(ROOTS_DIR / "sles11"), "detect", "--json", "--no-initrd"]) == 0
    data = json.loads(capsys.readouterr().out)
    got = {
        (r["file"], r["context"], r["device"].rsplit("/", 1)[-1], r["proposed"])
        for r in data["disk_refs"]
    }
    assert got == {
        ("/etc/fstab", "fstab", "ata-QEMU_HARDDISK_QM00001-part1", "/dev/vda1"),
        ("/etc/fstab", "fstab", "ata-QEMU_HARDDISK_QM00001-part2", "/dev/vda2"),
        ("/etc/fstab", "fstab", "sda3", "/dev/vda3"),
        ("/boot/grub/menu.lst", "grub-root", "ata-QEMU_HARDDISK_QM00001-part2", "/dev/vda2"),
        ("/boot/grub/menu.lst", "grub-resume", "ata-QEMU_HARDDISK_QM00001-part1", "/dev/vda1"),
        ("/boot/grub/device.map", "device.map", "ata-QEMU_HARDDISK_QM00001", "/dev/vda"),
    }
    assert "legacy-disk-names" in [f["id"] for f in data["findings"]]
    assert "disk-names-unmapped" not in [f["id"] for f in data["findings"]]
