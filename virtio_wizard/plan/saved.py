"""A saved plan (``plan -o FILE``) read back: checked whole, then re-derived.

A plan file is input from outside, as hostile as a guest tree: an edited one
could name any command, any mode, any file to create. So ``apply --plan``
never executes what the file says. It

1. parses the document with bounds (``parse_plan_document``: UTF-8, JSON
   without runaway nesting) and checks every field's type and range
   (``plan_from_document``: a schema in code) before anything else happens;
   one line names the first field that is wrong;
2. plans again from the current Facts and the saved Choices and compares
   (``differences``): the saved steps must be exactly the ones the wizard
   plans now (argv, paths, modes, encodings, hashes, new text, files to
   create). What runs is the fresh plan; the file can only say yes to it.

Reading the file (regular files only, bounded) is the CLI's job
(``commands/apply.py``); this module gets its bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any, Callable, Optional

from ..finding import SEVERITIES, Finding, Remedy, Setting
from .model import METHODS, PLAN_SCHEMA, STEP_KINDS, Choices, Plan, PlanError, Step

__all__ = [
    "MAX_PLAN_BYTES",
    "ENCODINGS",
    "SavedPlanError",
    "parse_plan_document",
    "plan_from_document",
    "differences",
    "stale_edit",
]

#: A saved plan holds the new text of a few config files: far below this.
MAX_PLAN_BYTES = 32 * 1024 * 1024
#: The encodings the planner writes files back in (``plan/edits.py``).
ENCODINGS = ("utf-8", "latin-1")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_BOOT_DISKS = ("virtio", "emulated")


class SavedPlanError(PlanError):
    """A plan document that cannot be used at all (exit 2, nothing written)."""


def _show(value: Any) -> str:
    """A value for a one-line message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(where: str, what: str) -> SavedPlanError:
    return SavedPlanError(f"{where}: {what}", where)


# ---- field checks --------------------------------------------------------------


