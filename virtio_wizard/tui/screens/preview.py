"""Step 4, Preview: every change as a diff and every command as it will run.

The words are the core's (``preview.render_rich``), the same the CLI's
``plan`` prints (a fix names the control on screen where ``plan`` names the
flag), so the two front ends never disagree. Nothing is written
here; ``a`` goes on to the confirmation, which names the files once more.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...plan.model import Plan
from .base import StepScreen

__all__ = ["PreviewScreen"]


class PreviewScreen(StepScreen, inherit_bindings=False):
    """The plan, scrollable; Apply asks for confirmation next."""

    STEP_TITLE = "4/6 Preview"

    BINDINGS = [
        Binding("escape", "back", "Back", key_display="Esc", id="back"),
        Binding("a,A", "next", "Apply...", key_display="a", id="next"),
        Binding("enter", "next", "Apply...", show=False),
    ]

    def __init__(self, target, engine, plan: Plan) -> None:
        super().__init__()
        self.target = target
        self.engine = engine
        self.plan = plan
        self.next_ready = not plan.changes_nothing and not plan.refused

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(
            "Nothing is written yet. PgUp/PgDn scrolls; a asks, then applies.",
            id="status",
        )
        with VerticalScroll(id="body", can_focus=True):
            if not self.target.can_run:
                yield Static(
                    Text(
                        "DEMO GUEST: every command below WOULD RUN on a real guest; "
                        "here it is shown, not run. File edits go to the demo copy.",
                        style="bold reverse",
                    ),
                    id="demo-banner",
                )
            yield Static(self.engine.preview_rich(self.plan, ascii=self.app.ascii_mode), id="plan")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#body").focus()

    def result(self) -> Plan:
        return self.plan
