"""The TUI's pure helpers: fact and plan views, header fitting, report paths, events."""

from __future__ import annotations

import os

import pytest
from rich.console import Console

from virtio_wizard.facts import Facts, Kernel, TargetInfo
from virtio_wizard.finding import ERROR, INFO, WARNING, Finding, Remedy, choose
from virtio_wizard.plan.model import Choices, Plan, Step
from virtio_wizard.tui.screens.apply import event_fields
from virtio_wizard.tui.screens.done import host_steps
from virtio_wizard.tui.screens.report import report_paths
from virtio_wizard.tui.widgets import facts_view as fv
from virtio_wizard.tui.widgets.header import fit_label
from virtio_wizard.tui.widgets.plan_view import written_paths

pytestmark = pytest.mark.tui


def text_of(renderable, width: int = 80) -> str:
    with open(os.devnull, "w") as sink:
        console = Console(width=width, record=True, file=sink, color_system=None)
        console.print(renderable)
        return console.export_text()


def facts(**kw) -> Facts:
    return Facts(
        target=TargetInfo(kind=kw.pop("kind", "root"), root="/g", live=kw.pop("live", False)), **kw
    )


def test_loaded_modules_offline_live_and_builtin():
    assert "offline guest" in text_of(fv.loaded_text(facts()))
    live = facts(kind="local", live=True, loaded_modules=("virtio_net", "e1000"))
    assert "virtio_net" in text_of(fv.loaded_text(live))
    assert "e1000" not in text_of(fv.loaded_text(live))
    builtin = facts(kind="local", live=True, virtio_bus_drivers=("virtio_blk",))
    out = " ".join(text_of(fv.loaded_text(builtin)).split())
    assert "no /proc/modules" in out and "virtio bus drivers: virtio_blk" in out


def test_kernel_table_says_module_builtin_missing_and_initrd_state():
    k = Kernel(
        "2.6.18-92.el5",
        running=True,
        initrd="/boot/initrd-2.6.18-92.el5.img",
        virtio={"virtio": "module", "virtio_ring": "builtin", "virtio_blk": "missing"},
    )
    out = text_of(fv.kernels_table(facts(kernels=(k,)), initrds_read=False))
    assert "2.6.18-92.el5" in out and "(running)" in out
    assert "m module, y built in, - missing" in out
    assert out.splitlines()[2].split()[2:7] == ["m", "y", "-", "-", "-"]
    assert "reading..." in out
    done = text_of(fv.kernels_table(facts(kernels=(k,)), initrds_read=True))
    assert "not read" in done
    none = text_of(fv.kernels_table(facts(), initrds_read=True))
    assert "No installed kernel found" in none


def test_findings_worst_first_with_fix_and_source():
    found = [
        Finding("a", INFO, "an info"),
        Finding("b", ERROR, "an error", remedy=Remedy("do this"), source="the seed"),
        Finding("c", WARNING, "a warning"),
    ]
    out = text_of(fv.findings_text(found))
    assert out.index("ERROR") < out.index("WARN") < out.index("info")
    assert "Fix: do this" in out and "[b] the seed" in out
    assert "No problems found." in text_of(fv.findings_text([]))


def test_fit_label_keeps_both_ends():
    assert fit_label("short", 10) == "short"
    cut = fit_label("guest root /srv/images/centos5/mnt", 20)
    assert cut == "guest roo...tos5/mnt"
    assert fit_label("abc", 0) == ""


def test_report_paths():
    assert report_paths("x.md") == ("x.md", "x.json")
    assert report_paths(" ticket ") == ("ticket.md", "ticket.json")
    assert report_paths("~/r.md")[0] == os.path.expanduser("~/r.md")


def test_event_fields_from_objects_and_dicts():
    from virtio_wizard.apply.events import ApplyEvent

    assert event_fields(ApplyEvent("step-done", 2, "wrote /etc/fstab")) == (
        "step-done",
        2,
        "wrote /etc/fstab",
    )
    assert event_fields({"kind": "note", "index": None, "text": "x"}) == ("note", None, "x")


def test_written_paths_lists_edits_backups_and_images_once():
    plan = Plan(
        choices=Choices(),
        steps=(
            Step("backup", "", path="/boot/i.img", to="/boot/i.img.virtio.orig"),
            Step("command", "", argv=("mkinitrd",), image="/boot/i.img"),
            Step("edit", "", path="/etc/fstab"),
            Step("edit", "", path="/etc/fstab"),
        ),
    )
    assert written_paths(plan) == ["/boot/i.img.virtio.orig", "/boot/i.img", "/etc/fstab"]


