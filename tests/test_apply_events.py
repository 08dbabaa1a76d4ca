"""One vocabulary of progress events for apply, undo, the CLI and the TUI."""

from __future__ import annotations

import io

import pytest

from virtio_wizard.apply.events import ApplyEvent, EventKind
from virtio_wizard.commands.apply import print_event


def test_kinds_keep_their_words():
    assert [str(k) for k in EventKind] == [
        "step-start",
        "step-done",
        "step-skipped",
        "step-failed",
        "output",
        "note",
    ]
    assert f"{EventKind.STEP_DONE}" == "step-done"


def test_an_event_built_from_a_word_holds_the_member():
    event = ApplyEvent("step-done", 2, "wrote /etc/fstab")
    assert event.kind is EventKind.STEP_DONE
    assert event == ApplyEvent(EventKind.STEP_DONE, 2, "wrote /etc/fstab")


def test_an_unknown_kind_is_refused_where_the_event_is_made():
    with pytest.raises(ValueError):
        ApplyEvent("step-finished", 0, "x")


@pytest.mark.parametrize(
    ("kind", "line"),
    [
        (EventKind.STEP_START, "[1/3] edit"),
        (EventKind.OUTPUT, "    | edit"),
        (EventKind.STEP_DONE, "    done: edit"),
        (EventKind.STEP_SKIPPED, "[1/3] skipped: edit"),
        (EventKind.STEP_FAILED, "    FAILED: edit"),
        (EventKind.NOTE, "note: edit"),
    ],
)
def test_the_cli_prints_every_kind(kind, line):
    out = io.StringIO()
    failed: list[str] = []
    print_event(3, out, failed)(ApplyEvent(kind, 0, "edit"))
    assert out.getvalue() == line + "\n"
    assert failed == (["edit"] if kind is EventKind.STEP_FAILED else [])
