"""``LocalTarget``: a guest reachable through this machine's file system.

The running system (``/``), an offline guest tree (``--root DIR``), a demo
guest's copy and the tests' fixture folders are all LocalTargets.

Paths given to a Target are *guest* paths (``/etc/fstab``). Symbolic links are
resolved inside the root, as ``chroot`` would: an absolute link ``/x`` means
``ROOT/x`` and ``..`` never climbs above ROOT, so a hostile guest tree cannot
make the wizard read or write a host file. Only regular files are ever opened
(never a FIFO or device node), and every read has a size bound.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as stat_mod
from collections.abc import Iterator, Sequence
from typing import BinaryIO, Optional

from . import hostfs
from .base import (
    DEFAULT_READ_LIMIT,
    GUEST_PATH,
    CommandsDisabledError,
    LineCallback,
    LockedError,
    NotRegularFileError,
    RunResult,
    StatInfo,
    TargetBase,
    TargetError,
    bounded_read,
    decode_text,
    kept_owner,
    resolve_parts,
    split_path,
)

__all__ = ["LocalTarget"]


class LocalTarget(TargetBase):
    """A guest reachable through this machine's file system.

    ``root="/"`` is the running system (kind ``local``, live); any other root
    is an offline guest tree (kind ``root``), never live: an offline guest
    runs no kernel, so a ``proc`` or ``sys`` inside it (bind-mounted for a
    rescue chroot, or left behind) describes the kernel running the wizard,
    not the guest's. ``live=True`` is only for a recorded snapshot of a
    running guest (the demo guests, test fixtures), never for ``--root``.
    ``can_run=False`` makes ``run`` refuse, as in the demo, where commands
    are shown but never executed.
    """

    #: write_file and copy_file carry extended attributes over: the SELinux
    #: label, POSIX ACLs, user.* (an atomic rename would drop them).
    keeps_xattrs = True
    #: A guest tree stays after the wizard exits (the demo's copy does not: DemoTarget).
    temporary = False
    #: Names the last write_file/copy_file could not put back (e.g. a label
    #: the file system refuses); apply records them.
    lost_xattrs: tuple[str, ...] = ()

    def __init__(
        self,
        root: str = "/",
        *,
        can_run: bool = True,
        kind: Optional[str] = None,
        live: Optional[bool] = None,
    ):
        real = os.path.realpath(root)
        if not os.path.exists(real):
            raise TargetError(root, "no such directory", errno.ENOENT)
        if not os.path.isdir(real):
            raise TargetError(root, "not a directory", errno.ENOTDIR)
        self._root = real
        self.root = real
        self.kind = kind or ("local" if real == "/" else "root")
        self.can_run = can_run
        self.live = real == "/" if live is None else live
        # Not liveness: a mounted proc means a wizard chrooted into this tree
        # shares our pid space, so a pid in its lock folder can be asked about.
        self._shares_pids = self.live or os.path.exists(os.path.join(real, "proc", "self"))

    def __repr__(self) -> str:
        return f"LocalTarget({self.root!r})"

    def describe(self) -> str:
        if self.kind == "local":
            return "this system (/)"
        return f"guest root {self.root}"

    # ---- path resolution -----------------------------------------------

    def _host(self, parts: Sequence[str]) -> str:
        return os.path.join(self._root, *parts) if parts else self._root

    def _resolve_parts(self, path: str, follow_last: bool = True) -> list[str]:
        """Resolve ``path`` component by component, clamping links to the root."""

        def link_at(parts: list[str]) -> Optional[str]:
            host = self._host(parts)
            return os.readlink(host) if os.path.islink(host) else None

        return resolve_parts(path, link_at, follow_last)

    def resolve(self, path: str) -> str:
        """The guest path with every symlink resolved inside the root."""
        return "/" + "/".join(self._resolve_parts(path))

    def host_path(self, path: str, follow_last: bool = True) -> str:
        """Where a guest path lives on this machine (links resolved inside the root)."""
        return self._host(self._resolve_parts(path, follow_last))

    # ---- queries -------------------------------------------------------

    def _lstat(self, path: str, follow: bool = True) -> Optional[StatInfo]:
        try:
            host = self.host_path(path, follow_last=follow)
            st = os.lstat(host)
            link = os.readlink(host) if stat_mod.S_ISLNK(st.st_mode) else None
        except OSError:  # TargetError too: a path that cannot be resolved is not there
            return None
        return hostfs.stat_info(st, link)

    def listdir(self, path: str) -> list[str]:
        """Sorted names in a guest folder; [] when it is missing or not a folder."""
        try:
            return sorted(os.listdir(self.host_path(path)))
        except OSError:
            return []

    def _walk_from(self, start: str) -> Iterator[tuple[str, list[str], list[str]]]:
        """``os.walk`` of the host folder behind ``start``, never following links to folders."""
        host_start = self._host(split_path(start))
        for dirpath, dirnames, filenames in os.walk(host_start, followlinks=False):
            rel = os.path.relpath(dirpath, self._root)
            guest = "/" if rel == "." else "/" + rel
            yield guest, dirnames, filenames

    # ---- reading -------------------------------------------------------

    def _open_fd(self, path: str) -> int:
        host = self.host_path(path)
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
        flags |= getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(host, flags)
        except FileNotFoundError:
            raise
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise TargetError(path, "symbolic link loop", errno.ELOOP) from exc
            raise
        st = os.fstat(fd)
        if not stat_mod.S_ISREG(st.st_mode):
            os.close(fd)
            raise NotRegularFileError(path, "not a regular file", errno.EINVAL)
        return fd

    def read_bytes(self, path: str, limit: int = DEFAULT_READ_LIMIT) -> bytes:
        """The file's bytes; FileTooLargeError past ``limit`` (nothing is read then)."""
        fd = self._open_fd(path)
        with os.fdopen(fd, "rb") as fh:
            return bounded_read(path, os.fstat(fh.fileno()).st_size, limit, fh.read)

    def open_binary(self, path: str) -> BinaryIO:
        """A binary stream of a regular guest file (for streaming big initrds)."""
        return os.fdopen(self._open_fd(path), "rb")

    # ---- writing -------------------------------------------------------

    def write_file(
        self,
        path: str,
        data: bytes,
        mode: Optional[int] = None,
        uid: Optional[int] = None,
        gid: Optional[int] = None,
    ) -> str:
        """Replace a guest file atomically: temp file, fsync, rename, fsync folder.

        The real file behind a symlink is written (the link stays a link).
        Mode and owner of an existing file are kept unless given. Returns the
        resolved guest path that was written.
        """
        parts = self._resolve_parts(path)
        if not parts:
            raise TargetError(path, "cannot write the root folder", errno.EISDIR)
        host = self._host(parts)
        folder = os.path.dirname(host)
        old = None
        with contextlib.suppress(FileNotFoundError):
            old = hostfs.stat_info(os.lstat(host))
        mode, uid, gid = kept_owner(path, old, mode, uid, gid)
        attrs = hostfs.xattrs(host) if old is not None else {}
        self.lost_xattrs = ()
        import tempfile  # lazy: detect --json never writes, and start-up counts

        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(host) + ".vw-")
        except OSError as exc:
            raise _guest_error(exc, path) from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fchmod(fh.fileno(), mode)
                if os.geteuid() == 0:
                    os.fchown(fh.fileno(), uid, gid)
                self.lost_xattrs = hostfs.set_xattrs(fh.fileno(), attrs)
                os.fsync(fh.fileno())
            os.rename(tmp, host)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise _guest_error(exc, path) from exc
            raise
        hostfs.fsync_dir(folder)
        return "/" + "/".join(parts)

    def makedirs(self, path: str, mode: int = 0o755) -> None:
        os.makedirs(self.host_path(path), mode=mode, exist_ok=True)

    def remove(self, path: str) -> None:
        """Remove a guest file (the link itself when ``path`` is a symlink)."""
        host = self.host_path(path, follow_last=False)
        os.unlink(host)
        hostfs.fsync_dir(os.path.dirname(host))

    def rename(self, src: str, dst: str) -> None:
        """Move regular file ``src`` over ``dst`` in one rename (atomic: old or new).

        ``dst`` is the real file behind any symlink (the link stays a link),
        as for ``write_file``; both are inside the root.
        """
        host_src = self.host_path(src, follow_last=False)
        st = os.lstat(host_src)
        if not stat_mod.S_ISREG(st.st_mode):
            raise NotRegularFileError(src, "not a regular file", errno.EINVAL)
        parts = self._resolve_parts(dst)
        if not parts:
            raise TargetError(dst, "cannot write the root folder", errno.EISDIR)
        host_dst = self._host(parts)
        try:
            os.rename(host_src, host_dst)
        except OSError as exc:
            raise _guest_error(exc, dst) from exc
        hostfs.fsync_dir(os.path.dirname(host_dst))

    def copy_file(self, src: str, dst: str) -> None:
        """Copy a regular guest file to ``dst`` atomically, keeping mode, owner and times."""
        try:
            host_src = self.host_path(src)
            st = os.lstat(host_src)
        except OSError as exc:
            raise TargetError(src, "no such file", errno.ENOENT) from exc
        dst_parts = self._resolve_parts(dst)
        host_dst = self._host(dst_parts)
        folder = os.path.dirname(host_dst)
        import tempfile

        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(host_dst) + ".vw-")
        except OSError as exc:
            raise _guest_error(exc, dst) from exc
        try:
            with os.fdopen(fd, "wb") as out, self.open_binary(src) as inp:
                while True:
                    chunk = inp.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)
                out.flush()
                os.fchmod(out.fileno(), stat_mod.S_IMODE(st.st_mode))
                if os.geteuid() == 0:
                    os.fchown(out.fileno(), st.st_uid, st.st_gid)
                self.lost_xattrs = hostfs.set_xattrs(out.fileno(), hostfs.xattrs(host_src))
                os.fsync(out.fileno())
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
            os.rename(tmp, host_dst)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError) and not isinstance(exc, TargetError):
                raise _guest_error(exc, dst) from exc
            raise
        del host_src
        hostfs.fsync_dir(folder)

    def free_bytes(self, path: str) -> Optional[int]:
        """Free space on the file system holding ``path`` (psutil), or None."""
        import psutil

        try:
            return int(psutil.disk_usage(self.host_path(path)).free)
        except OSError:
            return None

    @contextlib.contextmanager
    def lock(self, path: str) -> Iterator[None]:
        """Hold an exclusive lock on a guest lock file; LockedError if taken."""
        import fcntl

        host = self.host_path(path)
        made: list[str] = []
        folder = os.path.dirname(host)
        while not os.path.isdir(folder) and len(folder) > len(self._root):
            made.append(folder)
            folder = os.path.dirname(folder)
        existed = os.path.lexists(host)
        fd = -1
        try:
            os.makedirs(os.path.dirname(host), exist_ok=True)
            fd = os.open(host, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise LockedError(
                    path, "another virtio-wizard is applying to this guest", errno.EBUSY
                ) from exc
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            # Not taken (a full disk fails the pid write after the file was
            # made): take back what was made, so "nothing was changed" is true.
            if fd >= 0:
                os.close(fd)
            if not existed:
                with contextlib.suppress(OSError):
                    os.unlink(host)
            for folder in made:
                with contextlib.suppress(OSError):
                    os.rmdir(folder)
            raise
        try:
            with self._lock_folder(path, host + ".d"):
                yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _lock_folder(self, path: str, folder: str) -> Iterator[None]:
        """Also hold ``LOCK.d`` (our pid inside), the lock an ``--ssh`` wizard takes
        on guests without ``flock``, so that the two kinds of wizard exclude each
        other (``virtio_wizard.targets.ssh``). A folder whose pid is gone is stale; on a
        guest tree that is not running (no proc) no guest process can hold it.

        Making the folder is best effort: a guest that runs this wizard has
        ``flock``, so an ``--ssh`` wizard there takes the flock above as well;
        a full or odd file system must not stop an apply the flock allows."""
        with contextlib.suppress(FileNotFoundError):
            st = os.lstat(folder)
            if not stat_mod.S_ISDIR(st.st_mode):
                raise TargetError(path + ".d", "is not a lock folder; remove it", errno.EEXIST)
            holder = hostfs.lock_folder_pid(folder)
            if self._shares_pids and holder is not None and hostfs.pid_alive(holder):
                raise LockedError(
                    path,
                    f"another virtio-wizard is applying to this guest (pid {holder})",
                    errno.EBUSY,
                )
            hostfs.clear_lock_folder(folder)
        made = False
        try:
            os.mkdir(folder, 0o700)
            made = True
            with open(os.path.join(folder, "pid"), "w") as fh:
                fh.write(f"{os.getpid()}\n")
        except OSError:
            if made:
                hostfs.clear_lock_folder(folder)
            made = False
        try:
            yield
        finally:
            if made:
                hostfs.clear_lock_folder(folder)

    def write_problem(self, path: str) -> Optional[str]:
        """Why ``path`` could not be written (replaced by rename, or created), or None.

        Asked by apply before its first write, so that a plan it cannot
        finish is refused while nothing has changed: a read-only file
        system, an immutable or append-only file (``chattr +i``/``+a``),
        or a folder this user may not write (a non-root user's apply).
        """
        try:
            parts = self._resolve_parts(path)
        except TargetError as exc:
            return exc.message
        host = self._host(parts)
        folder = os.path.dirname(host)
        while not os.path.isdir(folder) and len(folder) > len(self._root):
            folder = os.path.dirname(folder)
        guest_folder = "/" + os.path.relpath(folder, self._root).lstrip(".")
        try:
            if os.statvfs(folder).f_flag & os.ST_RDONLY:
                return "read-only file system"
        except OSError as exc:
            return exc.strerror or str(exc)
        if os.path.isfile(host) and hostfs.immutable(host):
            return "the file is immutable or append-only (lsattr shows i or a; chattr -i -a)"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"no permission to write in {guest_folder.rstrip('/') or '/'}"
        return None

    # ---- commands ------------------------------------------------------

    def run(self, argv: Sequence[str], on_line: Optional[LineCallback] = None) -> RunResult:
        """Run ``argv`` in the guest, streaming its output line by line.

        On ``/`` the command runs directly. On an offline root it runs in a
        bubblewrap sandbox (``virtio_wizard.targets.sandbox``: own namespaces, fresh
        /proc, minimal /dev, reduced capabilities, no host path in reach);
        without ``bwrap`` or root it is refused (SandboxError), never run
        another way. Nothing is mounted on the host, so nothing can be left
        mounted, whatever way the wizard ends.
        """
        if not self.can_run:
            raise CommandsDisabledError(" ".join(argv), "commands are not run on this target")
        env = {"PATH": GUEST_PATH, "LANG": "C", "LC_ALL": "C", "HOME": "/root"}
        if self.kind == "local":
            return _stream(list(argv), env, on_line)
        from .. import knowledge
        from . import sandbox

        wrapped = sandbox.sandbox_argv(self._root, argv, env, loop=knowledge.builds_on_loop(argv))
        result = _stream(wrapped, {"PATH": os.environ.get("PATH", GUEST_PATH)}, on_line)
        return RunResult(tuple(argv), result.returncode, result.output)

    def command_problem(self) -> Optional[str]:
        """Why guest commands cannot run here (one line), or None: apply asks first."""
        if not self.can_run or self.kind == "local":
            return None
        from . import sandbox

        return sandbox.unavailable()


def _stream(argv: list[str], env: dict[str, str], on_line: Optional[LineCallback]) -> RunResult:
    # subprocess (and tempfile above) are imported where used: the read-only
    # commands (detect --json) never need them, and start-up time counts.
    import subprocess

    lines: list[str] = []
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    except FileNotFoundError as exc:
        raise TargetError(argv[0], "command not found", errno.ENOENT) from exc
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = decode_text(raw).rstrip("\n")
            lines.append(line)
            if on_line is not None:
                on_line(line)
        proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return RunResult(tuple(argv), proc.returncode, "\n".join(lines))


def _guest_error(exc: OSError, path: str) -> OSError:
    """The same error naming the guest path, not the host's temp file.

    A rename over an immutable file fails with EPERM on the temp file
    ``.grub.conf.vw-XXXX``; the user must read ``/etc/grub.conf``.
    """
    if isinstance(exc, TargetError):
        return exc
    return type(exc)(exc.errno, exc.strerror or str(exc), path) if exc.errno else exc