def test_host_steps_only_for_the_network_driver():
    gso = Finding("gso-tso", INFO, "slow?", remedy=Remedy("ethtool -K IFACE gso off"))
    net = Plan(choices=Choices(block=True, net=True))
    block = Plan(choices=Choices(block=True, net=False))
    assert host_steps(net, [gso]) == ["ethtool -K IFACE gso off"]
    assert host_steps(block, [gso]) == []


# ---- remedies: the wizard names the control where the CLI names the flag ----------------


def test_wizard_words_every_choice_a_remedy_can_name():
    """Each choice of ``finding.CHOICES`` has its place on screen, per value."""
    from virtio_wizard.finding import CHOICES
    from virtio_wizard.tui.wizard_terms import WHERE, in_the_wizard

    assert set(WHERE) == set(CHOICES)
    remedy = Remedy("", (choose(method="initrd"), choose(boot_disk="emulated")))
    assert in_the_wizard(remedy) == [
        "choose initrd on the Path step (Esc goes back to it)",
        "set Boot disk to 'stays emulated' on the Drivers step",
    ]
    rec = Remedy("", (choose(sysinit_file="/etc/sysconfig/modules/virtio.modules"),))
    assert in_the_wizard(rec) == [
        "pick /etc/sysconfig/modules/virtio.modules under 'File to load them from' "
        "on the Drivers step (sysinit path)"
    ]
    said = {
        choose(sysinit_file=""): "pick another file under",
        choose(fix_disk_names=False): "untick 'Rewrite",
        choose(fix_disk_names=True): "tick 'Rewrite",
        choose(use_uuid=True): "tick 'Write UUID=",
        choose(use_uuid=False): "untick 'Write UUID=",
        choose(kernel="2.6.18-92.el5"): "choose 2.6.18-92.el5 under 'Kernel'",
        choose(root=""): "quit (Ctrl+Q) and start the wizard again with --root DIR",
        choose(drivers="block,net"): "choose 'Block and network' under Drivers on the Drivers step",
        choose(method="sysinit", boot_disk="emulated"): "choose sysinit on the Path step (Esc "
        "goes back to it) and set Boot disk to 'stays emulated'",
    }
    for option, words in said.items():
        (line,) = in_the_wizard(Remedy("", (option,)))
        assert line.startswith(words), (option, line)
    assert in_the_wizard(Remedy("Nothing to edit there; reboot after apply.")) == []


def test_a_setting_is_checked_against_its_choice():
    import pytest

    with pytest.raises(ValueError, match="unknown choice"):
        choose(boot_loader="grub")
    with pytest.raises(ValueError, match="takes a bool"):
        choose(use_uuid="yes")


def test_wizard_terms_doctests():
    import doctest

    from virtio_wizard.tui import wizard_terms
    from virtio_wizard.tui.screens import confirm_undo

    for module in (wizard_terms, confirm_undo):
        failed, tried = doctest.testmod(module)
        assert tried > 0 and failed == 0, module.__name__


def test_findings_text_says_where_in_the_wizard_a_choice_is_made():
    with_choice = Finding(
        "sysinit-no-boot-disk",
        ERROR,
        "Too late for the boot disk.",
        Remedy("Load the drivers from the initrd.", (choose(method="initrd"),)),
    )
    plain = Finding("gso-tso", WARNING, "Slow network.", Remedy("ethtool -K IFACE gso off"))
    text = " ".join(text_of(fv.findings_text([with_choice, plain]), width=200).split())
    assert "In the wizard: choose initrd on the Path step" in text
    assert text.count("In the wizard") == 1 and "--method" not in text


def test_log_line_wraps_under_its_text_not_its_mark():
    from virtio_wizard.tui.screens.apply import log_line

    long = "restored /boot/grub/grub.conf from " + "/var/lib/virtio-wizard/backups/x" * 3
    lines = text_of(log_line("- ", long), width=40).rstrip("\n").split("\n")
    assert lines[0].startswith("- restored")
    assert len(lines) > 1 and all(line.startswith("  ") for line in lines[1:])


def test_undo_paths_reads_what_undo_restores_and_removes():
    from virtio_wizard.tui.screens.confirm_undo import undo_paths

    journal = {
        "steps": [
            {"kind": "backup", "changed": True, "to": "/boot/i.img.virtio.orig", "created": True},
            {
                "kind": "command",
                "changed": True,
                "image": {"path": "/boot/i.img", "before_sha256": "ab"},
            },
            {"kind": "edit", "changed": True, "path": "/etc/fstab", "backup": {"path": "b"}},
            {"kind": "edit", "changed": True, "path": "/etc/new.conf", "backup": None},
            {"kind": "edit", "changed": False, "status": "skipped", "path": "/etc/untouched"},
        ]
    }
    restored, removed = undo_paths(journal)
    assert restored == ["/boot/i.img", "/etc/fstab"]
    assert removed == ["/boot/i.img.virtio.orig", "/etc/new.conf"]
