"""Pilot tests of the Path and Drivers steps: each choice reaches the plan, a refused
plan blocks Next with its reason, and only the files a guest reads are offered.
"""

from __future__ import annotations

import pytest
from tui_pilot import aio, expect, pick, press, screen_text, settle, static_text, wizard

from virtio_wizard.demo import open_demo
from virtio_wizard.tui.engine import Engine
from virtio_wizard.tui.screens.drivers import DriversScreen
from virtio_wizard.tui.screens.path import PathScreen
from virtio_wizard.tui.screens.preview import PreviewScreen

pytestmark = pytest.mark.tui


@pytest.fixture
def rhel():
    return open_demo("rhel52")


# ---- choices --------------------------------------------------------------------


@pytest.mark.parametrize(
    "radio, order, absent",
    [
        ("drivers-block", "virtio -> virtio_ring -> virtio_blk -> virtio_pci", "virtio_net"),
        ("drivers-net", "virtio -> virtio_net -> virtio_pci", "virtio_blk"),
    ],
)
@aio
async def test_block_only_and_net_only(rhel, radio, order, absent):
    async with wizard(rhel, to="drivers") as (app, pilot):
        await pick(pilot, radio)
        text = screen_text(app)
        assert "Load order: " + order in text
        assert "Plan ready" in text
        plan = app.screen.plan
        assert absent not in plan.modules
        await expect(pilot, PreviewScreen, "n")
        plan_text = static_text(app.screen.query_one("#plan"))
        assert "Modules, in load order: " + order.replace(" -> ", " ") in plan_text


@aio
async def test_drivers_radio_answers_the_keyboard(rhel):
    async with wizard(rhel, to="drivers") as (app, pilot):
        # Focus starts on the drivers; Down + Space picks "Block (disks) only".
        await press(pilot, "down", "space")
        assert "Load order: virtio -> virtio_ring -> virtio_blk -> virtio_pci" in screen_text(app)


@aio
async def test_sysinit_with_block_and_virtio_boot_disk_is_refused(rhel):
    async with wizard(rhel, to="drivers", method="sysinit") as (app, pilot):
        assert app.screen.choices.method == "sysinit"
        # The Drivers step starts where the Path step judged sysinit possible.
        assert app.screen.choices.boot_disk == "emulated"
        assert "Plan ready" in screen_text(app)
        await pick(pilot, "boot-virtio")
        await settle(pilot)
        text = screen_text(app)
        assert "Refused:" in text
        # The reason is on screen without scrolling.
        assert "Next is blocked:" in text
        assert app.screen.plan.refusals[0].message.split()[0] in text
        assert app.screen.plan is not None and app.screen.plan.refused
        # The remedy names the place on screen, never the CLI flag.
        assert "In the wizard: choose initrd on the Path step" in text
        assert "--method" not in text
        await expect(pilot, DriversScreen, "n")  # Next is blocked
        await pick(pilot, "boot-emulated")
        await settle(pilot)
        assert "Plan ready" in screen_text(app)
        await expect(pilot, PreviewScreen, "n")
        text = static_text(app.screen.query_one("#plan"))
        assert "/etc/sysconfig/modules/virtio.modules" in text  # the recommended file
        assert "+modprobe virtio" in text


@aio
async def test_sysinit_net_only_may_keep_a_virtio_boot_disk_choice(rhel):
    async with wizard(rhel, to="drivers", method="sysinit") as (app, pilot):
        await pick(pilot, "drivers-net")
        await settle(pilot)
        plan = app.screen.plan
        assert plan is not None and not plan.refused
        assert "virtio_blk" not in plan.modules


@aio
async def test_sysinit_file_choice_reaches_the_plan(rhel):
    async with wizard(rhel, to="drivers", method="sysinit") as (app, pilot):
        await pick(pilot, "boot-emulated")
        await pick(pilot, "sysinit-1")
        await settle(pilot)
        plan = app.screen.plan
        assert plan.choices.sysinit_file == "/etc/rc.modules"
        await press(pilot, "n")
        assert "/etc/rc.modules" in static_text(app.screen.query_one("#plan"))


