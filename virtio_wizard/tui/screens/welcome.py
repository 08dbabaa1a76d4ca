"""Welcome back: the wizard started again after an apply awaiting verification.

The user prepared the guest, switched the VM to virtio on the host and
booted it; now the first thing worth knowing is whether the switch worked.
This screen runs the same checks as ``virtio-wizard verify`` (the core's
``verify_live``, in a worker) and shows each problem with its cause and fix
(the remedy worded for the wizard: its screens, not command-line flags),
and the way back. Next goes on to the Guest screen, u undoes the apply.
"""

from __future__ import annotations

from typing import Any, Optional

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from ..wizard_terms import wizard_fix
from .base import QUIT, Nav, StepScreen

__all__ = ["WelcomeBackScreen"]


class WelcomeBackScreen(StepScreen, inherit_bindings=False):
    """The checks after the switch, before anything else; Next, Undo or Finish."""

    STEP_TITLE = "Welcome back"

    BINDINGS = [
        Binding("n", "next", "Next", key_display="n", id="next"),
        Binding("u", "undo", "Undo", key_display="u", id="undo"),
        Binding("q", "finish", "Finish", key_display="q", id="finish"),
    ]

    def __init__(self, target, engine, journal: dict[str, Any]) -> None:
        super().__init__()
        self.target = target
        self.engine = engine
        self.journal = journal
        self.report: Any = None
        self.error: Optional[str] = None
        self.way_back: list[str] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static(
            f"Welcome back. The apply of {self.journal.get('started', '?')} is waiting to be "
            "verified: checking the running guest after the switch ...",
            id="status",
        )
        with VerticalScroll(id="body"):
            yield Static(id="checks")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.run_checks()

    @work(thread=True, exclusive=True, group="welcome")
    def run_checks(self) -> None:
        try:
            report = self.engine.verify_live(self.target)
            # Facts say which files name disks by bus (the way back depends on them).
            facts = self.engine.detect(self.target)
            after = self.engine.after_switch(self.target, facts, None)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.post_message(self._Checked(None, [], str(exc)))
            return
        self.post_message(self._Checked(report, after.get("way_back", []), None))

    class _Checked(Message, bubble=False):
        def __init__(self, report: Any, way_back: list[str], error: Optional[str]) -> None:
            super().__init__()
            self.report = report
            self.way_back = way_back
            self.error = error

    def on_welcome_back_screen__checked(self, message: _Checked) -> None:
        self._show(message.report, message.way_back, message.error)

    def _show(self, report: Any, way_back: list[str], error: Optional[str]) -> None:
        self.report, self.way_back, self.error = report, way_back, error
        status = self.query_one("#status", Static)
        parts: list[Any] = []
        if error is not None:
            status.update(Text(f"Could not check the guest: {error}", style="bold red"))
        elif report.ok:
            done = " The journal marks the apply verified." if report.recorded else ""
            status.update(
                Text(f"Welcome back. The guest runs on virtio.{done}", style="bold green")
            )
        else:
            status.update(
                Text("Welcome back. Some checks do not hold after the switch.", style="bold red")
            )
        if report is not None:
            parts.append(_checks_table(report))
        if report is not None and not report.ok and way_back:
            parts.append(Text(""))
            parts.append(Text("If the guest is unusable:", style="bold"))
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=3, justify="right")
            grid.add_column(ratio=1)
            for line in way_back:
                grid.add_row("-", line)
            parts.append(grid)
        parts.append(Text(""))
        parts.append(
            Text("n goes on to the wizard, u undoes the apply (it asks first), q finishes.")
        )
        self.query_one("#checks", Static).update(Group(*parts))

    def action_undo(self) -> None:
        self.ask_undo()

    def action_finish(self) -> None:
        self.dismiss(Nav(QUIT))


def _checks_table(report: Any) -> Table:
    """One row per check (ok / NO), its problems underneath with cause and fix."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=4)
    grid.add_column(ratio=1)
    for check in report.checks:
        mark = Text("ok", style="green") if check.ok else Text("NO", style="bold red")
        grid.add_row(mark, Text.assemble((check.title, "bold"), ": ", check.detail))
        for problem in check.problems:
            grid.add_row("", Text(f"problem: {problem.message}", style="red"))
            grid.add_row("", f"likely cause: {problem.cause}")
            grid.add_row("", f"fix: {wizard_fix(problem.remedy)}")
    return grid
