"""Facts -> Findings: what the detected guest means for the user.

Every check is a small pure function of :class:`~virtio_wizard.facts.Facts`
returning a list of :class:`~virtio_wizard.finding.Finding`, so the tests build
Facts by hand (as packaging's marker tests pass plain environments) and the
TUI, ``detect`` and the report show the very same words. The rules come from
:mod:`virtio_wizard.knowledge`, each finding names its source, and the ids are
stable (``FINDING_IDS``, documented in ``docs/findings.md``) so a support
ticket can quote them.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Callable, Optional

from . import knowledge as kn
from .facts import MODULE, Facts, Kernel, ModuleList
from .finding import ERROR, INFO, WARNING, Finding

__all__ = [
    "FINDING_IDS",
    "check",
    "sort_findings",
    "check_not_linux",
    "check_drivers_automatic",
    "check_kernel_no_virtio",
    "check_initrd_missing_virtio",
    "check_initrd_unreadable",
    "check_virtio_orig_initrd",
    "check_package_arch",
    "check_modules_dep",
    "check_network_continuity",
    "check_xen_leftovers",
    "check_legacy_disk_names",
    "check_disk_names_unmapped",
    "check_module_order",
    "check_sysinit_hook_missing",
    "check_pci_slots",
    "check_gso_tso",
    "check_unreadable_files",
]

#: Stable finding id -> one line saying what it means (docs/findings.md).
FINDING_IDS: dict[str, str] = {
    "not-linux": "The root is not a Linux guest (e.g. Windows): virtio-win is out of scope.",
    "drivers-automatic": "The release loads the virtio drivers by itself; confirm only.",
    "kernel-no-virtio": "The default kernel lacks one of the five virtio modules.",
    "initrd-missing-virtio": "The default kernel's initrd lacks virtio block modules (host-only).",
    "initrd-unreadable": "An initrd image exists but its contents could not be read.",
    "virtio-orig-initrd": "A .virtio.orig initrd shows the virtio package replaced the initrd.",
    "kudzu-first-boot": "kudzu (RHEL 3-5) would reconfigure or disable eth0 when it sees the "
    "virtio NIC at first boot.",
    "mac-pinned": "HWADDR= or 70-persistent-net.rules pin the interface to a MAC the virtio NIC "
    "must keep.",
    "xen-console": "Xen consoles (xvc0/hvc0) in inittab, securetty or grub: no login there on KVM.",
    "xen-kernel": "Xen paravirtual kernels are installed: they never get virtio and are left out.",
    "defaultkernel-xen": "DEFAULTKERNEL=kernel-xen: the next kernel update boots a Xen kernel "
    "again.",
    "modules-dep-missing": "Virtio module files exist but modules.dep does not list them: "
    "modprobe cannot load them until depmod runs.",
    "package-arch": "RHEL 3 only: which virtio package fits the kernel variant (ia32e/x86_64).",
    "legacy-disk-names": "Guest files name disks /dev/hdX, /dev/sdX or by bus (by-id ata-...) "
    "that become /dev/vdX.",
    "disk-names-unmapped": "Guest files name disks by a bus-specific name virtio lacks, "
    "with no /dev/vdX to put instead.",
    "module-order": "A module list loads the virtio modules out of the guide's order "
    "(warning on 2.4 kernels, a note on 2.6+ where it still works).",
    "sysinit-hook-missing": "rc.sysinit has no /etc/rc.modules block for Red Hat's edit.",
    "pci-slots": "The guest's PCI slots are close to the 28 free ones.",
    "gso-tso": "Troubleshooting a slow virtio network on an old host: GSO/TSO off, then measure.",
    "unreadable-file": "A guest file could not be used; detection went on without it.",
}

#: Source for findings about detection itself (no domain rule behind them).
DETECTION_SOURCE = "virtio-wizard detection (guest files are read bounded, regular files only)"
#: KNOWLEDGE.md section 7: Windows guests use virtio-win, out of this wizard's scope.
WINDOWS_SOURCE = kn.SEED + " (Windows guests: virtio package for Windows)"

_SEVERITY_RANK = {ERROR: 0, WARNING: 1, INFO: 2}
#: How a boot without the virtio block driver in the initrd ends, per tool:
#: what the user sees on the console is what they will search for.
_HOST_ONLY_SYMPTOMS = {
    "dracut": "`dracut-initqueue timeout` and an emergency shell",
    "initramfs-tools": "`ALERT! /dev/vda does not exist. Dropping to a shell!`",
    "mkinitcpio": "`ERROR: device '/dev/vda' not found`",
}
_PANIC_SYMPTOM = "`VFS: Unable to mount root fs` (a kernel panic)"


def _host_only_symptom(tool: Optional[str]) -> str:
    """The console line a host-only initrd ends in, for this initrd tool."""
    if tool is None:
        return " / ".join([*_HOST_ONLY_SYMPTOMS.values(), _PANIC_SYMPTOM])
    return _HOST_ONLY_SYMPTOMS.get(tool, _PANIC_SYMPTOM)


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Errors first, then warnings, then notes; by id within a severity.

    The sort is stable, so several findings of one id keep detection's order
    (file order for ``unreadable-file``, kernel order for per-kernel ones).
    """
    return sorted(findings, key=lambda f: (_SEVERITY_RANK.get(f.severity, 3), f.id))


