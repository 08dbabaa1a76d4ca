"""Pilot tests: the wizard driven by keyboard only, at 80x24, on demo copies.

The walk itself: detection on the Guest step, apply then undo (byte-identical
files), Cancel at the confirmation (nothing written: file hashes compared), a
failing apply offering Undo, Undo asking first, Back, and quitting. The
choices are in test_tui_choices.py, the side screens in test_tui_sides.py,
keys and focus in test_tui_keys.py, screens at 60x20 in test_tui_fit.py.
"""

from __future__ import annotations

import os

import pytest
from tui_pilot import (
    SIZE,
    aio,
    expect,
    gated,
    pick,
    press,
    screen_text,
    settle,
    static_text,
    tree_hashes,
    wait_until,
    wizard,
)

from virtio_wizard.demo import open_demo
from virtio_wizard.targets.demo import DemoTarget
from virtio_wizard.tui.app import make_app
from virtio_wizard.tui.engine import Engine
from virtio_wizard.tui.screens.apply import ApplyScreen
from virtio_wizard.tui.screens.confirm import ConfirmApply
from virtio_wizard.tui.screens.confirm_undo import ConfirmUndo
from virtio_wizard.tui.screens.done import DoneScreen
from virtio_wizard.tui.screens.drivers import DriversScreen
from virtio_wizard.tui.screens.guest import GuestScreen
from virtio_wizard.tui.screens.path import PathScreen
from virtio_wizard.tui.screens.preview import PreviewScreen

pytestmark = pytest.mark.tui


@pytest.fixture
def rhel():
    return open_demo("rhel52")


# ---- Guest --------------------------------------------------------------------


@aio
async def test_guest_shows_facts_and_the_target(rhel):
    async with wizard(rhel) as (app, pilot):
        assert isinstance(app.screen, GuestScreen)
        text = screen_text(app)
        assert "on demo guest" in text
        assert "Red Hat Enterprise Linux Server 5.2" in text
        # RHEL 5 ships virtio in the kernel: no per-vendor package line (issue 14).
        assert "ia32e" not in text
        assert "2.6.18-92.el5" in text and "(running)" in text
        assert "m module, y built in, - missing" in text
        assert "ide (" in text and "e1000 (" in text
        assert "mkinitrd" in text
        seen = app.so_far()  # what the side screens would show
        assert seen.facts is not None and seen.initrds_read


@aio
async def test_header_defaults_to_the_target_description(rhel):
    app = make_app(rhel)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "on demo guest" in screen_text(app)
        assert app.target_label == rhel.describe()


@aio
async def test_detection_failure_is_shown_and_blocks_next(rhel):
    class Broken(Engine):
        def detect(self, target, progress=None):
            raise OSError(5, "Input/output error", "/etc/redhat-release")

    async with wizard(rhel, engine=Broken()) as (app, pilot):
        text = screen_text(app)
        assert "Detection failed" in text
        assert "could not be read" in text
        await expect(pilot, GuestScreen, "n")


@aio
async def test_quick_detection_is_in_the_first_guest_frame(rhel):
    """A demo is detected within EARLY_WAIT: the Guest screen never shows 'Detecting'."""
    frames = []
    app = make_app(rhel, label="demo guest")
    original = app._display

    def display(screen, renderable):
        original(screen, renderable)
        if isinstance(screen, GuestScreen) and renderable is not None:
            frames.append(screen_text(app))

    app._display = display
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert frames and "Red Hat Enterprise Linux Server 5.2" in frames[0]
        assert not any("Detecting the guest" in f for f in frames)


@aio
async def test_slow_detection_shows_the_screen_with_progress_first(rhel):
    """Past EARLY_WAIT the screen comes with its progress line; the facts follow."""
    from virtio_wizard.tui.app import EARLY_WAIT

    engine, gate = gated("detect")
    async with wizard(rhel, engine=engine, settled=False) as (app, pilot):
        # Past EARLY_WAIT the screen comes, still detecting (the gate is shut).
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, GuestScreen)
                and "Detecting the guest ..." in screen_text(app)
            ),
            f"the Guest screen detecting after {EARLY_WAIT}s",
        )
        await pilot.press("n")  # nothing to go on with yet
        await pilot.pause()  # the key handled: a negative check has nothing to wait for
        assert isinstance(app.screen, GuestScreen)
        gate.set()
        await settle(pilot)
        assert "Red Hat Enterprise Linux Server 5.2" in screen_text(app)
        await expect(pilot, PathScreen, "n")


