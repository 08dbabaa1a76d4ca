"""Comparing kernel versions the way the guest's own package manager does.

Two kernels of one release differ in ways a tuple of numbers cannot order:
``2.6.18-164.el5`` and ``2.6.18-164.el5xen`` have the same numbers, and a
choice between them that falls back to set order changes with
``PYTHONHASHSEED``. Red Hat's and SUSE's tools order versions with rpm's
``rpmvercmp`` (rpm ``rpmio/rpmvercmp.c``), Debian's with dpkg's
``verrevcmp`` (dpkg ``lib/dpkg/version.c``); each is re-implemented here from
its documented rules, and :func:`sort_newest_first` ends every tie on the
plain string so the order never depends on anything but the names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Callable, Optional

__all__ = ["rpmvercmp", "dpkg_compare", "compare_versions", "sort_newest_first"]


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


#: A run of digits or of letters, matched where the other side's run begins.
_RUNS = {True: re.compile(r"[0-9]*"), False: re.compile(r"[A-Za-z]*")}


def _skip_separators(s: str, i: int) -> int:
    """The index of the next character rpm does not skip (alphanumerics, ``~`` and ``^``)."""
    while i < len(s) and not (s[i].isascii() and s[i].isalnum()) and s[i] not in "~^":
        i += 1
    return i


def _marks(ca: str, cb: str) -> Optional[int]:
    """What ``~`` or ``^`` at the two positions decides.

    -1 or 1 when it orders the versions, 0 when both sides carry the same
    mark (skip it and go on), None when neither side has one.
    """
    if ca == "~" or cb == "~":
        if ca != cb:
            return -1 if ca == "~" else 1
        return 0
    if ca == "^" or cb == "^":
        if not ca or not cb:
            # A snapshot mark sorts after the end of the other version.
            return -1 if not ca else 1
        if ca != cb:
            return -1 if ca == "^" else 1
        return 0
    return None


def _compare_runs(sa: str, sb: str, numeric: bool) -> int:
    """One run of ``a`` against ``b``'s run at the same place (``sb`` may be empty)."""
    if not sb:
        # b has a run of the other kind here: digits beat letters.
        return 1 if numeric else -1
    if numeric:
        sa, sb = sa.lstrip("0"), sb.lstrip("0")
        if len(sa) != len(sb):
            return 1 if len(sa) > len(sb) else -1
    return (sa > sb) - (sa < sb)


def rpmvercmp(a: str, b: str) -> int:
    """rpm's comparison: -1, 0 or 1 (``a`` older, equal, newer).

    Versions are cut into runs of digits and runs of letters, everything
    else separates; digits beat letters; numbers compare as numbers; ``~``
    sorts before anything (a pre-release), ``^`` after the end (a snapshot);
    when one side runs out first, the longer one is newer.

    >>> rpmvercmp("2.6.18-164.el5", "2.6.18-128.el5")
    1
    >>> rpmvercmp("2.6.18-164.el5xen", "2.6.18-164.el5")
    1
    >>> rpmvercmp("1.0~rc1", "1.0")
    -1
    """
    if a == b:
        return 0
    i = j = 0
    while i < len(a) or j < len(b):
        i, j = _skip_separators(a, i), _skip_separators(b, j)
        ca, cb = a[i : i + 1], b[j : j + 1]
        marks = _marks(ca, cb)
        if marks is not None:
            if marks:
                return marks
            i, j = i + 1, j + 1
            continue
        if not (ca and cb):
            break
        numeric = ca.isdigit()
        sa = _RUNS[numeric].match(a, i).group(0)  # type: ignore[union-attr]
        sb = _RUNS[numeric].match(b, j).group(0)  # type: ignore[union-attr]
        i, j = i + len(sa), j + len(sb)
        order = _compare_runs(sa, sb, numeric)
        if order:
            return order
    if i < len(a):
        return 1
    return -1 if j < len(b) else 0


def _order(c: str) -> int:
    """dpkg's weight of one character of a non-digit run (``\\0`` past the end)."""
    if not c or c.isdigit():
        return 0
    if c.isascii() and c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i] if i < len(a) else "")
            bc = _order(b[j] if j < len(b) else "")
            if ac != bc:
                return _sign(ac - bc)
            i, j = i + 1, j + 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and j < len(b) and a[i].isdigit() and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i, j = i + 1, j + 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return _sign(first_diff)
    return 0


def _dpkg_parts(version: str) -> tuple[int, str, str]:
    epoch, sep, rest = version.partition(":")
    if not sep or not epoch.isdigit():
        epoch, rest = "0", version
    upstream, sep, revision = rest.rpartition("-")
    if not sep:
        upstream, revision = rest, ""
    return int(epoch), upstream, revision


def dpkg_compare(a: str, b: str) -> int:
    """dpkg's comparison (epoch, upstream, revision): -1, 0 or 1.

    >>> dpkg_compare("6.1.0-50-amd64", "6.1.0-9-amd64")
    1
    >>> dpkg_compare("1.0~rc1", "1.0")
    -1
    """
    ea, ua, ra = _dpkg_parts(a)
    eb, ub, rb = _dpkg_parts(b)
    if ea != eb:
        return 1 if ea > eb else -1
    return _verrevcmp(ua, ub) or _verrevcmp(ra, rb)


def compare_versions(a: str, b: str, family: str = "unknown") -> int:
    """The guest's own rule: dpkg's on Debian and Ubuntu, rpm's elsewhere."""
    return dpkg_compare(a, b) if family == "debian" else rpmvercmp(a, b)


def sort_newest_first(
    versions: Iterable[str], family: str = "unknown", key: Callable[[str], str] = str
) -> list:
    """``versions`` newest first; equal versions by their text, so the order is fixed.

    >>> sort_newest_first({"2.6.18-164.el5", "2.6.18-164.el5xen", "2.6.18-128.el5"}, "redhat")
    ['2.6.18-164.el5xen', '2.6.18-164.el5', '2.6.18-128.el5']
    """

    def cmp(x: object, y: object) -> int:
        a, b = key(x), key(y)  # type: ignore[arg-type]
        return -compare_versions(a, b, family) or (a > b) - (a < b)

    return sorted(versions, key=functools.cmp_to_key(cmp))