def _names(modules: Sequence[str]) -> str:
    return ", ".join(modules)


# ---- the guest itself ---------------------------------------------------------


def check_not_linux(facts: Facts) -> list[Finding]:
    """A Windows (or otherwise non-Linux) root: say so and stop there.

    Detection's sentence is the message; the fix depends on whether it is a
    Windows disk (virtio-win, out of scope) or simply the wrong folder.
    """
    if not facts.not_linux:
        return []
    message, fix, source = not_linux_parts(facts.not_linux)
    return [Finding("not-linux", ERROR, message, fix, source)]


def not_linux_parts(sentence: str) -> tuple[str, str, str]:
    """(message, fix, source) for detection's not-Linux sentence, for detect and plan.

    Windows is spoken of only when detection found Windows; an empty or
    unrelated folder is plainly no Linux guest. One full stop at the end.
    """
    message = sentence.strip().rstrip(".") + "."
    if "windows" in message.lower():
        fix = (
            "Windows guests use the virtio-win drivers (viostor for disks, NetKVM for network), "
            "installed inside Windows; virtio-wizard handles Linux guests only."
        )
        return message, fix, WINDOWS_SOURCE
    fix = (
        "Give --root the folder where the Linux guest's root file system is mounted "
        "(the one holding /etc, /boot and /lib)."
    )
    return message, fix, DETECTION_SOURCE


def check_drivers_automatic(facts: Facts) -> list[Finding]:
    """The guide's list of releases that load the drivers by themselves."""
    if not facts.drivers_auto:
        return []
    reason = f" ({facts.drivers_auto_reason})" if facts.drivers_auto_reason else ""
    if kn.drivers_from_package(facts.distro.id, facts.distro.version):
        return _rhel3_package_installed(facts)
    return [
        Finding(
            "drivers-automatic",
            INFO,
            f"This release loads the virtio drivers by itself{reason}, so nothing needs "
            "installing.",
            "Still confirm before switching the devices to virtio: the kernel you boot has the "
            "modules, its initrd holds virtio_blk, and disks are named /dev/vd* "
            "(the other findings say which of these needs work).",
            kn.SEED_AUTO,
        )
    ]


def _rhel3_package_installed(facts: Facts) -> list[Finding]:
    """RHEL 3.9 is on the guide's list, but its 2.4 kernel has no virtio.

    The drivers load "by themselves" only once the virtio package is installed;
    say so when the default kernel has the modules, and leave the missing case
    to ``kernel-no-virtio`` (whose fix is the package).
    """
    kernel = facts.default_kernel()
    if kernel is None or _missing_modules(kernel):
        return []
    return [
        Finding(
            "drivers-automatic",
            INFO,
            f"Kernel {kernel.version} has the five virtio modules: on RHEL 3 they come from the "
            "separately installed virtio package (the 2.4 kernel itself has no virtio), which "
            "is installed here.",
            "Still confirm before switching the devices to virtio: the initrd or rc.sysinit "
            "loads them in order and disks are named /dev/vd* (the other findings say which "
            "of these needs work).",
            kn.SEED_AUTO + "; " + kn.SEED + " (11.1, RHEL 3.9 guests)",
        )
    ]


# ---- kernels and initrds -------------------------------------------------------


def _missing_modules(kernel: Kernel) -> list[str]:
    return [m for m in kn.SEED_MODULES if not kernel.supports(m)]


