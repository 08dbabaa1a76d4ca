"""A real Debian 12 guest root for the integration tests, built once and cached.

``debootstrap --variant=minbase`` with ``linux-image-amd64`` and
``initramfs-tools`` gives a root whose kernel, initramfs and tools are the real
ones a user meets. Building it takes about a minute with a warm mirror; the
result is cached (``$VIRTIO_WIZARD_TEST_CACHE`` or ``~/.cache/virtio-wizard-tests``)
and each test works on its own copy.

The mirror is the one this machine's apt already uses (read from its sources),
so the tests reach nothing apt itself would not.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Optional

SUITE = "bookworm"
PACKAGES = "linux-image-amd64,initramfs-tools,kmod,udev,e2fsprogs"


def cache_dir() -> Path:
    base = os.environ.get("VIRTIO_WIZARD_TEST_CACHE") or os.path.expanduser(
        "~/.cache/virtio-wizard-tests"
    )
    return Path(base)


def apt_mirror() -> Optional[str]:
    """The Debian mirror URL this machine's apt is configured with, if any."""
    files = ["/etc/apt/sources.list", *glob.glob("/etc/apt/sources.list.d/*")]
    for name in files:
        try:
            text = Path(name).read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            m = re.match(r"URIs:\s*(\S+)", line)
            if m and "security" not in m.group(1):
                return m.group(1)
            m = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+", line)
            if m and "security" not in m.group(1):
                return m.group(1)
    return None


def missing_tools() -> list[str]:
    need = ["debootstrap", "qemu-system-x86_64", "mke2fs", "chroot", "mount"]
    return [t for t in need if shutil.which(t) is None]


def build_root() -> Path:
    """The cached Debian 12 root (built on first use). Raises RuntimeError on failure."""
    cache = cache_dir()
    root = cache / "debian12-root"
    stamp = cache / "debian12-root.ok"
    if stamp.exists() and (root / "boot").is_dir():
        return root
    mirror = apt_mirror()
    if mirror is None:
        raise RuntimeError("no Debian mirror configured for apt on this machine")
    if root.exists():
        shutil.rmtree(root)
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={PACKAGES}",
            SUITE,
            str(root),
            mirror,
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise RuntimeError(f"debootstrap failed:\n{tail}")
    # Docs and caches are not needed to boot; a smaller root copies faster.
    for sub in ("usr/share/doc", "usr/share/man", "usr/share/locale", "var/cache/apt"):
        shutil.rmtree(root / sub, ignore_errors=True)
    stamp.write_text("ok\n")
    return root


def kernel_version(root: Path) -> str:
    """The one kernel version installed in the root."""
    versions = sorted(p.name for p in (root / "lib/modules").iterdir() if p.is_dir())
    if not versions:
        raise RuntimeError(f"no kernel in {root}/lib/modules")
    return versions[-1]


def copy_root(src: Path, dst: Path) -> Path:
    """A private copy of the cached root (owners, modes, links kept)."""
    subprocess.run(["cp", "-a", "--reflink=auto", str(src), str(dst)], check=True)
    return dst
