"""Detection: turn a Target into Facts, one small module per fact.

Every ``detect_*`` function reads the guest only through the Target, never
raises for anything a guest file contains, and appends what it could not use
to an optional ``problems`` list of :class:`~virtio_wizard.facts.Unreadable`
(through ``detect._read``, the one place that turns Target errors into them).
That convention is what lets ``detect()`` finish on a broken or hostile guest
tree and still tell the user which files it had to skip.

The detector modules are imported inside :func:`detect` rather than at the
top, so ``import virtio_wizard.detect`` stays cheap for the CLI's start-up.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Callable, Optional

from ..facts import Facts, TargetInfo, Unreadable

if TYPE_CHECKING:
    from ..targets import Target

__all__ = [
    "detect",
    "with_initrds",
    "drivers_auto",
]

log = logging.getLogger(__name__)


def detect(
    target: Target,
    *,
    read_initrds: bool = True,
    progress: Optional[Callable[[str], None]] = None,
) -> Facts:
    """Everything detection can learn about the guest behind ``target``.

    ``read_initrds=False`` skips opening the initrd images (tens of MB each on
    modern guests); :func:`with_initrds` fills them in afterwards, so the TUI
    can show the rest at once. ``progress`` is called with a short phrase
    before each step.
    """
    from . import bootentries, cpu, distro, initrd_tool, kernels, modlists, rootstack, sysinit
    from . import continuity as continuity_mod
    from . import devices as devices_mod
    from . import disks as disks_mod
    from . import modules as modules_mod

    started = time.monotonic()

    def step(text: str) -> None:
        log.debug("detect %s: %s (%.2fs)", target.describe(), text, time.monotonic() - started)
        if progress is not None:
            progress(text)

    problems: list[Unreadable] = []
    info = TargetInfo(
        kind=target.kind,
        root=target.root,
        live=bool(target.live),
        keeps_xattrs=bool(getattr(target, "keeps_xattrs", False)),
    )
    step("checking the file system")
    not_linux = distro.detect_not_linux(target)
    if not_linux is not None:
        return Facts(target=info, not_linux=not_linux)

    step("reading the distribution")
    found_distro = distro.detect_distro(target, problems=problems)
    step("finding the running kernel")
    running = kernels.detect_running_kernel(target)
    step("listing installed kernels")
    configs: kernels.ConfigCache = {}  # each kernel config read and parsed once
    found_kernels = kernels.detect_kernels(
        target,
        running=running,
        read_initrds=read_initrds,
        problems=problems,
        family=found_distro.family,
        configs=configs,
    )
    step("reading the boot menu")
    boot = bootentries.detect_boot_menu(target, found_kernels, problems=problems)
    step("reading the CPU")
    found_cpu = cpu.detect_cpu(
        target, found_kernels, found_distro, problems=problems, configs=configs
    )
    step("reading loaded modules and devices")
    loaded = modules_mod.detect_loaded_modules(target, problems=problems)
    bus = modules_mod.detect_virtio_bus(target)
    found_devices = devices_mod.detect_devices(target, problems=problems)
    step("reading disk references")
    refs = disks_mod.detect_disk_refs(target, problems=problems)
    step("finding the initrd tool")
    tool, tool_config = initrd_tool.detect_initrd_tool(target, found_distro, problems=problems)
    step("reading the sysinit script and module lists")
    found_sysinit = sysinit.detect_sysinit(target, problems=problems)
    loaders = sysinit.detect_module_loaders(target, problems=problems)
    lists = modlists.detect_module_lists(target, problems=problems)
    step("reading network and Xen settings")
    continuity = continuity_mod.detect_continuity(target, problems=problems)
    root_stack = rootstack.detect_root_stack(target, found_kernels, problems=problems)
    found_multipath = rootstack.detect_multipath(target, problems=problems)

    facts = Facts(
        target=info,
        distro=found_distro,
        cpu=found_cpu,
        kernels=tuple(found_kernels),
        running_kernel=running,
        loaded_modules=loaded,
        virtio_bus_drivers=tuple(bus),
        devices=tuple(found_devices),
        disk_refs=tuple(refs),
        initrd_tool=tool,
        initrd_tool_config=dict(tool_config),
        sysinit=found_sysinit,
        module_loaders=loaders,
        module_lists=tuple(lists),
        continuity=continuity,
        boot=boot,
        selinux=_selinux_mode(target, problems),
        root_stack=root_stack,
        multipath=found_multipath,
        unreadable=_unique(problems),
    )
    auto, reason = drivers_auto(facts)
    log.debug(
        "detect %s: done in %.2fs: %s %s, %d kernel(s), %d unreadable",
        target.describe(),
        time.monotonic() - started,
        found_distro.id,
        found_distro.version,
        len(found_kernels),
        len(facts.unreadable),
    )
    return dataclasses.replace(facts, drivers_auto=auto, drivers_auto_reason=reason)


def drivers_auto(facts: Facts) -> tuple[bool, str]:
    """The guide's rule: does this guest load the virtio drivers by itself?

    RHEL and its rebuilds decide by release (3.9+, 4.8+, 5.3+, 6+); every
    other distribution by the kernel (2.6.27 or newer), using the running
    kernel when there is one, else the default (newest) installed kernel.
    """
    from ..knowledge import kernel_is_auto, rhel_is_auto

    d = facts.distro
    by_release = rhel_is_auto(d.id, d.version)
    if by_release is not None:
        label = f"{d.name or d.id} {d.version}".strip()
        if by_release:
            return (
                True,
                f"{label}: Red Hat's virtualization guide lists RHEL 3.9+, 4.8+, 5.3+ "
                "and 6+ as automatic",
            )
        return False, f"{label} is older than the releases that load the drivers by themselves"
    kernel = facts.running_kernel
    which = "running kernel"
    if kernel is None:
        default = facts.default_kernel()
        kernel = default.version if default is not None else None
        which = "default kernel"
    if kernel is None:
        return False, "no kernel found to judge by"
    if kernel_is_auto(kernel):
        return True, f"{which} {kernel} is 2.6.27 or newer"
    return False, f"{which} {kernel} is older than 2.6.27"


def with_initrds(target: Target, facts: Facts) -> Facts:
    """``facts`` (made with ``read_initrds=False``) with the initrd images read.

    Only the kernels are detected again, with their images; everything else is
    kept, and unreadable entries found now are added to the old ones.
    """
    if facts.not_linux is not None:
        return facts
    from . import kernels

    problems: list[Unreadable] = list(facts.unreadable)
    found = kernels.detect_kernels(
        target,
        running=facts.running_kernel,
        read_initrds=True,
        problems=problems,
        family=facts.distro.family,
    )
    return dataclasses.replace(facts, kernels=tuple(found), unreadable=_unique(problems))


def _selinux_mode(target: Target, problems: list[Unreadable]) -> Optional[str]:
    """``SELINUX=`` of /etc/selinux/config (selinux_config(5)), lower case; None when absent."""
    from ._read import read_guest_text

    text = read_guest_text(target, "/etc/selinux/config", problems, limit=64 * 1024)
    if text is None:
        return None
    for line in text.split("\n"):
        key, sep, value = line.strip().partition("=")
        if sep and key.strip() == "SELINUX":
            return value.strip().strip("\"'").lower() or None
    return None


def _unique(problems: list[Unreadable]) -> tuple[Unreadable, ...]:
    """Each skipped file once, in the order first met."""
    return tuple(dict.fromkeys(problems))
