"""Step 1, Guest: what the guest is, what it has, and what it needs.

Detection runs in a thread worker and reports progress on a status line, so
the first frame comes at once; the initrd images (tens of MB on modern
guests) are read in a second pass after the facts are already on screen, and
the user may go on before it ends. When a journal of an earlier apply exists,
Undo is offered here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Optional

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from ..early import EarlyDetection
from ..session import Detection, Session
from ..widgets import facts_view as fv
from .base import StepScreen
from .scroll import SCROLL_BINDINGS

if TYPE_CHECKING:
    from ...facts import Facts
    from ...finding import Finding

__all__ = ["GuestScreen"]


class GuestScreen(StepScreen, inherit_bindings=False):
    """Detected facts at a glance; Next goes on to choosing the path."""

    STEP_TITLE = "1/6 Guest"

    BINDINGS = [
        Binding("escape", "app.ask_quit", "Quit", key_display="Esc", show=False, id="back"),
        Binding("n,N", "next", "Next", key_display="n", id="next"),
        Binding("enter", "next", "Next", show=False),
        Binding("u,U", "undo", "Undo last apply", key_display="u", id="undo"),
        *SCROLL_BINDINGS,
    ]

    def __init__(
        self,
        target,
        engine,
        facts: Optional[Facts] = None,
        findings: Optional[list[Finding]] = None,
        initrds_read: bool = False,
        journal: Any = None,
        early: Optional[EarlyDetection] = None,
    ) -> None:
        """``early``: detection the app started already (see ``EarlyDetection``)."""
        super().__init__()
        self.early = early
        self.target = target
        self.engine = engine
        self.facts = facts
        self.findings = list(findings or [])
        self.initrds_read = initrds_read
        self.journal = journal
        #: The facts as one renderable, once known; drawn at the body's width.
        self._summary: Any = None
        #: The status line's words and kind, as last shown.
        self._said: tuple[str, str] = ("", "")
        #: (summary, width) last drawn: a resize to the same width draws nothing.
        self._drawn: Optional[tuple[Any, int]] = None
        # Next stays shown while detecting (a footer redraw when facts arrive
        # would delay the first useful frame); it does nothing until then.
        self.next_ready = True

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        yield Static("", id="status")
        with VerticalScroll(id="body", can_focus=False):
            yield Static(id="guest-facts")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        body = self.query_one("#body")
        for name in ("scroll_y", "virtual_size", "show_vertical_scrollbar"):
            self.watch(body, name, self._body_moved, init=False)
        if self.facts is not None:
            self._show()
            # As on the other paths: the follow-up's imports and reads must not
            # share the GIL with this screen's first layout.
            self.call_after_refresh(
                self.follow_up, self.facts, not self.initrds_read, self.journal is None
            )
            return
        detection = self._detection()
        if detection.done:
            # Detected already (a demo, a local guest): the facts go into this
            # screen's first frame, not into one a worker's wake-up later.
            self._detected(detection.result)
        else:
            self._status("Detecting the guest ...")
            self.await_detection(detection)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":
            return self.journal is not None
        return super().check_action(action, parameters)

    # ---- workers ------------------------------------------------------------
    #
    # Like every worker in the wizard, these report with post_message (it is
    # thread-safe and does not wait for the UI thread, as call_from_thread
    # would at every progress step); a message to a screen already gone is
    # dropped.

    class _Progress(Message, bubble=False):
        def __init__(self, text: str, kind: str = "") -> None:
            super().__init__()
            self.text = text
            self.kind = kind

    class _Found(Message, bubble=False):
        """The initrds were read: the facts are final."""

        def __init__(self, facts: Facts, findings: list[Finding]) -> None:
            super().__init__()
            self.facts = facts
            self.findings = findings

    class _Journal(Message, bubble=False):
        def __init__(self, journal: Any) -> None:
            super().__init__()
            self.journal = journal

    def _detection(self) -> EarlyDetection:
        """The detection the app started (``early.py``), or a new one when it was taken."""
        early, self.early = self.early, None
        if early is None or early.used:
            early = EarlyDetection(self.engine, self.target)
            early.progress_sink = self._post_progress
            early.start()
        else:
            early.progress_sink = self._post_progress
        early.used = True
        return early

    def _post_progress(self, *args: Any, **kwargs: Any) -> None:
        what = " ".join(str(a) for a in args if a is not None)
        if what:
            self.post_message(self._Progress(f"Detecting: {what}"))

    @work(exclusive=True, group="detect")
    async def await_detection(self, detection: EarlyDetection) -> None:
        """Facts without the initrds (the fast part), shown as soon as they are known.

        Detection runs in its own thread (started with the app, or just now);
        this worker awaits it on the event loop, so no second thread waits.
        """
        await detection.finished()
        self._detected(detection.result)

    def _detected(self, result: Callable[[], Any]) -> None:
        try:
            facts, findings = result()
        except Exception as exc:  # noqa: BLE001 - shown to the user, not swallowed
            self._failed(exc)
            return
        self._got(facts, findings, False)
        self.call_after_refresh(self.follow_up, facts, True, self.journal is None)

    @work(thread=True, exclusive=True, group="follow-up")
    def follow_up(self, facts: Facts, initrds: bool, journal: bool) -> None:
        """After the facts are on screen: look for an undoable journal, read the initrds.

        Both load more of the core (apply, the initrd reader) and read big
        files, so they wait until the first useful frame is drawn.
        """
        worker = get_current_worker()
        if journal:
            try:
                found = self.engine.undoable_journal(self.target)
            except Exception:  # noqa: BLE001 - no readable journal means no Undo
                found = None
            if found is not None:
                self.post_message(self._Journal(found))
        if not initrds or worker.is_cancelled:
            return
        if not any(k.initrd for k in facts.kernels):
            self.post_message(self._Found(facts, self.findings))
            return
        self.post_message(self._Progress("Reading initrd images (you can go on) ..."))
        try:
            full = self.engine.with_initrds(self.target, facts)
            findings = self.engine.check(full)
        except Exception as exc:  # noqa: BLE001 - the rest of the facts stay usable
            self.post_message(self._Progress(f"Could not read the initrds: {exc}", "warn"))
            return
        self.post_message(self._Found(full, findings))

    def on_guest_screen__progress(self, message: _Progress) -> None:
        self._status(message.text, message.kind)

    def on_guest_screen__journal(self, message: _Journal) -> None:
        self._journal(message.journal)

    def on_guest_screen__found(self, message: _Found) -> None:
        self._got(message.facts, message.findings, True)

    # ---- UI thread ----------------------------------------------------------

    def _status(self, text: str, kind: str = "") -> None:
        if (text, kind) == self._said:
            return  # the same words: no redraw (scrolling asks again at every line)
        self._said = (text, kind)
        status = self.query_one("#status", Static)
        status.update(Text(text))
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
        self._show()

    def _journal(self, journal: Any) -> None:
        self.journal = journal
        self._show()
        self.refresh_bindings()

    def _show(self) -> None:
        from rich.console import Group

        facts = self.facts
        if facts is None:
            return
        errors = sum(1 for f in self.findings if f.severity == "error")
        warns = sum(1 for f in self.findings if f.severity == "warning")
        # Two grids and one table for the whole screen: laying out a grid per
        # line cost more than detection itself.
        parts: list[Any] = [
            fv.Rows.merge(fv.distro_text(facts), fv.cpu_text(facts, self.findings)),
            Text(""),
            fv.kernels_table(facts, self.initrds_read),
            Text(""),
            fv.Rows.merge(
                fv.loaded_text(facts),
                fv.devices_text(facts),
                fv.initrd_text(facts),
                fv.disks_text(facts),
                fv.Rows(
                    [
                        fv.row(
                            "Findings",
                            f"{errors} error(s), {warns} warning(s), {len(self.findings)} in "
                            "all: press t for each with its fix",
                        )
                    ]
                ),
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
        self._summary = Group(*parts)
        self._draw_summary()
        if self.initrds_read:
            self._final_status()
            # Whether there is more below is known once the new facts are laid out.
            self.call_after_refresh(self._final_status)

    def _final_status(self) -> None:
        """The status once detection is done; PgDn is named only while more is below."""
        if not self.initrds_read:
            return
        if self.target.kind == "local" and os.geteuid() != 0:
            # Said now, not first when apply refuses (issue 11.8).
            self._status("Not root: apply will need root (sudo). n: choose the path.", "warn")
            return
        body = self.query_one("#body")
        more = "PgDn: more below; " if body.scroll_y < body.max_scroll_y else ""
        self._status(f"Detection done. {more}n: choose how to load the drivers.", "done")

    def _draw_summary(self) -> None:
        """Lay the summary out once, at the width it will have, as plain lines.

        Handed the tables themselves, Textual lays them out again for every
        width it tries (before and after the scrollbar appears): that cost
        more than detecting the guest. Rendered here once, at the width left
        beside a scrollbar, it is a Text of short lines that needs no layout;
        a resize draws it again (``on_resize``).
        """
        summary = self._summary
        if summary is None:
            return
        body = self.query_one("#body")
        styles = body.styles
        # The body's whole width (scrollbar and padding included); before the
        # first layout it has none yet, and it spans the screen.
        outer = body.outer_size.width or self.app.size.width
        width = outer - styles.padding.width - styles.scrollbar_size_vertical
        if width < 20:  # too narrow to pre-render: let Textual lay the tables out
            self.query_one("#guest-facts", Static).update(summary)
            self._drawn = None
            return
        if self._drawn is not None and self._drawn[0] is summary and self._drawn[1] == width:
            return
        self._drawn = (summary, width)
        lines = fv.prerender(self.app.console, summary, width)
        self.query_one("#guest-facts", Static).update(lines)

    def on_resize(self) -> None:
        self._draw_summary()
        self.call_after_refresh(self._final_status)

    def _body_moved(self, _value: object) -> None:
        """Scrolled, or its content or scrollbar changed: is there still more below?

        Asked after the next refresh: a watcher may run in the middle of a
        layout, before the body's new height is known.
        """
        self.call_after_refresh(self._final_status)

    def action_next(self) -> None:
        if self.facts is not None:
            super().action_next()

    def result(self) -> Detection:
        return self._found()

    def action_undo(self) -> None:
        if self.journal is not None:
            self.ask_undo(self._found())

    def _found(self) -> Detection:
        assert self.facts is not None  # Next and Undo wait for the facts
        return Detection(self.facts, tuple(self.findings), self.initrds_read, self.journal)

    def so_far(self, session: Session) -> Session:
        return session.detected(self._found()) if self.facts is not None else session
