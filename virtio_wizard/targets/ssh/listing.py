"""Reading ``ls -lnA`` output: the SSH target's stat, as POSIX specifies ``ls``.

Old guests have no ``stat -c`` and no Python, but every ``ls`` prints the
mode, owner, size and a link's target in the same columns (C locale). One
listing of a folder answers every later question about its entries.
"""

from __future__ import annotations

import os
import re
import stat as stat_mod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from ..base import StatInfo

__all__ = ["Entry", "mode_from_ls", "parse_ls_line", "parse_listing"]

#: ``ls -ln`` as POSIX specifies it: mode, links, uid, gid, size (or ``maj, min``),
#: a three-token date in the C locale, one space, the name.
_LS_LINE = re.compile(
    rb"^(\S{10})\S*\s+\d+\s+(\d+)\s+(\d+)\s+(\d+|\d+,\s*\d+)\s+\S+\s+\S+\s+\S+ (.*)$", re.S
)

_TYPES = {
    ord("-"): stat_mod.S_IFREG,
    ord("d"): stat_mod.S_IFDIR,
    ord("l"): stat_mod.S_IFLNK,
    ord("c"): stat_mod.S_IFCHR,
    ord("b"): stat_mod.S_IFBLK,
    ord("p"): stat_mod.S_IFIFO,
    ord("s"): stat_mod.S_IFSOCK,
}


def mode_from_ls(text: bytes) -> int:
    """``-rwsr-x--T`` -> the st_mode it stands for (type and all 12 mode bits)."""
    mode = _TYPES.get(text[0], 0)
    bits = (
        (1, stat_mod.S_IRUSR),
        (2, stat_mod.S_IWUSR),
        (4, stat_mod.S_IRGRP),
        (5, stat_mod.S_IWGRP),
        (7, stat_mod.S_IROTH),
        (8, stat_mod.S_IWOTH),
    )
    for pos, bit in bits:
        if text[pos] not in b"-":
            mode |= bit
    for pos, x_bit, special in (
        (3, stat_mod.S_IXUSR, stat_mod.S_ISUID),
        (6, stat_mod.S_IXGRP, stat_mod.S_ISGID),
        (9, stat_mod.S_IXOTH, stat_mod.S_ISVTX),
    ):
        ch = chr(text[pos])
        if ch in "xst":
            mode |= x_bit
        if ch in "sStT":
            mode |= special
    return mode


@dataclass(frozen=True)
class Entry:
    """One ``ls -ln`` line: what lstat would say, plus a link's target."""

    mode: int
    uid: int
    gid: int
    size: int
    link: Optional[str] = None

    @property
    def is_link(self) -> bool:
        return stat_mod.S_ISLNK(self.mode)

    @property
    def is_dir(self) -> bool:
        return stat_mod.S_ISDIR(self.mode)

    def info(self) -> StatInfo:
        return StatInfo(
            mode=self.mode,
            uid=self.uid,
            gid=self.gid,
            size=self.size,
            is_file=stat_mod.S_ISREG(self.mode),
            is_dir=stat_mod.S_ISDIR(self.mode),
            is_link=stat_mod.S_ISLNK(self.mode),
            link=self.link,
        )


def parse_ls_line(line: bytes) -> Optional[tuple[Entry, bytes]]:
    """(entry without link target, rest of line = name [-> target]) or None."""
    m = _LS_LINE.match(line)
    if m is None:
        return None
    size_text = m.group(4)
    size = 0 if b"," in size_text else int(size_text)
    entry = Entry(mode_from_ls(m.group(1)), int(m.group(2)), int(m.group(3)), size)
    return entry, m.group(5)


def parse_listing(names: Sequence[bytes], ls_output: bytes) -> dict[str, Optional[Entry]]:
    """Match ``ls -lnA`` lines to the exact names a glob printed.

    A name ``ls`` mangled (a newline shown as ``?``) maps to None: it exists,
    and is asked about on its own when needed.
    """
    known = set(names)
    out: dict[str, Optional[Entry]] = {os.fsdecode(n): None for n in names}
    for line in ls_output.split(b"\n"):
        parsed = parse_ls_line(line)
        if parsed is None:
            continue
        entry, rest = parsed
        if entry.is_link:
            cut = rest.find(b" -> ")
            while cut >= 0 and rest[:cut] not in known:
                cut = rest.find(b" -> ", cut + 1)
            if cut < 0:
                continue
            name, target = rest[:cut], rest[cut + 4 :]
            entry = Entry(entry.mode, entry.uid, entry.gid, entry.size, os.fsdecode(target))
        elif rest in known:
            name = rest
        else:
            continue
        out[os.fsdecode(name)] = entry
    return out
