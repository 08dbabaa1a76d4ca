"""The wizard's defaults, one function each, shared by the TUI and the CLI.

A default the wizard picks must be one it would recommend: the Drivers step
preselects these, and the CLI fills in the options not given with them. Kept
apart from the planner so that both faces ask the same question the same
way (issue 11: the TUI and the CLI once disagreed about renaming the disks
of a boot disk that stays emulated, and the TUI's answer broke /boot).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Optional

from .sysinit_files import recommended_for

if TYPE_CHECKING:
    from ..facts import Facts
    from .model import Choices

__all__ = [
    "disks_move_to_virtio",
    "fix_disk_names_default",
    "boot_disk_default",
    "sysinit_file_default",
    "sysinit_file_candidates",
]


def disks_move_to_virtio(block: bool, boot_disk: str) -> bool:
    """Whether the planner knows which disks move to virtio, and their new names.

    Only when the block driver is chosen and the boot disk moves too: then
    every disk moves and detection's ``/dev/vdX`` proposals hold. With the
    boot disk left emulated it keeps its ``/dev/hdX`` name, the letters of
    any other disk that moves shift, and nothing says which ones move.

    >>> disks_move_to_virtio(True, "virtio"), disks_move_to_virtio(True, "emulated")
    (True, False)
    """
    return block and boot_disk == "virtio"


def fix_disk_names_default(choices: Choices) -> bool:
    """Rewrite disk names by default exactly when the disks move to virtio."""
    return disks_move_to_virtio(choices.block, choices.boot_disk)


def boot_disk_default(method: str) -> str:
    """Where the boot disk goes on a path: sysinit cannot serve it (the guide), so it stays.

    >>> boot_disk_default("sysinit"), boot_disk_default("initrd")
    ('emulated', 'virtio')
    """
    return "emulated" if method == "sysinit" else "virtio"


def sysinit_file_default(facts: Facts) -> Optional[str]:
    """The file the sysinit method edits when none is chosen: the recommended one.

    That is the cleaner file for this release when the guest reads it at boot
    (``recommended_for``); None where there is none, which the planner takes
    as the guide's ``/etc/rc.d/rc.sysinit``. The CLI without
    ``--sysinit-file`` and the wizard's Drivers step start from this file, so
    neither preselects a file and then advises another (issue 11).
    """
    return recommended_for(facts)


def sysinit_file_candidates(facts: Facts, choices: Choices) -> list[Choices]:
    """The choices to plan, best first, when the user left the sysinit file open.

    The recommended file first, then the guide's rc.sysinit (``None``) for a
    guest where the recommended file is refused; one entry, ``choices``
    itself, when a file was chosen or the method is not sysinit.
    """
    if choices.method != "sysinit" or choices.sysinit_file is not None:
        return [choices]
    best = sysinit_file_default(facts)
    if best is None:
        return [choices]
    return [dataclasses.replace(choices, sysinit_file=best), choices]
