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
from live_fixtures import (
    ATA_SDA1,
    CONFIG,
    DM_MOD,
    E1000,
    EXT3,
    IMAGE,
    JID,
    KVER,
    MAC,
    VIRTIO,
    VIRTIO_NET,
    journal,
    live_guest,
    lvm_root,
)

from virtio_wizard.apply.verify_live import NotLiveError, pending_verification, verify_live
from virtio_wizard.apply.verify_report import CHECK_IDS, SCHEMA
from virtio_wizard.cli import main
from virtio_wizard.journal import read_journal
from virtio_wizard.present.remedy import cli_fix
from virtio_wizard.targets import LocalTarget
from virtio_wizard.tui.wizard_terms import wizard_fix


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
    remedy = root.problems[0].remedy
    assert remedy.advice.startswith("Power the VM off, switch its disk bus to virtio")
    assert remedy.command[:2] == ("virtio-wizard", "host")
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
    assert mounts.problems[0].remedy.command == ("mount", "/data")


def test_nic_still_on_e1000(tree_live):
    target = tree_live(live_guest(**{"sys/class/net/eth0/device/driver": E1000}))
    nics = by_id(verify_live(target))["nics-virtio"]
    assert not nics.ok
    assert nics.problems[0].message == "eth0 runs on e1000, not virtio_net"
    assert MAC in nics.problems[0].remedy.advice


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
    assert f"<mac address='{MAC}'/>" in problem.remedy.advice


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
        "initrd-root-needs",
    ]
    assert tuple(c["id"] for c in doc["checks"]) == CHECK_IDS
    root = doc["checks"][0]
    assert set(root["problems"][0]) == {"message", "cause", "remedy"}
    assert root["problems"][0]["remedy"]["command"][:2] == ["virtio-wizard", "host"]


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
    from virtio_wizard.apply.scratch import ScratchCheck
    from virtio_wizard.apply.verify_next import check_update

    asked = []

    class FakeFacts:
        def kernel(self, version):
            asked.append(version)
            return "KERNEL"

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
    check = check_update(object(), _initrd_journal(), FakeFacts())
    assert check.ok is ok and words in check.detail and asked == ["6.1.0-9"]
    if not ok:
        problem = check.problems[0]
        assert "virtio_blk" in problem.message
        # The remedy is a choice each face words its own way.
        assert "Command line: --method initrd." in cli_fix(problem.remedy)
        assert "choose initrd on the Path step" in wizard_fix(problem.remedy)
        assert "--method" not in wizard_fix(problem.remedy)


@pytest.mark.parametrize(
    "journal",
    [
        None,
        _initrd_journal(undone="2026-01-01"),
        {"id": JID, "plan": {"choices": {"method": "sysinit"}}},
    ],
)
def test_survives_update_builds_nothing_without_an_initrd_apply(monkeypatch, journal):
    from virtio_wizard.apply import scratch
    from virtio_wizard.apply.verify_next import check_update

    monkeypatch.setattr(
        scratch, "check_survives_update", lambda *a: pytest.fail("nothing should be built")
    )
    check = check_update(object(), journal, object())
    assert check.ok and "nothing to build" in check.detail


def test_survives_update_without_facts_builds_nothing():
    from virtio_wizard.apply.verify_next import check_update

    check = check_update(object(), _initrd_journal(), None)
    assert check.ok and check.detail == "could not detect the guest: nothing to build"


# ---- the initrd booted next holds what the root needs ---------------------------------


def root_check(target):
    return by_id(verify_live(target, record=False))["initrd-root-needs"]


def lvm_live(tree_live, members, config=CONFIG):
    """A running guest (every other check holds) whose root is on LVM, its image ``members``."""
    files = live_guest()
    files.update(lvm_root(members, config))
    return tree_live(files)


def test_root_needs_hold(tree_live):
    check = root_check(lvm_live(tree_live, (*VIRTIO, DM_MOD, EXT3, "bin/lvm")))
    assert check.ok
    assert check.detail == f"{KVER} boots next; its initrd ({IMAGE}) holds what the root needs"


def test_an_lvm_root_whose_next_image_lacks_lvm_and_dm_mod(tree_live, cli, capsys):
    target = lvm_live(tree_live, (*VIRTIO, EXT3))
    check = root_check(target)
    assert not check.ok
    [problem] = check.problems
    assert problem.message == (
        f"the initrd of {KVER} ({IMAGE}), which boots next, lacks "
        "dm_mod (device-mapper: root on LVM); lvm (the lvm tool: root on LVM)"
    )
    assert "VFS: Unable to mount root fs" in problem.cause
    remedy = problem.remedy
    assert "install lvm2 in the guest" in remedy.advice
    # nash mkinitrd rebuilds the image in place, the virtio modules kept with --with.
    assert remedy.command[:2] == ("mkinitrd", "-f")
    assert "--with=virtio_blk" in remedy.command and remedy.command[-2:] == (IMAGE, KVER)
    assert cli(target) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "[NO ] the initrd booted next holds what the root needs" in out
    assert "Run: mkinitrd -f --with=virtio --with=virtio_blk" in out
    assert pending_verification(target) is not None


