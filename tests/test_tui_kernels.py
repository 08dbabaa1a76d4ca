"""Pilot tests of "every kernel with a boot entry" on the Drivers step (issue 13).

The guest is the RHEL 5 of the boot-menu tests: grub's default 2.6.18-164,
the older 2.6.18-128 with a boot entry too, and 164's Xen kernel between
them. The box is ticked by default and prepares both kernels; unticked, only
the chosen one. It is offered only where it changes the plan.
"""

from __future__ import annotations

import pytest
from tui_pilot import aio, expect, press, screen_text, static_text, wizard

from tests.test_detect_boot import RHEL5_GRUB, rhel5_files
from virtio_wizard.demo import open_demo
from virtio_wizard.tui.screens.drivers import ALL_KERNELS, DriversScreen
from virtio_wizard.tui.screens.preview import PreviewScreen

pytestmark = pytest.mark.tui

NEW, OLD, XEN = "2.6.18-164.el5", "2.6.18-128.el5", "2.6.18-164.el5xen"
#: The preview's words for one initrd rebuild (``plan.initrd``'s step reason).
REBUILD = "rebuild the initrd of "


def rhel5_guest(tree, **changed: str):
    """The offline RHEL 5 guest with three boot entries; ``changed`` replaces files."""
    files = {**rhel5_files(RHEL5_GRUB), "/sbin/mkinitrd": "#!/bin/sh\n", **changed}
    del files["/proc/self/status"]  # offline: an image of the guest, not a running one
    return tree(files)


async def tab_to(pilot, widget_id: str) -> None:
    """Tab until ``widget_id`` has the focus (keyboard only), or fail."""
    screen = pilot.app.screen
    for _ in range(12):
        if screen.focused is not None and screen.focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"Tab never reached #{widget_id}\n{screen_text(pilot.app)}")


def lines(text: str) -> list[str]:
    """The screen's rows without the padding on either side."""
    return [row.strip() for row in text.splitlines()]


def rebuilds(app) -> list[str]:
    """The kernels whose initrd the Preview rebuilds, in its order."""
    text = static_text(app.screen.query_one("#plan"))
    return [line.split(REBUILD, 1)[1].split()[0] for line in text.splitlines() if REBUILD in line]


@aio
async def test_unticking_the_box_prepares_only_the_chosen_kernel(tree):
    async with wizard(rhel5_guest(tree), to="drivers") as (app, pilot):
        box = app.screen.query_one("#all-kernels")
        assert box.display and box.value  # on by default
        assert app.screen.plan.kernels == (NEW, OLD)
        text = screen_text(app)
        assert ALL_KERNELS in text
        assert f"Prepared: {NEW}, {OLD}" in text
        # The Xen kernel is named with the planner's reason, under the box.
        assert f"Kernel {XEN} has a boot entry but is a Xen" in text
        await expect(pilot, PreviewScreen, "n")
        assert rebuilds(app) == [NEW, OLD]

        await expect(pilot, DriversScreen, "escape")
        await tab_to(pilot, "all-kernels")
        await press(pilot, "space")
        box = app.screen.query_one("#all-kernels")  # Esc made the step anew
        assert not box.value
        plan = app.screen.plan
        assert not plan.choices.all_kernels
        assert plan.kernels == (NEW,)
        text = screen_text(app)
        assert f"Prepared: {NEW}" in lines(text)
        assert f"Not prepared: {OLD} (the box is unticked)" in text
        await expect(pilot, PreviewScreen, "n")
        assert rebuilds(app) == [NEW]
        assert OLD not in static_text(app.screen.query_one("#plan"))


@aio
async def test_the_box_is_pure_ascii_and_shows_its_focus(tree):
    async with wizard(rhel5_guest(tree), to="drivers", ascii=True) as (app, pilot):
        await tab_to(pilot, "all-kernels")
        text = screen_text(app)
        assert text.isascii(), text
        assert f"[X] {ALL_KERNELS}" in text
        box = app.screen.query_one("#all-kernels")
        assert app.screen.focused is box
        # As every Check: the focus shows in the text style, not in colour alone.
        assert box.rich_style.bold
        await press(pilot, "tab")
        assert app.screen.focused is not box and not box.rich_style.bold


@aio
async def test_no_box_on_the_sysinit_path(tree):
    hook = "if [ -f /etc/rc.modules ]; then\n\t/etc/rc.modules\nfi\n"  # where the guide adds
    guest = rhel5_guest(tree, **{"/etc/rc.d/rc.sysinit": "#!/bin/bash\n" + hook})
    async with wizard(guest, to="drivers", method="sysinit") as (app, pilot):
        assert app.screen.choices.method == "sysinit"
        assert not app.screen.query("#all-kernels")
        assert ALL_KERNELS not in screen_text(app)


@aio
async def test_no_box_on_a_one_kernel_guest():
    async with wizard(open_demo("rhel52"), to="drivers") as (app, pilot):
        assert not app.screen.query_one("#all-kernels").display
        assert not app.screen.query_one("#kernels-prepared").display
        text = screen_text(app)
        assert ALL_KERNELS not in text and "Prepared:" not in text


@aio
async def test_no_box_when_every_other_kernel_is_left_out_and_each_is_named(tree):
    # 128 lost its virtio modules: next to the Xen kernel, nothing else can be prepared.
    guest = rhel5_guest(tree, **{f"/boot/config-{OLD}": "CONFIG_VIRTIO=m\n"})
    async with wizard(guest, to="drivers") as (app, pilot):
        assert not app.screen.query_one("#all-kernels").display
        assert app.screen.plan.kernels == (NEW,)
        text = screen_text(app)
        assert ALL_KERNELS not in text
        assert f"Prepared: {NEW}" in lines(text)
        assert f"Kernel {XEN} has a boot entry but is a Xen" in text
        assert f"Kernel {OLD} has a boot entry but no virtio_blk" in text
        # Said under the Kernel choice, not again in the verdict further down.
        assert "has a boot entry" not in static_text(app.screen.query_one("#verdict"))
        assert "kernel-left-out" in static_text(app.screen.query_one("#kernels-prepared"))


@aio
async def test_the_box_follows_the_kernel_choice(tree):
    # Only 164 has a boot entry: it is "another boot kernel" once 128 is chosen.
    grub = RHEL5_GRUB.split("title Red Hat Enterprise Linux Server (2.6.18-164.el5xen)")[0]
    guest = rhel5_guest(tree, **{"/boot/grub/grub.conf": grub})
    async with wizard(guest, to="drivers") as (app, pilot):
        box = app.screen.query_one("#all-kernels")
        assert not box.display
        await tab_to(pilot, "kernel")
        labels = [str(b.label) for b in app.screen.query_one("#kernel").query("RadioButton")]
        assert labels == [XEN, NEW, OLD]
        await press(pilot, "down", "space")  # from the chosen 164 to 128
        assert app.screen.plan.kernel == OLD
        assert box.display
        assert app.screen.plan.kernels == (OLD, NEW)
