"""The planner: a pure function from Facts, Choices and file bytes to a Plan.

``plan(facts, choices, files)`` writes nothing and reads nothing: ``files``
maps guest paths to their current bytes (None: absent), gathered by
:func:`~virtio_wizard.plan.files.read_files` through the Target, or built by
hand in the tests. That split is what lets the same plan be previewed,
saved as JSON, checked and applied later (apply re-hashes every file).

Steps come in this order (reasons in ``docs/plan.md``): every file edit
(module config, then disk names), then each kernel's initrd backup and
rebuild, the kernel booted next first. A refused plan (any ``error``
finding) has no steps at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Optional

from .. import knowledge as K
from ..facts import Facts, Kernel
from ..finding import ERROR, WARNING, Finding, Remedy
from .bootdefault import plan_boot_default
from .defaults import sysinit_file_candidates
from .disknames import plan_disk_names, refuse_renaming_emulated
from .edits import Workspace
from .files import is_probe, read_files
from .initrd import plan_initrd
from .kernels import choose_kernel, modules_to_load, other_boot_kernels
from .lvm import plan_lvm
from .mdadm import plan_mdadm
from .model import Choices, Plan, Step
from .modprobe import MODPROBE_CONF, MODULES_CONF, plan_modprobe
from .multipath import plan_multipath
from .needs import files_needed
from .replace import labels_and_links
from .rootneeds import with_root_needs
from .sysinit import plan_sysinit
from .xen import plan_defaultkernel, refuse_xen_kernel

if TYPE_CHECKING:
    from ..targets import Target

__all__ = ["plan", "make_plan"]


def _has_error(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)


def _file_findings(
    facts: Facts, files: Mapping[str, Optional[bytes]]
) -> tuple[list[Finding], list[Finding]]:
    """(warnings, refusals) for the needed files that exist but cannot be used."""
    errors = dict(getattr(files, "errors", {}) or {})
    for skipped in facts.unreadable:  # read now, but detection could not use them
        if skipped.path in files and not is_probe(skipped.path):
            errors.setdefault(skipped.path, skipped.reason)
    # modprobe.conf is read for aliases the plan may improve, not a file it must
    # change: an unusable one is left alone (a warning), not a reason to refuse.
    unusable = [
        Finding(
            "modprobe-conf-unusable",
            WARNING,
            f"{path} cannot be used: {errors.pop(path)}; its aliases (eth0, scsi_hostadapter) "
            "are left as they are.",
            Remedy(
                "Make it a regular, readable file and plan again if the NIC alias or the nash "
                "host-adapter aliases should change."
            ),
        )
        for path in (MODPROBE_CONF, MODULES_CONF)
        if path in errors
    ]
    refusals = [
        Finding(
            "file-unreadable",
            ERROR,
            f"{path} cannot be used: {reason}; the wizard will not edit or replace it.",
            Remedy("Make it a regular, readable file (or remove it), then plan again."),
        )
        for path, reason in errors.items()
    ]
    return unusable, refusals


def _depmod_steps(kernel: Kernel, modules: tuple[str, ...]) -> list[Step]:
    """``depmod`` for modules installed without it: modprobe and mkinitrd look only there."""
    unlisted = [m for m in modules if m in kernel.virtio_unlisted]
    if not unlisted:
        return []
    return [
        Step(
            kind="command",
            why=f"list {', '.join(unlisted)} in modules.dep of {kernel.version} "
            "(installed without depmod): modprobe and mkinitrd find modules only there",
            argv=("depmod", "-a", kernel.version),
        )
    ]


def _initrd_steps(
    facts: Facts, choices: Choices, kernel: Kernel, modules: tuple[str, ...], ws: Workspace
) -> tuple[list[Step], list[Finding], list[str]]:
    """The initrd method for the kernel, then every other boot kernel that can have it."""
    offline = not facts.target.live
    tool, config = facts.initrd_tool, facts.initrd_tool_config
    steps, findings = plan_initrd(tool, kernel, modules, ws, config, offline)
    prepared = [kernel.version]
    if not choices.all_kernels or _has_error(findings):
        return steps, findings, prepared
    for other, other_modules, notes in other_boot_kernels(facts, choices, kernel):
        findings += notes
        if other is None:
            continue
        more_steps, more = plan_initrd(tool, other, other_modules, ws, config, offline)
        steps += more_steps
        findings += more
        prepared.append(other.version)
    return steps, findings, prepared


def plan(facts: Facts, choices: Choices, files: Mapping[str, Optional[bytes]]) -> Plan:
    """The Plan for these choices on this guest; never writes, never reads."""
    ws = Workspace(files)
    target = {"kind": facts.target.kind, "root": facts.target.root}

    def refused(findings: list[Finding], modules: tuple[str, ...] = (), kver=None) -> Plan:
        return Plan(choices, (), tuple(findings), modules, kver, target)

    if facts.not_linux:
        from ..checks import not_linux_parts

        message, remedy, _source = not_linux_parts(facts.not_linux)
        return refused([Finding("target-not-linux", ERROR, message, remedy)])
    unusable, unreadable = _file_findings(facts, files)
    if unreadable:
        return refused(unreadable)
    kernel, findings = choose_kernel(facts, choices)
    findings = unusable + findings
    if kernel is None:
        return refused(findings)
    xen = refuse_xen_kernel(facts, kernel)
    if xen:
        return refused(findings + xen, (), kernel.version)
    modules, notes = modules_to_load(facts, choices, kernel)
    findings += notes + refuse_renaming_emulated(choices)
    if _has_error(findings):
        return refused(findings, (), kernel.version)
    # modprobe.conf first: nash mkinitrd reads its aliases during the rebuild.
    findings += plan_modprobe(facts, choices, kernel, ws)
    findings += plan_defaultkernel(facts, kernel, ws)
    middle = _depmod_steps(kernel, modules)
    prepared = [kernel.version]
    if choices.method == "sysinit":
        findings += plan_sysinit(facts, choices, modules, ws, K.order_matters(kernel.version))
    else:
        steps, more, prepared = _initrd_steps(facts, choices, kernel, modules, ws)
        middle += steps
        findings += more
    if _has_error(findings):
        return refused(findings, modules, kernel.version)
    findings += plan_disk_names(facts, choices, ws)
    findings += plan_mdadm(choices, ws)  # after the renames: it reads their result
    findings += plan_multipath(facts, choices)
    removals, more = plan_lvm(facts, choices, ws)
    findings += more
    # After the renames: a grub.conf without a default line gets one inserted.
    findings += plan_boot_default(facts, choices, kernel, prepared, ws)
    # Every file edit comes before any rebuild: nash mkinitrd and dracut copy
    # the root and resume= devices into the image, and initramfs-tools bakes
    # in RESUME=, so an image built before the rename keeps the old names.
    # dracut also copies lvm.conf and the LVM devices file.
    findings += labels_and_links(facts, files, ws)
    middle = with_root_needs(facts, middle)  # the root's own modules and tools, checked too
    steps = [ws.step(p) for p in ws.changed()] + removals + middle
    return Plan(
        choices,
        tuple(steps),
        tuple(findings),
        modules,
        kernel.version,
        target,
        tuple(prepared),
    )


def make_plan(target: Target, facts: Facts, choices: Choices) -> Plan:
    """Read what the plan needs, then plan: the one call the CLI and TUI make.

    A sysinit file left open is the wizard's default
    (``defaults.sysinit_file_candidates``): the recommended file, or the
    guide's rc.sysinit where that one is refused and rc.sysinit is not. The
    Plan's choices name the file it edits.
    """
    first: Optional[Plan] = None
    for candidate in sysinit_file_candidates(facts, choices):
        made = plan(facts, candidate, read_files(target, files_needed(facts, candidate)))
        if not made.refused:
            return made
        if first is None:
            first = made
    assert first is not None  # sysinit_file_candidates is never empty
    return first
