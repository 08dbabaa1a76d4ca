"""The sysinit method: the seed's rc.sysinit edit and the cleaner files."""

from __future__ import annotations

import hashlib

import pytest

from tests.plan_fixtures import (
    HOOK,
    RC_HEAD,
    RC_SYSINIT,
    RC_TAIL,
    SEED_LINES,
    applied,
    facts,
    kernel,
    sysinit,
)
from virtio_wizard.facts import Distro, Sysinit
from virtio_wizard.finding import choose
from virtio_wizard.plan import Choices, GuestFiles
from virtio_wizard.plan.defaults import boot_disk_default
from virtio_wizard.plan.sysinit import find_hook
from virtio_wizard.plan.sysinit_files import offered_files, recommended_file
from virtio_wizard.present.remedy import cli_fix

RC = "/etc/rc.d/rc.sysinit"


def test_seed_edit_inserts_modprobes_after_the_block_byte_for_byte():
    files = {RC: RC_SYSINIT.encode()}
    p = sysinit(files, block=True, boot_disk="emulated")
    assert not p.refused
    assert p.modules == ("virtio", "virtio_ring", "virtio_blk", "virtio_net", "virtio_pci")
    (step,) = p.steps
    assert step.kind == "edit" and step.path == RC
    assert step.new_text == RC_HEAD + SEED_LINES + RC_TAIL
    assert step.old_sha256 == hashlib.sha256(RC_SYSINIT.encode()).hexdigest()
    assert step.encoding == "utf-8"
    assert step.mode is None  # unknown in a plain dict: apply keeps it
    assert step.diff.startswith("--- a/etc/rc.d/rc.sysinit\n+++ b/etc/rc.d/rc.sysinit\n")
    assert "+modprobe virtio_ring\n" in step.diff
    assert "in the required order" in step.why


def test_net_only_loads_three_modules():
    p = sysinit({RC: RC_SYSINIT.encode()})
    assert p.modules == ("virtio", "virtio_net", "virtio_pci")
    assert "modprobe virtio\nmodprobe virtio_net\nmodprobe virtio_pci\n" in p.steps[0].new_text
    assert "virtio_ring" not in p.steps[0].new_text


def test_mode_is_kept_when_known():
    files = GuestFiles({RC: RC_SYSINIT.encode()}, modes={RC: 0o755})
    assert sysinit(files).steps[0].mode == 0o755


def test_idempotent_when_all_lines_are_there():
    files = {RC: RC_SYSINIT.encode()}
    first = sysinit(files, block=True, boot_disk="emulated")
    again = sysinit(applied(first, files), block=True, boot_disk="emulated")
    assert not again.refused
    assert again.steps == ()


def test_missing_modules_are_inserted_in_order_among_existing_lines():
    net_only = RC_HEAD + "\nmodprobe virtio\nmodprobe virtio_net\nmodprobe virtio_pci\n" + RC_TAIL
    p = sysinit({RC: net_only.encode()}, block=True, boot_disk="emulated")
    (step,) = p.steps
    assert step.new_text == (
        RC_HEAD
        + "\nmodprobe virtio\nmodprobe virtio_ring\nmodprobe virtio_net\nmodprobe virtio_blk\n"
        "modprobe virtio_pci\n" + RC_TAIL
    )
    assert "virtio_ring, virtio_blk" in step.why


RHEL3_KVER = "2.4.21-58.EL"


def test_existing_lines_out_of_order_are_refused_on_a_24_kernel():
    """The RHEL 3 package's 2.4 kernel: the order is a hard rule (issue 14)."""
    bad = RC_HEAD + "\nmodprobe virtio_pci\nmodprobe virtio\n" + RC_TAIL
    rhel3 = facts(
        distro=Distro("rhel", "Red Hat Enterprise Linux ES", "3.9", "redhat"),
        kernels=(kernel(RHEL3_KVER),),
    )
    p = sysinit({RC: bad.encode()}, rhel3)
    assert p.refused and p.steps == ()
    (f,) = p.refusals
    assert f.id == "modules-out-of-order"
    assert f.message == (
        "/etc/rc.d/rc.sysinit (line 16) lists the virtio modules out of the guide's order; "
        "on this 2.4 kernel (the RHEL 3 virtio package) drivers loaded in another order "
        "do not work."
    )
    assert "virtio, virtio_ring, virtio_blk, virtio_net, virtio_pci" in cli_fix(f.remedy)


