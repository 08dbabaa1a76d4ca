"""What one run of the wizard has learnt so far, and the typed answers that change it.

The steps (``steps.py``) hand their answers back with ``dismiss``; the walker
folds each answer into a new ``Session`` and nothing else writes it. Side
screens (Troubleshooting, Report) read the session as the step on screen
would leave it (``StepScreen.so_far``), so they show what that step already
knows without the step having written anything.

No Textual here: these are plain records, like subiquity's models.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any, Optional, Union

if TYPE_CHECKING:  # the core's types load with the screens that use them
    from ..facts import Facts
    from ..finding import Finding
    from ..plan.model import Choices, Plan

__all__ = ["Action", "Nav", "Detection", "RunOutcome", "Session"]


class Action(str, Enum):
    """Where a step's answer asks to go."""

    NEXT = "next"
    BACK = "back"
    UNDO = "undo"
    QUIT = "quit"


@dataclass(frozen=True)
class Nav:
    """A step's answer: where to go, and the value the step hands on."""

    action: Action
    value: Any = None


@dataclass(frozen=True)
class Detection:
    """The Guest step's answer: what it found about the guest."""

    facts: Facts
    findings: tuple[Finding, ...]
    #: True once the initrd images are read (the facts are final).
    initrds_read: bool
    #: The journal an undo would revert, when an earlier apply left one.
    journal: Optional[dict] = None


@dataclass(frozen=True)
class RunOutcome:
    """What an apply or undo run came to, as the Apply screen hands it on."""

    ok: bool
    #: True when everything was in place already (apply wrote nothing).
    nothing: bool = False
    #: The journal's path in the guest, when the core reported one.
    journal: Optional[str] = None
    messages: tuple[str, ...] = ()
    #: Why the run stopped (None when it finished).
    error: Optional[str] = None

    @classmethod
    def of(cls, result: Any) -> RunOutcome:
        """From the core's ``ApplyResult`` or ``UndoResult`` (status, journal, messages)."""
        ok = result.status in ("done", "nothing")
        messages = tuple(result.messages)
        return cls(
            ok=ok,
            nothing=result.status == "nothing",
            journal=result.journal,
            messages=messages,
            error=None if ok else "; ".join(messages) or "a step failed",
        )

    @classmethod
    def refused(cls, error: str) -> RunOutcome:
        """The core raised before or while running (a refusal, a lost connection)."""
        return cls(ok=False, messages=(error,), error=error)


@dataclass(frozen=True)
class Session:
    """Facts, findings, choices, plan, journal and outcome of this run of the wizard."""

    facts: Optional[Facts] = None
    findings: tuple[Finding, ...] = ()
    initrds_read: bool = False
    #: The journal an undo would revert (read on the Guest step).
    journal: Optional[dict] = None
    #: The apply awaiting verification on a running guest (Welcome back shows it).
    pending: Optional[dict] = None
    choices: Optional[Choices] = None
    plan: Optional[Plan] = None
    outcome: Optional[RunOutcome] = None

    def detected(self, found: Detection) -> Session:
        return replace(
            self,
            facts=found.facts,
            findings=tuple(found.findings),
            initrds_read=found.initrds_read,
            journal=found.journal,
        )

    def forget_guest(self) -> Session:
        """After an undo the guest changed: detect afresh (the choices stay as they were)."""
        return replace(self, facts=None, findings=(), initrds_read=False, journal=None, plan=None)

    @property
    def report_journal(self) -> Union[str, dict, None]:
        """The journal a report names: this run's, else the earlier apply's record."""
        return (self.outcome.journal if self.outcome else None) or self.journal
