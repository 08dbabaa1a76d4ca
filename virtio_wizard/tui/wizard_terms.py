"""What a command-line flag in a core message means inside the wizard.

The core's findings and messages are shared with the CLI, so their fixes
name flags ("use --method initrd", "--boot-disk emulated") and commands
("`virtio-wizard undo`"). The wizard shows those words unchanged (the same
text as ``plan`` and the report) and adds a footnote that says where the same
choice is made on screen. Each entry names exactly one flag or command of
``cli.py``; a message naming none gets no footnote.
"""

from __future__ import annotations

import re
from typing import Callable, Union

__all__ = ["EQUIVALENTS", "in_the_wizard", "footnote"]

_Says = Union[str, Callable[["re.Match[str]"], str]]


def _sysinit_file(match: re.Match[str]) -> str:
    path = match.group(1)
    where = path if path and path.startswith("/") else "another file"
    return f"pick {where} under 'File to load them from' on the Drivers step (sysinit path)"


#: (pattern in a core message, what to do in the wizard instead), first match per
#: entry; the order is the order of the footnote.
EQUIVALENTS: tuple[tuple[re.Pattern[str], _Says], ...] = (
    (re.compile(r"--method initrd\b"), "choose initrd on the Path step (Esc goes back to it)"),
    (re.compile(r"--method sysinit\b"), "choose sysinit on the Path step (Esc goes back to it)"),
    (
        re.compile(r"--drivers block,net\b"),
        "choose 'Block and network' under Drivers on the Drivers step",
    ),
    (
        re.compile(r"--boot-disk emulated\b"),
        "set Boot disk to 'stays emulated' on the Drivers step",
    ),
    (re.compile(r"--boot-disk virtio\b"), "set Boot disk to 'moves to virtio' on the Drivers step"),
    (
        re.compile(r"--sysinit-file(?: (/[^\s,;)]*[^\s,;).]))?"),
        _sysinit_file,
    ),
    (re.compile(r"--kernel\b"), "choose the kernel under 'Kernel' on the Drivers step"),
    (
        re.compile(r"--keep-disk-names\b"),
        "untick 'Rewrite /dev/hdX, /dev/sdX to /dev/vdX' on the Drivers step",
    ),
    (
        re.compile(r"--fix-disk-names\b"),
        "tick 'Rewrite /dev/hdX, /dev/sdX to /dev/vdX' on the Drivers step",
    ),
    (
        re.compile(r"without --use-uuid\b"),
        "untick 'Write UUID= where the UUID is known' on the Drivers step",
    ),
    (
        re.compile(r"(?<!without )--use-uuid\b"),
        "tick 'Write UUID= where the UUID is known' on the Drivers step",
    ),
    (
        re.compile(r"virtio-wizard undo\b"),
        "press u on the Done screen, or on the Guest screen when you start again",
    ),
    (re.compile(r"--root\b"), "quit (Ctrl+Q) and start the wizard again with --root DIR"),
)


def in_the_wizard(*texts: str) -> list[str]:
    """The wizard's way to do what the flags in ``texts`` do, one line per flag.

    >>> in_the_wizard("Use --method initrd, or keep the boot disk emulated with "
    ...               "--boot-disk emulated.")  # doctest: +NORMALIZE_WHITESPACE
    ['choose initrd on the Path step (Esc goes back to it)',
     "set Boot disk to 'stays emulated' on the Drivers step"]
    >>> in_the_wizard("Nothing to edit there; reboot after apply.")
    []
    """
    joined = "\n".join(t for t in texts if t)
    out: list[str] = []
    for pattern, says in EQUIVALENTS:
        match = pattern.search(joined)
        if match is None:
            continue
        line = says(match) if callable(says) else says
        if line not in out:
            out.append(line)
    return out


def footnote(*texts: str) -> str:
    """``in the wizard: ...`` for ``texts``, or "" when they name no flag.

    >>> footnote("Plan with --keep-disk-names.")
    "in the wizard: untick 'Rewrite /dev/hdX, /dev/sdX to /dev/vdX' on the Drivers step"
    """
    ways = in_the_wizard(*texts)
    return "in the wizard: " + "; ".join(ways) if ways else ""