def check_kernel_no_virtio(facts: Facts) -> list[Finding]:
    """The default kernel lacks a module of the guide's list; name an installed kernel that has all.

    Error when no installed kernel has all five (the drivers must come from
    elsewhere), warning when booting another installed kernel is enough.
    """
    kernel = facts.default_kernel()
    if kernel is None:
        return []
    missing = _missing_modules(kernel)
    if not missing:
        return []
    good = [
        k.version
        for k in sorted(facts.kernels, key=lambda k: kn.kernel_sort_key(k.version), reverse=True)
        if k.version != kernel.version and not _missing_modules(k)
    ]
    usable = []
    if not any(m in missing for m in kn.BLOCK_MODULES):
        usable.append("block")
    if not any(m in missing for m in kn.NET_MODULES):
        usable.append("net")
    only = f" (only the {usable[0]} driver can work)" if len(usable) == 1 else ""
    which = "running" if kernel.version == facts.running_kernel else "newest"
    message = (
        f"The {which} kernel {kernel.version} lacks {_names(missing)} "
        f"(neither a module nor built in){only}."
    )
    if kn.drivers_from_package(facts.distro.id, facts.distro.version):
        # RHEL 3: the 2.4 kernel never has virtio; only the package brings it.
        variant = facts.cpu.kernel_variant or facts.cpu.package_arch
        fix = kn.package_fix(variant)
        fix = (
            fix[0].upper()
            + fix[1:]
            + ("; a package of another variant fails at boot with `Unresolved symbol`.")
        )
        if good:
            fix += f" Or boot installed kernel {good[0]}, which has them (--kernel {good[0]})."
        severity = WARNING if good else ERROR
        message = (
            f"The {which} kernel {kernel.version} lacks {_names(missing)}: on RHEL 3 the "
            "virtio modules come only from the separately installed virtio package, "
            "never from the 2.4 kernel."
        )
        return [
            Finding("kernel-no-virtio", severity, message, fix, kn.SEED + " (11.1); " + kn.SEED_CPU)
        ]
    if good:
        fix = (
            f"Boot installed kernel {good[0]}, which has all five virtio modules, and prepare "
            f"that one (--kernel {good[0]})."
        )
        severity = WARNING
    else:
        fix = (
            "No installed kernel has all five: install a kernel that has them (2.6.27 or "
            "newer; on RHEL 4 and 5 the kernel of update 4.8 or 5.3 and later)."
        )
        severity = ERROR
    return [Finding("kernel-no-virtio", severity, message, fix, kn.SEED)]


def _initrd_fix(facts: Facts, kernel: Kernel, modules: Sequence[str]) -> str:
    """The concrete way to put ``modules`` into this kernel's initrd, per tool."""
    image = kernel.initrd or f"/boot/initrd-{kernel.version}.img"
    kver = kernel.version
    tool = facts.initrd_tool
    mods = " ".join(modules)
    if tool == "dracut":
        return (
            f'Put add_drivers+=" {mods} " in {kn.DRACUT_DROPIN}, then run '
            f"{shlex.join(['dracut', '-f', image, kver])}."
        )
    if tool == "initramfs-tools":
        setting = facts.initrd_tool_config.get("MODULES")
        why = ""
        if setting in ("dep", "list"):
            why = (
                f" (initramfs.conf says MODULES={setting}, which takes only what this machine "
                "needs now; MODULES=most would include them)"
            )
        return (
            f"Add {mods} to {kn.INITRAMFS_TOOLS_MODULES}, one per line{why}, then run "
            f"{shlex.join(['update-initramfs', '-u', '-k', kver])}."
        )
    if tool == "mkinitcpio":
        return f"Add {mods} to MODULES=(...) in {kn.MKINITCPIO_DROPIN}, then run mkinitcpio -P."
    if tool == "suse-mkinitrd":
        return (
            f'Add {mods} to INITRD_MODULES="..." in {kn.SUSE_SYSCONFIG_KERNEL}, then run '
            f"{shlex.join(['mkinitrd', '-k', 'vmlinuz-' + kver, '-i', 'initrd-' + kver])}."
        )
    argv = ["mkinitrd", "-f", *[f"--with={m}" for m in kn.SEED_MODULES], image, kver]
    return f"Rebuild it with the guide's modules: {shlex.join(argv)}."


def _initrd_source(facts: Facts) -> str:
    tool = kn.INITRD_TOOLS.get(facts.initrd_tool or "")
    extra = f"; {tool['source']}" if tool else ""
    return kn.SEED_INITRD + extra


