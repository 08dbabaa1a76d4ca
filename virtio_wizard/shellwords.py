"""Guest names as shell words and as comment text, for the exported script.

Guest names can hold anything a file name can (newlines, quotes, ``$()``,
bytes that are not UTF-8, carried as surrogate escapes and written back as
those bytes), so every one the script uses is a single-quoted word and every
one it shows is escaped: nothing a guest names can run.
"""

from __future__ import annotations

import shlex

__all__ = ["quote", "comment"]


def quote(text: str) -> str:
    """``text`` as one shell word: single-quoted, so no byte of it is code.

    A guest name never holds a NUL: a string with one is no guest name, and
    no shell can carry it, so the export refuses it.
    """
    if "\0" in text:
        raise ValueError(f"cannot export the plan as a script: {comment(text)} holds a NUL byte")
    return shlex.quote(text)


def comment(text: str) -> str:
    r"""``text`` made safe for one comment line: every unprintable character escaped.

    Only a newline ends a shell comment, but carriage returns, NULs and
    terminal controls do harm when a user reads the script, so every
    character that is not printable (and every byte that was not UTF-8) is
    shown as a backslash escape; the backslash itself is doubled.

    >>> comment("2.6.18-8.el5\ntouch PWNED")
    '2.6.18-8.el5\\ntouch PWNED'
    """
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)
