"""Progress events: one vocabulary for apply and undo, read by the CLI and the TUI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

__all__ = ["ApplyEvent", "Emit"]

# Event kinds.
STEP_START, STEP_DONE, STEP_SKIPPED, STEP_FAILED = (
    "step-start",
    "step-done",
    "step-skipped",
    "step-failed",
)
OUTPUT, NOTE = "output", "note"


@dataclass(frozen=True)
class ApplyEvent:
    """Progress for the CLI and the TUI: what happens, at which step.

    ``kind`` is step-start, step-done, step-skipped, step-failed, output (a
    line of a command's output) or note; ``index`` is the plan step, or None
    for notes about the whole apply.
    """

    kind: str
    index: Optional[int]
    text: str


Emit = Callable[[ApplyEvent], None]
