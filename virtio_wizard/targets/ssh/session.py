"""The framed shell session to the guest, and what the ssh client's errors mean.

One long-lived guest ``/bin/sh`` answers every request of an ``SSHTarget``
(see :class:`Session`); :func:`classify` turns what the ``ssh`` client
printed when it failed into one clear ``SSHError``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import selectors
import shlex
import subprocess
from collections.abc import Sequence
from typing import Callable, Optional

from ..base import TargetError

__all__ = [
    "Session",
    "classify",
    "SSHError",
    "UnreachableError",
    "AuthError",
    "HostKeyError",
    "ConnectionLostError",
    "RemoteShellError",
]


class SSHError(TargetError):
    """The SSH connection itself failed (not a guest file); ``path`` is user@host."""


class UnreachableError(SSHError):
    """The host did not answer (wrong name or port, firewall, down)."""


class AuthError(SSHError):
    """The host refused the login (no usable key; passwords are off in BatchMode)."""


class HostKeyError(SSHError):
    """The host key is unknown or changed: ssh refuses to trust it."""


class ConnectionLostError(SSHError):
    """The connection dropped during an operation."""


class RemoteShellError(SSHError):
    """The guest's shell or tools did not behave as a POSIX /bin/sh."""


def classify(who: str, stderr: str, during: str = "") -> SSHError:
    """Turn what the ssh client printed into one clear error."""
    text = stderr.strip()
    low = text.lower()
    last = text.splitlines()[-1].strip() if text else "ssh failed without a message"
    if "host key verification failed" in low or "remote host identification has changed" in low:
        if "changed" in low:
            return HostKeyError(
                who,
                "the host key CHANGED since it was recorded in known_hosts: verify it "
                "(a reinstalled guest, or someone in between) before trusting it",
                errno.EACCES,
            )
        return HostKeyError(
            who,
            "host key unknown: connect once with 'ssh' to verify and record it in known_hosts",
            errno.EACCES,
        )
    if "permission denied" in low or "too many authentication failures" in low:
        return AuthError(
            who,
            "authentication failed: use a key or ssh-agent (password prompts are off, "
            f"BatchMode=yes) [{last}]",
            errno.EACCES,
        )
    unreachable = (
        "connection refused",
        "no route to host",
        "could not resolve hostname",
        "name or service not known",
        "network is unreachable",
        "connection timed out",
        "operation timed out",
        "temporary failure in name resolution",
    )
    if any(s in low for s in unreachable) and not during:
        return UnreachableError(who, f"unreachable: {last}", errno.EHOSTUNREACH)
    if during:
        return ConnectionLostError(
            who,
            f"connection lost during {during} ({last}); files are either old or new "
            "(atomic rename): run again to finish",
            errno.ECONNRESET,
        )
    return SSHError(who, last)


