"""Guest trees whose tools really run, for the sandbox tests (bubblewrap).

``runnable_guest(src, dst)`` copies a fixture root and puts Debian's busybox
in it (``sshd_fixture.install_busybox``), so the guest's ``/bin/sh`` and a
few applets work inside the sandbox; a test then drops its own script in as
the guest's ``/sbin/mkinitrd``.

``require_sandbox()`` skips where the sandbox cannot run (not root, no
bwrap, no busybox) but FAILS under ``CI=true``: CI runs as root and
``.ci/run`` installs bubblewrap and busybox, so a missing piece there is a
broken CI, not a reason to skip the proof.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest
from sshd_fixture import BUSYBOX, copy_guest, install_busybox

from virtio_wizard.targets import sandbox

#: Applets the hostile and the nash-like scripts use.
APPLETS = [
    "sh", "cat", "echo", "mkdir", "mount", "umount", "mknod", "dd", "chroot", "kill",
    "ls", "sleep", "cp", "rm", "mv", "losetup", "gzip", "grep", "true", "touch", "head",
]  # fmt: skip


def why_not() -> Optional[str]:
    """None when guest commands can run in the sandbox here, else why not."""
    why = sandbox.unavailable()
    if why is None and not os.path.exists(BUSYBOX):
        why = f"{BUSYBOX} is not installed (apt-get install busybox)"
    return why


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_sandbox() -> None:
    """Skip without the sandbox's prerequisites; fail under CI=true."""
    why = why_not()
    if why is None:
        return
    if in_ci():
        pytest.fail(f"CI must run the sandbox tests: {why}")
    pytest.skip(why)


def runnable_guest(src: Path, dst: Path) -> Path:
    """A copy of fixture root ``src`` at ``dst`` with busybox as its ``/bin/sh``."""
    copy_guest(src, dst)
    install_busybox(dst, APPLETS, replace=True)
    return dst


def put_tool(root: Path, path: str, script: str) -> Path:
    """Write ``script`` as the guest's executable ``path`` (a link there is removed first)."""
    host = root / path.lstrip("/")
    host.parent.mkdir(parents=True, exist_ok=True)
    if host.is_symlink() or host.exists():
        host.unlink()
    host.write_text(script)
    host.chmod(0o755)
    return host


@contextlib.contextmanager
def host_loop_device(backing: Path) -> Iterator[str]:
    """A host block device (a loop device over ``backing``) the guest must not reach."""
    proc = subprocess.run(["losetup", "-f", "--show", str(backing)], capture_output=True, text=True)
    if proc.returncode != 0:
        if in_ci():
            pytest.fail(f"losetup failed: {proc.stderr.strip()}")
        pytest.skip(f"no loop device here: {proc.stderr.strip()}")
    dev = proc.stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def mounts_under(path: Path) -> list[str]:
    """Lines of this process's mountinfo whose mount point is ``path`` or below it."""
    prefix = os.fspath(path)
    out = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            point = line.split()[4]
            if point == prefix or point.startswith(prefix + "/"):
                out.append(line.strip())
    return out
