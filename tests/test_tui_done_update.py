"""The Done screen says whether the next kernel update keeps virtio.

After an initrd apply on a guest whose tool can run, the core's ``verify``
builds a scratch image the distro's way (``apply.scratch``) and reads it
back; the Done screen shows that answer with the other checks. The guest's
tool is played by a Target whose ``run`` writes the image that tool would
(``test_scratch.ToolTarget``), with and without virtio inside.
"""

from __future__ import annotations

import pytest
from initrd_factory import build_initrd
from test_scratch import KVER, MODULES, guest
from tui_pilot import SIZE, aio, screen_text, settle

from virtio_wizard.detect import detect
from virtio_wizard.plan.model import Choices, Plan
from virtio_wizard.tui.app import make_app
from virtio_wizard.tui.engine import Engine
from virtio_wizard.tui.screens.done import DoneScreen
from virtio_wizard.tui.session import RunOutcome

pytestmark = pytest.mark.tui


@aio
async def _done_text(target) -> str:
    before = detect(target, read_initrds=False)
    plan = Plan(choices=Choices(method="initrd", net=False), steps=(), modules=MODULES, kernel=KVER)
    screen = DoneScreen(target, Engine(), plan, RunOutcome(ok=True), (), before)
    app = make_app(target, label="guest")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(screen)
        await settle(pilot)
        for _ in range(50):
            if screen.checks is not None or screen.verify_error is not None:
                break
            await pilot.pause(0.1)
        await settle(pilot)
        assert screen.verify_error is None, screen.verify_error
        return " ".join(screen_text(app).split())


def test_done_says_a_kernel_update_keeps_virtio(tmp_path):
    target = guest(tmp_path, build_initrd(MODULES, kver=KVER))
    text = _done_text(target)
    assert f"a kernel update keeps virtio for {KVER}: a scratch image built" in text
    assert any(
        "update-initramfs" in " ".join(argv) or "mkinitramfs" in " ".join(argv)
        for argv in target.ran
    ), target.ran


def test_done_says_when_a_kernel_update_would_drop_virtio(tmp_path):
    target = guest(tmp_path, build_initrd(("virtio",), kver=KVER))
    text = _done_text(target)
    assert "a kernel update keeps virtio" not in text
    assert f"a kernel update would drop virtio_ring, virtio_blk, virtio_pci for {KVER}" in text
