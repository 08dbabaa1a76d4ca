"""Which guest files a plan needs for these choices.

The list ``plan`` expects in its ``files`` mapping; :func:`.files.read_files`
gathers them through the Target. Each part of the planner names the files it
reads (its ``needed_files``); this module only asks them all, in plan order.
"""

from __future__ import annotations

from typing import Callable

from .. import knowledge as K
from ..facts import Facts
from . import bootdefault, disknames, initrd, lvm, mdadm, modprobe, replace, sysinit, xen
from .model import Choices

__all__ = ["files_needed"]

#: Each part's ``needed_files``: the method (sysinit or initrd) first, then
#: the module aliases, Xen's default kernel, LVM, mdadm.conf, relabelling, disk names,
#: the boot loader's default entry.
PARTS: tuple[Callable[[Facts, Choices], list[str]], ...] = (
    sysinit.needed_files,
    initrd.needed_files,
    modprobe.needed_files,
    xen.needed_files,
    lvm.needed_files,
    mdadm.needed_files,
    replace.needed_files,
    disknames.needed_files,
    bootdefault.needed_files,
)


def files_needed(facts: Facts, choices: Choices) -> list[str]:
    """Guest paths whose current bytes ``plan`` needs for these choices."""
    return K.unique(path for part in PARTS for path in part(facts, choices))
