"""``--ssh [USER@]HOST[:PORT]`` taken apart, and the extra ``ssh`` options.

Nothing here touches the network: the spec is parsed before any connection
is tried, so a typo is a usage error (:class:`SSHSpecError`, which the
command line shows as its own usage error), not an SSH failure.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

__all__ = ["SSHSpec", "SSHSpecError", "parse_spec", "options_from_env", "OPTIONS_ENV"]


class SSHSpecError(ValueError):
    """The ``--ssh`` text or ``$VIRTIO_WIZARD_SSH_OPTIONS`` cannot be understood.

    Its own error, so that the targets never import the command line: the
    CLI turns it into its usage error (exit 2), with the same message.
    """


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

    Raises ``SSHSpecError`` for an empty host, a bad port, or a name starting
    with ``-`` (ssh would take it as an option).

    >>> parse_spec("root@guest:2222")
    SSHSpec(host='guest', user='root', port=2222)
    """
    text = spec.strip()
    user: Optional[str] = None
    if "@" in text:
        user, _, text = text.rpartition("@")
        if not user:
            raise SSHSpecError(f"--ssh {spec!r}: empty user name before '@'")
    host, port_text = _host_and_port(spec, text)
    if not host:
        raise SSHSpecError(f"--ssh {spec!r}: no host name")
    for name, value in (("host", host), ("user", user)):
        if value is not None and (value.startswith("-") or any(c.isspace() for c in value)):
            raise SSHSpecError(f"--ssh {spec!r}: invalid {name} name {value!r}")
    return SSHSpec(host=host, user=user, port=_port(spec, port_text))


def _host_and_port(spec: str, text: str) -> tuple[str, Optional[str]]:
    """``HOST[:PORT]`` or ``[V6]:PORT`` split; the port still text (None: not given)."""
    if not text.startswith("["):
        if text.count(":") == 1:
            host, _, port_text = text.partition(":")
            return host, port_text
        return text, None  # a bare name, or a bare IPv6 address without a port
    host, sep, rest = text[1:].partition("]")
    if not sep:
        raise SSHSpecError(f"--ssh {spec!r}: missing ']' after the IPv6 address")
    if not rest:
        return host, None
    if not rest.startswith(":"):
        raise SSHSpecError(f"--ssh {spec!r}: expected ':PORT' after ']'")
    return host, rest[1:]


def _port(spec: str, port_text: Optional[str]) -> Optional[int]:
    if port_text is None:
        return None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SSHSpecError(f"--ssh {spec!r}: port must be a number from 1 to 65535")
    return int(port_text)


#: Extra ``ssh`` options for every connection, shell-quoted (``-F FILE``, ``-i KEY``...).
OPTIONS_ENV = "VIRTIO_WIZARD_SSH_OPTIONS"


def options_from_env(environ: Optional[Mapping[str, str]] = None) -> list[str]:
    """``$VIRTIO_WIZARD_SSH_OPTIONS`` split as a shell would (``shlex``).

    Why an environment variable: the wizard's own options stay few, and
    whatever ``ssh`` accepts (``-F config``, ``-i key``, ``-o
    UserKnownHostsFile=...``, ``-J jump``) passes through unchanged, placed
    before the wizard's defaults so that it wins. Raises ``SSHSpecError`` for
    text a shell could not split (an unclosed quote).

    >>> options_from_env({OPTIONS_ENV: "-i '/keys/old guest' -o Port=2222"})
    ['-i', '/keys/old guest', '-o', 'Port=2222']
    """
    text = (os.environ if environ is None else environ).get(OPTIONS_ENV, "")
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise SSHSpecError(f"{OPTIONS_ENV}: cannot split {text!r}: {exc}") from exc
