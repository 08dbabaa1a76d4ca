"""Progress events: one vocabulary for apply and undo, read by the CLI and the TUI."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable, Optional, Union

__all__ = ["ApplyEvent", "Emit", "EventKind"]


class EventKind(str, Enum):
    """What an ``ApplyEvent`` reports. The faces switch on these members, never on words.

    A ``str`` enum whose values are the words the events always had, so a
    kind still reads (and compares) as ``"step-done"`` in a log or a test.
    """

    STEP_START = "step-start"
    STEP_DONE = "step-done"
    STEP_SKIPPED = "step-skipped"
    STEP_FAILED = "step-failed"
    #: A line of a running command's output.
    OUTPUT = "output"
    #: A remark about the whole run (or a step) that changes no step's state.
    NOTE = "note"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ApplyEvent:
    """Progress for the CLI and the TUI: what happens, at which step.

    ``index`` is the plan step, or None for notes about the whole apply. A
    kind given as its word (``"step-done"``) becomes the member, so the
    faces' lookups by member hold whoever built the event.
    """

    kind: EventKind
    index: Optional[int]
    text: str

    def __init__(self, kind: Union[EventKind, str], index: Optional[int], text: str) -> None:
        object.__setattr__(self, "kind", EventKind(kind))
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "text", text)


Emit = Callable[[ApplyEvent], None]
