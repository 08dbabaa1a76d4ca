"""Sample guests for ``--demo``: real guest trees the real code runs on.

Each guest is a small file tree in ``guests/NAME/`` (as subiquity's
``examples/machines``): detection, checks and planning run unchanged on it;
only the Target differs. ``open_demo`` copies the tree to a fresh temp folder
so that applying a plan in the demo never touches the installed package, and
returns a Target that shows commands instead of running them.

Symbolic links are kept beside each tree in ``guests/NAME.links`` (one
``LINK -> DEST`` a line) and made after the copy, because packaging copies a
link as a plain file or folder: ``/etc/grub.conf`` must stay a link to grub's
real config, and sysfs ``driver`` entries must stay links to be read as
drivers. The initrd images were made with ``cpio -o -H newc | gzip -n -9``
(rhel39's, as on 2.4 kernels, is ``mke2fs -d`` of a small tree, gzipped).
"""

from __future__ import annotations

import atexit
import errno
import os
import re
import shutil
import stat
import tempfile
from typing import Optional

from ..targets import TargetError
from ..targets.demo import DemoTarget

__all__ = ["DEMO_GUESTS", "open_demo", "guest_dir"]

#: Demo guest name -> one line for ``--help`` and the TUI's picker.
DEMO_GUESTS: dict[str, str] = {
    "rhel52": "RHEL 5.2 on IDE disk and e1000: the drivers must be added",
    "debian12": "Debian 12 already on virtio: drivers come by themselves, nothing to do",
    "rhel39": "RHEL 3.9 (2.4 kernel, .o modules, ext2 initrd) on IDE: Intel-only kernel on AMD",
}

_HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guests")
#: A demo copy's folder: guest name, the pid of the wizard that made it, mkdtemp's letters.
_HOLDER = re.compile(r"^virtio-wizard-demo-[a-z0-9]+-(\d+)-[a-z0-9_]+$")


def guest_dir(name: str) -> str:
    """The bundled tree of a demo guest (read-only: never hand it to a Target)."""
    if name not in DEMO_GUESTS:
        choices = ", ".join(sorted(DEMO_GUESTS))
        raise TargetError(name, f"no demo guest named {name!r}; choose one of: {choices}")
    return os.path.join(_HERE, name)


def open_demo(name: str) -> DemoTarget:
    """A private copy of demo guest ``name`` as a Target that runs no commands.

    The copy lives in a temp folder removed when the program exits; copies
    left by wizards that were killed are removed first. Raises TargetError
    for an unknown name (the message lists the known ones).
    """
    source = guest_dir(name)
    if not os.path.isdir(source):
        raise TargetError(name, f"demo guest files missing at {source}", errno.ENOENT)
    scratch = _scratch_dir()
    remove_stale_copies(scratch or tempfile.gettempdir())
    holder = tempfile.mkdtemp(prefix=f"virtio-wizard-demo-{name}-{os.getpid()}-", dir=scratch)
    atexit.register(shutil.rmtree, holder, True)
    root = os.path.join(holder, name)
    _copy_tree(source, root)
    _make_links(root, source + ".links")
    # A demo guest with a recorded proc/self is a snapshot of a running guest;
    # only the wizard's own sample guests may say so (never a --root).
    live = os.path.isdir(os.path.join(source, "proc", "self"))
    return DemoTarget(root, live=live)


def remove_stale_copies(folder: str) -> list[str]:
    """Remove the demo copies in ``folder`` whose wizard is gone; return their paths.

    A copy is removed at exit, but a killed wizard (``kill -9``, a closed
    terminal that SIGKILLs, an OOM kill) never runs its exit hooks, and on
    ``/dev/shm`` every leftover holds memory until reboot. A copy's folder
    names the pid of its wizard: when no process has that pid, nothing can
    be using it. Only this user's folders are touched; a pid reused by
    another process keeps its copy until that process ends.
    """
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for entry in names:
        match = _HOLDER.match(entry)
        path = os.path.join(folder, entry)
        if not match or _alive(int(match.group(1))):
            continue
        try:
            if os.lstat(path).st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _copy_tree(src: str, dst: str) -> None:
    """Copy a demo tree: contents, modification times and modes; links as links.

    Modes are the ones git records, not the checkout's: a file is 0755 when
    the bundled one is executable, else 0644, and a folder 0755. A checkout
    or an unpacked archive made under another umask (002 gives 0664) would
    otherwise show other modes in the preview, the report and the snapshots.
    Half the CPU of ``shutil.copytree`` (no extended attributes, no flags:
    the bundled trees have none), and the copy is on the way to the
    wizard's first frame.
    """
    os.mkdir(dst)
    with os.scandir(src) as entries:
        for entry in entries:
            target = os.path.join(dst, entry.name)
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), target)
            elif entry.is_dir():
                _copy_tree(entry.path, target)
            else:
                shutil.copyfile(entry.path, target)
                st = entry.stat()
                os.chmod(target, _bundled_mode(st.st_mode))
                os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.chmod(dst, 0o755)


def _bundled_mode(mode: int) -> int:
    """The mode a demo file gets in its copy, as git would record it.

    >>> oct(_bundled_mode(0o100664)), oct(_bundled_mode(0o100775))
    ('0o644', '0o755')
    """
    return 0o755 if mode & stat.S_IXUSR else 0o644


def _scratch_dir() -> Optional[str]:
    """Where the demo copy goes: a memory file system when there is one.

    The copy is made before the wizard's first frame, and on a VM's disk each
    of its ~50 folders and ~140 files costs a synchronous metadata write;
    ``/dev/shm`` (tmpfs on Linux) makes the copy a few milliseconds. ``TMPDIR``
    set by the user wins; None means the system's temp folder.
    """
    if os.environ.get("TMPDIR"):
        return None
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return None


def _make_links(root: str, manifest: str) -> None:
    """Create the guest's symlinks listed in ``manifest`` inside ``root``."""
    if not os.path.exists(manifest):
        return
    with open(manifest, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        link, _, dest = (part.strip() for part in line.partition(" -> "))
        parts = link.split("/")
        if not link or not dest or link.startswith("/") or ".." in parts:
            raise TargetError(manifest, f"bad link line: {line!r}")
        path = os.path.join(root, *parts)
        if os.path.lexists(path):
            # A packager may have turned the link into a copy: replace it.
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(dest, path)
