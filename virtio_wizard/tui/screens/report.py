"""Report: write the Markdown and JSON report for a support ticket.

The report is the core's (``render_markdown``/``render_json`` of facts,
findings, plan and journal); this screen asks where to put it (default: the
current folder, on the machine running the wizard, not inside the guest),
writes both files in a worker and says exactly where they went.

What is written is what the field shows: the two full paths are shown under
the field as it is typed, Enter acts on the Input's own ``Submitted`` value
(a screen binding read the field before a burst of typed text had landed),
and an existing file is overwritten only after a second Enter on the same,
unchanged name.
"""

from __future__ import annotations

import json
import os
from typing import Optional

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from ..widgets.header import WizardHeader

__all__ = ["ReportScreen", "DEFAULT_REPORT", "report_paths"]

DEFAULT_REPORT = "virtio-wizard-report.md"


def report_paths(text: str) -> tuple[str, str]:
    """(markdown, json) paths from what the user typed: ``x`` or ``x.md`` -> x.md, x.json.

    >>> report_paths("ticket-42")
    ('ticket-42.md', 'ticket-42.json')
    """
    path = os.path.expanduser(text.strip())
    stem = path[:-3] if path.endswith(".md") else path
    return stem + ".md", stem + ".json"


class ReportScreen(Screen[Optional[str]]):
    """Ask for a path, write the two files, show where; dismisses with the Markdown path."""

    BINDINGS = [
        Binding("escape", "close", "Back", key_display="Esc", id="back"),
        Binding("enter", "write", "Write report", key_display="Enter", id="write"),
    ]

    def __init__(
        self,
        target,
        engine,
        facts,
        findings,
        plan=None,
        journal=None,
        default: str = DEFAULT_REPORT,
    ):
        """``journal`` is a journal record, or its guest path (read in the worker)."""
        super().__init__()
        self.target = target
        self.engine = engine
        self.facts = facts
        self.findings = findings
        self.plan = plan
        self.journal = journal
        self.default = default
        self.written: Optional[str] = None
        #: The name the user was warned about; a second Enter on it overwrites.
        self.overwrite_ok: Optional[str] = None

    def compose(self) -> ComposeResult:
        yield WizardHeader(self.app.target_label, step="Report")
        yield Static("Write a report of what was found and changed.", id="status")
        with VerticalScroll(id="body"):
            yield Static(
                "File name (a .json twin is written beside it). Relative names are "
                "relative to the folder you started the wizard in, on this machine."
            )
            yield Input(self.default, id="report-path")
            yield Static(id="report-where")
            yield Static(id="report-result")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._show_where(self.query_one(Input).value)
        if self.facts is None:
            self._result("Detection has not finished yet: nothing to report.", error=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "write":
            return self.facts is not None
        return True

    @on(Input.Changed, "#report-path")
    def _typed(self, event: Input.Changed) -> None:
        self.overwrite_ok = None
        self._show_where(event.value)

    def _show_where(self, text: str) -> None:
        """The two full paths Enter would write, always in view under the field."""
        where = self.query_one("#report-where", Static)
        if not text.strip():
            where.update("")
            return
        md_path, json_path = (os.path.abspath(p) for p in report_paths(text))
        where.update(Text(f"Enter writes {md_path} and {json_path}"))

    @on(Input.Submitted, "#report-path")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._write(event.value)

    def action_write(self) -> None:
        """Enter with the field not focused: the field's text, as shown."""
        self._write(self.query_one(Input).value)

    def _write(self, text: str) -> None:
        if self.facts is None:
            return
        if not text.strip():
            self._result("Type a file name first.", error=True)
            return
        existing = [os.path.abspath(p) for p in report_paths(text) if os.path.lexists(p)]
        overwrite = bool(existing) and self.overwrite_ok == text
        if existing and not overwrite:
            self.overwrite_ok = text
            self._result(
                f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''}: "
                "Enter again overwrites, or change the name.",
                error=True,
            )
            return
        self.overwrite_ok = None
        self._result("Writing ...")
        self.write_report(text, overwrite)

    @work(thread=True, exclusive=True, group="report")
    def write_report(self, text: str, overwrite: bool = False) -> None:
        md_path, json_path = report_paths(text)
        # "x" (create only) unless the user agreed to overwrite: a file that
        # appeared since the question is never replaced unasked.
        mode = "w" if overwrite else "x"
        try:
            journal = self.journal
            if isinstance(journal, str):
                journal = self.engine.read_journal(self.target, journal)
            after = None
            if self.plan is not None or (journal is not None and not journal.get("undone")):
                after = self.engine.after_switch(self.target, self.facts, self.plan)
            markdown = self.engine.report_markdown(
                self.facts, self.findings, plan=self.plan, journal=journal, after=after
            )
            data = self.engine.report_json(
                self.facts, self.findings, plan=self.plan, journal=journal, after=after
            )
            with open(md_path, mode, encoding="utf-8") as fh:
                fh.write(markdown)
            with open(json_path, mode, encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=False)
                fh.write("\n")
        except OSError as exc:
            reason = exc.strerror or str(exc)
            failed = f"Could not write {exc.filename or md_path}: {reason}"
            self.post_message(self._Done(None, failed))
            return
        except Exception as exc:  # noqa: BLE001 - the report builder failed: say so
            self.post_message(self._Done(None, f"Could not build the report: {exc}"))
            return
        self.post_message(self._Done((os.path.abspath(md_path), os.path.abspath(json_path))))

    class _Done(Message, bubble=False):
        """Both files written (their full paths), or why not."""

        def __init__(self, paths: Optional[tuple[str, str]], error: Optional[str] = None):
            super().__init__()
            self.paths = paths
            self.error = error

    def on_report_screen__done(self, message: _Done) -> None:
        if message.paths is None:
            self._result(message.error or "", True)
            return
        md_path, json_path = message.paths
        self.written = md_path
        self._result(f"Written:\n  {md_path}\n  {json_path}\nEsc goes back.")

    def _result(self, text: str, error: bool = False) -> None:
        style = "bold red" if error else "bold green"
        self.query_one("#report-result", Static).update(Text(text, style=style))

    def action_close(self) -> None:
        self.dismiss(self.written)
