"""Screens that fit their terminal: 80x24 (the console) and 60x20 (a small pane).

Issue 11.9: the Guest screen said "PgDn: more below" with nothing below, the
status lines were cut at 60 columns, and the Drivers step's header lost the
app's name. Each status line must read whole (wrapped, never cut), PgDn is
named only while there is more to see, and the header keeps "virtio-wizard".
"""

from __future__ import annotations

import pytest
from tui_pilot import ROUTE, aio, expect, screen_text, static_text, wait_until, wizard

from virtio_wizard.demo import open_demo
from virtio_wizard.tui.widgets.header import header_line

pytestmark = pytest.mark.tui

SMALL = (60, 20)
LABEL = "demo guest rhel52 (a temporary copy)"


def words(text: str) -> str:
    return " ".join(text.split())


def status_on_screen(app) -> str:
    """The status line's rows as the terminal shows them, joined."""
    status = app.screen.query_one("#status")
    region = status.region
    rows = screen_text(app).split("\n")[region.y : region.bottom]
    return words(" ".join(row[region.x : region.right] for row in rows))


def assert_status_reads_whole(app, where: str) -> None:
    said = words(static_text(app.screen.query_one("#status")))
    assert said, f"{where}: no status"
    assert status_on_screen(app) == said, f"{where}: status cut\n{screen_text(app)}"


@pytest.mark.parametrize("size", [(80, 24), SMALL], ids=["80x24", "60x20"])
@aio
async def test_every_steps_status_reads_whole_and_the_header_keeps_the_name(size):
    async with wizard(open_demo("rhel52"), size=size, label=LABEL) as (app, pilot):
        for step, (keys, screen) in [("guest", ((), "GuestScreen")), *ROUTE.items()]:
            await expect(pilot, screen, *keys)
            if step == "confirm":
                continue  # a dialog: no status line
            header = screen_text(app).split("\n")[0]
            assert header.startswith(" virtio-wizard | "), f"{step}: {header!r}"
            assert "on demo guest" in header, f"{step}: {header!r}"
            assert_status_reads_whole(app, f"{step} at {size}")


@aio
async def test_pgdn_is_named_only_while_there_is_more_below():
    rhel = open_demo("rhel52")
    async with wizard(rhel) as (app, pilot):
        # rhel52's facts fit 80x24 whole: nothing below, no PgDn.
        body = app.screen.query_one("#body")
        assert body.max_scroll_y == 0
        assert "Detection done." in status_on_screen(app)
        assert "PgDn" not in status_on_screen(app)
    async with wizard(open_demo("debian12")) as (app, pilot):
        # debian12's longer initrd and module lines leave the findings below the fold.
        assert app.screen.query_one("#body").max_scroll_y > 0
        assert "PgDn: more below" in status_on_screen(app)
    async with wizard(rhel, size=SMALL) as (app, pilot):
        body = app.screen.query_one("#body")
        assert body.max_scroll_y > 0
        assert "PgDn: more below" in status_on_screen(app)
        for _ in range(10):
            await pilot.press("pagedown")
        await wait_until(pilot, lambda: body.scroll_y >= body.max_scroll_y, "the end of the body")
        await wait_until(pilot, lambda: "PgDn" not in status_on_screen(app), "PgDn gone at the end")
        assert_status_reads_whole(app, "guest, scrolled to the end")
        await pilot.press("pageup")
        await wait_until(
            pilot, lambda: "PgDn: more below" in status_on_screen(app), "PgDn back when scrolled up"
        )


@pytest.mark.parametrize("width", [80, 60, 40])
@pytest.mark.parametrize(
    "step", ["1/6 Guest", "3/6 Drivers & options", "4/6 Preview", "Welcome back", "Undo"]
)
def test_header_keeps_the_app_name_and_fits(step, width):
    line = header_line(step, LABEL, width)
    assert len(line) == width
    assert line.startswith(" virtio-wizard | " + step.split()[0])
    assert "  on " in line and line.endswith(") ")


def test_header_shortens_the_step_before_the_target():
    assert header_line("3/6 Drivers & options", LABEL, 80) == (
        " virtio-wizard | 3/6 Drivers & options  on demo guest rhel52 (a temporary copy) "
    )
    assert header_line("3/6 Drivers & options", LABEL, 60).startswith(
        " virtio-wizard | 3/6 Drivers  on demo guest"
    )
