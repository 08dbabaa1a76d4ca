"""plan(): kernel choice, module list, refusals, the Plan's own fields and JSON."""

from __future__ import annotations

import json

import pytest

from tests.plan_fixtures import ALL, KVER, facts, kernel, make
from virtio_wizard.facts import TargetInfo
from virtio_wizard.finding import choose
from virtio_wizard.plan import Plan, plan
from virtio_wizard.plan.model import Choices
from virtio_wizard.present.remedy import cli_fix


def test_plan_records_target_kernel_and_modules():
    p = make(facts(target=TargetInfo("root", "/mnt/guest")), {}, method="initrd")
    assert p.target == {"kind": "root", "root": "/mnt/guest"}
    assert p.kernel == KVER and p.modules == ALL
    assert p.choices.method == "initrd"


def test_default_kernel_is_the_newest_and_kernel_choice_is_honoured():
    old, new = kernel("2.6.18-8.el5"), kernel("2.6.18-92.el5")
    f = facts(kernels=(old, new))
    assert make(f, {}, method="initrd").kernel == "2.6.18-92.el5"
    p = make(f, {}, method="initrd", kernel="2.6.18-8.el5")
    assert p.kernel == "2.6.18-8.el5"
    assert p.steps[-1].argv[-1] == "2.6.18-8.el5"


def test_running_kernel_is_the_default():
    old, new = kernel("2.6.18-8.el5"), kernel("2.6.18-92.el5")
    f = facts(kernels=(old, new), running_kernel="2.6.18-8.el5")
    assert make(f, {}, method="initrd").kernel == "2.6.18-8.el5"


def test_unknown_kernel_is_refused_listing_the_installed_ones():
    f = facts(kernels=(kernel("2.6.18-8.el5"), kernel("2.6.18-92.el5")))
    p = make(f, {}, method="initrd", kernel="2.6.9-89.EL")
    (r,) = p.refusals
    assert r.id == "kernel-unknown"
    assert r.message == (
        "Kernel 2.6.9-89.EL is not installed on this guest "
        "(installed: 2.6.18-8.el5, 2.6.18-92.el5)."
    )
    assert p.steps == ()


def test_no_kernel_at_all_is_refused():
    p = make(facts(kernels=()), {}, method="initrd")
    (r,) = p.refusals
    assert r.id == "kernel-none"
    assert r.message.startswith("No installed kernel was found on this guest")


def test_kernel_without_virtio_names_the_missing_and_a_kernel_that_works():
    bare = kernel("2.6.9-42.EL", virtio={m: "missing" for m in ALL})
    good = kernel("2.6.9-89.EL")
    p = make(facts(kernels=(bare, good)), {}, method="initrd", kernel="2.6.9-42.EL")
    (r,) = p.refusals
    assert r.id == "kernel-lacks-modules"
    assert r.message == (
        "Kernel 2.6.9-42.EL has no virtio, virtio_ring, virtio_blk, virtio_net, virtio_pci "
        "(neither as a module nor built in)."
    )
    assert cli_fix(r.remedy) == (
        "Prepare a kernel that has them: 2.6.9-89.EL. Command line: --kernel 2.6.9-89.EL."
    )
    assert r.remedy.options == (choose(kernel="2.6.9-89.EL"),)
    assert p.steps == ()


def test_kernel_without_virtio_and_no_alternative():
    virtio = {m: "module" for m in ALL}
    virtio["virtio_net"] = "missing"
    p = make(facts(kernels=(kernel(virtio=virtio),)), {}, method="initrd")
    (r,) = p.refusals
    assert r.message.startswith(f"Kernel {KVER} has no virtio_net ")
    assert cli_fix(r.remedy).startswith("No installed kernel has them")
    # Block only does not need virtio_net: planned.
    assert not make(facts(kernels=(kernel(virtio=virtio),)), {}, method="initrd", net=False).refused


def test_not_linux_is_refused():
    p = make(facts(not_linux="this looks like a Windows system disk"), {}, method="initrd")
    (r,) = p.refusals
    assert r.id == "target-not-linux"
    assert r.message == "this looks like a Windows system disk."
    assert "virtio-win" in cli_fix(r.remedy)


@pytest.mark.parametrize("sentence", ["No Linux guest was found in /x: the folder is empty.", "no"])
def test_not_linux_refusal_has_one_full_stop_and_no_windows_talk(sentence):
    """Detection's sentence ends in a full stop already: never "..", and a folder
    that is simply no Linux guest gets no advice about Windows."""
    (r,) = make(facts(not_linux=sentence), {}, method="initrd").refusals
    assert r.message.endswith(".") and not r.message.endswith("..")
    assert "windows" not in (r.message + cli_fix(r.remedy)).lower()
    assert "--root" in cli_fix(r.remedy)


def test_windows_refusal_ends_with_one_full_stop():
    sentence = "This is a Windows system disk: virtio-win is out of scope for this wizard."
    (r,) = make(facts(not_linux=sentence), {}, method="initrd").refusals
    assert r.message == sentence and "virtio-win" in cli_fix(r.remedy)


def test_blk_net_order_is_the_seeds():
    p = make(facts(), {}, method="initrd")
    assert p.modules.index("virtio_blk") < p.modules.index("virtio_net")
    assert p.modules == ("virtio", "virtio_ring", "virtio_blk", "virtio_net", "virtio_pci")


def test_json_round_trip():
    p = make(facts(), {}, method="initrd")
    data = json.loads(json.dumps(p.to_dict()))
    assert data["schema"] == "virtio-wizard/plan/2"
    assert Plan.from_dict(data) == p


def test_plan_is_pure_and_deterministic():
    files = {"/etc/fstab": b"/dev/hda1 / ext3 defaults 1 1\n"}
    f = facts()
    assert plan(f, Choices(), dict(files)) == plan(f, Choices(), dict(files))
    assert files == {"/etc/fstab": b"/dev/hda1 / ext3 defaults 1 1\n"}
