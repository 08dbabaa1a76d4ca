"""Which kernel a plan prepares, and which modules it loads there.

The guide's module list for the chosen drivers, minus what the kernel has
built in, never reordered; a kernel lacking a needed module is refused with
the name of an installed kernel that has them all.
"""

from __future__ import annotations

from typing import Optional

from .. import knowledge as K
from ..facts import BUILTIN, Facts, Kernel
from ..finding import ERROR, INFO, WARNING, Finding, Remedy, choose
from .model import Choices

__all__ = ["choose_kernel", "kernel_to_prepare", "modules_to_load", "other_boot_kernels"]


def kernel_to_prepare(facts: Facts, choices: Choices) -> Optional[Kernel]:
    """The kernel chosen (``--kernel``) or, by default, the one booted next; None when none."""
    if choices.kernel:
        return facts.kernel(choices.kernel)
    return facts.default_kernel()


def choose_kernel(facts: Facts, choices: Choices) -> tuple[Optional[Kernel], list[Finding]]:
    """The kernel to prepare, or None with the refusal that says why."""
    installed = ", ".join(k.version for k in facts.kernels) or "none"
    if choices.kernel:
        kernel = facts.kernel(choices.kernel)
        if kernel is None:
            return None, [
                Finding(
                    "kernel-unknown",
                    ERROR,
                    f"Kernel {choices.kernel} is not installed on this guest "
                    f"(installed: {installed}).",
                    Remedy("Choose one of the installed kernels.", (choose(kernel=""),)),
                )
            ]
        return kernel, []
    kernel = facts.default_kernel()
    if kernel is None:
        return None, [
            Finding(
                "kernel-none",
                ERROR,
                "No installed kernel was found on this guest (no /boot/vmlinuz-* "
                "with modules), so there is nothing to prepare.",
                Remedy(
                    "Check that the wizard is pointed at the guest's root file system, with "
                    "/boot mounted.",
                    (choose(root=""),),
                ),
            )
        ]
    return kernel, []


def _no_kernel_fix(facts: Facts) -> str:
    """What to install when no kernel has the modules: the package on RHEL 3 only."""
    if K.drivers_from_package(facts.distro.id, facts.distro.version):
        fix = K.package_fix(facts.cpu.kernel_variant or facts.cpu.package_arch)
        return f"No installed kernel has them: {fix}, then plan again."
    return (
        "No installed kernel has them: install a kernel with virtio support "
        "(2.6.27 or newer, or your release's update that ships them), then plan again."
    )


def modules_to_load(
    facts: Facts, choices: Choices, kernel: Kernel
) -> tuple[tuple[str, ...], list[Finding]]:
    """The guide's list for the chosen drivers minus what the kernel has built in.

    Never reordered: the guide's order is the only one that works (only
    virtio_blk and virtio_net may swap). Refuses when a needed module is
    missing from this kernel, naming an installed kernel that has them all.
    """
    wanted = K.modules_for(choices.block, choices.net)
    missing = [m for m in wanted if not kernel.supports(m)]
    if missing:
        good = [
            k.version
            for k in facts.kernels
            if k is not kernel and all(k.supports(m) for m in wanted)
        ]
        fix = (
            Remedy(
                f"Prepare a kernel that has them: {good[0]}"
                + (f" (also: {', '.join(good[1:])})" if good[1:] else "")
                + ".",
                (choose(kernel=good[0]),),
            )
            if good
            else Remedy(_no_kernel_fix(facts))
        )
        return (), [
            Finding(
                "kernel-lacks-modules",
                ERROR,
                f"Kernel {kernel.version} has no {', '.join(missing)} "
                "(neither as a module nor built in).",
                fix,
                K.SEED,
            )
        ]
    builtin = [m for m in wanted if kernel.virtio.get(m) == BUILTIN]
    modules = tuple(m for m in wanted if m not in builtin)
    notes = []
    if builtin:
        rest = (
            f"; still to load: {', '.join(modules)}"
            if modules
            else ": nothing to load or put in the initrd"
        )
        notes.append(
            Finding(
                "modules-builtin",
                INFO,
                f"Kernel {kernel.version} has {', '.join(builtin)} built in{rest}.",
                Remedy("Nothing to do for the built-in drivers."),
                K.SEED,
            )
        )
    return modules, notes


def other_boot_kernels(
    facts: Facts, choices: Choices, chosen: Kernel
) -> list[tuple[Optional[Kernel], tuple[str, ...], list[Finding]]]:
    """The other kernels with a boot entry: (kernel or None when left out, modules, notes).

    mkinitcpio's ``-P`` already rebuilds every preset, so there is nothing to
    add there. A Xen PV-only kernel, or one lacking a needed module, is named
    and left out: rebuilding it would make an image without the drivers.
    """
    out: list[tuple[Optional[Kernel], tuple[str, ...], list[Finding]]] = []
    if facts.initrd_tool == "mkinitcpio":
        return out
    for other in facts.boot_kernels():
        if other.version == chosen.version:
            continue
        if other.xen_pv_only or K.is_xen_kernel(other.version):
            out.append(
                (
                    None,
                    (),
                    [
                        Finding(
                            "kernel-left-out",
                            WARNING,
                            f"Kernel {other.version} has a boot entry but is a Xen "
                            "paravirtual-only kernel: it cannot run on KVM and is left out.",
                            Remedy(
                                f"Do not boot its entry after the switch; {chosen.version} is "
                                "the one prepared."
                            ),
                            K.VIRT_V2V,
                        )
                    ],
                )
            )
            continue
        wanted = K.modules_for(choices.block, choices.net)
        missing = [m for m in wanted if not other.supports(m)]
        if missing:
            out.append(
                (
                    None,
                    (),
                    [
                        Finding(
                            "kernel-left-out",
                            WARNING,
                            f"Kernel {other.version} has a boot entry but no "
                            f"{', '.join(missing)}: its initrd is left as it is.",
                            Remedy(
                                f"Do not boot its entry after the switch; {chosen.version} is "
                                "the one prepared."
                            ),
                            K.SEED,
                        )
                    ],
                )
            )
            continue
        modules = tuple(m for m in wanted if other.virtio.get(m) != BUILTIN)
        out.append((other, modules, []))
    return out
