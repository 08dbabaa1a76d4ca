"""What the wizard wants to know of an initrd: its format and the modules inside.

``inspect_initrd`` is the one call detection makes; it never raises, so a
broken image becomes a fact (``error`` set, ``virtio`` None) and not a crash.
It reads each image once per command: detection, apply's survey and the
verification after it ask about the same unchanged file, and an image can
cost seconds (or be a bomb that costs the cap), so the answer is kept per
file identity (path, size, modification time) and read again only when the
file changed.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import BinaryIO, Optional

from ..knowledge import VIRTIO_MODULE_NAMES, canonical_module
from ..targets import Target
from .errors import InitrdError
from .image import ImageReader

__all__ = ["InitrdInfo", "MODULE_SUFFIXES", "module_name", "read_initrd", "inspect_initrd"]

#: File names that are kernel modules (``.o`` on 2.4 kernels).
MODULE_SUFFIXES = (".ko", ".ko.gz", ".ko.xz", ".ko.zst", ".o")


@dataclass(frozen=True)
class InitrdInfo:
    """The readable facts of one initrd image."""

    #: Guest path of the image.
    path: str
    #: gzip, xz, lzma, bzip2, zstd, lz4, lzo, cpio, early+gzip, ..., ext2 or unknown.
    format: str
    #: Sorted canonical names of every kernel module file inside; None when unreadable.
    modules: Optional[tuple[str, ...]]
    #: The sorted subset in ``knowledge.VIRTIO_MODULE_NAMES``; () when none; None when unreadable.
    virtio: Optional[tuple[str, ...]]
    #: One sentence why the image could not be read, else None.
    error: Optional[str] = None
    #: Number of archive members read (also when reading stopped at an error).
    entries: int = 0


def module_name(member: str) -> Optional[str]:
    """The canonical module name of an image member, or None if it is no module.

    Only files under a ``lib`` folder count (``usr/lib/modules/KVER/...``;
    2.4 initrds keep ``.o`` files in ``/lib``), so a stray ``.o`` elsewhere
    is not taken for a driver.

    >>> module_name("usr/lib/modules/6.1.0/kernel/drivers/block/virtio-blk.ko.xz")
    'virtio_blk'
    >>> module_name("etc/virtio.o") is None
    True
    """
    parts = [p for p in member.split("/") if p not in ("", ".")]
    if len(parts) < 2 or "lib" not in parts[:-1]:
        return None
    base = parts[-1]
    if not base.endswith(MODULE_SUFFIXES):
        return None
    name = canonical_module(base)
    return name or None


def read_initrd(stream: BinaryIO, path: str = "") -> InitrdInfo:
    """Read a whole image from ``stream``; never raises (bar KeyboardInterrupt).

    The function to time in benchmarks: it streams, so memory stays flat.
    """
    reader = ImageReader(stream)
    modules: set[str] = set()
    entries = 0
    try:
        for member in reader.members():
            entries += 1
            if member.is_file:
                name = module_name(member.name)
                if name is not None:
                    modules.add(name)
    except InitrdError as exc:
        return InitrdInfo(path, reader.format, None, None, str(exc), entries)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return InitrdInfo(path, reader.format, None, None, f"reading failed: {reason}", entries)
    except Exception as exc:  # noqa: BLE001 -- detection must survive any image
        error = f"unexpected error while reading the image: {type(exc).__name__}: {exc}"
        return InitrdInfo(path, reader.format, None, None, error, entries)
    found = tuple(sorted(modules))
    virtio = tuple(name for name in found if name in VIRTIO_MODULE_NAMES)
    return InitrdInfo(path, reader.format, found, virtio, None, entries)


def inspect_initrd(target: Target, path: str) -> InitrdInfo:
    """Format and modules of the guest image at ``path``; never raises.

    A missing file, a folder, a FIFO or an unreadable file gives
    ``format="unknown"`` and the reason in ``error``. An image read before in
    this process and unchanged since (same resolved path, size and
    modification time) is not read again.
    """
    key = _identity(target, path)
    if key is not None and key in _READ:
        _READ.move_to_end(key)
        return replace(_READ[key], path=path)
    try:
        stream = target.open_binary(path)
    except OSError as exc:
        reason = getattr(exc, "message", None) or exc.strerror or str(exc)
        return InitrdInfo(path, "unknown", None, None, f"cannot read {path}: {reason}")
    except Exception as exc:  # noqa: BLE001 -- a Target of any kind must not crash detection
        return InitrdInfo(path, "unknown", None, None, f"cannot read {path}: {exc}")
    with stream:
        info = read_initrd(stream, path)
    if key is not None and _identity(target, path) == key:  # unchanged while read
        _READ[key] = info
        while len(_READ) > _READ_KEEP:
            _READ.popitem(last=False)
    return info


#: Answers of images already read, by file identity (see ``_identity``).
_READ: OrderedDict[tuple[object, ...], InitrdInfo] = OrderedDict()
_READ_KEEP = 64


def _identity(target: Target, path: str) -> Optional[tuple[object, ...]]:
    """What tells this image file from another or a changed one; None when unknown.

    A Target that cannot say when a file changed (mtime 0: the SSH target)
    gets no memo: its images are read each time.
    """
    try:
        st = target.stat(path)
        resolved = target.resolve(path)
    except Exception:  # noqa: BLE001 -- no identity, no memo; the read reports the error
        return None
    if st is None or not st.is_file or not st.mtime:
        return None
    return (type(target).__name__, target.root, resolved, st.size, st.mtime)
