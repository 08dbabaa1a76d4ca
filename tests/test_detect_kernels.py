"""Kernels, their initrds and virtio support; loaded modules and the virtio bus."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from initrd_factory import build_initrd

from virtio_wizard.detect.kernels import detect_kernels, detect_running_kernel, initrd_candidates
from virtio_wizard.detect.modules import detect_loaded_modules, detect_virtio_bus
from virtio_wizard.facts import BUILTIN, MISSING, MODULE
from virtio_wizard.knowledge import SEED_MODULES
from virtio_wizard.targets import LocalTarget

RHEL5 = "2.6.18-92.el5"
DEB = "6.1.0-50-amd64"


class LiveFiles(dict):
    """Files of a recorded running guest: the tree is opened as live."""


def tree(root: Path, files: dict[str, object]) -> LocalTarget:
    """Write ``files`` (guest path -> text/bytes, or None for a folder) under root."""
    for rel, data in files.items():
        path = root / rel.lstrip("/")
        if data is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else str(data).encode())
    return LocalTarget(str(root), live=isinstance(files, LiveFiles))


def live(files: dict[str, object]) -> dict[str, object]:
    """A snapshot of a running guest (only ``/`` and ``--ssh`` are live for real)."""
    return LiveFiles({"proc/self/status": "Name: init\n", **files})


def only(kernels, version):
    [k] = [k for k in kernels if k.version == version]
    return k


# ---- running kernel -------------------------------------------------------------


def test_running_kernel_from_osrelease(tmp_path):
    t = tree(tmp_path, live({"proc/sys/kernel/osrelease": f"{RHEL5}\n"}))
    assert detect_running_kernel(t) == RHEL5


def test_offline_root_has_no_running_kernel_even_with_stale_proc(tmp_path):
    t = tree(tmp_path, {"proc/sys/kernel/osrelease": f"{RHEL5}\n"})
    assert not t.live
    assert detect_running_kernel(t) is None


def test_running_kernel_osrelease_fifo_does_not_hang(tmp_path):
    t = tree(tmp_path, live({"proc/sys/kernel": None}))
    os.mkfifo(tmp_path / "proc/sys/kernel/osrelease")
    assert detect_running_kernel(t) is None


def test_running_kernel_on_this_machine_matches_uname():
    assert detect_running_kernel(LocalTarget("/")) == os.uname().release


# ---- finding kernels ------------------------------------------------------------------


def test_rhel5_driver_package_modules_in_extra(tmp_path):
    files = {f"lib/modules/{RHEL5}/extra/virtio/{m}.ko": b"" for m in SEED_MODULES}
    files.update(
        {
            f"lib/modules/{RHEL5}/kernel/drivers/net/e1000/e1000.ko": b"",
            f"boot/vmlinuz-{RHEL5}": b"kernel",
            f"boot/initrd-{RHEL5}.img": b"x",
            f"boot/initrd-{RHEL5}.img.virtio.orig": b"x",
            f"boot/config-{RHEL5}": "CONFIG_MODULES=y\n# CONFIG_VIRTIO is not set\n",
        }
    )
    [k] = detect_kernels(tree(tmp_path, files), running=None, read_initrds=False)
    assert k.version == RHEL5
    assert k.image == f"/boot/vmlinuz-{RHEL5}"
    assert k.initrd == f"/boot/initrd-{RHEL5}.img"
    assert k.virtio_orig == f"/boot/initrd-{RHEL5}.img.virtio.orig"
    assert k.virtio == {m: MODULE for m in SEED_MODULES}
    assert k.virtio_scsi == MISSING
    assert k.virtio_sources == (f"/lib/modules/{RHEL5}",)
    assert k.initrd_format is None and k.initrd_virtio is None
    assert not k.running


def test_kernel_without_virtio_reports_missing(tmp_path):
    t = tree(tmp_path, {f"lib/modules/{RHEL5}/kernel/fs/ext3/ext3.ko": b""})
    [k] = detect_kernels(t, running=None, read_initrds=False)
    assert k.virtio == {m: MISSING for m in SEED_MODULES}
    assert not k.supports("virtio_blk")
    assert k.image is None and k.initrd is None and k.virtio_sources == ()


def test_config_y_is_builtin_and_m_is_module_without_tree(tmp_path):
    config = (
        "CONFIG_VIRTIO=y\nCONFIG_VIRTIO_RING=y\nCONFIG_VIRTIO_PCI=y\n"
        "CONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=y\nCONFIG_SCSI_VIRTIO=m\n"
    )
    t = tree(
        tmp_path,
        {"boot/vmlinuz-5.14.0-1.el9.x86_64": b"k", "boot/config-5.14.0-1.el9.x86_64": config},
    )
    [k] = detect_kernels(t, running=None, read_initrds=False)
    assert k.virtio == {
        "virtio": BUILTIN,
        "virtio_ring": BUILTIN,
        "virtio_blk": MODULE,
        "virtio_net": BUILTIN,
        "virtio_pci": BUILTIN,
    }
    assert k.virtio_scsi == MODULE
    assert k.virtio_sources == ("/boot/config-5.14.0-1.el9.x86_64",)


def test_virtio_ring_follows_virtio_when_config_has_no_ring_symbol(tmp_path):
    t = tree(tmp_path, {f"boot/vmlinuz-{DEB}": b"k", f"boot/config-{DEB}": "CONFIG_VIRTIO=m\n"})
    [k] = detect_kernels(t, running=None, read_initrds=False)
    assert k.virtio["virtio"] == MODULE and k.virtio["virtio_ring"] == MODULE
    assert k.virtio["virtio_blk"] == MISSING


def test_modules_builtin_and_compressed_dashed_names(tmp_path):
    base = f"lib/modules/{DEB}"
    t = tree(
        tmp_path,
        {
            f"{base}/modules.builtin": "kernel/drivers/virtio/virtio.ko\n"
            "kernel/drivers/virtio/virtio_ring.ko\nkernel/drivers/virtio/virtio_pci.ko\n",
            f"{base}/kernel/drivers/block/virtio-blk.ko.xz": b"",
            f"{base}/kernel/drivers/net/virtio_net.ko.zst": b"",
            f"{base}/kernel/drivers/scsi/virtio_scsi.ko.gz": b"",
        },
    )
    [k] = detect_kernels(t, running=None, read_initrds=False)
    assert k.virtio == {
        "virtio": BUILTIN,
        "virtio_ring": BUILTIN,
        "virtio_blk": MODULE,
        "virtio_net": MODULE,
        "virtio_pci": BUILTIN,
    }
    assert k.virtio_scsi == MODULE
    assert k.virtio_sources == (f"/lib/modules/{DEB}/modules.builtin", f"/lib/modules/{DEB}")


def test_24_kernel_dot_o_modules(tmp_path):
    files = {f"lib/modules/2.4.21-58.EL/kernel/drivers/block/{m}.o": b"" for m in SEED_MODULES}
    files["boot/vmlinuz-2.4.21-58.EL"] = b"k"
    [k] = detect_kernels(tree(tmp_path, files), running=None, read_initrds=False)
    assert k.virtio == {m: MODULE for m in SEED_MODULES}


def test_sorted_newest_first_and_kdump_rescue_skipped(tmp_path):
    t = tree(
        tmp_path,
        {
            "boot/vmlinuz-2.6.18-8.el5": b"k",
            "boot/vmlinuz-2.6.18-92.el5": b"k",
            "boot/vmlinuz-2.6.18-92.el5kdump": b"k",
            "boot/vmlinuz-0-rescue-0123456789abcdef": b"k",
            "lib/modules/2.6.18-164.el5": None,
            "lib/modules/not-a-dir": "",
        },
    )
    versions = [k.version for k in detect_kernels(t, running=None, read_initrds=False)]
    assert versions == ["2.6.18-164.el5", "2.6.18-92.el5", "2.6.18-8.el5"]


@pytest.mark.parametrize(
    "name",
    [
        "boot/initrd-{v}.img",  # RHEL <= 5
        "boot/initramfs-{v}.img",  # RHEL 6+, Fedora
        "boot/initrd.img-{v}",  # Debian, Ubuntu
        "boot/initrd-{v}",  # SUSE
    ],
)
def test_initrd_name_per_family(tmp_path, name):
    v = "3.10.0-1160.el7.x86_64"
    t = tree(tmp_path, {f"boot/vmlinuz-{v}": b"k", name.format(v=v): b"x"})
    [k] = detect_kernels(t, running=None, read_initrds=False)
    assert k.initrd == "/" + name.format(v=v)
    assert initrd_candidates(v).index(k.initrd) >= 0


def test_kdump_initrd_is_never_the_kernels_initrd(tmp_path):
    v = "2.6.32-754.el6.x86_64"
    t = tree(tmp_path, {f"boot/vmlinuz-{v}": b"k", f"boot/initrd-{v}kdump.img": b"x"})
    [k] = detect_kernels(t, running=None, read_initrds=False)
    assert k.initrd is None


def test_arch_pkgbase_and_usr_lib_modules(tmp_path):
    v = "6.9.7-arch1-1"
    t = tree(
        tmp_path,
        {
            "boot/vmlinuz-linux": b"k",
            "boot/initramfs-linux.img": b"x",
            "boot/initramfs-linux-fallback.img": b"x",
            f"usr/lib/modules/{v}/pkgbase": "linux\n",
            f"usr/lib/modules/{v}/vmlinuz": b"k",
            f"usr/lib/modules/{v}/kernel/drivers/block/virtio_blk.ko.zst": b"",
        },
    )
    os.symlink("usr/lib", tmp_path / "lib")
    [k] = detect_kernels(t, running=None, read_initrds=False)
    assert k.version == v
    assert k.image == "/boot/vmlinuz-linux"
    assert k.initrd == "/boot/initramfs-linux.img"
    assert k.virtio["virtio_blk"] == MODULE


def test_usrmerge_tree_is_walked_once(tmp_path):
    t = tree(tmp_path, {f"usr/lib/modules/{DEB}/kernel/drivers/virtio/virtio.ko": b""})
    os.symlink("usr/lib", tmp_path / "lib")
    [k] = detect_kernels(t, running=None, read_initrds=False)
    assert k.virtio_sources == (f"/lib/modules/{DEB}",)


def test_unreadable_config_is_noted_and_tree_still_used(tmp_path):
    t = tree(tmp_path, {f"lib/modules/{DEB}/kernel/drivers/virtio/virtio.ko": b"", "boot": None})
    os.mkfifo(tmp_path / f"boot/config-{DEB}")
    problems: list = []
    [k] = detect_kernels(t, running=None, read_initrds=False, problems=problems)
    assert k.virtio["virtio"] == MODULE
    assert [(p.path, p.reason) for p in problems] == [(f"/boot/config-{DEB}", "not a regular file")]


def test_binary_config_is_noted(tmp_path):
    t = tree(
        tmp_path, {f"boot/vmlinuz-{DEB}": b"k", f"boot/config-{DEB}": b"\x00\x01CONFIG_VIRTIO=y"}
    )
    problems: list = []
    [k] = detect_kernels(t, running=None, read_initrds=False, problems=problems)
    assert k.virtio["virtio"] == MISSING
    assert problems and problems[0].path == f"/boot/config-{DEB}"


def test_module_tree_link_leaving_the_root_stays_inside(tmp_path):
    outside = tmp_path / "host"
    (outside / "kernel").mkdir(parents=True)
    (outside / "kernel" / "virtio_blk.ko").write_bytes(b"")
    root = tmp_path / "guest"
    t = tree(root, {"lib/modules": None, "boot/vmlinuz-9.9.9": b"k"})
    os.symlink("../../../host", root / "lib/modules/9.9.9")
    [k] = detect_kernels(t, running=None, read_initrds=False)
    assert k.virtio["virtio_blk"] == MISSING


# ---- the running kernel's sysfs ----------------------------------------------------------


def test_running_kernel_without_module_tree_uses_sysfs(tmp_path):
    t = tree(
        tmp_path,
        live(
            {
                "proc/sys/kernel/osrelease": "6.6.0-virt\n",
                "sys/bus/virtio/drivers/virtio_blk": None,
                "sys/bus/virtio/drivers/virtio_net": None,
                "sys/bus/pci/drivers/virtio-pci": None,
                "sys/module/virtio_blk/parameters/queue_depth": "0\n",
            }
        ),
    )
    [k] = detect_kernels(t, running="6.6.0-virt", read_initrds=False)
    assert k.running
    assert k.virtio == {m: BUILTIN for m in SEED_MODULES}
    assert "/sys/module/virtio_blk" in k.virtio_sources
    assert "/sys/bus/virtio/drivers/virtio_net" in k.virtio_sources


def test_running_kernel_loaded_module_has_initstate(tmp_path):
    t = tree(
        tmp_path,
        live(
            {
                "sys/module/virtio_net/initstate": "live\n",
                "sys/bus/virtio/drivers/virtio_blk": None,
                "proc/modules": "virtio_blk 24576 3 - Live 0xffffffffc0395000\n",
            }
        ),
    )
    [k] = detect_kernels(t, running="6.6.0-virt", read_initrds=False)
    assert k.virtio["virtio_net"] == MODULE
    assert k.virtio["virtio_blk"] == MODULE
    assert k.virtio["virtio_pci"] == MISSING


def test_sysfs_is_not_evidence_for_other_kernels(tmp_path):
    t = tree(
        tmp_path,
        live({"sys/bus/virtio/drivers/virtio_blk": None, "boot/vmlinuz-5.0.0": b"k"}),
    )
    kernels = detect_kernels(t, running="6.6.0-virt", read_initrds=False)
    assert [k.version for k in kernels] == ["6.6.0-virt", "5.0.0"]
    assert only(kernels, "5.0.0").virtio["virtio_blk"] == MISSING
    assert only(kernels, "6.6.0-virt").virtio["virtio_blk"] == BUILTIN


def test_proc_config_gz_for_running_kernel(tmp_path):
    t = tree(
        tmp_path,
        live({"proc/config.gz": gzip.compress(b"CONFIG_VIRTIO=y\nCONFIG_VIRTIO_BLK=m\n")}),
    )
    [k] = detect_kernels(t, running="6.6.0-virt", read_initrds=False)
    assert k.virtio["virtio"] == BUILTIN and k.virtio["virtio_blk"] == MODULE
    assert k.virtio_sources == ("/proc/config.gz",)


def test_corrupt_proc_config_gz_is_noted(tmp_path):
    t = tree(tmp_path, live({"proc/config.gz": b"\x1f\x8b garbage"}))
    problems: list = []
    [k] = detect_kernels(t, running="6.6.0-virt", read_initrds=False, problems=problems)
    assert k.virtio["virtio"] == MISSING
    assert [p.path for p in problems] == ["/proc/config.gz"]


def test_this_machine_is_consistent_with_sys():
    t = LocalTarget("/")
    running = detect_running_kernel(t)
    [k] = [k for k in detect_kernels(t, running=running, read_initrds=False) if k.running]
    for name in ("virtio_blk", "virtio_net"):
        if os.path.isdir(f"/sys/bus/virtio/drivers/{name}"):
            assert k.supports(name), (name, k)
    if os.path.isdir("/sys/bus/virtio"):
        assert k.supports("virtio")


# ---- initrds --------------------------------------------------------------------


def test_initrd_contents_are_read(tmp_path):
    image = build_initrd(modules=("virtio", "virtio_ring", "virtio_blk"), fmt="gzip", kver=DEB)
    t = tree(tmp_path, {f"boot/vmlinuz-{DEB}": b"k", f"boot/initrd.img-{DEB}": image})
    [k] = detect_kernels(t, running=None)
    assert k.initrd_format == "gzip"
    assert k.initrd_virtio == ("virtio", "virtio_blk", "virtio_ring")
    assert k.initrd_error is None


def test_initrd_without_virtio_is_empty_tuple(tmp_path):
    image = build_initrd(modules=("ext3",), fmt="gzip", kver=RHEL5)
    t = tree(tmp_path, {f"boot/vmlinuz-{RHEL5}": b"k", f"boot/initrd-{RHEL5}.img": image})
    [k] = detect_kernels(t, running=None)
    assert k.initrd_virtio == ()


def test_garbage_initrd_gives_error_not_exception(tmp_path):
    t = tree(tmp_path, {f"boot/vmlinuz-{DEB}": b"k", f"boot/initrd.img-{DEB}": b"\x1f\x8bnope"})
    [k] = detect_kernels(t, running=None)
    assert k.initrd_virtio is None
    assert k.initrd_error


def test_inspector_that_raises_is_contained(tmp_path):
    def boom(target, path):
        raise RuntimeError("reader bug")

    t = tree(tmp_path, {f"boot/vmlinuz-{DEB}": b"k", f"boot/initrd.img-{DEB}": b"x"})
    [k] = detect_kernels(t, running=None, inspect=boom)
    assert k.initrd_virtio is None
    assert k.initrd_error == "RuntimeError: reader bug"


# ---- loaded modules and the virtio bus ----------------------------------------------------


def test_loaded_modules_first_column_in_order(tmp_path):
    t = tree(
        tmp_path,
        live(
            {
                "proc/modules": "e1000 155665 0 - Live 0xffffffff8817a000\n\n"
                "ata_piix 52869 0 - Live 0xffffffff88093000\n"
            }
        ),
    )
    assert detect_loaded_modules(t) == ("e1000", "ata_piix")


def test_loaded_modules_none_offline_or_absent(tmp_path):
    offline = tree(tmp_path / "a", {"proc/modules": "e1000 1 0 - Live 0x0\n"})
    assert detect_loaded_modules(offline) is None
    assert detect_loaded_modules(tree(tmp_path / "b", live({}))) is None


def test_loaded_modules_fifo_is_noted_not_hung(tmp_path):
    t = tree(tmp_path, live({"proc": None}))
    os.mkfifo(tmp_path / "proc/modules")
    problems: list = []
    assert detect_loaded_modules(t, problems) is None
    assert [p.reason for p in problems] == ["not a regular file"]


def test_virtio_bus(tmp_path):
    t = tree(
        tmp_path,
        live(
            {"sys/bus/virtio/drivers/virtio_net": None, "sys/bus/virtio/drivers/virtio_blk": None}
        ),
    )
    assert detect_virtio_bus(t) == ("virtio_blk", "virtio_net")
    assert detect_virtio_bus(tree(tmp_path / "off", {"sys/bus/virtio/drivers/x": None})) == ()


def test_this_machine_virtio_bus_matches_sys():
    expected = (
        sorted(os.listdir("/sys/bus/virtio/drivers"))
        if os.path.isdir("/sys/bus/virtio/drivers")
        else []
    )
    assert list(detect_virtio_bus(LocalTarget("/"))) == expected
    loaded = detect_loaded_modules(LocalTarget("/"))
    assert (loaded is None) == (not os.path.exists("/proc/modules"))


# ---- modules.dep before the walk, and no weaker evidence than needed -------------


def _no_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    def walk(self, path):
        raise AssertionError(f"the module tree {path} was walked")

    monkeypatch.setattr(LocalTarget, "walk", walk)


def test_modules_dep_answers_without_walking_the_tree(tmp_path, monkeypatch):
    base = f"lib/modules/{DEB}"
    files = {
        f"{base}/kernel/drivers/virtio/{m}.ko": b"" for m in ("virtio", "virtio_ring", "virtio_pci")
    }
    files[f"{base}/kernel/drivers/block/virtio_blk.ko.xz"] = b""
    files[f"{base}/kernel/drivers/net/virtio-net.ko.zst"] = b""
    files[f"{base}/modules.dep"] = (
        "kernel/drivers/virtio/virtio.ko:\n"
        "kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko\n"
        "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko\n"
        "kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio_ring.ko\n"
        "kernel/drivers/net/virtio-net.ko.zst: kernel/drivers/virtio/virtio_ring.ko\n"
        "kernel/fs/ext4/ext4.ko: kernel/drivers/scsi/virtio_scsi.ko\n"
    )
    t = tree(tmp_path, files)
    walked: list[str] = []
    real_walk = LocalTarget.walk
    monkeypatch.setattr(LocalTarget, "walk", lambda self, p: walked.append(p) or real_walk(self, p))
    [k] = detect_kernels(t, running=None, read_initrds=False)
    assert k.virtio == {m: MODULE for m in SEED_MODULES}
    # virtio_scsi is named only as a dependency, and has no file: the walk looks once more.
    assert k.virtio_scsi == MISSING
    assert k.virtio_sources == (f"/lib/modules/{DEB}/modules.dep",)
    assert walked == [f"/lib/modules/{DEB}"]
    # With virtio_scsi listed too, the tree is never walked.
    (tmp_path / base / "kernel/drivers/scsi").mkdir(parents=True)
    (tmp_path / base / "kernel/drivers/scsi/virtio_scsi.ko").write_bytes(b"")
    with open(tmp_path / base / "modules.dep", "a") as fh:
        fh.write("kernel/drivers/scsi/virtio_scsi.ko: kernel/drivers/virtio/virtio.ko\n")
    _no_walk(monkeypatch)
    [k] = detect_kernels(t, running=None, read_initrds=False)
    assert k.virtio_scsi == MODULE


def test_stale_modules_dep_entry_without_its_file_does_not_count(tmp_path, monkeypatch):
    base = f"lib/modules/{DEB}"
    t = tree(tmp_path, {f"{base}/modules.dep": "kernel/drivers/block/virtio_blk.ko:\n"})
    [k] = detect_kernels(t, running=None, read_initrds=False)
    assert k.virtio["virtio_blk"] == MISSING and k.virtio_sources == ()


def test_rhel5_absolute_modules_dep_paths(tmp_path, monkeypatch):
    base = f"lib/modules/{RHEL5}"
    files = {f"{base}/extra/virtio/{m}.ko": b"" for m in SEED_MODULES}
    files[f"{base}/modules.dep"] = "".join(f"/{base}/extra/virtio/{m}.ko:\n" for m in SEED_MODULES)
    files[f"{base}/kernel/drivers/scsi/virtio_scsi.ko"] = b""  # unlisted: found by the walk
    [k] = detect_kernels(tree(tmp_path, files), running=None, read_initrds=False)
    assert k.virtio == {m: MODULE for m in SEED_MODULES} and k.virtio_scsi == MODULE
    assert k.virtio_sources == (f"/{base}/modules.dep", f"/{base}")


def test_driver_package_installed_without_depmod_is_still_found(tmp_path):
    """A modules.dep that predates the driver package: the walk finds ``extra/virtio``."""
    base = f"lib/modules/{RHEL5}"
    files = {f"{base}/extra/virtio/{m}.ko": b"" for m in SEED_MODULES}
    files[f"{base}/modules.dep"] = f"/{base}/kernel/fs/ext3/ext3.ko:\n"
    [k] = detect_kernels(tree(tmp_path, files), running=None, read_initrds=False)
    assert k.virtio == {m: MODULE for m in SEED_MODULES}
    assert k.virtio_sources == (f"/{base}",)


def test_config_that_answers_everything_reads_nothing_weaker(tmp_path, monkeypatch):
    base = f"lib/modules/{DEB}"
    config = "".join(
        f"CONFIG_{s}=m\n"
        for s in ("VIRTIO", "VIRTIO_BLK", "VIRTIO_NET", "VIRTIO_PCI", "SCSI_VIRTIO")
    )
    t = tree(
        tmp_path,
        live(
            {
                f"boot/config-{DEB}": config,
                f"{base}/modules.builtin": "kernel/drivers/virtio/virtio.ko\n",
                f"{base}/kernel/drivers/virtio/virtio.ko": b"",
                "sys/module/virtio": None,
            }
        ),
    )
    read: list[str] = []
    real_read = LocalTarget.read_text
    monkeypatch.setattr(
        LocalTarget, "read_text", lambda self, p, *a: read.append(p) or real_read(self, p, *a)
    )
    _no_walk(monkeypatch)
    [k] = detect_kernels(t, running=DEB, read_initrds=False)
    assert k.virtio == {m: MODULE for m in SEED_MODULES} and k.virtio_scsi == MODULE
    assert k.virtio_sources == (f"/boot/config-{DEB}",)
    assert read == [f"/boot/config-{DEB}"]


def test_one_detection_reads_each_kernel_config_once(tmp_path, monkeypatch):
    """Kernels and CPU both use the config (virtio answers, kernel variant): one read."""
    from virtio_wizard.detect import detect

    config = "CONFIG_X86=y\nCONFIG_MK7=y\nCONFIG_VIRTIO=m\n"
    t = tree(
        tmp_path,
        {
            "etc/debian_version": "12.5\n",
            f"boot/vmlinuz-{DEB}": b"k",
            f"boot/config-{DEB}": config,
        },
    )
    read: list[str] = []
    real_read = LocalTarget.read_text
    monkeypatch.setattr(
        LocalTarget, "read_text", lambda self, p, *a: read.append(p) or real_read(self, p, *a)
    )
    facts = detect(t, read_initrds=False)
    assert facts.cpu.kernel_variant == "athlon"
    assert facts.kernels[0].virtio["virtio"] == MODULE
    assert read.count(f"/boot/config-{DEB}") == 1


def _dep_reference(text: str) -> list[tuple[str, str]]:
    """``modules.dep`` read line by line: each line's own path, when its file is a reported one."""
    import re

    from virtio_wizard.detect import modtree

    name_re = re.compile(r"virtio(?:[-_](?:ring|blk|net|pci|scsi))?" + modtree.MODULE_SUFFIX)
    found = []
    for line in text.split("\n"):
        if ":" not in line:
            continue
        own = line.split(":", 1)[0]
        name = own.rsplit("/", 1)[-1]
        if name_re.fullmatch(name):
            found.append((own, name))
    return found


