"""Disk names: point the guest's files at the virtio disks (/dev/vdX).

Emulated disks are ``/dev/hdX`` (IDE) or ``/dev/sdX``; on virtio the same
disk is ``/dev/vdX``. Anything that still names the old device breaks after
the switch: the guide's example is swap on ``/dev/hda3`` silently missing.
Detection lists every reference with the name it should become
(``DiskRef.proposed``); here each such file gets one edit that replaces
exactly those tokens on those lines. A token is matched whole, so
``/dev/hda1`` never touches ``/dev/hda10``. With ``use_uuid`` the robust
``UUID=`` form is written where the file system's UUID is known.

Bus-specific names (``/dev/disk/by-id/ata-...``, ``by-path/...``) are
references like any other: the ones detection could map are rewritten to
``/dev/vdX``; the others have no virtio name, so only ``UUID=`` (when known
and asked for) can replace them, and the rest are named in a warning.
"""

from __future__ import annotations

import re
from typing import Optional

from .. import knowledge as K
from ..detect.grubenv import GRUBENV_CONTEXT
from ..facts import DiskRef, Facts
from ..finding import ERROR, INFO, WARNING, Finding, Remedy, Setting, choose
from .defaults import disks_move_to_virtio
from .edits import Workspace, split_lines
from .files import RUNTIME_CONTEXTS
from .grubenv import set_renamed
from .model import Choices

__all__ = [
    "plan_disk_names",
    "refuse_renaming_emulated",
    "replace_token",
    "UUID_CONTEXTS",
    "KERNEL_ARG_CONTEXTS",
]

#: Contexts whose device field takes ``UUID=...`` directly.
UUID_CONTEXTS = frozenset({"fstab", "crypttab"})
#: Contexts holding kernel arguments, where ``root=``/``resume=`` take ``UUID=...``.
KERNEL_ARG_CONTEXTS = frozenset(
    {
        "grub-root",
        "grub-resume",
        "grub-kernel-root",
        "default-grub",
        "grub2-root",
        "grub2-resume",
        "bls-root",
        "bls-resume",
        "kernel-cmdline",
        "suse-bootloader",
        GRUBENV_CONTEXT,
    }
)
#: initramfs-tools' ``RESUME=`` takes ``UUID=...`` too (initramfs-tools(7)).
RESUME_CONTEXTS = frozenset({"initramfs-resume"})
#: Characters that continue a device token on either side.
_TOKEN_CHARS = r"\w./-"


def needed_files(facts: Facts, choices: Choices) -> list[str]:
    """The files that name disks to rename, and the disk configs detection could not read."""
    if not choices.fixes_disk_names:
        return []
    # Imported here: detection imports the Target, the planner stays without it.
    from ..detect.disks import is_disk_config

    paths = [r.file for r in facts.disk_refs if r.proposed and r.context not in RUNTIME_CONTEXTS]
    # Detection skipped these, so they show no names to change; they may
    # hold some all the same: the plan must see them to refuse them.
    return paths + [u.path for u in facts.unreadable if is_disk_config(u.path)]


def replace_token(line: str, device: str, new: str, prefix: str = "") -> tuple[str, int]:
    """Replace whole-token ``device`` (after ``prefix``, e.g. ``root=``) in ``line``.

    >>> replace_token("/dev/hda1 /boot ext3\\n/dev/hda10", "/dev/hda1", "/dev/vda1")
    ('/dev/vda1 /boot ext3\\n/dev/hda10', 1)
    """
    pattern = re.compile(rf"(?<![{_TOKEN_CHARS}])({prefix}){re.escape(device)}(?![{_TOKEN_CHARS}])")
    return pattern.subn(lambda m: m.group(1) + new, line)


def _new_name(ref: DiskRef, use_uuid: bool) -> Optional[tuple[str, str]]:
    """(text to write, prefix it must follow) for one reference; None when nothing fits."""
    if use_uuid and ref.uuid:
        if ref.context in UUID_CONTEXTS:
            return f"UUID={ref.uuid}", ""
        if ref.context in KERNEL_ARG_CONTEXTS:
            return f"UUID={ref.uuid}", "root=|resume="
        if ref.context in RESUME_CONTEXTS:
            return f"UUID={ref.uuid}", "RESUME=[\"']?"
    if ref.proposed is None:
        return None
    return ref.proposed, ""


def _unmapped_finding(refs: list[DiskRef], use_uuid: bool) -> Finding:
    """The legacy references the plan leaves as they are: no virtio name, no UUID= to write."""
    listed = ", ".join(K.unique(f"{r.file}:{r.line} {r.device}" for r in refs))
    fix = "Change them to UUID= or LABEL= (blkid shows them) before switching the disk to virtio"
    options: tuple[tuple[Setting, ...], ...] = ()
    if not use_uuid and any(r.uuid for r in refs):
        fix += ", or let the wizard write UUID= where it is known (for some of them it is)"
        options = (choose(use_uuid=True),)
    return Finding(
        "disk-names-unmapped",
        WARNING,
        "Left as they are, with no virtio name known (they name a disk by its emulated bus, "
        "which virtio does not show): " + listed + ".",
        Remedy(fix + ".", options),
        K.SEED_SWAP,
    )


