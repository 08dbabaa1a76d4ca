"""The one preview renderer: text (plain, colour, ASCII) and Rich, same lines."""

from __future__ import annotations

import shlex
from dataclasses import replace

import pytest
from rich.console import Console

from tests.plan_fixtures import IMAGE, KVER, RC_SYSINIT, facts, make, ref
from virtio_wizard.finding import Finding, Remedy
from virtio_wizard.plan import Choices, Plan, Step
from virtio_wizard.preview import (
    NOTHING_TO_DO,
    command_line,
    render_rich,
    render_text,
    styled_lines,
)
from virtio_wizard.tui.wizard_terms import wizard_fix

FSTAB = "/dev/hda1 /boot ext3 defaults 1 2\n/dev/hda3 swap swap defaults 0 0\n"


def full_plan() -> Plan:
    refs = (ref("/etc/fstab", 2, "/dev/hda3", "/dev/vda3", context="fstab"),)
    return make(facts(disk_refs=refs), {"/etc/fstab": FSTAB.encode()}, method="initrd")


def test_steps_are_numbered_with_why_diff_and_command():
    text = render_text(full_plan())
    assert text.startswith(
        f"Plan for /guest: method initrd, drivers block,net, kernel {KVER}\n"
        "Modules, in load order: virtio virtio_ring virtio_blk virtio_net virtio_pci\n"
    )
    # Renames first: the rebuilt image copies the root and resume= names.
    assert "1. edit /etc/fstab, mode kept\n" in text
    assert f"2. back up {IMAGE} to {IMAGE}.virtio.orig\n" in text
    assert f"   $ cp -p {IMAGE} {IMAGE}.virtio.orig\n" in text
    assert "3. run in the guest\n" in text
    assert (
        "   $ mkinitrd -f --with=virtio --with=virtio_ring --with=virtio_blk --with=virtio_net "
        f"--with=virtio_pci {IMAGE}.virtio-wizard.new {KVER}\n"
    ) in text
    assert (
        f"   then check {IMAGE}.virtio-wizard.new holds: virtio virtio_ring virtio_blk "
        f"virtio_net virtio_pci, and rename it over {IMAGE}\n"
    ) in text
    assert "   why: name the disks as virtio shows them: /dev/hda3 -> /dev/vda3\n" in text
    assert "   --- a/etc/fstab\n   +++ b/etc/fstab\n" in text
    assert "   -/dev/hda3 swap swap defaults 0 0\n   +/dev/vda3 swap swap defaults 0 0\n" in text
    assert text.isascii() and "\x1b" not in text


def test_created_file_and_latin1_are_said():
    p = make(
        facts(),
        {"/etc/rc.modules": None},
        method="sysinit",
        block=False,
        sysinit_file="/etc/rc.modules",
    )
    assert "1. create /etc/rc.modules, mode 0755\n" in render_text(p)
    latin = RC_SYSINIT.replace("/dev/pts", "/dev/pts # d\xe9j\xe0").encode("latin-1")
    p = make(facts(), {"/etc/rc.d/rc.sysinit": latin}, method="sysinit", block=False)
    assert "1. edit /etc/rc.d/rc.sysinit, mode kept (latin-1)\n" in render_text(p)
    assert "# d\\xe9j\\xe0" in render_text(p, ascii=True)
    assert "# d\xe9j\xe0" in render_text(p)


def test_refusals_come_first_with_their_fix_and_no_steps():
    p = make(facts(), {}, method="initrd", kernel="9.9.9")
    text = render_text(p)
    lines = text.splitlines()
    assert lines[2] == "REFUSED: nothing will be changed."
    assert lines[3].startswith("  [kernel-unknown] Kernel 9.9.9 is not installed")
    assert lines[4] == "    fix: Choose one of the installed kernels. Command line: --kernel KVER."
    assert "Steps" not in text and NOTHING_TO_DO not in text
    # Each face words the remedy: the wizard names its control, not the flag.
    rich = " ".join(t.plain for t in render_rich(p, fix_words=wizard_fix).renderables)
    assert "In the wizard: choose the kernel under 'Kernel' on the Drivers step." in rich
    assert "--kernel" not in rich


def test_notes_are_shown_with_severity():
    refs = (ref("/etc/fstab", 1, "/dev/sda1", "/dev/vdb1", context="fstab", guessed=True),)
    p = make(
        facts(disk_refs=refs), {"/etc/fstab": b"/dev/sda1 / ext3 defaults 1 1\n"}, method="initrd"
    )
    assert "  warning: [disk-order-guessed] The new names are a guess" in render_text(p)


def test_nothing_to_do():
    p = Plan(Choices(), target={"kind": "root", "root": "/g"}, kernel=KVER)
    assert render_text(p).endswith("\n" + NOTHING_TO_DO + "\n")


def test_color_wraps_diff_lines_in_ansi():
    text = render_text(full_plan(), color=True)
    assert "\x1b[32m   +/dev/vda3 swap swap defaults 0 0\x1b[0m" in text
    assert "\x1b[31m   -/dev/hda3 swap swap defaults 0 0\x1b[0m" in text