_DEP_PARTS = st.sampled_from(
    ["virtio", "virtio_blk", "virtio-net", "foo_virtio", "virtio_ring", "virtio_pcix", "kernel",
     "extra", "a:b", "/", ".ko", ".ko.xz", ".o", ".ko.zst", ":", " ", "\n", "x"]
)  # fmt: skip


@given(st.lists(_DEP_PARTS, max_size=40).map("".join))
def test_modules_dep_entries_are_each_lines_own_reported_module(text: str) -> None:
    """The fast scan (jumping between ``virtio`` names) reads what a line-by-line reader reads."""
    from virtio_wizard.detect import modtree

    assert list(modtree.dep_entries(text)) == _dep_reference(text)


def test_modules_dep_entries_of_a_distro_list() -> None:
    from virtio_wizard.detect import modtree

    text = (
        "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko\n"
        "kernel/drivers/virtio/virtio_ring.ko:\n"
        "kernel/sound/foo_virtio.ko: kernel/drivers/virtio/virtio.ko\n"
        "extra/virtio/virtio-pci.ko.xz:\n"
    )
    assert list(modtree.dep_entries(text)) == [
        ("kernel/drivers/block/virtio_blk.ko", "virtio_blk.ko"),
        ("kernel/drivers/virtio/virtio_ring.ko", "virtio_ring.ko"),
        ("extra/virtio/virtio-pci.ko.xz", "virtio-pci.ko.xz"),
    ]
