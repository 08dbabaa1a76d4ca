"""Paths that are not UTF-8 survive every step: journal, plan JSON, preview, script.

Linux file names are bytes. The wizard holds them as ``str`` with surrogate
escapes (byte 0xff is ``"\\udcff"``, as ``os.fsdecode`` makes it) and must
give the same bytes back wherever it writes one: a guest root named
``g\\xffuest``, a ``grub.conf`` that is a link to ``grub\\xff.conf``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from apply_fixtures import GRUB, NEW_GRUB, make_guest, sha, target_for, tree_state

from virtio_wizard.apply.run import apply_plan
from virtio_wizard.apply.undo import undo
from virtio_wizard.cli import main
from virtio_wizard.demo import open_demo
from virtio_wizard.journal import JOURNAL_DIR, list_journals
from virtio_wizard.plan.model import Choices, Plan, Step
from virtio_wizard.preview import render_text
from virtio_wizard.script import render_script

SYSINIT = ["--method", "sysinit", "--drivers", "net"]
FF = os.fsdecode(b"\xff")  # "\udcff"


@pytest.fixture
def odd_root(tmp_path: Path) -> Path:
    """The rhel52 demo guest under a folder whose name holds byte 0xff."""
    root = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/g\xffuest"))
    shutil.copytree(open_demo("rhel52").root, root, symlinks=True)
    return root


def journal_bytes(root: Path) -> list[bytes]:
    folder = root / JOURNAL_DIR.lstrip("/")
    return [(folder / n).read_bytes() for n in sorted(os.listdir(folder)) if n.endswith(".json")]


def test_a_root_that_is_not_utf8_plans_applies_and_undoes(odd_root, tmp_path, capsys) -> None:
    before = tree_state(odd_root)
    saved = tmp_path / "plan.json"
    assert main(["--root", str(odd_root), "plan", *SYSINIT, "-o", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "g\\xffuest" in out  # the preview shows the byte, escaped
    raw = saved.read_bytes()
    raw.decode("utf-8")  # valid UTF-8 ...
    assert json.loads(raw)["target"]["root"] == str(odd_root)  # ... giving the same path
    assert main(["--root", str(odd_root), "apply", "--plan", str(saved), "--yes"]) == 0
    capsys.readouterr()
    (data,) = journal_bytes(odd_root)
    assert json.loads(data.decode("utf-8"))["target"]["root"] == str(odd_root)
    assert main(["--root", str(odd_root), "undo", "--yes"]) == 0
    assert tree_state(odd_root) == before


def test_a_link_to_a_name_that_is_not_utf8(tmp_path) -> None:
    """The issue's case: /boot/grub/grub.conf is a link to grub\\xff.conf."""
    guest = make_guest(tmp_path / "guest")
    grub = guest / "boot/grub"
    os.rename(grub / "grub.conf", os.fsencode(grub) + b"/grub\xff.conf")
    os.symlink(b"grub\xff.conf", os.fsencode(grub) + b"/grub.conf")
    target = target_for(guest)
    step = Step(
        kind="edit",
        why="rename the disks",
        path="/boot/grub/grub.conf",
        old_sha256=sha(GRUB.encode()),
        new_text=NEW_GRUB,
    )
    plan = Plan(Choices(), (step,), target={"kind": "local", "root": str(guest)})
    result = apply_plan(target, plan)
    assert result.status == "done", result.messages
    real = os.fsencode(grub) + b"/grub\xff.conf"
    assert Path(os.fsdecode(real)).read_text() == NEW_GRUB
    (record,) = list_journals(target)
    assert record["steps"][0]["resolved"] == f"/boot/grub/grub{FF}.conf"
    (data,) = journal_bytes(guest)
    assert b"grub\\udcff.conf" in data
    data.decode("utf-8")
    assert undo(target).status == "done"
    assert Path(os.fsdecode(real)).read_text() == GRUB


def test_preview_and_script_carry_the_bytes() -> None:
    step = Step(
        kind="command",
        why=f"rebuild /boot/initrd-2.6.18{FF}.img",
        argv=("mkinitrd", "-f", f"/boot/initrd-2.6.18{FF}.img", f"2.6.18{FF}"),
    )
    plan = Plan(Choices(), (step,), kernel=f"2.6.18{FF}", target={"kind": "root", "root": "/r"})
    text = render_text(plan)
    text.encode("utf-8")  # printable on any terminal, whatever its locale
    assert "mkinitrd -f '/boot/initrd-2.6.18\\xff.img'" in text
    script = render_script(plan).encode("utf-8", "surrogateescape")
    assert b"'/boot/initrd-2.6.18\xff.img'" in script


def test_preview_shows_control_characters_in_names_escaped() -> None:
    """A name with an escape sequence must not drive the user's terminal."""
    step = Step(kind="backup", why="keep it", path="/boot/a\x1b[2Jb", to="/boot/a.bak")
    plan = Plan(Choices(), (step,), target={"kind": "root", "root": "/r\nX"})
    text = render_text(plan)
    assert "\x1b" not in text and "/r\\x0aX" in text


def test_apply_progress_prints_names_and_output_escaped() -> None:
    """Command output and names reach the terminal as text, never as raw bytes."""
    import io

    from virtio_wizard.apply.events import ApplyEvent
    from virtio_wizard.commands.apply import print_event

    out = io.StringIO()
    show = print_event(1, out=out)
    show(ApplyEvent("step-done", 0, f"wrote /boot/grub/grub{FF}.conf"))
    show(ApplyEvent("output", 0, "mkinitrd: \x1b]0;owned\x07"))
    text = out.getvalue()
    text.encode("utf-8")
    assert "done: wrote /boot/grub/grub\\xff.conf" in text
    assert "| mkinitrd: \\x1b]0;owned\\x07" in text


@pytest.mark.parametrize("command", [["detect", "--json"], ["report", "--format", "json"]])
def test_json_on_stdout_carries_the_name_as_an_escape(odd_root, capsys, command) -> None:
    assert main(["--root", str(odd_root), *command]) == 0
    out = capsys.readouterr().out
    out.encode("utf-8")  # valid UTF-8 on any terminal or pipe
    assert "g\\udcffuest" in out
    assert str(odd_root) in json.dumps(json.loads(out), ensure_ascii=False)
