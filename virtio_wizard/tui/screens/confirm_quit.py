"""Quit the wizard? Asked when Esc is pressed on the first step.

Esc means "go back" on every step; on the first one there is nowhere to go,
so it asks instead of quitting at once (a user pressing Esc out of habit
loses nothing). Ctrl+Q still quits without a question. The dialog looks
like ConfirmApply and ConfirmUndo: focus on Cancel, ``y`` quits, ``n`` or
Esc stays.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

__all__ = ["ConfirmQuit"]


class ConfirmQuit(ModalScreen[bool]):
    """Leave the wizard? True only on an explicit yes."""

    BINDINGS = [
        Binding("escape", "cancel", "Stay", key_display="Esc", id="cancel"),
        Binding("n,N", "cancel", "No", key_display="n", show=False),
        Binding("y,Y", "quit", "Yes, quit", key_display="y", id="quit-yes"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(Text("Quit the wizard?", style="bold"), id="confirm-title")
            yield Static("Quitting writes nothing. Ctrl+Q quits at once from any step.")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Quit", id="quit-yes", variant="error", compact=True)
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#quit-yes")
    def action_quit(self) -> None:
        self.dismiss(True)
