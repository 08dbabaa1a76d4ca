"""Planning: a pure function from Facts, Choices and file bytes to a Plan.

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
from typing import Optional

from .. import knowledge as K
from ..facts import BUILTIN, Facts, Kernel
from ..finding import ERROR, INFO, WARNING, Finding
from .disknames import plan_disk_names, refuse_renaming_emulated
from .edits import Workspace
from .files import GuestFiles, files_needed, is_probe, make_plan, read_files
from .initrd import plan_initrd
from .lvm import plan_lvm
from .model import PLAN_SCHEMA, Choices, Plan, PlanError, Step, parse_drivers
from .modprobe import MODPROBE_CONF, MODULES_CONF, plan_modprobe
from .sysinit import plan_sysinit
from .xen import plan_defaultkernel, refuse_xen_kernel

__all__ = [
    "plan",
    "make_plan",
    "files_needed",
    "read_files",
    "GuestFiles",
    "choose_kernel",
    "modules_to_load",
    "Choices",
    "Step",
    "Plan",
    "PlanError",
    "PLAN_SCHEMA",
    "parse_drivers",
]


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
                    "Choose one of the installed kernels with --kernel.",
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
                "Check that --root points at the guest's root file system with /boot mounted.",
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
            f"Prepare a kernel that has them: --kernel {good[0]}"
            + (f" (also: {', '.join(good[1:])})" if good[1:] else "")
            + "."
            if good
            else _no_kernel_fix(facts)
        )
        return (), [
            Finding(
                "kernel-no-virtio",
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
                "Nothing to do for the built-in drivers.",
                K.SEED,
            )
        )
    return modules, notes


def plan(facts: Facts, choices: Choices, files: Mapping[str, Optional[bytes]]) -> Plan:
    """The Plan for these choices on this guest; never writes, never reads."""
    ws = Workspace(files)
    target = {"kind": facts.target.kind, "root": facts.target.root}

    def refused(findings: list[Finding], modules: tuple[str, ...] = (), kver=None) -> Plan:
        return Plan(choices, (), tuple(findings), modules, kver, target)

    if facts.not_linux:
        from ..checks import not_linux_parts

        message, fix, _source = not_linux_parts(facts.not_linux)
        return refused([Finding("target-not-linux", ERROR, message, fix)])
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
            "Make it a regular, readable file and plan again if the NIC alias or the nash "
            "host-adapter aliases should change.",
        )
        for path in (MODPROBE_CONF, MODULES_CONF)
        if path in errors
    ]
    if errors:
        return refused(
            [
                Finding(
                    "file-unreadable",
                    ERROR,
                    f"{path} cannot be used: {reason}; the wizard will not edit or replace it.",
                    "Make it a regular, readable file (or remove it), then plan again.",
                )
                for path, reason in errors.items()
            ]
        )
    kernel, findings = choose_kernel(facts, choices)
    findings = unusable + findings
    if kernel is None:
        return refused(findings)
    xen = refuse_xen_kernel(facts, kernel)
    if xen:
        return refused(findings + xen, (), kernel.version)
    modules, notes = modules_to_load(facts, choices, kernel)
    findings += notes + refuse_renaming_emulated(choices)
    if any(f.severity == ERROR for f in findings):
        return refused(findings, (), kernel.version)
    middle: list[Step] = []
    # modprobe.conf first: nash mkinitrd reads its aliases during the rebuild.
    findings += plan_modprobe(facts, choices, kernel, ws)
    findings += plan_defaultkernel(facts, kernel, ws)
    unlisted = [m for m in modules if m in kernel.virtio_unlisted]
    if unlisted:
        # modprobe and mkinitrd find modules only through modules.dep.
        middle.append(
            Step(
                kind="command",
                why=f"list {', '.join(unlisted)} in modules.dep of {kernel.version} "
                "(installed without depmod): modprobe and mkinitrd find modules only there",
                argv=("depmod", "-a", kernel.version),
            )
        )
    prepared = [kernel.version]
    if choices.method == "sysinit":
        findings += plan_sysinit(facts, choices, modules, ws, K.order_matters(kernel.version))
    else:
        offline = not facts.target.live
        steps, more = plan_initrd(
            facts.initrd_tool, kernel, modules, ws, facts.initrd_tool_config, offline
        )
        middle += steps
        findings += more
        if choices.all_kernels and not any(f.severity == ERROR for f in findings):
            for other, other_modules, notes in other_boot_kernels(facts, choices, kernel):
                findings += notes
                if other is None:
                    continue
                steps, more = plan_initrd(
                    facts.initrd_tool, other, other_modules, ws, facts.initrd_tool_config, offline
                )
                middle += steps
                findings += more
                prepared.append(other.version)
    if any(f.severity == ERROR for f in findings):
        return refused(findings, modules, kernel.version)
    findings += plan_disk_names(facts, choices, ws)
    removals, more = plan_lvm(facts, choices, ws)
    findings += more
    # Every file edit comes before any rebuild: nash mkinitrd and dracut copy
    # the root and resume= devices into the image, and initramfs-tools bakes
    # in RESUME=, so an image built before the rename keeps the old names.
    # dracut also copies lvm.conf and the LVM devices file.
    findings += _labels_and_links(facts, files, ws)
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


def _labels_and_links(
    facts: Facts, files: Mapping[str, Optional[bytes]], ws: Workspace
) -> list[Finding]:
    """What an atomic replace cannot keep: a label (then /.autorelabel), a hard link.

    apply replaces each file by rename; the local Target copies every
    extended attribute (SELinux label, POSIX ACLs, user.*) onto the new file
    first. Where the Target cannot (``facts.target.keeps_xattrs`` false) an
    SELinux guest gets ``/.autorelabel``, so its next boot relabels the files
    (selinux(8), ``fixfiles``). The other names of a hard-linked file keep
    the old content: said, never hidden.
    """
    from .files import AUTORELABEL, needs_autorelabel

    out: list[Finding] = []
    changed = ws.changed()
    if changed and needs_autorelabel(facts) and not ws.exists(AUTORELABEL):
        ws.set(
            AUTORELABEL,
            "",
            "the files are replaced without their SELinux labels: relabel at the next boot",
            mode=0o644,
        )
        out.append(
            Finding(
                "selinux-autorelabel",
                INFO,
                f"SELinux is {facts.selinux} on this guest and this target cannot keep "
                "the files' labels when it replaces them, so the plan creates "
                f"{AUTORELABEL}: the next boot relabels the file systems (it takes a while "
                "and reboots once).",
                "Nothing to do; expect the relabel on the first boot.",
                "selinux(8); fixfiles(8)",
            )
        )
    links = getattr(files, "links", {}) or {}
    linked = sorted({ws.real(p) for p, n in links.items() if n > 1 and ws.real(p) in changed})
    if linked:
        out.append(
            Finding(
                "file-hard-linked",
                WARNING,
                f"{', '.join(linked)} ha{'s' if len(linked) == 1 else 've'} other hard "
                "links: apply replaces the file by rename, so the other names keep the "
                "old content.",
                "Make the other names symbolic links (or edit them the same way) after "
                "apply, or plan again once they are.",
                "rename(2)",
            )
        )
    return out


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
                            f"Do not boot its entry after the switch; {chosen.version} is "
                            "the one prepared.",
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
                            f"Do not boot its entry after the switch; {chosen.version} is "
                            "the one prepared.",
                            K.SEED,
                        )
                    ],
                )
            )
            continue
        modules = tuple(m for m in wanted if other.virtio.get(m) != BUILTIN)
        out.append((other, modules, []))
    return out
