"""The bundled demo guests: private copies, no commands, and what detection finds there."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from virtio_wizard.demo import DEMO_GUESTS, _make_links, guest_dir, open_demo
from virtio_wizard.detect.devices import detect_devices
from virtio_wizard.detect.disks import detect_disk_refs
from virtio_wizard.detect.kernels import detect_kernels, detect_running_kernel
from virtio_wizard.detect.modules import detect_loaded_modules, detect_virtio_bus
from virtio_wizard.facts import MISSING, MODULE
from virtio_wizard.knowledge import SEED_MODULES
from virtio_wizard.targets import CommandsDisabledError, TargetError


def digest(folder: str) -> str:
    """A hash of every path, link and file body under ``folder``."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(folder)):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            h.update(path.encode())
            if os.path.islink(path):
                h.update(os.readlink(path).encode())
            else:
                with open(path, "rb") as fh:
                    h.update(fh.read())
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(DEMO_GUESTS))
def test_demo_is_a_private_copy_that_runs_nothing(name):
    before = digest(guest_dir(name))
    t = open_demo(name)
    assert t.kind == "demo" and not t.can_run and t.live
    assert os.path.realpath(t.root) != os.path.realpath(guest_dir(name))
    t.write_file("/etc/fstab", b"changed\n")
    assert t.read_text("/etc/fstab") == "changed\n"
    assert digest(guest_dir(name)) == before
    with pytest.raises(CommandsDisabledError):
        t.run(["true"])
    assert t.recorded == [("true",)], "the command is recorded, not run"
    assert t.temporary, "verify and a later undo must know the copy is gone at exit"
    other = open_demo(name)
    assert other.root != t.root and other.read_text("/etc/fstab") != "changed\n"


@pytest.mark.parametrize("name", sorted(DEMO_GUESTS))
def test_demo_is_small_and_described(name):
    size = sum(
        os.path.getsize(os.path.join(d, f))
        for d, _, files in os.walk(guest_dir(name))
        for f in files
    )
    assert size < 1024 * 1024
    assert DEMO_GUESTS[name] and "\n" not in DEMO_GUESTS[name]


def test_unknown_demo_names_the_choices():
    with pytest.raises(TargetError) as err:
        open_demo("windows7")
    assert (
        str(err.value)
        == "windows7: no demo guest named 'windows7'; choose one of: debian12, rhel39, rhel52"
    )


def test_links_come_from_the_manifest():
    t = open_demo("rhel52")
    assert t.is_symlink("/etc/grub.conf")
    assert t.resolve("/etc/grub.conf") == "/boot/grub/grub.conf"
    assert t.readlink("/sys/bus/pci/devices/0000:00:03.0/driver").endswith("/e1000")
    d = open_demo("debian12")
    assert d.resolve("/lib/modules") == "/usr/lib/modules"


def test_manifest_replaces_copies_and_refuses_escapes(tmp_path):
    root = tmp_path / "g"
    (root / "etc" / "grub.conf").mkdir(parents=True)
    (root / "boot").mkdir()
    (root / "boot" / "menu.lst").write_text("copy")
    manifest = tmp_path / "g.links"
    manifest.write_text("# c\n\netc/grub.conf -> ../boot/grub/grub.conf\nboot/menu.lst -> x\n")
    _make_links(str(root), str(manifest))
    assert os.readlink(root / "etc/grub.conf") == "../boot/grub/grub.conf"
    assert os.readlink(root / "boot/menu.lst") == "x"
    for bad in ("../evil -> x", "/etc/passwd -> x", "etc/fstab", "a -> "):
        manifest.write_text(bad + "\n")
        with pytest.raises(TargetError, match="bad link line"):
            _make_links(str(root), str(manifest))
    assert not (tmp_path / "evil").exists()


# ---- what detection sees in each demo -------------------------------------------------------


