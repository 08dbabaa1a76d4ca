"""Help: the keys and the steps, one key (? or F1) away on every screen.

Only words that hold everywhere are here: each step's own keys are in its
footer, and the footer shows only keys that work at that moment.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..widgets.header import WizardHeader

__all__ = ["HelpScreen", "KEYS", "STEPS"]

#: (keys, what they do) on every step.
KEYS = (
    ("n  Enter", "next step (Enter when no button or choice has the focus)"),
    ("Esc", "back one step; on the first step it asks before quitting"),
    ("Tab  Shift+Tab", "move between the choices of a step"),
    ("Up  Down  Space", "move within a choice, pick it"),
    ("PgUp  PgDn", "scroll the step"),
    ("t", "problems found, each with its fix"),
    ("r", "write a report for a support ticket"),
    ("?  F1", "this help"),
    ("Ctrl+Q", "quit at once (not while apply or undo writes)"),
)

#: (step, what happens there).
STEPS = (
    ("1 Guest", "what was detected; nothing is written"),
    ("2 Path", "initrd (drivers in the initial RAM disk) or sysinit (loaded late in boot)"),
    ("3 Drivers", "block and/or network, file, kernel(s), boot disk, disk names"),
    ("4 Preview", "every file change as a diff, every command as it will run"),
    ("  Confirm", "a last question, focus on Cancel: y applies"),
    ("5 Apply", "backups, writes, commands, a journal"),
    ("6 Done", "detected again; what to do next; u undoes"),
)


def _table(rows: tuple[tuple[str, str], ...]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1)
    for left, right in rows:
        table.add_row(left, right)
    return table


class HelpScreen(Screen[None]):
    """The keys and the steps; Esc, ? or F1 closes."""

    BINDINGS = [
        Binding("escape", "close", "Back", key_display="Esc", id="back"),
        Binding("question_mark,f1", "close", "Close", key_display="?", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield WizardHeader(self.app.target_label, step="Help")
        yield Static("Keys that work on every step, and the steps.", id="status")
        with VerticalScroll(id="body"):
            yield Static(
                Group(
                    Text("Keys", style="bold"),
                    _table(KEYS),
                    Text(""),
                    Text("Steps", style="bold"),
                    _table(STEPS),
                    Text(""),
                    Text("Each step's footer shows the keys that work there now."),
                )
            )
        yield Footer(show_command_palette=False)

    def action_close(self) -> None:
        self.dismiss(None)
