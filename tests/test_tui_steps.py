"""The wizard's flow as data: the steps table and the session it folds answers into.

No Textual runs here: the table and the session are plain records, so the
walk can be followed answer by answer with hand-built values.
"""

from __future__ import annotations

from typing import Optional

import pytest

from virtio_wizard.demo import open_demo
from virtio_wizard.detect import detect
from virtio_wizard.plan import make_plan
from virtio_wizard.plan.model import Choices
from virtio_wizard.tui.session import Action, Detection, Nav, RunOutcome, Session
from virtio_wizard.tui.steps import END, STEPS

pytestmark = pytest.mark.tui


def walk(answers: list[tuple[str, object]], session: Optional[Session] = None):
    """Fold ``(step, answer)`` pairs as the app's walker does: steps visited, next, session."""
    session = session or Session()
    visited = []
    name = answers[0][0]
    for expected, answer in answers:
        assert name == expected, f"walked to {name}, expected {expected}"
        step = STEPS[name]
        session = step.take(session, answer)
        visited.append(name)
        name = step.after(answer)
    return visited, name, session


def test_every_route_leads_to_a_step_or_out():
    for step in STEPS.values():
        for target in step.routes.values():
            assert target is END or target in STEPS, (step.name, target)


def test_the_walk_from_guest_to_done_then_undo_forgets_the_guest():
    target = open_demo("rhel52")
    facts = detect(target)
    found = Detection(facts, (), True, journal=None)
    plan = make_plan(target, facts, Choices())
    done = RunOutcome(ok=True, journal="/var/lib/virtio-wizard/journal/1")
    visited, last, session = walk(
        [
            ("guest", Nav(Action.NEXT, found)),
            ("path", Nav(Action.NEXT, Choices(method="initrd"))),
            ("drivers", Nav(Action.NEXT, plan)),
            ("preview", Nav(Action.NEXT, plan)),
            ("confirm", False),  # Cancel: back to the preview
            ("preview", Nav(Action.NEXT, plan)),
            ("confirm", True),
            ("apply", Nav(Action.NEXT, done)),
            ("done", Nav(Action.UNDO)),
        ]
    )
    assert last == "undo"
    assert session.facts is facts and session.plan is plan and session.outcome is done
    assert session.choices == plan.choices
    assert session.report_journal == "/var/lib/virtio-wizard/journal/1"
    _, last, after = walk([("undo", Nav(Action.NEXT, RunOutcome(ok=True)))], session)
    assert last == "guest"
    assert after.facts is None and after.plan is None and after.journal is None
    assert after.choices == plan.choices  # what the user chose is kept


def test_back_walks_back_and_keeps_the_session():
    session = Session(choices=Choices(method="sysinit"))
    visited, last, after = walk(
        [("drivers", Nav(Action.BACK)), ("path", Nav(Action.BACK)), ("guest", Nav(Action.QUIT))],
        session,
    )
    assert visited == ["drivers", "path", "guest"] and last is END
    assert after == session


def test_a_failed_apply_goes_to_undo_or_done():
    failed = RunOutcome.refused("/etc/fstab changed since the plan was made")
    assert failed.messages == (failed.error,) and not failed.ok
    assert STEPS["apply"].after(Nav(Action.UNDO, failed)) == "undo"
    assert STEPS["apply"].after(Nav(Action.NEXT, failed)) == "done"
    assert STEPS["apply"].take(Session(), Nav(Action.NEXT, failed)).outcome is failed


def test_welcome_back_leads_to_the_guest_undo_or_out():
    welcome = STEPS["welcome"]
    assert welcome.after(Nav(Action.NEXT)) == "guest"
    assert welcome.after(Nav(Action.UNDO)) == "undo"
    assert welcome.after(Nav(Action.QUIT)) is END


def test_an_answer_the_table_does_not_name_shows_the_step_again():
    assert STEPS["done"].after(Nav(Action.BACK)) == "done"


def test_run_outcome_of_the_cores_results():
    class Result:
        def __init__(self, status, journal=None, messages=()):
            self.status, self.journal, self.messages = status, journal, messages

    assert RunOutcome.of(Result("nothing")).nothing
    failed = RunOutcome.of(Result("failed", "/j", ("step 2 failed",)))
    assert not failed.ok and failed.error == "step 2 failed" and failed.journal == "/j"
    assert RunOutcome.of(Result("failed")).error == "a step failed"
