"""A read-only image is reopened read-write only when a write is confirmed, and says so."""

from __future__ import annotations

from virtio_wizard.cli import writable_target
from virtio_wizard.targets import LocalTarget


class FakeImage:
    """What writable_target and the TUI engine need of an ImageTarget."""

    kind = "image"

    def __init__(self) -> None:
        self.readonly = True
        self.reopened = 0

    def make_writable(self) -> None:
        self.reopened += 1
        self.readonly = False


def test_a_read_only_image_is_reopened_once_with_a_note():
    image, notes = FakeImage(), []
    assert writable_target(image, notes.append) is image
    assert image.reopened == 1 and not image.readonly
    assert notes == ["opening the image read-write: starting the libguestfs appliance again"]
    writable_target(image, notes.append)
    assert image.reopened == 1 and len(notes) == 1, "already writable: nothing to do"


def test_other_targets_pass_through(tmp_path):
    target = LocalTarget(str(tmp_path))
    assert writable_target(target, lambda _t: (_ for _ in ()).throw(AssertionError)) is target


def test_the_tui_engine_notes_the_reopen_in_the_apply_log(monkeypatch):
    from virtio_wizard.tui.engine import Engine

    seen = []
    monkeypatch.setattr("virtio_wizard.apply.run.apply_plan", lambda t, p, on_event: ("ran", t))
    image = FakeImage()
    result = Engine().apply(image, plan=None, on_event=seen.append)
    assert result == ("ran", image) and not image.readonly
    assert [(e.kind, e.index) for e in seen] == [("note", None)]