def check_initrd_missing_virtio(facts: Facts) -> list[Finding]:
    """The host-only trap: the kernel has virtio_blk as a module, its initrd does not.

    Only modules (not built-ins) must be in the initrd, and only a readable
    image is judged; an unreadable one is ``initrd-unreadable``.
    """
    kernel = facts.default_kernel()
    if kernel is None or kernel.initrd is None or kernel.initrd_virtio is None:
        return []
    need = [m for m in kn.BLOCK_MODULES if kernel.virtio.get(m) == MODULE]
    if kernel.virtio_scsi == MODULE:
        need.append("virtio_scsi")
    inside = {kn.canonical_module(m) for m in kernel.initrd_virtio}
    absent = [m for m in need if m not in inside]
    if "virtio_blk" not in absent:
        # Without virtio_blk missing the boot disk still comes up; other gaps
        # (virtio_scsi alone) are not this trap.
        return []
    message = (
        f"The initrd {kernel.initrd} of kernel {kernel.version} lacks {_names(absent)} although "
        "the kernel has them as modules (a host-only image): with the disk on virtio the boot "
        f"ends in {_host_only_symptom(facts.initrd_tool)}."
    )
    return [
        Finding(
            "initrd-missing-virtio",
            WARNING,
            message,
            _initrd_fix(facts, kernel, absent),
            _initrd_source(facts),
        )
    ]


def check_initrd_unreadable(facts: Facts) -> list[Finding]:
    """An initrd exists but reading it failed: say why and how to look by hand.

    An image that was not read at all (``detect --no-initrd``: no format and
    no error recorded) is not a failure and is not reported. A warning for
    the default kernel (its initrd decides the next boot), a note for the
    others.
    """
    default = facts.default_kernel()
    out = []
    for kernel in facts.kernels:
        if kernel.initrd is None or kernel.initrd_virtio is not None:
            continue
        if kernel.initrd_error is None and kernel.initrd_format is None:
            # Not read at all (detect --no-initrd): nothing failed, nothing to say.
            continue
        why = kernel.initrd_error or "no reason recorded"
        fmt = f" ({kernel.initrd_format})" if kernel.initrd_format else ""
        tool = kn.INITRD_TOOLS.get(facts.initrd_tool or "")
        lister = (tool["list"] if tool else "zcat IMAGE | cpio -t").replace(
            "IMAGE", shlex.quote(kernel.initrd)
        )
        severity = WARNING if default is not None and kernel.version == default.version else INFO
        out.append(
            Finding(
                "initrd-unreadable",
                severity,
                f"The initrd {kernel.initrd}{fmt} of kernel {kernel.version} could not be "
                f"read: {why}.",
                f"List it by hand to see whether it holds virtio_blk ({lister}); when in doubt, "
                "rebuild it with the virtio modules before switching the disk.",
                kn.SEED_INITRD,
            )
        )
    return out


def check_virtio_orig_initrd(facts: Facts) -> list[Finding]:
    """The guide's package replaced an initrd and kept the original: a way back."""
    out = []
    for kernel in facts.kernels:
        if not kernel.virtio_orig:
            continue
        image = kernel.initrd or kernel.virtio_orig[: -len(".virtio.orig")]
        out.append(
            Finding(
                "virtio-orig-initrd",
                INFO,
                f"{kernel.virtio_orig} is present: the virtio driver package replaced the initrd "
                f"of kernel {kernel.version} and kept the original there.",
                f"The way back is {shlex.join(['cp', '-p', kernel.virtio_orig, image])}; to use "
                "another initrd, load the drivers from rc.sysinit or rebuild it with "
                "the virtio modules.",
                kn.SEED_ORIG,
            )
        )
    return out


def check_modules_dep(facts: Facts) -> list[Finding]:
    """Module files modprobe cannot find: ``modules.dep`` does not list them.

    A file alone is not "has the module": modprobe (and nash mkinitrd) find
    modules through ``modules.dep``, so a package installed without depmod
    makes the sysinit lines fail silently and mkinitrd miss them. One finding
    per kernel; a warning for the default kernel, a note for the others.
    """
    default = facts.default_kernel()
    out = []
    for kernel in facts.kernels:
        if not kernel.virtio_unlisted:
            continue
        is_default = default is not None and kernel.version == default.version
        argv = ["depmod", "-a", kernel.version]
        out.append(
            Finding(
                "modules-dep-missing",
                WARNING if is_default else INFO,
                f"Kernel {kernel.version} has module files for "
                f"{_names(kernel.virtio_unlisted)}, but its modules.dep does not list them: "
                "modprobe cannot load them (the sysinit lines would fail silently and "
                "mkinitrd would not find them).",
                f"Run {shlex.join(argv)} in the guest; the plan does it before anything "
                "loads or packs the modules, where the guest can run commands.",
                "modprobe(8), depmod(8), modules.dep(5)",
            )
        )
    return out


# ---- network continuity and Xen leftovers (virt-v2v) -----------------------------


