"""``virtio-wizard apply`` and ``undo`` from the command line: confirm, exit codes.

The guest is a private copy of the rhel52 demo tree, given with ``--root``
(so the real detect and plan run on it); plans whose commands must really
run use a kind-``local`` target over a temp tree (see apply_fixtures).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from apply_fixtures import (
    FSTAB,
    NEW_FSTAB,
    edit,
    make_guest,
    make_plan,
    rebuild_steps,
    target_for,
    tree_state,
)

from virtio_wizard.cli import main
from virtio_wizard.demo import open_demo

#: rc.sysinit named: the default is the recommended file (sysconfig/modules here).
SYSINIT = ["--method", "sysinit", "--drivers", "net", "--sysinit-file", "/etc/rc.d/rc.sysinit"]


class Tty(io.StringIO):
    """A terminal that types ``answer``."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def rhel52(tmp_path: Path) -> Path:
    root = tmp_path / "rhel52"
    shutil.copytree(open_demo("rhel52").root, root, symlinks=True)
    return root


def journals(root: Path) -> list[str]:
    folder = root / "var/lib/virtio-wizard/journal"
    return sorted(n for n in os.listdir(folder) if n.endswith(".json")) if folder.exists() else []


def test_apply_yes_then_undo_yes_round_trip(rhel52: Path, capsys) -> None:
    before = tree_state(rhel52)
    assert main(["--root", str(rhel52), "apply", *SYSINIT, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "2. edit /etc/rc.d/rc.sysinit" in out, "the preview comes first"
    assert "1. edit /etc/modprobe.conf" in out  # alias eth0 e1000 -> virtio_net
    assert "[2/2] load virtio, virtio_net, virtio_pci" in out
    assert "done: wrote /etc/rc.d/rc.sysinit" in out
    assert b"alias eth0 virtio_net" in (rhel52 / "etc/modprobe.conf").read_bytes()
    assert "`virtio-wizard undo` reverts this apply" in out
    assert "- next: power the guest off, switch the NIC model to virtio in the VM" in out
    assert b"modprobe virtio_net" in (rhel52 / "etc/rc.d/rc.sysinit").read_bytes()
    assert len(journals(rhel52)) == 1

    assert main(["--root", str(rhel52), "undo", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "/etc/rc.d/rc.sysinit\n" in out and "/etc/modprobe.conf" in out
    assert "restored /etc/rc.d/rc.sysinit from /var/lib/virtio-wizard/backups/" in out
    assert tree_state(rhel52) == before
    assert main(["--root", str(rhel52), "undo", "--yes"]) == 0
    assert capsys.readouterr().out == "nothing to undo\n"


def test_apply_again_changes_nothing(rhel52: Path, capsys) -> None:
    assert main(["--root", str(rhel52), "apply", *SYSINIT, "--yes"]) == 0
    capsys.readouterr()
    assert main(["--root", str(rhel52), "apply", *SYSINIT, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "nothing to change: the guest is already as this plan wants it" in out
    assert len(journals(rhel52)) == 1


def test_no_terminal_means_no(rhel52: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    before = tree_state(rhel52)
    assert main(["--root", str(rhel52), "apply", *SYSINIT]) == 1
    captured = capsys.readouterr()
    assert "not confirmed; nothing written" in captured.err
    assert "Apply these" not in captured.out
    assert tree_state(rhel52) == before and journals(rhel52) == []


@pytest.mark.parametrize(("answer", "code"), [("y\n", 0), ("yes\n", 0), ("n\n", 1), ("", 1)])
def test_the_question_on_a_terminal(rhel52: Path, capsys, monkeypatch, answer, code) -> None:
    monkeypatch.setattr("sys.stdin", Tty(answer))
    assert main(["--root", str(rhel52), "apply", *SYSINIT]) == code
    out = capsys.readouterr().out
    assert f"Apply these 2 changes to guest root {rhel52}? [y/N] " in out
    assert len(journals(rhel52)) == (1 if code == 0 else 0)


def test_refused_plan_exits_3_even_with_yes(rhel52: Path, capsys) -> None:
    before = tree_state(rhel52)
    argv = ["--root", str(rhel52), "apply", "--method", "sysinit", "--drivers", "block"]
    code = main([*argv, "--boot-disk", "virtio"])
    assert code == 3
    err = capsys.readouterr().err
    assert "refused: the plan is refused: Drivers loaded by the sysinit script" in err
    assert "sysinit-no-boot-disk: Load the drivers from the initrd" in err
    assert "Command line: --method initrd or --boot-disk emulated." in err
    assert "nothing written" in err
    assert tree_state(rhel52) == before


def test_saved_plan_applies_and_a_stale_one_is_refused(rhel52: Path, tmp_path, capsys) -> None:
    saved = tmp_path / "plan.json"
    assert main(["--root", str(rhel52), "plan", *SYSINIT, "-o", str(saved)]) == 0
    assert main(["--root", str(rhel52), "apply", "--plan", str(saved), "--yes"]) == 0
    capsys.readouterr()
    assert main(["--root", str(rhel52), "undo", "--yes"]) == 0
    with open(rhel52 / "etc/rc.d/rc.sysinit", "ab") as fh:
        fh.write(b"# edited by hand\n")
    assert main(["--root", str(rhel52), "apply", "--plan", str(saved), "--yes"]) == 3
    err = capsys.readouterr().err
    assert "/etc/rc.d/rc.sysinit changed since the plan was made: re-run plan" in err


def test_saved_plan_for_another_guest_is_refused(rhel52: Path, tmp_path, capsys) -> None:
    saved = tmp_path / "plan.json"
    assert main(["--root", str(rhel52), "plan", *SYSINIT, "-o", str(saved)]) == 0
    other = tmp_path / "other"
    shutil.copytree(rhel52, other, symlinks=True)
    capsys.readouterr()
    assert main(["--root", str(other), "apply", "--plan", str(saved), "--yes"]) == 3
    assert f"this plan was made for root {rhel52}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the plan"),
        ("{oops", "is not JSON"),
        ('{"schema": "something/else"}', "is not usable: not a virtio-wizard/plan/2 document"),
    ],
)
def test_unusable_plan_file_is_a_usage_error(rhel52, tmp_path, capsys, content, message) -> None:
    saved = tmp_path / "plan.json"
    if content is not None:
        saved.write_text(content)
    assert main(["--root", str(rhel52), "apply", "--plan", str(saved), "--yes"]) == 2
    assert message in capsys.readouterr().err


def test_plan_file_with_choice_options_is_a_usage_error(rhel52, tmp_path, capsys) -> None:
    code = main(["--root", str(rhel52), "apply", "--plan", "x.json", "--method", "initrd"])
    assert code == 2
    assert "--plan FILE replaces --method: give one or the other" in capsys.readouterr().err


def test_missing_choices_are_a_usage_error(rhel52: Path, capsys) -> None:
    assert main(["--root", str(rhel52), "apply", "--method", "initrd"]) == 2
    assert "--drivers is required" in capsys.readouterr().err


def test_demo_apply_shows_the_commands_it_does_not_run(capsys) -> None:
    code = main(["--demo", "rhel52", "apply", "--method", "initrd", "--drivers", "block,net", "-y"])
    assert code == 0
    out = capsys.readouterr().out
    assert "skipped: demo: would run: mkinitrd -f --with=virtio" in out
    assert "- demo: commands were shown, not run; no initrd was rebuilt" in out


def test_not_root_on_this_system_exits_3(monkeypatch, capsys) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["apply", *SYSINIT, "--yes"]) == 3
    assert "applying to this system (/) needs root" in capsys.readouterr().err
    assert main(["undo", "--yes"]) == 3
    assert "undoing changes to this system (/) needs root" in capsys.readouterr().err


def save(folder: Path, plan, guest: Path) -> Path:
    """A hand-made plan saved as ``plan -o`` would, made for ``guest``."""
    path = folder / "plan.json"
    plan = dataclasses.replace(plan, target={"kind": "local", "root": str(guest)})
    path.write_text(json.dumps(plan.to_dict()))
    return path


def patch_target(monkeypatch, target) -> None:
    """Hand the commands a kind-local target over a temp tree (commands really run).

    These tests drive hand-made plans (a failing command, one edit) through
    the CLI, which a real saved plan can never carry: ``apply --plan`` runs
    only what the wizard plans itself (tests/test_saved_plan.py). So here the
    re-derivation is replaced by "the saved plan is the wizard's plan".
    """
    import virtio_wizard.commands.apply as apply_cmd
    import virtio_wizard.commands.undo as undo_cmd

    monkeypatch.setattr(apply_cmd, "open_target", lambda args: target)
    monkeypatch.setattr(undo_cmd, "open_target", lambda args: target)
    monkeypatch.setattr(apply_cmd, "rederive", lambda target, facts, saved, name: saved)


def test_failing_command_exits_1_and_says_how_to_undo(tmp_path, monkeypatch, capsys) -> None:
    guest = make_guest(tmp_path / "guest")
    backup, cmd = rebuild_steps(guest, "echo 'no space left'; exit 1")
    saved = save(tmp_path, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB), backup, cmd), guest)
    patch_target(monkeypatch, target_for(guest))
    assert main(["apply", "--plan", str(saved), "--yes"]) == 1
    captured = capsys.readouterr()
    assert "    | no space left" in captured.out
    assert "FAILED: `sh -c 'echo '" in captured.out
    assert "the original initrd is kept at /boot/initrd-" in captured.out
    assert captured.out.count("the original initrd is kept at") == 1  # said once, not twice
    assert "run `virtio-wizard undo` to put it back" in captured.out
    assert "apply failed" in captured.err
    assert main(["undo", "--yes"]) == 0
    assert (guest / "etc/fstab").read_text() == FSTAB


def test_lock_held_exits_1_with_a_clear_message(tmp_path, monkeypatch, capsys) -> None:
    guest = make_guest(tmp_path / "guest")
    saved = save(tmp_path, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)), guest)
    target = target_for(guest)
    patch_target(monkeypatch, target)
    with target.lock("/var/lib/virtio-wizard/lock"):
        assert main(["apply", "--plan", str(saved), "--yes"]) == 1
    assert "another virtio-wizard is applying to this guest" in capsys.readouterr().err
    assert (guest / "etc/fstab").read_text() == FSTAB


