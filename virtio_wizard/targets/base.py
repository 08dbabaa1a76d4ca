"""The one door to a guest: read, list, stat, write atomically, run commands.

Nothing else in virtio-wizard opens guest files or spawns processes in the
guest. This module holds what every door shares: the ``Target`` protocol,
its errors, ``StatInfo``/``RunResult`` and the chroot-style path resolution.
``LocalTarget`` (``targets.local``) serves the running system and offline
guest trees (``--root DIR``), ``SSHTarget`` (``targets.ssh``) a live guest
over SSH, ``ImageTarget`` (``targets.image``) a disk image via libguestfs.

Paths given to a Target are *guest* paths (``/etc/fstab``). Symbolic links are
resolved inside the root, as ``chroot`` would: an absolute link ``/x`` means
``ROOT/x`` and ``..`` never climbs above ROOT, so a hostile guest tree cannot
make the wizard read or write a host file. Only regular files are ever opened
(never a FIFO or device node), and every read has a size bound.
"""

from __future__ import annotations

import contextlib
import errno
import stat as stat_mod
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Callable, Optional, Protocol

__all__ = [
    "Target",
    "StatInfo",
    "RunResult",
    "TargetError",
    "NotRegularFileError",
    "FileTooLargeError",
    "CommandsDisabledError",
    "LockedError",
    "DEFAULT_READ_LIMIT",
    "decode_text",
    "resolve_parts",
    "split_path",
]

#: The most a config-file read may return; bigger files are refused, not read.
DEFAULT_READ_LIMIT = 8 * 1024 * 1024
#: As Linux: more links than this in one path resolution is a loop.
MAX_SYMLINKS = 40
#: PATH for commands run in the guest (old guests keep tools in /sbin).
GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class TargetError(OSError):
    """A guest path could not be used; ``path`` is the guest path."""

    def __init__(self, path: str, message: str, err: int = errno.EIO) -> None:
        super().__init__(err, message, path)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class NotRegularFileError(TargetError):
    """Something other than a regular file (FIFO, device, folder) where a file was expected."""


class FileTooLargeError(TargetError):
    """A file larger than the read limit; it is not read at all."""


class CommandsDisabledError(TargetError):
    """This target does not run commands (the demo guest): show them instead."""


class LockedError(TargetError):
    """Another virtio-wizard holds the target's lock."""


@dataclass(frozen=True)
class StatInfo:
    """The parts of ``stat`` the wizard needs (mode bits, owner, size, type)."""

    mode: int
    uid: int
    gid: int
    size: int
    is_file: bool
    is_dir: bool
    is_link: bool
    mtime: float = 0.0
    #: Hard links to the file: an atomic rename gives the edited name a new
    #: inode, so the other names keep the old content.
    nlink: int = 1

    @property
    def perms(self) -> int:
        return stat_mod.S_IMODE(self.mode)


@dataclass(frozen=True)
class RunResult:
    """What a command in the guest did."""

    argv: tuple[str, ...]
    returncode: int
    output: str


LineCallback = Callable[[str], None]


class Target(Protocol):
    """The operations the core may perform on a guest."""

    kind: str  #: "local", "root" or "ssh"
    root: str  #: shown to the user: "/", the root folder, or user@host
    live: bool  #: a kernel of this guest is running (proc/sys are meaningful)
    can_run: bool  #: commands can be run (False for the demo guest)

    def describe(self) -> str: ...
    def resolve(self, path: str) -> str: ...
    def exists(self, path: str) -> bool: ...
    def is_file(self, path: str) -> bool: ...
    def is_dir(self, path: str) -> bool: ...
    def is_symlink(self, path: str) -> bool: ...
    def readlink(self, path: str) -> Optional[str]: ...
    def stat(self, path: str) -> Optional[StatInfo]: ...
    def listdir(self, path: str) -> list[str]: ...
    def walk(self, path: str) -> Iterator[tuple[str, list[str], list[str]]]: ...
    def read_bytes(self, path: str, limit: int = DEFAULT_READ_LIMIT) -> bytes: ...
    def read_text(self, path: str, limit: int = DEFAULT_READ_LIMIT) -> str: ...
    def open_binary(self, path: str) -> BinaryIO: ...
    def write_file(
        self,
        path: str,
        data: bytes,
        mode: Optional[int] = None,
        uid: Optional[int] = None,
        gid: Optional[int] = None,
    ) -> str: ...
    def makedirs(self, path: str, mode: int = 0o755) -> None: ...
    def remove(self, path: str) -> None: ...
    def rename(self, src: str, dst: str) -> None: ...
    def copy_file(self, src: str, dst: str) -> None: ...
    def free_bytes(self, path: str) -> Optional[int]: ...
    def run(self, argv: Sequence[str], on_line: Optional[LineCallback] = None) -> RunResult: ...
    def lock(self, path: str) -> contextlib.AbstractContextManager[None]: ...
    def command_problem(self) -> Optional[str]: ...
    def write_problem(self, path: str) -> Optional[str]: ...


def decode_text(data: bytes) -> str:
    """Decode a guest file: UTF-8 when it is, else Latin-1 (RHEL 3/4 scripts).

    Latin-1 maps every byte, so this never raises and never loses a byte:
    ``decode_text(b).encode("latin-1")`` round-trips for non-UTF-8 input.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def split_path(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def resolve_parts(
    path: str,
    link_at: Callable[[list[str]], Optional[str]],
    follow_last: bool = True,
) -> list[str]:
    """Resolve a guest path as ``chroot`` would, one component at a time.

    ``link_at(parts)`` says what the symlink at the already-resolved
    ``parts`` points to (None: not a link). An absolute link restarts at the
    guest's root and ``..`` never climbs above it, so no link can lead out of
    the guest. Every Target resolves through this one function: LocalTarget
    asks the host's file system, SSHTarget its cached listings.
    """
    todo = deque(split_path(path))
    done: list[str] = []
    links = 0
    while todo:
        part = todo.popleft()
        if part == "..":
            if done:
                done.pop()
            continue
        link = link_at([*done, part]) if (todo or follow_last) else None
        if link is not None:
            links += 1
            if links > MAX_SYMLINKS:
                raise TargetError(path, "too many levels of symbolic links", errno.ELOOP)
            if link.startswith("/"):
                done = []
            todo.extendleft(reversed(split_path(link)))
            continue
        done.append(part)
    return done
