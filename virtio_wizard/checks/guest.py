"""Checks on the guest as a whole.

Not Linux, drivers the release loads by itself, the RHEL 3 package for the
CPU, and the files detection could not read.
"""

from __future__ import annotations

import shlex

from .. import knowledge as kn
from ..facts import Facts
from ..finding import ERROR, INFO, WARNING, Finding, Remedy, choose
from .common import DETECTION_SOURCE, missing_modules

__all__ = [
    "WINDOWS_SOURCE",
    "check_not_linux",
    "not_linux_parts",
    "check_drivers_automatic",
    "check_package_arch",
    "check_unreadable_files",
]


#: KNOWLEDGE.md section 7: Windows guests use virtio-win, out of this wizard's scope.
WINDOWS_SOURCE = kn.SEED + " (Windows guests: virtio package for Windows)"


def check_not_linux(facts: Facts) -> list[Finding]:
    """A Windows (or otherwise non-Linux) root: say so and stop there.

    Detection's sentence is the message; the fix depends on whether it is a
    Windows disk (virtio-win, out of scope) or simply the wrong folder.
    """
    if not facts.not_linux:
        return []
    message, remedy, source = not_linux_parts(facts.not_linux)
    return [Finding("not-linux", ERROR, message, remedy, source)]


def not_linux_parts(sentence: str) -> tuple[str, Remedy, str]:
    """(message, remedy, source) for detection's not-Linux sentence, for detect and plan.

    Windows is spoken of only when detection found Windows; an empty or
    unrelated folder is plainly no Linux guest. One full stop at the end.
    """
    message = sentence.strip().rstrip(".") + "."
    if "windows" in message.lower():
        fix = (
            "Windows guests use the virtio-win drivers (viostor for disks, NetKVM for network), "
            "installed inside Windows; virtio-wizard handles Linux guests only."
        )
        return message, Remedy(fix), WINDOWS_SOURCE
    fix = (
        "Point the wizard at the folder where the Linux guest's root file system is mounted "
        "(the one holding /etc, /boot and /lib)."
    )
    return message, Remedy(fix, (choose(root=""),)), DETECTION_SOURCE


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
            Remedy(
                "Still confirm before switching the devices to virtio: the kernel you boot has the "
                "modules, its initrd holds virtio_blk, and disks are named /dev/vd* "
                "(the other findings say which of these needs work)."
            ),
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
    if kernel is None or missing_modules(kernel):
        return []
    return [
        Finding(
            "drivers-automatic",
            INFO,
            f"Kernel {kernel.version} has the five virtio modules: on RHEL 3 they come from the "
            "separately installed virtio package (the 2.4 kernel itself has no virtio), which "
            "is installed here.",
            Remedy(
                "Still confirm before switching the devices to virtio: the initrd or rc.sysinit "
                "loads them in order and disks are named /dev/vd* (the other findings say which "
                "of these needs work)."
            ),
            kn.SEED_AUTO + "; " + kn.SEED + " (11.1, RHEL 3.9 guests)",
        )
    ]


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
                Remedy(
                    f"Install the virtio package built for the {variant} kernel variant (or a "
                    f"kernel of the {choice} variant with its package); {why}."
                ),
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
                Remedy(kn.package_fix(None)[0].upper() + kn.package_fix(None)[1:] + f"; {why}."),
                source,
            )
        ]
    known = f" (installed kernel variant {variant})" if variant else ""
    return [
        Finding(
            "package-arch",
            INFO,
            f"For this {vendor} {machine} CPU{where} the virtio package is {pick}{known}.",
            Remedy(
                f"Use the {pick} package whenever the virtio package is installed or updated; "
                f"{why}."
            ),
            source,
        )
    ]


def check_unreadable_files(facts: Facts) -> list[Finding]:
    """One finding per guest file detection had to skip."""
    return [
        Finding(
            "unreadable-file",
            WARNING,
            f"{u.path} could not be used ({u.reason}), so detection went on without it.",
            Remedy(
                f"Look at it by hand ({shlex.join(['ls', '-l', u.path])}); findings that depend on "
                "it may be incomplete."
            ),
            DETECTION_SOURCE,
        )
        for u in facts.unreadable
    ]