def test_existing_lines_out_of_order_are_kept_and_completed_on_26():
    """On 2.6+ another order works: warn, add what is missing, go on."""
    bad = RC_HEAD + "\nmodprobe virtio_pci\nmodprobe virtio\n" + RC_TAIL
    p = sysinit({RC: bad.encode()})
    assert not p.refused
    (note,) = [f for f in p.findings if f.id == "modules-order-tolerated"]
    assert note.severity == "warning" and "line 16" in note.message
    assert "still works" in note.message
    (step,) = p.steps
    # virtio_net goes before the first module loaded later (virtio_pci); lines kept.
    assert step.new_text == (
        RC_HEAD + "\nmodprobe virtio_net\nmodprobe virtio_pci\nmodprobe virtio\n" + RC_TAIL
    )


def test_crlf_file_keeps_crlf():
    text = RC_SYSINIT.replace("\n", "\r\n")
    p = sysinit({RC: text.encode()})
    new = p.steps[0].new_text
    assert "fi\r\n\r\nmodprobe virtio\r\nmodprobe virtio_net\r\nmodprobe virtio_pci\r\n" in new
    assert "\n" not in new.replace("\r\n", "")


def test_latin1_file_round_trips_exactly():
    head = RC_HEAD.replace("run once", "lanc\xe9 une fois").encode("latin-1")
    data = head + RC_TAIL.encode()
    p = sysinit({RC: data})
    step = p.steps[0]
    assert step.encoding == "latin-1"
    added = b"\nmodprobe virtio\nmodprobe virtio_net\nmodprobe virtio_pci\n"
    assert step.new_bytes() == head + added + RC_TAIL.encode()


def test_missing_final_newline_is_handled():
    text = RC_HEAD.rstrip("\n")
    p = sysinit({RC: text.encode()})
    added = "\n\nmodprobe virtio\nmodprobe virtio_net\nmodprobe virtio_pci\n"
    assert p.steps[0].new_text == text + added


def test_hook_found_by_content_when_the_line_number_is_stale():
    shifted = "# one more line\n" + RC_SYSINIT
    p = sysinit({RC: shifted.encode()}, facts(sysinit=Sysinit(hook_line=HOOK)))
    assert p.steps[0].new_text.startswith("# one more line\n" + RC_HEAD + "\nmodprobe virtio\n")
    assert find_hook(shifted.splitlines(), HOOK) == HOOK  # 0-based index of the moved fi


def test_hook_with_spaces_instead_of_tab_is_found():
    assert find_hook(["if [ -f /etc/rc.modules ]; then", "        /etc/rc.modules", "fi"]) == 2


def test_hook_missing_is_refused_naming_rc_modules():
    text = "#!/bin/bash\necho no hook here\n"
    p = sysinit({RC: text.encode()}, facts(sysinit=Sysinit(hook_line=None)))
    (f,) = p.refusals
    assert f.id == "sysinit-hook-missing"
    assert f.message == (
        "The block 'if [ -f /etc/rc.modules ]; then /etc/rc.modules fi' was not found in "
        "/etc/rc.d/rc.sysinit; Red Hat's virtualization guide puts the modprobe lines right "
        "after it, and "
        "without it /etc/rc.modules is never run either."
    )
    # /etc/rc.modules would never run without the block: not offered as the way out.
    assert "--sysinit-file" not in cli_fix(f.remedy)
    assert cli_fix(f.remedy).startswith("Load the drivers from the initrd, or restore the block")
    assert f.remedy.options == (choose(method="initrd"),)
    assert p.steps == ()


