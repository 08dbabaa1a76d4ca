"""The doors to a guest: every read, write and command goes through a Target.

``base`` holds the protocol, its errors and what all doors share;
``local`` serves this machine's file system (``/``, ``--root DIR``, the
demo's copies), ``ssh`` a live guest over OpenSSH (``--ssh``), ``image`` a
disk image through libguestfs (``--image``), and ``sandbox`` says how an
offline root's commands run (bubblewrap). Only the light names are exported
here: ``ssh`` and ``image`` are imported where they are used, as they pull
in process and libguestfs machinery a read-only run may never need.
"""

from .base import (
    DEFAULT_READ_LIMIT,
    GUEST_PATH,
    CommandsDisabledError,
    FileTooLargeError,
    LockedError,
    NotRegularFileError,
    RunResult,
    StatInfo,
    Target,
    TargetError,
    decode_text,
    resolve_parts,
)
from .local import LocalTarget

__all__ = [
    "Target",
    "LocalTarget",
    "StatInfo",
    "RunResult",
    "TargetError",
    "NotRegularFileError",
    "FileTooLargeError",
    "CommandsDisabledError",
    "LockedError",
    "DEFAULT_READ_LIMIT",
    "GUEST_PATH",
    "decode_text",
    "resolve_parts",
]
