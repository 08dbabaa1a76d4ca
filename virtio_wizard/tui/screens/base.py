"""What every wizard step shares: the header, the footer, Back and Next.

A step is a ``Screen[Nav]``: data comes in through ``__init__``, the user's
answer goes out through ``dismiss(Nav(...))``, and the app's walker decides
where to go next. Next is shown greyed out (``check_action`` returns None)
while the step cannot be left forwards, so a refusal is visible in the
footer as well as on the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from ..widgets.header import WizardHeader

__all__ = ["Nav", "StepScreen", "NEXT", "BACK", "UNDO", "QUIT"]

NEXT, BACK, UNDO, QUIT = "next", "back", "undo", "quit"


@dataclass(frozen=True)
class Nav:
    """A step's answer: where to go (``next``/``back``/``undo``/``quit``) and its value."""

    action: str
    value: Any = None


class StepScreen(Screen[Nav]):
    """Base of the wizard steps: header with the target, Back/Next bindings, footer."""

    #: "2/6 Path" style title shown in the header.
    STEP_TITLE = ""

    BINDINGS = [
        Binding("escape", "back", "Back", key_display="Esc", id="back"),
        Binding("n", "next", "Next", key_display="n", id="next"),
    ]

    #: False while Next must stay blocked (e.g. the plan is refused).
    next_ready = True

    def compose_header(self) -> ComposeResult:
        yield WizardHeader(self.app.target_label, step=self.STEP_TITLE)

    def compose_footer(self) -> ComposeResult:
        yield Footer(show_command_palette=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next" and not self.next_ready:
            return None
        return True

    def set_next_ready(self, ready: bool) -> None:
        """Block or allow Next, and redraw the footer to match."""
        self.next_ready = ready
        self.refresh_bindings()

    def action_back(self) -> None:
        self.dismiss(Nav(BACK))

    def action_next(self) -> None:
        if self.next_ready:
            self.dismiss(Nav(NEXT, self.result()))

    def result(self) -> Any:
        """The value handed on by Next (override)."""
        return None

    def ask_undo(self, value: Any = None) -> None:
        """Dismiss with Undo only after the user confirms it in ``ConfirmUndo``.

        Undo writes guest files, so it is confirmed like apply; on Cancel this
        screen stays as it was (nothing re-detected, nothing re-verified).
        """
        from .confirm_undo import ConfirmUndo

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(Nav(UNDO, value))

        confirm = ConfirmUndo(self.app.target, self.app.engine, self.app.target_label)
        self.app.push_screen(confirm, callback=answered)
