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
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Callable, Optional, Protocol

__all__ = [
    "Target",
    "TargetBase",
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
    "too_large",
    "bounded_read",
    "kept_owner",
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
    #: What a symbolic link points to (only for ``is_link``; else None).
    link: Optional[str] = None

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
    #: A copy made for this run (the demo guest), gone when the wizard exits:
    #: nothing on it can be verified or undone later.
    temporary: bool

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


def too_large(path: str, limit: int) -> FileTooLargeError:
    """The one refusal of a read past its bound, worded the same by every door."""
    return FileTooLargeError(path, f"larger than {limit} bytes", errno.EFBIG)


def bounded_read(path: str, size: int, limit: int, read: Callable[[int], bytes]) -> bytes:
    """``read(limit + 1)`` unless ``size`` is already past ``limit``; refused past it.

    The size is checked first so that nothing is read of a file known to be
    too big, and the length after, because a file can grow between the two.
    """
    if size > limit:
        raise too_large(path, limit)
    data = read(limit + 1)
    if len(data) > limit:
        raise too_large(path, limit)
    return data


def kept_owner(
    path: str,
    old: Optional[StatInfo],
    mode: Optional[int],
    uid: Optional[int],
    gid: Optional[int],
) -> tuple[int, int, int]:
    """Mode and owner for a file being replaced: as given, else the old file's.

    A new file gets 0644 root:root. Only a regular file is ever replaced:
    anything else there (a folder, a device) is refused.
    """
    if old is not None and not old.is_file:
        raise NotRegularFileError(path, "not a regular file", errno.EINVAL)
    if mode is None:
        mode = old.perms if old is not None else 0o644
    if uid is None:
        uid = old.uid if old is not None else 0
    if gid is None:
        gid = old.gid if old is not None else 0
    return mode, uid, gid


class TargetBase(ABC):
    """The query half of the Target protocol, written once over ``_lstat``.

    Every door answers one question of its own, :meth:`_lstat`: what lstat
    says of a guest path once its links are resolved inside the guest (all of
    them, or all but the last), with a link's target in ``link``; None when
    nothing is there or the path cannot be resolved. Whether a path exists,
    is a file, a folder or a link, where a link points and its stat all
    follow from that answer, so they are the same on every door. A walk is
    resolved here too; each door only lists a resolved folder its own way
    (:meth:`_walk_from`).
    """

    @abstractmethod
    def _lstat(self, path: str, follow: bool = True) -> Optional[StatInfo]:
        """lstat of ``path`` resolved (the last link too when ``follow``), or None."""

    @abstractmethod
    def resolve(self, path: str) -> str:
        """``path`` with every link resolved inside the guest; TargetError when it cannot be."""

    @abstractmethod
    def _walk_from(self, start: str) -> Iterator[tuple[str, list[str], list[str]]]:
        """``os.walk`` from ``start``, a resolved guest path, top-down, links to
        folders listed but not entered; nothing when it is not a folder."""

    def walk(self, path: str) -> Iterator[tuple[str, list[str], list[str]]]:
        """Like ``os.walk`` over guest paths: nothing when ``path`` cannot be resolved,
        as ``os.walk`` of a missing folder gives nothing."""
        try:
            start = self.resolve(path)
        except TargetError:
            return
        yield from self._walk_from(start)

    @abstractmethod
    def read_bytes(self, path: str, limit: int = DEFAULT_READ_LIMIT) -> bytes:
        """The bytes of a regular guest file, at most ``limit`` of them."""

    def exists(self, path: str) -> bool:
        return self._lstat(path) is not None

    def is_file(self, path: str) -> bool:
        st = self._lstat(path)
        return st is not None and st.is_file

    def is_dir(self, path: str) -> bool:
        st = self._lstat(path)
        return st is not None and st.is_dir

    def is_symlink(self, path: str) -> bool:
        st = self._lstat(path, follow=False)
        return st is not None and st.is_link

    def readlink(self, path: str) -> Optional[str]:
        st = self._lstat(path, follow=False)
        return st.link if st is not None and st.is_link else None

    def stat(self, path: str) -> Optional[StatInfo]:
        """lstat of the path with every link resolved (so never a link), or None."""
        return self._lstat(path)

    def read_text(self, path: str, limit: int = DEFAULT_READ_LIMIT) -> str:
        return decode_text(self.read_bytes(path, limit))