def check_network_continuity(facts: Facts) -> list[Finding]:
    """kudzu at first boot, and interfaces pinned to a MAC (virt-v2v; issue 14).

    kudzu is not changed by the wizard: disabling a service is a runlevel
    link, outside the file edits that apply journals and undo restores; the
    finding gives the exact commands instead.
    """
    c = facts.continuity
    out = []
    if c.kudzu:
        out.append(
            Finding(
                "kudzu-first-boot",
                WARNING,
                "kudzu is enabled: at the first boot with the virtio NIC it sees new hardware "
                "and asks at the console, reconfigures or disables eth0 (virt-v2v disables it).",
                "The wizard does not change services; before switching, run in the guest "
                "`chkconfig kudzu off` (turn it back on after the first good boot with "
                "`chkconfig kudzu on` if you want hardware detection).",
                kn.VIRT_V2V + " (unconfigure_kudzu)",
            )
        )
    if c.pinned_macs:
        pins = "; ".join(
            f"{p.file}:{p.line} {p.about + ' ' if p.about else ''}{p.value}" for p in c.pinned_macs
        )
        macs = ", ".join(kn.unique(p.value for p in c.pinned_macs))
        out.append(
            Finding(
                "mac-pinned",
                WARNING,
                f"The interface configuration is pinned to MAC {macs} ({pins}): a virtio NIC "
                "with another MAC comes up as a new, unconfigured interface (eth1).",
                f"Give the virtio NIC the same MAC ({macs}) in the VM definition: in libvirt, "
                "change only <model type='virtio'/> and keep the interface's <mac address=...>.",
                kn.VIRT_V2V + "; udev 70-persistent-net.rules; ifcfg HWADDR",
            )
        )
    return out


def check_xen_leftovers(facts: Facts) -> list[Finding]:
    """A guest that came from Xen: Xen kernels, DEFAULTKERNEL=kernel-xen, Xen consoles."""
    c = facts.continuity
    out = []
    xen = [k.version for k in facts.kernels if kn.is_xen_kernel(k.version)]
    plain = [k.version for k in facts.kernels if not kn.is_xen_kernel(k.version)]
    if xen:
        out.append(
            Finding(
                "xen-kernel",
                WARNING if not plain else INFO,
                f"Xen paravirtual kernel{'s' if len(xen) > 1 else ''} {', '.join(xen)}: "
                "they run only on Xen and never get virtio, so the wizard leaves them out.",
                (
                    f"Boot and prepare a non-Xen kernel ({', '.join(plain)})."
                    if plain
                    else "Install the distribution's non-Xen kernel package (kernel), then plan "
                    "again."
                ),
                kn.VIRT_V2V + " (Xen PV-only kernels are skipped)",
            )
        )
    pkg = c.default_kernel_pkg
    if pkg is not None and pkg.value == "kernel-xen":
        out.append(
            Finding(
                "defaultkernel-xen",
                WARNING,
                f"{pkg.file}:{pkg.line} says DEFAULTKERNEL=kernel-xen: the next kernel update "
                "installs a Xen kernel and makes it grub's default, which does not boot on KVM.",
                (
                    "The plan resets it to DEFAULTKERNEL=kernel (a non-Xen kernel is installed: "
                    f"{', '.join(plain)})."
                    if plain
                    else "Install the non-Xen kernel package first; then the plan resets it to "
                    "DEFAULTKERNEL=kernel."
                ),
                kn.VIRT_V2V + " (configure_kernel: DEFAULTKERNEL, RHBZ#1176801)",
            )
        )
    if c.xen_consoles:
        where = "; ".join(f"{x.file}:{x.line} {x.about}" for x in c.xen_consoles)
        out.append(
            Finding(
                "xen-console",
                WARNING,
                f"Xen console devices are configured ({where}): on KVM there is no xvc0, and "
                "hvc0 is only there with a virtio console, so these gettys and logins are dead.",
                "Change them to tty1 or ttyS0 (virt-v2v moves them to ttyS0) in /etc/inittab, "
                "/etc/securetty and the grub console= argument.",
                kn.VIRT_V2V + " (configure_console)",
            )
        )
    return out


# ---- CPU and package -----------------------------------------------------------


def _rhel_major(facts: Facts) -> Optional[int]:
    if facts.distro.id not in kn.RHEL_LIKE_IDS:
        return None
    parts = kn.version_tuple(facts.distro.version)
    return parts[0] if parts else None


