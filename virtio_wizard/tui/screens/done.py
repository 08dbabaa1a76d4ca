"""Step 6, Done: what detecting again says, what is left to do, where the journal is.

Verification is the core's ``verify`` (it detects the guest again and compares
with the plan); it runs in a worker. Undo is one key away.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from ...facts import Facts
from ...finding import Finding
from ...journal import STATE_DIR
from ...plan.model import Plan
from ..session import RunOutcome
from .base import QUIT, Nav, StepScreen
from .scroll import SCROLL_BINDINGS

__all__ = ["DoneScreen", "host_steps"]


def host_steps(plan: Optional[Plan], findings: Sequence[Finding]) -> list[str]:
    """Fixes that belong on the host, not in the guest (the guide's ethtool advice)."""
    if plan is not None and not plan.choices.net:
        return []
    return [f.remedy.advice for f in findings if f.id == "gso-tso" and f.remedy.advice]


class DoneScreen(StepScreen, inherit_bindings=False):
    """The end: verification, the user's remaining steps, the journal; Undo or quit."""

    STEP_TITLE = "6/6 Done"

    BINDINGS = [
        Binding("u,U", "undo", "Undo", key_display="u", id="undo"),
        Binding("q,Q", "finish", "Finish", key_display="q", id="finish"),
        *SCROLL_BINDINGS,
    ]

    def __init__(
        self,
        target,
        engine,
        plan: Optional[Plan],
        outcome: Optional[RunOutcome],
        findings: Sequence[Finding],
        before: Optional[Facts] = None,
    ) -> None:
        super().__init__()
        self.before = before
        self.target = target
        self.engine = engine
        self.plan = plan
        self.outcome = outcome
        self.findings = findings
        self.checks: Optional[list[str]] = None
        self.verify_error: Optional[str] = None
        #: Host steps and the way back (``host_steps.after_switch``), once computed.
        self.after: Optional[dict] = None

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static("Verifying: detecting the guest again ...", id="status")
        with VerticalScroll(id="body", can_focus=False):
            yield Static(id="done")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self._show()
        if self.plan is not None:
            self.verify()
        else:
            self.query_one("#status", Static).update("Undo finished.")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action not in ("back", "next")

    @work(thread=True, exclusive=True, group="verify")
    def verify(self) -> None:
        try:
            # The host half does not depend on the verification: shown even if it fails.
            after = self.engine.after_switch(self.target, self.before, self.plan)
        except Exception:  # noqa: BLE001 - the generic steps below still show
            after = None
        if get_current_worker().is_cancelled:
            return
        lines, error = None, None
        try:
            lines = self.engine.verify(self.target, self.plan, self.before)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            error = str(exc)
        self.post_message(self._Verified(after, lines, error))

    class _Verified(Message, bubble=False):
        def __init__(
            self, after: Optional[dict], lines: Optional[list[str]], error: Optional[str]
        ) -> None:
            super().__init__()
            self.after = after
            self.lines = lines
            self.error = error

    def on_done_screen__verified(self, message: _Verified) -> None:
        self.after = message.after
        self._verified(message.lines, message.error)

    def _verified(self, lines: Optional[list[str]], error: Optional[str]) -> None:
        self.checks = lines
        self.verify_error = error
        status = self.query_one("#status", Static)
        if error:
            status.update(Text(f"Could not verify: {error}", style="bold red"))
        else:
            status.update(Text("Verified: the guest was detected again.", style="bold green"))
        self._show()

    def _show(self) -> None:
        parts: list[Any] = []
        ok = self.outcome is None or self.outcome.ok
        if not ok:
            parts.append(Text("The run did not finish.", style="bold red"))
        elif self.outcome is not None and self.outcome.nothing:
            parts.append(Text("Nothing needed changing: everything was in place.", style="bold"))
        else:
            parts.append(Text("The changes were written.", style="bold green"))
        if self.checks is not None:
            parts.append(Text(""))
            parts.append(Text("Detecting the guest again says:", style="bold"))
            parts.append(_bullets(self.checks))
        elif self.verify_error:
            parts.append(Text(f"Could not verify: {self.verify_error}", style="red"))
        host = host_steps(self.plan, self.findings)
        if host:
            parts.append(Text(""))
            # The step itself says where it runs ("On the HOST, ..."): said once.
            parts.append(Text("If the network is slow:", style="bold"))
            parts.append(_bullets(host))
        parts.append(Text(""))
        journal = self.outcome.journal if self.outcome is not None else None
        parts.append(Text.assemble(("Journal: ", "bold"), journal or f"{STATE_DIR}/ in the guest"))
        parts.append(
            Text("Press u to undo everything (it asks first), r to write a report, q to finish.")
        )
        # The host half comes after the journal and the keys, which stay on the first page.
        if self.after is not None and ok:
            parts.append(Text(""))
            parts.append(
                Text("On the host: power off, change the VM definition, start", style="bold")
            )
            parts.append(_bullets(self.after["host_steps"], numbered=True))
            parts.append(Text(""))
            parts.append(Text("If the guest does not boot after the switch:", style="bold"))
            parts.append(_bullets(self.after["way_back"]))
        self.query_one("#done", Static).update(Group(*parts))

    def action_undo(self) -> None:
        self.ask_undo()

    def action_finish(self) -> None:
        self.dismiss(Nav(QUIT))


def _bullets(lines: list[str], numbered: bool = False) -> Table:
    """A list whose wrapped lines stay indented under their bullet (or number)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=3, justify="right")
    grid.add_column(ratio=1)
    for i, line in enumerate(lines, 1):
        grid.add_row(f"{i}." if numbered else "-", line)
    return grid
