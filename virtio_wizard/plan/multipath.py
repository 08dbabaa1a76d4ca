"""The multipath warning in a plan that moves the disks to virtio.

Detection's ``multipath-on-virtio`` finding (``checks/multipath.py``) holds
for any switch of the disks; the plan repeats it only when its choices move
them, so a network-only plan stays quiet. Pure: Facts and Choices in,
findings out.
"""

from __future__ import annotations

from ..checks.multipath import multipath_finding
from ..facts import Facts
from ..finding import Finding
from .defaults import disks_move_to_virtio
from .model import Choices

__all__ = ["plan_multipath"]


def plan_multipath(facts: Facts, choices: Choices) -> list[Finding]:
    """Detection's multipath warning, when these choices move the disks to virtio."""
    moving = choices.block and disks_move_to_virtio(choices.block, choices.boot_disk)
    found = multipath_finding(facts) if moving else None
    return [found] if found else []
