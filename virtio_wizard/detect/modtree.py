"""A kernel's module tree as evidence: ``modules.builtin``, ``modules.dep``, the files.

Asked by kernel detection in that order, each only while a reported module
is still unanswered (see ``kernels``): one read of ``modules.dep`` (depmod's
list of every module) spares a walk of some 900 folders on a distro kernel.
The same list answers whether modprobe can load a module at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Optional

from ..facts import Unreadable
from ..knowledge import canonical_module
from ..targets import Target
from ._read import read_guest_text

__all__ = [
    "MODULE_SUFFIX",
    "builtin_modules",
    "dep_entries",
    "dep_modules",
    "module_files",
    "not_in_modules_dep",
]

#: Module file names: ``.ko``, compressed ``.ko.*``, ``.o`` on 2.4 kernels.
MODULE_SUFFIX = r"\.(?:ko(?:\.(?:gz|xz|zst|bz2|lzma))?|o)"
MODULE_FILE = re.compile(MODULE_SUFFIX + "$")
#: A reported module's file name ending a ``modules.dep`` line's own path (the colon
#: after it). It starts with the literal ``virtio``, so the regex engine jumps
#: from candidate to candidate instead of trying every one of ~4,000 lines.
DEP_NAME = re.compile(r"virtio(?:[-_](?:ring|blk|net|pci|scsi))?" + MODULE_SUFFIX + ":")


def builtin_modules(
    target: Target, tree: str, problems: Optional[list[Unreadable]]
) -> Optional[set[str]]:
    """Canonical names in ``tree/modules.builtin`` (one path a line); None without the file."""
    path = f"{tree}/modules.builtin"
    if not target.exists(path):
        return None
    text = read_guest_text(target, path, problems)
    return {canonical_module(line.strip()) for line in (text or "").splitlines()}


def dep_modules(target: Target, tree: str, problems: Optional[list[Unreadable]]) -> set[str]:
    """The reported modules ``tree/modules.dep`` lists and whose files exist.

    One read of one file instead of a walk of the tree. A listed module whose
    file is gone (a stale list) does not count; an empty set when there is no
    list.
    """
    path = f"{tree}/modules.dep"
    if not target.is_file(path):
        return set()
    text = read_guest_text(target, path, problems)
    found: set[str] = set()
    for rel, name in dep_entries(text or ""):
        module = canonical_module(name)
        if module not in found and target.is_file(rel if rel.startswith("/") else f"{tree}/{rel}"):
            found.add(module)
    return found


def dep_entries(text: str) -> Iterator[tuple[str, str]]:
    """(path, file name) of each reported module a ``modules.dep`` text lists as its own.

    A line is ``path/name.ko: dependency ...``; a name counts only as the
    whole last part of a line's own path (a dependency after the colon, or a
    ``foo_virtio.ko``, does not).
    """
    for match in DEP_NAME.finditer(text):
        start = match.start()
        line = text.rfind("\n", 0, start) + 1
        if start > line and text[start - 1] != "/":
            continue
        if ":" in text[line:start]:
            continue
        yield text[line : match.end() - 1], match.group(0)[:-1]


def not_in_modules_dep(
    target: Target,
    tree_paths: tuple[str, ...],
    modules: list[str],
    problems: Optional[list[Unreadable]],
) -> tuple[str, ...]:
    """Those of ``modules`` (answered ``module``) that the tree's ``modules.dep`` does not list.

    "Has the module" must mean modprobe can load it: modprobe (and nash
    mkinitrd, through ``modprobe --show-depends``) finds modules only through
    ``modules.dep``, so a module file installed without ``depmod`` is as good
    as missing (issue 14). A tree without any ``modules.dep`` is not judged:
    nothing was ever run there to write one (fixture trees, a tree being
    built), and the other findings cover it.
    """
    trees = [t for t in tree_paths if target.is_file(f"{t}/modules.dep")]
    if not modules or not trees:
        return ()
    listed: set[str] = set()
    for tree in trees:
        listed |= dep_modules(target, tree, problems)
    return tuple(m for m in modules if m not in listed)


def module_files(target: Target, tree: str) -> set[str]:
    """Canonical names of every module file under one tree (one walk)."""
    found: set[str] = set()
    for _dirpath, _dirs, files in target.walk(tree):
        for name in files:
            if MODULE_FILE.search(name):
                found.add(canonical_module(name))
    return found