def refuse_renaming_emulated(choices: Choices) -> list[Finding]:
    """A refusal for a plan that would rename disks which stay emulated.

    Only when the block driver is chosen and the boot disk moves do the disks
    get virtio names. A boot disk left on IDE/SATA keeps its ``/dev/hdX`` or
    ``/dev/sdX`` name, and with the network driver alone every disk stays
    where it is: rewriting ``/boot``, swap or ``resume=`` to ``/dev/vdX`` then
    points them at a device that does not exist after the switch (issue 11).
    Refused here, in the planner, so that no face can make such a plan.
    """
    if disks_move_to_virtio(choices.block, choices.boot_disk):
        return []
    if not (choices.fix_disk_names or choices.use_uuid):
        return []
    if choices.block:
        message = (
            "The boot disk stays emulated (IDE/SATA), so its /dev/hdX or /dev/sdX names stay "
            "right: rewriting them to /dev/vdX would point /boot, / and swap at a disk that "
            "does not exist after the switch."
        )
        fix = Remedy(
            "Keep the disk names as they are (no UUID= either), or move the boot disk to "
            "virtio by loading the drivers from the initrd.",
            (
                choose(fix_disk_names=False, use_uuid=False),
                choose(method="initrd", boot_disk="virtio"),
            ),
        )
    else:
        message = (
            "Only the network driver is chosen, so every disk stays emulated (IDE/SATA) and "
            "keeps its /dev/hdX or /dev/sdX name: rewriting them to /dev/vdX would point "
            "/boot, / and swap at a disk that does not exist after the switch."
        )
        fix = Remedy(
            "Keep the disk names as they are (no UUID= either), or move the disks too: "
            "both drivers, loaded from the initrd.",
            (
                choose(fix_disk_names=False, use_uuid=False),
                choose(drivers="block,net", method="initrd"),
            ),
        )
    return [Finding("disk-names-stay-emulated", ERROR, message, fix, K.SEED_SWAP)]


def grub_mkconfig_argv(facts: Facts, config: str) -> tuple[str, ...]:
    """The distribution's own command that regenerates ``config``.

    Debian and Ubuntu wrap grub-mkconfig as ``update-grub``; Red Hat, Fedora
    and SUSE name it ``grub2-mkconfig``, also for the menu RHEL 7-8 and
    Fedora < 34 keep on the EFI system partition
    (``grub2-mkconfig -o /boot/efi/EFI/redhat/grub.cfg``); a ``/boot/grub``
    elsewhere (Arch, Gentoo) is plain ``grub-mkconfig``'s.
    """
    if facts.distro.family == "debian":
        return ("update-grub",)
    tool = "grub-mkconfig" if config.startswith("/boot/grub/") else "grub2-mkconfig"
    return (tool, "-o", config)


def _grub_cfg_note(facts: Facts, configs: list[str]) -> Finding:
    """Say that grub.cfg is remapped by text, and why the wizard does not regenerate it.

    grub-mkconfig asks grub-probe for the root device: in a chroot on an
    offline root that is the host's disk; on a live guest before the switch
    it is still the emulated ``/dev/sdX`` and would write the old names back
    (with ``GRUB_DISABLE_LINUX_UUID=true``). After the switch the same command
    sees the virtio disk, so that is when it is safe.
    """
    command = " ".join(grub_mkconfig_argv(facts, configs[0]))
    where = (
        "on this offline root grub-mkconfig would probe the host's disks, not the guest's"
        if not facts.target.live
        else "before the switch grub-probe still sees the emulated disk and would write the "
        "old names back"
    )
    return Finding(
        "grub-cfg-remapped",
        INFO,
        f"{', '.join(configs)} is generated by grub-mkconfig; the wizard changes its "
        f"root=/resume= names by text instead of regenerating it: {where}.",
        Remedy(
            f"After the switch, `{command}` on the guest regenerates it from the edited "
            "/etc/default/grub with the virtio names."
        ),
        K.VIRT_V2V,
    )


def _names_kept_note(facts: Facts, choices: Choices) -> list[Finding]:
    """Why a boot disk left emulated keeps its names (nothing said with net alone)."""
    if not choices.block or refuse_renaming_emulated(choices):
        return []
    if not any(r.scheme == "legacy" for r in facts.disk_refs):
        return []
    return [
        Finding(
            "disk-names-boot-emulated",
            INFO,
            "The boot disk stays emulated, so disk names are left as they are: "
            "its /dev/hdX or /dev/sdX names stay right.",
            Remedy("Name other disks that move to virtio by UUID= or LABEL= in /etc/fstab."),
            K.SEED_SWAP,
        )
    ]


