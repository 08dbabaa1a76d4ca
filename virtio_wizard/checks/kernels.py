"""Checks on kernels and their initrds.

The five virtio modules, the host-only trap, images that could not be read,
the package's ``.virtio.orig`` and modules that ``modules.dep`` does not list.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Optional

from .. import knowledge as kn
from ..facts import MODULE, Facts, Kernel
from ..finding import ERROR, INFO, WARNING, Finding, Remedy, Setting, choose
from .common import missing_modules, names

__all__ = [
    "check_kernel_no_virtio",
    "check_initrd_missing_virtio",
    "check_initrd_unreadable",
    "check_virtio_orig_initrd",
    "check_modules_dep",
]


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


def _usable_note(missing: Sequence[str]) -> str:
    """`` (only the block driver can work)`` when just one of the two drivers is whole."""
    usable = []
    if not any(m in missing for m in kn.BLOCK_MODULES):
        usable.append("block")
    if not any(m in missing for m in kn.NET_MODULES):
        usable.append("net")
    return f" (only the {usable[0]} driver can work)" if len(usable) == 1 else ""


def _rhel3_no_virtio(facts: Facts, kernel: Kernel, which: str, good: list[str]) -> Finding:
    """RHEL 3: the 2.4 kernel never has virtio; only the package brings it."""
    variant = facts.cpu.kernel_variant or facts.cpu.package_arch
    fix = kn.package_fix(variant)
    advice = (
        fix[0].upper()
        + fix[1:]
        + "; a package of another variant fails at boot with `Unresolved symbol`."
    )
    options: tuple[tuple[Setting, ...], ...] = ()
    if good:
        advice += f" Or boot installed kernel {good[0]}, which has them, and prepare that one."
        options = (choose(kernel=good[0]),)
    message = (
        f"The {which} kernel {kernel.version} lacks {names(missing_modules(kernel))}: on RHEL 3 "
        "the virtio modules come only from the separately installed virtio package, never "
        "from the 2.4 kernel."
    )
    return Finding(
        "kernel-no-virtio",
        WARNING if good else ERROR,
        message,
        Remedy(advice, options),
        kn.SEED + " (11.1); " + kn.SEED_CPU,
    )


def check_kernel_no_virtio(facts: Facts) -> list[Finding]:
    """The default kernel lacks a module of the guide's list; name an installed kernel that has all.

    Error when no installed kernel has all five (the drivers must come from
    elsewhere), warning when booting another installed kernel is enough.
    """
    kernel = facts.default_kernel()
    if kernel is None:
        return []
    missing = missing_modules(kernel)
    if not missing:
        return []
    good = [
        k.version
        for k in sorted(facts.kernels, key=lambda k: kn.kernel_sort_key(k.version), reverse=True)
        if k.version != kernel.version and not missing_modules(k)
    ]
    which = "running" if kernel.version == facts.running_kernel else "newest"
    if kn.drivers_from_package(facts.distro.id, facts.distro.version):
        return [_rhel3_no_virtio(facts, kernel, which, good)]
    message = (
        f"The {which} kernel {kernel.version} lacks {names(missing)} "
        f"(neither a module nor built in){_usable_note(missing)}."
    )
    if good:
        remedy = Remedy(
            f"Boot installed kernel {good[0]}, which has all five virtio modules, and prepare "
            "that one.",
            (choose(kernel=good[0]),),
        )
        return [Finding("kernel-no-virtio", WARNING, message, remedy, kn.SEED)]
    remedy = Remedy(
        "No installed kernel has all five: install a kernel that has them (2.6.27 or "
        "newer; on RHEL 4 and 5 the kernel of update 4.8 or 5.3 and later)."
    )
    return [Finding("kernel-no-virtio", ERROR, message, remedy, kn.SEED)]


def _initrd_fix(facts: Facts, kernel: Kernel, modules: Sequence[str]) -> Remedy:
    """The concrete way to put ``modules`` into this kernel's initrd, per tool."""
    image = kernel.initrd or f"/boot/initrd-{kernel.version}.img"
    kver = kernel.version
    tool = facts.initrd_tool
    mods = " ".join(modules)
    if tool == "dracut":
        return Remedy(
            f'Put add_drivers+=" {mods} " in {kn.DRACUT_DROPIN}, then rebuild the image.',
            command=("dracut", "-f", image, kver),
        )
    if tool == "initramfs-tools":
        setting = facts.initrd_tool_config.get("MODULES")
        why = ""
        if setting in ("dep", "list"):
            why = (
                f" (initramfs.conf says MODULES={setting}, which takes only what this machine "
                "needs now; MODULES=most would include them)"
            )
        return Remedy(
            f"Add {mods} to {kn.INITRAMFS_TOOLS_MODULES}, one per line{why}, then rebuild "
            "the image.",
            command=("update-initramfs", "-u", "-k", kver),
        )
    if tool == "mkinitcpio":
        return Remedy(
            f"Add {mods} to MODULES=(...) in {kn.MKINITCPIO_DROPIN}, then rebuild the images.",
            command=("mkinitcpio", "-P"),
        )
    if tool == "suse-mkinitrd":
        return Remedy(
            f'Add {mods} to INITRD_MODULES="..." in {kn.SUSE_SYSCONFIG_KERNEL}, then rebuild '
            "the image.",
            command=("mkinitrd", "-k", "vmlinuz-" + kver, "-i", "initrd-" + kver),
        )
    argv = ("mkinitrd", "-f", *[f"--with={m}" for m in kn.SEED_MODULES], image, kver)
    return Remedy("Rebuild it with the guide's modules.", command=argv)


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
        f"The initrd {kernel.initrd} of kernel {kernel.version} lacks {names(absent)} although "
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
                Remedy(
                    f"List it by hand to see whether it holds virtio_blk ({lister}); when in "
                    "doubt, rebuild it with the virtio modules before switching the disk."
                ),
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
                Remedy(
                    f"The way back is {shlex.join(['cp', '-p', kernel.virtio_orig, image])}; to "
                    "use another initrd, load the drivers from rc.sysinit or rebuild it with "
                    "the virtio modules."
                ),
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
                f"{names(kernel.virtio_unlisted)}, but its modules.dep does not list them: "
                "modprobe cannot load them (the sysinit lines would fail silently and "
                "mkinitrd would not find them).",
                Remedy(
                    "Rebuild the module list in the guest; the plan does it before anything "
                    "loads or packs the modules, where the guest can run commands.",
                    command=tuple(argv),
                ),
                "modprobe(8), depmod(8), modules.dep(5)",
            )
        )
    return out