@aio
async def test_slow_initrd_read_does_not_block_next(rhel):
    engine, gate = gated("with_initrds")
    async with wizard(rhel, engine=engine, settled=False) as (app, pilot):
        await wait_until(
            pilot,
            lambda: "Reading initrd images" in screen_text(app),
            "the facts shown while the initrds are read",
        )
        assert "reading..." in screen_text(app)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, PathScreen), "the Path step")
        gate.set()
        await settle(pilot)


# ---- initrd path, apply, done, undo --------------------------------------------


@aio
async def test_initrd_both_apply_then_undo_restores_every_byte(rhel):
    before = tree_hashes(rhel.root)
    async with wizard(rhel, to="drivers") as (app, pilot):
        text = screen_text(app)
        assert "virtio -> virtio_ring -> virtio_blk -> virtio_net -> virtio_pci" in text
        assert "Plan ready" in text
        await expect(pilot, PreviewScreen, "n")
        assert "every command below WOULD RUN on a real guest" in screen_text(app)
        plan_text = static_text(app.screen.query_one("#plan"))
        assert "$ mkinitrd -f --with=virtio --with=virtio_ring" in plan_text
        assert "+/dev/vda3" in plan_text
        await expect(pilot, ConfirmApply, "a")
        assert "/etc/fstab" in screen_text(app)
        await expect(pilot, ApplyScreen, "y")
        text = screen_text(app)
        assert "Apply finished" in text
        assert "[x] Edit /etc/fstab" in text
        with open(os.path.join(rhel.root, "etc/fstab")) as fh:
            assert "/dev/vda3" in fh.read()
        await expect(pilot, DoneScreen, "n")
        text = screen_text(app)
        assert "Detecting the guest again says:" in text
        assert "Journal: /var/lib/virtio-wizard/journal/" in text
        await press(pilot, "u")
        # Undo writes files: it asks first, naming them, with focus on Cancel.
        assert isinstance(app.screen, ConfirmUndo)
        assert app.screen.focused is not None and app.screen.focused.id == "cancel"
        text = screen_text(app)
        assert "Files restored byte for byte from their backups:" in text
        assert "/etc/fstab" in text and "/boot/grub/grub.conf" in text
        assert "Files removed (apply created them):" in text
        assert "/boot/initrd-2.6.18-92.el5.img.virtio.orig" in text
        await expect(pilot, ApplyScreen, "y")
        assert "Undo finished" in screen_text(app)
        await press(pilot, "n")
        # Back at the start, detecting afresh.
        assert isinstance(app.screen, GuestScreen)
    after = tree_hashes(rhel.root)
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed == set()


@aio
async def test_undo_is_offered_at_the_start_when_a_journal_exists(rhel):
    async with wizard(rhel, to="done") as (app, pilot):
        await press(pilot, "q")
    fstab = os.path.join(rhel.root, "etc/fstab")
    with open(fstab) as fh:
        assert "/dev/vda3" in fh.read()
    async with wizard(rhel) as (app, pilot):
        text = screen_text(app)
        assert "Press u to undo the earlier apply" in text
        assert "u Undo last apply" in text
        await expect(pilot, ConfirmUndo, "u")
        assert "/etc/fstab" in screen_text(app)
        await expect(pilot, GuestScreen, "escape")  # cancelled: still there
        await expect(pilot, ApplyScreen, "u", "y")
        assert "Undo finished" in screen_text(app)
        await press(pilot, "n")
        await settle(pilot)
        assert "Press u to undo the earlier apply" not in screen_text(app)
    with open(fstab) as fh:
        assert "/dev/hda3" in fh.read()


@aio
async def test_no_undo_binding_without_a_journal(rhel):
    async with wizard(rhel) as (app, pilot):
        assert "Undo" not in screen_text(app)
        await expect(pilot, GuestScreen, "u")


@aio
async def test_cancel_at_confirm_writes_nothing(rhel):
    before = tree_hashes(rhel.root)
    async with wizard(rhel, to="confirm") as (app, pilot):
        assert isinstance(app.screen, ConfirmApply)
        assert app.screen.focused is not None and app.screen.focused.id == "cancel"
        await press(pilot, "enter")  # Enter on the default focus: Cancel
        assert isinstance(app.screen, PreviewScreen)
        await expect(pilot, PreviewScreen, "a", "escape")
        await expect(pilot, PreviewScreen, "a", "n")
    assert tree_hashes(rhel.root) == before


