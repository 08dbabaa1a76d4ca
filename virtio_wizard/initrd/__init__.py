"""A streaming reader of initrd/initramfs images: format, members, kernel modules.

No root, no mounting, no guest tools: the image is read through the Target
and decompressed in chunks, so a 130 MB initramfs costs a few MiB of memory.

- ``inspect_initrd(target, path) -> InitrdInfo``: what detection needs; never raises.
- ``read_initrd(stream, path) -> InitrdInfo``: the same from an open stream (benchmarks).
- ``iter_names(stream)`` / ``iter_members(stream)``: every member, all segments;
  ``InitrdError`` (a ValueError) on corruption.
"""

from __future__ import annotations

from .cpio import Member
from .errors import InitrdError
from .image import ImageReader, format_name, iter_members, iter_names
from .info import MODULE_SUFFIXES, InitrdInfo, inspect_initrd, module_name, read_initrd

__all__ = [
    "InitrdError",
    "InitrdInfo",
    "ImageReader",
    "Member",
    "MODULE_SUFFIXES",
    "format_name",
    "inspect_initrd",
    "iter_members",
    "iter_names",
    "module_name",
    "read_initrd",
]
