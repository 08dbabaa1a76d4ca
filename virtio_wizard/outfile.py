"""Host files the CLI writes that hold copies of guest files (``plan -o``, ``--script``).

A saved plan or an exported script carries the whole new text of every file
it edits: a ``grub.conf`` that is 0600 because it holds a ``password --md5``
line ends up inside it. So these files are written no more readable than the
most private file they may embed: owner only (0600; 0700 for a script, which
its owner runs). They are created that way (a temp file opened with that mode,
then renamed), never made first and narrowed after, and an existing file of
looser mode is replaced, not rewritten in place.
"""

from __future__ import annotations

import contextlib
import os
import stat

__all__ = ["PRIVATE", "PRIVATE_EXEC", "write_private"]

#: Mode of a saved plan: its owner alone reads it.
PRIVATE = 0o600
#: Mode of an exported script: its owner alone reads and runs it.
PRIVATE_EXEC = 0o700


def write_private(path: str, data: bytes, mode: int = PRIVATE) -> str:
    """Write ``data`` to ``path`` with exactly ``mode``; returns a note for the user.

    A path that exists and is not a regular file (``/dev/stdout``, a FIFO) is
    written as it is: the user chose where the bytes go, and it has no mode of
    its own to set.
    """
    try:
        existing = os.stat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        with open(path, "wb") as fh:
            fh.write(data)
        return f"wrote {path}"
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)  # whatever the umask says
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return f"wrote {path} (mode {mode:04o}: it holds copies of guest files, some may be secret)"
