"""Reading guest files for detection without ever failing on guest content.

Detection must go on when a guest file is missing, binary, a FIFO or too big:
a missing file is simply not evidence, and anything else is recorded as an
``Unreadable`` so the report can say which file was skipped and why. This
helper is the one place that turns the Target's errors into that record.
"""

from __future__ import annotations

from typing import Optional

from ..facts import Unreadable
from ..targets import DEFAULT_READ_LIMIT, FileTooLargeError, NotRegularFileError, Target

__all__ = ["read_guest_text", "note"]


def note(problems: Optional[list[Unreadable]], path: str, reason: str) -> None:
    """Record that ``path`` could not be used (when the caller collects problems)."""
    if problems is not None:
        problems.append(Unreadable(path, reason))


def read_guest_text(
    target: Target,
    path: str,
    problems: Optional[list[Unreadable]] = None,
    *,
    limit: int = DEFAULT_READ_LIMIT,
    allow_binary: bool = False,
) -> Optional[str]:
    """The text of a guest file, or None when it is absent or unusable.

    Absent (also a dangling link or a missing folder on the way) is silent;
    a file that is not regular, too large, unreadable or (unless
    ``allow_binary``) holds NUL bytes is noted in ``problems``.
    """
    try:
        text = target.read_text(path, limit)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except NotRegularFileError:
        note(problems, path, "not a regular file")
        return None
    except FileTooLargeError:
        note(problems, path, f"larger than {limit} bytes")
        return None
    except OSError as exc:
        note(problems, path, getattr(exc, "message", None) or exc.strerror or str(exc))
        return None
    if not allow_binary and "\x00" in text:
        note(problems, path, "binary data where text was expected")
        return None
    return text
