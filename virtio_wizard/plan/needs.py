"""Which guest files a plan needs for these choices.

The list ``plan`` expects in its ``files`` mapping; :func:`.files.read_files`
gathers them through the Target.
"""

from __future__ import annotations

from typing import Optional

from .. import knowledge as K
from ..facts import Facts, Kernel
from .files import AUTORELABEL, RUNTIME_CONTEXTS, backup_candidates, needs_autorelabel
from .initrd import config_paths, image_path
from .lvm import lvm_paths
from .model import Choices
from .modprobe import modprobe_path

__all__ = ["files_needed"]


def _chosen_kernel(facts: Facts, choices: Choices) -> Optional[Kernel]:
    if choices.kernel:
        return facts.kernel(choices.kernel)
    return facts.default_kernel()


def files_needed(facts: Facts, choices: Choices) -> list[str]:
    """Guest paths whose current bytes ``plan`` needs for these choices."""
    paths: list[str] = []
    if choices.method == "sysinit":
        chosen = choices.sysinit_file or K.RC_SYSINIT
        if chosen in K.SYSINIT_FILES:
            paths.append(chosen)
        if chosen in (K.RC_MODULES, K.SYSCONFIG_MODULES):
            paths.append(K.RC_SYSINIT)  # does it run the chosen script at all?
    else:
        paths += config_paths(facts.initrd_tool)
        kernel = _chosen_kernel(facts, choices)
        kernels = [kernel] if kernel is not None else []
        if choices.all_kernels:
            kernels += [k for k in facts.boot_kernels() if k not in kernels]
        for k in kernels:
            image = image_path(facts.initrd_tool, k) if facts.initrd_tool else None
            if image:
                paths += backup_candidates(image)
    kernel = _chosen_kernel(facts, choices)
    if kernel is not None:
        paths.append(modprobe_path(kernel.version))  # aliases: eth0, scsi_hostadapter, Xen
    pkg = facts.continuity.default_kernel_pkg
    if pkg is not None and pkg.value == "kernel-xen":
        paths.append(pkg.file)  # DEFAULTKERNEL=kernel-xen is reset
    paths += lvm_paths(choices)
    if needs_autorelabel(facts):
        paths.append(AUTORELABEL)
    if choices.fixes_disk_names:
        # Imported here: detection imports the Target, the planner stays without it.
        from ..detect.disks import DISK_CONFIG_FILES

        paths += [
            r.file for r in facts.disk_refs if r.proposed and r.context not in RUNTIME_CONTEXTS
        ]
        # Detection skipped these, so they show no names to change; they may
        # hold some all the same: the plan must see them to refuse them.
        paths += [u.path for u in facts.unreadable if u.path in DISK_CONFIG_FILES]
    return K.unique(paths)
