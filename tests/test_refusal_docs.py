"""Every refusal a user can meet is explained in docs/troubleshooting.md.

The ids are collected from the code, not from a list kept by hand: the
checks' registry (``checks.FINDING_IDS``), every ``Finding("id", ...)`` call
in the core (found with ``ast``, so a new refusal in the planner is seen the
day it is written), every error class of apply, undo, the Target and SSH,
and the literal start of every ``UsageError`` message. A new one without an
entry in the doc fails here.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import virtio_wizard
from virtio_wizard import targets
from virtio_wizard.apply import preflight, undo
from virtio_wizard.checks import FINDING_IDS

PACKAGE = Path(virtio_wizard.__file__).parent
DOC = PACKAGE.parent / "docs" / "troubleshooting.md"


def _core_files() -> list[Path]:
    """The core modules (the TUI only shows what the core says)."""
    return sorted(p for p in PACKAGE.rglob("*.py") if "tui" not in p.relative_to(PACKAGE).parts)


def _calls(name: str):
    for path in _core_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = getattr(func, "id", None) or getattr(func, "attr", None)
                if called == name:
                    yield path, node


def finding_ids() -> dict[str, str]:
    """id -> file for every ``Finding(...)`` built in the core."""
    ids: dict[str, str] = {}
    dynamic: list[str] = []
    for path, node in _calls("Finding"):
        first = node.args[0] if node.args else None
        kw = {k.arg: k.value for k in node.keywords}
        first = first if first is not None else kw.get("id")
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            ids.setdefault(first.value, str(path.relative_to(PACKAGE)))
        else:
            dynamic.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    dynamic = [d for d in dynamic if not d.startswith("finding.py")]
    # A computed id would escape this check: each must be a literal.
    assert dynamic == [], f"Finding ids that are not string literals: {dynamic}"
    return ids


def usage_prefixes() -> list[str]:
    """The literal start of every usage error message (before the first value).

    ``SSHSpecError`` is the targets' own usage error: the CLI shows it as a
    UsageError with the same message.
    """
    out = []
    for _path, node in [*_calls("UsageError"), *_calls("SSHSpecError")]:
        if not node.args:
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            text = arg.value
        elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant):
            text = arg.values[0].value
        else:
            continue  # str(exc): the message of an error documented elsewhere
        text = text.strip().rstrip(":")
        if text:
            out.append(text)
    return out


def _target_modules() -> list:
    """Every module of the targets package (the doors to a guest raise these)."""
    found = pkgutil.walk_packages(targets.__path__, targets.__name__ + ".")
    return [importlib.import_module(info.name) for info in found]


def error_classes() -> list[str]:
    """Refusal and error classes a user can meet from apply, undo, Target and SSH."""
    bases = (preflight.ApplyRefused, undo.UndoRefused, targets.TargetError)
    names = set()
    for module in (preflight, undo, *_target_modules()):
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, bases)
                and obj.__module__ == module.__name__
            ):
                names.add(name)
    return sorted(names)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_the_scan_finds_the_known_refusals():
    """Guard the scanner itself: it must see refusals we know exist."""
    ids = finding_ids()
    for known in ("kernel-none", "sysinit-no-boot-disk", "initrd-tool-unknown", "not-linux"):
        assert known in ids
    assert len(ids) >= len(FINDING_IDS) + 10
    assert "--method is required: sysinit or initrd" in usage_prefixes()
    assert "--ssh" in usage_prefixes()
    assert {"ApplyRefused", "StaleFileError", "LockedError", "UndoRefused"} <= set(error_classes())


@pytest.mark.parametrize("finding_id", sorted(FINDING_IDS))
def test_every_check_finding_is_documented(doc: str, finding_id: str):
    assert f"### `{finding_id}`" in doc, f"add a section for `{finding_id}` to {DOC.name}"


@pytest.mark.parametrize("finding_id", sorted(finding_ids()))
def test_every_finding_the_code_can_emit_is_documented(doc: str, finding_id: str):
    assert f"`{finding_id}`" in doc, (
        f"`{finding_id}` ({finding_ids()[finding_id]}) has no entry in {DOC.name}"
    )


@pytest.mark.parametrize("name", error_classes())
def test_every_error_class_is_documented(doc: str, name: str):
    assert name in doc, f"{name} has no entry in {DOC.name}"


@pytest.mark.parametrize("prefix", usage_prefixes())
def test_every_usage_error_is_documented(doc: str, prefix: str):
    assert prefix in doc, f"the usage error {prefix!r} is not in {DOC.name}"


@pytest.mark.parametrize(
    "message",
    [
        "needs root: run virtio-wizard as root (sudo)",
        "make a new plan for this guest",
        "free some space there (old kernels, old images) and apply again",
        "changed since the plan was made: re-run plan",
        "another virtio-wizard is applying to this\nguest",
        "cannot take the lock",
        "cannot write the journal",
        "the file being written is unchanged",
        "undo refused, nothing was changed",
        "larger than N bytes",
        "not a regular file",
        "too many levels of symbolic links",
        "cannot export the plan as a script",
        "is not what the wizard plans for this guest now",
        "a plan file can only confirm the wizard's own plan; make a new one with plan -o",
        "is not a regular file (plan -o writes one)",
        "is larger than N bytes: not a plan",
        "is not UTF-8 text (byte N)",
        "nested too deeply",
        "is not a file mode (0 to 0o7777)",
        "is not a sha256 (64 lowercase hex digits)",
        "is not an absolute path",
        "holds a NUL byte",
        "make it again with plan -o",
    ],
)
def test_key_messages_are_quoted(doc: str, message: str):
    """The doc quotes the words a user sees, so searching the page finds them."""
    assert " ".join(message.split()) in " ".join(doc.split())


def test_a_missing_id_would_fail(tmp_path):
    """The check is real: a doc without one id is caught."""
    text = DOC.read_text(encoding="utf-8").replace("### `kernel-none`", "### removed")
    assert "`kernel-none`" not in text
    assert "kernel-none" in finding_ids()
