"""Troubleshooting, reachable from every step: every finding with its fix.

The findings are the core's (``check`` on the facts, plus the plan's own
notes and refusals), the same records the CLI's ``detect`` table and the
report show; this screen only lays them out.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...finding import Finding
from ..widgets.facts_view import findings_text
from ..widgets.header import WizardHeader

__all__ = ["TroubleshootScreen"]


class TroubleshootScreen(Screen[None]):
    """All findings, worst first, each with its fix and source."""

    BINDINGS = [
        Binding("escape", "close", "Back", key_display="Esc", id="back"),
        Binding("t,T", "close", "Close", key_display="t", show=False),
    ]

    def __init__(
        self, findings: list[Finding], plan_findings: list[Finding], detected: bool
    ) -> None:
        super().__init__()
        self.findings = findings
        self.plan_findings = plan_findings
        self.detected = detected

    def compose(self) -> ComposeResult:
        yield WizardHeader(self.app.target_label, step="Troubleshooting")
        yield Static("Every finding with its fix. Esc goes back to where you were.", id="status")
        with VerticalScroll(id="body", can_focus=True):
            if not self.detected:
                yield Static(
                    Text("Detection has not finished yet: come back in a moment.", style="yellow")
                )
            yield Static(
                Group(Text("About the guest", style="bold underline"), findings_text(self.findings))
            )
            if self.plan_findings:
                yield Static(
                    Group(
                        Text(""),
                        Text("About the current plan", style="bold underline"),
                        findings_text(self.plan_findings),
                    )
                )
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
