"""Pilot tests: the wizard driven by keyboard only, at 80x24, on demo copies.

Every path a user can take: initrd and sysinit, block/net/both, the plan's
refusal blocking Next, Cancel at the confirmation (nothing written: file
hashes compared), apply then undo (byte-identical files), a failing apply
offering Undo, the report, Troubleshooting from every step, and quitting.
"""

from __future__ import annotations

import os

import pytest
from tui_pilot import (
    SIZE,
    aio,
    expect,
    press,
    screen_text,
    settle,
    static_text,
    tree_hashes,
    wait_until,
    wizard,
)

from virtio_wizard.demo import open_demo
from virtio_wizard.targets import LocalTarget
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
from virtio_wizard.tui.screens.report import ReportScreen
from virtio_wizard.tui.screens.troubleshoot import TroubleshootScreen

pytestmark = pytest.mark.tui


async def pick(pilot, radio_id: str) -> None:
    """Select a radio button by keyboard: Tab to its set, Up/Down to it, Space."""
    from textual.widgets import RadioSet

    screen = pilot.app.screen
    button = screen.query_one(f"#{radio_id}")
    radio_set = button.parent
    assert isinstance(radio_set, RadioSet)
    for _ in range(15):
        if screen.focused is radio_set:
            break
        await pilot.press("tab")
    assert screen.focused is radio_set, f"Tab never reached {radio_set.id}"
    buttons = list(radio_set.query("RadioButton"))
    target = buttons.index(button)
    current = radio_set._selected or 0
    key = "down" if target > current else "up"
    for _ in range(abs(target - current)):
        await pilot.press(key)
    await press(pilot, "space")
    assert button.value, f"{radio_id} not selected"


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
        assert "2.6.18-92.el5 *" in text and "module" in text
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
    import threading

    from virtio_wizard.tui.app import EARLY_WAIT

    gate = threading.Event()

    class SlowDetect(Engine):
        def detect(self, target, progress=None):
            gate.wait(5)
            return super().detect(target, progress)

    app = make_app(rhel, label="demo guest", engine=SlowDetect())
    async with app.run_test(size=SIZE) as pilot:
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
    import threading

    gate = threading.Event()

    class SlowInitrd(Engine):
        def with_initrds(self, target, facts):
            gate.wait(5)
            return super().with_initrds(target, facts)

    app = make_app(rhel, label="demo guest", engine=SlowInitrd())
    async with app.run_test(size=SIZE) as pilot:
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
        # The fix names CLI flags; the wizard says where that choice is made.
        assert "(in the wizard: choose initrd on the Path step" in text
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
        assert "Auto-load   yes" in text


# ---- failure while applying -------------------------------------------------------


class FailingTarget(LocalTarget):
    """A guest whose grub.conf cannot be written (think: disk full, EIO)."""

    def write_file(self, path, data, mode=None, uid=None, gid=None):
        if path.endswith("grub.conf"):
            raise OSError(28, "No space left on device", path)
        return super().write_file(path, data, mode, uid, gid)


@aio
async def test_failed_apply_stops_and_offers_undo(rhel):
    before = tree_hashes(rhel.root)
    target = FailingTarget(rhel.root, can_run=False, kind="demo")
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
            assert "fix:" in text
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
async def test_sysinit_without_rc_sysinit_uses_the_recommended_file():
    """Debian has no rc.sysinit: the path is judged (and preselected) with /etc/modules."""
    target = open_demo("debian12")
    async with wizard(target) as (app, pilot):
        await press(pilot, "n")
        assert not app.screen.query_one("#method-sysinit").disabled
        await expect(pilot, DriversScreen, "down", "space", "n")
        assert app.screen.choices.sysinit_file == "/etc/modules"
        assert "/etc/modules (recommended here)" in screen_text(app)


@aio
async def test_ctrl_q_waits_while_apply_writes(rhel):
    import threading

    gate = threading.Event()

    class Slow(Engine):
        def apply(self, target, plan, on_event):
            gate.wait(10)
            return super().apply(target, plan, on_event)

    async with wizard(rhel, to="confirm", engine=Slow()) as (app, pilot):
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
async def test_preview_says_where_the_notes_flags_are_in_the_wizard(rhel):
    async with wizard(rhel, to="drivers", method="sysinit") as (app, pilot):
        await pick(pilot, "sysinit-0")  # the guide's rc.sysinit, not the recommended file
        await settle(pilot)
        await expect(pilot, PreviewScreen, "n")
        terms = static_text(app.screen.query_one("#wizard-terms"))
        assert "The notes below name command-line flags; in the wizard:" in terms
        assert "pick /etc/sysconfig/modules/virtio.modules under 'File to load" in terms
        assert "untick 'Rewrite /dev/hdX" not in terms


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
        assert not app.screen.query("#wizard-terms") or "in the wizard:" not in static_text(
            app.screen.query_one("#wizard-terms")
        )


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
