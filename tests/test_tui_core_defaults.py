"""The wizard's Drivers step and the core agree: defaults and refusals come from the core.

Issue 11.1: the planner refuses renaming disks that stay emulated
(``disk-names-stay-emulated``); the wizard's own path to it, the network
driver alone with the rename box ticked by hand, shows that refusal and keeps
Next blocked. Issue 11.2: the sysinit file preselected is the one the CLI
edits without ``--sysinit-file`` (``plan.defaults.sysinit_file_default``).
"""

from __future__ import annotations

import pytest
from tui_pilot import SIZE, aio, press, screen_text, settle

from virtio_wizard.demo import open_demo
from virtio_wizard.detect import detect
from virtio_wizard.plan import Choices, make_plan
from virtio_wizard.plan.defaults import sysinit_file_default
from virtio_wizard.tui.app import make_app
from virtio_wizard.tui.screens.drivers import DriversScreen
from virtio_wizard.tui.screens.preview import PreviewScreen
from virtio_wizard.tui.wizard_terms import in_the_wizard

pytestmark = pytest.mark.tui


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
        (refusal,) = app.screen.plan.refusals
        assert refusal.id == "disk-names-stay-emulated"
        assert in_the_wizard(refusal.remedy) == [
            "untick 'Rewrite /dev/hdX, /dev/sdX to /dev/vdX' on the Drivers step and "
            "untick 'Write UUID= where the UUID is known' on the Drivers step",
            "choose 'Block and network' under Drivers on the Drivers step and "
            "choose initrd on the Path step (Esc goes back to it)",
        ]
        assert app.screen.plan.steps == ()
        assert "Next is blocked:" in screen_text(app)
        await press(pilot, "n")
        assert isinstance(app.screen, DriversScreen)
        box.value = False
        await settle(pilot)
        await press(pilot, "n")
        assert isinstance(app.screen, PreviewScreen)


@aio
async def test_sysinit_path_preselects_the_file_the_cli_edits_by_default():
    from textual.widgets import RadioSet

    target = open_demo("rhel52")
    facts = detect(target)
    best = sysinit_file_default(facts)
    assert best is not None and best != "/etc/rc.d/rc.sysinit"
    cli = make_plan(target, facts, Choices(method="sysinit", boot_disk="emulated"))
    assert cli.choices.sysinit_file == best and not cli.refused
    app = make_app(target, label="demo guest")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n", "down", "space", "n")  # Guest, sysinit path
        assert isinstance(app.screen, DriversScreen)
        assert app.screen.choices.sysinit_file == best
        pressed = app.screen.query_one("#sysinit-file", RadioSet).pressed_button
        assert pressed is not None and str(pressed.label) == f"{best} (recommended here)"
        plan = app.screen.plan
        assert plan is not None and plan.steps == cli.steps
        assert "sysinit-recommended-file" not in [f.id for f in plan.findings]