def test_hook_missing_offers_sysconfig_modules_when_rc_sysinit_runs_them():
    head, _, _ = RC_HEAD.partition("# Load modules (for backward")
    p = sysinit({RC: (head + RC_TAIL).encode()}, facts(sysinit=Sysinit(hook_line=None)))
    (f,) = p.refusals
    assert f.id == "sysinit-hook-missing"
    assert cli_fix(f.remedy).startswith(
        "Use /etc/sysconfig/modules/virtio.modules (run by /etc/rc.d/rc.sysinit) or load the "
        "drivers from the initrd"
    )
    assert f.remedy.options == (
        choose(sysinit_file="/etc/sysconfig/modules/virtio.modules"),
        choose(method="initrd"),
    )


def test_rc_modules_is_refused_when_rc_sysinit_never_runs_it():
    """Writing /etc/rc.modules without the seed's block would change nothing at boot."""
    head, _, _ = RC_HEAD.partition("# Load modules (for backward")
    files = {RC: (head + RC_TAIL).encode(), "/etc/rc.modules": None}
    p = sysinit(files, sysinit_file="/etc/rc.modules")
    (f,) = p.refusals
    assert f.id == "sysinit-file-not-run"
    assert f.message == (
        "/etc/rc.d/rc.sysinit on this guest never runs /etc/rc.modules, so modules loaded "
        "from it would not load at boot."
    )
    assert p.steps == ()


def test_sysconfig_modules_is_refused_when_rc_sysinit_has_no_loop():
    files = {
        RC: b"#!/bin/bash\nif [ -f /etc/rc.modules ]; then\n\t/etc/rc.modules\nfi\n",
        "/etc/sysconfig/modules/virtio.modules": None,
    }
    p = sysinit(files, sysinit_file="/etc/sysconfig/modules/virtio.modules")
    assert [f.id for f in p.refusals] == ["sysinit-file-not-run"]
    ok = sysinit(files, sysinit_file="/etc/rc.modules")
    assert not ok.refused and ok.steps[0].path == "/etc/rc.modules"


def test_scripts_are_written_when_there_is_no_rc_sysinit_to_ask():
    files = {RC: None, "/etc/rc.modules": None}
    p = sysinit(files, sysinit_file="/etc/rc.modules")
    assert not p.refused and p.steps[0].path == "/etc/rc.modules"


def test_no_rc_sysinit_is_refused_with_another_file_suggested():
    p = sysinit({RC: None}, facts(distro=Distro("rhel", "RHEL", "5.1", "redhat")))
    f = p.refusals[0]
    assert f.id == "sysinit-no-file"
    assert f.message == (
        "/etc/rc.d/rc.sysinit does not exist on this guest, so the edit has nowhere to go."
    )
    assert "/etc/sysconfig/modules/virtio.modules" in cli_fix(f.remedy)
    assert p.steps == ()


def test_boot_disk_on_virtio_is_refused_for_sysinit():
    p = sysinit({RC: RC_SYSINIT.encode()}, block=True, boot_disk="virtio")
    (f,) = p.refusals
    assert f.id == "sysinit-no-boot-disk"
    assert "cannot move to virtio" in f.message
    assert cli_fix(f.remedy) == (
        "Load the drivers from the initrd, or keep the boot disk emulated. "
        "Command line: --method initrd or --boot-disk emulated."
    )
    assert p.steps == ()


def test_unsupported_file_is_refused():
    p = sysinit({}, sysinit_file="/etc/rc.local")
    (f,) = p.refusals
    assert f.id == "sysinit-file-unsupported"
    assert f.message == "/etc/rc.local is not a file the sysinit method knows how to edit."
    assert "/etc/modules-load.d/virtio.conf" in cli_fix(f.remedy)


@pytest.mark.parametrize("path", ["/etc/rc.modules", "/etc/sysconfig/modules/virtio.modules"])
def test_new_script_file_is_sh_and_executable(path):
    p = sysinit({path: None}, sysinit_file=path)
    (step,) = p.steps
    assert step.path == path and step.old_sha256 is None
    assert step.new_text == "#!/bin/sh\nmodprobe virtio\nmodprobe virtio_net\nmodprobe virtio_pci\n"
    assert step.mode == 0o755
    assert step.diff.startswith(f"--- a{path}\n+++ b{path}\n")


