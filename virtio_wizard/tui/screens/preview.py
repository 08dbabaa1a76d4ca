"""Step 4, Preview: every change as a diff and every command as it will run.

Nothing is written here. ``a`` goes on to the confirmation, which names the
files once more before anything happens.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...plan.model import Plan
from ..widgets.plan_view import plan_renderable
from .base import StepScreen

__all__ = ["PreviewScreen"]


class PreviewScreen(StepScreen, inherit_bindings=False):
    """The plan, scrollable; Apply asks for confirmation next."""

    STEP_TITLE = "4/6 Preview"

    BINDINGS = [
        Binding("escape", "back", "Back", key_display="Esc", id="back"),
        Binding("a", "next", "Apply...", key_display="a", id="next"),
    ]

    def __init__(self, target, engine, plan: Plan) -> None:
        super().__init__()
        self.target = target
        self.engine = engine
        self.plan = plan
        self.next_ready = not plan.changes_nothing and not plan.refused

    def compose(self) -> ComposeResult:
        demo = "" if self.target.can_run else " Demo: commands are not run."
        yield from self.compose_header()
        yield Static(f"Nothing is written yet. PgUp/PgDn scrolls.{demo}", id="status")
        with VerticalScroll(id="body", can_focus=True):
            yield Static(
                plan_renderable(
                    self.plan,
                    self.engine,
                    can_run=self.target.can_run,
                    ascii_mode=self.app.ascii_mode,
                ),
                id="plan",
            )
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#body").focus()

    def result(self) -> Plan:
        return self.plan
