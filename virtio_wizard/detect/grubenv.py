"""Disk names in grub2's environment block: RHEL 8's ``kernelopts``.

On Red Hat Enterprise Linux 8 (and Fedora 28 to 33) the BLS entries say
``options $kernelopts`` and grub expands it from ``/boot/grub2/grubenv``
(on UEFI a link to the ESP's ``/boot/efi/EFI/<vendor>/grubenv``, which is
read where no link leads to it), where ``grub2-mkconfig`` stored the
kernel arguments: ``kernelopts=root=/dev/sda2 ro resume=/dev/sda3``. A
``root=``/``resume=`` there is the boot path's disk name like any BLS
``options`` line. virt-v2v's ``remap_block_devices`` does not look there
(its Augeas paths are fstab, crypttab and the boot loader's config), so a
RHEL 8 guest installed with ``/dev/sdX`` names keeps them; the wizard remaps
them like the BLS options, and with them what grub passes.

The file is a fixed block of 1024 bytes, padded with ``#`` after the last
variable (grub's ``grub-editenv``, ``grub-core/lib/envblk.c``): grub reads
exactly that block, so any edit must keep the size; ``plan.grubenv`` pads it
again (grub ``util/grub-editenv.c``: ``DEFAULT_ENVBLK_SIZE 1024``;
``include/grub/lib/envblk.h``: the ``# GRUB Environment Block`` signature).
"""

from __future__ import annotations

from typing import Optional

from ..facts import DiskRef, Unreadable
from ._read import read_guest_text
from .devnames import classify_device, real_files
from .grubplaces import esp_files

__all__ = ["GRUBENVS", "GRUBENV_CONTEXT", "grubenv_refs"]

#: grub2's environment blocks (Red Hat's and Debian's folder names).
GRUBENVS: tuple[str, ...] = ("/boot/grub2/grubenv", "/boot/grub/grubenv")
#: The DiskRef context of a ``kernelopts`` root=/resume= name.
GRUBENV_CONTEXT = "grubenv-kernelopts"
_KEYS = ("root=", "resume=")


def grubenv_refs(target, problems: Optional[list[Unreadable]] = None) -> list[DiskRef]:
    """root=/resume= names in the ``kernelopts`` variable of each grubenv found."""
    refs: list[DiskRef] = []
    for path in real_files(target, (*GRUBENVS, *esp_files(target, "grubenv"))):
        text = read_guest_text(target, path, problems, limit=64 * 1024)
        for number, line in enumerate((text or "").split("\n"), 1):
            if not line.startswith("kernelopts="):
                continue
            for token in line[len("kernelopts=") :].split():
                if not token.startswith(_KEYS):
                    continue
                device = token.partition("=")[2]
                scheme = classify_device(device) if device else None
                if scheme is not None:
                    refs.append(DiskRef(path, number, device, scheme, context=GRUBENV_CONTEXT))
    return refs