class Session:
    """One long-lived guest ``/bin/sh`` on our pipes, spoken to in framed requests.

    Why: starting a local ``ssh`` client (even on a master connection) costs
    a process start, a channel open and a remote ``sh`` for every question,
    about 0.3 s each on a loaded machine; the shell that is already there
    answers in the time of one network round trip.

    A request is a helper script, run as ``( eval SCRIPT )`` so that its
    ``exit``, ``trap``, ``cd`` and ``set`` stay inside a subshell, followed
    by ``printf MARK RC`` on stdout and on stderr. ``MARK`` is a random
    per-session token plus a sequence number, so no guest file can forge it
    and a late answer is never taken for the current one. Everything before
    the marker is the answer, byte for byte (files are read with ``cat``).
    A request's stdin is ``/dev/null`` unless it carries a payload, which is
    sent only when the script says it is ready for it, so that the guest
    shell (dash and ash read their input in blocks) never buffers it.
    """

    def __init__(self, argv: Sequence[str]) -> None:
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        self.token = "VW-" + secrets.token_hex(12)
        self.seq = 0
        self.out = bytearray()
        self.err = bytearray()
        self.lost: Optional[str] = None
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ, self.out)
        self._selector.register(self.proc.stderr, selectors.EVENT_READ, self.err)

    def send_raw(self, data: bytes | str) -> bool:
        """Write to the guest shell's stdin; False when the session is gone."""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            return False
        return True

    def _pump(self) -> bool:
        """Wait for more bytes on stdout or stderr; False once both have ended."""
        if not self._selector.get_map():
            return False
        for key, _events in self._selector.select():
            chunk = os.read(key.fd, 1 << 16)
            if chunk:
                key.data.extend(chunk)
            else:
                self._selector.unregister(key.fileobj)
        return True

    def _gone(self) -> tuple[int, bytes, str]:
        """The session died: drain ssh's last words, remember them, exit code 255."""
        if self.lost is None:
            while self._pump():
                pass
            self.proc.wait()
            self.lost = self.err.decode("utf-8", "replace") or "the guest shell ended"
        return 255, b"", self.lost

    def request(
        self,
        script: str,
        payload: Optional[bytes] = None,
        *,
        sink: Optional[Callable[[bytes], None]] = None,
        raw: bool = False,
    ) -> tuple[int, bytes, str]:
        """Run one helper script: (exit status, stdout bytes, stderr text).

        ``sink`` receives stdout as it arrives (streamed output, big files)
        instead of it being returned. ``raw`` runs the script in the session
        shell itself (to open or close a lock's file descriptor there); such
        a script must not ``exit``.
        """
        if self.lost is not None:
            return 255, b"", self.lost
        self.seq += 1
        mark = f"{self.token}:{self.seq}"
        body = f"VW_READY={mark}:ready; eval {shlex.quote(script)}"
        if raw:
            text = body + "\n"
        else:
            text = f"( {body}\n)" + (" </dev/null" if payload is None else "") + "\n"
        text += f'r=$?; echo "{mark} $r" >&2; echo "{mark} $r"\n'
        if not self.send_raw(text):
            return self._gone()
        end = f"{mark} ".encode()
        if payload is not None and not self._send_payload(f"{mark}:ready\n".encode(), end, payload):
            return self._gone()
        collected = bytearray()
        status = self._answer(end, sink if sink is not None else collected.extend)
        err = self._stderr_until(end) if status is not None else None
        if status is None or err is None:
            return self._gone()
        return status, bytes(collected), err

    def _send_payload(self, ready: bytes, end: bytes, payload: bytes) -> bool:
        """Send the payload once the script asks for it; False when the session is gone.

        A script that ends before asking (it refused) gets nothing.
        """
        while True:
            at = self.out.find(ready)
            if at >= 0:
                del self.out[at : at + len(ready)]
                return self.send_raw(payload)
            if end in self.out:
                return True  # refused before it asked for the bytes
            if not self._pump():
                return False

    def _answer(self, end: bytes, emit: Callable[[bytes], None]) -> Optional[int]:
        """Hand stdout to ``emit`` up to the end marker; its exit status (None: gone).

        Bytes that could be the start of the marker are held back until the
        next read tells.
        """
        while True:
            at = self.out.find(end)
            if at >= 0:
                stop = self.out.find(b"\n", at)
                if stop >= 0:
                    if at:
                        emit(bytes(self.out[:at]))
                    status = int(self.out[at + len(end) : stop])
                    del self.out[: stop + 1]
                    return status
            else:
                safe = len(self.out) - len(end) + 1
                if safe > 0:
                    emit(bytes(self.out[:safe]))
                    del self.out[:safe]
            if not self._pump():
                return None

    def _stderr_until(self, end: bytes) -> Optional[str]:
        """The request's stderr, up to its end marker (None: the session is gone)."""
        while True:
            at = self.err.find(end)
            stop = self.err.find(b"\n", at) if at >= 0 else -1
            if stop >= 0:
                err = self.err[:at].decode("utf-8", "replace")
                del self.err[: stop + 1]
                return err
            if not self._pump():
                return None

    def close(self) -> None:
        """End the guest shell (EOF on its stdin) and the local ssh client."""
        with contextlib.suppress(OSError, ValueError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        self._selector.close()
