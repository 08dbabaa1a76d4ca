"""What every wizard step shares: the header, the footer, Back and Next.

A step is a ``Screen[Nav]``: data comes in through ``__init__``, the user's
answer goes out through ``dismiss(Nav(...))``, and the app's walker folds it
into the session and looks up where to go next (``steps.py``). Next is
hidden from the footer (``check_action`` returns False) while the step
cannot be left forwards: a key shown there always works.

Keys every step shares: Esc goes back, ``n`` (or ``N``, with Caps Lock on)
and Enter with nothing else to take it go on, PgUp/PgDn scroll the step's
body (which is not a Tab stop of its own: Tab moves only between controls
that show their focus).
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from ..session import Action, Nav, Session
from ..widgets.header import WizardHeader
from .scroll import SCROLL_BINDINGS, scroll_body

__all__ = ["Nav", "StepScreen", "NEXT", "BACK", "UNDO", "QUIT"]

NEXT, BACK, UNDO, QUIT = Action.NEXT, Action.BACK, Action.UNDO, Action.QUIT


class StepScreen(Screen[Nav]):
    """Base of the wizard steps: header with the target, Back/Next bindings, footer."""

    #: "2/6 Path" style title shown in the header.
    STEP_TITLE = ""

    BINDINGS = [
        Binding("escape", "back", "Back", key_display="Esc", id="back"),
        Binding("n,N", "next", "Next", key_display="n", id="next"),
        Binding("enter", "next", "Next", show=False),
        *SCROLL_BINDINGS,
    ]

    #: False while Next must stay blocked (e.g. the plan is refused).
    next_ready = True
    #: True while this step writes guest files: the app refuses Ctrl+Q meanwhile.
    writing = False

    def compose_header(self) -> ComposeResult:
        yield WizardHeader(self.app.target_label, step=self.STEP_TITLE)

    def compose_footer(self) -> ComposeResult:
        yield Footer(show_command_palette=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "next" and not self.next_ready)

    def action_scroll_body(self, way: str) -> None:
        scroll_body(self, way)

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

    def so_far(self, session: Session) -> Session:
        """``session`` with what this step knows already, for the side screens (override).

        Nothing is written: the walker changes the session only from answers.
        """
        return session

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
