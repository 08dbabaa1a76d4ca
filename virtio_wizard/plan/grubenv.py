"""Keeping grub2's environment block a block: exactly as many bytes as before.

``/boot/grub2/grubenv`` is 1024 bytes: a ``# GRUB Environment Block`` line,
``name=value`` lines, then ``#`` up to the end (grub's ``envblk.c``; grub
refuses a block of another size, and ``grub-editenv`` only ever rewrites it
in place). Renaming ``/dev/sda2`` to ``/dev/vda2`` keeps the length, but
``UUID=...`` does not, so every planned text of a grubenv is padded again
here: the padding after the last line grows or shrinks by what the
variables did. Pure: text in, text out.
"""

from __future__ import annotations

import posixpath
from typing import Optional

from ..finding import INFO, WARNING, Finding, Remedy, choose
from .edits import Workspace

__all__ = ["is_grubenv", "repad", "set_renamed", "GRUBENV_SOURCE"]

GRUBENV_SOURCE = (
    "GNU GRUB util/grub-editenv.c (DEFAULT_ENVBLK_SIZE 1024), grub-core/lib/envblk.c; "
    "RHEL 8 BLS entries' $kernelopts"
)


def is_grubenv(path: str) -> bool:
    """True for a grub environment block (``.../grubenv``, also behind a link to the ESP)."""
    return posixpath.basename(path) == "grubenv"


def repad(text: str, size: int, encoding: str = "utf-8") -> Optional[str]:
    """``text`` with its trailing ``#`` padding set so it encodes to ``size`` bytes.

    None when the variables alone no longer fit (or the text does not end in
    a padding after its last line, so it is no block this can pad).

    >>> block = "# GRUB Environment Block\\nkernelopts=root=/dev/sda1\\n" + "#" * 10
    >>> new = repad(block.replace("/dev/sda1", "UUID=abcd"), len(block))
    >>> len(new), new.endswith("\\n" + "#" * 10)
    (61, True)
    >>> repad(block + "x", len(block)) is None
    True
    """
    cut = text.rfind("\n") + 1
    if text[cut:].strip("#"):
        return None
    body = text[:cut]
    room = size - len(body.encode(encoding))
    if room < 0:
        return None
    return body + "#" * room


def set_renamed(ws: Workspace, path: str, text: str, changes: list[str]) -> list[Finding]:
    """Plan the renamed ``text`` of ``path`` into ``ws``; a grubenv keeps its size.

    Any other file is set as it is. A grubenv is padded back to the bytes it
    had (``repad``) and noted; when the new names no longer fit the block
    (``UUID=`` is longer than ``/dev/sda2``) it is left unchanged and said,
    since a longer file is no block grub reads.
    """
    why = "name the disks as virtio shows them: " + ", ".join(changes)
    if not is_grubenv(path):
        ws.set(path, text, why)
        return []
    old = ws.original(path) or b""
    encoding = "utf-8" if _utf8(old) else "latin-1"
    block = repad(text, len(old), encoding)
    if block is None:
        return [
            Finding(
                "grubenv-full",
                WARNING,
                f"{path}: the kernelopts with the new names ({', '.join(changes)}) do not "
                f"fit its {len(old)}-byte block, so it is left as it is and grub would "
                "still pass the old names.",
                Remedy(
                    "Plan without UUID= (the /dev/vdX names are as long as the old "
                    f"ones), or after the switch run `grub2-mkconfig -o {_grub_cfg(path)}`, "
                    "which writes kernelopts again from /etc/default/grub.",
                    (choose(use_uuid=False),),
                ),
                GRUBENV_SOURCE,
            )
        ]
    ws.set(path, block, why + f"; the block stays {len(old)} bytes")
    return [
        Finding(
            "grubenv-kernelopts",
            INFO,
            f"{path}: the kernelopts variable, which BLS entries expand as "
            f"$kernelopts, names the old disks: renamed ({', '.join(changes)}), the "
            f"'#' padding adjusted so the block stays {len(old)} bytes.",
            Remedy("Nothing to do; `grub2-editenv list` shows it after apply."),
            GRUBENV_SOURCE,
        )
    ]


def _grub_cfg(grubenv: str) -> str:
    """The grub.cfg beside a grubenv, which grub2-mkconfig writes with its kernelopts:
    ``/boot/grub2/grub.cfg``, or on UEFI the EFI partition's
    ``/boot/efi/EFI/<vendor>/grub.cfg`` (RHEL 8 keeps both there)."""
    return posixpath.join(posixpath.dirname(grubenv), "grub.cfg")


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
