"""Pilot tests of the side screens: Troubleshooting from every step, and the Report
(written where the user says, exactly the path shown, never over a file unasked).
"""

from __future__ import annotations

import pytest
from tui_pilot import aio, expect, press, screen_text, settle, wizard

from virtio_wizard.demo import open_demo
from virtio_wizard.tui.screens.guest import GuestScreen
from virtio_wizard.tui.screens.report import ReportScreen
from virtio_wizard.tui.screens.troubleshoot import TroubleshootScreen

pytestmark = pytest.mark.tui


@pytest.fixture
def rhel():
    return open_demo("rhel52")


# ---- side screens ----------------------------------------------------------------


@aio
async def test_troubleshooting_from_every_step(rhel):
    async with wizard(rhel) as (app, pilot):
        steps = [(), ("n",), ("n",), ("n",)]
        for keys in steps:
            await press(pilot, *keys)
            here = type(app.screen)
            await expect(pilot, TroubleshootScreen, "t")
            text = screen_text(app)
            assert "Fix:" in text
            found = str(app.so_far().findings)
            assert "[legacy-disk-names]" in text or "legacy-disk-names" in found
            await press(pilot, "escape")
            assert type(app.screen) is here


@aio
async def test_report_is_written_where_the_user_says(rhel, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    async with wizard(rhel) as (app, pilot):
        await expect(pilot, ReportScreen, "r")
        field = app.screen.query_one("#report-path")
        assert field.value == "virtio-wizard-report.md"
        await press(pilot, "end", "ctrl+u", *"ticket", "enter")
        text = screen_text(app)
        assert "Written:" in text
        assert str(tmp_path / "ticket.md") in " ".join(text.split())
        await expect(pilot, GuestScreen, "escape")
    md = (tmp_path / "ticket.md").read_text()
    assert "Red Hat Enterprise Linux" in md
    import json

    data = json.loads((tmp_path / "ticket.json").read_text())
    assert isinstance(data, dict) and data


@aio
async def test_report_into_a_missing_folder_says_why(rhel, tmp_path):
    async with wizard(rhel) as (app, pilot):
        await press(pilot, "r")
        app.screen.query_one("#report-path").value = str(tmp_path / "nope" / "r.md")
        await press(pilot, "enter")
        text = " ".join(screen_text(app).split())
        assert "Could not write" in text
        assert "No such file or directory" in text


@aio
async def test_report_with_an_empty_name_asks_for_one(rhel):
    async with wizard(rhel) as (app, pilot):
        await press(pilot, "r")
        app.screen.query_one("#report-path").value = "  "
        await press(pilot, "enter")
        assert "Type a file name first." in screen_text(app)


@aio
async def test_report_after_apply_includes_the_plan(rhel, tmp_path):
    async with wizard(rhel, to="done", report_default=str(tmp_path / "after.md")) as (app, pilot):
        await press(pilot, "r")
        await press(pilot, "enter")
        assert "Written:" in screen_text(app)
    md = (tmp_path / "after.md").read_text()
    assert "/etc/fstab" in md


@aio
async def test_report_writes_the_path_typed_in_bursts(rhel, tmp_path, monkeypatch):
    """Issue 11.3: typed as a paste or a fast typist, then Enter: the file shown is written."""
    monkeypatch.chdir(tmp_path)
    async with wizard(rhel) as (app, pilot):
        await press(pilot, "r")
        await press(pilot, "end", "ctrl+u")
        # No settling between the bursts and Enter: the keys arrive together.
        for key in [*str(tmp_path / "x" / "x"), *"yz.md", "enter"]:
            await pilot.press(key)
        await settle(pilot)
        field = app.screen.query_one("#report-path")
        assert field.value == str(tmp_path / "x" / "xyz.md")
        assert "Could not write" in " ".join(screen_text(app).split())
        (tmp_path / "x").mkdir()
        await press(pilot, "enter")
        assert (tmp_path / "x" / "xyz.md").is_file() and (tmp_path / "x" / "xyz.json").is_file()
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["xyz.json", "xyz.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


@aio
async def test_report_shows_both_paths_before_writing(rhel, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    async with wizard(rhel) as (app, pilot):
        await press(pilot, "r", "end", "ctrl+u", *"ticket")
        text = " ".join(screen_text(app).split())
        assert f"Enter writes {tmp_path / 'ticket.md'} and {tmp_path / 'ticket.json'}" in text
        assert not list(tmp_path.iterdir())


@aio
async def test_report_does_not_overwrite_without_asking(rhel, tmp_path):
    old = tmp_path / "r.md"
    old.write_text("mine\n")
    async with wizard(rhel, report_default=str(old)) as (app, pilot):
        await press(pilot, "r", "enter")
        text = " ".join(screen_text(app).split())
        assert f"{old} already exists" in text and "Enter again overwrites" in text
        assert old.read_text() == "mine\n" and not (tmp_path / "r.json").exists()
        await press(pilot, "end", *["backspace"] * 3, *".md")  # same name, retyped
        await press(pilot, "enter")
        assert old.read_text() == "mine\n"  # an edit asks again
        await press(pilot, "enter")
        assert "Written:" in screen_text(app)
    assert old.read_text() != "mine\n" and (tmp_path / "r.json").is_file()
