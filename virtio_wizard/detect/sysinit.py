"""The guide's hook point in ``/etc/rc.d/rc.sysinit``.

The guide adds its ``modprobe`` lines right after the block

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
    from ..targets import Target

__all__ = [
    "detect_sysinit",
    "detect_module_loaders",
    "find_hook_line",
    "modprobe_module",
    "SYSINIT_PATHS",
]

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


#: systemd's module loader (its presence means modules-load.d is read at boot).
MODULES_LOAD_BINARIES: tuple[str, ...] = (
    "/usr/lib/systemd/systemd-modules-load",
    "/lib/systemd/systemd-modules-load",
)
#: Debian's sysvinit readers of /etc/modules (kmod, then module-init-tools).
ETC_MODULES_SCRIPTS: tuple[str, ...] = ("/etc/init.d/kmod", "/etc/init.d/module-init-tools")


def detect_module_loaders(target: Target, problems: Problems = None) -> tuple[str, ...]:
    """Which boot-time module loaders this guest has, from what is installed.

    A file offered for the sysinit method must be one the guest reads at
    boot; this is the evidence (the release fills the gaps, see
    ``plan.sysinit_files.offered_files``). rc.sysinit is read for its
    ``/etc/rc.modules`` block and its ``/etc/sysconfig/modules/*.modules``
    loop (RHEL 5+); systemd-modules-load reads ``modules-load.d``; Debian reads
    ``/etc/modules`` from an init script or through
    ``/etc/modules-load.d/modules.conf -> ../modules``.
    """
    found: list[str] = []
    path = next((p for p in SYSINIT_PATHS if target.exists(p)), None)
    if path is not None:
        text = read_guest_text(target, path, problems)
        if text is not None:
            if find_hook_line(text.splitlines()) is not None:
                found.append("rc.modules")
            if "/etc/sysconfig/modules/" in text:
                found.append("sysconfig-modules")
    systemd = any(target.is_file(p) for p in MODULES_LOAD_BINARIES)
    if systemd:
        found.append("systemd-modules-load")
    link = "/etc/modules-load.d/modules.conf"
    try:
        linked = target.is_symlink(link) and target.resolve(link) == "/etc/modules"
    except OSError:
        linked = False
    if any(target.is_file(p) for p in ETC_MODULES_SCRIPTS) or linked:
        found.append("etc-modules")
    return tuple(found)
