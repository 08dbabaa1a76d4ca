"""Planning: a pure function from Facts, Choices and file bytes to a Plan.

The package's face: the names the CLI, the TUI and the tests use. The
planner itself is :mod:`.planner` (``plan``, ``make_plan``), the kernel and
module choice :mod:`.kernels`, the guest files a plan needs :mod:`.needs`
and how they are read :mod:`.files`; each method and edit has its module.
"""

from __future__ import annotations

from .files import GuestFiles, read_files
from .kernels import choose_kernel, modules_to_load
from .model import PLAN_SCHEMA, Choices, Plan, PlanError, Step, parse_drivers
from .needs import files_needed
from .planner import make_plan, plan

__all__ = [
    "plan",
    "make_plan",
    "files_needed",
    "read_files",
    "GuestFiles",
    "choose_kernel",
    "modules_to_load",
    "Choices",
    "Step",
    "Plan",
    "PlanError",
    "PLAN_SCHEMA",
    "parse_drivers",
]
