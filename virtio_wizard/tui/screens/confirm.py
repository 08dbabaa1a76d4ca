"""The last question before anything is written: what, where, and how to undo.

A ``ModalScreen[bool]`` (posting's ``ConfirmationModal``): focus starts on
Cancel so that an Enter pressed out of habit writes nothing; ``y`` applies,
``n`` or Escape cancels.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from ...journal import STATE_DIR
from ...plan.model import Plan
from ..widgets.plan_view import written_paths
from .scroll import SCROLL_BINDINGS, scroll_body

__all__ = ["ConfirmApply"]


class ConfirmApply(ModalScreen[bool]):
    """Apply this plan to this target? True only on an explicit yes."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", key_display="Esc", id="cancel"),
        *SCROLL_BINDINGS,
        Binding("n,N", "cancel", "No", key_display="n", show=False),
        Binding("y,Y", "apply", "Yes, apply", key_display="y", id="apply"),
    ]

    def __init__(self, plan: Plan, target_label: str, can_run: bool) -> None:
        super().__init__()
        self.plan = plan
        self.target_label = target_label
        self.can_run = can_run

    def compose(self) -> ComposeResult:
        paths = written_paths(self.plan)
        commands = sum(1 for s in self.plan.steps if s.kind == "command")
        lines = [
            Text.assemble(
                "Apply ",
                (f"{len(self.plan.steps)} step(s)", "bold"),
                " to ",
                (self.target_label, "bold"),
            ),
            Text(""),
            Text("Files that will be written:", style="bold"),
        ]
        lines += [Text(f"  {p}") for p in paths] or [Text("  (none)")]
        if commands:
            verb = "will run" if self.can_run else "would run (demo: not executed)"
            lines.append(Text(f"Commands: {commands} {verb}, output shown live.", style="bold"))
        lines.append(Text(""))
        lines.append(
            Text(
                f"Each file is backed up first; the journal goes to {STATE_DIR}/ "
                "and Undo restores every file byte for byte."
            )
        )
        with Vertical(id="confirm-dialog"):
            yield Static(Text("Write these changes?", style="bold"), id="confirm-title")
            with VerticalScroll(id="confirm-body", can_focus=False):
                yield Static(Group(*lines))
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Apply", id="apply", variant="error", compact=True)
        yield Footer(show_command_palette=False)

    def action_scroll_body(self, way: str) -> None:
        scroll_body(self, way)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        self.dismiss(True)
