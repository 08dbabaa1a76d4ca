"""Would virtio survive the next kernel update? Build a scratch image and look.

A kernel update does not run the wizard's command: it runs the distro's own
(``update-initramfs`` -> ``mkinitramfs``, ``dracut``, new-kernel-pkg ->
``mkinitrd``, ``mkinitcpio``) with no extra flags, reading only the tool's
configuration. So the one honest test is to run that default command for
an installed kernel into a temporary file (never over a real image), list
the result with the wizard's initrd reader, and say whether the virtio
modules are inside. The file is removed afterwards.

This runs guest commands, so it needs a Target that can run them: a live
guest, or an offline root whose chroot works. ``check_survives_update`` is
the one entry point (apply's verify and ``virtio-wizard verify`` call it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Sequence

from ..knowledge import canonical_module
from ..logs import run_logged

if TYPE_CHECKING:
    from ..facts import Facts, Kernel
    from ..targets import Target

__all__ = ["ScratchCheck", "scratch_argv", "check_survives_update", "SCRATCH_DIR"]

#: Where the scratch image goes: inside the guest (the tool runs there), never /boot.
SCRATCH_DIR = "/var/tmp"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScratchCheck:
    """The answer for one kernel.

    ``survives`` is True when the scratch image holds every module, False
    when it lacks some (``missing``), None when no answer could be had
    (``reason`` says why: no tool, commands disabled, the build failed).
    """

    kernel: str
    argv: tuple[str, ...] = ()
    survives: Optional[bool] = None
    missing: tuple[str, ...] = ()
    reason: str = ""

    def line(self) -> str:
        """One sentence for the Done screen, ``apply`` and ``verify``."""
        cmd = shlex.join(self.argv) if self.argv else ""
        if self.survives is True:
            return (
                f"a kernel update keeps virtio for {self.kernel}: a scratch image built the "
                f"distro's way (`{cmd}`) holds the modules"
            )
        if self.survives is False:
            return (
                f"a kernel update would drop {', '.join(self.missing)} for {self.kernel}: "
                f"a scratch image built the distro's way (`{cmd}`) lacks them; name them "
                "in the initrd tool's config"
            )
        return (
            f"could not tell whether a kernel update keeps virtio for {self.kernel}: {self.reason}"
        )


def scratch_argv(tool: Optional[str], kernel: Kernel, path: str) -> Optional[tuple[str, ...]]:
    """The distro's default build for ``kernel``, written to ``path``; None when unknown.

    initramfs-tools' ``update-initramfs`` calls ``mkinitramfs -o FILE KVER``;
    dracut and nash mkinitrd take ``FILE KVER``; mkinitcpio ``-k KVER -g FILE``.
    SUSE's mkinitrd writes only under its boot folder, so it is not tried.
    """
    v = kernel.version
    if tool == "initramfs-tools":
        return ("mkinitramfs", "-o", path, v)
    if tool == "dracut":
        return ("dracut", path, v)
    if tool == "mkinitrd":
        return ("mkinitrd", path, v)
    if tool == "mkinitcpio":
        return ("mkinitcpio", "-k", v, "-g", path)
    return None


def check_survives_update(
    target: Target, facts: Facts, modules: Sequence[str], kernel: Optional[Kernel] = None
) -> ScratchCheck:
    """Build a scratch image for ``kernel`` (default: the one booted next) and look inside."""
    from ..initrd import inspect_initrd

    kernel = kernel or facts.default_kernel()
    if kernel is None:
        return ScratchCheck("(none)", reason="no installed kernel")
    if not modules:
        return ScratchCheck(kernel.version, survives=True, reason="nothing to load")
    if not getattr(target, "can_run", False):
        return ScratchCheck(kernel.version, reason="this target does not run guest commands")
    path = posixpath.join(SCRATCH_DIR, f"virtio-wizard-scratch-{os.getpid()}.img")
    argv = scratch_argv(facts.initrd_tool, kernel, path)
    if argv is None:
        return ScratchCheck(kernel.version, reason=f"no scratch build for {facts.initrd_tool}")
    if target.exists(path):
        return ScratchCheck(kernel.version, argv, reason=f"{path} exists already; not touched")
    try:
        try:
            result = run_logged(target, argv, log)
        except OSError as exc:
            return ScratchCheck(kernel.version, argv, reason=f"could not run: {exc}")
        if result.returncode != 0 or not target.is_file(path):
            tail = (result.output or "").strip().splitlines()[-1:] or [""]
            return ScratchCheck(
                kernel.version,
                argv,
                reason=f"the build failed (exit {result.returncode}) {tail[0]}".strip(),
            )
        info = inspect_initrd(target, path)
        inside = info.modules if info.modules is not None else info.virtio
        if inside is None:
            return ScratchCheck(kernel.version, argv, reason=info.error or "unreadable image")
        have = {canonical_module(m) for m in inside}
        missing = tuple(m for m in modules if canonical_module(m) not in have)
        return ScratchCheck(kernel.version, argv, survives=not missing, missing=missing)
    finally:
        if target.exists(path):
            with contextlib.suppress(OSError):
                target.remove(path)
