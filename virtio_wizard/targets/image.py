"""A VM's disk image as a Target (``--image DISK``), through libguestfs.

A powered-off VM, or one that no longer boots after the switch, is a disk
image on the host. libguestfs opens it in a small appliance VM of its own,
finds the guest's root file system by inspection and mounts the guest's own
layout there (separate ``/boot``, LVM, btrfs subvolumes). Every read and
write goes through that appliance, and guest commands (mkinitrd, dracut,
update-initramfs) run *inside* it, chrooted into the guest: a hostile image
meets a VM, never the host.

Why the Python bindings (Debian's ``python3-guestfs``) rather than a
``guestfish --listen`` session: one handle is one appliance, its calls are
typed (bytes in and out, dicts for stat), errors come back as exceptions
with libguestfs's message, and nothing has to be framed or parsed, where a
guestfish session would need a framing protocol like the SSH target's.

The image is opened read-only unless the command writes (``apply``,
``undo``), and a disk that a running VM holds (qemu's image lock) is refused
before the appliance starts. Paths are guest paths; symbolic links are
resolved inside the guest by the same :func:`~virtio_wizard.targets.base.resolve_parts`
as every other Target.

Why this file is long: ``ImageTarget`` is one class over one libguestfs
handle, and opening the image (format probe, qemu's image lock, inspection,
mounts) and every protocol method share that handle; the query half is
already :class:`~virtio_wizard.targets.base.TargetBase`'s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import shlex
import stat as stat_mod
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO, Callable, Optional

from .base import (
    DEFAULT_READ_LIMIT,
    GUEST_PATH,
    LockedError,
    NotRegularFileError,
    RunResult,
    StatInfo,
    TargetBase,
    TargetError,
    bounded_read,
    kept_owner,
    resolve_parts,
)

__all__ = ["ImageTarget", "ImageError", "probe_format", "load_guestfs"]

#: Debian's python3-guestfs installs the module for the system Python here.
_SYSTEM_SITE = "/usr/lib/python3/dist-packages"
#: The most one libguestfs call may carry (its protocol limit is 4 MiB).
_CHUNK = 2 * 1024 * 1024
#: Where each image's formats are recognised by their first bytes.
_QCOW2_MAGIC = b"QFI\xfb"


class ImageError(TargetError):
    """The image cannot be opened or used (missing, in use, corrupt, no OS)."""


def load_guestfs() -> Any:
    """The ``guestfs`` module: from this Python, else from the system's python3-guestfs.

    The bindings are a C extension built for the distribution's Python; a
    venv of the same Python version can load them from the system folder.
    """
    try:
        import guestfs  # type: ignore[import-not-found]

        return guestfs
    except ImportError:
        pass
    if os.path.isdir(_SYSTEM_SITE):
        sys.path.append(_SYSTEM_SITE)
        try:
            import guestfs  # type: ignore[import-not-found]

            return guestfs
        except ImportError:
            pass
        finally:
            with contextlib.suppress(ValueError):
                sys.path.remove(_SYSTEM_SITE)
    raise ImageError(
        "--image",
        "needs libguestfs's Python bindings: install python3-guestfs and libguestfs-tools "
        "(Debian/Ubuntu) or python3-libguestfs (Fedora/RHEL)",
        errno.ENOENT,
    )


def probe_format(disk: str, given: Optional[str]) -> str:
    """The image's format, refusing what cannot be probed safely.

    A raw disk is the guest's own bytes: if the guest wrote a qcow2 header at
    its start, letting qemu guess would open it as qcow2, and a backing file
    named in that header could be a host file. So: an image that does not
    start with the qcow2 magic is ``raw``; one that does is ``qcow2`` unless
    it names a backing file, which is only followed when the user said
    ``--image-format qcow2`` (an overlay they made themselves).
    """
    try:
        with open(disk, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise ImageError(disk, f"cannot read the image: {exc.strerror}", exc.errno or 5) from exc
    if not os.path.isfile(disk) and not stat_mod.S_ISBLK(os.stat(disk).st_mode):
        raise ImageError(disk, "is not a disk image file or block device", errno.EINVAL)
    if given:
        if given == "raw" and head == _QCOW2_MAGIC:
            return "raw"  # the user's word: opened as raw bytes, no header followed
        return given
    if head != _QCOW2_MAGIC:
        return "raw"
    info = _qemu_img_info(disk, "qcow2")
    if info.get("backing-filename"):
        raise ImageError(
            disk,
            f"is a qcow2 overlay of {info['backing-filename']}: if you made it, "
            "say so with --image-format qcow2",
            errno.EINVAL,
        )
    return "qcow2"


def _qemu_img_info(disk: str, fmt: str) -> dict[str, Any]:
    """``qemu-img info`` of the image; ImageError when qemu holds it or cannot read it.

    Without ``-U`` qemu-img asks for the image lock, which a running VM
    holds: that is how an image in use is told apart, before any appliance.
    """
    try:
        proc = subprocess.run(
            ["qemu-img", "info", "--output=json", "-f", fmt, disk],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except FileNotFoundError as exc:
        raise ImageError(
            disk, "needs qemu-img (Debian: qemu-utils) to check the image", errno.ENOENT
        ) from exc
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        text = err[-1] if err else "qemu-img info failed"
        if "lock" in proc.stderr.lower():
            raise LockedError(
                disk,
                "is in use (a running VM holds it): power the VM off first",
                errno.EBUSY,
            )
        raise ImageError(disk, f"is not a usable {fmt} image: {text}", errno.EINVAL)
    try:
        return dict(json.loads(proc.stdout))
    except ValueError as exc:
        raise ImageError(disk, "qemu-img said something unreadable", errno.EIO) from exc


class ImageTarget(TargetBase):
    """One or more disk images of one guest, opened in a libguestfs appliance."""

    kind = "image"
    live = False
    temporary = False

    def __init__(
        self,
        disks: Sequence[str],
        *,
        readonly: bool = True,
        fmt: Optional[str] = None,
        progress: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.disks = [os.path.abspath(d) for d in disks]
        self.readonly = readonly
        self.can_run = not readonly
        self.root = ", ".join(self.disks)
        self._say = progress or (lambda _msg: None)
        self._tmp = tempfile.TemporaryDirectory(prefix="virtio-wizard-image-")
        self._g: Any = None
        self._formats = [probe_format(d, fmt) for d in self.disks]
        for disk, form in zip(self.disks, self._formats):
            _qemu_img_info(disk, form)  # refuses an image in use before the appliance starts
        self._open()

    # ---- opening -------------------------------------------------------

    def _open(self) -> None:
        guestfs = load_guestfs()
        self._say("starting the libguestfs appliance (a small VM; tens of seconds without KVM)")
        g = guestfs.GuestFS(python_return_dict=True)
        for disk, form in zip(self.disks, self._formats):
            g.add_drive_opts(disk, readonly=self.readonly, format=form)
        try:
            g.launch()
        except RuntimeError as exc:
            if "force_tcg" in os.environ.get("LIBGUESTFS_BACKEND_SETTINGS", ""):
                g.close()
                raise ImageError(self.root, f"the appliance did not start: {_first(exc)}") from exc
            # KVM exists but does not work here (nested or restricted): TCG is slower, but runs.
            g.close()
            self._say("KVM did not start the appliance; retrying without it (TCG)")
            # Remembered for this process: a read-write reopen need not try KVM again.
            os.environ["LIBGUESTFS_BACKEND_SETTINGS"] = "force_tcg"
            g = guestfs.GuestFS(python_return_dict=True)
            g.set_backend_settings(["force_tcg"])
            for disk, form in zip(self.disks, self._formats):
                g.add_drive_opts(disk, readonly=self.readonly, format=form)
            try:
                g.launch()
            except RuntimeError as exc2:
                g.close()
                raise ImageError(
                    self.root, f"the appliance did not start: {_first(exc2)}"
                ) from exc2
        self._g = g
        self._say("inspecting the image for an operating system")
        try:
            roots = g.inspect_os()
        except RuntimeError as exc:
            self.close()
            raise ImageError(self.root, f"cannot be inspected: {_first(exc)}") from exc
        if not roots:
            self.close()
            raise ImageError(
                self.root,
                "holds no operating system that libguestfs recognises (no root file system "
                "found): is this the guest's system disk?",
                errno.ENOENT,
            )
        if len(roots) > 1:
            self.close()
            raise ImageError(
                self.root, f"holds {len(roots)} operating systems; virtio-wizard converts one"
            )
        self.os_type = str(g.inspect_get_type(roots[0]))
        # The guest's fstab says where each file system goes; the root found by
        # inspection is what "/" is, whatever name fstab gives it.
        mounts = dict(g.inspect_get_mountpoints(roots[0]))
        mounts["/"] = roots[0]
        mount = g.mount_ro if self.readonly else g.mount
        for point in sorted(mounts, key=len):
            try:
                mount(mounts[point], point)
            except RuntimeError as exc:
                if point == "/":
                    self.close()
                    raise ImageError(self.root, f"cannot mount its root: {_first(exc)}") from exc
                self._say(f"{point} is not mounted ({mounts[point]}: {_first(exc)})")

    def make_writable(self) -> None:
        """Reopen the image read-write, once the user has said yes to the writes.

        Until then the image was open read-only (qemu takes no write lock and
        nothing can change by accident); the files the plan was made from are
        hash-checked again by apply before anything is written.
        """
        if not self.readonly:
            return
        self._close_handle()
        self.readonly = False
        self.can_run = True
        self._open()

    def _close_handle(self) -> None:
        g, self._g = self._g, None
        if g is not None:
            with contextlib.suppress(RuntimeError):
                if not self.readonly:
                    g.sync()
                g.umount_all()
                g.shutdown()
            g.close()

    def close(self) -> None:
        """Flush, unmount and stop the appliance, remove the temp folder (idempotent)."""
        self._close_handle()
        self._tmp.cleanup()

    def __enter__(self) -> ImageTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def describe(self) -> str:
        mode = "read-only" if self.readonly else "read-write"
        return f"disk image {self.root} ({mode}, through libguestfs)"

    @property
    def g(self) -> Any:
        if self._g is None:
            raise ImageError(self.root, "the image is closed")
        return self._g

    # ---- path resolution -----------------------------------------------

    def _lstat_raw(self, path: str) -> Optional[StatInfo]:
        """lstat of a resolved guest path, or None when it is missing.

        Asked without a failing call: a missing name in an existing folder
        comes back from ``lstatnslist`` with ``st_ino`` -1, and a missing
        folder is seen with ``is_dir`` first. (A failed libguestfs call may
        also print its error on stderr from the appliance's thread, which
        would scribble over the wizard's screen.)
        """
        try:
            if path in ("", "/"):
                return _stat_info(self.g.lstatns("/"))
            folder, name = path.rstrip("/").rsplit("/", 1)
            if not self.g.is_dir(folder or "/"):
                return None
            st = dict(self.g.lstatnslist(folder or "/", [name])[0])
        except RuntimeError:
            return None
        return None if st.get("st_ino", -1) == -1 else _stat_info(st)

    def _resolve_parts(self, path: str, follow_last: bool = True) -> list[str]:
        def link_at(parts: list[str]) -> Optional[str]:
            guest = "/" + "/".join(parts)
            st = self._lstat_raw(guest)
            if st is None or not st.is_link:
                return None
            return str(self.g.readlink(guest))

        return resolve_parts(path, link_at, follow_last)

    def resolve(self, path: str) -> str:
        return "/" + "/".join(self._resolve_parts(path))

    def _real(self, path: str, follow_last: bool = True) -> str:
        return "/" + "/".join(self._resolve_parts(path, follow_last))

    # ---- queries -------------------------------------------------------

    def _lstat(self, path: str, follow: bool = True) -> Optional[StatInfo]:
        try:
            real = self._real(path, follow)
            st = self._lstat_raw(real)
            if st is not None and st.is_link:
                st = dataclasses.replace(st, link=str(self.g.readlink(real)))
        except (RuntimeError, TargetError):
            return None
        return st

    def listdir(self, path: str) -> list[str]:
        try:
            real = self._real(path)
            if not self.g.is_dir(real):
                return []
            return sorted(str(n) for n in self.g.ls(real))
        except (RuntimeError, TargetError):
            return []

    def _walk_from(self, start: str) -> Iterator[tuple[str, list[str], list[str]]]:
        """Folder by folder through the appliance, one batched stat call per folder."""
        todo = [start]
        while todo:
            folder = todo.pop(0)
            try:
                names = [str(n) for n in self.g.ls(folder)]
                stats = self.g.lstatnslist(folder, names) if names else []
            except RuntimeError:
                continue
            dirs = [n for n, st in zip(names, stats) if stat_mod.S_ISDIR(st["st_mode"])]
            files = [n for n, st in zip(names, stats) if not stat_mod.S_ISDIR(st["st_mode"])]
            yield folder, dirs, files
            base = folder.rstrip("/")
            todo.extend(f"{base}/{d}" for d in dirs)

    # ---- reading -------------------------------------------------------

    def _regular(self, path: str) -> tuple[str, StatInfo]:
        real = self._real(path)
        st = self._lstat_raw(real)
        if st is None:
            raise FileNotFoundError(errno.ENOENT, "no such file", path)
        if not st.is_file:
            raise NotRegularFileError(path, "not a regular file", errno.EINVAL)
        return real, st

    def read_bytes(self, path: str, limit: int = DEFAULT_READ_LIMIT) -> bytes:
        real, st = self._regular(path)

        def read(size: int) -> bytes:
            if st.size <= _CHUNK:
                return bytes(self.g.read_file(real))
            with self.open_binary(path) as fh:
                return fh.read(size)

        return bounded_read(path, st.size, limit, read)

    def open_binary(self, path: str) -> BinaryIO:
        """The file copied out of the appliance into a private temp file, opened for reading."""
        real, _st = self._regular(path)
        fd, local = tempfile.mkstemp(dir=self._tmp.name)
        os.close(fd)
        try:
            self.g.download(real, local)
            fh = open(local, "rb")  # noqa: SIM115 - the caller closes it
        except RuntimeError as exc:
            raise TargetError(path, f"cannot be read from the image: {_first(exc)}") from exc
        finally:
            os.unlink(local)
        return fh

    # ---- writing -------------------------------------------------------

    def _writable(self, path: str) -> None:
        if self.readonly:
            raise ImageError(path, "the image is open read-only", errno.EROFS)

    def write_file(
        self,
        path: str,
        data: bytes,
        mode: Optional[int] = None,
        uid: Optional[int] = None,
        gid: Optional[int] = None,
    ) -> str:
        """Replace a guest file atomically: a temp file beside it, then a rename."""
        self._writable(path)
        real = self._real(path)
        if real == "/":
            raise TargetError(path, "cannot write the root folder", errno.EISDIR)
        mode, uid, gid = kept_owner(path, self._lstat_raw(real), mode, uid, gid)
        folder, name = real.rsplit("/", 1)
        tmp = f"{folder}/.{name}.vw-{os.getpid()}"
        fd, local = tempfile.mkstemp(dir=self._tmp.name)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            self.g.upload(local, tmp)
            self.g.chmod(mode, tmp)
            self.g.lchown(uid, gid, tmp)
            self.g.rename(tmp, real)
            self.g.sync()
        except RuntimeError as exc:
            with contextlib.suppress(RuntimeError):
                self.g.rm_f(tmp)
            raise TargetError(path, f"cannot be written: {_first(exc)}") from exc
        finally:
            os.unlink(local)
        return real

    def makedirs(self, path: str, mode: int = 0o755) -> None:
        self._writable(path)
        real = self._real(path)
        try:
            if self._lstat_raw(real) is None:
                self.g.mkdir_p(real)
                self.g.chmod(mode, real)
        except RuntimeError as exc:
            raise TargetError(path, f"cannot be made: {_first(exc)}") from exc

    def remove(self, path: str) -> None:
        self._writable(path)
        try:
            self.g.rm(self._real(path, follow_last=False))
            self.g.sync()
        except RuntimeError as exc:
            raise TargetError(path, f"cannot be removed: {_first(exc)}") from exc

    def rename(self, src: str, dst: str) -> None:
        """Move regular file ``src`` over ``dst`` (the real file behind a link) in one rename.

        Apply puts a rebuilt initrd in place this way, once it has checked it.
        """
        self._writable(dst)
        real_src = self._real(src, follow_last=False)
        st = self._lstat_raw(real_src)
        if st is None or not st.is_file:
            raise NotRegularFileError(src, "not a regular file", errno.EINVAL)
        real_dst = self._real(dst)
        try:
            self.g.rename(real_src, real_dst)
            self.g.sync()
        except RuntimeError as exc:
            raise TargetError(dst, f"cannot be replaced: {_first(exc)}") from exc

    def copy_file(self, src: str, dst: str) -> None:
        """Copy a regular file inside the guest, keeping mode, owner and times (``cp -a``)."""
        self._writable(dst)
        real_src, _st = self._regular(src)
        real_dst = self._real(dst)
        folder, name = real_dst.rsplit("/", 1)
        tmp = f"{folder}/.{name}.vw-{os.getpid()}"
        try:
            self.g.cp_a(real_src, tmp)
            self.g.rename(tmp, real_dst)
            self.g.sync()
        except RuntimeError as exc:
            with contextlib.suppress(RuntimeError):
                self.g.rm_f(tmp)
            raise TargetError(dst, f"cannot be copied: {_first(exc)}") from exc

    def free_bytes(self, path: str) -> Optional[int]:
        try:
            st = self.g.statvfs(self._real(path))
        except (RuntimeError, TargetError):
            return None
        return int(st["bavail"]) * int(st["frsize"] or st["bsize"])

    def write_problem(self, path: str) -> Optional[str]:
        """Why ``path`` could not be written, or None (asked by apply before its first write)."""
        if self.readonly:
            return "the image is open read-only"
        try:
            real = self._real(path)
        except TargetError as exc:
            return exc.message
        folder = real.rsplit("/", 1)[0] or "/"
        while folder != "/" and self._lstat_raw(folder) is None:
            folder = folder.rsplit("/", 1)[0] or "/"
        try:
            if int(self.g.statvfs(folder)["flag"]) & os.ST_RDONLY:
                return "read-only file system"
        except RuntimeError as exc:
            return _first(exc)
        return None

    def command_problem(self) -> Optional[str]:
        """Why guest commands cannot run (one line), or None: they run in the appliance."""
        return "the image is open read-only" if self.readonly else None

    @contextlib.contextmanager
    def lock(self, path: str) -> Iterator[None]:
        """The image itself is the lock: qemu's write lock excludes every other writer.

        The guest's lock file is still written (with ``image`` in it), so a
        wizard run on the booted guest sees where the last apply came from.
        """
        self._writable(path)
        self.makedirs(path.rsplit("/", 1)[0] or "/", 0o700)
        self.write_file(path, b"image\n", mode=0o600)
        yield

    # ---- commands ------------------------------------------------------

    def run(
        self, argv: Sequence[str], on_line: Optional[Callable[[str], None]] = None
    ) -> RunResult:
        """Run ``argv`` inside the appliance, chrooted into the guest (libguestfs ``sh``).

        libguestfs binds the appliance's own ``/dev``, ``/proc`` and ``/sys``
        into the guest for the command, so the host is never in reach. The
        exit code is read from a marker line, as ``sh`` reports only failure.
        """
        self._writable(argv[0] if argv else "command")
        script = (
            f"export PATH={GUEST_PATH} LANG=C LC_ALL=C HOME=/root; "
            f'{shlex.join(argv)} 2>&1; echo "VW-RC=$?"'
        )
        try:
            out = str(self.g.sh(script))
        except RuntimeError as exc:
            return RunResult(tuple(argv), 127, _first(exc))
        lines = out.splitlines()
        code = 1
        if lines and lines[-1].startswith("VW-RC="):
            with contextlib.suppress(ValueError):
                code = int(lines.pop()[6:])
        for line in lines:
            if on_line is not None:
                on_line(line)
        return RunResult(tuple(argv), code, "\n".join(lines) + ("\n" if lines else ""))


def _stat_info(st: Any) -> StatInfo:
    """libguestfs's lstatns dict as a StatInfo (a link's target is asked apart)."""
    mode = int(st["st_mode"])
    return StatInfo(
        mode=mode,
        uid=int(st["st_uid"]),
        gid=int(st["st_gid"]),
        size=int(st["st_size"]),
        is_file=stat_mod.S_ISREG(mode),
        is_dir=stat_mod.S_ISDIR(mode),
        is_link=stat_mod.S_ISLNK(mode),
        mtime=float(st["st_mtime_sec"]),
    )


def _first(exc: BaseException) -> str:
    """libguestfs's message without its debugging advice paragraph."""
    text = str(exc).strip()
    return text.split("\n", 1)[0]
