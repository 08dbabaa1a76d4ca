"""Where grub2 keeps its files: /boot's folder and the EFI system partition's.

Red Hat, Fedora and SUSE name grub2's folder ``/boot/grub2``, Debian and
Ubuntu ``/boot/grub``. On UEFI, RHEL 7 and 8 and Fedora before 34 keep the
real menu in the ESP's vendor folder, ``/boot/efi/EFI/<vendor>/grub.cfg``
(``redhat``, ``centos``, ``fedora``, ...; written by ``grub2-mkconfig -o``
that path), and RHEL 8 its ``grubenv`` beside it (``/boot/grub2/grubenv`` is
then a link to it, or missing). Fedora 34 and RHEL 9 moved the menu back to
``/boot/grub2`` and leave on the ESP only a stub that hands over with
``configfile`` (Fedora's "Changes/UnifyGrubConfig"; Red Hat's RHEL 7
System Administrator's Guide, "Working with GRUB 2", names
``/boot/efi/EFI/redhat/grub.cfg`` for UEFI). A stub holds no menu entries
and no disk names, so every reader simply finds nothing in it.

The boot menu (``bootentries``) and the disk names (``disks``, ``grubenv``)
read the same list, from here, so that neither can miss a place the other
reads.
"""

from __future__ import annotations

import posixpath

from ..targets import Target

__all__ = ["GRUB2_CONFIGS", "EFI_DIR", "esp_files", "grub2_configs", "is_esp_file"]

#: grub2's generated config (Red Hat and SUSE name the folder grub2, Debian grub).
GRUB2_CONFIGS: tuple[str, ...] = ("/boot/grub2/grub.cfg", "/boot/grub/grub.cfg")
#: The EFI system partition's vendor folders.
EFI_DIR = "/boot/efi/EFI"
#: The grub2 files a vendor folder on the ESP may hold.
_ESP_NAMES = ("grub.cfg", "grubenv")


def esp_files(target: Target, name: str) -> list[str]:
    """``name`` (``grub.cfg``, ``grubenv``) in each ESP vendor folder holding one, by vendor."""
    paths = [f"{EFI_DIR}/{vendor}/{name}" for vendor in sorted(target.listdir(EFI_DIR))]
    return [p for p in paths if target.exists(p)]


def grub2_configs(target: Target) -> list[str]:
    """grub2's configs that exist: /boot's two, then each ESP vendor folder's."""
    return [p for p in GRUB2_CONFIGS if target.exists(p)] + esp_files(target, "grub.cfg")


def is_esp_file(path: str) -> bool:
    """True for a ``grub.cfg`` or ``grubenv`` in an ESP vendor folder (``esp_files``).

    >>> is_esp_file("/boot/efi/EFI/redhat/grubenv"), is_esp_file("/boot/efi/EFI/grub.cfg")
    (True, False)
    """
    folder, name = posixpath.split(path)
    return name in _ESP_NAMES and posixpath.dirname(folder) == EFI_DIR
