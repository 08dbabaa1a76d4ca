"""What the guest holds after a change.

``missing_modules`` reads an initrd and names the wanted modules it lacks:
apply checks a rebuilt image with it before the image replaces the old one.
``check_root_needs`` asks one kernel's image for what the guest's root needs
(its file system module, LVM, MD, LUKS: ``plan.rootneeds``); this module's
``verify`` and ``virtio-wizard verify`` (``verify_live``) both ask it.
``verify`` detects the guest again after an apply and says what changed and
what is left to do (the VM definition, the way back).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from ..plan.model import Plan
from ..targets import Target

if TYPE_CHECKING:
    from ..facts import Facts, Kernel
    from ..plan.rootneeds import Need

__all__ = ["RootCheck", "check_root_needs", "missing_modules", "missing_root_needs", "verify"]

log = logging.getLogger(__name__)


def missing_modules(target: Target, image: str, modules: tuple[str, ...]) -> tuple[str, ...]:
    """The ``modules`` not inside the initrd ``image``; raises ValueError if unreadable."""
    from ..initrd import inspect_initrd
    from ..knowledge import canonical_module

    info = inspect_initrd(target, image)
    inside = info.modules if info.modules is not None else info.virtio
    if inside is None:
        raise ValueError(f"cannot read {image}: {info.error or 'unknown format'}")
    have = {canonical_module(m) for m in inside}
    return tuple(m for m in modules if canonical_module(m) not in have)


def missing_root_needs(target: Target, image: str, needs: tuple[str, ...]) -> str:
    """What the root needs (``Step.verify_members``) that ``image`` lacks, said; "" if none.

    Raises ValueError when the image cannot be read.
    """
    if not needs:
        return ""
    from ..initrd.members import image_members
    from ..plan.rootneeds import describe, unmet

    members, modules = image_members(target, image)
    return describe(unmet(needs, members, modules))


@dataclass(frozen=True)
class RootCheck:
    """Does one kernel's initrd hold what the guest's root needs?

    ``needs`` is empty when nothing is asked (the modules are built into the
    kernel, or no root was found): the image is then not read. ``error``
    says why the image could not be read; ``missing`` lists the needs no
    member meets.
    """

    kernel: str
    image: Optional[str]
    needs: tuple[Need, ...] = ()
    missing: tuple[Need, ...] = ()
    error: str = ""

    @property
    def holds(self) -> Optional[bool]:
        """True when the image meets every need, False when not, None when unread."""
        if not self.needs:
            return True
        if self.error:
            return None
        return not self.missing

    def line(self) -> str:
        """One sentence for the Done screen and ``apply``; "" when nothing is asked."""
        from ..plan.rootneeds import describe

        v, where = self.kernel, f" ({self.image})" if self.image else ""
        if not self.needs:
            return ""
        if self.error:
            return (
                f"could not read the initrd of {v}{where} to check what the root needs: "
                + self.error
            )
        if self.missing:
            return (
                f"the initrd of {v}{where} lacks what the root needs: {describe(self.missing)}; "
                f"booted from it, {v} cannot mount /"
            )
        return f"the initrd of {v} also holds what the root needs: " + "; ".join(
            dict.fromkeys(n.why for n in self.needs)
        )


def check_root_needs(target: Target, facts: Facts, kernel: Kernel) -> RootCheck:
    """Ask ``kernel``'s initrd for what the root needs (``plan.rootneeds``), reading it once.

    The needs come from ``facts`` (detected again after the change), so a
    module the kernel has built in is never asked of the image. The image is
    the one detection found, else the name the initrd tool gives it.
    """
    from ..initrd.members import image_members
    from ..plan.initrd import image_path
    from ..plan.rootneeds import root_needs, unmet

    needs = root_needs(facts, kernel)
    image = kernel.initrd or image_path(facts.initrd_tool or "", kernel)
    if not needs:
        return RootCheck(kernel.version, image)
    if image is None:
        return RootCheck(kernel.version, None, needs, error="no initrd of it was found")
    try:
        members, modules = image_members(target, image)
    except ValueError as exc:
        return RootCheck(kernel.version, image, needs, error=str(exc))
    except OSError as exc:  # a read that fails part-way (an I/O error, a dropped link)
        return RootCheck(kernel.version, image, needs, error=f"{exc.strerror or exc}")
    missing = unmet((n.encode() for n in needs), members, modules)
    return RootCheck(kernel.version, image, needs, tuple(missing))


#: Disk references of the running state: they follow the files after a reboot.
_RUNTIME_REFS = ("cmdline", "swaps", "mtab")


def _verify_sysinit(facts: Any, chosen: Optional[str], wanted: tuple[str, ...]) -> str:
    """Does the chosen file list the modules, and does the guest read it at boot?

    Listing them is not enough: a file the guest's init never reads (an
    rc.sysinit without its /etc/rc.modules block, /etc/modules on RHEL) would
    load nothing, so the file must still be one ``offered_files`` finds read.
    """
    from .. import knowledge as kn
    from ..plan.sysinit_files import offered_files

    path = chosen or kn.RC_SYSINIT
    readers = offered_files(facts)
    mlist = next((ml for ml in facts.module_lists if ml.file == path), None)
    if path == kn.RC_SYSINIT and mlist is None:
        # Detection names rc.sysinit by the path it found (/etc/rc.sysinit link).
        mlist = next((ml for ml in facts.module_lists if ml.kind == "rc.sysinit"), None)
    listed = mlist is not None and {kn.canonical_module(e.module) for e in mlist.entries} >= set(
        wanted
    )
    if not listed:
        return f"{path} does not list all of {', '.join(wanted)} yet"
    if path not in readers:
        return (
            f"{path} lists {', '.join(wanted)}, but nothing on this guest reads it at boot: "
            "the drivers will not load from it"
        )
    return f"{path} now loads {', '.join(wanted)} at boot ({readers[path]})"


def verify(target: Target, plan: Plan, before: Optional[Any] = None) -> list[str]:
    """Detect again and say what changed and what is left to do.

    ``before`` (the Facts the plan was made from) tells which new disk names
    were guesses, which detection after the change can no longer see.
    """
    from ..detect import detect

    try:
        facts = detect(target)
    except (OSError, ValueError) as exc:
        return [f"could not detect the guest again: {exc}"]
    lines = _drivers_lines(target, plan, facts)
    lines += _disk_lines(target, plan, facts)
    lines += _way_back_lines(target, plan, before)
    log.info("verify after the apply: %s", "; ".join(lines))
    return lines


def _drivers_lines(target: Target, plan: Plan, facts: Any) -> list[str]:
    """Do the initrds (or the sysinit file) now load the drivers, and after an update?"""
    from ..facts import BUILTIN

    choices = plan.choices
    kernel = facts.kernel(plan.kernel) if plan.kernel else facts.default_kernel()
    wanted = tuple(m for m in plan.modules if kernel is None or kernel.virtio.get(m) != BUILTIN)
    lines: list[str] = []
    if choices.method == "initrd" and target.can_run:
        prepared = [facts.kernel(v) for v in plan.kernels] if plan.kernels else [kernel]
        for each in prepared:
            lines += _kernel_lines(target, plan, facts, each)
        if kernel is not None and wanted:
            # What the next kernel update builds, with the distro's own command.
            from .scratch import check_survives_update

            lines.append(check_survives_update(target, facts, wanted, kernel).line())
    if choices.method == "sysinit" and wanted:
        lines.append(_verify_sysinit(facts, choices.sysinit_file, wanted))
    return lines


def _kernel_lines(target: Target, plan: Plan, facts: Any, kernel: Any) -> list[str]:
    """What the initrd of one prepared kernel holds now: virtio, and what the root needs."""
    if kernel is None:
        return []
    lines = [_initrd_line(plan, kernel), check_root_needs(target, facts, kernel).line()]
    return [line for line in lines if line]


def _initrd_line(plan: Plan, kernel: Any) -> str:
    """What the initrd of one prepared kernel holds now ("" when it needs nothing)."""
    from ..facts import BUILTIN

    if kernel is None:
        return ""
    need = tuple(m for m in plan.modules if kernel.virtio.get(m) != BUILTIN)
    if not need:
        return ""
    if kernel.initrd_virtio is None:
        why = kernel.initrd_error or "no image"
        return f"the initrd of {kernel.version} could not be read again: {why}"
    lacking = [m for m in need if m not in kernel.initrd_virtio]
    if lacking:
        return f"the initrd of {kernel.version} still lacks {', '.join(lacking)}"
    return f"the initrd of {kernel.version} now holds {', '.join(need)}"


def _disk_lines(target: Target, plan: Plan, facts: Any) -> list[str]:
    """Disk names left behind, and what to do on the host next."""
    choices = plan.choices
    lines: list[str] = []
    legacy = [
        r
        for r in facts.disk_refs
        if r.scheme == "legacy" and r.proposed and r.context not in _RUNTIME_REFS
    ]
    if choices.fixes_disk_names and legacy:
        shown = ", ".join(f"{r.file}:{r.line} {r.device}" for r in legacy[:5])
        lines.append(f"{len(legacy)} disk reference(s) still use the old names: {shown}")
    if not target.can_run:
        lines.append("demo: commands were shown, not run; no initrd was rebuilt")
    disks = "the disk bus"
    if choices.boot_disk == "emulated":
        disks = "the bus of the other disks (the boot disk stays emulated)"
    what = " and ".join(
        w for w, on in ((disks, choices.block), ("the NIC model", choices.net)) if on
    )
    lines.append(
        f"next: power the guest off, switch {what} to virtio in the VM definition, then "
        "start it (a reboot keeps the old devices: the bus changes only on a fresh start)"
    )
    # Detected again: files that now name /dev/vdX break a boot on the old bus.
    if any(r.scheme == "virtio" and r.context not in _RUNTIME_REFS for r in facts.disk_refs):
        lines.append(
            "do not reboot before switching: the files already name the virtio disks, "
            "so on the old bus /boot and swap would not be found"
        )
    return lines


def _way_back_lines(target: Target, plan: Plan, before: Optional[Any]) -> list[str]:
    """Where the old initrd is, how to go back, and the disk order assumed."""
    lines = [f"the old initrd is kept at {s.to}" for s in plan.steps if s.kind == "backup" and s.to]
    if getattr(target, "temporary", False):
        # A demo guest is a temporary copy per run: a later `virtio-wizard undo` finds nothing.
        lines.append(
            "to go back in the demo: undo before the wizard exits (u on the Done screen); "
            "the demo guest is a temporary copy made for each run, so a later "
            "virtio-wizard --demo undo finds nothing to undo"
        )
    else:
        lines.append(
            "to go back: virtio-wizard undo; if the guest no longer boots, from a rescue "
            "system with its disk mounted at /mnt/guest: virtio-wizard --root /mnt/guest undo"
        )
    guessed = [] if before is None else [r for r in before.disk_refs if r.guessed and r.proposed]
    if guessed:
        pairs = sorted({f"{r.device} -> {r.proposed}" for r in guessed})
        lines.append(
            "make sure the hypervisor presents the disks in the order assumed: " + ", ".join(pairs)
        )
    return lines
