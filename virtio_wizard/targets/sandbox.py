"""Guest commands of an offline root run in a bubblewrap sandbox, never on the host.

An offline guest tree (``--root DIR``) is hostile input, and so are its
binaries: ``/sbin/mkinitrd`` is whatever the tree holds. The first version
ran it as host root under ``chroot`` with the host's ``/proc``, ``/sys`` and
``/dev`` bound in, where ``echo x > /proc/$PPID/root/tmp/f`` writes a host
file and a kill -9 of the wizard leaked the bind mounts. Here every guest
command runs under ``bwrap`` (bubblewrap), which gives it:

- its own mount, PID, IPC, UTS, network and (where the kernel has one)
  cgroup namespaces; the guest tree becomes ``/`` by ``pivot_root`` and the
  host's tree is detached, so no host path is in reach (``/proc/1/root`` is
  the sandbox's own root);
- a fresh ``/proc`` of its PID namespace, and a minimal ``/dev`` (bwrap's
  ``--dev``: null, zero, full, random, urandom, tty, a private devpts and
  shm);
- ``/sys`` read-only (bwrap cannot mount a fresh sysfs; read-only means no
  kernel attribute can be written from inside);
- the capabilities CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID and
  CAP_MKNOD (what building an image tree as root takes) and nothing else: no
  mount, no chroot, no ptrace, no module loading, no raw I/O, no
  open-by-handle. The bounding set is cut to those plus the two bwrap needs
  to build the namespaces (CAP_SYS_ADMIN, CAP_NET_ADMIN) by ``setpriv``
  before bwrap starts (bwrap run by root leaves it whole); the tool never
  holds those two, and bwrap sets no_new_privs, so no set-uid or file-caps
  binary can give them back. Device nodes a tool makes (mkinitrd and dracut
  put ``dev/console`` in their image) cannot be opened: the guest tree is
  bound ``nodev``;
- ``--die-with-parent`` and a PID namespace: when the wizard dies, even by
  kill -9, bwrap and every process it started die with it, and the mount
  namespace (the only place the sandbox's mounts ever existed) goes with
  them. Nothing is ever mounted on the host.

One exception, asked for by the tool and not by the guest: nash mkinitrd of
a 2.4 kernel (RHEL 3) builds an ext2 image on a loop device (``losetup``,
``mount -t ext2``). For that command alone (``knowledge.builds_on_loop``)
the sandbox keeps CAP_SYS_ADMIN and binds the host's loop devices that are
free when it starts. The trade-off (docs/apply.md): a hostile mkinitrd of
such a guest could then mount other file systems inside its namespace.

Why bubblewrap rather than ``unshare`` + ``setpriv`` or systemd-nspawn:
docs/apply.md.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Mapping, Sequence
from typing import Optional

from .base import TargetError

__all__ = [
    "SandboxError",
    "BWRAP",
    "CAPS",
    "LOOP_CAPS",
    "find_bwrap",
    "unavailable",
    "free_loop_devices",
    "sandbox_argv",
]

#: The programs; looked up on the host's PATH (never in the guest).
BWRAP = "bwrap"
#: util-linux: cuts the capability bounding set before bwrap runs.
SETPRIV = "setpriv"
#: What bwrap itself needs in the bounding set to set the sandbox up.
BWRAP_SETUP_CAPS = ("CAP_SYS_ADMIN", "CAP_NET_ADMIN")
#: What a guest's initrd tool keeps: enough to build an image tree as root.
CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_MKNOD")
#: nash mkinitrd of a 2.4 kernel: losetup and mount of its ext2 image too.
LOOP_CAPS = (*CAPS, "CAP_SYS_ADMIN")
#: The loop devices nash mkinitrd tries (RHEL 3: /dev/loop0 to /dev/loop7).
LOOP_DEVICES = tuple(f"loop{n}" for n in range(8))
#: The sandbox's mount points in the guest tree; a link there is refused.
MOUNT_POINTS = ("proc", "dev", "sys")


class SandboxError(TargetError):
    """A guest command cannot be run in the sandbox (no bwrap, not root, a bad mount point)."""


def find_bwrap() -> Optional[str]:
    """The host's ``bwrap``, or None."""
    return shutil.which(BWRAP)


