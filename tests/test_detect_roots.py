"""detect() end to end on every fixture root, on hostile trees, and on this machine."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest
from conftest import ROOTS_DIR, root_names

from virtio_wizard.detect import detect, drivers_auto, with_initrds
from virtio_wizard.facts import Distro, Facts, Kernel, TargetInfo
from virtio_wizard.targets import LocalTarget

# name: distro id, version, family, source, machine, initrd tool, sysinit hook
# ("none" = no rc.sysinit at all), kernel count, drivers_auto
EXPECTED = {
    "arch": ("arch", "", "arch", "/etc/arch-release", "x86_64", "mkinitcpio", "none", 1, True),
    "broken-garbage": ("unknown", "", "unknown", None, None, "initramfs-tools", None, 1, False),
    "broken-missing": ("unknown", "", "unknown", None, None, None, "none", 0, False),
    "centos5": (
        "centos",
        "5.3",
        "redhat",
        "/etc/redhat-release",
        "x86_64",
        "mkinitrd",
        352,
        1,
        True,
    ),
    "debian12": (
        "debian",
        "12",
        "debian",
        "/etc/os-release",
        "x86_64",
        "initramfs-tools",
        "none",
        1,
        True,
    ),
    "debian12-order": (
        "debian",
        "12",
        "debian",
        "/etc/os-release",
        "x86_64",
        "initramfs-tools",
        "none",
        1,
        True,
    ),
    "debian6": (
        "debian",
        "6.0.10",
        "debian",
        "/etc/debian_version",
        "x86_64",
        "initramfs-tools",
        "none",
        1,
        True,
    ),
    "fedora19": ("fedora", "19", "redhat", "/etc/os-release", "x86_64", "dracut", "none", 1, True),
    "hostile": ("unknown", "", "unknown", None, None, "initramfs-tools", "none", 1, True),
    "offline-empty": (
        "rocky",
        "9.3",
        "redhat",
        "/etc/os-release",
        "x86_64",
        "dracut",
        "none",
        1,
        True,
    ),
    "rhel39": ("rhel", "3.9", "redhat", "/etc/redhat-release", "x86_64", "mkinitrd", 442, 1, True),
    "rhel39-amd": (
        "rhel",
        "3.9",
        "redhat",
        "/etc/redhat-release",
        "x86_64",
        "mkinitrd",
        442,
        1,
        True,
    ),
    "rhel39-nodep": (
        "rhel",
        "3.9",
        "redhat",
        "/etc/redhat-release",
        "x86_64",
        "mkinitrd",
        442,
        1,
        True,
    ),
    "rhel39-nopkg": (
        "rhel",
        "3.9",
        "redhat",
        "/etc/redhat-release",
        "x86_64",
        "mkinitrd",
        442,
        1,
        True,
    ),
    "rhel48": ("rhel", "4.8", "redhat", "/etc/redhat-release", "x86_64", "mkinitrd", 556, 1, True),
    "rhel53": ("rhel", "5.3", "redhat", "/etc/redhat-release", "x86_64", "mkinitrd", 352, 1, True),
    "rhel5xen": (
        "rhel",
        "5.4",
        "redhat",
        "/etc/redhat-release",
        "x86_64",
        "mkinitrd",
        352,
        2,
        True,
    ),
    "sles11xen": (
        "sles",
        "11.3",
        "suse",
        "/etc/SuSE-release",
        "x86_64",
        "suse-mkinitrd",
        "none",
        1,
        True,
    ),
    "rhel5ga": ("rhel", "5", "redhat", "/etc/redhat-release", "x86_64", "mkinitrd", 352, 1, False),
    "rhel6": ("rhel", "6.7", "redhat", "/etc/redhat-release", "x86_64", "dracut", 512, 1, True),
    "sles11": (
        "sles",
        "11.3",
        "suse",
        "/etc/SuSE-release",
        "x86_64",
        "suse-mkinitrd",
        "none",
        1,
        True,
    ),
    "ubuntu1004": (
        "ubuntu",
        "10.04",
        "debian",
        "/etc/lsb-release",
        "x86_64",
        "initramfs-tools",
        "none",
        1,
        True,
    ),
}


def test_every_root_has_an_expectation():
    assert set(root_names()) == set(EXPECTED) | {"windows"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_detect_fixture_root(name, fixture_target):
    target = fixture_target(name)
    facts = detect(target, read_initrds=False)
    d = facts.distro
    distro_id, version, family, source, machine, tool, hook, nkernels, auto = EXPECTED[name]
    assert (d.id, d.version, d.family, d.source) == (distro_id, version, family, source)
    assert facts.cpu.machine == machine
    assert facts.initrd_tool == tool
    if hook == "none":
        assert facts.sysinit is None
    else:
        assert facts.sysinit is not None and facts.sysinit.hook_line == hook
    assert len(facts.kernels) == nkernels
    assert facts.drivers_auto is auto and facts.drivers_auto_reason
    assert facts.not_linux is None
    # an offline root never is live; the local Target keeps labels and ACLs
    assert facts.target == TargetInfo("root", target.root, False, keeps_xattrs=True)
    # read_initrds=False leaves every image unread.
    assert all(k.initrd_virtio is None and k.initrd_format is None for k in facts.kernels)
    # The JSON form carries everything.
    assert Facts.from_dict(facts.to_dict()) == facts


def test_rhel53_live_snapshot(fixture_target):
    facts = detect(fixture_target("rhel53", live=True), read_initrds=False)
    assert facts.running_kernel == "2.6.18-128.el5"
    assert facts.kernels[0].running
    assert (facts.cpu.vendor, facts.cpu.vendor_source, facts.cpu.package_arch) == (
        "GenuineIntel",
        "target",
        "ia32e",
    )
    assert "virtio_net" in facts.loaded_modules
    assert {dev.kind for dev in facts.devices} >= {"ide", "e1000", "virtio-net"}


def test_recorded_proc_and_sys_of_an_offline_root_are_not_the_guests(fixture_target):
    """rhel53 carries a proc/ and sys/ that look live (proc/self, osrelease,
    modules, cpuinfo, cmdline, swaps, PCI devices): offline, none of it counts,
    because an offline root's proc/ describes the kernel running the wizard."""
    target = fixture_target("rhel53")
    assert os.path.isdir(os.path.join(target.root, "proc", "self")) and not target.live
    facts = detect(target, read_initrds=False)
    assert facts.running_kernel is None and not any(k.running for k in facts.kernels)
    assert facts.loaded_modules is None and facts.virtio_bus_drivers == ()
    assert facts.devices == ()
    assert facts.cpu.vendor_source in ("host", None)
    assert not {r.file for r in facts.disk_refs} & {"/proc/cmdline", "/proc/swaps"}


