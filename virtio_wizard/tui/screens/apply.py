"""Step 5, Apply (and Undo): steps ticked off as they run, output streamed live.

The core's apply runs in a thread worker; each event it reports is posted to
the screen as a message (``post_message``: the run never waits for a frame).
A failure stops the run (the core stops; the screen says so), names the
backups and offers Undo at once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Optional

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import RichLog, Static

from ...apply.events import EventKind
from ...journal import JOURNAL_DIR
from ...plan.model import Plan
from ..session import RunOutcome, Session
from ..widgets.plan_view import step_title
from ..wizard_terms import UNDO
from .base import NEXT, Nav, StepScreen

__all__ = ["ApplyScreen", "event_fields", "log_line"]

MARKS = {
    "todo": ("[ ]", ""),
    "run": ("[>]", "bold yellow"),
    "done": ("[x]", "green"),
    "skip": ("[-]", "dim"),
    "fail": ("[!]", "bold red"),
}


def log_line(prefix: str, text: str, style: str = "") -> Table:
    """A log line whose wrapped lines stay indented under its text, not its mark.

    Journal and backup paths are long; wrapped to the left margin they read
    as new entries.
    """
    grid = Table.grid()
    grid.add_column(width=len(prefix), no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(Text(prefix, style=style), Text(text, style=style))
    return grid


def event_fields(event: Any) -> tuple[EventKind, Optional[int], str]:
    """(kind, step index, text) of a core ``ApplyEvent`` (or an equivalent dict)."""
    if isinstance(event, dict):
        return EventKind(event.get("kind")), event.get("index"), str(event.get("text", ""))
    return EventKind(event.kind), event.index, str(event.text)


#: ApplyEvent kinds -> the mark a step gets.
EVENT_STATE = {
    EventKind.STEP_START: "run",
    EventKind.STEP_DONE: "done",
    EventKind.STEP_SKIPPED: "skip",
    EventKind.STEP_FAILED: "fail",
}


class ApplyScreen(StepScreen, inherit_bindings=False):
    """Runs apply (or undo) once, on mount; Next appears when it has finished."""

    STEP_TITLE = "5/6 Apply"

    BINDINGS = [
        Binding("n,N", "next", "Next", key_display="n", id="next"),
        Binding("enter", "next", "Next", show=False),
        Binding("u,U", "undo", "Undo", key_display="u", id="undo"),
    ]

    def __init__(self, target, engine, plan: Optional[Plan], *, undo: bool = False) -> None:
        super().__init__()
        self.target = target
        self.engine = engine
        self.plan = plan
        self.undoing = undo
        self.states = ["todo"] * (len(plan.steps) if plan else 0)
        self.finished = False
        self.outcome: Optional[RunOutcome] = None
        self.next_ready = False
        if undo:
            self.STEP_TITLE = "Undo"

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        what = "Undoing the last apply" if self.undoing else "Applying the plan"
        yield Static(f"{what} ... Ctrl+Q waits until it has finished.", id="status")
        with VerticalScroll(id="steps-box"):
            yield Static(id="steps")
        # min_width: RichLog lays lines out at least 78 wide by default, wider than
        # the log is at 80 columns (padding, scrollbar): lines were cut at the right.
        yield RichLog(
            id="output", wrap=True, markup=False, highlight=False, max_lines=2000, min_width=20
        )
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self._draw_steps()
        self.writing = True
        self.app.refresh_bindings()
        self.run_it()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":
            return (
                self.finished
                and not self.undoing
                and self.outcome is not None
                and not self.outcome.ok
            )
        if action == "back":
            return False
        return super().check_action(action, parameters)

    # ---- the worker -------------------------------------------------------

    @work(thread=True, exclusive=True, group="apply")
    def run_it(self) -> None:
        """Apply (or undo) to the end: never cancelled halfway (Ctrl+Q waits for it)."""

        def on_event(event: Any) -> None:
            self.post_message(self._Event(event))

        try:
            if self.undoing:
                result = self.engine.undo(self.target, on_event=on_event)
            else:
                result = self.engine.apply(self.target, self.plan, on_event=on_event)
        except Exception as exc:  # noqa: BLE001 - a failed run is shown, with Undo
            self.post_message(self._Finished(RunOutcome.refused(str(exc))))
            return
        self.post_message(self._Finished(RunOutcome.of(result)))

    class _Event(Message, bubble=False):
        def __init__(self, event: Any) -> None:
            super().__init__()
            self.event = event

    class _Finished(Message, bubble=False):
        def __init__(self, outcome: RunOutcome) -> None:
            super().__init__()
            self.outcome = outcome

    def on_apply_screen__event(self, message: _Event) -> None:
        self._event(message.event)

    def on_apply_screen__finished(self, message: _Finished) -> None:
        self._finish(message.outcome)

    # ---- UI thread --------------------------------------------------------

    def _event(self, event: Any) -> None:
        kind, index, text = event_fields(event)
        log = self.query_one("#output", RichLog)
        state = EVENT_STATE.get(kind)
        if state and index is not None and 0 <= index < len(self.states):
            self.states[index] = state
            self._draw_steps()
        if text:
            prefix = "  " if kind == EventKind.OUTPUT else ("! " if state == "fail" else "- ")
            style = "bold red" if state == "fail" else ""
            log.write(log_line(prefix, text, style))

    def _draw_steps(self) -> None:
        if self.plan is None or not self.plan.steps:
            said = (
                "The journal was replayed backwards."
                if self.finished
                else ("Replaying the journal backwards ...")
            )
            self.query_one("#steps", Static).update(Text(said))
            return
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=3, no_wrap=True)
        grid.add_column(ratio=1)
        for step, state in zip(self.plan.steps, self.states):
            mark, style = MARKS[state]
            line = self.engine.command_line(step) if step.kind == "command" else ""
            grid.add_row(Text(mark, style=style), step_title(step, line, self.target.can_run))
        self.query_one("#steps", Static).update(grid)

    def _finish(self, outcome: RunOutcome) -> None:
        self.finished = True
        self.writing = False
        self.app.refresh_bindings()
        self.outcome = outcome
        status = self.query_one("#status", Static)
        log = self.query_one("#output", RichLog)
        messages = list(outcome.messages)
        for message in messages:
            log.write(log_line("= ", message, "bold" if outcome.ok else "bold red"))
        if outcome.ok:
            self._draw_steps()
            done = "Undo finished: files restored." if self.undoing else "Apply finished."
            status.update(Text(done + " Press n to continue.", style="bold green"))
        else:
            self.states = ["fail" if s == "run" else s for s in self.states]
            self._draw_steps()
            # One line, cut with an ellipsis: the whole reason is in the log below.
            status.update(
                Text(
                    "Stopped: " + (outcome.error or "a step failed"),
                    style="bold red",
                    no_wrap=True,
                    overflow="ellipsis",
                )
            )
            log.write(
                log_line("! ", "Stopped at the failing step; later steps were not run.", "bold red")
            )
            if not self.undoing:
                journal = outcome.journal or f"{JOURNAL_DIR}/"
                log.write(
                    log_line(
                        "= ",
                        f"Every changed file was backed up first; journal: {journal}. "
                        "Press u to undo what was done (it asks first).",
                        "bold",
                    )
                )
        if outcome.ok and not self.undoing:
            # The core's messages name `virtio-wizard undo`; here it is a key.
            log.write(log_line("  ", f"(in the wizard: {UNDO})", "italic"))
        self.set_next_ready(True)

    def action_undo(self) -> None:
        if self.finished and self.outcome is not None and not self.outcome.ok:
            self.ask_undo(self.outcome)

    def action_back(self) -> None:
        """No way back while writing; afterwards Back means go on."""
        if self.finished:
            self.dismiss(Nav(NEXT, self.outcome))

    def result(self) -> Optional[RunOutcome]:
        return self.outcome

    def so_far(self, session: Session) -> Session:
        return replace(session, outcome=self.outcome) if self.finished else session