def test_guest_control_bytes_are_shown_not_sent():
    diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\x1b[2J\r\n+b\r\n"
    step = Step(kind="edit", why="w", path="/x", old_sha256="0" * 64, new_text="b\r\n", diff=diff)
    text = render_text(Plan(Choices(), steps=(step,)))
    assert "\x1b" not in text and "\r" not in text
    assert "   -a\\x1b[2J\n" in text


def test_command_line_quotes_and_refuses_edits():
    assert command_line(Step(kind="command", why="", argv=("dracut", "-f", "/boot/a b.img"))) == (
        "dracut -f '/boot/a b.img'"
    )
    assert command_line(Step(kind="backup", why="", path="/b/i", to="/b/i.virtio.orig")) == (
        "cp -p /b/i /b/i.virtio.orig"
    )
    with pytest.raises(ValueError, match="an edit step has no command line"):
        command_line(Step(kind="edit", why="", path="/etc/fstab"))


def test_rich_rendering_has_the_same_lines_and_colours_diffs():
    p = full_plan()
    group = render_rich(p)
    texts = list(group.renderables)
    assert [t.plain for t in texts] == [line for line, _ in styled_lines(p)]
    plus = next(t for t in texts if t.plain.startswith("   +/dev/vda3"))
    assert str(plus.style) == "green"
    console = Console(width=200, record=True, color_system=None)
    console.print(group)
    assert console.export_text() == render_text(p)


def test_rich_rendering_folds_prose_with_the_hanging_indent_of_render_text():
    long = "a refusal long enough to need two or three lines at sixty columns of width " * 2
    p = Plan(
        Choices(),
        findings=(
            Finding("x-err", "error", long, Remedy("do " + long)),
            Finding("x-n", "info", long),
        ),
        target={"kind": "root", "root": "/g"},
    )
    console = Console(width=60, record=True, color_system=None)
    console.print(render_rich(p))
    text = console.export_text()
    assert text == render_text(p, width=60)
    assert "\n    a refusal" not in text and "\n         " in text  # fix lines hang at 9


def test_refused_plan_findings_are_rendered_even_with_notes():
    f_err = Finding("x-err", "error", "bad", Remedy("do this"))
    f_info = Finding("x-info", "info", "fyi")
    text = render_text(Plan(Choices(), findings=(f_info, f_err)))
    assert text.index("REFUSED") < text.index("Notes:")
    assert "  info: [x-info] fyi\n" in text


def test_at_80_columns_every_line_fits_diffs_keep_their_marker_commands_continue():
    """Issue 11.5: a folded fstab line read ' 1 2' at column 1, with no marker."""
    long_fstab = (
        "/dev/hda3 swap swap defaults,noatime,nodiratime,errors=remount-ro,user_xattr 0 0\n"
    )
    refs = (ref("/etc/fstab", 1, "/dev/hda3", "/dev/vda3", context="fstab"),)
    p = make(facts(disk_refs=refs), {"/etc/fstab": long_fstab.encode()}, method="initrd")
    f = Finding("x-note", "info", "word " * 40, Remedy("fix " * 30), "src")
    p = Plan(p.choices, steps=p.steps, findings=(*p.findings, f), target=p.target)
    text = render_text(p, width=80)
    lines = text.split("\n")
    assert all(len(ln) <= 80 for ln in lines)
    # The diff line and its continuation both carry the marker.
    plus = lines.index(
        "   +/dev/vda3 swap swap defaults,noatime,nodiratime,errors=remount-ro,user_xattr"
    )
    assert lines[plus + 1] == "   +> 0 0"
    minus = [ln for ln in lines if ln.startswith("   -/dev/hda3")]
    assert len(minus) == 1 and lines[lines.index(minus[0]) + 1] == "   -> 0 0"
    # The command is shell-continued and pastes back as the same argv.
    start = next(i for i, ln in enumerate(lines) if ln.startswith("   $ mkinitrd"))
    end = next(i for i in range(start, len(lines)) if not lines[i].endswith(" \\"))
    assert end > start
    assert all(ln.startswith("       ") for ln in lines[start + 1 : end + 1])
    step = next(s for s in p.steps if s.kind == "command")
    pasted = " ".join(ln.removesuffix(" \\").strip() for ln in lines[start : end + 1])
    assert shlex.split(pasted.removeprefix("$ ")) == list(step.argv)
    note = text.index("  info: [x-note] word")
    assert text[note:].split("\n")[1].startswith("    word")  # hanging indent
    # A pipe gets one line per item, as before.
    assert (
        "   +/dev/vda3 swap swap defaults,noatime,nodiratime,errors=remount-ro,user_xattr 0 0\n"
        in (render_text(p))
    )


def test_rich_rendering_folds_diffs_and_commands_as_render_text_does():
    long_fstab = "/dev/hda3 swap swap defaults,noatime,nodiratime,errors=remount-ro 0 0\n"
    refs = (ref("/etc/fstab", 1, "/dev/hda3", "/dev/vda3", context="fstab"),)
    p = make(facts(disk_refs=refs), {"/etc/fstab": long_fstab.encode()}, method="initrd")
    console = Console(width=60, record=True, color_system=None)
    console.print(render_rich(p))
    assert console.export_text() == render_text(p, width=60)


def test_terminal_width_only_for_a_terminal_or_columns(monkeypatch):
    from virtio_wizard.preview import terminal_width

    monkeypatch.delenv("COLUMNS", raising=False)
    assert terminal_width(False) is None
    monkeypatch.setenv("COLUMNS", "80")
    assert terminal_width(False) == 80
    monkeypatch.setenv("COLUMNS", "20")  # too narrow to fold usefully
    assert terminal_width(True) is None


def test_the_title_names_every_kernel_the_plan_prepares():
    """With every boot kernel prepared the title names them all, the default first."""
    plan = replace(full_plan(), kernels=(KVER, "2.6.18-128.el5"))
    assert render_text(plan).startswith(
        f"Plan for /guest: method initrd, drivers block,net, kernels {KVER}, 2.6.18-128.el5\n"
    )
    one = replace(full_plan(), kernels=(KVER,))
    assert render_text(one).startswith(
        f"Plan for /guest: method initrd, drivers block,net, kernel {KVER}\n"
    )