def check_package_arch(facts: Facts) -> list[Finding]:
    """Which virtio package fits, on RHEL 3 guests and nowhere else.

    Only RHEL 3 gets its drivers from a separately installed package built per
    kernel variant (``ia32e`` on Intel 64, ``x86_64`` on AMD64; guide 11.1,
    RHEL 5 guide table 12.1); RHEL 4.8+ and every other distribution ship the
    modules in the kernel, so no package advice appears there. Raised on every
    RHEL 3 guest: a note naming the package, a warning when the guide's choice
    for the CPU and the installed kernel variant differ (``Unresolved symbol``).
    """
    if not kn.drivers_from_package(facts.distro.id, facts.distro.version):
        return []
    cpu = facts.cpu
    choice = cpu.package_arch
    variant = cpu.kernel_variant
    vendor = cpu.vendor or "unknown vendor"
    machine = cpu.machine or "unknown"
    where = ""
    if cpu.vendor_source == "host":
        where = (
            " (the vendor was read from this machine, the host running the wizard, "
            "not from the guest)"
        )
    source = f"{kn.SEED_CPU}; {kn.RHEL5_VIRT_GUIDE}"
    why = (
        "on RHEL 3 the drivers come from the virtio package, built for each kernel variant "
        "(ia32e for Intel 64, x86_64 for AMD64)"
    )
    if variant is not None and choice is not None and variant != choice:
        return [
            Finding(
                "package-arch",
                WARNING,
                f"The installed kernel is the {variant} variant while the guide's package for "
                f"this {vendor} {machine} CPU is {choice}{where}: a package that does not match "
                "the kernel variant fails at boot with `Unresolved symbol`.",
                f"Install the virtio package built for the {variant} kernel variant (or a kernel "
                f"of the {choice} variant with its package); {why}.",
                source,
            )
        ]
    pick = variant or choice
    if pick is None:
        return [
            Finding(
                "package-arch",
                INFO,
                f"The virtio package for this guest could not be chosen: the CPU vendor "
                f"({vendor}) and the installed kernel variant are unknown.",
                kn.package_fix(None)[0].upper() + kn.package_fix(None)[1:] + f"; {why}.",
                source,
            )
        ]
    known = f" (installed kernel variant {variant})" if variant else ""
    return [
        Finding(
            "package-arch",
            INFO,
            f"For this {vendor} {machine} CPU{where} the virtio package is {pick}{known}.",
            f"Use the {pick} package whenever the virtio package is installed or updated; {why}.",
            source,
        )
    ]


# ---- disk names ------------------------------------------------------------------


def check_legacy_disk_names(facts: Facts) -> list[Finding]:
    """References to /dev/hdX, /dev/sdX that must become /dev/vdX (the guide's swap issue)."""
    refs = [r for r in facts.disk_refs if r.proposed]
    if not refs:
        return []
    listed = "; ".join(f"{r.file}:{r.line} {r.device} -> {r.proposed}" for r in refs)
    swap = [
        r
        for r in refs
        if (r.mountpoint == "swap" or r.context in _RESUME_CONTEXTS)
        and r.device.startswith(("/dev/hd", "/dev/disk/"))
    ]
    swap_note = ""
    if swap:
        swap_note = (
            f"; swap on {', '.join(kn.unique(r.device for r in swap))} is silently lost after "
            "the switch"
        )
    guessed = kn.unique(r.device for r in refs if r.guessed)
    guess_note = ""
    if guessed:
        guess_note = (
            f" The new letters for {', '.join(guessed)} are a guess from the old order: check the "
            "order the hypervisor presents the disks in."
        )
    uuid_note = ""
    if any(r.uuid for r in refs):
        uuid_note = " Where a UUID is known, UUID= (--use-uuid) survives any renaming."
    return [
        Finding(
            "legacy-disk-names",
            WARNING,
            f"{len(refs)} disk reference{'s' if len(refs) != 1 else ''} must change for "
            f"virtio: {listed}{swap_note}.",
            "Let the wizard rewrite them (plan --fix-disk-names) or edit each line to the "
            f"/dev/vd* name shown.{guess_note}{uuid_note}",
            kn.SEED_SWAP + "; " + kn.VIRT_V2V,
        )
    ]


#: DiskRef contexts naming the root (kernel ``root=``) and the resume/swap device.
_ROOT_CONTEXTS = ("grub-root", "grub-kernel-root", "grub2-root", "bls-root")
_RESUME_CONTEXTS = (
    "swaps",
    "grub-resume",
    "grub2-resume",
    "bls-resume",
    "initramfs-resume",
    "dracut-conf",
)
#: What breaks when a reference that cannot be renamed is left as it is.
_LOST_ROOT = "the guest will not find its root file system"
_LOST_SWAP = "swap is silently lost"


