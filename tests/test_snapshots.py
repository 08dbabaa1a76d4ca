"""SVG snapshots of every screen at 80x24, in normal and in ASCII mode.

Deterministic by construction: the demo copy's folder is shown under one
name whatever its real one (the preview names the plan's root, the Report
screen the current folder), the header shows a fixed label, and the
journal's id and clock are pinned, so an SVG changes only when a screen
does. Update with ``pytest --snapshot-update`` after looking at the new
pictures.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from textual import _doc as textual_doc
from tui_pilot import settle

from virtio_wizard.demo import open_demo
from virtio_wizard.targets import LocalTarget
from virtio_wizard.targets.demo import DemoTarget
from virtio_wizard.tui.app import make_app

pytestmark = pytest.mark.tui

#: Keys from the start to each screen (after detection has settled).
SCREENS = {
    "guest": (),
    "troubleshooting": ("t",),
    "report": ("r",),
    "path": ("n",),
    "drivers": ("n", "n"),
    "drivers_sysinit": ("n", "down", "space", "n"),
    "drivers_sysinit_refused": ("n", "down", "space", "n", "tab", "tab", "tab", "up", "space"),
    "preview": ("n", "n", "n"),
    "confirm": ("n", "n", "n", "a"),
    "apply": ("n", "n", "n", "a", "y"),
    "done": ("n", "n", "n", "a", "y", "n"),
    "confirm_undo": ("n", "n", "n", "a", "y", "n", "u"),
    "undo": ("n", "n", "n", "a", "y", "n", "u", "y"),
    "done_host_steps": ("n", "n", "n", "a", "y", "n", "pagedown"),
}


#: The folder of demo copies as the SVGs show it.
SHOWN_ROOTS = "/tmp/virtio-wizard-snapshots"


@pytest.fixture
def roots(monkeypatch) -> str:
    """A folder of this test's own for the demo copies, shown on screen as SHOWN_ROOTS.

    The path is on screen, so it must not vary, yet two runs at once (two
    checkouts on one machine) must not share a folder. mkdtemp's name is a
    fixed prefix and 8 random characters: with the prefix cut from
    SHOWN_ROOTS the real folder is exactly as long as the shown one, lines
    wrap alike, and the path is swapped for SHOWN_ROOTS in the screenshot
    before it is compared (snap_compare calls Textual's take_svg_screenshot,
    the one place the SVG text passes through).
    """
    real = tempfile.mkdtemp(prefix=os.path.basename(SHOWN_ROOTS)[:-8], dir="/tmp")
    assert len(real) == len(SHOWN_ROOTS), real
    take = textual_doc.take_svg_screenshot

    def masked(*args, **kwargs) -> str:
        return take(*args, **kwargs).replace(real, SHOWN_ROOTS)

    monkeypatch.setattr(textual_doc, "take_svg_screenshot", masked)
    # The Report screen offers a file in the current folder.
    monkeypatch.chdir(real)
    yield real
    shutil.rmtree(real, ignore_errors=True)


def fixed_demo(roots: str, name: str) -> LocalTarget:
    """A fresh copy of demo guest ``name`` in ``roots``, as the demo opens it."""
    source = open_demo(name)
    root = os.path.join(roots, name)
    shutil.copytree(source.root, root, symlinks=True)
    return DemoTarget(root, live=source.live)


@pytest.fixture
def pinned_clock(monkeypatch):
    """Journal ids and times as a fixed value, so the SVGs do not vary."""
    import virtio_wizard.apply.resume as resume_mod
    import virtio_wizard.apply.run as run_mod
    import virtio_wizard.apply.undo as undo_mod

    monkeypatch.setattr(resume_mod, "new_journal_id", lambda *a, **k: "20260101T000000-1")
    monkeypatch.setattr(resume_mod, "timestamp", lambda: "2026-01-01T00:00:00+00:00")
    monkeypatch.setattr(run_mod, "timestamp", lambda: "2026-01-01T00:00:00+00:00")
    monkeypatch.setattr(undo_mod, "timestamp", lambda: "2026-01-01T00:05:00+00:00")


def _run_before(keys):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@pytest.mark.parametrize("ascii_mode", [False, True], ids=["normal", "ascii"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare, pinned_clock, roots, screen, ascii_mode):
    """Each screen of the rhel52 demo, as a user at 80x24 sees it."""
    app = make_app(fixed_demo(roots, "rhel52"), ascii=ascii_mode, label="demo guest")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_run_before(SCREENS[screen]))


@pytest.mark.parametrize("ascii_mode", [False, True], ids=["normal", "ascii"])
def test_debian12_guest(snap_compare, roots, ascii_mode):
    """A guest that needs nothing: the drivers come by themselves."""
    app = make_app(fixed_demo(roots, "debian12"), ascii=ascii_mode, label="demo guest")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_run_before(()))


@pytest.mark.parametrize("ascii_mode", [False, True], ids=["normal", "ascii"])
def test_welcome_back(snap_compare, roots, ascii_mode):
    """Started again after an apply awaiting verification; the boot disk is still on SATA."""
    from live_fixtures import after_a_bad_switch, materialize

    root = os.path.join(roots, "welcome-back")
    os.makedirs(root)
    target = LocalTarget(materialize(root, after_a_bad_switch()), live=True)
    app = make_app(target, ascii=ascii_mode, label="guest rhel6")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_run_before(()))
