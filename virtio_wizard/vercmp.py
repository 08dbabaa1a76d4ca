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
from typing import Callable

__all__ = ["rpmvercmp", "dpkg_compare", "compare_versions", "sort_newest_first"]


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


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
        while i < len(a) and not (a[i].isascii() and a[i].isalnum()) and a[i] not in "~^":
            i += 1
        while j < len(b) and not (b[j].isascii() and b[j].isalnum()) and b[j] not in "~^":
            j += 1
        ca = a[i] if i < len(a) else ""
        cb = b[j] if j < len(b) else ""
        if ca == "~" or cb == "~":
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if ca == "^" or cb == "^":
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not (ca and cb):
            break
        numeric = ca.isdigit()
        pattern = r"[0-9]*" if numeric else r"[A-Za-z]*"
        sa = re.match(pattern, a[i:]).group(0)  # type: ignore[union-attr]
        sb = re.match(pattern, b[j:]).group(0)  # type: ignore[union-attr]
        i, j = i + len(sa), j + len(sb)
        if not sb:
            return 1 if numeric else -1
        if numeric:
            sa, sb = sa.lstrip("0"), sb.lstrip("0")
            if len(sa) != len(sb):
                return 1 if len(sa) > len(sb) else -1
        if sa != sb:
            return 1 if sa > sb else -1
    rest_a, rest_b = i < len(a), j < len(b)
    if not rest_a and not rest_b:
        return 0
    return 1 if rest_a else -1


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
