"""The Drivers step cannot make a plan that renames disks which stay emulated.

Issue 11.1: the planner refuses it (``disk-names-stay-emulated``); here the
wizard's own path to it, the network driver alone with the rename box ticked
by hand, shows that refusal and keeps Next blocked.
"""

from __future__ import annotations

from tui_pilot import SIZE, aio, press, screen_text, settle

from virtio_wizard.demo import open_demo
from virtio_wizard.tui.app import make_app
from virtio_wizard.tui.screens.drivers import DriversScreen
from virtio_wizard.tui.screens.preview import PreviewScreen


@aio
async def test_network_only_with_the_rename_box_ticked_is_refused():
    from textual.widgets import Checkbox, RadioButton

    app = make_app(open_demo("rhel52"), label="demo guest")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n", "n")  # Guest, then the initrd path
        assert isinstance(app.screen, DriversScreen)
        box = app.screen.query_one("#fix-names", Checkbox)
        assert box.value is True  # both drivers, the boot disk moving: renamed
        app.screen.query_one("#drivers-net", RadioButton).value = True
        await settle(pilot)
        assert box.value is False  # nothing moves to virtio: the box unticks itself
        plan = app.screen.plan
        assert plan is not None and not plan.refused
        assert all(step.path != "/etc/fstab" for step in plan.steps)
        box.value = True
        await settle(pilot)
        assert [f.id for f in app.screen.plan.refusals] == ["disk-names-stay-emulated"]
        assert app.screen.plan.steps == ()
        assert "Next is blocked:" in screen_text(app)
        await press(pilot, "n")
        assert isinstance(app.screen, DriversScreen)
        box.value = False
        await settle(pilot)
        await press(pilot, "n")
        assert isinstance(app.screen, PreviewScreen)
