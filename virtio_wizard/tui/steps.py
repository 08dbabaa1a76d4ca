"""The wizard's steps as data: what each shows, what its answer changes, where it leads.

As subiquity keeps its controllers in one ordered list, the whole flow is the
table ``STEPS`` below; the app's walker only looks things up in it. A step
is built from the app (target, engine, label) and the session; its answer
(a ``Nav``, or a bool from a confirmation) is folded into the session by
``take`` and looked up in ``routes`` for the next step (``END`` leaves the
wizard; an answer not in the table shows the step again).

Each screen module is imported when its step is first built: the Guest
screen and its detection must not wait for the planner's or the preview's
imports.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Union

from .session import Action, Nav, Session

if TYPE_CHECKING:
    from textual.screen import Screen

    from .app import WizardApp

__all__ = ["END", "STEPS", "Step", "answer_key"]

#: Where the walk ends (the app exits).
END: Optional[str] = None

#: What a step's answer is looked up by: the Nav's action, or a confirmation's yes/no.
AnswerKey = Union[Action, bool]


def answer_key(answer: Any) -> AnswerKey:
    """The routing key of a step's answer (a dismissed dialog answers None: no)."""
    return answer.action if isinstance(answer, Nav) else bool(answer)


def _keep(session: Session, answer: Any) -> Session:
    return session


@dataclass(frozen=True)
class Step:
    """One step of the walk."""

    name: str
    #: Builds the step's screen from the app and the session.
    screen: Callable[[WizardApp, Session], Screen]
    #: The step after each answer (by ``answer_key``).
    routes: Mapping[AnswerKey, Optional[str]]
    #: The session after this step's answer.
    take: Callable[[Session, Any], Session] = _keep

    def after(self, answer: Any) -> Optional[str]:
        """The next step's name (``END`` to leave); unknown answers stay here."""
        return self.routes.get(answer_key(answer), self.name)


# ---- screens ---------------------------------------------------------------------


def _welcome(app: WizardApp, s: Session) -> Screen:
    from .screens.welcome import WelcomeBackScreen

    return WelcomeBackScreen(app.target, app.engine, s.pending or {})


def _guest(app: WizardApp, s: Session) -> Screen:
    from .screens.guest import GuestScreen

    return GuestScreen(
        app.target,
        app.engine,
        s.facts,
        list(s.findings),
        s.initrds_read,
        s.journal,
        early=app.early_detection,
    )


def _path(app: WizardApp, s: Session) -> Screen:
    from ..plan.model import Choices
    from .screens.path import PathScreen

    choices = s.choices or Choices()
    return PathScreen(app.target, app.engine, s.facts, choices, chosen=choices.method)


def _drivers(app: WizardApp, s: Session) -> Screen:
    from .screens.drivers import DriversScreen

    return DriversScreen(app.target, app.engine, s.facts, s.choices)


def _preview(app: WizardApp, s: Session) -> Screen:
    from .screens.preview import PreviewScreen

    return PreviewScreen(app.target, app.engine, s.plan)


def _confirm(app: WizardApp, s: Session) -> Screen:
    from .screens.confirm import ConfirmApply

    return ConfirmApply(s.plan, app.target_label, app.target.can_run)


def _apply(app: WizardApp, s: Session) -> Screen:
    from .screens.apply import ApplyScreen

    return ApplyScreen(app.target, app.engine, s.plan)


def _undo(app: WizardApp, s: Session) -> Screen:
    from .screens.apply import ApplyScreen

    return ApplyScreen(app.target, app.engine, None, undo=True)


def _done(app: WizardApp, s: Session) -> Screen:
    from .screens.done import DoneScreen

    return DoneScreen(app.target, app.engine, s.plan, s.outcome, s.findings, s.facts)


# ---- what the answers change --------------------------------------------------------


def _took_guest(session: Session, answer: Nav) -> Session:
    return session.detected(answer.value) if answer.value is not None else session


def _took_choices(session: Session, answer: Nav) -> Session:
    if answer.action is not Action.NEXT:
        return session
    return replace(session, choices=answer.value)


def _took_plan(session: Session, answer: Nav) -> Session:
    if answer.action is not Action.NEXT:
        return session
    return replace(session, plan=answer.value, choices=answer.value.choices)


def _took_outcome(session: Session, answer: Nav) -> Session:
    return replace(session, outcome=answer.value)


def _took_undo(session: Session, answer: Nav) -> Session:
    """Undone and gone on: back to the start, detecting afresh (the guest changed)."""
    session = replace(session, outcome=answer.value)
    return session.forget_guest() if answer.action is Action.NEXT else session


NEXT, BACK, UNDO, QUIT = Action.NEXT, Action.BACK, Action.UNDO, Action.QUIT

#: The flow, in the order a user meets it.
STEPS: dict[str, Step] = {
    step.name: step
    for step in (
        # Only when the last apply awaits verification on a running guest.
        Step("welcome", _welcome, {NEXT: "guest", UNDO: "undo", BACK: END, QUIT: END}),
        Step("guest", _guest, {NEXT: "path", UNDO: "undo", BACK: END, QUIT: END}, _took_guest),
        Step("path", _path, {NEXT: "drivers", BACK: "guest"}, _took_choices),
        Step("drivers", _drivers, {NEXT: "preview", BACK: "path"}, _took_plan),
        Step("preview", _preview, {NEXT: "confirm", BACK: "drivers"}),
        Step("confirm", _confirm, {True: "apply", False: "preview"}),
        Step("apply", _apply, {NEXT: "done", UNDO: "undo"}, _took_outcome),
        Step("undo", _undo, {NEXT: "guest", UNDO: "undo"}, _took_undo),
        Step("done", _done, {UNDO: "undo", QUIT: END}),
    )
}