@aio
async def test_ctrl_q_quits_anywhere_without_writing(rhel):
    before = tree_hashes(rhel.root)
    async with wizard(rhel, to="confirm") as (app, pilot):
        await press(pilot, "ctrl+q")
    assert app.return_code in (0, None)
    assert not app.is_running
    assert tree_hashes(rhel.root) == before


@aio
async def test_escape_goes_back_step_by_step(rhel):
    async with wizard(rhel, to="preview") as (app, pilot):
        assert isinstance(app.screen, PreviewScreen)
        await expect(pilot, DriversScreen, "escape")
        await expect(pilot, PathScreen, "escape")
        await expect(pilot, GuestScreen, "escape")
        # Facts are kept: no second detection.
        assert "Red Hat Enterprise Linux Server 5.2" in screen_text(app)


# ---- failure while applying -------------------------------------------------------


class FailingTarget(DemoTarget):
    """A demo guest whose grub.conf cannot be written (think: disk full, EIO)."""

    def write_file(self, path, data, mode=None, uid=None, gid=None):
        if path.endswith("grub.conf"):
            raise OSError(28, "No space left on device", path)
        return super().write_file(path, data, mode, uid, gid)


@aio
async def test_failed_apply_stops_and_offers_undo(rhel):
    before = tree_hashes(rhel.root)
    target = FailingTarget(rhel.root)
    async with wizard(target, to="apply") as (app, pilot):
        assert isinstance(app.screen, ApplyScreen)
        text = screen_text(app)
        assert "Stopped:" in text
        assert "[!]" in text
        assert "u Undo" in text
        assert "Press u to undo" in text
        await expect(pilot, ConfirmUndo, "u")
        await press(pilot, "y")
        assert "Undo finished" in screen_text(app)
    after = tree_hashes(rhel.root)
    # The journal and its backups stay (undo marks the journal undone).
    assert {k: after.get(k) for k in before} == before


@aio
async def test_apply_refused_by_the_core_is_shown(rhel):
    class Refuses(Engine):
        def apply(self, target, plan, on_event):
            from virtio_wizard.apply.preflight import StaleFileError

            raise StaleFileError("/etc/fstab")

    async with wizard(rhel, to="apply", engine=Refuses()) as (app, pilot):
        text = screen_text(app)
        assert "Stopped: /etc/fstab changed since the plan was made" in text


# ---- Undo asks first ----------------------------------------------------------


@aio
async def test_undo_from_done_cancelled_writes_nothing_and_stays_on_done(rhel):
    async with wizard(rhel, to="done") as (app, pilot):
        assert isinstance(app.screen, DoneScreen)
        applied = tree_hashes(rhel.root)
        await expect(pilot, ConfirmUndo, "u")
        assert "y Yes, undo" in screen_text(app)
        await press(pilot, "enter")  # Enter on the default focus: Cancel
        assert isinstance(app.screen, DoneScreen)
        await expect(pilot, DoneScreen, "u", "n")
        await expect(pilot, DoneScreen, "u", "escape")
        assert "Verified" in screen_text(app)
    assert tree_hashes(rhel.root) == applied


@pytest.mark.parametrize(
    "answer, shown",
    [
        (None, "Nothing to undo. Nothing will be changed."),
        (OSError(13, "Permission denied"), "The journal could not be read: [Errno 13]"),
    ],
)
@aio
async def test_undo_confirm_without_a_journal_cannot_be_confirmed(rhel, answer, shown):
    class NoJournal(Engine):
        def undoable_journal(self, target):
            if isinstance(answer, Exception):
                raise answer
            return answer

        def undo(self, target, on_event):
            raise AssertionError("undo must not run")

    async with wizard(rhel, engine=NoJournal()) as (app, pilot):
        app.push_screen(ConfirmUndo(rhel, app.engine, "demo guest"))
        await settle(pilot)
        text = screen_text(app)
        assert shown in text
        assert "Yes, undo" not in text  # the binding and the button are hidden
        assert not app.screen.query_one("#undo").display
        await expect(pilot, ConfirmUndo, "y")
        await expect(pilot, GuestScreen, "escape")


