"""``--ssh [USER@]HOST[:PORT]`` taken apart, and the extra ``ssh`` options.

Nothing here touches the network: the command line parses the spec before
any connection is tried, so a typo is a usage error, not an SSH failure.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

__all__ = ["SSHSpec", "parse_spec", "options_from_env", "OPTIONS_ENV"]


@dataclass(frozen=True)
class SSHSpec:
    """``[USER@]HOST[:PORT]`` taken apart; None means "as ~/.ssh/config says"."""

    host: str
    user: Optional[str] = None
    port: Optional[int] = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and self.port else self.host
        text = f"{self.user}@{host}" if self.user else host
        return f"{text}:{self.port}" if self.port else text


def parse_spec(spec: str) -> SSHSpec:
    """Parse ``[USER@]HOST[:PORT]`` (IPv6 as ``[::1]:22``).

    Raises ``UsageError`` for an empty host, a bad port, or a name starting
    with ``-`` (ssh would take it as an option).

    >>> parse_spec("root@guest:2222")
    SSHSpec(host='guest', user='root', port=2222)
    """
    from ...cli import UsageError

    text = spec.strip()
    user: Optional[str] = None
    if "@" in text:
        user, _, text = text.rpartition("@")
        if not user:
            raise UsageError(f"--ssh {spec!r}: empty user name before '@'")
    port_text: Optional[str] = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise UsageError(f"--ssh {spec!r}: missing ']' after the IPv6 address")
        if rest:
            if not rest.startswith(":"):
                raise UsageError(f"--ssh {spec!r}: expected ':PORT' after ']'")
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host = text  # a bare name, or a bare IPv6 address without a port
    if not host:
        raise UsageError(f"--ssh {spec!r}: no host name")
    for name, value in (("host", host), ("user", user)):
        if value is not None and (value.startswith("-") or any(c.isspace() for c in value)):
            raise UsageError(f"--ssh {spec!r}: invalid {name} name {value!r}")
    port: Optional[int] = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UsageError(f"--ssh {spec!r}: port must be a number from 1 to 65535")
        port = int(port_text)
    return SSHSpec(host=host, user=user, port=port)


#: Extra ``ssh`` options for every connection, shell-quoted (``-F FILE``, ``-i KEY``...).
OPTIONS_ENV = "VIRTIO_WIZARD_SSH_OPTIONS"


def options_from_env(environ: Optional[Mapping[str, str]] = None) -> list[str]:
    """``$VIRTIO_WIZARD_SSH_OPTIONS`` split as a shell would (``shlex``).

    Why an environment variable: the wizard's own options stay few, and
    whatever ``ssh`` accepts (``-F config``, ``-i key``, ``-o
    UserKnownHostsFile=...``, ``-J jump``) passes through unchanged, placed
    before the wizard's defaults so that it wins. Raises ``UsageError`` for
    text a shell could not split (an unclosed quote).

    >>> options_from_env({OPTIONS_ENV: "-i '/keys/old guest' -o Port=2222"})
    ['-i', '/keys/old guest', '-o', 'Port=2222']
    """
    text = (os.environ if environ is None else environ).get(OPTIONS_ENV, "")
    try:
        return shlex.split(text)
    except ValueError as exc:
        from ...cli import UsageError

        raise UsageError(f"{OPTIONS_ENV}: cannot split {text!r}: {exc}") from exc
