"""Small helpers the checks share.

Module lists in words, the modules a kernel lacks, the RHEL major version,
and the source named by findings about detection itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from .. import knowledge as kn
from ..facts import Facts, Kernel

__all__ = ["DETECTION_SOURCE", "names", "missing_modules", "rhel_major"]


#: Source for findings about detection itself (no domain rule behind them).
DETECTION_SOURCE = "virtio-wizard detection (guest files are read bounded, regular files only)"


def names(modules: Sequence[str]) -> str:
    """Module names as a comma-separated list, in the order given."""
    return ", ".join(modules)


def missing_modules(kernel: Kernel) -> list[str]:
    """The modules of the guide's list this kernel has neither as a module nor built in."""
    return [m for m in kn.SEED_MODULES if not kernel.supports(m)]


def rhel_major(facts: Facts) -> Optional[int]:
    """The major release of a RHEL-like guest (5 for 5.3), None for other distributions."""
    if facts.distro.id not in kn.RHEL_LIKE_IDS:
        return None
    parts = kn.version_tuple(facts.distro.version)
    return parts[0] if parts else None
