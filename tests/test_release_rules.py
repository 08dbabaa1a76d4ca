"""Release rules on the fixture guests (issue 14): each finding raised and not raised.

Unit tests of the checks use hand-built Facts (test_checks.py); these run
detection on the committed roots under ``tests/roots/`` so the rules are
proven on guest trees shaped like the real releases.
"""

from __future__ import annotations

import pytest

from virtio_wizard.checks import check
from virtio_wizard.detect import detect
from virtio_wizard.present.remedy import cli_fix
from virtio_wizard.render import facts_renderable


def _ids(found) -> list[str]:
    return [f.id for f in found]


def _render(renderable) -> str:
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


# ---- RHEL 3: the virtio package ----------------------------------------------------


def test_rhel39_package_arch_and_no_kernel_advice(fixture_target):
    facts = detect(fixture_target("rhel39"), read_initrds=False)
    found = check(facts)
    (pa,) = [f for f in found if f.id == "package-arch"]
    assert "ia32e" in pa.message
    assert "kernel-no-virtio" not in _ids(found)
    assert not any("2.6.27" in cli_fix(f.remedy) for f in found)
    # The vendor comes from the host running the tests: only the variant is fixed.
    assert "kernel variant: ia32e" in _render(facts_renderable(facts, found))


@pytest.mark.parametrize("name", ["rhel48", "rhel53", "rhel5ga", "debian12", "debian6", "sles11"])
def test_no_package_advice_outside_rhel3(fixture_target, name):
    facts = detect(fixture_target(name), read_initrds=False)
    found = check(facts)
    assert "package-arch" not in _ids(found)
    assert not any("ia32e" in f.message + cli_fix(f.remedy) for f in found)
    assert "ia32e" not in _render(facts_renderable(facts, found))


# ---- load order: a hard rule only on 2.4 --------------------------------------------


def test_debian12_out_of_order_list_plans_cleanly(fixture_target):
    """virtio_pci before virtio_blk in /etc/initramfs-tools/modules works on 6.1."""
    from virtio_wizard.plan import Choices, make_plan

    target = fixture_target("debian12-order")
    facts = detect(target, read_initrds=False)
    (order,) = [f for f in check(facts) if f.id == "module-order"]
    assert order.severity == "info" and "still works" in order.message
    p = make_plan(target, facts, Choices(method="initrd"))
    assert not p.refused, [f.message for f in p.refusals]
    assert "modules-order-tolerated" in _ids(p.findings)
    (edit,) = [s for s in p.steps if s.path == "/etc/initramfs-tools/modules"]
    listed = [ln for ln in edit.new_text.splitlines() if ln and not ln.startswith("#")]
    # The user's two lines stay as they were; the missing ones go in around them.
    assert listed == ["virtio", "virtio_ring", "virtio_net", "virtio_pci", "virtio_blk"]
    assert any(s.kind == "command" for s in p.steps)


# ---- sysinit: only files the guest reads ----------------------------------------------


@pytest.mark.parametrize(
    "name, loaders",
    [
        ("rhel39", ("rc.modules",)),
        ("rhel5ga", ("rc.modules", "sysconfig-modules")),
        ("debian12", ("etc-modules",)),
        ("arch", ()),
    ],
)
def test_module_loaders_from_the_files_present(fixture_target, name, loaders):
    assert detect(fixture_target(name), read_initrds=False).module_loaders == loaders


def test_rhel39_etc_modules_is_refused_and_rc_modules_planned(fixture_target):
    from virtio_wizard.plan import Choices, make_plan

    target = fixture_target("rhel39")
    facts = detect(target, read_initrds=False)
    for path in ("/etc/modules", "/etc/modules-load.d/virtio.conf"):
        p = make_plan(target, facts, Choices(method="sysinit", block=False, sysinit_file=path))
        assert [f.id for f in p.refusals] == ["sysinit-file-not-run"]
    ok = make_plan(
        target, facts, Choices(method="sysinit", block=False, sysinit_file="/etc/rc.modules")
    )
    assert not ok.refused


# ---- RHEL 3.9 with and without the package, each variant, modules.dep ---------------


def test_rhel39_without_the_package_gets_only_the_package_fix(fixture_target):
    facts = detect(fixture_target("rhel39-nopkg"), read_initrds=False)
    found = check(facts)
    (k,) = [f for f in found if f.id == "kernel-no-virtio"]
    assert k.severity == "error"
    assert "Install the virtio package built for this kernel variant: ia32e (Intel 64)" in cli_fix(
        k.remedy
    )
    assert "2.6.27" not in cli_fix(k.remedy)
    assert "drivers-automatic" not in _ids(found)
    assert "package-arch" in _ids(found)


def test_rhel39_amd_variant_is_named(fixture_target):
    facts = detect(fixture_target("rhel39-amd"), read_initrds=False)
    assert facts.cpu.kernel_variant == "x86_64"
    (pa,) = [f for f in check(facts) if f.id == "package-arch"]
    assert "x86_64" in pa.message


@pytest.mark.parametrize("name", ["rhel39", "rhel39-amd", "rhel5ga", "debian12", "rhel39-nopkg"])
def test_modules_dep_missing_not_raised(fixture_target, name):
    facts = detect(fixture_target(name), read_initrds=False)
    assert "modules-dep-missing" not in _ids(check(facts))


