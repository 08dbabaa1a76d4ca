"""The sysinit method: load the modules late in boot from a start-up file.

The guide's edit puts ``modprobe`` lines, in its order, right after the
``if [ -f /etc/rc.modules ]; then ... fi`` block of ``/etc/rc.d/rc.sysinit``.
That file is replaced by every initscripts update, so the wizard also offers
the cleaner files that survive one, and names the one that fits the distro
(``sysinit-recommended-file``). Loaded this late, the drivers cannot serve the
disk the system boots from (the guide): that choice is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from .. import knowledge as K
from ..facts import Facts
from ..finding import ERROR, INFO, Finding, Remedy, choose
from .edits import (
    ORDER_TEXT,
    Workspace,
    line_ending,
    merge_or_refuse,
    merge_whole_file,
    parse_modprobe,
    parse_module_line,
    split_lines,
)
from .model import Choices
from .sysinit_files import offered_files, recommended_file, recommended_for

__all__ = ["plan_sysinit", "needed_files", "find_hook", "ORDER_TEXT"]

SYSTEMD_MODULES_LOAD = "modules-load.d(5) (systemd-modules-load)"
RHEL5_SYSCONFIG_MODULES = (
    "initscripts 8.45 rc.sysinit (runs executable /etc/sysconfig/modules/*.modules)"
)
DEBIAN_MODULES = "modules(5) (Debian, Ubuntu)"
#: Files the wizard writes as executable shell scripts (run by rc.sysinit).
SCRIPT_FILES = (K.RC_MODULES, K.SYSCONFIG_MODULES)
SCRIPT_HEADER = "#!/bin/sh"
LIST_HEADER = "# virtio drivers, in the order they must load (written by virtio-wizard)"


def _not_read(facts: Facts, chosen: str) -> list[Finding]:
    """Refuse a file the guest's init never reads (issue 10 item 8, issue 14)."""
    offered = offered_files(facts)
    if chosen in offered:
        return []
    name = " ".join(p for p in (facts.distro.name or facts.distro.id, facts.distro.version) if p)
    return [
        Finding(
            "sysinit-file-not-run",
            ERROR,
            f"{chosen} is not read at boot on this guest ({name or 'unknown release'}), so "
            "modules listed there would never load although the plan would say they do.",
            Remedy(
                "Choose a file this guest reads at boot"
                + (f" ({', '.join(offered)})" if offered else " (there is none)")
                + ", or load the drivers from the initrd.",
                (*(choose(sysinit_file=f) for f in offered), choose(method="initrd")),
            ),
            K.SEED_SYSINIT,
        )
    ]


def _recommendation_note(facts: Facts, chosen: str) -> list[Finding]:
    distro = facts.distro
    rec = recommended_for(facts)
    if rec is None or rec == chosen:
        return []
    source = {
        K.RC_MODULES: K.SEED_SYSINIT,
        K.SYSCONFIG_MODULES: RHEL5_SYSCONFIG_MODULES,
        K.ETC_MODULES: DEBIAN_MODULES,
        K.MODULES_LOAD_D: SYSTEMD_MODULES_LOAD,
    }[rec]
    name = " ".join(p for p in (distro.name or distro.id, distro.version) if p)
    # Only rc.sysinit is replaced by package updates; another chosen file is
    # merely not the usual one for this release.
    why = (
        f"it survives updates that replace {chosen}."
        if chosen == K.RC_SYSINIT
        else f"{chosen} is not the usual one there."
    )
    return [
        Finding(
            "sysinit-recommended-file",
            INFO,
            f"On {name} the cleaner place for the modules is {rec}: {why}",
            Remedy(f"Plan again with {rec} to use it.", (choose(sysinit_file=rec),)),
            source,
        )
    ]


def find_hook(lines: Sequence[str], hint: Optional[int] = None) -> Optional[int]:
    """0-based index of the ``fi`` closing the ``/etc/rc.modules`` block, or None.

    ``hint`` is detection's 1-based ``hook_line``; it is used when the text
    there is the block, else the block is searched by content (never trust a
    line number alone: the file may have changed since detection).
    Whitespace is ignored, so the guide's printed spaces match the real TAB.
    """
    block = [" ".join(line.split()) for line in K.RC_MODULES_BLOCK]

    def at(i: int) -> bool:
        if i < 2 or i >= len(lines):
            return False
        return [" ".join(lines[j].split()) for j in (i - 2, i - 1, i)] == block

    if hint is not None and at(hint - 1):
        return hint - 1
    for i in range(2, len(lines)):
        if at(i):
            return i
    return None


