"""The ``--ssh`` target: a live guest driven over OpenSSH (see ``target.py``).

``spec`` parses ``[USER@]HOST[:PORT]``, ``listing`` reads ``ls -lnA``,
``session`` speaks to one long-lived guest shell, ``target`` is the
``SSHTarget`` built on them.
"""

from .session import (
    AuthError,
    ConnectionLostError,
    HostKeyError,
    RemoteShellError,
    SSHError,
    UnreachableError,
)
from .spec import OPTIONS_ENV, SSHSpec, SSHSpecError, options_from_env, parse_spec
from .target import RemoteNotFoundError, SSHTarget

__all__ = [
    "SSHTarget",
    "SSHSpec",
    "SSHSpecError",
    "parse_spec",
    "options_from_env",
    "OPTIONS_ENV",
    "SSHError",
    "UnreachableError",
    "AuthError",
    "HostKeyError",
    "ConnectionLostError",
    "RemoteShellError",
    "RemoteNotFoundError",
]