def test_existing_rc_modules_gets_missing_lines_and_becomes_executable():
    path = "/etc/rc.modules"
    files = GuestFiles({path: b"#!/bin/sh\nmodprobe virtio\n"}, modes={path: 0o644})
    (step,) = sysinit(files, sysinit_file=path).steps
    assert step.new_text == "#!/bin/sh\nmodprobe virtio\nmodprobe virtio_net\nmodprobe virtio_pci\n"
    assert step.mode == 0o755
    assert "make /etc/rc.modules executable" in step.why


def test_complete_but_not_executable_rc_modules_gets_a_mode_only_edit():
    path = "/etc/rc.modules"
    body = b"#!/bin/sh\nmodprobe virtio\nmodprobe virtio_net\nmodprobe virtio_pci\n"
    (step,) = sysinit(GuestFiles({path: body}, modes={path: 0o600}), sysinit_file=path).steps
    assert step.new_bytes() == body and step.mode == 0o711 and step.diff == ""
    again = sysinit(GuestFiles({path: body}, modes={path: 0o711}), sysinit_file=path)
    assert again.steps == ()


DEBIAN = facts(
    distro=Distro("debian", "Debian GNU/Linux", "6.0.10", "debian"),
    sysinit=None,
    module_loaders=("etc-modules",),
    initrd_tool="initramfs-tools",
)
FEDORA = facts(
    distro=Distro("fedora", "Fedora", "19", "redhat"),
    sysinit=None,
    module_loaders=("systemd-modules-load",),
    initrd_tool="dracut",
)


def test_etc_modules_appends_names():
    path = "/etc/modules"
    text = "# /etc/modules: kernel modules to load at boot time.\nloop\n"
    (step,) = sysinit({path: text.encode()}, DEBIAN, sysinit_file=path).steps
    assert step.new_text == text + "virtio\nvirtio_net\nvirtio_pci\n"
    assert step.mode is None


def test_modules_load_d_is_created_0644():
    path = "/etc/modules-load.d/virtio.conf"
    (step,) = sysinit(
        {path: None}, FEDORA, sysinit_file=path, block=True, boot_disk="emulated"
    ).steps
    assert step.mode == 0o644
    assert step.new_text.splitlines()[1:] == [
        "virtio",
        "virtio_ring",
        "virtio_blk",
        "virtio_net",
        "virtio_pci",
    ]
    assert step.new_text.startswith("# ")


@pytest.mark.parametrize(
    "distro, expected",
    [
        (Distro("rhel", "RHEL", "3.9", "redhat"), "/etc/rc.modules"),
        (Distro("centos", "CentOS", "4.8", "redhat"), "/etc/rc.modules"),
        (Distro("rhel", "RHEL", "5.3", "redhat"), "/etc/sysconfig/modules/virtio.modules"),
        (Distro("rhel", "RHEL", "9.2", "redhat"), "/etc/modules-load.d/virtio.conf"),
        (Distro("fedora", "Fedora", "19", "redhat"), "/etc/modules-load.d/virtio.conf"),
        (Distro("debian", "Debian", "5.0.10", "debian"), "/etc/modules"),
        (Distro("arch", "Arch", "", "arch"), "/etc/modules-load.d/virtio.conf"),
        (Distro("sles", "SLES", "11.3", "suse"), None),
        (Distro(), None),
    ],
)
def test_recommended_file_per_distro(distro, expected):
    assert recommended_file(distro) == expected


def test_recommendation_note_names_the_cleaner_file():
    p = sysinit({RC: RC_SYSINIT.encode()})
    (note,) = [f for f in p.findings if f.id == "sysinit-recommended-file"]
    assert note.severity == "info"
    assert note.message == (
        "On Red Hat Enterprise Linux Server 5.1 the cleaner place for the modules is "
        "/etc/sysconfig/modules/virtio.modules: it survives updates that replace "
        "/etc/rc.d/rc.sysinit."
    )
    chosen = sysinit(
        {"/etc/sysconfig/modules/virtio.modules": None},
        sysinit_file="/etc/sysconfig/modules/virtio.modules",
    )
    assert not [f for f in chosen.findings if f.id == "sysinit-recommended-file"]


