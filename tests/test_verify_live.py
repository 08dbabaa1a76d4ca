"""``verify`` after the switch, on fixture "live" roots (``proc/self`` present) and here.

Each fixture is a small running-system picture: ``proc/self/mountinfo``,
``proc/swaps``, ``sys/dev/block`` links (a virtio disk's path runs through a
``virtioN`` node), ``sys/class/net`` with the driver link, the guest's fstab
and ifcfg, and an apply journal. One test per outcome, one on the machine
running the tests (which may or may not be a virtio guest: only what can be
known independently is asserted).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from live_fixtures import ATA_SDA1, E1000, JID, MAC, VIRTIO_NET, journal, live_guest

from virtio_wizard.apply.verify_live import (
    SCHEMA,
    NotLiveError,
    pending_verification,
    verify_live,
)
from virtio_wizard.cli import main
from virtio_wizard.journal import read_journal
from virtio_wizard.targets import LocalTarget


@pytest.fixture
def tree_live(tree):
    """A fixture tree opened as a recorded snapshot of a running guest (``live=True``)."""
    return lambda files: tree(files, live=True)


@pytest.fixture
def cli(monkeypatch):
    """``virtio-wizard verify`` on a given target (``--root`` is never live on its own)."""
    import virtio_wizard.commands.verify as verify_cmd

    def run(target, *extra: str) -> int:
        monkeypatch.setattr(verify_cmd, "open_target", lambda args: target)
        return main(["verify", *extra])

    return run


def by_id(report) -> dict:
    return {c.id: c for c in report.checks}


def test_all_hold_exit_0_and_the_journal_is_marked_verified(tree_live, cli, capsys):
    target = tree_live(live_guest())
    assert pending_verification(target)["id"] == JID
    assert cli(target) == 0
    out = capsys.readouterr().out
    assert "All checks hold" in out and "marks it verified" in out
    record = read_journal(target, f"/var/lib/virtio-wizard/journal/{JID}.json")
    assert record["verified"] and "path" not in json.loads(
        (Path(target.root) / f"var/lib/virtio-wizard/journal/{JID}.json").read_text()
    )
    assert pending_verification(target) is None
    again = by_id(verify_live(target))["journal"]
    assert again.ok and "was verified on" in again.detail


def test_root_on_an_emulated_disk(tree_live, cli, capsys):
    target = tree_live(live_guest(**{"sys/dev/block/252:1": ATA_SDA1}))
    report = verify_live(target)
    root = by_id(report)["root-on-virtio"]
    assert not root.ok and "not a virtio disk" in root.problems[0].message
    assert "power the VM off" in root.problems[0].fix
    assert cli(target) == 1
    assert "likely cause: the VM still presents the boot disk" in capsys.readouterr().out
    # Nothing recorded while a check fails.
    assert pending_verification(target) is not None


def test_root_on_lvm_over_virtio(tree_live):
    files = live_guest(**{"sys/dev/block/252:1": None})
    files.update(
        {
            "proc/self/mountinfo": "22 1 253:0 / / rw - ext4 /dev/mapper/vg-root rw\n"
            "24 22 252:17 / /data rw - ext4 /dev/vdb1 rw\n",
            "sys/dev/block/253:0": Path("../../devices/virtual/block/dm-0"),
            "sys/block/dm-0/slaves/vda3": Path("../../../../pci0000:00/virtio1/block/vda/vda3"),
            "sys/class/block/vda3/dev": "252:3\n",
            "sys/dev/block/252:3": Path(
                "../../devices/pci0000:00/0000:00:04.0/virtio1/block/vda/vda3"
            ),
        }
    )
    assert by_id(verify_live(tree_live(files)))["root-on-virtio"].ok


def test_swap_still_named_hda3(tree_live):
    target = tree_live(
        live_guest(
            **{
                "etc/fstab": "/dev/vda1 / ext4 defaults 1 1\n/dev/hda3 swap swap defaults 0 0\n",
                "proc/swaps": "Filename\tType\tSize\tUsed\tPriority\n",
            }
        )
    )
    swap = by_id(verify_live(target))["swap-active"]
    assert not swap.ok
    assert "swap on /dev/hda3, which does not exist" in swap.problems[0].message
    assert "/dev/vda3" in swap.problems[0].cause


def test_swap_by_uuid_is_found_through_its_link(tree_live):
    files = live_guest(
        **{
            "etc/fstab": "/dev/vda1 / ext4 defaults 1 1\nUUID=abcd swap swap defaults 0 0\n",
            "dev/disk/by-uuid/abcd": Path("../../vda2"),
        }
    )
    assert by_id(verify_live(tree_live(files)))["swap-active"].ok


def test_a_mount_missing(tree_live):
    files = live_guest()
    files["proc/self/mountinfo"] = "22 1 252:1 / / rw - ext4 /dev/vda1 rw\n"
    mounts = by_id(verify_live(tree_live(files)))["mounts-present"]
    assert [p.message for p in mounts.problems] == ["fstab line 4: /data is not mounted"]
    assert "mount /data" in mounts.problems[0].fix


def test_nic_still_on_e1000(tree_live):
    target = tree_live(live_guest(**{"sys/class/net/eth0/device/driver": E1000}))
    nics = by_id(verify_live(target))["nics-virtio"]
    assert not nics.ok
    assert nics.problems[0].message == "eth0 runs on e1000, not virtio_net"
    assert MAC in nics.problems[0].fix


def test_nic_renamed_by_a_new_mac(tree_live):
    files = live_guest(
        **{
            "sys/class/net/eth0/address": None,
            "sys/class/net/eth0/device/driver": None,
            "sys/class/net/eth1/address": "52:54:00:99:99:99\n",
            "sys/class/net/eth1/device/driver": VIRTIO_NET,
        }
    )
    nics = by_id(verify_live(tree_live(files)))["nics-virtio"]
    problem = nics.problems[0]
    assert problem.message.startswith("eth0 (named in /etc/sysconfig/network-scripts/ifcfg-eth0)")
    assert "came up as eth1" in problem.cause
    assert f"<mac address='{MAC}'/>" in problem.fix


def test_last_apply_did_not_finish(tree_live):
    target = tree_live(
        live_guest(**{f"var/lib/virtio-wizard/journal/{JID}.json": journal("failed")})
    )
    check = by_id(verify_live(target))["journal"]
    assert not check.ok and "did not finish: failed" in check.problems[0].message
    assert pending_verification(target) is None


def test_json_document(tree_live, cli, capsys):
    target = tree_live(live_guest(**{"sys/dev/block/252:1": ATA_SDA1}))
    assert cli(target, "--json") == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == SCHEMA and doc["ok"] is False and doc["journal"] == JID
    assert [c["id"] for c in doc["checks"]] == [
        "root-on-virtio",
        "swap-active",
        "mounts-present",
        "nics-virtio",
        "journal",
        "survives-update",
    ]
    root = doc["checks"][0]
    assert set(root["problems"][0]) == {"message", "cause", "fix"}


def test_offline_root_is_one_line_exit_3(tree, capsys):
    # Even with a proc/self inside: an offline root's proc is the wizard's kernel.
    target = tree({"etc/fstab": "/dev/hda1 / ext3 defaults 1 1\n", "proc/self/mountinfo": ""})
    with pytest.raises(NotLiveError):
        verify_live(target)
    assert main(["verify", "--root", target.root]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a running system" in err


def test_demo_is_refused_exit_3(capsys):
    assert main(["verify", "--demo", "rhel52"]) == 3
    assert "copy made for this run" in capsys.readouterr().err


def test_on_this_machine():
    """The machine running the tests: assert only what can be known independently."""
    report = verify_live(LocalTarget("/"), record=False)
    assert [c.id for c in report.checks][0] == "root-on-virtio"
    devno = None
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            fields = line.split()
            if fields[4] == "/":
                devno = fields[2]
    try:
        link = os.readlink(f"/sys/dev/block/{devno}")
    except OSError:
        link = None
    root = by_id(report)["root-on-virtio"]
    if link and "/virtio" in link:
        assert root.ok, root
    elif link and "/virtual/" not in link:
        assert not root.ok
    with open("/proc/swaps", encoding="utf-8") as fh:
        active = len(fh.read().splitlines()) - 1
    assert f"{active} active area(s)" in by_id(report)["swap-active"].detail
    assert report.to_dict()["schema"] == SCHEMA
    assert report.recorded is False


def _initrd_journal(**extra):
    plan = {"choices": {"method": "initrd"}, "modules": ["virtio_blk"], "kernel": "6.1.0-9"}
    return {"id": JID, "plan": plan, **extra}


@pytest.mark.parametrize(
    ("survives", "ok", "words"),
    [(True, True, "keeps virtio"), (False, False, "would drop"), (None, True, "could not tell")],
)
def test_survives_update_asks_a_scratch_build(monkeypatch, survives, ok, words):
    """The kernel-update check: a scratch image the distro's way, after an initrd apply only."""
    from virtio_wizard.apply import scratch
    from virtio_wizard.apply import verify_live as vl
    from virtio_wizard.apply.scratch import ScratchCheck

    asked = []

    class FakeFacts:
        def kernel(self, version):
            asked.append(version)
            return "KERNEL"

    monkeypatch.setattr("virtio_wizard.detect.detect", lambda target: FakeFacts())
    monkeypatch.setattr(
        scratch,
        "check_survives_update",
        lambda target, facts, modules, kernel: ScratchCheck(
            "6.1.0-9",
            ("mkinitramfs", "-o", "/var/tmp/x", "6.1.0-9"),
            survives=survives,
            missing=() if survives else ("virtio_blk",),
            reason="" if survives is not None else "the build failed (exit 1)",
        ),
    )
    check = vl._check_update(object(), _initrd_journal())
    assert check.ok is ok and words in check.detail and asked == ["6.1.0-9"]
    if not ok:
        assert "virtio_blk" in check.problems[0].message


@pytest.mark.parametrize(
    "journal",
    [
        None,
        _initrd_journal(undone="2026-01-01"),
        {"id": JID, "plan": {"choices": {"method": "sysinit"}}},
    ],
)
def test_survives_update_builds_nothing_without_an_initrd_apply(monkeypatch, journal):
    from virtio_wizard.apply import verify_live as vl

    monkeypatch.setattr(
        "virtio_wizard.detect.detect", lambda target: pytest.fail("nothing should be detected")
    )
    check = vl._check_update(object(), journal)
    assert check.ok and "nothing to build" in check.detail


def test_json_carries_a_name_that_is_not_utf8_as_an_escape(tree_live, cli, capsys):
    """Like ``detect --json``: valid UTF-8 on any pipe, the byte spelled ``\\udcff``."""
    made = tree_live(live_guest())
    odd = os.fsdecode(os.fsencode(made.root) + b"-g\xffuest")
    os.rename(made.root, odd)
    assert cli(LocalTarget(odd, live=True), "--json") == 0
    out = capsys.readouterr().out
    out.encode("utf-8")
    assert "g\\udcffuest" in out
    assert json.loads(out)["target"].endswith("-g\udcffuest")
