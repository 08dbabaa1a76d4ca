"""Pilot tests of keys and focus (issue 11.7): every Tab stop shows its focus, Esc
asks before quitting, Caps Lock and Enter work, the footer hides keys that do
nothing, and Ctrl+Q waits while apply writes.
"""

from __future__ import annotations

import pytest
from tui_pilot import aio, expect, gated, pick, press, screen_text, settle, wait_until, wizard

from virtio_wizard.demo import open_demo
from virtio_wizard.tui.screens.apply import ApplyScreen
from virtio_wizard.tui.screens.confirm import ConfirmApply
from virtio_wizard.tui.screens.drivers import DriversScreen
from virtio_wizard.tui.screens.guest import GuestScreen
from virtio_wizard.tui.screens.path import PathScreen
from virtio_wizard.tui.screens.preview import PreviewScreen
from virtio_wizard.tui.screens.troubleshoot import TroubleshootScreen

pytestmark = pytest.mark.tui


@pytest.fixture
def rhel():
    return open_demo("rhel52")


# ---- keys and focus (issue 11.7) ---------------------------------------------------


def footer_text(app) -> str:
    return screen_text(app).rstrip("\n").split("\n")[-1]


async def tab_stops(pilot, count: int = 12) -> list:
    """The widget focused after each Tab, ``count`` times."""
    stops = []
    for _ in range(count):
        await pilot.press("tab")
        await pilot.pause()
        stops.append(pilot.app.screen.focused)
    return stops


@aio
async def test_every_tab_stop_is_a_control_that_shows_its_focus(rhel):
    from textual.widgets import Button, Checkbox, RadioSet

    shows_focus = (RadioSet, Checkbox, Button)
    async with wizard(rhel) as (app, pilot):
        await expect(pilot, PathScreen, "n")
        assert all(isinstance(w, shows_focus) for w in await tab_stops(pilot, 3))
        await expect(pilot, DriversScreen, "n")
        stops = await tab_stops(pilot)
        assert all(isinstance(w, shows_focus) for w in stops), stops
        assert {w.id for w in stops} >= {"drivers", "kernel", "boot-disk", "fix-names", "use-uuid"}
        await expect(pilot, ConfirmApply, "n", "a")
        stops = await tab_stops(pilot, 4)
        assert [w.id for w in stops] == ["apply", "cancel", "apply", "cancel"]


@aio
async def test_escape_on_the_first_step_asks_before_quitting(rhel):
    from virtio_wizard.tui.screens.confirm_quit import ConfirmQuit

    async with wizard(rhel) as (app, pilot):
        await expect(pilot, ConfirmQuit, "escape")
        assert app.screen.focused.id == "cancel"
        await press(pilot, "escape")
        assert isinstance(app.screen, GuestScreen) and app.is_running
        await press(pilot, "escape", "enter")  # Enter on the focused Cancel stays
        assert isinstance(app.screen, GuestScreen) and app.is_running
        await press(pilot, "escape", "y")
    assert app.return_code == 0


@aio
async def test_caps_lock_enter_and_help_keys(rhel):
    from virtio_wizard.tui.screens.help import HelpScreen

    async with wizard(rhel) as (app, pilot):
        await expect(pilot, HelpScreen, "question_mark")
        assert "Esc" in screen_text(app) and "6 Done" in screen_text(app)
        await expect(pilot, HelpScreen, "escape", "f1")
        await expect(pilot, GuestScreen, "escape")
        await press(pilot, "enter")  # nothing has the focus on the Guest step
        assert isinstance(app.screen, PathScreen)
        await press(pilot, "escape", "N")  # Caps Lock on
        assert isinstance(app.screen, PathScreen)
        await expect(pilot, DriversScreen, "N")
        await expect(pilot, TroubleshootScreen, "T")


@aio
async def test_footer_hides_keys_that_do_nothing(rhel):
    async with wizard(rhel, to="drivers", method="sysinit") as (app, pilot):
        assert "n Next" in footer_text(app)
        await pick(pilot, "boot-virtio")  # refused: Next is blocked
        await settle(pilot)
        assert app.screen.plan.refused
        assert "Next" not in footer_text(app)
    async with wizard(open_demo("debian12"), to="drivers") as (nothing, pilot):
        assert nothing.screen.plan.changes_nothing
        await press(pilot, "n")
        assert isinstance(nothing.screen, PreviewScreen)
        assert "Apply" not in footer_text(nothing)
        await press(pilot, "a", "enter")
        assert isinstance(nothing.screen, PreviewScreen)


@aio
async def test_ctrl_q_waits_while_apply_writes(rhel):
    engine, gate = gated("apply")
    async with wizard(rhel, to="confirm", engine=engine) as (app, pilot):
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, ApplyScreen) and "^Q Quit" not in screen_text(app),
            "Apply running with Ctrl+Q hidden from the footer",
        )
        await pilot.press("ctrl+q")
        await pilot.pause()  # the key handled: a negative check has nothing to wait for
        assert app.is_running and isinstance(app.screen, ApplyScreen)
        gate.set()
        await settle(pilot)
        assert "Apply finished" in screen_text(app)
        assert "^Q Quit" in screen_text(app)