def test_modules_without_modules_dep_entries(fixture_target):
    """The package's files are there, depmod never ran: modprobe cannot load them."""
    from virtio_wizard.plan import Choices, make_plan

    target = fixture_target("rhel39-nodep")
    facts = detect(target, read_initrds=False)
    kernel = facts.default_kernel()
    assert kernel.virtio["virtio_blk"] == "module"
    assert kernel.virtio_unlisted == (
        "virtio",
        "virtio_ring",
        "virtio_blk",
        "virtio_net",
        "virtio_pci",
    )
    (f,) = [f for f in check(facts) if f.id == "modules-dep-missing"]
    assert f.severity == "warning" and "depmod -a 2.4.21-58.EL" in cli_fix(f.remedy)
    for method in ("initrd", "sysinit"):
        choices = Choices(method=method, block=method == "initrd", sysinit_file=None)
        p = make_plan(target, facts, choices)
        assert not p.refused, [x.message for x in p.refusals]
        commands = [s.argv for s in p.steps if s.kind == "command"]
        assert commands[0] == ("depmod", "-a", "2.4.21-58.EL")


# ---- network continuity and guests that came from Xen ------------------------------

XEN_IDS = {"kudzu-first-boot", "mac-pinned", "xen-console", "xen-kernel", "defaultkernel-xen"}


def test_xen_origin_rhel5_raises_each_finding(fixture_target):
    found = check(detect(fixture_target("rhel5xen"), read_initrds=False))
    by_id = {f.id: f for f in found}
    assert set(by_id) >= XEN_IDS
    assert "00:16:3e:5a:2b:01" in by_id["mac-pinned"].message
    assert "00:16:3e:5a:2b:01" in cli_fix(by_id["mac-pinned"].remedy)
    assert "chkconfig kudzu off" in cli_fix(by_id["kudzu-first-boot"].remedy)
    assert "2.6.18-164.el5xen" in by_id["xen-kernel"].message
    assert "2.6.18-164.el5" in cli_fix(by_id["defaultkernel-xen"].remedy)
    assert "/etc/inittab:4 xvc0" in by_id["xen-console"].message
    assert "/etc/securetty:2 xvc0" in by_id["xen-console"].message


@pytest.mark.parametrize("name", ["rhel5ga", "rhel39", "debian12", "sles11", "rhel6"])
def test_continuity_and_xen_findings_not_raised(fixture_target, name):
    found = check(detect(fixture_target(name), read_initrds=False))
    assert not XEN_IDS & set(_ids(found))


def test_xen_origin_rhel5_plan_fixes_what_it_can(fixture_target):
    from virtio_wizard.plan import Choices, make_plan

    target = fixture_target("rhel5xen")
    facts = detect(target, read_initrds=False)
    p = make_plan(target, facts, Choices(method="initrd"))
    assert not p.refused
    assert p.kernel == "2.6.18-164.el5"
    steps = {s.path: s for s in p.steps if s.kind == "edit"}
    conf = steps["/etc/modprobe.conf"].new_text
    assert "xen" not in conf and "alias eth0 virtio_net" in conf
    assert conf.index("scsi_hostadapter virtio_blk") < conf.index("ata_piix")
    assert "DEFAULTKERNEL=kernel\n" in steps["/etc/sysconfig/kernel"].new_text
    assert {"xen-aliases", "defaultkernel-reset"} <= set(_ids(p.findings))
    # The config edits come before the rebuild that reads them.
    kinds = [s.kind for s in p.steps]
    assert kinds.index("command") > max(
        i
        for i, s in enumerate(p.steps)
        if s.path in ("/etc/modprobe.conf", "/etc/sysconfig/kernel")
    )
    # A Xen kernel is never prepared.
    xen = make_plan(target, facts, Choices(method="initrd", kernel="2.6.18-164.el5xen"))
    assert [f.id for f in xen.refusals] == ["kernel-xen"]
    assert "--kernel 2.6.18-164.el5" in cli_fix(xen.refusals[0].remedy)


def test_sles11_from_xen_strips_xen_initrd_modules(fixture_target):
    from virtio_wizard.plan import Choices, make_plan

    target = fixture_target("sles11xen")
    p = make_plan(target, detect(target, read_initrds=False), Choices(method="initrd"))
    (edit,) = [s for s in p.steps if s.path == "/etc/sysconfig/kernel"]
    line = next(ln for ln in edit.new_text.splitlines() if ln.startswith("INITRD_MODULES="))
    assert "xenblk" not in line and "xennet" not in line
    assert "virtio_blk" in line and "drop Xen's xenblk, xennet" in edit.why


def test_verify_says_a_listed_file_loads_only_when_the_guest_reads_it(fixture_target):
    """Done used to say 'now loads virtio at boot' for /etc/modules on RHEL 3."""
    import dataclasses

    from virtio_wizard.apply.verify import _verify_sysinit
    from virtio_wizard.facts import ModuleList, ModuleListEntry

    facts = detect(fixture_target("rhel39"), read_initrds=False)
    wanted = ("virtio", "virtio_net", "virtio_pci")
    entries = tuple(ModuleListEntry(i + 1, m) for i, m in enumerate(wanted))
    for path, kind in (("/etc/modules", "lines"), ("/etc/rc.modules", "script")):
        listed = dataclasses.replace(
            facts, module_lists=(*facts.module_lists, ModuleList(path, kind, entries))
        )
        line = _verify_sysinit(listed, path, wanted)
        if path == "/etc/modules":
            assert "nothing on this guest reads it at boot" in line
        else:
            assert line.startswith("/etc/rc.modules now loads virtio, virtio_net, virtio_pci")
    assert "does not list" in _verify_sysinit(facts, "/etc/rc.modules", wanted)