def check_disk_names_unmapped(facts: Facts) -> list[Finding]:
    """Bus-specific names (by-id ata-/scsi-/wwn-, by-path) with no virtio name to put instead.

    A virtio disk has none of these links (at most ``by-id/virtio-<serial>``),
    so the reference dies with the switch; unless the name is QEMU's own IDE
    serial or a live link told the kernel name, the wizard cannot know which
    ``/dev/vdX`` it becomes, and only ``UUID=``/``LABEL=`` is safe.
    """
    refs = [r for r in facts.disk_refs if r.scheme == "legacy" and not r.proposed]
    if not refs:
        return []
    one = len(refs) == 1
    listed = "; ".join(f"{r.file}:{r.line} {r.device}" for r in refs)
    harm = []
    if any(r.mountpoint == "/" or r.context in _ROOT_CONTEXTS for r in refs):
        harm.append(_LOST_ROOT)
    if any(r.mountpoint == "swap" or r.context in _RESUME_CONTEXTS for r in refs):
        harm.append(_LOST_SWAP)
    harm_note = f": {' and '.join(harm)}" if harm else ""
    fix = "Change them to UUID= or LABEL= (blkid shows them) before switching the disk to virtio."
    known = kn.unique(r.device for r in refs if r.uuid)
    if known:
        fix += f" For {', '.join(known)} the UUID is known: plan --use-uuid writes UUID= there."
    if any(r.context == "device.map" for r in refs):
        fix += " In /boot/grub/device.map name the virtio disk itself (/dev/vda)."
    return [
        Finding(
            "disk-names-unmapped",
            WARNING,
            f"{len(refs)} disk reference{'' if one else 's'} {'names' if one else 'name'} a "
            "disk by its emulated bus, which virtio does not show, and no /dev/vd* name can be "
            f"told for {'it' if one else 'them'}: {listed}. After the switch "
            f"{'that name is' if one else 'those names are'} gone{harm_note}.",
            fix,
            kn.SEED_SWAP + "; " + kn.VIRT_V2V,
        )
    ]


# ---- module lists and the sysinit hook ----------------------------------------------

_RANK = {"virtio": 0, "virtio_ring": 1, "virtio_blk": 2, "virtio_net": 2, "virtio_pci": 3}


def _order_finding(mlist: ModuleList, strict: bool = True) -> Optional[Finding]:
    names = [e.module for e in mlist.entries]
    index = kn.order_violation(names)
    if index is None:
        return None
    entry = mlist.entries[index]
    bad = kn.canonical_module(entry.module)
    # The earlier entry it should have preceded: the first one ranked higher.
    before = next(
        e
        for e in mlist.entries[:index]
        if _RANK.get(kn.canonical_module(e.module), -1) > _RANK[bad]
    )
    ordered = [m for m in kn.SEED_MODULES if m in {kn.canonical_module(n) for n in names}]
    where = (
        f"{mlist.file} line {entry.line} loads {bad} after {kn.canonical_module(before.module)} "
        f"(line {before.line}), against the guide's order"
    )
    if not strict:
        return Finding(
            "module-order",
            INFO,
            f"{where}; on this 2.6+ kernel that still works (modprobe loads dependencies from "
            "modules.dep first and the driver core binds virtio drivers in any order).",
            "Nothing to do; the wizard keeps those lines and adds missing modules in order. "
            f"The guide's order ({', '.join(ordered)}) matters only on RHEL 3's 2.4 kernel.",
            kn.SEED_ORDER + "; modprobe(8)/modules.dep(5) on 2.6+",
        )
    return Finding(
        "module-order",
        WARNING,
        f"{where}; on this 2.4 kernel (the RHEL 3 virtio package) the drivers will not work.",
        f"Load them in this order: {', '.join(ordered)} (only virtio_blk and virtio_net may swap).",
        kn.SEED_ORDER,
    )


def check_module_order(facts: Facts) -> list[Finding]:
    """Each existing module list whose virtio modules break the guide's order.

    A warning where the order is a hard rule (2.4 kernels), a note elsewhere:
    ``knowledge.order_matters`` on the kernel that boots by default.
    """
    default = facts.default_kernel()
    strict = kn.order_matters(default.version if default is not None else None)
    out = []
    for mlist in facts.module_lists:
        finding = _order_finding(mlist, strict)
        if finding is not None:
            out.append(finding)
    return out


def check_sysinit_hook_missing(facts: Facts) -> list[Finding]:
    """rc.sysinit exists but lacks the ``if [ -f /etc/rc.modules ]`` block."""
    sysinit = facts.sysinit
    if sysinit is None or sysinit.hook_line is not None:
        return []
    major = _rhel_major(facts)
    if major is not None and major >= 5:
        alt = (
            f"use an executable {kn.SYSCONFIG_MODULES} instead (run by rc.sysinit on RHEL 5 "
            "and later)"
        )
    else:
        alt = "use the initrd method instead"
    return [
        Finding(
            "sysinit-hook-missing",
            WARNING,
            f"{sysinit.file} has no `if [ -f /etc/rc.modules ]` block, so the guide's edit has "
            f"no place to go and {kn.RC_MODULES} would never run.",
            f"Restore the block from the initscripts package or {alt}.",
            kn.SEED_SYSINIT,
        )
    ]


