"""The seed's hook point in ``/etc/rc.d/rc.sysinit``.

The seed adds its ``modprobe`` lines right after the block

    if [ -f /etc/rc.modules ]; then
    <TAB>/etc/rc.modules
    fi

That block sits near line 440, 555 or 350 depending on the RHEL release
(KNOWLEDGE.md section 4), so it is found by its content, never by a line
number, and whitespace variants (spaces for the TAB, ``then`` on its own line,
trailing blanks) are accepted because hand-edited guests have them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from ..facts import Sysinit, Unreadable
from ..knowledge import VIRTIO_MODULE_NAMES, canonical_module
from ._read import read_guest_text

if TYPE_CHECKING:
    from ..target import Target

__all__ = ["detect_sysinit", "find_hook_line", "modprobe_module", "SYSINIT_PATHS"]

Problems = Optional[list[Unreadable]]

#: rc.sysinit lives in /etc/rc.d; /etc/rc.sysinit is a link to it on RHEL.
SYSINIT_PATHS: tuple[str, ...] = ("/etc/rc.d/rc.sysinit", "/etc/rc.sysinit")
#: The if-line; ``then`` may follow on the same line or the next one.
_IF_RE = re.compile(r"^\s*if\s+\[\s+-f\s+/etc/rc\.modules\s+\]\s*(;\s*then)?\s*$")
_THEN_RE = re.compile(r"^\s*then\s*$")
_RUN_RE = re.compile(r"^\s*(?:\.\s+|sh\s+|/bin/sh\s+)?/etc/rc\.modules\s*(?:[;&|>].*)?$")
_FI_RE = re.compile(r"^\s*fi\s*(?:#.*)?$")
_MODPROBE_RE = re.compile(r"^\s*(?:/sbin/|/usr/sbin/)?modprobe\s+(.*)$")


def find_hook_line(lines: list[str]) -> Optional[int]:
    """1-based line of the ``fi`` closing the first ``/etc/rc.modules`` block.

    >>> find_hook_line(["# x", "if [ -f /etc/rc.modules ]; then", "\\t/etc/rc.modules", "fi"])
    4
    """
    for i, line in enumerate(lines):
        m = _IF_RE.match(line)
        if m is None:
            continue
        j = i + 1
        if m.group(1) is None:
            if j >= len(lines) or not _THEN_RE.match(lines[j]):
                continue
            j += 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j >= len(lines) or not _RUN_RE.match(lines[j]):
            continue
        j += 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j < len(lines) and _FI_RE.match(lines[j]):
            return j + 1
    return None


def modprobe_module(line: str) -> Optional[str]:
    """The literal module a ``modprobe`` line loads, or None.

    Options (``-q``) are skipped; a variable (``$i``) is not a module name.

    >>> modprobe_module("/sbin/modprobe -q virtio_blk >/dev/null 2>&1  # block")
    'virtio_blk'
    >>> modprobe_module("modprobe $module")
    """
    m = _MODPROBE_RE.match(line.split("#", 1)[0])
    if m is None:
        return None
    for token in m.group(1).split():
        if token.startswith("-"):
            continue
        if re.fullmatch(r"[A-Za-z0-9_-]+", token):
            return token
        return None
    return None


def detect_sysinit(target: Target, problems: Problems = None) -> Optional[Sysinit]:
    """The rc.sysinit hook, or None when the guest has no rc.sysinit.

    ``hook_line`` is None when the file has no ``/etc/rc.modules`` block (or
    cannot be read: then it is also in ``problems``).
    """
    path = next((p for p in SYSINIT_PATHS if target.exists(p)), None)
    if path is None:
        return None
    text = read_guest_text(target, path, problems)
    if text is None:
        return Sysinit(file=path, hook_line=None)
    lines = text.splitlines()
    hook = find_hook_line(lines)
    modprobes: list[str] = []
    if hook is not None:
        for line in lines[hook:]:
            name = modprobe_module(line)
            if name is not None and canonical_module(name) in VIRTIO_MODULE_NAMES:
                modprobes.append(line.strip())
    return Sysinit(file=path, hook_line=hook, modprobes=tuple(modprobes))