@aio
async def test_path_screen_disables_a_path_the_planner_refuses(rhel):
    from virtio_wizard.finding import ERROR, Finding
    from virtio_wizard.plan.model import Plan

    class NoInitrd(Engine):
        def plan(self, target, facts, choices):
            if choices.method == "initrd":
                refusal = Finding("no-initrd-tool", ERROR, "No initrd tool was found.")
                return Plan(choices=choices, findings=(refusal,))
            return super().plan(target, facts, choices)

    async with wizard(rhel, engine=NoInitrd()) as (app, pilot):
        await press(pilot, "n")
        screen = app.screen
        assert isinstance(screen, PathScreen)
        assert screen.query_one("#method-initrd").disabled
        assert screen.chosen == "sysinit"
        text = screen_text(app)
        assert "Not possible here:" in text
        assert "No initrd tool was found." in text


@aio
async def test_path_screen_with_no_possible_path_blocks_next(rhel):
    from virtio_wizard.finding import ERROR, Finding
    from virtio_wizard.plan.model import Plan

    class Nothing(Engine):
        def plan(self, target, facts, choices):
            return Plan(choices=choices, findings=(Finding("x", ERROR, "Nope."),))

    async with wizard(rhel, engine=Nothing()) as (app, pilot):
        await press(pilot, "n")
        assert "Neither path is possible" in screen_text(app)
        await expect(pilot, PathScreen, "n")


@aio
async def test_planner_crash_is_shown_not_raised(rhel):
    class Crash(Engine):
        def plan(self, target, facts, choices):
            if choices.method == "initrd" and not choices.net:
                raise RuntimeError("planner bug")
            return super().plan(target, facts, choices)

    async with wizard(rhel, to="drivers", engine=Crash()) as (app, pilot):
        await pick(pilot, "drivers-block")
        await settle(pilot)
        assert "The planner failed: planner bug" in screen_text(app)
        await expect(pilot, DriversScreen, "n")


@aio
async def test_debian12_drivers_come_by_themselves():
    target = open_demo("debian12")
    async with wizard(target) as (app, pilot):
        text = screen_text(app)
        assert "Drivers     loaded by the release itself" in text


@aio
async def test_sysinit_without_rc_sysinit_uses_the_recommended_file():
    """Debian has no rc.sysinit: the path is judged (and preselected) with /etc/modules."""
    target = open_demo("debian12")
    async with wizard(target) as (app, pilot):
        await press(pilot, "n")
        assert not app.screen.query_one("#method-sysinit").disabled
        await expect(pilot, DriversScreen, "down", "space", "n")
        assert app.screen.choices.sysinit_file == "/etc/modules"
        assert "/etc/modules (recommended here)" in screen_text(app)


# ---- Drivers: only files the guest reads (issue 14) ---------------------------------


def _sysinit_radios(app) -> list[str]:
    from textual.widgets import RadioButton

    radio_set = app.screen.query_one("#sysinit-file")
    return [str(b.label).split(" (")[0] for b in radio_set.query(RadioButton)]


@aio
async def test_drivers_offers_only_files_rhel5_reads(rhel):
    async with wizard(rhel, to="drivers", method="sysinit") as (app, pilot):
        assert _sysinit_radios(app) == [
            "/etc/rc.d/rc.sysinit",
            "/etc/rc.modules",
            "/etc/sysconfig/modules/virtio.modules",
        ]
        assert "/etc/modules\n" not in screen_text(app) + "\n"


@aio
async def test_drivers_offers_only_files_debian_reads():
    async with wizard(open_demo("debian12"), to="drivers", method="sysinit") as (app, pilot):
        assert _sysinit_radios(app) == ["/etc/modules", "/etc/modules-load.d/virtio.conf"]
        assert "rc.sysinit" not in " ".join(_sysinit_radios(app))


@aio
async def test_drivers_offers_only_files_rhel3_reads():
    """RHEL 3's rc.sysinit runs only /etc/rc.modules: no /etc/modules, no modules-load.d."""
    async with wizard(open_demo("rhel39"), to="drivers", method="sysinit") as (app, pilot):
        assert _sysinit_radios(app) == ["/etc/rc.d/rc.sysinit", "/etc/rc.modules"]


@aio
async def test_path_reasons_name_this_guests_tool_and_file():
    """Issue 11.9: debian12's Path step described mkinitrd and rc.sysinit."""
    async with wizard(open_demo("debian12")) as (app, pilot):
        await expect(pilot, PathScreen, "n")
        text = static_text(app.screen.query_one("#reasons"))
        assert "mkinitrd" not in text and "rc.sysinit" not in text
        assert "initramfs-tools" in text and "/etc/modules" in text