def test_rhel52_is_the_seeds_case():
    t = open_demo("rhel52")
    problems: list = []
    running = detect_running_kernel(t)
    assert running == "2.6.18-92.el5"
    [k] = detect_kernels(t, running=running, problems=problems)
    assert k.running and k.initrd == "/boot/initrd-2.6.18-92.el5.img"
    assert k.virtio == {m: MODULE for m in SEED_MODULES} and k.virtio_scsi == MISSING
    assert k.initrd_format == "gzip" and k.initrd_virtio == ()
    assert detect_loaded_modules(t) == (
        "e1000",
        "ata_piix",
        "libata",
        "sd_mod",
        "scsi_mod",
        "dm_mod",
        "ext3",
        "jbd",
    )
    assert detect_virtio_bus(t) == ()
    kinds = {(d.kind, d.driver) for d in detect_devices(t, problems)}
    assert {("ide", "PIIX_IDE"), ("e1000", "e1000")} <= kinds
    refs = detect_disk_refs(t, problems)
    legacy = {(r.file, r.context, r.device, r.proposed) for r in refs if r.scheme == "legacy"}
    assert ("/etc/fstab", "fstab", "/dev/hda3", "/dev/vda3") in legacy
    assert ("/boot/grub/grub.conf", "grub-resume", "/dev/hda3", "/dev/vda3") in legacy
    assert ("/boot/grub/device.map", "device.map", "/dev/hda", "/dev/vda") in legacy
    assert not any(r.file == "/etc/grub.conf" for r in refs)
    assert not any(r.guessed for r in refs)
    assert problems == []
    sysinit = t.read_text("/etc/rc.d/rc.sysinit")
    assert sysinit.count("if [ -f /etc/rc.modules ]; then\n\t/etc/rc.modules\nfi\n") == 1
    assert sysinit.index("/etc/sysconfig/modules/*.modules") < sysinit.index("/etc/rc.modules")
    assert "nash" in t.read_text("/sbin/mkinitrd")
    assert "GenuineIntel" in t.read_text("/proc/cpuinfo")
    assert t.read_bytes("/bin/sh")[:4] == b"\x7fELF"


def test_debian12_already_has_what_it_needs():
    t = open_demo("debian12")
    problems: list = []
    running = detect_running_kernel(t)
    [k] = detect_kernels(t, running=running, problems=problems)
    assert k.version == "6.1.0-50-amd64" and k.running
    assert k.virtio == {m: MODULE for m in SEED_MODULES}
    assert k.initrd == "/boot/initrd.img-6.1.0-50-amd64"
    assert set(SEED_MODULES) <= set(k.initrd_virtio or ())
    assert {"virtio_blk", "virtio_net", "virtio_pci"} <= set(detect_loaded_modules(t) or ())
    assert {"virtio_blk", "virtio_net"} <= set(detect_virtio_bus(t))
    kinds = {d.kind for d in detect_devices(t, problems)}
    assert {"virtio-net", "virtio-blk"} <= kinds
    refs = detect_disk_refs(t, problems)
    assert refs and not any(r.scheme == "legacy" for r in refs)
    assert "MODULES=most" in t.read_text("/etc/initramfs-tools/initramfs.conf")
    assert "AuthenticAMD" in t.read_text("/proc/cpuinfo")
    assert problems == []


def test_rhel39_is_a_24_kernel_with_o_modules_and_an_ext2_initrd():
    t = open_demo("rhel39")
    problems: list = []
    [k] = detect_kernels(t, running=detect_running_kernel(t), problems=problems)
    assert k.version == "2.4.21-58.EL" and k.running
    assert k.virtio == {m: MODULE for m in SEED_MODULES}
    assert (k.initrd_format, k.initrd_virtio) == ("ext2", ())
    assert detect_devices(t, problems) == ()  # 2.4 kernels have no sysfs
    assert detect_loaded_modules(t) == ("e1000", "ext3", "jbd")
    swap = [r for r in detect_disk_refs(t, problems) if r.mountpoint == "swap"]
    assert [(r.device, r.proposed) for r in swap] == [("/dev/hda3", "/dev/vda3")]
    assert "ia32e" in t.read_text("/var/log/rpmpkgs")
    assert "AuthenticAMD" in t.read_text("/proc/cpuinfo")
    assert problems == []


def git_mode(mode: int) -> int:
    """The mode git records for a file (0755 when its owner may run it) or a folder."""
    return 0o755 if stat.S_ISDIR(mode) or mode & stat.S_IXUSR else 0o644


def modes(root: str) -> dict[str, int]:
    """Every file's and folder's mode under ``root`` (links left out), by relative path."""
    found = {".": stat.S_IMODE(os.lstat(root).st_mode)}
    for dirpath, dirs, files in os.walk(root):
        for entry in [*files, *dirs]:
            path = os.path.join(dirpath, entry)
            st = os.lstat(path)
            if not stat.S_ISLNK(st.st_mode):
                found[os.path.relpath(path, root)] = stat.S_IMODE(st.st_mode)
    return found


