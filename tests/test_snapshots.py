"""SVG snapshots of every screen at 80x24, in normal and in ASCII mode.

Deterministic by construction: the demo copy lives at a fixed path (the
preview names the plan's root), the header shows a fixed label, and the
journal's id and clock are pinned, so an SVG
changes only when a screen does. Update with ``pytest --snapshot-update``
after looking at the new pictures.
"""

from __future__ import annotations

import os
import shutil

import pytest
from tui_pilot import settle

from virtio_wizard.demo import open_demo
from virtio_wizard.target import LocalTarget
from virtio_wizard.tui.app import make_app

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


#: Demo copies live here, not in a random temp folder: the plan names its root.
FIXED_ROOTS = "/tmp/virtio-wizard-snapshots"


def fixed_demo(name: str) -> LocalTarget:
    """A fresh copy of demo guest ``name`` at a fixed path, as the demo opens it."""
    source = open_demo(name)
    root = os.path.join(FIXED_ROOTS, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(FIXED_ROOTS, exist_ok=True)
    shutil.copytree(source.root, root, symlinks=True)
    return LocalTarget(root, can_run=False, kind="demo", live=source.live)


@pytest.fixture(autouse=True)
def fixed_roots_lock():
    """One snapshot test at a time per machine: FIXED_ROOTS is shared by every checkout.

    Several worktrees run these tests side by side; without the lock one run
    deletes the demo copy another is applying to.
    """
    import fcntl

    os.makedirs(FIXED_ROOTS, exist_ok=True)
    with open(FIXED_ROOTS + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


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
def test_screen(snap_compare, pinned_clock, monkeypatch, screen, ascii_mode):
    """Each screen of the rhel52 demo, as a user at 80x24 sees it."""
    # The Report screen offers a file in the current folder: make it the same in every checkout.
    monkeypatch.chdir(FIXED_ROOTS)
    app = make_app(fixed_demo("rhel52"), ascii=ascii_mode, label="demo guest")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_run_before(SCREENS[screen]))


@pytest.mark.parametrize("ascii_mode", [False, True], ids=["normal", "ascii"])
def test_debian12_guest(snap_compare, ascii_mode):
    """A guest that needs nothing: the drivers come by themselves."""
    app = make_app(fixed_demo("debian12"), ascii=ascii_mode, label="demo guest")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_run_before(()))


@pytest.mark.parametrize("ascii_mode", [False, True], ids=["normal", "ascii"])
def test_welcome_back(snap_compare, ascii_mode):
    """Started again after an apply awaiting verification; the boot disk is still on SATA."""
    from live_fixtures import after_a_bad_switch, materialize

    root = os.path.join(FIXED_ROOTS, "welcome-back")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    target = LocalTarget(materialize(root, after_a_bad_switch()), live=True)
    app = make_app(target, ascii=ascii_mode, label="guest rhel6")
    assert snap_compare(app, terminal_size=(80, 24), run_before=_run_before(()))