def _record(value: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """An object with exactly ``keys`` (the plan writer writes them all, nothing else)."""
    if not isinstance(value, dict):
        raise _fail(where, f"{_show(value)} is not an object")
    missing = [k for k in keys if k not in value]
    if missing:
        raise _fail(where, f"missing {', '.join(missing)}")
    extra = sorted(str(k) for k in value if k not in keys)
    if extra:
        raise _fail(where, f"unknown {', '.join(_show(k) for k in extra)}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, f"{_show(value)} is not true or false")
    return value


def _text(value: Any, where: str, *, nullable: bool = False) -> Optional[str]:
    """Any text (reasons, diffs, file contents): only its type is checked here."""
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _fail(where, f"{_show(value)} is not a string")
    return value


def _word(value: Any, where: str, *, nullable: bool = False) -> Optional[str]:
    """A name, an argument or a path: no NUL, bytes only as surrogate escapes."""
    text = _text(value, where, nullable=nullable)
    if text is None:
        return None
    if "\0" in text:
        raise _fail(where, f"{_show(text)} holds a NUL byte")
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise _fail(where, f"{_show(text)} is not a file name") from None
    return text


def _path(value: Any, where: str, *, nullable: bool = False) -> Optional[str]:
    text = _word(value, where, nullable=nullable)
    if text is not None and not text.startswith("/"):
        raise _fail(where, f"{_show(text)} is not an absolute path")
    return text


def _choice(value: Any, where: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed or not isinstance(value, str):
        raise _fail(where, f"{_show(value)} is not one of {', '.join(allowed)}")
    return value


def _words(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _fail(where, f"{_show(value)} is not a list")
    return tuple(str(_word(v, f"{where}[{i}]")) for i, v in enumerate(value))


def _mode(value: Any, where: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0o7777:
        raise _fail(where, f"{_show(value)} is not a file mode (0 to 0o7777)")
    return value


def _sha(value: Any, where: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or not _SHA256.match(value):
        raise _fail(where, f"{_show(value)} is not a sha256 (64 lowercase hex digits)")
    return value


def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


# ---- records -------------------------------------------------------------------


def _choices(value: Any) -> Choices:
    d = _record(value, "choices", _names(Choices))
    return Choices(
        method=_choice(d["method"], "choices.method", METHODS),
        block=_bool(d["block"], "choices.block"),
        net=_bool(d["net"], "choices.net"),
        kernel=_word(d["kernel"], "choices.kernel", nullable=True),
        fix_disk_names=None
        if d["fix_disk_names"] is None
        else _bool(d["fix_disk_names"], "choices.fix_disk_names"),
        use_uuid=_bool(d["use_uuid"], "choices.use_uuid"),
        sysinit_file=_path(d["sysinit_file"], "choices.sysinit_file", nullable=True),
        boot_disk=_choice(d["boot_disk"], "choices.boot_disk", _BOOT_DISKS),
        all_kernels=_bool(d["all_kernels"], "choices.all_kernels"),
    )


def _step(value: Any, where: str) -> Step:
    d = _record(value, where, _names(Step))
    kind = _choice(d["kind"], f"{where}.kind", STEP_KINDS)
    step = Step(
        kind=kind,
        why=str(_text(d["why"], f"{where}.why")),
        path=_path(d["path"], f"{where}.path", nullable=True),
        old_sha256=_sha(d["old_sha256"], f"{where}.old_sha256"),
        new_text=_text(d["new_text"], f"{where}.new_text", nullable=True),
        encoding=_choice(d["encoding"], f"{where}.encoding", ENCODINGS),
        mode=_mode(d["mode"], f"{where}.mode"),
        diff=str(_text(d["diff"], f"{where}.diff")),
        to=_path(d["to"], f"{where}.to", nullable=True),
        argv=_words(d["argv"], f"{where}.argv"),
        image=_path(d["image"], f"{where}.image", nullable=True),
        verify_modules=_words(d["verify_modules"], f"{where}.verify_modules"),
        build=_path(d["build"], f"{where}.build", nullable=True),
        verify_members=_words(d["verify_members"], f"{where}.verify_members"),
    )
    needs = {
        "edit": ("path", "new_text"),
        "backup": ("path", "to"),
        "command": ("argv",),
        "remove": ("path", "old_sha256"),
    }
    for key in needs[kind]:
        if not getattr(step, key):
            raise _fail(f"{where}.{key}", f"a {kind} step needs one")
    if step.new_text is not None:
        try:
            step.new_bytes()
        except UnicodeEncodeError:
            raise _fail(f"{where}.new_text", f"cannot be written as {step.encoding}") from None
    return step


def _setting(value: Any, where: str) -> Setting:
    d = _record(value, where, ("choice", "value"))
    try:
        return Setting(str(_word(d["choice"], f"{where}.choice")), d["value"])
    except ValueError as exc:
        raise _fail(where, str(exc)) from None


def _remedy(value: Any, where: str) -> Remedy:
    d = _record(value, where, ("advice", "options", "command"))
    options = _list(
        d["options"],
        f"{where}.options",
        lambda option, at: _list(option, at, _setting),
    )
    return Remedy(str(_text(d["advice"], f"{where}.advice")), options,
                  _words(d["command"], f"{where}.command"))  # fmt: skip


def _finding(value: Any, where: str) -> Finding:
    d = _record(value, where, _names(Finding))
    _word(d["id"], f"{where}.id")
    _choice(d["severity"], f"{where}.severity", SEVERITIES)
    for key in ("message", "source"):
        _text(d[key], f"{where}.{key}")
    _remedy(d["remedy"], f"{where}.remedy")
    return Finding.from_dict(d)


def _list(value: Any, where: str, item: Callable[[Any, str], Any]) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise _fail(where, f"{_show(value)} is not a list")
    return tuple(item(v, f"{where}[{i}]") for i, v in enumerate(value))


def plan_from_document(data: Any) -> Plan:
    """The Plan a ``virtio-wizard/plan/2`` document holds; SavedPlanError for any bad field.

    Every key the writer writes must be there with its type and range (a mode
    is 0 to 0o7777, a hash 64 hex digits, an encoding one the planner uses, a
    path absolute and without NUL); nothing else may be.
    """
    if not isinstance(data, dict) or data.get("schema") != PLAN_SCHEMA:
        raise SavedPlanError(f"not a {PLAN_SCHEMA} document", "schema")
    keys = ("schema", "choices", "kernel", "kernels", "modules", "target", "steps", "findings")
    d = _record(data, "plan", keys)
    target = _record(d["target"], "target", ("kind", "root"))
    for key in ("kind", "root"):
        if not _word(target[key], f"target.{key}"):
            raise _fail(f"target.{key}", "empty")
    try:
        return Plan(
            choices=_choices(d["choices"]),
            steps=_list(d["steps"], "steps", _step),
            findings=_list(d["findings"], "findings", _finding),
            modules=_words(d["modules"], "modules"),
            kernel=_word(d["kernel"], "kernel", nullable=True),
            target={"kind": target["kind"], "root": target["root"]},
            kernels=_words(d["kernels"], "kernels"),
        )
    except SavedPlanError:
        raise
    except (PlanError, ValueError) as exc:  # a record's own check (Choices: no driver)
        raise SavedPlanError(str(exc), getattr(exc, "context", "")) from exc


def parse_plan_document(raw: bytes) -> Plan:
    """Bytes of a plan file -> Plan; SavedPlanError (one line) when they are not one.

    ``raw`` is at most ``MAX_PLAN_BYTES`` (the caller reads no more). The
    writer escapes bytes that are not UTF-8 (``\\udcff``), so the text itself
    must be UTF-8. Deep nesting (``[[[[...``) is refused, not a crash.
    """
    if len(raw) > MAX_PLAN_BYTES:
        raise SavedPlanError(f"larger than {MAX_PLAN_BYTES} bytes: not a plan")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SavedPlanError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise SavedPlanError("not JSON: nested too deeply") from None
    except ValueError as exc:
        raise SavedPlanError(f"not JSON: {exc}") from None
    return plan_from_document(data)


# ---- re-derivation ---------------------------------------------------------------

#: Step fields in the order a difference is reported (what runs first).
_STEP_FIELDS = (
    "kind", "path", "to", "argv", "image", "build", "mode", "encoding", "old_sha256",
    "new_text", "verify_modules", "verify_members", "why", "diff",
)  # fmt: skip


def differences(saved: Plan, fresh: Plan) -> list[str]:
    """Where ``saved`` is not what the wizard plans now (``fresh``); empty when identical.

    The target is compared apart (``apply.check_plan_applicable`` names the
    guest it was made for), since a root may be spelled two ways.
    """
    out: list[str] = []
    if saved.choices != fresh.choices:
        out.append("choices")
    for name in ("kernel", "kernels", "modules", "findings"):
        if getattr(saved, name) != getattr(fresh, name):
            out.append(name)
    if len(saved.steps) != len(fresh.steps):
        out.append(f"{len(saved.steps)} steps saved, {len(fresh.steps)} planned now")
    for i, (a, b) in enumerate(zip(saved.steps, fresh.steps)):
        fields = [f for f in _STEP_FIELDS if getattr(a, f) != getattr(b, f)]
        if fields:
            out.append(f"step {i + 1} ({', '.join(fields)})")
    return out


def stale_edit(saved: Plan, fresh: Plan, sha_of: Callable[[str], Optional[str]]) -> Optional[str]:
    """The first file both plans edit that is neither as saved nor as wanted now.

    ``sha_of(path)`` is the sha256 of the guest file now (None: absent). Such
    a file explains a difference better than "the plan differs": it changed
    since the plan was made. Files only the saved plan edits are no such
    explanation (the wizard would not touch them).
    """
    planned = {s.path for s in fresh.steps if s.kind == "edit"}
    for step in saved.steps:
        if step.kind != "edit" or step.path not in planned:
            continue
        now = sha_of(step.path or "")
        if now not in (step.old_sha256, hashlib.sha256(step.new_bytes()).hexdigest()):
            return step.path
    return None
