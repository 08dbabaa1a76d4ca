"""Every list of modules the guest already has, with line numbers.

The wizard validates existing lists against the guide's order and must never
add the same module twice (KNOWLEDGE.md sections 2 and 4), so it needs each
place a module can be named: rc.sysinit and the scripts it runs, the
one-name-per-line files, the initrd tools' settings, and virt-v2v's
``alias scsi_hostadapter`` lines in modprobe.conf.

``ModuleList.kind`` says which syntax the file was read with:

- ``rc.sysinit``: ``modprobe`` lines in the boot script;
- ``script``: ``modprobe``/``insmod`` lines in an executable module script
  (``/etc/rc.modules``, ``/etc/sysconfig/modules/*.modules``);
- ``lines``: one module per line (``/etc/modules``, modules-load.d,
  ``/etc/initramfs-tools/modules``);
- ``dracut``: ``add_drivers``/``force_drivers`` in a dracut config;
- ``mkinitcpio``: ``MODULES=(...)``;
- ``sysconfig-kernel``: SUSE's ``INITRD_MODULES`` and ``MODULES_LOADED_ON_BOOT``;
- ``modprobe-alias``: ``alias scsi_hostadapterN MODULE`` in modprobe.conf /
  modules.conf (RHEL 3 uses modules.conf).

Dedicated list files are reported even when they name nothing (the plan
then knows the file exists); shared config files only when they name modules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Callable, Optional

from ..facts import ModuleList, ModuleListEntry, Unreadable
from ..knowledge import canonical_module
from ._read import read_guest_text
from .sysinit import SYSINIT_PATHS, modprobe_module

if TYPE_CHECKING:
    from ..targets import Target

__all__ = [
    "detect_module_lists",
    "parse_lines_list",
    "parse_script",
    "parse_shell_list",
    "parse_aliases",
]

Problems = Optional[list[Unreadable]]

_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_INSMOD_RE = re.compile(r"^\s*(?:/sbin/|/usr/sbin/)?insmod\s+(?:-\S+\s+)*(\S+)")
_ALIAS_RE = re.compile(r"^\s*alias\s+(scsi_hostadapter\d*|eth\d+)\s+(\S+)")


def _split(text: str) -> list[str]:
    """Lines split on ``\\n`` only, as the planner splits them.

    ``str.splitlines`` also breaks at a form feed or a Latin-1 ``\\x85``; the
    line numbers shown to the user would then not be the file's.
    """
    return text.split("\n")


def parse_lines_list(text: str) -> tuple[ModuleListEntry, ...]:
    """One module per line (first word); ``#`` and ``;`` start comments.

    >>> parse_lines_list("# c\\nvirtio_blk\\n\\nloop max_loop=8\\n")
    (ModuleListEntry(line=2, module='virtio_blk'), ModuleListEntry(line=4, module='loop'))
    """
    out = []
    for no, line in enumerate(_split(text), 1):
        words = line.split("#", 1)[0].split()
        if not words or words[0].startswith(";"):
            continue
        if _NAME_RE.fullmatch(words[0]):
            out.append(ModuleListEntry(no, words[0]))
    return tuple(out)


def parse_script(text: str, insmod: bool = True) -> tuple[ModuleListEntry, ...]:
    """Literal ``modprobe NAME`` (and ``insmod PATH``) lines of a shell script."""
    out = []
    for no, line in enumerate(_split(text), 1):
        if line.lstrip().startswith("#"):
            continue
        name = modprobe_module(line)
        if name is None and insmod:
            m = _INSMOD_RE.match(line.split("#", 1)[0])
            if m and "$" not in m.group(1):
                name = canonical_module(m.group(1))
        if name is not None:
            out.append(ModuleListEntry(no, name))
    return tuple(out)


def parse_shell_list(text: str, keys: tuple[str, ...]) -> tuple[tuple[ModuleListEntry, ...], bool]:
    """Names in ``KEY="a b"``, ``KEY+=" c "`` or ``KEY=(a b)`` assignments.

    Returns the entries and whether any of ``keys`` was assigned at all.
    A parenthesised or quoted value may span lines; each name gets the line it
    is on.

    >>> parse_shell_list('MODULES=(virtio\\n  virtio_pci)\\n', ("MODULES",))[0][1]
    ModuleListEntry(line=2, module='virtio_pci')
    """
    lines = _split(text)
    out: list[ModuleListEntry] = []
    seen = False
    pattern = re.compile(r"^\s*(?:export\s+)?(" + "|".join(map(re.escape, keys)) + r")\+?=(.*)$")
    i = 0
    while i < len(lines):
        m = pattern.match(lines[i])
        if m is None or lines[i].lstrip().startswith("#"):
            i += 1
            continue
        seen = True
        rest = m.group(2).strip()
        closer = {"(": ")", '"': '"', "'": "'"}.get(rest[:1])
        if closer is None:
            word = rest.split("#", 1)[0].strip()
            if _NAME_RE.fullmatch(word):
                out.append(ModuleListEntry(i + 1, word))
            i += 1
            continue
        body = rest[1:]
        no = i + 1
        while True:
            end = body.find(closer)
            chunk = body if end < 0 else body[:end]
            for word in chunk.split("#", 1)[0].split() if closer == ")" else chunk.split():
                word = word.strip("\"'")
                if _NAME_RE.fullmatch(word):
                    out.append(ModuleListEntry(no, word))
            if end >= 0 or no >= len(lines):
                break
            body = lines[no]
            no += 1
        i = no
    return tuple(out), seen


def parse_aliases(text: str) -> tuple[ModuleListEntry, ...]:
    """``alias scsi_hostadapter MODULE`` (and ``alias ethN MODULE``) lines.

    >>> parse_aliases("alias eth0 e1000\\nalias scsi_hostadapter ata_piix\\n")
    (ModuleListEntry(line=1, module='e1000'), ModuleListEntry(line=2, module='ata_piix'))
    """
    out = []
    for no, line in enumerate(_split(text), 1):
        m = _ALIAS_RE.match(line)
        if m and _NAME_RE.fullmatch(m.group(2)) and m.group(2) != "off":
            out.append(ModuleListEntry(no, m.group(2)))
    return tuple(out)


def _in(target: Target, folder: str, suffix: str) -> list[str]:
    return [f"{folder}/{n}" for n in target.listdir(folder) if n.endswith(suffix)]


#: A list file's parser: (entries, whether the file assigns the list at all).
Parser = Callable[[str], tuple[tuple[ModuleListEntry, ...], bool]]


def _plain(fn: Callable[[str], tuple[ModuleListEntry, ...]]) -> Parser:
    """A parser of a dedicated list file: its mere presence counts as assigning it."""
    return lambda text: (fn(text), True)


def _candidates(target: Target) -> Iterator[tuple[str, str, Parser, bool]]:
    """(path, kind, parser, report when empty) of every place a list may be, in order."""
    sysinit = next((p for p in SYSINIT_PATHS if target.exists(p)), None)
    if sysinit is not None:
        yield sysinit, "rc.sysinit", _plain(lambda t: parse_script(t, insmod=False)), True
    for path in ["/etc/rc.modules", *_in(target, "/etc/sysconfig/modules", ".modules")]:
        yield path, "script", _plain(parse_script), True
    for path in [
        "/etc/modules",
        *_in(target, "/etc/modules-load.d", ".conf"),
        "/etc/initramfs-tools/modules",
    ]:
        yield path, "lines", _plain(parse_lines_list), True
    dracut_keys = ("add_drivers", "force_drivers")
    for path in ["/etc/dracut.conf", *_in(target, "/etc/dracut.conf.d", ".conf")]:
        yield path, "dracut", lambda t: parse_shell_list(t, dracut_keys), False
    for path in ["/etc/mkinitcpio.conf", *_in(target, "/etc/mkinitcpio.conf.d", ".conf")]:
        yield path, "mkinitcpio", lambda t: parse_shell_list(t, ("MODULES",)), True
    suse_keys = ("INITRD_MODULES", "MODULES_LOADED_ON_BOOT")
    yield (
        "/etc/sysconfig/kernel",
        "sysconfig-kernel",
        lambda t: parse_shell_list(t, suse_keys),
        True,
    )
    for path in [
        "/etc/modprobe.conf",
        "/etc/modules.conf",
        *_in(target, "/etc/modprobe.d", ".conf"),
    ]:
        yield path, "modprobe-alias", _plain(parse_aliases), False


def detect_module_lists(target: Target, problems: Problems = None) -> tuple[ModuleList, ...]:
    """Every module list present in the guest, in a stable order.

    A file reached twice (Debian's ``modules-load.d/modules.conf`` is a link
    to ``../modules``) is reported once, under the first name met.
    """
    found: list[ModuleList] = []
    resolved: set[str] = set()
    for path, kind, parse, always in _candidates(target):
        if not target.exists(path):
            continue
        real = target.resolve(path)
        if real in resolved:
            continue
        resolved.add(real)
        text = read_guest_text(target, path, problems)
        if text is None:
            continue
        entries, assigned = parse(text)
        if entries or (always and assigned):
            found.append(ModuleList(path, kind, entries))
    return tuple(found)