@pytest.mark.parametrize("name", sorted(DEMO_GUESTS))
def test_demo_copy_keeps_contents_modes_and_times(name):
    """The lean copy (``_copy_tree``) gives what ``shutil.copytree`` gave, with the
    modes git records (a checkout under umask 022 has exactly those)."""
    t = open_demo(name)
    src = guest_dir(name)
    for dirpath, _dirs, files in os.walk(src):
        for entry in [*files, *_dirs]:
            path = os.path.join(dirpath, entry)
            copy = os.path.join(t.root, os.path.relpath(path, src))
            if os.path.islink(path):
                assert os.readlink(copy) == os.readlink(path)
                continue
            a, b = os.stat(path), os.lstat(copy)
            assert stat.S_IMODE(b.st_mode) == git_mode(a.st_mode), copy
            if stat.S_ISREG(a.st_mode):
                assert a.st_mtime_ns == b.st_mtime_ns, copy
                with open(path, "rb") as x, open(copy, "rb") as y:
                    assert x.read() == y.read(), copy


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def test_copies_of_killed_wizards_are_removed_at_start(tmp_path, monkeypatch):
    """kill -9 skips the exit hook that removes the copy; the next start removes it."""
    import virtio_wizard.demo as demo

    child = subprocess.run(
        [sys.executable, "-c",
         "import os, signal\n"
         "from virtio_wizard.demo import open_demo\n"
         "print(open_demo('rhel52').root, flush=True)\n"
         "os.kill(os.getpid(), signal.SIGKILL)\n"],
        env=dict(os.environ, TMPDIR=str(tmp_path)), capture_output=True, text=True,
        cwd=Path(__file__).parent.parent, timeout=60,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr
    killed = Path(child.stdout.strip()).parent
    assert killed.parent == tmp_path and killed.is_dir(), "the killed wizard left its copy"
    dead = tmp_path / f"virtio-wizard-demo-debian12-{_dead_pid()}-abc_123"
    mine = tmp_path / f"virtio-wizard-demo-rhel52-{os.getpid()}-xyz"
    other = tmp_path / "virtio-wizard-demo-rhel52-notapid"
    for folder in (dead, mine, other):
        folder.mkdir()

    monkeypatch.setattr(demo, "_scratch_dir", lambda: str(tmp_path))
    target = open_demo("rhel52")
    assert not killed.exists() and not dead.exists()
    assert mine.is_dir() and other.is_dir(), "a live wizard's copy and other folders stay"
    assert Path(target.root).parent.name.startswith(f"virtio-wizard-demo-rhel52-{os.getpid()}-")
    assert Path(target.root).is_dir()


def _checkout(src: str, dst: str, umask: int) -> None:
    """Copy ``src`` as git checks a tree out under ``umask``: 0666 or 0777 minus the mask."""
    shutil.copytree(src, dst, symlinks=True)
    for dirpath, _dirs, files in os.walk(dst):
        os.chmod(dirpath, 0o777 & ~umask)
        for entry in files:
            path = os.path.join(dirpath, entry)
            if not os.path.islink(path):
                full = 0o777 if os.stat(path).st_mode & stat.S_IXUSR else 0o666
                os.chmod(path, full & ~umask)


@pytest.mark.parametrize("name", sorted(DEMO_GUESTS))
def test_demo_copy_modes_do_not_depend_on_the_checkout_umask(name, tmp_path, monkeypatch):
    """A checkout (or ``git archive``) unpacked under umask 002 has 0664 files; the
    demo copy is still 0644/0755, so the preview and its snapshots show the same modes."""
    import virtio_wizard.demo as demo

    guests = tmp_path / "guests"
    guests.mkdir()
    _checkout(guest_dir(name), str(guests / name), 0o002)
    links = guest_dir(name) + ".links"
    if os.path.exists(links):
        shutil.copyfile(links, guests / f"{name}.links")
    checkout = modes(str(guests / name))
    assert any(mode & 0o020 for mode in checkout.values()), "the checkout is group-writable"

    expected = modes(open_demo(name).root)
    assert set(expected.values()) <= {0o644, 0o755}
    monkeypatch.setattr(demo, "_HERE", str(guests))
    old = os.umask(0o002)
    try:
        copy = open_demo(name)
    finally:
        os.umask(old)
    assert modes(copy.root) == expected
