"""Reading the guest files a plan needs through the Target.

Planning itself is pure (``plan(facts, choices, files)``); this module is the
impure edge that gathers ``files``. It reads only through the Target, so
symlinks are resolved inside the guest root, only regular files are opened
and every read is bounded. Edits must name the real file behind a link
(``/etc/grub.conf`` -> ``/boot/grub/grub.conf``): writing the link's path
would replace the link with a copy and leave grub reading the old file.

Two kinds of entry only need an answer to "is the name taken?": initrd
backup candidates (multi-megabyte images, never read) and folders (a path
ending in ``/``, e.g. ``/etc/mkinitcpio.conf.d/``). For those the value is
``b""`` when something is there and None when not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from ..targets import Target

__all__ = [
    "GuestFiles",
    "read_files",
    "backup_candidates",
    "is_probe",
    "RUNTIME_CONTEXTS",
    "MKINITCPIO_DROPIN_DIR",
]

#: DiskRef contexts that are runtime state, not files to edit.
RUNTIME_CONTEXTS = frozenset({"cmdline", "mtab", "swaps"})
MKINITCPIO_DROPIN_DIR = "/etc/mkinitcpio.conf.d/"
#: How many numbered backup names to try after the two plain ones.
BACKUP_NUMBERED = 9
_BACKUP_RE = re.compile(r"\.(virtio\.orig|virtio-wizard\.bak(\.\d+)?)$")


class GuestFiles(dict):
    """``path -> bytes or None`` plus what a plain mapping cannot carry.

    ``real`` maps a requested path to the real file behind its symlinks (only
    where they differ); ``modes`` holds each existing file's permission bits,
    so an edit keeps them and a non-executable ``/etc/rc.modules`` is noticed;
    ``errors`` holds the paths that exist but could not be used (FIFO, link
    loop, too large, no permission) with the reason: the planner refuses to
    edit those rather than take them for absent and create them anew.
    """

    def __init__(
        self,
        data: Optional[dict[str, Optional[bytes]]] = None,
        real: Optional[dict[str, str]] = None,
        modes: Optional[dict[str, int]] = None,
        errors: Optional[dict[str, str]] = None,
        links: Optional[dict[str, int]] = None,
    ) -> None:
        super().__init__(data or {})
        self.real: dict[str, str] = dict(real or {})
        self.modes: dict[str, int] = dict(modes or {})
        self.errors: dict[str, str] = dict(errors or {})
        #: Hard-link counts above one (an atomic replace splits such a file).
        self.links: dict[str, int] = dict(links or {})


def is_probe(path: str) -> bool:
    """True for entries whose content is never read, only their presence."""
    return path.endswith("/") or bool(_BACKUP_RE.search(path))


def backup_candidates(image: str) -> list[str]:
    """Backup names for an initrd, best first: the guide's, ours, numbered ones.

    The guide's virtio package keeps ``IMAGE.virtio.orig``; reusing that name
    when free makes the wizard's backup where a Red Hat admin looks first.
    """
    names = [f"{image}.virtio.orig", f"{image}.virtio-wizard.bak"]
    names += [f"{image}.virtio-wizard.bak.{n}" for n in range(1, BACKUP_NUMBERED + 1)]
    return names


def read_files(target: Target, paths: Iterable[str]) -> GuestFiles:
    """Read ``paths`` through the Target: bytes, None when absent.

    Symlinks are resolved inside the root and recorded in ``real``. A path
    that exists but cannot be read as a regular file (FIFO, link loop, too
    large) is None *and* listed in ``errors``, so the plan refuses it.
    """
    out = GuestFiles()
    for path in paths:
        if path.endswith("/"):
            out[path] = b"" if target.is_dir(path) else None
            continue
        if is_probe(path):
            out[path] = b"" if target.exists(path) or target.is_symlink(path) else None
            continue
        try:
            real = target.resolve(path)
            if real != path:
                out.real[path] = real
            if not target.exists(path) and not target.is_symlink(path):
                out[path] = None
                continue
            out[path] = target.read_bytes(path)
        except OSError as exc:
            out[path] = None
            out.errors[path] = getattr(exc, "message", None) or exc.strerror or str(exc)
            continue
        st = target.stat(path)
        if st is not None:
            out.modes[path] = st.perms
            if getattr(st, "nlink", 1) > 1:
                out.links[path] = st.nlink
    return out