@aio
async def test_preview_notes_say_where_in_the_wizard_a_choice_is_made(rhel):
    async with wizard(rhel, to="drivers", method="sysinit") as (app, pilot):
        await pick(pilot, "sysinit-0")  # the guide's rc.sysinit, not the recommended file
        await settle(pilot)
        await expect(pilot, PreviewScreen, "n")
        notes = " ".join(static_text(app.screen.query_one("#plan")).split())
        assert "In the wizard: pick /etc/sysconfig/modules/virtio.modules under 'File to" in notes
        assert "--sysinit-file" not in notes and "untick 'Rewrite /dev/hdX" not in notes


@aio
async def test_sysinit_defaults_are_the_wizards_own_recommendations(rhel):
    """Issue 11.2: the preselected file is the recommended one; no note asks to undo a default."""
    async with wizard(rhel, to="drivers", method="sysinit") as (app, pilot):
        recommended = [
            r
            for r in app.screen.query("#sysinit-file RadioButton")
            if "(recommended here)" in str(r.label)
        ]
        assert len(recommended) == 1 and recommended[0].value is True
        assert app.screen.plan.choices.sysinit_file == "/etc/sysconfig/modules/virtio.modules"
        await expect(pilot, PreviewScreen, "n")
        assert "In the wizard:" not in static_text(app.screen.query_one("#plan"))


@aio
async def test_apply_log_wraps_with_a_hanging_indent(rhel):
    async with wizard(rhel, to="apply") as (app, pilot):
        lines = screen_text(app).split("\n")
        start = next(i for i, line in enumerate(lines) if "= journal: " in line)
        assert lines[start + 1].startswith("   ")  # under the text, not the margin
        assert "(in the wizard: press u on the Done screen" in screen_text(app)


@aio
async def test_sysinit_path_keeps_the_names_of_a_boot_disk_that_stays_emulated(rhel):
    """Issue 11.1: n, Down, Space (sysinit), n on rhel52 must not rename /dev/hda.

    rhel52 has one disk; on the sysinit path it stays on IDE, so renaming
    /boot, swap and resume= to vda would point them at a device that does not
    exist after the switch. Ticking the rename box by hand is refused.
    """
    from textual.widgets import Checkbox

    async with wizard(rhel) as (app, pilot):
        await expect(pilot, DriversScreen, "n", "down", "space", "n")
        assert app.screen.choices.boot_disk == "emulated"
        box = app.screen.query_one("#fix-names", Checkbox)
        assert box.value is False
        plan = app.screen.plan
        assert plan is not None and not plan.refused
        assert all(step.path != "/etc/fstab" for step in plan.steps)
        assert "/dev/vda" not in "".join(step.diff for step in plan.steps)
        # Ticked by hand, the core refuses and Next stays blocked.
        box.value = True
        await settle(pilot)
        assert app.screen.plan.refused
        assert [f.id for f in app.screen.plan.refusals] == ["disk-names-stay-emulated"]
        assert "Next is blocked:" in screen_text(app)
        await expect(pilot, DriversScreen, "n")
        box.value = False
        await settle(pilot)
        await expect(pilot, PreviewScreen, "n")
        text = static_text(app.screen.query_one("#plan"))
        assert "edit /etc/fstab" not in text and "/dev/vda" not in text
        # Moving the boot disk to virtio ticks the rename again (then sysinit is refused).
        await expect(pilot, DriversScreen, "escape")
        await pick(pilot, "boot-virtio")
        await settle(pilot)
        assert app.screen.query_one("#fix-names", Checkbox).value is True


@aio
async def test_preview_at_80_columns_keeps_diff_markers_and_continues_commands(rhel):
    """Issue 11.5: rhel52's fstab lines and mkinitrd argv fold with a marker on each line."""
    async with wizard(rhel, to="preview") as (app, pilot):
        assert isinstance(app.screen, PreviewScreen)
        body = app.screen.query_one("#plan")
        lines = [ln.rstrip() for ln in static_text(body).split("\n")]
        in_diff = False
        for line in lines:
            if line.startswith("   @@"):
                in_diff = True
            elif not line.startswith("   ") or line.startswith("   $"):
                in_diff = False
            if in_diff and line:
                assert line[3] in "+- @", line  # every visual line of a diff has its marker
        assert any(ln.startswith(("   +> ", "   -> ")) for ln in lines)
        command = next(i for i, ln in enumerate(lines) if ln.startswith("   $ mkinitrd"))
        assert lines[command].endswith(" \\")
        assert lines[command + 1].startswith("       --with=")
