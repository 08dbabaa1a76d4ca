"""Facts -> Findings: what the detected guest means for the user.

Every check is a small pure function of :class:`~virtio_wizard.facts.Facts`
returning a list of :class:`~virtio_wizard.finding.Finding`, so the tests build
Facts by hand (as packaging's marker tests pass plain environments) and the
TUI, ``detect`` and the report show the very same words. The rules come from
:mod:`virtio_wizard.knowledge`, each finding names its source, and the ids are
stable (``FINDING_IDS``, documented in ``docs/findings.md``) so a support
ticket can quote them.

The checks live by concern: ``guest`` (the system as a whole), ``kernels``
(modules and initrds), ``disks`` (names), ``loading`` (module lists and the
sysinit hook), ``migration`` (what Xen and kudzu leave behind) and
``devices`` (PCI slots, GSO/TSO), ``multipath`` (maps virtio-blk loses).
This module runs them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable

from ..facts import Facts
from ..finding import ERROR, INFO, WARNING, Finding
from .devices import check_gso_tso, check_pci_slots
from .disks import check_disk_names_unmapped, check_legacy_disk_names
from .guest import (
    check_drivers_automatic,
    check_not_linux,
    check_package_arch,
    check_unreadable_files,
    not_linux_parts,
)
from .kernels import (
    check_initrd_missing_virtio,
    check_initrd_unreadable,
    check_kernel_no_virtio,
    check_modules_dep,
    check_virtio_orig_initrd,
)
from .loading import check_module_order, check_sysinit_hook_missing
from .migration import check_network_continuity, check_xen_leftovers
from .multipath import check_multipath

__all__ = [
    "FINDING_IDS",
    "CHECKS",
    "check",
    "sort_findings",
    "not_linux_parts",
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
    "multipath-on-virtio": "Mounts (or the root's LVM volumes) are on multipath maps, which a "
    "virtio-blk disk without a serial does not get.",
}

_SEVERITY_RANK = {ERROR: 0, WARNING: 1, INFO: 2}


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Errors first, then warnings, then notes; by id within a severity.

    The sort is stable, so several findings of one id keep detection's order
    (file order for ``unreadable-file``, kernel order for per-kernel ones).
    """
    return sorted(findings, key=lambda f: (_SEVERITY_RANK.get(f.severity, 3), f.id))


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
    check_multipath,
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