def test_root_modules_built_in_ask_nothing_and_read_nothing(tree_live, monkeypatch):
    built_in = CONFIG.replace("=m\nCONFIG_BLK_DEV_DM=m", "=y\nCONFIG_BLK_DEV_DM=y")
    files = live_guest()
    files.update(lvm_root(VIRTIO, built_in))
    files["etc/fstab"] = live_guest()["etc/fstab"]  # ext4 on /dev/vda1: no LVM tool either
    files["boot/config-" + KVER] = built_in.replace("EXT3_FS", "EXT4_FS")
    monkeypatch.setattr(
        "virtio_wizard.initrd.members.image_members",
        lambda *a: pytest.fail("nothing is asked: the image must not be read"),
    )
    check = root_check(tree_live(files))
    assert check.ok
    assert check.detail == (
        f"{KVER} boots next; nothing asked of its initrd (what it needs is built into the kernel)"
    )


def test_root_needs_unreadable_image_is_said_not_counted(tree_live):
    files = live_guest()
    files.update(lvm_root(VIRTIO))
    files[IMAGE.lstrip("/")] = b"\x1f\x8b not a gzip stream"
    check = root_check(tree_live(files))
    assert check.ok and check.detail.startswith(f"{KVER} boots next; could not read its initrd: ")


def test_root_needs_without_a_kernel_or_facts(tree_live, monkeypatch):
    assert root_check(tree_live(live_guest())).detail == "no installed kernel: nothing to check"

    def broken(target):
        raise OSError("the disk went away")

    monkeypatch.setattr("virtio_wizard.detect.detect", broken)
    check = root_check(tree_live(live_guest()))
    assert check.ok
    assert check.detail == "could not detect the guest: the disk went away: nothing to check"


def test_a_remedy_names_flags_on_the_cli_and_screens_in_the_wizard(tree_live, cli, capsys):
    """The swap's fix: the CLI names --fix-disk-names, the wizard its tick box."""
    target = tree_live(
        live_guest(
            **{
                "etc/fstab": "/dev/vda1 / ext4 defaults 1 1\n/dev/hda3 swap swap defaults 0 0\n",
                "proc/swaps": "Filename\tType\tSize\tUsed\tPriority\n",
            }
        )
    )
    [problem] = by_id(verify_live(target, record=False))["swap-active"].problems
    assert problem.remedy.command == ("swapon", "-a")
    cli_words, tui_words = cli_fix(problem.remedy), wizard_fix(problem.remedy)
    assert "Command line: --fix-disk-names." in cli_words
    assert "tick 'Rewrite /dev/hdX, /dev/sdX to /dev/vdX' on the Drivers step" in tui_words
    assert "--" not in tui_words
    assert cli(target) == 1
    assert "fix: " + cli_words in capsys.readouterr().out


@pytest.mark.parametrize(
    ("check_id", "override", "message", "command"),
    [
        (
            "root-on-virtio",
            {"proc/self/mountinfo": "23 22 0:21 / /proc rw - proc proc rw\n"},
            "/proc/self/mountinfo has no entry for /",
            ("virtio-wizard", "--ssh", "root@GUEST", "verify"),
        ),
        (
            "root-on-virtio",
            {
                "proc/self/mountinfo": "22 1 0:30 / / rw - overlay overlay rw\n",
                "sys/dev/block/252:1": None,
            },
            "cannot tell which disk holds / (overlay, overlay)",
            ("lsblk",),
        ),
        (
            "swap-active",
            {"proc/swaps": "Filename\tType\tSize\tUsed\tPriority\n"},
            "fstab line 2: swap on /dev/vda2 is not active",
            ("swapon", "/dev/vda2"),
        ),
        (
            "nics-virtio",
            {"sys/class/net/eth0/address": "52:54:00:99:99:99\n"},
            f"eth0 has MAC 52:54:00:99:99:99, /etc/sysconfig/network-scripts/ifcfg-eth0 "
            f"expects {MAC}",
            (),
        ),
        (
            "journal",
            {f"var/lib/virtio-wizard/journal/{JID}.json": journal("interrupted")},
            f"the last apply ({JID}) did not finish: interrupted",
            ("virtio-wizard", "undo"),
        ),
    ],
)
def test_each_problem_carries_a_remedy_both_faces_word(
    tree_live, check_id, override, message, command
):
    """Advice in plain words and a command; no face puts the other's words on screen."""
    check = by_id(verify_live(tree_live(live_guest(**override)), record=False))[check_id]
    [problem] = [p for p in check.problems if p.message == message]
    assert problem.remedy.advice and problem.remedy.command == command
    tui_words = wizard_fix(problem.remedy)
    assert "Command line:" not in tui_words and problem.remedy.advice in tui_words
    assert cli_fix(problem.remedy).startswith(problem.remedy.advice)


def test_every_check_is_in_troubleshooting():
    doc = (Path(__file__).parent.parent / "docs" / "troubleshooting.md").read_text()
    for check_id in CHECK_IDS:
        assert f"### verify: `{check_id}`" in doc, check_id


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