@pytest.mark.skipif(os.geteuid() != 0 and not os.environ.get("CI"), reason="bind mounts need root")
def test_bind_mounted_proc_and_sys_do_not_make_the_host_kernel_the_guests(guest_root):
    """The rescue-chroot setup (``mount --bind /proc ROOT/proc``, same for sys):
    detection and the plan still see an offline guest, not the host's kernel."""
    target = guest_root("rhel53")
    root = target.root
    mounted = []
    try:
        for name in ("proc", "sys"):
            point = os.path.join(root, name)
            subprocess.run(["rm", "-rf", point], check=True)
            os.mkdir(point)
            subprocess.run(["mount", "--bind", "/" + name, point], check=True)
            mounted.append(point)
        assert os.path.isdir(os.path.join(root, "proc", "self"))
        target = LocalTarget(root)
        assert not target.live
        facts = detect(target, read_initrds=False)
        host_kernel = platform.release()
        assert facts.running_kernel is None
        assert host_kernel not in [k.version for k in facts.kernels]
        assert [k.version for k in facts.kernels] == ["2.6.18-128.el5"]
        assert facts.devices == () and facts.loaded_modules is None
        assert facts.cpu.vendor_source in ("host", None)
        plan = subprocess.run(
            [sys.executable, "-m", "virtio_wizard", "plan", "--root", root]
            + ["--method", "initrd", "--drivers", "block"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert plan.returncode == 0, plan.stderr
        assert "kernel 2.6.18-128.el5\n" in plan.stdout and host_kernel not in plan.stdout
        assert "built in" not in plan.stdout
    finally:
        for point in reversed(mounted):
            subprocess.run(["umount", point], check=False)


def test_offline_roots_take_the_vendor_from_the_host(fixture_target):
    facts = detect(fixture_target("offline-empty"), read_initrds=False)
    assert facts.running_kernel is None and facts.loaded_modules is None
    assert facts.devices == ()
    assert facts.cpu.vendor_source in ("host", None)


def test_tool_settings_that_decide_the_host_only_trap(fixture_target):
    def config(name):
        return detect(fixture_target(name), read_initrds=False).initrd_tool_config

    assert config("debian12")["MODULES"] == "dep"
    assert config("debian6")["MODULES"] == "most"
    assert config("fedora19")["hostonly"] == "yes"
    assert config("rhel6")["hostonly"] == "no"
    assert config("offline-empty")["hostonly"] == "yes"
    assert config("sles11")["INITRD_MODULES"].split()[:3] == ["processor", "thermal", "ata_piix"]
    assert config("arch")["MODULES"] == ""


def test_drivers_auto_reasons(fixture_target):
    facts = detect(fixture_target("rhel5ga"), read_initrds=False)
    assert facts.drivers_auto is False
    assert "older than the releases" in facts.drivers_auto_reason
    facts = detect(fixture_target("debian6"), read_initrds=False)
    assert facts.drivers_auto_reason == "default kernel 2.6.32-5-amd64 is 2.6.27 or newer"


@pytest.mark.parametrize(
    ("distro", "running", "kernels", "auto", "words"),
    [
        (Distro("rhel", "RHEL", "4.7", "redhat"), None, ("2.6.9-78.EL",), False, "older"),
        (Distro("centos", "CentOS", "4.8", "redhat"), None, (), True, "3.9+"),
        (
            Distro("debian", "Debian", "5.0.10", "debian"),
            None,
            ("2.6.26-2-686",),
            False,
            "default kernel 2.6.26-2-686 is older",
        ),
        (
            Distro("debian", "Debian", "5.0.10", "debian"),
            "2.6.32-5-686",
            ("2.6.26-2-686",),
            True,
            "running kernel 2.6.32-5-686",
        ),
        (Distro(), None, (), False, "no kernel found"),
    ],
)
def test_drivers_auto_rule(distro, running, kernels, auto, words):
    facts = Facts(
        TargetInfo("root", "/x"),
        distro=distro,
        running_kernel=running,
        kernels=tuple(Kernel(v) for v in kernels),
    )
    got, reason = drivers_auto(facts)
    assert got is auto and words in reason


def test_with_initrds_fills_only_the_images(fixture_target):
    target = fixture_target("rhel48")
    quick = detect(target, read_initrds=False)
    full = with_initrds(target, quick)
    k = full.kernels[0]
    assert k.initrd_format == "gzip"
    assert k.initrd_virtio == ("virtio", "virtio_blk", "virtio_pci", "virtio_ring")
    assert k.virtio_orig == "/boot/initrd-2.6.9-89.EL.img.virtio.orig"
    assert full.distro == quick.distro and full.sysinit == quick.sysinit
    assert full == detect(target)


def test_initrd_formats_across_roots(fixture_target):
    def first(name):
        return detect(fixture_target(name)).kernels[0]

    assert first("rhel39").initrd_format == "ext2"
    assert first("debian12").initrd_format == "early+zstd"
    assert first("debian12").initrd_virtio == ()
    assert first("fedora19").initrd_format == "xz"
    assert first("debian6").initrd_virtio == (
        "virtio",
        "virtio_blk",
        "virtio_net",
        "virtio_pci",
        "virtio_ring",
    )
    broken = first("broken-garbage")
    assert broken.initrd_virtio is None and broken.initrd_error


def test_windows_root(fixture_target):
    facts = detect(fixture_target("windows"))
    assert facts.not_linux is not None and "virtio-win" in facts.not_linux
    assert facts.kernels == () and facts.distro.id == "unknown"
    assert with_initrds(fixture_target("windows"), facts) == facts


def test_progress_is_reported(fixture_target):
    steps: list[str] = []
    detect(fixture_target("rhel39"), read_initrds=False, progress=steps.append)
    assert steps[0] == "checking the file system" and len(steps) >= 6


# ---- broken and hostile trees ---------------------------------------------------------


def test_broken_garbage_names_what_it_skipped(fixture_target):
    facts = detect(fixture_target("broken-garbage"))
    paths = {u.path for u in facts.unreadable}
    assert {"/etc/os-release", "/etc/redhat-release", "/etc/fstab", "/etc/rc.d/rc.sysinit"} <= paths
    assert len(paths) == len(facts.unreadable)  # each file once
    assert facts.disk_refs == ()


def test_fifos_and_device_nodes_never_block(guest_root):
    target = guest_root("rhel53")
    root = target.root
    os.remove(os.path.join(root, "etc/redhat-release"))
    os.mkfifo(os.path.join(root, "etc/redhat-release"))
    os.remove(os.path.join(root, "etc/fstab"))
    os.mkfifo(os.path.join(root, "etc/fstab"))
    os.remove(os.path.join(root, "boot/initrd-2.6.18-128.el5.img"))
    os.mkfifo(os.path.join(root, "boot/initrd-2.6.18-128.el5.img"))
    os.mknod(os.path.join(root, "etc/os-release"), 0o600 | 0o020000, os.makedev(1, 3))  # char
    facts = detect(target)
    reasons = {u.path: u.reason for u in facts.unreadable}
    assert reasons["/etc/redhat-release"] == "not a regular file"
    assert reasons["/etc/os-release"] == "not a regular file"
    assert reasons["/etc/fstab"] == "not a regular file"
    assert facts.distro.id == "unknown"


def test_hostile_root_opens_nothing_outside(fixture_target, monkeypatch):
    target = fixture_target("hostile")
    root = target.root
    opened: list[str] = []

    def spy(real):
        def wrapper(path=".", *args, **kwargs):
            if not isinstance(path, int):
                opened.append(os.fsdecode(path))
            return real(path, *args, **kwargs)

        return wrapper

    for name in ("open", "listdir", "scandir"):
        monkeypatch.setattr(os, name, spy(getattr(os, name)))
    facts = detect(target)
    monkeypatch.undo()
    inside = (root, *(os.path.join(root, n) for n in os.listdir(root)))
    real = [os.path.realpath(p) for p in opened]
    outside = [p for p in real if p != root and not p.startswith(root + os.sep)]
    assert any(p not in inside for p in real)  # it did look deeper than the top
    assert opened and outside == []
    text = repr(facts.to_dict())
    # Host files the links aim at: nothing of theirs may show up.
    for host_file in ("/etc/passwd", "/etc/hostname"):
        try:
            with open(host_file, encoding="latin-1") as fh:
                first = fh.readline().strip()
        except OSError:
            continue
        if first and first not in ("root:x:0:0:guest root:/root:/bin/bash",):
            assert first not in text
    loops = {u.path for u in facts.unreadable if "symbolic links" in u.reason}
    assert {"/etc/debian_version", "/etc/SuSE-release"} <= loops


def test_symlinked_proc_and_sys_in_a_copy(guest_root):
    target = guest_root("debian12")
    for name in ("proc", "sys"):
        path = os.path.join(target.root, name)
        for entry in os.listdir(path):
            os.remove(os.path.join(path, entry))
        os.rmdir(path)
        os.symlink("/" + name, path)  # absolute: resolved inside the root -> a loop
    facts = detect(LocalTarget(target.root))
    assert facts.distro.id == "debian" and facts.running_kernel is None


# ---- this machine -----------------------------------------------------------------------


def test_this_machine():
    facts = detect(LocalTarget("/"), read_initrds=False)
    assert facts.target == TargetInfo("local", "/", True, keeps_xattrs=True)
    assert facts.running_kernel == platform.release()
    keys = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    key, _, value = line.strip().partition("=")
                    keys.setdefault(key, value.strip("\"'"))
            break
    if keys.get("ID"):
        assert facts.distro.id == keys["ID"].lower() or facts.distro.id == "opensuse"
    assert Facts.from_dict(facts.to_dict()) == facts


def test_detect_does_not_import_heavy_modules():
    code = (
        "import sys\n"
        "from virtio_wizard.detect import detect\n"
        "from virtio_wizard.targets import LocalTarget\n"
        "detect(LocalTarget('/'), read_initrds=False)\n"
        "detect(LocalTarget(sys.argv[1]), read_initrds=False)\n"
        "print(sorted(m for m in ('psutil', 'rich', 'textual') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOTS_DIR / "rhel39")],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert out.stdout.strip() == "[]"


# ---- the fixtures themselves -------------------------------------------------------------


def test_guest_root_is_a_private_copy(guest_root, roots_dir):
    target = guest_root("rhel39")
    assert target.root != str(roots_dir / "rhel39")
    target.write_file("/etc/redhat-release", b"changed\n")
    assert (roots_dir / "rhel39/etc/redhat-release").read_bytes().startswith(b"Red Hat")
    # Links stay links in the copy (the hostile root must stay hostile).
    assert target.is_symlink("/etc/grub.conf")
    assert os.readlink(os.path.join(target.root, "etc/grub.conf")) == "../boot/grub/grub.conf"


def test_unknown_fixture_name(fixture_target):
    with pytest.raises(ValueError, match="no fixture root 'rhel99'"):
        fixture_target("rhel99")


def test_rc_sysinit_fixtures_keep_their_latin1_bytes(roots_dir):
    data = (roots_dir / "rhel39/etc/rc.d/rc.sysinit").read_bytes()
    assert b"\xe9" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert len(data.splitlines()) > 1000
