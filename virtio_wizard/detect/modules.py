"""Modules the running kernel has loaded, and drivers on its virtio bus.

Both come from the running kernel only: an offline root has no running
kernel, so the answer is None / () there rather than a stale guess. A kernel
with everything built in (or a sandbox) has no ``/proc/modules``; then the
virtio bus in sysfs is what shows the drivers at work.
"""

from __future__ import annotations

from typing import Optional

from ..facts import Unreadable
from ..targets import Target
from ._read import read_guest_text

__all__ = ["detect_loaded_modules", "detect_virtio_bus"]


def detect_loaded_modules(
    target: Target, problems: Optional[list[Unreadable]] = None
) -> Optional[tuple[str, ...]]:
    """Names in the first column of ``/proc/modules``, in the kernel's order.

    None when the target is not live or the file is absent (a kernel built
    without module support); an unusable file is noted in ``problems``.
    """
    if not target.live or not target.exists("/proc/modules"):
        return None
    text = read_guest_text(target, "/proc/modules", problems)
    if text is None:
        return None
    names = []
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] not in names:
            names.append(fields[0])
    return tuple(names)


def detect_virtio_bus(target: Target) -> tuple[str, ...]:
    """Sorted driver names under ``/sys/bus/virtio/drivers`` (live targets only)."""
    if not target.live:
        return ()
    base = "/sys/bus/virtio/drivers"
    return tuple(name for name in target.listdir(base) if target.is_dir(f"{base}/{name}"))
