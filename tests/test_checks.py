"""Checks are pure functions of Facts: every id raised and not raised, by hand-built Facts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from virtio_wizard import checks
from virtio_wizard import knowledge as kn
from virtio_wizard.checks import FINDING_IDS, check, sort_findings
from virtio_wizard.facts import (
    BUILTIN,
    MISSING,
    MODULE,
    Cpu,
    DiskRef,
    Distro,
    Facts,
    Kernel,
    ModuleList,
    ModuleListEntry,
    PciDevice,
    Sysinit,
    TargetInfo,
    Unreadable,
)
from virtio_wizard.finding import ERROR, INFO, WARNING, Finding, choose
from virtio_wizard.present.remedy import cli_fix

ALL_MODULE = {m: MODULE for m in kn.SEED_MODULES}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "findings.md"


def kernel(version="2.6.18-92.el5", **kw) -> Kernel:
    kw.setdefault("virtio", dict(ALL_MODULE))
    kw.setdefault("initrd", f"/boot/initrd-{version}.img")
    kw.setdefault("initrd_virtio", ("virtio", "virtio_blk", "virtio_pci", "virtio_ring"))
    return Kernel(version=version, **kw)


def facts(**kw) -> Facts:
    """A clean RHEL 5.2 guest with nothing to say but what the test adds."""
    kw.setdefault("target", TargetInfo(kind="root", root="/mnt/guest"))
    kw.setdefault("distro", Distro(id="rhel", name="Red Hat Enterprise Linux", version="5.2"))
    kw.setdefault("kernels", (kernel(),))
    return Facts(**kw)


def ids(found) -> list[str]:
    return [f.id for f in found]


def only(found, fid) -> Finding:
    hits = [f for f in found if f.id == fid]
    assert len(hits) == 1, ids(found)
    return hits[0]


# ---- the whole ----


def test_clean_guest_has_no_findings():
    assert check(facts()) == []


def test_findings_sorted_by_severity_then_id():
    found = [
        Finding("b", INFO, "m"),
        Finding("z", ERROR, "m"),
        Finding("a", INFO, "m"),
        Finding("c", WARNING, "m"),
        Finding("a", ERROR, "m"),
    ]
    assert [(f.severity, f.id) for f in sort_findings(found)] == [
        (ERROR, "a"),
        (ERROR, "z"),
        (WARNING, "c"),
        (INFO, "a"),
        (INFO, "b"),
    ]


def test_check_output_is_sorted_and_ids_are_known():
    f = facts(
        kernels=(kernel(virtio={**ALL_MODULE, "virtio_net": MISSING}, initrd_virtio=()),),
        unreadable=(Unreadable("/etc/fstab", "not a regular file"),),
        devices=(PciDevice("0000:00:03.0", "0x1af4", "0x1000", "virtio-net"),),
        drivers_auto=True,
    )
    found = check(f)
    ranks = [{ERROR: 0, WARNING: 1, INFO: 2}[x.severity] for x in found]
    assert ranks == sorted(ranks)
    assert set(ids(found)) <= set(FINDING_IDS)
    assert {"kernel-no-virtio", "initrd-missing-virtio", "unreadable-file", "gso-tso"} <= set(
        ids(found)
    )
    for finding in found:
        assert finding.message and cli_fix(finding.remedy) and finding.source


def test_every_id_is_documented_with_a_source():
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", text, re.M))
    assert documented == set(FINDING_IDS)
    for fid in FINDING_IDS:
        assert re.search(rf"^## `{fid}`", text, re.M), fid


# ---- not-linux ----


def test_not_linux_raised_and_silences_linux_checks():
    f = facts(
        not_linux="This is a Windows system disk (Windows/System32 found, no /etc)",
        kernels=(),
        unreadable=(Unreadable("/boot.ini", "too large"),),
        devices=(PciDevice("0000:00:03.0", "0x1af4", "0x1000", "virtio-net"),),
    )
    found = check(f)
    assert ids(found) == ["not-linux", "unreadable-file"]
    assert found[0].severity == ERROR
    assert "virtio-win" in cli_fix(found[0].remedy) and "Windows" in found[0].message
    assert found[0].message.endswith("no /etc).")


def test_not_linux_wrong_folder_fix():
    f = facts(not_linux="This does not look like a Linux root file system (no /etc).")
    finding = only(check(f), "not-linux")
    assert finding.message.count(".") == 1 and "--root" in cli_fix(finding.remedy)
    assert "virtio-win" not in cli_fix(finding.remedy)
    assert "Windows" not in finding.source  # nothing found said Windows


def test_not_linux_not_raised_for_linux():
    assert checks.check_not_linux(facts()) == []


# ---- drivers-automatic ----


def test_drivers_automatic_raised():
    found = checks.check_drivers_automatic(
        facts(drivers_auto=True, drivers_auto_reason="RHEL 5.3 and newer")
    )
    f = only(found, "drivers-automatic")
    assert f.severity == INFO
    assert "RHEL 5.3 and newer" in f.message
    assert "initrd" in cli_fix(f.remedy) and "/dev/vd" in cli_fix(f.remedy)
    assert f.source == kn.SEED_AUTO


def test_drivers_automatic_not_raised():
    assert checks.check_drivers_automatic(facts(drivers_auto=False)) == []


def test_drivers_automatic_on_rhel3_only_with_the_package():
    with_pkg = only(checks.check_drivers_automatic(rhel3()), "drivers-automatic")
    assert "virtio package" in with_pkg.message and "2.4 kernel itself has no virtio" in (
        with_pkg.message
    )
    assert "nothing needs installing" not in with_pkg.message
    bare = kernel(RHEL3_KERNEL, virtio={m: MISSING for m in kn.SEED_MODULES})
    assert checks.check_drivers_automatic(rhel3(kernels=(bare,))) == []


def test_rhel3_without_the_package_gets_the_package_fix_only():
    """Never "install a kernel 2.6.27 or newer" on RHEL 3 (issue 14)."""
    bare = kernel(RHEL3_KERNEL, virtio={m: MISSING for m in kn.SEED_MODULES})
    cpu = Cpu(machine="x86_64", vendor="GenuineIntel", package_arch="ia32e")
    found = check(rhel3(kernels=(bare,), cpu=cpu))
    f = only(found, "kernel-no-virtio")
    assert f.severity == ERROR
    assert "Install the virtio package built for this kernel variant: ia32e (Intel 64)" in cli_fix(
        f.remedy
    )
    assert "2.6.27" not in cli_fix(f.remedy) and "Unresolved symbol" in cli_fix(f.remedy)
    assert "nothing needs installing" not in " ".join(x.message for x in found)
    amd = Cpu(machine="x86_64", vendor="AuthenticAMD", package_arch="x86_64")
    f = only(check(rhel3(kernels=(bare,), cpu=amd)), "kernel-no-virtio")
    assert "x86_64 (AMD64)" in cli_fix(f.remedy)


# ---- kernel-no-virtio ----


def test_kernel_no_virtio_error_when_no_kernel_works():
    k = kernel("2.6.9-89.EL", virtio={m: MISSING for m in kn.SEED_MODULES})
    f = only(check(facts(kernels=(k,), cpu=Cpu(package_arch="ia32e"))), "kernel-no-virtio")
    assert f.severity == ERROR
    assert "2.6.9-89.EL" in f.message and "virtio_blk" in f.message
    assert "No installed kernel" in cli_fix(f.remedy) and "ia32e" not in cli_fix(f.remedy)


def test_kernel_no_virtio_names_a_kernel_that_works():
    old = kernel("2.6.18-8.el5", virtio={**ALL_MODULE, "virtio_blk": MISSING})
    new = kernel("2.6.18-128.el5")
    newer_bad = kernel("2.6.18-200.el5", virtio={**ALL_MODULE, "virtio_pci": MISSING})
    f = facts(kernels=(old, new, newer_bad), running_kernel="2.6.18-8.el5")
    finding = only(check(f), "kernel-no-virtio")
    assert finding.severity == WARNING
    assert "running kernel 2.6.18-8.el5" in finding.message
    assert "only the net driver" in finding.message
    assert "2.6.18-128.el5" in cli_fix(finding.remedy) and "--kernel 2.6.18-128.el5" in cli_fix(
        finding.remedy
    )


def test_kernel_no_virtio_uses_newest_kernel_offline():
    k1 = kernel("2.6.18-8.el5")
    k2 = kernel("2.6.18-92.el5", virtio={**ALL_MODULE, "virtio_net": MISSING})
    finding = only(check(facts(kernels=(k1, k2))), "kernel-no-virtio")
    assert "newest kernel 2.6.18-92.el5" in finding.message
    assert "only the block driver" in finding.message


def test_kernel_no_virtio_not_raised_for_builtins_or_no_kernels():
    builtin = kernel("6.8.0-1", virtio={m: BUILTIN for m in kn.SEED_MODULES}, initrd_virtio=())
    assert checks.check_kernel_no_virtio(facts(kernels=(builtin,))) == []
    assert checks.check_kernel_no_virtio(facts(kernels=())) == []


# ---- initrd-missing-virtio ----


def test_initrd_missing_virtio_dracut_host_only():
    k = kernel("5.14.0-1.el9", initrd="/boot/initramfs-5.14.0-1.el9.img", initrd_virtio=())
    f = only(check(facts(kernels=(k,), initrd_tool="dracut")), "initrd-missing-virtio")
    assert f.severity == WARNING
    assert "`dracut-initqueue timeout` and an emergency shell" in f.message
    assert "ALERT!" not in f.message
    assert "virtio_blk" in f.message and "host-only" in f.message
    assert 'add_drivers+=" virtio virtio_ring virtio_blk virtio_pci "' in cli_fix(f.remedy)
    assert "dracut -f /boot/initramfs-5.14.0-1.el9.img 5.14.0-1.el9" in cli_fix(f.remedy)
    assert kn.DRACUT_CONF in f.source


@pytest.mark.parametrize(
    ("tool", "symptom"),
    [
        ("initramfs-tools", "ALERT! /dev/vda does not exist. Dropping to a shell!"),
        ("mkinitcpio", "ERROR: device '/dev/vda' not found"),
        ("mkinitrd", "VFS: Unable to mount root fs"),
        ("suse-mkinitrd", "VFS: Unable to mount root fs"),
        (None, "ALERT! /dev/vda does not exist"),
    ],
)
def test_initrd_missing_virtio_names_the_symptom_of_the_tool(tool, symptom):
    k = kernel("2.6.18-92.el5", initrd="/boot/initrd-2.6.18-92.el5.img", initrd_virtio=())
    f = only(check(facts(kernels=(k,), initrd_tool=tool)), "initrd-missing-virtio")
    assert symptom in f.message


@pytest.mark.parametrize("setting", ["dep", "list"])
def test_initrd_missing_virtio_initramfs_tools_names_modules_setting(setting):
    k = kernel("6.1.0-50-amd64", initrd="/boot/initrd.img-6.1.0-50-amd64", initrd_virtio=())
    f = facts(
        kernels=(k,),
        distro=Distro(id="debian", version="12"),
        initrd_tool="initramfs-tools",
        initrd_tool_config={"MODULES": setting},
    )
    finding = only(check(f), "initrd-missing-virtio")
    assert f"MODULES={setting}" in cli_fix(finding.remedy) and "MODULES=most" in cli_fix(
        finding.remedy
    )
    assert "/etc/initramfs-tools/modules" in cli_fix(finding.remedy)
    assert "update-initramfs -u -k 6.1.0-50-amd64" in cli_fix(finding.remedy)


def test_initrd_missing_virtio_mkinitrd_gives_seed_command():
    k = kernel(initrd_virtio=("virtio",), virtio_scsi=MISSING)
    finding = only(check(facts(kernels=(k,), initrd_tool="mkinitrd")), "initrd-missing-virtio")
    assert (
        "mkinitrd -f --with=virtio --with=virtio_ring --with=virtio_blk --with=virtio_net "
        "--with=virtio_pci /boot/initrd-2.6.18-92.el5.img 2.6.18-92.el5" in cli_fix(finding.remedy)
    )
    assert "virtio_ring, virtio_blk, virtio_pci" in finding.message


def test_initrd_missing_virtio_other_tools():
    k = kernel("6.9.1-arch1-1", initrd_virtio=())
    arch = only(check(facts(kernels=(k,), initrd_tool="mkinitcpio")), "initrd-missing-virtio")
    assert "mkinitcpio -P" in cli_fix(arch.remedy) and kn.MKINITCPIO_DROPIN in cli_fix(arch.remedy)
    suse = only(check(facts(kernels=(k,), initrd_tool="suse-mkinitrd")), "initrd-missing-virtio")
    assert "INITRD_MODULES" in cli_fix(
        suse.remedy
    ) and "mkinitrd -k vmlinuz-6.9.1-arch1-1" in cli_fix(suse.remedy)


def test_initrd_missing_virtio_not_raised():
    # virtio_blk inside (names as file names are accepted)
    ok = kernel(initrd_virtio=("virtio-blk.ko", "virtio.ko", "virtio_pci", "virtio_ring"))
    assert checks.check_initrd_missing_virtio(facts(kernels=(ok,))) == []
    # built in: nothing to put in the initrd
    builtin = kernel(virtio={m: BUILTIN for m in kn.SEED_MODULES}, initrd_virtio=())
    assert checks.check_initrd_missing_virtio(facts(kernels=(builtin,))) == []
    # unreadable image: that is initrd-unreadable, not this
    unread = kernel(initrd_virtio=None, initrd_error="bad magic")
    assert checks.check_initrd_missing_virtio(facts(kernels=(unread,))) == []
    # no initrd at all, no kernel at all
    assert checks.check_initrd_missing_virtio(facts(kernels=(kernel(initrd=None),))) == []
    assert checks.check_initrd_missing_virtio(facts(kernels=())) == []


# ---- initrd-unreadable ----


def test_initrd_unreadable_gives_error_and_how_to_list():
    bad = kernel(
        "2.4.21-63.EL",
        initrd_virtio=None,
        initrd_format="ext2",
        initrd_error="ext2 image: cannot list without mounting",
    )
    other = kernel("2.4.21-50.EL", initrd_virtio=None, initrd_format="unknown")
    found = check(facts(kernels=(bad, other), initrd_tool="mkinitrd"))
    hits = [f for f in found if f.id == "initrd-unreadable"]
    assert [h.severity for h in hits] == [WARNING, INFO]
    assert "cannot list without mounting" in hits[0].message and "(ext2)" in hits[0].message
    assert "zcat /boot/initrd-2.4.21-63.EL.img | cpio -t" in cli_fix(hits[0].remedy)
    assert "no reason recorded" in hits[1].message


def test_initrd_unreadable_not_raised():
    assert checks.check_initrd_unreadable(facts()) == []


def test_initrd_unreadable_not_raised_when_not_read():
    # detect --no-initrd leaves format and error unset: nothing failed
    k = kernel(initrd_virtio=None, initrd_error=None, initrd_format=None)
    assert checks.check_initrd_unreadable(facts(kernels=(k,))) == []


def test_initrd_unreadable_not_raised_without_image():
    k = kernel(initrd=None, initrd_virtio=None)
    assert checks.check_initrd_unreadable(facts(kernels=(k,))) == []


# ---- virtio-orig-initrd ----


def test_virtio_orig_initrd_raised_with_way_back():
    k = kernel(virtio_orig="/boot/initrd-2.6.18-92.el5.img.virtio.orig")
    f = only(check(facts(kernels=(k,))), "virtio-orig-initrd")
    assert f.severity == INFO
    assert "/boot/initrd-2.6.18-92.el5.img.virtio.orig" in f.message
    assert (
        "cp -p /boot/initrd-2.6.18-92.el5.img.virtio.orig /boot/initrd-2.6.18-92.el5.img"
        in cli_fix(f.remedy)
    )
    assert f.source == kn.SEED_ORIG


def test_virtio_orig_initrd_not_raised():
    assert checks.check_virtio_orig_initrd(facts()) == []


# ---- package-arch ----


RHEL3 = Distro(id="rhel", name="Red Hat Enterprise Linux ES", version="3.9")
RHEL3_KERNEL = "2.4.21-58.EL"


def rhel3(**kw) -> Facts:
    """A RHEL 3.9 guest: 2.4 kernel, listed by the guide as automatic."""
    kw.setdefault("distro", RHEL3)
    kw.setdefault("drivers_auto", True)
    kw.setdefault("kernels", (kernel(RHEL3_KERNEL),))
    return facts(**kw)


def test_package_arch_intel_choice_on_rhel3():
    cpu = Cpu(machine="x86_64", vendor="GenuineIntel", vendor_source="target", package_arch="ia32e")
    f = only(check(rhel3(cpu=cpu)), "package-arch")
    assert f.severity == INFO
    assert "ia32e" in f.message and "GenuineIntel" in f.message
    assert "ia32e for Intel 64, x86_64 for AMD64" in cli_fix(f.remedy)
    assert kn.SEED_CPU in f.source and kn.RHEL5_VIRT_GUIDE in f.source
    assert "host" not in f.message


def test_package_arch_amd_choice_with_host_vendor_on_rhel3():
    cpu = Cpu(machine="x86_64", vendor="AuthenticAMD", vendor_source="host", package_arch="x86_64")
    f = only(check(rhel3(cpu=cpu)), "package-arch")
    assert "x86_64" in f.message
    assert "read from this machine" in f.message and "not from the guest" in f.message


def test_package_arch_on_rhel3_names_the_installed_variant_first():
    cpu = Cpu(machine="x86_64", package_arch=None, kernel_variant="ia32e")
    f = only(check(rhel3(cpu=cpu)), "package-arch")
    assert "virtio package is ia32e" in f.message


def test_package_arch_on_rhel3_even_when_nothing_is_known():
    f = only(check(rhel3(cpu=Cpu())), "package-arch")
    assert "could not be chosen" in f.message
    assert "ia32e on Intel 64, x86_64 on AMD64" in cli_fix(f.remedy)


def test_package_arch_mismatch_on_rhel3_is_unresolved_symbol():
    cpu = Cpu(
        machine="x86_64",
        vendor="AuthenticAMD",
        package_arch="x86_64",
        kernel_variant="ia32e",
        kernel_variant_source="rpm -q kernel",
    )
    f = facts(cpu=cpu, distro=Distro(id="rhel", version="3.8"))
    finding = only(check(f), "package-arch")
    assert finding.severity == WARNING
    assert "Unresolved symbol" in finding.message
    assert "ia32e variant" in finding.message and "x86_64" in finding.message
    assert "built for the ia32e kernel variant" in cli_fix(finding.remedy)


@pytest.mark.parametrize(
    "distro",
    [
        Distro(id="rhel", version="4.8"),
        Distro(id="rhel", version="5.2"),
        Distro(id="centos", version="5.3"),
        Distro(id="debian", version="12", family="debian"),
        Distro(id="unknown"),
    ],
)
def test_package_arch_never_outside_rhel3(distro):
    """No per-vendor package exists there: no ia32e advice, not even on a mismatch."""
    intel = Cpu(machine="x86_64", vendor="GenuineIntel", package_arch="ia32e")
    mismatch = Cpu(
        machine="x86_64", vendor="GenuineIntel", package_arch="ia32e", kernel_variant="x86_64"
    )
    for cpu in (intel, mismatch):
        for auto in (True, False):
            found = check(facts(cpu=cpu, distro=distro, drivers_auto=auto))
            assert "package-arch" not in ids(found)
            assert not any("ia32e" in f.message + cli_fix(f.remedy) for f in found)


# ---- legacy-disk-names ----


def test_legacy_disk_names_lists_file_lines_and_swap():
    refs = (
        DiskRef("/etc/fstab", 1, "LABEL=/", "label", None, "fstab", "/"),
        DiskRef("/etc/fstab", 3, "/dev/hda3", "legacy", "/dev/vda3", "fstab", "swap"),
        DiskRef("/boot/grub/grub.conf", 15, "/dev/hda2", "legacy", "/dev/vda2", "grub-root"),
        DiskRef("/etc/fstab", 4, "/dev/hdb1", "legacy", "/dev/vdb1", "fstab", "/data", None, True),
    )
    f = only(check(facts(disk_refs=refs)), "legacy-disk-names")
    assert f.severity == WARNING
    assert "3 disk references" in f.message
    assert "/etc/fstab:3 /dev/hda3 -> /dev/vda3" in f.message
    assert "/boot/grub/grub.conf:15 /dev/hda2 -> /dev/vda2" in f.message
    assert "swap on /dev/hda3 is silently lost" in f.message
    assert "LABEL=/" not in f.message
    assert "guess" in cli_fix(f.remedy) and "/dev/hdb1" in cli_fix(f.remedy)
    assert "--fix-disk-names" in cli_fix(f.remedy)
    assert kn.SEED_SWAP in f.source


def test_legacy_disk_names_uuid_hint_and_no_swap_note():
    refs = (DiskRef("/etc/fstab", 2, "/dev/sda1", "legacy", "/dev/vda1", "fstab", "/", "ab-cd"),)
    f = only(check(facts(disk_refs=refs)), "legacy-disk-names")
    assert "1 disk reference must" in f.message
    assert "silently lost" not in f.message and "guess" not in cli_fix(f.remedy)
    assert "UUID=" in cli_fix(f.remedy)


def test_legacy_disk_names_lists_by_id_mapping_and_its_swap():
    qm = "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001"
    refs = (
        DiskRef("/etc/fstab", 1, f"{qm}-part1", "legacy", "/dev/vda1", "fstab", "swap", None, True),
        DiskRef("/boot/grub/menu.lst", 7, f"{qm}-part2", "legacy", "/dev/vda2", "grub-root"),
    )
    found = check(facts(disk_refs=refs))
    f = only(found, "legacy-disk-names")
    assert f"/etc/fstab:1 {qm}-part1 -> /dev/vda1" in f.message
    assert f"/boot/grub/menu.lst:7 {qm}-part2 -> /dev/vda2" in f.message
    assert f"swap on {qm}-part1 is silently lost" in f.message
    assert "disk-names-unmapped" not in ids(found)


def test_legacy_disk_names_not_raised():
    refs = (
        DiskRef("/etc/fstab", 1, "UUID=1234", "uuid", None, "fstab", "/"),
        DiskRef("/etc/fstab", 2, "/dev/vda2", "virtio", None, "fstab", "swap"),
    )
    assert checks.check_legacy_disk_names(facts(disk_refs=refs)) == []


# ---- disk-names-unmapped ----

WDC = "/dev/disk/by-id/ata-WDC_WD10EZEX-00BN5A0_WD-WCC3F1234567"
BY_PATH = "/dev/disk/by-path/pci-0000:00:01.1-scsi-0:0:1:0-part1"


def test_disk_names_unmapped_root_and_swap_without_uuid():
    refs = (
        DiskRef("/etc/fstab", 1, f"{WDC}-part2", "legacy", None, "fstab", "/"),
        DiskRef("/etc/fstab", 2, f"{WDC}-part1", "legacy", None, "fstab", "swap"),
        DiskRef("/etc/fstab", 3, "/dev/hda3", "legacy", "/dev/vda3", "fstab", "/srv"),
    )
    found = check(facts(disk_refs=refs))
    f = only(found, "disk-names-unmapped")
    assert f.severity == WARNING
    assert f.message.startswith("2 disk references name a disk by its emulated bus")
    assert f"/etc/fstab:1 {WDC}-part2; /etc/fstab:2 {WDC}-part1." in f.message
    assert "/dev/hda3" not in f.message
    assert "will not find its root file system and swap is silently lost" in f.message
    assert cli_fix(f.remedy) == (
        "Change them to UUID= or LABEL= (blkid shows them) before switching the disk to virtio."
    )
    # The mapped one is still reported where it belongs.
    assert "/dev/hda3 -> /dev/vda3" in only(found, "legacy-disk-names").message
    assert kn.SEED_SWAP in f.source


def test_disk_names_unmapped_one_by_path_with_uuid_and_device_map():
    refs = (
        DiskRef("/etc/fstab", 4, BY_PATH, "legacy", None, "fstab", "/srv", "0a1b-2c3d"),
        DiskRef("/boot/grub/device.map", 1, WDC, "legacy", None, "device.map"),
    )
    f = only(check(facts(disk_refs=refs)), "disk-names-unmapped")
    assert f.message.startswith("2 disk references")
    assert "root file system" not in f.message and "swap" not in f.message
    assert f"For {BY_PATH} the UUID is known: the wizard can write UUID= there." in cli_fix(
        f.remedy
    )
    assert f.remedy.options == (choose(use_uuid=True),)
    assert "/boot/grub/device.map name the virtio disk itself (/dev/vda)" in cli_fix(f.remedy)
    refs = (DiskRef("/boot/grub/menu.lst", 7, f"{WDC}-part2", "legacy", None, "grub-root"),)
    f = only(check(facts(disk_refs=refs)), "disk-names-unmapped")
    assert f.message.startswith("1 disk reference names a disk")
    assert "that name is gone: the guest will not find its root file system." in f.message


def test_disk_names_unmapped_not_raised():
    refs = (
        DiskRef("/etc/fstab", 1, "/dev/disk/by-id/virtio-0a1b-part1", "virtio", None, "fstab", "/"),
        DiskRef("/etc/fstab", 2, "/dev/disk/by-id/usb-Kingston-0:0-part1", "other", None, "fstab"),
        DiskRef("/etc/fstab", 3, "/dev/hda3", "legacy", "/dev/vda3", "fstab", "swap"),
        DiskRef("/etc/fstab", 4, "UUID=0a1b", "uuid", None, "fstab", "/data"),
    )
    assert checks.check_disk_names_unmapped(facts(disk_refs=refs)) == []


# ---- module-order ----


def _mlist(path, *names, start=10):
    return ModuleList(
        path, "modprobe", tuple(ModuleListEntry(start + i, n) for i, n in enumerate(names))
    )


def test_module_order_names_file_and_line():
    bad = _mlist("/etc/rc.d/rc.sysinit", "virtio", "virtio_pci", "virtio_ring", "virtio_blk")
    swapped = _mlist("/etc/rc.modules", "virtio", "virtio_ring", "virtio_net", "virtio_blk")
    found = check(rhel3(module_lists=(bad, swapped)))
    f = only(found, "module-order")
    assert f.severity == WARNING  # a 2.4 kernel: the order is a hard rule
    assert f.message.startswith("/etc/rc.d/rc.sysinit line 12 loads virtio_ring after virtio_pci")
    assert "(line 11)" in f.message and "will not work" in f.message
    assert "virtio, virtio_ring, virtio_blk, virtio_pci" in cli_fix(f.remedy)
    assert f.source == kn.SEED_ORDER


def test_module_order_is_a_note_on_26_kernels():
    """On 2.6+ modprobe resolves dependencies: the list works (issue 14)."""
    bad = _mlist("/etc/modules", "virtio_pci", "virtio_blk", start=1)
    f = only(check(facts(module_lists=(bad,))), "module-order")
    assert f.severity == INFO
    assert "still works" in f.message and "will not work" not in f.message


def test_module_order_one_finding_per_file_and_dash_names():
    a = _mlist("/etc/modules", "e1000", "virtio-pci", "virtio", start=1)
    b = _mlist("/etc/modules-load.d/virtio.conf", "virtio_net", "virtio_ring", start=1)
    found = checks.check_module_order(facts(module_lists=(a, b)))
    assert [f.message.split()[0] for f in found] == [
        "/etc/modules",
        "/etc/modules-load.d/virtio.conf",
    ]
    assert "line 3 loads virtio after virtio_pci (line 2)" in found[0].message
    assert "line 2 loads virtio_ring after virtio_net (line 1)" in found[1].message


def test_module_order_not_raised():
    ok = _mlist("/etc/rc.d/rc.sysinit", *kn.SEED_MODULES)
    swapped = _mlist("/etc/rc.modules", "virtio", "virtio_ring", "virtio_net", "virtio_blk")
    assert checks.check_module_order(facts(module_lists=(ok, swapped, _mlist("/x")))) == []


# ---- sysinit-hook-missing ----


def test_sysinit_hook_missing_rhel5_recommends_sysconfig_modules():
    f = only(check(facts(sysinit=Sysinit(hook_line=None))), "sysinit-hook-missing")
    assert f.severity == WARNING
    assert "/etc/rc.d/rc.sysinit" in f.message and "/etc/rc.modules" in f.message
    assert kn.SYSCONFIG_MODULES in cli_fix(f.remedy)
    assert f.source == kn.SEED_SYSINIT


def test_sysinit_hook_missing_rhel4_recommends_initrd():
    f = facts(sysinit=Sysinit(hook_line=None), distro=Distro(id="centos", version="4.8"))
    assert "initrd method" in only(check(f), "sysinit-hook-missing").remedy.advice


def test_sysinit_hook_missing_not_raised():
    assert checks.check_sysinit_hook_missing(facts(sysinit=Sysinit(hook_line=355))) == []
    assert checks.check_sysinit_hook_missing(facts(sysinit=None)) == []


# ---- pci-slots ----


def _devices(slots, functions=1):
    return tuple(
        PciDevice(f"0000:00:{s:02x}.{fn}", "0x1af4", "0x1001", "virtio-blk")
        for s in range(slots)
        for fn in range(functions)
    )


def test_pci_slots_warns_near_the_limit_counting_slots_not_functions():
    f = only(check(facts(devices=_devices(kn.PCI_SLOTS_WARN, functions=2))), "pci-slots")
    assert f.severity == WARNING
    assert f"{kn.PCI_SLOTS_WARN} of the guest's 32 PCI slots" in f.message
    assert "28 free" in f.message and "8 left" in f.message
    assert "224" in cli_fix(f.remedy) and "multifunction" in cli_fix(f.remedy)
    assert f.source == kn.SEED_PCI


def test_pci_slots_error_when_full():
    f = only(check(facts(devices=_devices(32))), "pci-slots")
    assert f.severity == ERROR and "0 left" in f.message


def test_pci_slots_not_raised_below_threshold_even_with_many_functions():
    devices = _devices(kn.PCI_SLOTS_WARN - 1, functions=8)
    assert len(devices) > 100
    assert checks.check_pci_slots(facts(devices=devices)) == []


# ---- gso-tso ----


@pytest.mark.parametrize(
    "extra",
    [
        {"devices": (PciDevice("0000:00:03.0", "0x1af4", "0x1041", "virtio-net"),)},
        {"devices": (PciDevice("0000:00:03.0", "0x8086", "0x100e", "e1000"),)},
        {"loaded_modules": ("virtio_net", "virtio")},
        {"virtio_bus_drivers": ("virtio_net",)},
    ],
)
def test_gso_tso_raised_with_host_commands(extra):
    f = only(check(facts(**extra)), "gso-tso")
    assert f.severity == INFO
    assert "HOST" in cli_fix(f.remedy) and "not in this guest" in cli_fix(f.remedy)
    for command in kn.GSO_TSO_COMMANDS:
        assert command in cli_fix(f.remedy)
    assert f.source.startswith(kn.SEED_NET)
    # A troubleshooting step, not a recommendation (issue 14).
    assert f.message.startswith("Troubleshooting only")
    assert "usually lowers throughput" in f.message
    assert "Only if throughput is low" in cli_fix(f.remedy) and "turn them back on" in cli_fix(
        f.remedy
    )


def test_gso_tso_not_raised_without_network_evidence():
    blk = (PciDevice("0000:00:04.0", "0x1af4", "0x1001", "virtio-blk"),)
    assert checks.check_gso_tso(facts(devices=blk, loaded_modules=("virtio_blk",))) == []


# ---- unreadable-file ----


def test_unreadable_file_one_per_file():
    f = facts(
        unreadable=(
            Unreadable("/etc/fstab", "not a regular file"),
            Unreadable("/etc/my file", "larger than 8388608 bytes"),
        )
    )
    found = [x for x in check(f) if x.id == "unreadable-file"]
    assert len(found) == 2
    assert found[0].message.startswith("/etc/fstab could not be used (not a regular file)")
    assert "ls -l '/etc/my file'" in cli_fix(found[1].remedy)
    assert all(x.severity == WARNING for x in found)


def test_unreadable_file_not_raised():
    assert checks.check_unreadable_files(facts()) == []


# ---- facts JSON round trip still checks the same ----


def test_findings_survive_facts_json_round_trip():
    f = facts(
        kernels=(kernel(initrd_virtio=(), virtio_orig="/boot/x.virtio.orig"),),
        disk_refs=(DiskRef("/etc/fstab", 3, "/dev/hda3", "legacy", "/dev/vda3", "fstab", "swap"),),
        module_lists=(_mlist("/etc/rc.modules", "virtio_pci", "virtio"),),
    )
    assert check(Facts.from_dict(f.to_dict())) == check(f)