def _edit_rc_sysinit(
    facts: Facts, path: str, modules: Sequence[str], ws: Workspace, strict: bool = True
) -> list[Finding]:
    text = ws.text(path)
    if text is None:
        rec = recommended_file(facts.distro) or K.RC_MODULES
        return [
            Finding(
                "sysinit-no-file",
                ERROR,
                f"{path} does not exist on this guest, so the edit has nowhere to go.",
                Remedy(
                    f"Choose another file (for this guest: {rec}), or load the drivers from "
                    "the initrd.",
                    (choose(sysinit_file=rec), choose(method="initrd")),
                ),
                K.SEED_SYSINIT,
            )
        ]
    lines = split_lines(text)
    hint = facts.sysinit.hook_line if facts.sysinit and facts.sysinit.file == path else None
    hook = find_hook(lines, hint)
    if hook is None:
        # Without the block rc.sysinit never runs /etc/rc.modules either, so
        # that file is no way out here; the sysconfig loop may still be there.
        ways = "load the drivers from the initrd"
        options = [choose(method="initrd")]
        if _runs_sysconfig_modules(text):
            ways = f"use {K.SYSCONFIG_MODULES} (run by {path}) or {ways}"
            options.insert(0, choose(sysinit_file=K.SYSCONFIG_MODULES))
        return [
            Finding(
                "sysinit-hook-missing",
                ERROR,
                f"The block 'if [ -f /etc/rc.modules ]; then /etc/rc.modules fi' was not "
                f"found in {path}; Red Hat's virtualization guide puts the modprobe lines "
                "right after it, and "
                f"without it {K.RC_MODULES} is never run either.",
                Remedy(
                    f"{ways[0].upper()}{ways[1:]}, or restore the block from the initscripts "
                    "package and plan again.",
                    tuple(options),
                ),
                K.SEED_SYSINIT,
            )
        ]
    end = hook + 1
    while end < len(lines):
        stripped = lines[end].strip()
        if stripped and not stripped.startswith("#") and parse_modprobe(lines[end]) is None:
            break
        end += 1
    merge, notes = merge_or_refuse(
        path,
        lines,
        modules,
        parse_modprobe,
        lambda m: f"modprobe {m}",
        range(hook + 1, end),
        hook + 1,
        line_ending(text),
        lead=("",),
        strict=strict,
    )
    if merge is None:
        return notes
    if merge.added:
        ws.set(
            path,
            "".join(merge.lines),
            f"load {', '.join(merge.added)} in the required order right after the "
            "/etc/rc.modules block of rc.sysinit",
        )
    return notes


def _runs_sysconfig_modules(rc_sysinit: str) -> bool:
    """Does this rc.sysinit run ``/etc/sysconfig/modules/*.modules`` (RHEL 5+)?"""
    return "/etc/sysconfig/modules/" in rc_sysinit


def _script_not_run(path: str, ws: Workspace) -> list[Finding]:
    """Refuse a start-up script the guest's rc.sysinit would never run.

    ``/etc/rc.modules`` runs only from the guide's block and
    ``/etc/sysconfig/modules/*.modules`` only from the RHEL 5+ loop; when the
    guest has an rc.sysinit without them, writing the script changes nothing
    at boot, which the user would only find out after switching the devices.
    Without an rc.sysinit (systemd releases) the file's own runner decides.
    """
    rc = ws.text(K.RC_SYSINIT)
    if rc is None:
        return []
    if path == K.RC_MODULES:
        runs = find_hook(split_lines(rc)) is not None
    else:
        runs = _runs_sysconfig_modules(rc)
    if runs:
        return []
    return [
        Finding(
            "sysinit-file-not-run",
            ERROR,
            f"{K.RC_SYSINIT} on this guest never runs {path}, so modules loaded from it "
            "would not load at boot.",
            Remedy(
                "Choose another file, or load the drivers from the initrd.",
                (choose(sysinit_file=""), choose(method="initrd")),
            ),
            K.SEED_SYSINIT,
        )
    ]


