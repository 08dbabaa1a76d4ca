"""Checks on how the drivers get loaded at boot.

Module lists out of the guide's order, and an ``rc.sysinit`` without the
``/etc/rc.modules`` block the guide's edit goes into.
"""

from __future__ import annotations

from typing import Optional

from .. import knowledge as kn
from ..facts import Facts, ModuleList
from ..finding import INFO, WARNING, Finding, Remedy
from .common import rhel_major

__all__ = ["check_module_order", "check_sysinit_hook_missing"]


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
            Remedy(
                "Nothing to do; the wizard keeps those lines and adds missing modules in order. "
                f"The guide's order ({', '.join(ordered)}) matters only on RHEL 3's 2.4 kernel."
            ),
            kn.SEED_ORDER + "; modprobe(8)/modules.dep(5) on 2.6+",
        )
    return Finding(
        "module-order",
        WARNING,
        f"{where}; on this 2.4 kernel (the RHEL 3 virtio package) the drivers will not work.",
        Remedy(
            f"Load them in this order: {', '.join(ordered)} (only virtio_blk and virtio_net "
            "may swap)."
        ),
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
    major = rhel_major(facts)
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
            Remedy(f"Restore the block from the initscripts package or {alt}."),
            kn.SEED_SYSINIT,
        )
    ]
