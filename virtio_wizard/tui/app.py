"""The Textual app: app-wide keys, the session, the walk over ``steps.STEPS``.

Kept small, like frogmouth's: one ``@work`` coroutine walks the steps with
``push_screen_wait`` (Textual ``guide/screens.md``); each step is a screen in
``screens/`` that receives its data and dismisses with the user's answer,
which the walker folds into the ``Session`` (``session.py``).
``make_app`` is shared by ``commands/tui.py``, the tests and
``screenshots/make.py``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Optional

from textual import work
from textual.app import App
from textual.binding import Binding

from .engine import Engine
from .screens.base import StepScreen
from .session import Session
from .steps import STEPS

__all__ = ["WizardApp", "make_app", "EARLY_WAIT"]

#: Seconds the first screen waits for a quick detection (see ``on_mount``).
EARLY_WAIT = 0.15


class WizardApp(App[int]):
    """virtio-wizard: detect -> path -> drivers -> preview -> confirm -> apply -> done."""

    CSS_PATH = "app.tcss"
    TITLE = "virtio-wizard"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", key_display="^Q", priority=True, id="quit"),
        Binding("t,T", "troubleshoot", "Problems", key_display="t", id="troubleshoot"),
        Binding("r,R", "report", "Report", key_display="r", id="report"),
        Binding("question_mark,f1", "help", "Help", key_display="?", id="help"),
    ]

    def __init__(
        self,
        target,
        *,
        ascii: bool = False,
        label: Optional[str] = None,
        engine: Optional[Engine] = None,
        report_default: Optional[str] = None,
    ) -> None:
        self.ascii_mode = ascii
        super().__init__(ansi_color=True if ascii else None)
        self.target = target
        self.engine = engine or Engine()
        #: What the header says the target is (fixed in tests: temp dirs vary).
        self.target_label = label or target.describe()
        self.report_default = report_default
        #: What this run has learnt; only the walk changes it (its start, then the answers).
        self.session = Session()
        #: Detection started by ``make_app`` before this App was built (``early.py``).
        self.early_detection = None
        if ascii:
            from .widgets.ascii import AsciiFilter, install_scrollbar_renderer

            self.theme = "ansi-dark"
            self.ascii_filter = AsciiFilter()
            self._filters.append(self.ascii_filter)
            self.add_class("-ascii")
            install_scrollbar_renderer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No quitting while apply or undo writes: a half-run is safe but confusing."""
        writing = isinstance(self.screen, StepScreen) and self.screen.writing
        return not (action == "quit" and writing)

    def get_key_display(self, binding: Binding) -> str:
        """Key names without arrows or the return symbol in ASCII mode."""
        shown = super().get_key_display(binding)
        if not self.ascii_mode:
            return shown
        from .widgets.ascii import to_ascii

        return to_ascii(shown)

    def on_mount(self) -> None:
        """Start the walk just after the App's mount, not inside it.

        Textual mounts the App inside ``batch_update``: no frame reaches the
        terminal until the mount handler returns. A Guest screen pushed from
        here would be laid out and rendered once for nothing, then again with
        its footer, before anything is written (measured in tmux: ~60 ms).
        """
        self.call_later(self._first_screen)

    async def _first_screen(self) -> None:
        """Push the first step at once (not from the walker, one frame later).

        A quick detection (a demo, a local guest) is awaited for up to
        ``EARLY_WAIT`` seconds first, so that the Guest screen's first frame
        shows the facts; the event loop keeps running meanwhile. On a running
        guest whose last apply awaits verification, Welcome back (the
        ``verify`` checks) comes before it.
        """
        import asyncio

        early = self.early_detection
        if early is not None:
            await early.wait_briefly(EARLY_WAIT)
        self.session = Session(pending=_pending(self.engine, self.target))
        start = "welcome" if self.session.pending is not None else "guest"
        first: asyncio.Future = asyncio.get_running_loop().create_future()

        def settle(answer: Any) -> None:
            first.done() or first.set_result(answer)

        self.push_screen(STEPS[start].screen(self, self.session), callback=settle)
        self.walk(start, first)

    @work(exclusive=True, group="walk")
    async def walk(self, name: Optional[str], first: Optional[Awaitable[Any]] = None) -> None:
        """Walk the steps (``steps.STEPS``) until the user finishes or quits.

        The session changes here only, from each step's answer.
        """
        while name is not None:
            step = STEPS[name]
            if first is not None:
                answer, first = await first, None
            else:
                answer = await self.push_screen_wait(step.screen(self, self.session))
            self.session = step.take(self.session, answer)
            name = step.after(answer)
        self.exit(0)

    def so_far(self) -> Session:
        """The session as the step on screen would leave it: what side screens show."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, StepScreen):
                return screen.so_far(self.session)
        return self.session

    # ---- side screens, from every step --------------------------------------

    def action_ask_quit(self) -> None:
        """Esc on the first step: ask, never quit at once (Ctrl+Q does that)."""
        from .screens.confirm_quit import ConfirmQuit

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(0)

        self.push_screen(ConfirmQuit(), callback=answered)

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen())

    def action_troubleshoot(self) -> None:
        from .screens.troubleshoot import TroubleshootScreen

        if isinstance(self.screen, TroubleshootScreen):
            return
        s = self.so_far()
        plan_findings = list(s.plan.findings) if s.plan is not None else []
        self.push_screen(TroubleshootScreen(list(s.findings), plan_findings, s.facts is not None))

    def action_report(self) -> None:
        from .screens.report import DEFAULT_REPORT, ReportScreen

        if isinstance(self.screen, ReportScreen):
            return
        s = self.so_far()
        self.push_screen(
            ReportScreen(
                self.target,
                self.engine,
                s.facts,
                list(s.findings),
                plan=s.plan,
                journal=s.report_journal,
                default=self.report_default or DEFAULT_REPORT,
            )
        )


def _pending(engine: Engine, target) -> Optional[dict]:
    """The apply awaiting verification on a running guest; None on any doubt."""
    try:
        return engine.pending_verification(target)
    except Exception:  # noqa: BLE001 - never keep the wizard from starting
        return None


def make_app(
    target,
    *,
    ascii: bool = False,
    label: Optional[str] = None,
    engine: Optional[Engine] = None,
    report_default: Optional[str] = None,
    detect_early: bool = True,
) -> WizardApp:
    """The wizard for ``target``: one factory for the CLI, the tests and the screenshots.

    ``label`` replaces ``target.describe()`` in the header (snapshots need a
    fixed text where a demo's temp dir name varies); ``engine`` replaces the
    core calls (tests that make one call fail on purpose); ``detect_early``
    starts detection now, before Textual's first frame (see ``early.py``).
    """
    early = None
    if detect_early:
        # Started before the App is built: its construction overlaps detection too.
        from .early import EarlyDetection

        early = EarlyDetection(engine or Engine(), target)
        early.start()
    app = WizardApp(
        target,
        ascii=ascii,
        label=label,
        engine=early.engine if early else engine,
        report_default=report_default,
    )
    app.early_detection = early
    return app
