"""``virtio-wizard plan`` end to end on the fixture roots: output and exit codes."""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

import pytest

from virtio_wizard.cli import UsageError, build_parser, main
from virtio_wizard.commands.plan import choices_from_args
from virtio_wizard.plan import Plan

ROOTS = Path(__file__).parent / "roots"


def root(name: str) -> str:
    path = ROOTS / name
    if not path.is_dir():
        pytest.skip(f"fixture root {name} not present")
    return str(path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_rhel5_initrd_plan_prints_the_preview(capsys):
    code, out, err = run(
        capsys, "--root", root("rhel5ga"), "plan", "--method", "initrd", "--drivers", "block,net"
    )
    assert code == 0, err
    assert "mkinitrd -f --with=virtio --with=virtio_ring --with=virtio_blk" in out
    # modprobe.conf first: nash mkinitrd reads its aliases during the rebuild (issue 13).
    assert "1. edit /etc/modprobe.conf" in out
    assert "+alias scsi_hostadapter virtio_blk" in out and "+alias eth0 virtio_net" in out
    # Every rename before the rebuild: the image copies root= and resume=.
    assert out.index("edit /etc/fstab") < out.index("back up /boot/initrd-2.6.18-8.el5.img to ")
    assert err == ""


def test_json_and_output_file_hold_the_same_plan(capsys, tmp_path):
    saved = tmp_path / "plan.json"
    code, out, _ = run(
        capsys,
        "plan",
        "--root",
        root("rhel5ga"),
        "--method",
        "initrd",
        "--drivers",
        "block",
        "--json",
        "-o",
        str(saved),
    )
    assert code == 0
    data = json.loads(out)
    assert data["schema"] == "virtio-wizard/plan/2"
    assert data["modules"] == ["virtio", "virtio_ring", "virtio_blk", "virtio_pci"]
    assert [s["kind"] for s in data["steps"]][-2:] == ["backup", "command"]
    assert data["steps"][0]["path"] == "/etc/modprobe.conf"
    assert json.loads(saved.read_text()) == data
    assert Plan.from_dict(data).steps[-1].argv[0] == "mkinitrd"


def test_refused_plan_exits_3_and_says_why(capsys, tmp_path):
    saved = tmp_path / "plan.json"
    code, out, err = run(
        capsys,
        "--root",
        root("rhel5ga"),
        "plan",
        "--method",
        "sysinit",
        "--drivers",
        "block",
        "--boot-disk",
        "virtio",
        "-o",
        str(saved),
    )
    assert code == 3
    assert "REFUSED: nothing will be changed." in out
    assert "[sysinit-no-boot-disk]" in out
    assert (
        "fix: Load the drivers from the initrd, or keep the boot disk emulated. Command line: "
        "--method initrd or --boot-disk emulated." in out
    )
    assert err == (
        f"virtio-wizard: wrote {saved} (mode 0600: it holds copies of guest files, "
        "some may be secret)\nvirtio-wizard: plan refused (sysinit-no-boot-disk)\n"
    )
    assert json.loads(saved.read_text())["findings"][0]["id"] == "sysinit-no-boot-disk"


def test_sysinit_with_emulated_boot_disk_edits_rc_sysinit(capsys):
    code, out, _ = run(
        capsys,
        "--root",
        root("rhel5ga"),
        "plan",
        "--method",
        "sysinit",
        "--drivers",
        "block,net",
        "--boot-disk",
        "emulated",
        "--keep-disk-names",
        "--sysinit-file",
        "/etc/rc.d/rc.sysinit",
    )
    assert code == 0
    assert "2. edit /etc/rc.d/rc.sysinit" in out
    assert "+modprobe virtio_ring" in out
    assert "[sysinit-recommended-file]" in out
    # 1. is /etc/modprobe.conf: alias eth0 8139cp -> virtio_net (net chosen).
    assert "Steps (2):" in out and "1. edit /etc/modprobe.conf" in out


def test_sysinit_without_a_file_edits_the_one_the_wizard_recommends(capsys, tmp_path):
    """Issue 11.2: no --sysinit-file means the wizard's default, the same as the TUI's."""
    from virtio_wizard.detect import detect
    from virtio_wizard.plan.defaults import sysinit_file_default
    from virtio_wizard.targets import LocalTarget

    saved = tmp_path / "plan.json"
    args = ["--root", root("rhel5ga"), "plan", "--method", "sysinit", "--drivers", "net"]
    code, out, err = run(capsys, *args, "-o", str(saved))
    assert code == 0, err
    best = sysinit_file_default(detect(LocalTarget(root("rhel5ga")), read_initrds=False))
    assert best == "/etc/sysconfig/modules/virtio.modules"
    assert f"create {best}" in out and "edit /etc/rc.d/rc.sysinit" not in out
    assert "[sysinit-recommended-file]" not in out
    assert json.loads(saved.read_text())["choices"]["sysinit_file"] == best


@pytest.mark.parametrize("method", ["sysinit", "initrd"])
def test_the_boot_disk_left_out_follows_the_method_as_in_the_wizard(capsys, tmp_path, method):
    """Issue 11.1: the CLI and the Path step take the boot disk's default from one function."""
    from virtio_wizard.plan.defaults import boot_disk_default

    saved = tmp_path / "plan.json"
    args = ["--root", root("rhel5ga"), "plan", "--method", method, "--drivers", "block,net"]
    code, _out, err = run(capsys, *args, "-o", str(saved))
    assert code == 0, err
    chosen = json.loads(saved.read_text())["choices"]["boot_disk"]
    assert chosen == boot_disk_default(method)
    assert chosen == ("emulated" if method == "sysinit" else "virtio")


def test_sysinit_with_emulated_boot_disk_leaves_the_names_by_default(capsys):
    """Issue 11.1: the same choices as the wizard's sysinit path: one step, names kept."""
    args = ["--root", root("rhel5ga"), "plan", "--method", "sysinit", "--drivers", "block,net"]
    code, out, err = run(capsys, *args, "--boot-disk", "emulated")
    assert code == 0, err
    assert "Steps (2):" in out and "edit /etc/fstab" not in out
    assert "edit /etc/modprobe.conf" in out  # alias eth0 -> virtio_net
    assert "[disk-names-boot-emulated]" in out


@pytest.mark.parametrize("flag", ["--fix-disk-names", "--use-uuid"])
def test_renaming_disks_that_stay_emulated_exits_3(capsys, flag):
    args = ["--root", root("rhel5ga"), "plan", "--method", "sysinit", "--drivers", "block,net"]
    code, out, err = run(capsys, *args, "--boot-disk", "emulated", flag)
    assert code == 3
    assert "[disk-names-stay-emulated]" in out
    assert err == "virtio-wizard: plan refused (disk-names-stay-emulated)\n"


@pytest.mark.parametrize("method", ["sysinit", "initrd"])
def test_renaming_disks_with_only_the_network_driver_exits_3(capsys, method):
    """Issue 11.1: `--drivers net --fix-disk-names` renamed disks that all stay emulated."""
    args = ["--root", root("rhel5ga"), "plan", "--method", method, "--drivers", "net"]
    code, out, err = run(capsys, *args, "--fix-disk-names")
    assert code == 3
    assert "[disk-names-stay-emulated]" in out and "/dev/vda" not in out
    assert err == "virtio-wizard: plan refused (disk-names-stay-emulated)\n"


def test_unknown_kernel_exits_3(capsys):
    code, out, err = run(
        capsys,
        "--root",
        root("rhel5ga"),
        "plan",
        "--method",
        "initrd",
        "--drivers",
        "net",
        "--kernel",
        "9.9.9",
    )
    assert code == 3
    assert "[kernel-unknown] Kernel 9.9.9 is not installed on this guest" in out
    assert "kernel-unknown" in err


def test_windows_root_is_refused(capsys):
    code, out, _ = run(
        capsys, "--root", root("windows"), "plan", "--method", "initrd", "--drivers", "block"
    )
    assert code == 3
    assert "[target-not-linux]" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--drivers", "block"], "--method is required: sysinit or initrd"),
        (["--method", "initrd"], "--drivers is required: block, net or block,net"),
        (
            ["--method", "initrd", "--drivers", "disk"],
            "unknown driver disk: use block, net or block,net",
        ),
        (
            ["--method", "initrd", "--drivers", "net", "--sysinit-file", "/etc/modules"],
            "--sysinit-file is only for --method sysinit",
        ),
        (
            ["--method", "initrd", "--drivers", "net", "--use-uuid", "--keep-disk-names"],
            "--use-uuid rewrites disk names: it cannot go with --keep-disk-names",
        ),
    ],
)
def test_bad_usage_exits_2(capsys, argv, message):
    code, out, err = run(capsys, "--root", root("rhel5ga"), "plan", *argv)
    assert code == 2
    assert out == ""
    assert err.endswith(f"virtio-wizard: error: {message}\n")


