"""One renderer for a Plan, shared by the CLI and the TUI.

The preview is what the user agrees to, so both front ends must show the
same words: refusals first with their fix, then notes, then every step
numbered with its reason, each edit as a unified diff and each command as
the exact line that will run (``shlex.join``, so it can be pasted into a
shell). Everything is built once as styled lines; ``render_text`` joins them
(optionally with ANSI colours), ``render_rich`` turns them into Rich Text for
the TUI. Only ASCII is used for the decorations (Linux VT, serial consoles);
``ascii=True`` also escapes non-ASCII bytes inside the guest's own text.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from .finding import ERROR, WARNING
from .plan.model import Plan, Step

if TYPE_CHECKING:
    from rich.console import Group

__all__ = ["render_text", "render_rich", "command_line", "styled_lines", "NOTHING_TO_DO"]

NOTHING_TO_DO = "Nothing to do: the guest already has what these choices need."

#: Style name -> (ANSI SGR code, Rich style).
STYLES: dict[str, tuple[str, str]] = {
    "title": ("1", "bold"),
    "error": ("1;31", "bold red"),
    "warning": ("33", "yellow"),
    "info": ("36", "cyan"),
    "step": ("1", "bold"),
    "add": ("32", "green"),
    "del": ("31", "red"),
    "hunk": ("36", "cyan"),
    "meta": ("2", "dim"),
    "command": ("1;33", "bold yellow"),
    "": ("", ""),
}


def command_line(step: Step) -> str:
    """The shell line a ``command`` or ``backup`` step amounts to.

    A backup is shown as the ``cp -p`` it is equivalent to. An edit has no
    command line (show its diff instead): ValueError.

    >>> command_line(Step(kind="command", why="", argv=("mkinitrd", "-f", "/boot/a b.img")))
    "mkinitrd -f '/boot/a b.img'"
    """
    if step.kind == "command":
        return shlex.join(step.argv)
    if step.kind == "backup":
        return shlex.join(["cp", "-p", step.path or "", step.to or ""])
    raise ValueError("an edit step has no command line; show its diff")


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "meta"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    if line.startswith("@@"):
        return "hunk"
    return ""


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c != 0x09}
_CONTROL[0x0D] = ""  # CRLF files: the CR is kept in the file, not shown


def _printable(line: str) -> str:
    """Guest text made safe for a terminal: control bytes shown, never sent.

    A hostile guest file could hold escape sequences; printed raw they would
    drive the user's terminal.
    """
    return line.translate(_CONTROL)


def _mode(mode: object) -> str:
    return f"{mode:04o}" if isinstance(mode, int) else "kept"


def styled_lines(plan: Plan) -> list[tuple[str, str]]:
    """The preview as (text, style) lines, the one source of every rendering."""
    out: list[tuple[str, str]] = []
    c = plan.choices
    where = plan.target.get("root") or "?"
    kernel = plan.kernel or "?"
    out.append(
        (
            f"Plan for {where}: method {c.method}, drivers {c.drivers}, kernel {kernel}",
            "title",
        )
    )
    if plan.modules:
        out.append((f"Modules, in load order: {' '.join(plan.modules)}", ""))
    refusals = plan.refusals
    if refusals:
        out.append(("", ""))
        out.append(("REFUSED: nothing will be changed.", "error"))
        for f in refusals:
            out.append((f"  [{f.id}] {f.message}", "error"))
            if f.fix:
                out.append((f"    fix: {f.fix}", ""))
    notes = [f for f in plan.findings if f.severity != ERROR]
    if notes:
        out.append(("", ""))
        out.append(("Notes:", "title"))
        for f in notes:
            style = "warning" if f.severity == WARNING else "info"
            out.append((f"  {f.severity}: [{f.id}] {f.message}", style))
            if f.fix:
                out.append((f"    {f.fix}", ""))
    if refusals:
        return out
    out.append(("", ""))
    if not plan.steps:
        out.append((NOTHING_TO_DO, "title"))
        return out
    out.append((f"Steps ({len(plan.steps)}):", "title"))
    for n, step in enumerate(plan.steps, 1):
        out.append(("", ""))
        if step.kind == "edit":
            action = "create" if step.old_sha256 is None else "edit"
            extra = f" ({step.encoding})" if step.encoding != "utf-8" else ""
            out.append((f"{n}. {action} {step.path}, mode {_mode(step.mode)}{extra}", "step"))
            out.append((f"   why: {step.why}", ""))
            for line in step.diff.split("\n")[:-1]:
                out.append(("   " + _printable(line), _diff_style(line)))
        elif step.kind == "backup":
            out.append((f"{n}. back up {step.path} to {step.to}", "step"))
            out.append((f"   why: {step.why}", ""))
            out.append((f"   $ {command_line(step)}", "command"))
        else:
            out.append((f"{n}. run in the guest", "step"))
            out.append((f"   why: {step.why}", ""))
            out.append((f"   $ {command_line(step)}", "command"))
            if step.verify_modules:
                out.append(
                    (
                        f"   then check {step.image} holds: {' '.join(step.verify_modules)}",
                        "meta",
                    )
                )
    return out


def _ascii(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii")


def render_text(plan: Plan, *, color: bool = False, ascii: bool = False) -> str:
    """The preview as plain text (ANSI colours when ``color``), ending in a newline."""
    lines = []
    for text, style in styled_lines(plan):
        if ascii:
            text = _ascii(text)
        code = STYLES[style][0]
        lines.append(f"\x1b[{code}m{text}\x1b[0m" if color and code and text else text)
    return "\n".join(lines) + "\n"


def render_rich(plan: Plan, *, ascii: bool = False) -> Group:
    """The preview as Rich renderables (one Text per line), for the TUI."""
    from rich.console import Group
    from rich.text import Text

    texts = []
    for text, style in styled_lines(plan):
        if ascii:
            text = _ascii(text)
        texts.append(Text(text, style=STYLES[style][1], no_wrap=False))
    return Group(*texts)
