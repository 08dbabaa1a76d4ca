"""Disk references in guest files, and the virtio names proposed for them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from virtio_wizard.detect.disks import classify_device, detect_disk_refs, propose_names
from virtio_wizard.facts import DiskRef
from virtio_wizard.target import LocalTarget, RunResult


def tree(root: Path, files: dict[str, str]) -> LocalTarget:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return LocalTarget(str(root))


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
        ("/dev/disk/by-id/ata-QEMU_HARDDISK", "other"),
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