def test_recommendation_note_for_another_chosen_file_does_not_claim_updates_replace_it():
    files = {RC: RC_SYSINIT.encode(), "/etc/rc.modules": None}
    p = sysinit(files, sysinit_file="/etc/rc.modules")
    (note,) = [f for f in p.findings if f.id == "sysinit-recommended-file"]
    assert note.message == (
        "On Red Hat Enterprise Linux Server 5.1 the cleaner place for the modules is "
        "/etc/sysconfig/modules/virtio.modules: /etc/rc.modules is not the usual one there."
    )


def test_drivers_that_come_by_themselves_still_get_the_seeds_lines_with_a_note():
    f = facts(drivers_auto=True, drivers_auto_reason="RHEL 5.3 or newer")
    p = sysinit({RC: RC_SYSINIT.encode()}, f)
    assert not p.refused
    (edit,) = [s for s in p.steps if s.kind == "edit"]
    assert "modprobe virtio_pci" in (edit.new_text or "")
    (note,) = [x for x in p.findings if x.id == "drivers-auto"]
    assert note.message.startswith(
        "The drivers come by themselves on this release (RHEL 5.3 or newer); the modprobe "
        "lines are added anyway"
    )
    again = sysinit({RC: (edit.new_text or "").encode()}, f)
    assert again.steps == ()


# ---- only files the guest reads at boot (issue 14; issue 10 item 8) ------------------


@pytest.mark.parametrize(
    "f, offered",
    [
        (
            facts(
                distro=Distro("rhel", "RHEL ES", "3.9", "redhat"), module_loaders=("rc.modules",)
            ),
            [RC, "/etc/rc.modules"],
        ),
        (facts(), [RC, "/etc/rc.modules", "/etc/sysconfig/modules/virtio.modules"]),
        (DEBIAN, ["/etc/modules"]),
        (FEDORA, ["/etc/modules-load.d/virtio.conf"]),
        (facts(distro=Distro(), sysinit=None, module_loaders=()), []),
    ],
)
def test_offered_files_are_the_ones_the_guest_reads(f, offered):
    assert list(offered_files(f)) == offered


@pytest.mark.parametrize("path", ["/etc/modules", "/etc/modules-load.d/virtio.conf"])
def test_a_file_rhel5_never_reads_is_refused(path):
    """``--sysinit-file /etc/modules`` on RHEL 5 used to be accepted and 'verified'."""
    p = sysinit({path: None, RC: RC_SYSINIT.encode()}, sysinit_file=path)
    assert p.refused and p.steps == ()
    (f,) = p.refusals
    assert f.id == "sysinit-file-not-run"
    assert f.message.startswith(f"{path} is not read at boot on this guest")
    assert "/etc/sysconfig/modules/virtio.modules" in cli_fix(f.remedy)


def test_rhel3_offers_no_sysconfig_modules_and_refuses_it():
    rhel3 = facts(
        distro=Distro("rhel", "RHEL ES", "3.9", "redhat"),
        module_loaders=("rc.modules",),
        kernels=(kernel("2.4.21-58.EL"),),
    )
    path = "/etc/sysconfig/modules/virtio.modules"
    p = sysinit({path: None, RC: RC_SYSINIT.encode()}, rhel3, sysinit_file=path)
    assert [f.id for f in p.refusals] == ["sysinit-file-not-run"]
    ok = sysinit(
        {"/etc/rc.modules": None, RC: RC_SYSINIT.encode()}, rhel3, sysinit_file="/etc/rc.modules"
    )
    assert not ok.refused


def test_choices_leave_the_boot_disk_to_the_method_default():
    """The core's Choices take ``boot_disk_default`` like both faces: sysinit keeps the
    boot disk emulated, so block alone is planned, not refused; an explicit choice stays."""
    assert Choices(method="sysinit").boot_disk == boot_disk_default("sysinit") == "emulated"
    assert Choices().boot_disk == Choices(method="initrd").boot_disk == "virtio"
    assert Choices(method="sysinit", boot_disk="virtio").boot_disk == "virtio"
    p = sysinit({RC: RC_SYSINIT.encode()}, block=True)
    assert not p.refused and p.choices.boot_disk == "emulated"
    assert Choices.from_dict(p.choices.to_dict()) == p.choices
    assert Choices.from_dict({"method": "sysinit"}).boot_disk == "emulated"
