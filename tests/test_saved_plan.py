"""``apply --plan FILE``: a plan file can only say yes to what the wizard plans itself.

Forged plans (an edited argv, a setuid mode, a created cron file, an empty
target) are refused before anything is written: apply plans again from the
guest and the saved choices, and the saved steps must be exactly those.
Malformed plan files (bad types, modes, encodings, deep nesting, devices,
FIFOs, huge files) are refused in one line, exit 2, before anything else.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any, Callable

import pytest
from apply_fixtures import tree_state

from virtio_wizard.cli import main
from virtio_wizard.demo import open_demo
from virtio_wizard.plan.model import Choices, Plan, Step
from virtio_wizard.plan.saved import (
    _STEP_FIELDS,
    MAX_PLAN_BYTES,
    SavedPlanError,
    differences,
    parse_plan_document,
    plan_from_document,
)

INITRD = ["--method", "initrd", "--drivers", "block,net"]
SYSINIT = ["--method", "sysinit", "--drivers", "net", "--sysinit-file", "/etc/rc.d/rc.sysinit"]


@pytest.fixture
def guest(tmp_path: Path) -> Path:
    root = tmp_path / "rhel52"
    shutil.copytree(open_demo("rhel52").root, root, symlinks=True)
    return root


def saved_plan(guest: Path, folder: Path, options: list[str], capsys) -> dict[str, Any]:
    path = folder / "plan.json"
    assert main(["--root", str(guest), "plan", *options, "-o", str(path)]) == 0
    capsys.readouterr()
    return json.loads(path.read_text())


def apply_doc(guest: Path, folder: Path, doc: Any, capsys) -> tuple[int, str, str]:
    path = folder / "forged.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    code = main(["--root", str(guest), "apply", "--plan", str(path), "--yes"])
    out, err = capsys.readouterr()
    return code, out, err


def journals(root: Path) -> list[str]:
    folder = root / "var/lib/virtio-wizard/journal"
    return sorted(n for n in os.listdir(folder) if n.endswith(".json")) if folder.exists() else []


def step_of(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(s for s in doc["steps"] if s["kind"] == kind)


# ---- forged plans: refused, nothing written (item 3) -------------------------------


def _argv(doc):
    step_of(doc, "command")["argv"] = ["sh", "-c", "touch /PWNED"]


def _setuid(doc):
    edit = next(s for s in doc["steps"] if s["kind"] == "edit" and s["path"] == "/etc/fstab")
    edit["mode"] = 0o4755


def _cron(doc):
    doc["steps"].append(
        {
            **step_of(doc, "edit"),
            "path": "/etc/cron.d/evil",
            "old_sha256": None,
            "new_text": "* * * * * root touch /PWNED\n",
            "mode": 0o644,
        }
    )


def _new_text(doc):
    step_of(doc, "edit")["new_text"] += "* * * * * root touch /PWNED\n"


def _path(doc):
    step_of(doc, "edit")["path"] = "/etc/shadow"


def _encoding(doc):
    step_of(doc, "edit")["encoding"] = "latin-1"


def _image(doc):
    step_of(doc, "command")["image"] = "/boot/vmlinuz-evil"


def _drop_backup(doc):
    doc["steps"] = [s for s in doc["steps"] if s["kind"] != "backup"]


def _unrefuse(doc):
    doc["findings"] = []


FORGERIES: dict[str, Callable[[dict[str, Any]], None]] = {
    "argv": _argv,
    "setuid mode": _setuid,
    "created cron file": _cron,
    "new text": _new_text,
    "path": _path,
    "encoding": _encoding,
    "image": _image,
    "a step dropped": _drop_backup,
    "findings": _unrefuse,
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_a_forged_plan_is_refused(guest, tmp_path, capsys, name) -> None:
    doc = saved_plan(guest, tmp_path, INITRD, capsys)
    forged = copy.deepcopy(doc)
    FORGERIES[name](forged)
    assert forged != doc
    before = tree_state(guest)
    code, out, err = apply_doc(guest, tmp_path, forged, capsys)
    assert code == 3, (out, err)
    assert "is not what the wizard plans for this guest now" in err
    assert "make a new one with plan -o" in err and "nothing written" in err
    assert "mkinitrd" not in out and "Apply these" not in out  # no forged preview shown
    assert tree_state(guest) == before and journals(guest) == []
    assert not Path("/PWNED").exists()


def test_the_unforged_plan_applies(guest, tmp_path, capsys) -> None:
    """The control: the same file, untouched, is applied (the demo shows its commands)."""
    doc = saved_plan(guest, tmp_path, SYSINIT, capsys)
    code, out, err = apply_doc(guest, tmp_path, doc, capsys)
    assert code == 0, err
    assert "done: wrote /etc/rc.d/rc.sysinit" in out
    assert len(journals(guest)) == 1


def test_an_empty_target_is_refused_before_anything(guest, tmp_path, capsys) -> None:
    doc = saved_plan(guest, tmp_path, SYSINIT, capsys)
    doc["target"] = {}
    before = tree_state(guest)
    code, out, err = apply_doc(guest, tmp_path, doc, capsys)
    assert code == 2 and out == ""
    assert err.endswith("is not usable: target: missing kind, root; make it again with plan -o\n")
    assert tree_state(guest) == before


def test_a_plan_for_another_root_is_refused(guest, tmp_path, capsys) -> None:
    doc = saved_plan(guest, tmp_path, SYSINIT, capsys)
    doc["target"]["root"] = "/somewhere/else"
    code, _, err = apply_doc(guest, tmp_path, doc, capsys)
    assert code == 3 and "this plan was made for root /somewhere/else" in err


def test_a_file_changed_since_names_the_file(guest, tmp_path, capsys) -> None:
    doc = saved_plan(guest, tmp_path, SYSINIT, capsys)
    with open(guest / "etc/rc.d/rc.sysinit", "ab") as fh:
        fh.write(b"# edited by hand\n")
    code, _, err = apply_doc(guest, tmp_path, doc, capsys)
    assert code == 3
    assert "/etc/rc.d/rc.sysinit changed since the plan was made: re-run plan" in err


def test_a_rerun_after_the_apply_and_after_undo(guest, tmp_path, capsys) -> None:
    """The saved plan is the one the latest apply ran: a rerun finishes (here: nothing
    to do); after undo the guest is as planned again and the plan applies again."""
    doc = saved_plan(guest, tmp_path, SYSINIT, capsys)
    assert apply_doc(guest, tmp_path, doc, capsys)[0] == 0
    code, out, err = apply_doc(guest, tmp_path, doc, capsys)
    assert code == 0, err
    assert "nothing to change" in out
    assert len(journals(guest)) == 1
    assert main(["--root", str(guest), "undo", "--yes"]) == 0
    capsys.readouterr()
    assert apply_doc(guest, tmp_path, doc, capsys)[0] == 0
    assert len(journals(guest)) == 2


def test_a_journal_of_another_plan_does_not_vouch(guest, tmp_path, capsys) -> None:
    doc = saved_plan(guest, tmp_path, SYSINIT, capsys)
    forged = copy.deepcopy(doc)
    _new_text(forged)
    assert apply_doc(guest, tmp_path, doc, capsys)[0] == 0
    code, _, err = apply_doc(guest, tmp_path, forged, capsys)
    assert code == 3 and "is not what the wizard plans" in err


def test_differences_compare_every_step_field() -> None:
    assert set(_STEP_FIELDS) == {f.name for f in dataclasses.fields(Step)}
    a = Plan(Choices(), (Step("command", "x", argv=("mkinitrd",)),))
    b = Plan(Choices(), (Step("command", "x", argv=("sh", "-c", "id")),))
    assert differences(a, a) == []
    assert differences(a, b) == ["step 1 (argv)"]


# ---- malformed plan files: one line, exit 2, nothing written (item 12) -------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        keys = path.split(".")
        node: Any = doc
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


MALFORMED: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "mode rwx": (_set("steps.0.mode", "rwx"), "steps[0].mode: 'rwx' is not a file mode"),
    "mode 2**40": (_set("steps.0.mode", 2**40), "steps[0].mode: 1099511627776 is not a file"),
    "mode true": (_set("steps.0.mode", True), "steps[0].mode: True is not a file mode"),
    "encoding": (_set("steps.0.encoding", "rot13"), "steps[0].encoding: 'rot13' is not one of"),
    "utf-16": (_set("steps.0.encoding", "utf-16"), "steps[0].encoding: 'utf-16' is not one of"),
    "unencodable text": (
        lambda d: d["steps"][0].update(encoding="latin-1", new_text="\u20ac"),
        "steps[0].new_text: cannot be written as latin-1",
    ),
    "steps not a list": (_set("steps", "x"), "steps: 'x' is not a list"),
    "step not an object": (_set("steps.0", 7), "steps[0]: 7 is not an object"),
    "argv a string": (_set("steps.0.argv", "sh -c id"), "steps[0].argv: 'sh -c id' is not a list"),
    "argv item": (_set("steps.0.argv", [1]), "steps[0].argv[0]: 1 is not a string"),
    "kind": (_set("steps.0.kind", "shell"), "steps[0].kind: 'shell' is not one of"),
    "relative path": (_set("steps.0.path", "etc/fstab"), "is not an absolute path"),
    "nul in path": (_set("steps.0.path", "/etc/fstab\x00x"), "holds a NUL byte"),
    "lone surrogate": (_set("steps.0.path", "/etc/\ud800"), "is not a file name"),
    "sha": (_set("steps.0.old_sha256", "abc"), "steps[0].old_sha256: 'abc' is not a sha256"),
    "extra key": (lambda d: d["steps"][0].update(run="id"), "steps[0]: unknown 'run'"),
    "missing key": (lambda d: d["steps"][0].pop("why"), "steps[0]: missing why"),
    "choices": (_set("choices", []), "choices: [] is not an object"),
    "method": (_set("choices.method", "chroot"), "choices.method: 'chroot' is not one of"),
    "bool": (_set("choices.block", "yes"), "choices.block: 'yes' is not true or false"),
    "no driver": (
        lambda d: d["choices"].update(block=False, net=False),
        "choose at least one driver",
    ),
    "finding severity": (
        _set("findings.0.severity", "fatal"),
        "findings[0].severity: 'fatal' is not one of",
    ),
    "modules": (_set("modules", "virtio"), "modules: 'virtio' is not a list"),
    "target kind": (_set("target.kind", ""), "target.kind: empty"),
    "top-level extra": (lambda d: d.update(hooks=[]), "plan: unknown 'hooks'"),
    "schema": (_set("schema", "virtio-wizard/plan/1"), "not a virtio-wizard/plan/2 document"),
}


def one_line_exit_2(guest: Path, code: int, out: str, err: str, before: dict) -> None:
    assert code == 2, (out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("virtio-wizard: error: "), err
    assert tree_state(guest) == before and journals(guest) == []


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_field_is_one_line_exit_2(guest, tmp_path, capsys, name) -> None:
    doc = saved_plan(guest, tmp_path, SYSINIT, capsys)
    change, message = MALFORMED[name]
    change(doc)
    before = tree_state(guest)
    code, out, err = apply_doc(guest, tmp_path, doc, capsys)
    one_line_exit_2(guest, code, out, err, before)
    assert message in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100000, "is not JSON: nested too deeply"),
        ('{"a": ' * 50000 + "1" + "}" * 50000, "is not JSON: nested too deeply"),
        ("{oops", "is not JSON: Expecting property name"),
        ("", "is not JSON: Expecting value"),
        ("1" * 5000, "is not JSON"),
        ("[]", "is not usable: not a virtio-wizard/plan/2 document"),
    ],
)
def test_a_malformed_document_is_one_line_exit_2(guest, tmp_path, capsys, text, message) -> None:
    before = tree_state(guest)
    code, out, err = apply_doc(guest, tmp_path, text, capsys)
    one_line_exit_2(guest, code, out, err, before)
    assert message in err


def test_bytes_that_are_not_utf8(guest, tmp_path, capsys) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"schema": "caf\xe9"}')
    before = tree_state(guest)
    code = main(["--root", str(guest), "apply", "--plan", str(path), "--yes"])
    out, err = capsys.readouterr()
    one_line_exit_2(guest, code, out, err, before)
    assert "is not UTF-8 text (byte 15)" in err


class _Alarm(Exception):
    pass


def _apply_file(guest: Path, path: str, capsys) -> tuple[int, str, str]:
    """``apply --plan path`` with a 20 s alarm: a hang fails the test, not the suite."""

    def ring(*_):
        raise _Alarm

    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(20)
    try:
        code = main(["--root", str(guest), "apply", "--plan", path, "--yes"])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "directory", "/dev/null"])
def test_only_a_regular_file_is_read(guest, tmp_path, capsys, kind) -> None:
    if kind == "fifo":
        path = str(tmp_path / "plan.fifo")
        os.mkfifo(path)
    elif kind == "directory":
        path = str(tmp_path)
    else:
        path = kind
    before = tree_state(guest)
    code, out, err = _apply_file(guest, path, capsys)
    one_line_exit_2(guest, code, out, err, before)
    assert f"the plan {path} is not a regular file (plan -o writes one)" in err


def test_a_huge_file_is_read_no_further_than_the_limit(guest, tmp_path, capsys) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:
        fh.truncate(MAX_PLAN_BYTES * 4)  # sparse: a read to the end would take 128 MB
    before = tree_state(guest)
    code, out, err = _apply_file(guest, str(path), capsys)
    one_line_exit_2(guest, code, out, err, before)
    assert f"is larger than {MAX_PLAN_BYTES} bytes: not a plan" in err


def test_a_missing_file(guest, tmp_path, capsys) -> None:
    before = tree_state(guest)
    code, out, err = _apply_file(guest, str(tmp_path / "nope.json"), capsys)
    one_line_exit_2(guest, code, out, err, before)
    assert "cannot read the plan" in err and "No such file or directory" in err


def test_parse_round_trips_what_plan_writes(guest, tmp_path, capsys) -> None:
    doc = saved_plan(guest, tmp_path, INITRD, capsys)
    plan = parse_plan_document(json.dumps(doc).encode())
    assert plan.to_dict() == doc
    with pytest.raises(SavedPlanError, match="not a virtio-wizard/plan/2 document"):
        plan_from_document(None)


def test_an_unforged_initrd_plan_is_the_wizard_plan(guest, tmp_path, capsys) -> None:
    """The control for the forgeries: planning again gives the saved plan exactly."""
    from virtio_wizard.commands.apply import load_plan, rederive
    from virtio_wizard.detect import detect
    from virtio_wizard.targets import LocalTarget

    saved_plan(guest, tmp_path, INITRD, capsys)
    saved = load_plan(str(tmp_path / "plan.json"))
    assert any(s.kind == "command" for s in saved.steps)
    target = LocalTarget(str(guest))
    fresh = rederive(target, detect(target), saved, "plan.json")
    assert differences(saved, fresh) == [] and fresh.to_dict() == saved.to_dict()


# ---- the boot disk default follows the method, in the core too ----------------------

SYSINIT_BOTH = ["--method", "sysinit", "--drivers", "block,net"]


def test_core_sysinit_choices_plan_what_the_cli_plans(guest, tmp_path, capsys) -> None:
    """``Choices(method="sysinit")`` leaves the boot disk emulated, as the CLI does
    without --boot-disk: the same plan, not refused, and its saved form round-trips."""
    from virtio_wizard.detect import detect
    from virtio_wizard.plan import make_plan
    from virtio_wizard.targets import LocalTarget

    doc = saved_plan(guest, tmp_path, SYSINIT_BOTH, capsys)
    assert doc["choices"]["boot_disk"] == "emulated"
    target = LocalTarget(str(guest))
    core = make_plan(target, detect(target), Choices(method="sysinit"))
    assert core.choices.boot_disk == "emulated"
    assert not core.refused and core.steps
    assert "sysinit-no-boot-disk" not in {f.id for f in core.findings}
    assert core.to_dict() == doc
    assert parse_plan_document(json.dumps(doc).encode()) == core


def test_a_saved_sysinit_plan_moving_the_boot_disk_is_still_refused(
    guest, tmp_path, capsys
) -> None:
    """A plan file that says boot_disk virtio for sysinit keeps its word: the
    default applies only where the choice is left open, never to a saved plan."""
    path = tmp_path / "plan.json"
    options = [*SYSINIT_BOTH, "--boot-disk", "virtio", "-o", str(path)]
    assert main(["--root", str(guest), "plan", *options]) == 3
    capsys.readouterr()
    doc = json.loads(path.read_text())
    assert doc["choices"]["boot_disk"] == "virtio"
    assert parse_plan_document(path.read_bytes()).choices.boot_disk == "virtio"
    before = tree_state(guest)
    code, out, err = apply_doc(guest, tmp_path, doc, capsys)
    assert code == 3, (out, err)
    assert "sysinit-no-boot-disk" in err and "nothing written" in err
    assert tree_state(guest) == before and journals(guest) == []
    # The emulated plan with only its choice turned to virtio is not the wizard's plan.
    forged = saved_plan(guest, tmp_path, SYSINIT_BOTH, capsys)
    forged["choices"]["boot_disk"] = "virtio"
    code, out, err = apply_doc(guest, tmp_path, forged, capsys)
    assert code == 3 and "is not what the wizard plans for this guest now" in err
    assert tree_state(guest) == before and journals(guest) == []
