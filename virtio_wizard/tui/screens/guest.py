"""Step 1, Guest: what the guest is, what it has, and what it needs.

Detection runs in a thread worker and reports progress on a status line, so
the first frame comes at once; the initrd images (tens of MB on modern
guests) are read in a second pass after the facts are already on screen, and
the user may go on before it ends. When a journal of an earlier apply exists,
Undo is offered here.
"""

from __future__ import annotations

from typing import Any, Optional

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from ...facts import Facts
from ...finding import Finding
from ..widgets import facts_view as fv
from .base import UNDO, Nav, StepScreen

__all__ = ["GuestScreen"]


class GuestScreen(StepScreen, inherit_bindings=False):
    """Detected facts at a glance; Next goes on to choosing the path."""

    STEP_TITLE = "1/6 Guest"

    BINDINGS = [
        Binding("escape", "app.quit", "Quit", key_display="Esc", show=False, id="back"),
        Binding("n", "next", "Next", key_display="n", id="next"),
        Binding("u", "undo", "Undo last apply", key_display="u", id="undo"),
    ]

    class Detected(Message):
        """Facts (and their findings) are known; ``final`` once initrds are read."""

        def __init__(self, facts: Facts, findings: list[Finding], final: bool) -> None:
            super().__init__()
            self.facts = facts
            self.findings = findings
            self.final = final

    class JournalFound(Message):
        """An earlier apply left a journal: Undo becomes possible."""

        def __init__(self, journal: Any) -> None:
            super().__init__()
            self.journal = journal

    def __init__(
        self,
        target,
        engine,
        facts: Optional[Facts] = None,
        findings: Optional[list[Finding]] = None,
        initrds_read: bool = False,
        journal: Any = None,
    ) -> None:
        super().__init__()
        self.target = target
        self.engine = engine
        self.facts = facts
        self.findings = list(findings or [])
        self.initrds_read = initrds_read
        self.journal = journal
        self.next_ready = facts is not None

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static("", id="status")
        with VerticalScroll(id="body"):
            yield Static(id="guest-facts")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        if self.facts is None:
            self._status("Detecting the guest ...")
            self.detect_guest()
        else:
            self._show()
            if not self.initrds_read:
                self.read_initrds(self.facts)
        if self.journal is None:
            self.find_journal()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":
            return self.journal is not None
        return super().check_action(action, parameters)

    # ---- workers ------------------------------------------------------------

    @work(thread=True, exclusive=True, group="detect")
    def detect_guest(self) -> None:
        """Detect without initrds first (fast), then read the initrds."""

        def progress(*args: Any, **kwargs: Any) -> None:
            what = " ".join(str(a) for a in args if a is not None)
            if what:
                self.app.call_from_thread(self._status, f"Detecting: {what}")

        try:
            facts = self.engine.detect(self.target, progress=progress)
            findings = self.engine.check(facts)
        except Exception as exc:  # noqa: BLE001 - shown to the user, not swallowed
            self.app.call_from_thread(self._failed, exc)
            return
        self.app.call_from_thread(self._got, facts, findings, False)
        self._read_initrds(facts)

    @work(thread=True, exclusive=True, group="detect")
    def read_initrds(self, facts: Facts) -> None:
        self._read_initrds(facts)

    def _read_initrds(self, facts: Facts) -> None:
        if not any(k.initrd for k in facts.kernels):
            self.app.call_from_thread(self._got, facts, self.findings, True)
            return
        self.app.call_from_thread(self._status, "Reading initrd images (you can go on) ...")
        try:
            full = self.engine.with_initrds(self.target, facts)
            findings = self.engine.check(full)
        except Exception as exc:  # noqa: BLE001
            self.app.call_from_thread(self._status, f"Could not read the initrds: {exc}", "warn")
            return
        self.app.call_from_thread(self._got, full, findings, True)

    @work(thread=True, group="journal")
    def find_journal(self) -> None:
        try:
            journal = self.engine.undoable_journal(self.target)
        except Exception:  # noqa: BLE001 - no readable journal means no Undo
            return
        if journal is not None:
            self.app.call_from_thread(self._journal, journal)

    # ---- UI thread ----------------------------------------------------------

    def _status(self, text: str, kind: str = "") -> None:
        status = self.query_one("#status", Static)
        status.update(Text(text, no_wrap=True, overflow="ellipsis"))
        status.set_class(kind == "warn", "-warn")
        status.set_class(kind == "done", "-done")

    def _failed(self, exc: Exception) -> None:
        self._status(f"Detection failed: {exc}", "warn")
        self.query_one("#guest-facts", Static).update(
            Text(
                f"The guest could not be read: {exc}\n\nCheck the path and try again; "
                "press Ctrl+Q to leave.",
                style="red",
            )
        )

    def _got(self, facts: Facts, findings: list[Finding], final: bool) -> None:
        self.facts = facts
        self.findings = findings
        self.initrds_read = final
        self.post_message(self.Detected(facts, findings, final))
        self._show()
        self.set_next_ready(True)

    def _journal(self, journal: Any) -> None:
        self.journal = journal
        self.post_message(self.JournalFound(journal))
        self._show()
        self.refresh_bindings()

    def _show(self) -> None:
        from rich.console import Group

        facts = self.facts
        if facts is None:
            return
        errors = sum(1 for f in self.findings if f.severity == "error")
        warns = sum(1 for f in self.findings if f.severity == "warning")
        parts: list[Any] = [
            fv.distro_text(facts),
            fv.cpu_text(facts, self.findings),
            Text(""),
            fv.kernels_table(facts, self.initrds_read),
            Text(""),
            fv.loaded_text(facts),
            fv.devices_text(facts),
            fv.initrd_text(facts),
            fv.disks_text(facts),
            Text(""),
            Text.assemble(
                ("Findings   ", "bold"),
                f"{errors} error(s), {warns} warning(s), {len(self.findings)} in all: "
                "press t for each with its fix",
            ),
        ]
        if self.journal is not None:
            parts.insert(
                0,
                Text(
                    "Press u to undo the earlier apply: "
                    f"{self.engine.describe_journal(self.journal)}; "
                    f"journal {self.journal.get('path', '')}",
                    style="bold yellow",
                ),
            )
        self.query_one("#guest-facts", Static).update(Group(*parts))
        if self.initrds_read:
            self._status("Detection done. Press n to choose how to load the drivers.", "done")

    def action_undo(self) -> None:
        if self.journal is not None:
            self.dismiss(Nav(UNDO, self.journal))

    def result(self) -> Any:
        return self.facts