def _edit_list_file(
    path: str, modules: Sequence[str], ws: Workspace, strict: bool = True
) -> list[Finding]:
    """rc.modules, sysconfig/modules, /etc/modules, modules-load.d: add missing names."""
    script = path in SCRIPT_FILES
    if script:
        refused = _script_not_run(path, ws)
        if refused:
            return refused
    parse = parse_modprobe if script else parse_module_line

    def fmt(m: str) -> str:
        return f"modprobe {m}" if script else m

    text = ws.text(path)
    if text is None:
        header = SCRIPT_HEADER if script else LIST_HEADER
        body = "".join(f"{fmt(m)}\n" for m in modules)
        why = (
            f"create {path} (#!/bin/sh, mode 0755: rc.sysinit runs it only then) "
            f"loading {', '.join(modules)} in the required order"
            if script
            else f"create {path} listing {', '.join(modules)} in the required order"
        )
        ws.set(path, f"{header}\n{body}", why, 0o755 if script else 0o644)
        return []
    merge, notes = merge_whole_file(path, text, modules, parse, fmt, strict)
    if merge is None:
        return notes
    mode = ws.mode(path)
    new_mode = None
    if script and mode is not None and not mode & 0o100:
        new_mode = mode | 0o111
    whys = []
    if merge.added:
        whys.append(f"add {', '.join(merge.added)} to {path} in the required order")
    if new_mode is not None:
        whys.append(f"make {path} executable (mode {new_mode:04o}): it is run, not read")
    if whys:
        ws.set(path, "".join(merge.lines), "; ".join(whys), new_mode)
    return notes


def needed_files(facts: Facts, choices: Choices) -> list[str]:
    """The chosen file, and rc.sysinit when it must run the chosen script."""
    if choices.method != "sysinit":
        return []
    chosen = choices.sysinit_file or K.RC_SYSINIT
    paths = [chosen] if chosen in K.SYSINIT_FILES else []
    if chosen in SCRIPT_FILES:
        paths.append(K.RC_SYSINIT)  # does it run the chosen script at all?
    return paths


def plan_sysinit(
    facts: Facts, choices: Choices, modules: Sequence[str], ws: Workspace, strict: bool = True
) -> list[Finding]:
    """Plan the sysinit method into ``ws``; return refusals and notes.

    ``strict``: the kernel needs the guide's load order (2.4); otherwise an
    existing list in another order is kept and completed (a warning).
    """
    chosen = choices.sysinit_file or K.RC_SYSINIT
    if chosen not in K.SYSINIT_FILES:
        return [
            Finding(
                "sysinit-file-unsupported",
                ERROR,
                f"{chosen} is not a file the sysinit method knows how to edit.",
                Remedy("Use one of: " + ", ".join(K.SYSINIT_FILES) + "."),
                K.SEED_SYSINIT,
            )
        ]
    if choices.block and choices.boot_disk == "virtio":
        return [
            Finding(
                "sysinit-no-boot-disk",
                ERROR,
                "Drivers loaded by the sysinit script come too late for the disk the "
                "guest boots from, so the boot disk cannot move to virtio this way.",
                Remedy(
                    "Load the drivers from the initrd, or keep the boot disk emulated.",
                    (choose(method="initrd"), choose(boot_disk="emulated")),
                ),
                K.SEED_SYSINIT,
            )
        ]
    if chosen != K.RC_SYSINIT:
        # rc.sysinit itself has its own refusals (no file, no block) below.
        refused = _not_read(facts, chosen)
        if refused:
            return refused
    notes = _recommendation_note(facts, chosen)
    if facts.drivers_auto and modules:
        # The guide lists these releases as loading the drivers by themselves,
        # yet its own sysinit procedure is written for RHEL 3.9: the lines are
        # harmless there and pin the load order, so the user's choice stands.
        reason = f" ({facts.drivers_auto_reason})" if facts.drivers_auto_reason else ""
        notes.append(
            Finding(
                "drivers-auto",
                INFO,
                f"The drivers come by themselves on this release{reason}; the modprobe "
                "lines are added anyway, as Red Hat's RHEL 3.9 procedure does, and only "
                "pin the load order.",
                Remedy(
                    "Nothing else is needed for the drivers; check that the disks are named right."
                ),
                K.SEED_AUTO,
            )
        )
    if not modules:
        return notes
    if chosen == K.RC_SYSINIT:
        return _edit_rc_sysinit(facts, chosen, modules, ws, strict) + notes
    return _edit_list_file(chosen, modules, ws, strict) + notes
