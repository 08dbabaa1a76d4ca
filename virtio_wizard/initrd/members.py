"""Every member of an initrd, for checks that ask for more than modules.

``inspect_initrd`` keeps only the kernel modules (what detection needs, for
every image of every kernel). Apply's check of a rebuilt image also asks
for tools and rules the root needs (``/usr/sbin/lvm``, LVM's udev rules:
``plan.rootneeds``), so this reads one image once more and keeps every
file and link name. It reads the same way (the same reader and caps), and
only the images apply just built.
"""

from __future__ import annotations

import stat

from ..targets import Target
from .image import ImageReader
from .info import module_name

__all__ = ["image_members"]


def image_members(target: Target, path: str) -> tuple[set[str], set[str]]:
    """(member paths with a leading ``/``, canonical module names) of a guest image.

    Files and symbolic links count (merged-/usr images link ``sbin`` to
    ``usr/sbin``; a tool may be a link to a multi-call binary). Raises
    ValueError (InitrdError is one) when the image cannot be read.
    """
    try:
        stream = target.open_binary(path)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from exc
    names: set[str] = set()
    modules: set[str] = set()
    with stream:
        for member in ImageReader(stream).members():
            if not (member.is_file or stat.S_ISLNK(member.mode)):
                continue
            parts = [p for p in member.name.split("/") if p not in ("", ".")]
            names.add("/" + "/".join(parts))
            module = module_name(member.name) if member.is_file else None
            if module is not None:
                modules.add(module)
    return names, modules
