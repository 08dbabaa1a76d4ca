"""The Welcome back screen: the wizard started after an apply awaiting verification.

On a running guest (a fixture tree opened as a live snapshot) whose last
apply is pending verification, the wizard opens on Welcome back with the
``verify`` checks instead of the Guest screen; Next goes on to the Guest
screen; a failing check shows its cause, fix and the way back; without a
pending apply (or after verification) the Guest screen comes first.
"""

from __future__ import annotations

import pytest
from live_fixtures import ATA_SDA1, JID, live_guest
from tui_pilot import SIZE, aio, press, screen_text, settle

from virtio_wizard.journal import read_journal
from virtio_wizard.tui.app import make_app
from virtio_wizard.tui.screens.confirm_undo import ConfirmUndo
from virtio_wizard.tui.screens.guest import GuestScreen
from virtio_wizard.tui.screens.welcome import WelcomeBackScreen

pytestmark = pytest.mark.tui


@pytest.fixture
def live(tree):
    return lambda **override: tree(live_guest(**override), live=True)


@aio
async def _run(target, keys=(), ascii=False):
    app = make_app(target, label="guest", ascii=ascii)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = type(app.screen)
        text = screen_text(app)
        await press(pilot, *keys)
        await settle(pilot)
        return first, text, type(app.screen), screen_text(app)


def test_opens_on_welcome_back_and_all_checks_hold(live):
    target = live()
    first, text, after, _ = _run(target, ("n",))
    assert first is WelcomeBackScreen
    assert "Welcome back. The guest runs on virtio." in text
    assert "The journal marks the apply verified" in text
    assert "root file system is on a virtio disk" in text
    assert after is GuestScreen
    assert read_journal(target, f"/var/lib/virtio-wizard/journal/{JID}.json")["verified"]
    # Verified now: the next start goes straight to the Guest screen.
    first, _text, _after, _ = _run(target)
    assert first is GuestScreen


def test_a_failing_check_shows_cause_fix_and_the_way_back(live):
    target = live(**{"sys/dev/block/252:1": ATA_SDA1})
    first, text, after, _ = _run(target, ("pagedown", "pagedown"))
    assert first is WelcomeBackScreen
    assert "Some checks do not hold" in text
    assert "NO" in text and "not a virtio disk" in text
    assert "likely cause" in text
    _first, _text, _after, scrolled = _run(target, ("end",))
    assert "virtio-wizard --root /mnt/guest undo" in " ".join(scrolled.split())
    # Still pending: nothing was marked.
    assert "verified" not in read_journal(target, f"/var/lib/virtio-wizard/journal/{JID}.json")


def test_a_fix_names_the_wizard_s_controls_not_flags(live):
    """The swap's remedy on screen: the Drivers step's tick box, not --fix-disk-names."""
    target = live(
        **{
            "etc/fstab": "/dev/vda1 / ext4 defaults 1 1\n/dev/hda3 swap swap defaults 0 0\n",
            "proc/swaps": "Filename\tType\tSize\tUsed\tPriority\n",
        }
    )
    first, text, _after, _ = _run(target)
    assert first is WelcomeBackScreen
    flat = " ".join(text.split())
    assert "swap on /dev/hda3, which does not exist" in flat
    assert (
        "In the wizard: tick 'Rewrite /dev/hdX, /dev/sdX to /dev/vdX' on the Drivers step" in flat
    )
    assert "Run: swapon -a" in flat
    assert "--fix-disk-names" not in flat and "Command line:" not in flat


def test_undo_from_welcome_back_asks_first(live):
    _first, _text, after, _ = _run(live(**{"sys/dev/block/252:1": ATA_SDA1}), ("u",))
    assert after is ConfirmUndo


def test_ascii_mode(live):
    _first, text, _after, _ = _run(live(), ascii=True)
    assert all(c.isascii() for c in text), text


def test_no_pending_apply_opens_on_the_guest_screen(live):
    first, *_ = _run(live(**{"var/lib/virtio-wizard/journal/" + JID + ".json": None}))
    assert first is GuestScreen


@aio
async def test_done_shows_the_host_steps_the_mac_and_the_demo_way_back():
    from virtio_wizard.demo import open_demo
    from virtio_wizard.tui.screens.done import DoneScreen

    app = make_app(open_demo("rhel52"), label="demo guest")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n", "n", "n", "a", "y")
        await settle(pilot)
        await press(pilot, "n")
        await settle(pilot)
        assert isinstance(app.screen, DoneScreen)
        text = ""
        for _ in range(6):
            text += screen_text(app)
            await press(pilot, "pagedown")
        flat = " ".join(text.split())
        assert "On the host: power off, change the VM definition, start" in flat
        assert "virsh shutdown VM" in flat and "virsh start VM" in flat
        assert "keep the MAC of eth0: 52:54:00:12:34:56" in flat
        assert "If the guest does not boot after the switch" in flat
        assert "fresh copy with nothing to undo" in flat
        assert "a reboot keeps the old devices" in flat