def test_choices_from_args_for_apply_style_namespaces():
    args = build_parser().parse_args(
        [
            "apply",
            "--method",
            "sysinit",
            "--drivers",
            "net,block",
            "--kernel",
            "2.6.9-89.EL",
            "--sysinit-file",
            "/etc/rc.modules",
            "--boot-disk",
            "emulated",
            "--fix-disk-names",
            "--use-uuid",
        ]
    )
    c = choices_from_args(args)
    assert (c.method, c.block, c.net, c.kernel) == ("sysinit", True, True, "2.6.9-89.EL")
    assert (c.sysinit_file, c.boot_disk, c.fix_disk_names, c.use_uuid) == (
        "/etc/rc.modules",
        "emulated",
        True,
        True,
    )
    with pytest.raises(UsageError):
        choices_from_args(argparse.Namespace(method="initrd", drivers=""))


def test_script_export_is_handed_the_plan(capsys, tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("virtio_wizard.script")
    fake.write_script = lambda plan, path, target=None: calls.append((plan, path, target))
    monkeypatch.setitem(sys.modules, "virtio_wizard.script", fake)
    target = str(tmp_path / "go.sh")
    code, _, _ = run(
        capsys,
        "--root",
        root("rhel5ga"),
        "plan",
        "--method",
        "initrd",
        "--drivers",
        "net",
        "--script",
        target,
    )
    assert code == 0
    ((plan, path, guest),) = calls
    assert guest is not None and guest.root.endswith("rhel5ga")
    assert path == target and plan.modules == ("virtio", "virtio_net", "virtio_pci")
    code, _, _ = run(
        capsys,
        "--root",
        root("rhel5ga"),
        "plan",
        "--method",
        "sysinit",
        "--drivers",
        "block",
        "--boot-disk",
        "virtio",
        "--script",
        target,
    )
    assert code == 3 and len(calls) == 1  # a refused plan is never exported


def test_demo_guest_plans_without_touching_anything(capsys):
    code, out, _ = run(
        capsys, "--demo", "rhel52", "plan", "--method", "initrd", "--drivers", "block,net"
    )
    assert code == 0
    assert "/boot/initrd-2.6.18-92.el5.img.virtio.orig" in out


# ---- --help and usage (issue 11.8) -------------------------------------------------


def _all_parsers(parser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_parsers(sub)


def test_help_says_no_command_starts_the_wizard_and_names_the_demos(capsys):
    from virtio_wizard.cli import DEMO_NAMES
    from virtio_wizard.demo import DEMO_GUESTS

    assert tuple(DEMO_GUESTS) == DEMO_NAMES
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "With no COMMAND the full-screen wizard starts" in out
    assert "rhel52, debian12, rhel39" in out


def test_every_option_has_help_and_every_subcommand_a_description():
    for parser in _all_parsers(build_parser()):
        if parser.prog != "virtio-wizard":
            assert parser.description, parser.prog
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, (parser.prog, action.option_strings)


@pytest.mark.parametrize(
    ("argv", "missing"), [(["--drivers", "net"], "--method"), (["--method", "initrd"], "--drivers")]
)
def test_a_missing_choice_prints_the_subcommands_usage(capsys, argv, missing):
    assert main(["--root", root("rhel5ga"), "plan", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: virtio-wizard plan ")
    assert f"virtio-wizard: error: {missing} is required" in err


def test_detect_says_at_the_start_that_apply_will_need_root(capsys, monkeypatch):
    import os

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["detect", "--no-initrd"]) == 0
    err = capsys.readouterr().err
    assert "virtio-wizard: note: not running as root: detection works, but apply and undo" in err