def _rename_notes(facts: Facts, choices: Choices, refs: list[DiskRef]) -> list[Finding]:
    """What the renames leave alone or guess: unmapped names, running state, disk order."""
    findings: list[Finding] = []
    unmapped = [
        r
        for r in facts.disk_refs
        if r.scheme == "legacy"
        and r.context not in RUNTIME_CONTEXTS
        and _new_name(r, choices.use_uuid) is None
    ]
    if unmapped:
        findings.append(_unmapped_finding(unmapped, choices.use_uuid))
    runtime = [r for r in refs if r.context in RUNTIME_CONTEXTS]
    if runtime:
        where = ", ".join(K.unique(r.file for r in runtime))
        findings.append(
            Finding(
                "disk-names-runtime",
                INFO,
                f"{where} still name{'s' if len(runtime) == 1 else ''} the old disks: "
                "that is the running state, and it follows the edited files after a reboot.",
                Remedy("Nothing to edit there; reboot after apply."),
                K.SEED_SWAP,
            )
        )
    guessed = K.unique(
        f"{r.device} -> {r.proposed}"
        for r in refs
        if r.guessed and r.context not in RUNTIME_CONTEXTS
    )
    if guessed:
        findings.append(
            Finding(
                "disk-order-guessed",
                WARNING,
                "The new names are a guess from the old disks' order: "
                + ", ".join(guessed)
                + ". If the hypervisor presents the disks in another order they will be wrong.",
                Remedy(
                    "Check the disk order in the VM definition, or write UUID= where UUIDs "
                    "are known.",
                    (choose(use_uuid=True),),
                ),
                K.VIRT_V2V,
            )
        )
    return findings


def _by_real_file(edit: list[DiskRef], ws: Workspace) -> dict[str, list[DiskRef]]:
    """The references grouped by the real file behind their path, each line once."""
    by_file: dict[str, list[DiskRef]] = {}
    seen: set[tuple[str, int, str]] = set()
    for r in edit:
        real = ws.real(r.file)
        key = (real, r.line, r.device)
        if key in seen:
            continue
        seen.add(key)
        by_file.setdefault(real, []).append(r)
    return by_file


def _rename_lines(
    lines: list[str], refs: list[DiskRef], use_uuid: bool
) -> tuple[list[str], list[str]]:
    """Rename each reference on its line in ``lines``; return (changes, stale references)."""
    changes: list[str] = []
    stale: list[str] = []
    for r in refs:
        i = r.line - 1
        name = _new_name(r, use_uuid)
        assert name is not None  # refs holds only references with a new name
        new, prefix = name
        count = 0
        if 0 <= i < len(lines):
            lines[i], count = replace_token(lines[i], r.device, new, prefix)
            if count == 0 and prefix and r.proposed:
                # Not after root=/resume= (e.g. a bare device argument):
                # UUID= would mean nothing there, the virtio name does.
                new = r.proposed
                lines[i], count = replace_token(lines[i], r.device, new)
        if count == 0:
            stale.append(f"{r.file}:{r.line} {r.device}")
            continue
        change = f"{r.device} -> {new}"
        if change not in changes:
            changes.append(change)
    return changes, stale


def _rename_in_files(
    edit: list[DiskRef], ws: Workspace, use_uuid: bool
) -> tuple[list[str], list[Finding]]:
    """Plan one edit per real file into ``ws``: (references no longer found, notes).

    A grub environment block keeps its size (``grubenv.set_renamed``).
    """
    stale: list[str] = []
    findings: list[Finding] = []
    for path, file_refs in _by_real_file(edit, ws).items():
        text = ws.text(path)
        if text is None:
            stale += [f"{r.file}:{r.line} {r.device}" for r in file_refs]
            continue
        lines = split_lines(text)
        changes, missed = _rename_lines(lines, file_refs, use_uuid)
        stale += missed
        if changes:
            findings += set_renamed(ws, path, "".join(lines), changes)
    return stale, findings


def plan_disk_names(facts: Facts, choices: Choices, ws: Workspace) -> list[Finding]:
    """Plan the disk-name edits into ``ws``; return notes and warnings.

    Only disks that move to virtio are renamed: with the boot disk left
    emulated, or the network driver alone, nothing is
    (``refuse_renaming_emulated`` refuses asking for it).
    """
    if not disks_move_to_virtio(choices.block, choices.boot_disk):
        return _names_kept_note(facts, choices)
    if not choices.fixes_disk_names:
        return []
    refs = [r for r in facts.disk_refs if r.proposed or _new_name(r, choices.use_uuid)]
    findings = _rename_notes(facts, choices, refs)
    edit = [r for r in refs if r.context not in RUNTIME_CONTEXTS]
    stale, notes = _rename_in_files(edit, ws, choices.use_uuid)
    findings += notes
    grub_cfgs = K.unique(
        ws.real(r.file) for r in edit if r.context in ("grub2-root", "grub2-resume")
    )
    if grub_cfgs and any(p in ws.changed() for p in grub_cfgs):
        findings.append(_grub_cfg_note(facts, grub_cfgs))
    if stale:
        findings.append(
            Finding(
                "disk-ref-stale",
                WARNING,
                "These disk references were not where detection saw them (the file changed?) "
                "and are left alone: " + ", ".join(stale) + ".",
                Remedy("Run detect again, or edit them by hand."),
                K.SEED_SWAP,
            )
        )
    return findings