# ---- devices -----------------------------------------------------------------------


def _slot_key(slot: str) -> str:
    """``0000:00:03.1`` -> ``0000:00:03``: functions of one slot share it."""
    return slot.rsplit(".", 1)[0]


def check_pci_slots(facts: Facts) -> list[Finding]:
    """Distinct PCI slots in use, against the 28 free of the guest's 32 (the guide)."""
    used = len({_slot_key(d.slot) for d in facts.devices})
    if used < kn.PCI_SLOTS_WARN:
        return []
    left = max(kn.PCI_SLOTS_TOTAL - used, 0)
    severity = ERROR if left == 0 else WARNING
    total_functions = kn.PCI_SLOTS_FREE * kn.PCI_FUNCTIONS
    return [
        Finding(
            "pci-slots",
            severity,
            f"{used} of the guest's {kn.PCI_SLOTS_TOTAL} PCI slots are in use "
            f"({kn.PCI_SLOTS_FIXED} fixed, {kn.PCI_SLOTS_FREE} free for devices), {left} left.",
            "Add virtio devices as functions of one multifunction slot (8 functions per slot, "
            f"up to {total_functions} devices) or remove unused emulated devices first.",
            kn.SEED_PCI,
        )
    ]


def _net_relevant(facts: Facts) -> bool:
    if any(d.kind in ("virtio-net", "e1000", "rtl8139") for d in facts.devices):
        return True
    if "virtio_net" in (facts.loaded_modules or ()):
        return True
    return "virtio_net" in facts.virtio_bus_drivers


def check_gso_tso(facts: Facts) -> list[Finding]:
    """The guide's host-side ethtool commands, as a troubleshooting step only.

    They were a workaround for RHEL 5.4-era virtio-net; on current vhost-net
    hosts GSO/TSO off usually lowers throughput (KNOWLEDGE.md section 9), so the
    finding says when to try them and how to undo, not that they are needed.
    """
    if not _net_relevant(facts):
        return []
    return [
        Finding(
            "gso-tso",
            INFO,
            "Troubleshooting only, for a slow virtio network on an old host: the guide's advice "
            "to turn GSO and TSO off dates from RHEL 5.4-era virtio-net; on current hosts "
            "(vhost-net) turning them off usually lowers throughput, so leave them on unless "
            "you measure a slow network.",
            "Only if throughput is low: on the HOST, not in this guest, with IFACE the guest's "
            "tap or bridge interface, look first ("
            + kn.GSO_TSO_COMMANDS[0]
            + "), then try "
            + " and ".join(kn.GSO_TSO_COMMANDS[1:])
            + ", measure again, and turn them back on (gso on, tso on) if nothing improved.",
            kn.SEED_NET + "; " + kn.VIRT_V2V_NOTES,
        )
    ]


def check_unreadable_files(facts: Facts) -> list[Finding]:
    """One finding per guest file detection had to skip."""
    return [
        Finding(
            "unreadable-file",
            WARNING,
            f"{u.path} could not be used ({u.reason}), so detection went on without it.",
            f"Look at it by hand ({shlex.join(['ls', '-l', u.path])}); findings that depend on "
            "it may be incomplete.",
            DETECTION_SOURCE,
        )
        for u in facts.unreadable
    ]


#: Every check, in the order they run (the result is sorted afterwards).
CHECKS: tuple[Callable[[Facts], list[Finding]], ...] = (
    check_drivers_automatic,
    check_kernel_no_virtio,
    check_initrd_missing_virtio,
    check_initrd_unreadable,
    check_virtio_orig_initrd,
    check_package_arch,
    check_modules_dep,
    check_network_continuity,
    check_xen_leftovers,
    check_legacy_disk_names,
    check_disk_names_unmapped,
    check_module_order,
    check_sysinit_hook_missing,
    check_pci_slots,
    check_gso_tso,
)


def check(facts: Facts) -> list[Finding]:
    """All findings for these facts: errors, warnings, then notes; by id within each.

    A root that is not Linux gets only ``not-linux`` (and the files that could
    not be read): the Linux checks would only add noise there.
    """
    found = check_not_linux(facts) + check_unreadable_files(facts)
    if not facts.not_linux:
        for fn in CHECKS:
            found.extend(fn(facts))
    return sort_findings(found)
