"""The host file system's own details that ``LocalTarget`` needs beyond ``os``.

Extended attributes (an atomic rename would drop a file's SELinux label and
ACLs), the immutable flag (why a rename is refused), a folder's fsync (so a
rename survives a crash) and the lock folder's pid file. Each is best effort:
a file system without the feature has nothing to keep.
"""

from __future__ import annotations

import contextlib
import os
import stat as stat_mod
from typing import Optional

from .base import StatInfo

__all__ = [
    "stat_info",
    "immutable",
    "lock_folder_pid",
    "clear_lock_folder",
    "pid_alive",
    "xattrs",
    "set_xattrs",
    "fsync_dir",
]


def stat_info(st: os.stat_result, link: Optional[str] = None) -> StatInfo:
    """``os.lstat``'s answer as the Target protocol's StatInfo."""
    return StatInfo(
        mode=st.st_mode,
        uid=st.st_uid,
        gid=st.st_gid,
        size=st.st_size,
        is_file=stat_mod.S_ISREG(st.st_mode),
        is_dir=stat_mod.S_ISDIR(st.st_mode),
        is_link=stat_mod.S_ISLNK(st.st_mode),
        mtime=st.st_mtime,
        nlink=st.st_nlink,
        link=link,
    )


#: ioctl FS_IOC_GETFLAGS and the flags that forbid replacing a file (linux/fs.h).
_FS_IOC_GETFLAGS = 0x80086601
_FS_IMMUTABLE_FL, _FS_APPEND_FL = 0x10, 0x20


def immutable(host: str) -> bool:
    """True when the file has the immutable or append-only attribute (best effort)."""
    import fcntl
    import struct

    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(host, flags)
    except OSError:
        return False
    try:
        raw = fcntl.ioctl(fd, _FS_IOC_GETFLAGS, b"\0" * 8)
    except OSError:
        return False
    finally:
        os.close(fd)
    value = struct.unpack("=l", raw[: struct.calcsize("=l")])[0]
    return bool(value & (_FS_IMMUTABLE_FL | _FS_APPEND_FL))


def lock_folder_pid(folder: str) -> Optional[int]:
    """The pid in ``folder/pid`` (a regular file, a few bytes), or None."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(os.path.join(folder, "pid"), flags)
    except OSError:
        return None
    try:
        if not stat_mod.S_ISREG(os.fstat(fd).st_mode):
            return None
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    finally:
        os.close(fd)
    return int(text) if text.isdigit() and int(text) > 0 else None


def clear_lock_folder(folder: str) -> None:
    """Remove a lock folder and the files in it, quietly (best effort, by full paths)."""
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))
        os.rmdir(folder)


def pid_alive(pid: int) -> bool:
    """A process with this pid exists (ours counts: a nested lock is refused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def xattrs(host: str) -> dict[str, bytes]:
    """Every extended attribute of a host file: the SELinux label
    (``security.selinux``), POSIX ACLs (``system.posix_acl_*``), ``user.*``...

    Best effort: a file system without xattrs has none to keep.
    """
    try:
        names = os.listxattr(host, follow_symlinks=False)
    except OSError:
        return {}
    out: dict[str, bytes] = {}
    for name in names:
        with contextlib.suppress(OSError):
            out[name] = os.getxattr(host, name, follow_symlinks=False)
    return out


def set_xattrs(fd: int, attrs: dict[str, bytes]) -> tuple[str, ...]:
    """Put ``attrs`` on the new file before it replaces the old; the names that failed."""
    lost = []
    for name, value in attrs.items():
        try:
            os.setxattr(fd, name, value)
        except OSError:
            lost.append(name)
    return tuple(lost)


def fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