def unavailable() -> Optional[str]:
    """None when guest commands of an offline root can run here, else why not (one line).

    Checked before anything is written (apply's preflight) and again by
    ``LocalTarget.run``: there is no fallback to the old chroot.
    """
    if os.geteuid() != 0:
        return (
            "running the guest's commands (mkinitrd, dracut ...) on an offline root needs "
            "root: run virtio-wizard as root (sudo)"
        )
    if find_bwrap() is None:
        return (
            "bwrap (bubblewrap) is not installed: guest commands of an offline root run only "
            "in its sandbox; install it (apt-get install bubblewrap, dnf install bubblewrap)"
        )
    if shutil.which(SETPRIV) is None:
        return (
            "setpriv (util-linux) is not installed: the sandbox of guest commands needs it; "
            "install util-linux"
        )
    return None


def free_loop_devices(sys_block: str = "/sys/block", dev: str = "/dev") -> list[str]:
    """The host's ``/dev/loopN`` (N < 8) that exist and have no backing file now.

    A loop device in use (a host's mounted image) is never handed to the
    sandbox. One the host sets up while the command runs is not seen.
    """
    out = []
    for name in LOOP_DEVICES:
        node = os.path.join(dev, name)
        if not os.path.exists(node):
            continue
        if os.path.exists(os.path.join(sys_block, name, "loop", "backing_file")):
            continue
        out.append(node)
    return out


def check_mount_points(root: str) -> None:
    """Refuse a guest whose ``proc``, ``dev`` or ``sys`` is a symlink or not a folder.

    bwrap follows such a link when it mounts; inside its own namespace that
    harms nothing on the host, but the tool would then see no /proc or /dev.
    """
    for name in MOUNT_POINTS:
        point = os.path.join(root, name)
        if os.path.islink(point):
            raise SandboxError(
                "/" + name, "is a symlink; refusing to run guest commands", errno.ELOOP
            )
        if os.path.lexists(point) and not os.path.isdir(point):
            raise SandboxError(
                "/" + name, "is not a folder; refusing to run guest commands", errno.ENOTDIR
            )


def sandbox_argv(
    root: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    loop: bool = False,
    bwrap: Optional[str] = None,
) -> list[str]:
    """The host command that runs ``argv`` inside the guest tree ``root``, sandboxed.

    ``env`` is the command's whole environment (bwrap starts from an empty
    one). ``loop`` gives the loop-device profile (see the module docstring).
    """
    why = unavailable()
    if why is not None:
        raise SandboxError(argv[0] if argv else "", why, errno.EPERM)
    check_mount_points(root)
    caps = LOOP_CAPS if loop else CAPS
    bounding = ",".join(c[len("CAP_") :].lower() for c in (*caps, *BWRAP_SETUP_CAPS))
    out = [
        shutil.which(SETPRIV) or SETPRIV,
        f"--bounding-set=-all,+{bounding.replace(',', ',+')}",
        "--",
        bwrap or find_bwrap() or BWRAP,
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-net",
        "--unshare-cgroup-try",
        "--hostname",
        "virtio-wizard-guest",
        "--bind",
        root,
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--ro-bind",
        "/sys",
        "/sys",
    ]
    if loop:
        for node in free_loop_devices():
            out += ["--dev-bind", node, node]
    out += ["--cap-drop", "ALL"]
    for cap in caps:
        out += ["--cap-add", cap]
    out += ["--clearenv"]
    for key, value in sorted(env.items()):
        out += ["--setenv", key, value]
    out += ["--chdir", "/", "--", *argv]
    return out
