"""A remedy is data; the command line and the wizard each word it their own way."""

from __future__ import annotations

import doctest

import pytest

from virtio_wizard.finding import Finding, Remedy, Setting, choose
from virtio_wizard.present import remedy as present_remedy
from virtio_wizard.present.findings import finding_words
from virtio_wizard.present.remedy import cli_fix, flag
from virtio_wizard.tui.wizard_terms import wizard_fix

BOTH = Remedy(
    "Load the drivers from the initrd, or keep the boot disk emulated.",
    (choose(method="initrd"), choose(method="sysinit", boot_disk="emulated")),
)


def test_the_command_line_names_flags_and_the_wizard_names_controls() -> None:
    assert cli_fix(BOTH) == (
        "Load the drivers from the initrd, or keep the boot disk emulated. "
        "Command line: --method initrd or --method sysinit --boot-disk emulated."
    )
    wizard = wizard_fix(BOTH)
    assert wizard.startswith("Load the drivers from the initrd, or keep the boot disk emulated.")
    assert "In the wizard: choose initrd on the Path step" in wizard
    assert "--" not in wizard


@pytest.mark.parametrize(
    "setting, words",
    [
        (Setting("fix_disk_names", True), "--fix-disk-names"),
        (Setting("fix_disk_names", False), "--keep-disk-names"),
        (Setting("use_uuid", True), "--use-uuid"),
        (Setting("use_uuid", False), "without --use-uuid"),
        (Setting("kernel", "2.6.18-92.el5"), "--kernel 2.6.18-92.el5"),
        (Setting("kernel"), "--kernel KVER"),
        (Setting("sysinit_file", "/etc/rc.modules"), "--sysinit-file /etc/rc.modules"),
        (Setting("root"), "--root DIR"),
        (Setting("root", "/mnt/my guest"), "--root '/mnt/my guest'"),
        (Setting("boot_disk", "emulated"), "--boot-disk emulated"),
        (Setting("drivers", "block,net"), "--drivers block,net"),
    ],
)
def test_flag_of_each_setting(setting: Setting, words: str) -> None:
    assert flag(setting) == words


def test_a_command_is_shown_whole_and_pasteable() -> None:
    r = Remedy("Rebuild the module list.", command=("depmod", "-a", "2.6.18 x"))
    assert cli_fix(r) == "Rebuild the module list. Run: depmod -a '2.6.18 x'"
    assert wizard_fix(r) == cli_fix(r)


def test_a_remedy_round_trips_through_json() -> None:
    finding = Finding("x", "error", "m", BOTH, "s")
    assert Finding.from_dict(finding.to_dict()) == finding
    assert not Remedy() and Remedy("words") and Remedy(command=("true",))


def test_finding_words_are_the_same_lines_in_every_face() -> None:
    words = finding_words(
        Finding("pci-slots", "warning", "Few slots left.", BOTH, "guide"), cli_fix
    )
    assert (words.severity, words.message, words.ref) == (
        "WARN",
        "Few slots left.",
        "[pci-slots] guide",
    )
    assert words.fix.startswith("Fix: Load the drivers")
    assert finding_words(Finding("a", "info", "m"), cli_fix).fix == ""


def test_doctests() -> None:
    failed, tried = doctest.testmod(present_remedy)
    assert tried > 0 and failed == 0
