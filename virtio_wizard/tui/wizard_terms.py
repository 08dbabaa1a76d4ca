"""A Finding's remedy in the wizard's words: where on screen each choice is made.

The core says what to change (``finding.Remedy``); the command line names
flags for it (``present.remedy.cli_fix``), the wizard names the control on
its steps. A setting the wizard has no control for (the guest's folder) says
how to start the wizard again.
"""

from __future__ import annotations

import shlex
from typing import Callable

from ..finding import Remedy, Setting
from ..present.remedy import join_options

__all__ = ["WHERE", "UNDO", "in_the_wizard", "wizard_fix"]

_DRIVERS = "on the Drivers step"
_RENAME = "'Rewrite /dev/hdX, /dev/sdX to /dev/vdX'"
_UUID = "'Write UUID= where the UUID is known'"
#: The Drivers step's choices by ``Choices.drivers`` value.
_DRIVER_SETS = {
    "block,net": "Block and network",
    "block": "Block (disks) only",
    "net": "Network only",
}

#: Where the wizard offers the undo that ``virtio-wizard undo`` runs.
UNDO = "press u on the Done screen, or on the Guest screen when you start again"


def _tick(label: str) -> Callable[[Setting], str]:
    return lambda s: f"{'tick' if s.value else 'untick'} {label} {_DRIVERS}"


def _sysinit_file(s: Setting) -> str:
    where = s.value or "another file"
    return f"pick {where} under 'File to load them from' {_DRIVERS} (sysinit path)"


#: Choice -> the words for making it in the wizard.
WHERE: dict[str, Callable[[Setting], str]] = {
    "method": lambda s: f"choose {s.value} on the Path step (Esc goes back to it)",
    "boot_disk": lambda s: (
        "set Boot disk to "
        + ("'stays emulated'" if s.value == "emulated" else "'moves to virtio'")
        + f" {_DRIVERS}"
    ),
    "sysinit_file": _sysinit_file,
    "kernel": lambda s: f"choose {s.value or 'the kernel'} under 'Kernel' {_DRIVERS}",
    "fix_disk_names": _tick(_RENAME),
    "use_uuid": _tick(_UUID),
    "root": lambda s: "quit (Ctrl+Q) and start the wizard again with --root DIR",
    "drivers": lambda s: (
        f"choose '{_DRIVER_SETS.get(str(s.value), s.value)}' under Drivers {_DRIVERS}"
    ),
}


def in_the_wizard(remedy: Remedy) -> list[str]:
    """Each alternative of ``remedy`` as what to do on screen, one line each.

    >>> from virtio_wizard.finding import choose
    >>> in_the_wizard(Remedy("", (choose(method="initrd"), choose(use_uuid=True))))
    ['choose initrd on the Path step (Esc goes back to it)', \
"tick 'Write UUID= where the UUID is known' on the Drivers step"]
    """
    return [" and ".join(WHERE[s.choice](s) for s in option) for option in remedy.options]


def wizard_fix(remedy: Remedy) -> str:
    """The remedy as the wizard says it: the advice, then where to make the change."""
    parts = [remedy.advice] if remedy.advice else []
    ways = in_the_wizard(remedy)
    if ways:
        parts.append(f"In the wizard: {join_options(ways)}.")
    if remedy.command:
        parts.append(f"Run: {shlex.join(remedy.command)}")
    return " ".join(parts)
