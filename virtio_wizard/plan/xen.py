"""Xen leftovers the plan fixes: DEFAULTKERNEL=kernel-xen, and Xen kernels it refuses.

A guest that came from Xen keeps ``DEFAULTKERNEL=kernel-xen`` in
``/etc/sysconfig/kernel``: the next kernel update then installs a Xen kernel
and makes it grub's default, which does not boot on KVM. virt-v2v sets it to
the kernel it chose (RHBZ#1176801); the wizard resets it to ``kernel`` when a
non-Xen kernel is installed. Xen paravirtual kernels never get virtio: a plan
for one is refused, naming the kernels that can be prepared.
"""

from __future__ import annotations

import re

from .. import knowledge as K
from ..facts import Facts, Kernel
from ..finding import ERROR, INFO, Finding, Remedy, choose
from .edits import Workspace, split_lines
from .model import Choices

__all__ = ["plan_defaultkernel", "refuse_xen_kernel", "SYSCONFIG_KERNEL"]

SYSCONFIG_KERNEL = "/etc/sysconfig/kernel"
SOURCE = K.VIRT_V2V + " (configure_kernel: DEFAULTKERNEL, RHBZ#1176801)"
_LINE_RE = re.compile(r"^(\s*DEFAULTKERNEL\s*=\s*)([\"']?)kernel-xen\2(\s*)$")


def refuse_xen_kernel(facts: Facts, kernel: Kernel) -> list[Finding]:
    """A Xen kernel is never prepared: refuse, naming the ones that can be."""
    if not K.is_xen_kernel(kernel.version):
        return []
    plain = [k.version for k in facts.kernels if not K.is_xen_kernel(k.version)]
    fix = (
        Remedy(
            f"Prepare a non-Xen kernel: {plain[0]}"
            + (f" (also: {', '.join(plain[1:])})" if plain[1:] else "")
            + ".",
            (choose(kernel=plain[0]),),
        )
        if plain
        else Remedy("Install the distribution's non-Xen kernel package, then plan again.")
    )
    return [
        Finding(
            "kernel-xen",
            ERROR,
            f"Kernel {kernel.version} is a Xen paravirtual kernel: it runs only on Xen and never "
            "gets virtio.",
            fix,
            K.VIRT_V2V + " (Xen PV-only kernels are skipped)",
        )
    ]


def needed_files(facts: Facts, choices: Choices) -> list[str]:
    """The file that says DEFAULTKERNEL=kernel-xen, which the plan resets."""
    pkg = facts.continuity.default_kernel_pkg
    return [pkg.file] if pkg is not None and pkg.value == "kernel-xen" else []


def plan_defaultkernel(facts: Facts, kernel: Kernel, ws: Workspace) -> list[Finding]:
    """``DEFAULTKERNEL=kernel-xen`` becomes ``kernel`` where a non-Xen kernel is installed."""
    pkg = facts.continuity.default_kernel_pkg
    if pkg is None or pkg.value != "kernel-xen" or K.is_xen_kernel(kernel.version):
        return []
    text = ws.text(SYSCONFIG_KERNEL)
    if text is None:
        return []
    lines = split_lines(text)
    changed = False
    for i, raw in enumerate(lines):
        body = raw.rstrip("\r\n")
        m = _LINE_RE.match(body)
        if m:
            lines[i] = f"{m.group(1)}{m.group(2)}kernel{m.group(2)}{m.group(3)}" + raw[len(body) :]
            changed = True
    if not changed:
        return []
    ws.set(
        SYSCONFIG_KERNEL,
        "".join(lines),
        "DEFAULTKERNEL=kernel: the next kernel update installs a non-Xen kernel and makes it "
        "the default, not a Xen one",
    )
    return [
        Finding(
            "defaultkernel-reset",
            INFO,
            f"{SYSCONFIG_KERNEL} said DEFAULTKERNEL=kernel-xen; the plan sets it to kernel. "
            f"The kernel prepared now is {kernel.version}; grub's default entry decides what "
            "boots next until the next kernel update, which will then boot a non-Xen kernel.",
            Remedy(
                f"Check that grub's default entry is {kernel.version} (not a Xen kernel) before "
                "switching to virtio."
            ),
            SOURCE,
        )
    ]