def test_undo_refused_when_a_file_was_edited_since(tmp_path, monkeypatch, capsys) -> None:
    guest = make_guest(tmp_path / "guest")
    saved = save(tmp_path, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)), guest)
    patch_target(monkeypatch, target_for(guest))
    assert main(["apply", "--plan", str(saved), "--yes"]) == 0
    (guest / "etc/fstab").write_text("mine\n")
    assert main(["undo", "--yes"]) == 3
    assert "/etc/fstab was changed after the apply" in capsys.readouterr().err
    assert (guest / "etc/fstab").read_text() == "mine\n"


def test_undo_asks_and_no_terminal_means_no(tmp_path, monkeypatch, capsys) -> None:
    guest = make_guest(tmp_path / "guest")
    saved = save(tmp_path, make_plan(edit(guest, "/etc/fstab", NEW_FSTAB)), guest)
    patch_target(monkeypatch, target_for(guest))
    assert main(["apply", "--plan", str(saved), "--yes"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["undo"]) == 1
    assert "not confirmed; nothing written" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", Tty("y\n"))
    assert main(["undo"]) == 0
    assert "? [y/N] " in capsys.readouterr().out
    assert (guest / "etc/fstab").read_text() == FSTAB


def test_undo_with_a_damaged_newest_journal_refuses_in_one_message(
    tmp_path, monkeypatch, capsys
) -> None:
    guest = make_guest(tmp_path / "guest")
    patch_target(monkeypatch, target_for(guest))
    for text in (NEW_FSTAB, NEW_FSTAB + "# second\n"):
        assert (
            main(
                [
                    "apply",
                    "--plan",
                    str(save(tmp_path, make_plan(edit(guest, "/etc/fstab", text)), guest)),
                    "--yes",
                ]
            )
            == 0
        )
    folder = guest / "var/lib/virtio-wizard/journal"
    newest = sorted(folder.glob("*.json"))[-1]
    newest.write_bytes(newest.read_bytes()[:40])
    capsys.readouterr()
    assert main(["undo", "--yes"]) == 3
    err = capsys.readouterr().err
    assert "refused: the newest journal /var/lib/virtio-wizard/journal/" in err
    assert "is unreadable" in err and "undid" not in err
    assert (guest / "etc/fstab").read_text() == NEW_FSTAB + "# second\n"
