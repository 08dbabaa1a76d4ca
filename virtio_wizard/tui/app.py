"""The Textual app: app-wide keys, the state the side screens need, the walk.

Kept small, like frogmouth's: one ``@work`` coroutine walks the steps with
``push_screen_wait`` (Textual ``guide/screens.md``); each step is a screen in
``screens/`` that receives its data and dismisses with the user's answer.
``make_app`` is shared by ``commands/tui.py``, the tests and
``screenshots/make.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from textual import work
from textual.app import App
from textual.binding import Binding

from .engine import Engine
from .screens.base import BACK, NEXT, QUIT, UNDO

if TYPE_CHECKING:  # the core's types load with the screens that use them
    from ..facts import Facts
    from ..finding import Finding
    from ..plan.model import Choices, Plan

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
        # State the side screens (Troubleshooting, Report) show; steps own the rest.
        self.facts: Optional[Facts] = None
        self.findings: list[Finding] = []
        self.initrds_read = False
        self.plan: Optional[Plan] = None
        self.journal: Any = None
        self.last_outcome: Any = None
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
        return not (action == "quit" and getattr(self.screen, "writing", False))

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
        """Push the Guest screen at once (not from the walker, one frame later).

        A quick detection (a demo, a local guest) is awaited for up to
        ``EARLY_WAIT`` seconds first, so that the screen's first frame shows
        the facts; the event loop keeps running meanwhile. On a running guest
        whose last apply awaits verification, Welcome back (the ``verify``
        checks) comes before it.
        """
        import asyncio

        from .screens.guest import GuestScreen

        early = self.early_detection
        if early is not None and await early.wait_briefly(EARLY_WAIT):
            try:
                self.facts, self.findings = early.result()
                early.used = True
            except Exception:  # noqa: BLE001 - the Guest screen takes it and shows why
                pass

        first: asyncio.Future = asyncio.get_running_loop().create_future()

        def settle(nav) -> None:
            first.done() or first.set_result(nav)

        def guest_first() -> None:
            guest = GuestScreen(self.target, self.engine, self.facts, self.findings, early=early)
            self.push_screen(guest, callback=settle)

        pending = _pending(self.engine, self.target)
        if pending is not None:
            # Back after an apply and (likely) the switch: its checks come first.
            from .screens.welcome import WelcomeBackScreen

            def welcomed(nav) -> None:
                if nav.action == NEXT:
                    guest_first()
                else:
                    settle(nav)  # Undo or Finish: the walker takes it from here.

            self.push_screen(WelcomeBackScreen(self.target, self.engine, pending), welcomed)
        else:
            guest_first()
        self.walk(first)

    # ---- state from the steps -------------------------------------------

    def on_guest_screen_detected(self, message) -> None:
        self.facts = message.facts
        self.findings = list(message.findings)
        self.initrds_read = message.final

    def on_guest_screen_journal_found(self, message) -> None:
        self.journal = message.journal

    def on_drivers_screen_plan_made(self, message) -> None:
        self.plan = message.plan

    # ---- the walk ---------------------------------------------------------

    @work(exclusive=True, group="walk")
    async def walk(self, first=None) -> None:
        """Walk the steps until the user finishes or quits; Back goes one step back."""
        # Each screen is imported when first needed: the Guest screen and its
        # detection must not wait for the planner's and preview's imports.
        from .screens.guest import GuestScreen

        target, engine = self.target, self.engine
        choices = None
        step = "guest"
        while True:
            if step == "guest":
                if first is not None:
                    nav, first = await first, None
                else:
                    nav = await self.push_screen_wait(
                        GuestScreen(
                            target,
                            engine,
                            self.facts,
                            self.findings,
                            self.initrds_read,
                            self.journal,
                        )
                    )
                if nav.action == UNDO:
                    step = "undo"
                elif nav.action == NEXT:
                    step = "path"
                else:
                    self.exit(0)
                    return
            elif step == "path":
                from ..plan.model import Choices
                from .screens.path import PathScreen

                choices = choices or Choices()
                nav = await self.push_screen_wait(
                    PathScreen(target, engine, self.facts, choices, chosen=choices.method)
                )
                if nav.action == NEXT:
                    method, sysinit_file = nav.value
                    changes: dict[str, Any] = {"method": method, "sysinit_file": sysinit_file}
                    if method != choices.method:
                        # The Path step judged sysinit with the boot disk
                        # emulated (the guide: sysinit cannot serve it), so the
                        # Drivers step starts from what was judged possible.
                        changes["boot_disk"] = "emulated" if method == "sysinit" else "virtio"
                    choices = _with(choices, **changes)
                    step = "drivers"
                else:
                    step = "guest"
            elif step == "drivers":
                from .screens.drivers import DriversScreen

                nav = await self.push_screen_wait(
                    DriversScreen(target, engine, self.facts, choices)
                )
                if nav.action == NEXT:
                    self.plan = nav.value
                    choices = self.plan.choices
                    step = "preview"
                else:
                    step = "path"
            elif step == "preview":
                from .screens.confirm import ConfirmApply
                from .screens.preview import PreviewScreen

                nav = await self.push_screen_wait(PreviewScreen(target, engine, self.plan))
                if nav.action == BACK:
                    step = "drivers"
                    continue
                confirmed = await self.push_screen_wait(
                    ConfirmApply(self.plan, self.target_label, target.can_run)
                )
                if confirmed:
                    step = "apply"
            elif step in ("apply", "undo"):
                from .screens.apply import ApplyScreen

                undo = step == "undo"
                nav = await self.push_screen_wait(
                    ApplyScreen(target, engine, None if undo else self.plan, undo=undo)
                )
                self.last_outcome = nav.value
                if nav.action == UNDO:
                    step = "undo"
                    continue
                if undo:
                    # Back to the start, detecting afresh: the guest changed.
                    self.facts, self.findings, self.initrds_read = None, [], False
                    self.journal, self.plan = None, None
                    step = "guest"
                else:
                    step = "done"
            elif step == "done":
                from .screens.done import DoneScreen

                nav = await self.push_screen_wait(
                    DoneScreen(
                        target, engine, self.plan, self.last_outcome, self.findings, self.facts
                    )
                )
                if nav.action == UNDO:
                    step = "undo"
                elif nav.action == QUIT:
                    self.exit(0)
                    return

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
        plan_findings = list(self.plan.findings) if self.plan is not None else []
        self.push_screen(TroubleshootScreen(self.findings, plan_findings, self.facts is not None))

    def action_report(self) -> None:
        from .screens.report import DEFAULT_REPORT, ReportScreen

        if isinstance(self.screen, ReportScreen):
            return
        journal = (
            getattr(getattr(self.last_outcome, "result", None), "journal", None) or self.journal
        )
        self.push_screen(
            ReportScreen(
                self.target,
                self.engine,
                self.facts,
                self.findings,
                plan=self.plan,
                journal=journal,
                default=self.report_default or DEFAULT_REPORT,
            )
        )


def _pending(engine: Engine, target) -> Optional[dict]:
    """The apply awaiting verification on a running guest; None on any doubt."""
    try:
        return engine.pending_verification(target)
    except Exception:  # noqa: BLE001 - never keep the wizard from starting
        return None


def _with(choices: Choices, **changes: Any) -> Choices:
    from ..plan.model import Choices

    data = choices.to_dict()
    data.update(changes)
    return Choices.from_dict(data)


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
