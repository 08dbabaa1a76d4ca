"""The boot loader's default entry must boot a kernel the plan prepared.

The plan prepares the kernel the boot loader boots next, except where that
one cannot have virtio: a Xen paravirtual-only kernel (RHEL 5's ``-xen``,
which does not start on KVM at all), or, when the user names another kernel,
one the plan leaves out (``--one-kernel``, or a kernel without the modules).
Then the default entry still boots the unprepared kernel after the switch,
and the guest does not come up. virt-v2v's ``configure_kernel``
(``convert/convert_linux.ml``) makes its chosen kernel the boot loader's
default in that case (``bootloader#set_default_kernel``); so does the
wizard on grub legacy, the boot loader of the releases that have Xen
kernels: ``default N`` in grub.conf, or the number in ``/boot/grub/default``
for ``default saved`` (grub's info manual, "default", "savedefault"). On
grub2 and BLS the plan says which command makes it the default.

Pure: the edit goes into the Workspace, like the other planners.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Optional

from .. import knowledge as K
from ..facts import BootEntry, BootMenu, Facts, Kernel
from ..finding import INFO, WARNING, Finding, Remedy
from .edits import Workspace, split_lines
from .kernels import kernel_to_prepare
from .model import Choices

__all__ = ["GRUB_SAVED_DEFAULT", "needed_files", "plan_boot_default"]

#: Where grub legacy's ``savedefault`` and ``grub-set-default`` keep the number.
GRUB_SAVED_DEFAULT = "/boot/grub/default"
_DEFAULT_LINE = re.compile(r"^(\s*default(?:\s*=\s*|\s+))(\S+)(.*)$")
_TITLE_LINE = re.compile(r"^\s*title(?:\s|=|$)")
_NUMBER_LINE = re.compile(r"^(\s*)(\d+)(.*)$")


def needed_files(facts: Facts, choices: Choices) -> list[str]:
    """grub legacy's config (and its saved number) when the default is not the chosen kernel."""
    menu = facts.boot
    entry = menu.default_entry() if menu is not None else None
    chosen = kernel_to_prepare(facts, choices)
    if menu is None or entry is None or chosen is None or entry.version == chosen.version:
        return []
    if menu.loader != "grub-legacy":
        return []
    saved = menu.default_from.startswith("default saved")
    return [menu.config, GRUB_SAVED_DEFAULT] if saved else [menu.config]


def _unbootable(facts: Facts, entry: BootEntry, prepared: Sequence[str], initrd: bool) -> str:
    """Why the default entry's kernel will not come up on virtio ("" when it will)."""
    kernel = facts.kernel(entry.version)
    if kernel is None:
        return ""
    if kernel.xen_pv_only or K.is_xen_kernel(kernel.version):
        return "a Xen paravirtual-only kernel, which does not start on KVM"
    if initrd and kernel.version not in prepared:
        return "a kernel whose initrd this plan does not prepare"
    return ""


def _set_number(text: str, index: int) -> Optional[str]:
    """grub.conf with ``default`` set to ``index``; None for ``default saved`` or the like.

    A config without a ``default`` line boots entry 0: one is put before the
    first ``title``.
    """
    lines = split_lines(text)
    for i, raw in enumerate(lines):
        body = raw.rstrip("\r\n")
        if _TITLE_LINE.match(body):
            eol = raw[len(body) :] or "\n"
            lines.insert(i, f"default={index}{eol}")
            return "".join(lines)
        m = _DEFAULT_LINE.match(body)
        if m:
            if not m.group(2).isdigit():
                return None
            lines[i] = f"{m.group(1)}{index}{m.group(3)}{raw[len(body) :]}"
            return "".join(lines)
    return None


def _set_saved(text: str, index: int) -> Optional[str]:
    """``/boot/grub/default`` with its first line's number set to ``index``."""
    lines = split_lines(text)
    if not lines:
        return None
    body = lines[0].rstrip("\r\n")
    m = _NUMBER_LINE.match(body)
    if m is None:
        return None
    lines[0] = f"{m.group(1)}{index}{m.group(3)}{lines[0][len(body) :]}"
    return "".join(lines)


def _edit_legacy(menu: BootMenu, target: BootEntry, ws: Workspace) -> Optional[str]:
    """Make ``target`` grub legacy's default in ``ws``; the file changed, or None."""
    if "." in target.index or not target.index.isdigit():
        return None
    index = int(target.index)
    text = ws.text(menu.config)
    if text is None:
        return None
    why = f"boot entry {index} ({target.title}) by default: the plan prepared its kernel"
    new = _set_number(text, index)
    if new is not None:
        ws.set(menu.config, new, why)
        return menu.config
    saved = ws.text(GRUB_SAVED_DEFAULT)
    new = _set_saved(saved, index) if saved is not None else None
    if new is None:
        return None
    ws.set(GRUB_SAVED_DEFAULT, new, why)
    return GRUB_SAVED_DEFAULT


def _how_to(menu: BootMenu, target: Optional[BootEntry], kernel: Kernel) -> Remedy:
    """The boot loader's own way to make ``kernel`` the default, as advice and command."""
    if menu.loader == "bls" and target is not None and target.kernel:
        return Remedy(
            f"Make {kernel.version} the default before the switch.",
            command=("grubby", f"--set-default={target.kernel}"),
        )
    if menu.loader == "grub2" and target is not None and "saved_entry" in menu.default_from:
        tool = "grub2-set-default" if "/grub2/" in menu.config else "grub-set-default"
        return Remedy(
            f"Make {kernel.version} the default before the switch.",
            command=(tool, target.id or target.index),
        )
    where = f"entry {target.index} ({target.title})" if target is not None else "its entry"
    return Remedy(
        f"Make {where} the default in {menu.config} (GRUB_DEFAULT in /etc/default/grub, "
        "then regenerate, on grub2) before the switch, or choose the kernel it boots."
    )


def plan_boot_default(
    facts: Facts, choices: Choices, kernel: Kernel, prepared: Sequence[str], ws: Workspace
) -> list[Finding]:
    """Make the prepared kernel the default where the default boots an unprepared one."""
    menu = facts.boot
    entry = menu.default_entry() if menu is not None else None
    if menu is None or entry is None or entry.version in (None, kernel.version):
        return []
    why = _unbootable(facts, entry, prepared, choices.method == "initrd")
    if not why:
        return []
    target = next((e for e in menu.boot_entries if e.version == kernel.version), None)
    said = f"The boot loader's default entry ({entry.title}; {menu.default_from}) boots {why}"
    changed = _edit_legacy(menu, target, ws) if menu.loader == "grub-legacy" and target else None
    if changed and target is not None:
        return [
            Finding(
                "boot-default-changed",
                INFO,
                f"{said}: the plan makes entry {target.index} ({target.title}) the default "
                f"in {changed}, so {kernel.version} boots after the switch.",
                Remedy("Nothing to do; undo puts the old default back."),
                K.VIRT_V2V,
            )
        ]
    return [
        Finding(
            "boot-default-unprepared",
            WARNING,
            f"{said}: after the switch the guest boots it and does not come up; "
            f"{kernel.version} is the one prepared.",
            _how_to(menu, target, kernel),
            K.VIRT_V2V,
        )
    ]
