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
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

SUITE = "bookworm"
PACKAGES = "linux-image-amd64,initramfs-tools,kmod,udev,e2fsprogs"


def cache_dir() -> Path:
    base = os.environ.get("VIRTIO_WIZARD_TEST_CACHE") or os.path.expanduser(
        "~/.cache/virtio-wizard-tests"
    )
    return Path(base)


def apt_sources(base: str = "/etc/apt") -> list[str]:
    """The files apt itself reads: sources.list, and *.list / *.sources beside it.

    A file apt ignores (``foo.sources.disabled``, ``foo.list.save``) is not read:
    its mirror is not one this machine's apt uses. ``base``: apt's folder.
    """
    files = [f"{base}/sources.list"]
    for pattern in ("*.list", "*.sources"):
        files += sorted(glob.glob(f"{base}/sources.list.d/{pattern}"))
    return [f for f in files if os.path.isfile(f)]


@dataclass(frozen=True)
class AptEntry:
    """One ``deb`` entry of apt's sources: where, which suite, which components, whose key."""

    uri: str
    suite: str
    components: tuple[str, ...]
    signed_by: str = ""


def _entries(text: str) -> list[AptEntry]:
    """Each deb entry of a sources file, one-line (``deb [opts] URI SUITE COMP...``) or deb822."""
    out: list[AptEntry] = []
    for line in text.splitlines():
        m = re.match(r"\s*deb\s+(?:\[([^]]*)\]\s+)?(\S+)\s+(\S+)((?:\s+[^#\s]+)*)", line)
        if m:
            key = re.search(r"signed-by=(\S+)", m.group(1) or "")
            comps = tuple(m.group(4).split())
            out.append(AptEntry(m.group(2), m.group(3), comps, key[1] if key else ""))
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
        if "deb" in fields.get("Types", "").split() and fields.get("URIs"):
            for uri in fields["URIs"].split():
                for suite in fields.get("Suites", "").split():
                    comps = tuple(fields.get("Components", "").split())
                    out.append(AptEntry(uri, suite, comps, fields.get("Signed-By", "")))
    return out


def _debian_archive(entry: AptEntry) -> Optional[tuple[bool, bool]]:
    """How surely ``entry`` is the Debian archive (higher first); None when it is not.

    The archive has a ``main`` component and a plain codename suite (a
    third-party repository for the same suite uses its own components,
    ``stable``, or a path in the suite, ``bookworm/mongodb-org/7.0``);
    the security archive is another one. Signed by Debian's archive key, or
    served from a ``/debian`` folder, it is the archive whatever the suite:
    every Debian mirror serves every release, so a trixie machine's mirror
    serves bookworm too.
    """
    if "main" not in entry.components or "/" in entry.suite:
        return None
    if "security" in entry.uri or entry.suite.endswith("-security"):
        return None
    debian = "debian-archive-keyring" in entry.signed_by or (
        entry.uri.rstrip("/").rsplit("/", 1)[-1] == "debian"
    )
    if not debian and entry.suite != SUITE:
        return None
    return entry.suite == SUITE, debian


def apt_mirror(sources: Optional[list[str]] = None) -> Optional[str]:
    """The Debian archive mirror this machine's apt uses, if any.

    Read only from the sources apt reads (:func:`apt_sources`, or the
    ``sources`` given), and only the Debian archive's entry
    (:func:`_debian_archive`): not its -security archive, not a third-party
    repository that happens to come first. An entry for the suite itself and
    signed by Debian's key is preferred; the file order ends a tie.
    """
    best: Optional[tuple[tuple[bool, bool], str]] = None
    for name in apt_sources() if sources is None else sources:
        try:
            text = Path(name).read_text(errors="replace")
        except OSError:
            continue
        for entry in _entries(text):
            rank = _debian_archive(entry)
            if rank is not None and (best is None or rank > best[0]):
                best = (rank, entry.uri)
    return best[1] if best else None


def skip_or_fail(reason: str) -> None:
    """Skip a test that cannot run here, except under CI, where that is a failure.

    CI installs everything these tests need (``.ci/run``): a missing piece
    there means the proof did not run, and a silent skip would hide it.
    """
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test, but: {reason}")
    pytest.skip(reason)


def missing_tools() -> list[str]:
    need = ["debootstrap", "qemu-system-x86_64", "mke2fs", "chroot", "mount"]
    return [t for t in need if shutil.which(t) is None]


def build_root() -> Path:
    """The cached Debian 12 root (built on first use). Raises RuntimeError on failure.

    The cache is shared by every checkout on the machine: two test runs that
    find it missing at once take turns (a lock file beside it), and the
    second finds the first one's root.
    """
    import fcntl

    cache = cache_dir()
    root = cache / "debian12-root"
    stamp = cache / "debian12-root.ok"
    if stamp.exists() and (root / "boot").is_dir():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "debian12-root.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and (root / "boot").is_dir():
            return root
        return _debootstrap(root, stamp)


def _debootstrap(root: Path, stamp: Path) -> Path:
    """Build the root afresh into ``root`` and mark it complete with ``stamp``."""
    mirror = apt_mirror()
    if mirror is None:
        raise RuntimeError("no Debian mirror configured for apt on this machine")
    if root.exists():
        shutil.rmtree(root)
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
