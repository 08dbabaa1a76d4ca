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

import os
import shlex
import shutil
import textwrap
from typing import TYPE_CHECKING, Optional

from .finding import ERROR, WARNING
from .plan.model import Plan, Step
from .present.remedy import FixWords, cli_fix

if TYPE_CHECKING:
    from rich.console import Group

__all__ = [
    "render_text",
    "render_rich",
    "command_line",
    "styled_lines",
    "wrap_prose",
    "fold_diff",
    "fold_command",
    "terminal_width",
    "printable",
    "NOTHING_TO_DO",
]

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
    if step.kind == "remove":
        return shlex.join(["rm", "-f", step.path or ""])
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
# Bytes of a name that is not UTF-8 (held as surrogate escapes): shown as \xNN.
_CONTROL.update({c: f"\\x{c - 0xDC00:02x}" for c in range(0xDC80, 0xDD00)})


def _printable(line: str) -> str:
    """Guest text made safe for a terminal: control bytes shown, never sent.

    A hostile guest file (or file name) could hold escape sequences; printed
    raw they would drive the user's terminal. Bytes of a name that is not
    UTF-8 are shown as ``\\xNN``, so the preview prints on any terminal.
    """
    return line.translate(_CONTROL)


#: For other faces that print guest text line by line (apply's progress).
printable = _printable


def _mode(mode: object) -> str:
    return f"{mode:04o}" if isinstance(mode, int) else "kept"


def styled_lines(plan: Plan, fix_words: FixWords = cli_fix) -> list[tuple[str, str]]:
    """The preview as (text, style) lines, the one source of every rendering."""
    return [(text, style) for text, style, _ in _lines(plan, fix_words)]


def wrap_prose(text: str, hang: int, width: int) -> list[str]:
    """``text`` folded to ``width`` columns, continuation lines indented by ``hang``.

    Only prose goes through here (reasons, findings, fixes): words are never
    broken, so a path or a command option stays whole and copyable even when
    it alone is wider than the terminal.
    """
    if len(text) <= width:
        return [text]
    return textwrap.wrap(
        text,
        width=width,
        subsequent_indent=" " * hang,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [text]


#: ``hang`` values of lines that fold their own way (see ``fold_line``).
DIFF, COMMAND = -1, -2
#: Shown after the marker of a diff line's continuation: "   +> rest".
DIFF_CONTINUED = "> "
#: Indent of a command's continuation lines, under the command after "$ ".
COMMAND_INDENT = "       "


def fold_diff(line: str, width: int) -> list[str]:
    """A diff line folded to ``width``, its ``-``/``+``/`` `` marker on every visual line.

    ``line`` is the preview's form (three spaces, the marker, the text).
    Continuations repeat the marker and add ``> ``, so a folded ``fstab``
    line never reads as a line of its own, let alone an unchanged one.

    >>> fold_diff("   -/dev/hda1 /boot ext3 defaults 1 2", 24)
    ['   -/dev/hda1 /boot ext3', '   -> defaults 1 2']
    """
    if len(line) <= width or len(line) < 4:
        return [line]
    lead = line[:4]
    room = width - len(lead) - len(DIFF_CONTINUED)
    if room < 8:
        return [line]
    first, rest = _cut(line[4:], width - len(lead))
    parts = [lead + first]
    while rest:
        piece, rest = _cut(rest, room)
        parts.append(lead + DIFF_CONTINUED + piece)
    return parts


def _cut(text: str, room: int) -> tuple[str, str]:
    """(what fits in ``room``, the rest): at the last space that fits, else hard.

    The one space a fold replaces is dropped, as a line break replaces it.
    """
    if len(text) <= room:
        return text, ""
    at = text.rfind(" ", 1, room + 1)
    if at <= 0:
        return text[:room], text[room:]
    return text[:at], text[at + 1 :]


def fold_command(line: str, width: int) -> list[str]:
    r"""A ``   $ command`` line as shell-continued lines (`` \``) within ``width``.

    Arguments are never split, and the lines still paste into a shell as
    the one command they are (a backslash-newline joins them).

    >>> fold_command("   $ mkinitrd -f --with=virtio --with=virtio_ring /boot/i.img 2.6", 42)
    ['   $ mkinitrd -f --with=virtio \\', '       --with=virtio_ring /boot/i.img 2.6']
    """
    if len(line) <= width or "$ " not in line:
        return [line]
    head, _, command = line.partition("$ ")
    try:
        words = [shlex.quote(w) for w in shlex.split(command)]
    except ValueError:
        return [line]
    lines: list[str] = []
    current = head + "$ " + words[0]
    for i, word in enumerate(words[1:], 2):
        tail = 0 if i == len(words) else 2  # room for " \\" unless it is the last word
        if len(current) + 1 + len(word) + tail > width:
            lines.append(current + " \\")
            current = COMMAND_INDENT + word
        else:
            current += " " + word
    lines.append(current)
    return lines


def fold_line(text: str, hang: Optional[int], width: int) -> list[str]:
    """One preview line folded to ``width`` the way its kind needs."""
    if hang is None:
        return [text]
    if hang == DIFF:
        return fold_diff(text, width)
    if hang == COMMAND:
        return fold_command(text, width)
    return wrap_prose(text, hang, width)


def terminal_width(isatty: bool) -> Optional[int]:
    """Columns to fold the preview to: the terminal's, or ``$COLUMNS``; None for a pipe.

    Output sent to a file or another program keeps one line per item, so it
    can be searched and compared; ``COLUMNS`` lets a user ask for folding anyway.
    """
    if not isatty and not os.environ.get("COLUMNS"):
        return None
    columns = shutil.get_terminal_size(fallback=(0, 0)).columns
    return columns if columns >= 40 else None


def _lines(plan: Plan, fix_words: FixWords) -> list[tuple[str, str, Optional[int]]]:
    """(text, style, hang) lines; ``hang`` is the indent of folded prose, None for a
    line that stays whole, ``DIFF`` or ``COMMAND`` for lines folded their own way.

    Every line goes through ``_printable``: paths, kernel versions and
    reasons come from the guest as much as file contents do.
    """
    return [(_printable(text), style, hang) for text, style, hang in _raw_lines(plan, fix_words)]


#: One preview line: its text, its style, and the hanging indent its folded lines take.
Line = tuple[str, str, Optional[int]]


def _finding_lines(plan: Plan, fix_words: FixWords) -> list[Line]:
    """The refusals (with their fixes), then the notes."""
    out: list[Line] = []
    refusals = plan.refusals
    if refusals:
        out.append(("", "", None))
        out.append(("REFUSED: nothing will be changed.", "error", None))
        for f in refusals:
            out.append((f"  [{f.id}] {f.message}", "error", 4))
            if f.remedy:
                out.append((f"    fix: {fix_words(f.remedy)}", "", 9))
    notes = [f for f in plan.findings if f.severity != ERROR]
    if notes:
        out.append(("", "", None))
        out.append(("Notes:", "title", None))
        for f in notes:
            style = "warning" if f.severity == WARNING else "info"
            out.append((f"  {f.severity}: [{f.id}] {f.message}", style, 4))
            if f.remedy:
                out.append((f"    {fix_words(f.remedy)}", "", 4))
    return out


def _check_lines(step: Step) -> list[Line]:
    """What apply checks after a rebuild: the modules (and what the root needs) in the new
    image, then the rename."""
    root: list[Line] = []
    if step.verify_members:
        root = [(f"   and what the root needs: {_root_needs(step)}", "meta", 8)]
    if step.build and step.image:
        holds = f" holds: {' '.join(step.verify_modules)}" if step.verify_modules else ""
        line = f"   then check {step.build}{holds}, and rename it over {step.image}"
        return [(line, "meta", 8), *root]
    if step.verify_modules:
        return [(f"   then check {step.image} holds: {' '.join(step.verify_modules)}", "meta", 8)]
    return root


def _step_lines(n: int, step: Step) -> list[Line]:
    """One step: its heading, why, then its diff or its command line."""
    why: Line = (f"   why: {step.why}", "", 8)
    if step.kind == "edit":
        action = "create" if step.old_sha256 is None else "edit"
        extra = f" ({step.encoding})" if step.encoding != "utf-8" else ""
        head: Line = (f"{n}. {action} {step.path}, mode {_mode(step.mode)}{extra}", "step", 3)
        diff = [
            ("   " + _printable(ln), _diff_style(ln), DIFF) for ln in step.diff.split("\n")[:-1]
        ]
        return [head, why, *diff]
    heading = {
        "remove": f"{n}. remove {step.path} (a copy is kept with the journal)",
        "backup": f"{n}. back up {step.path} to {step.to}",
    }.get(step.kind, f"{n}. run in the guest")
    out: list[Line] = [
        (heading, "step", 3),
        why,
        (f"   $ {command_line(step)}", "command", COMMAND),
    ]
    if step.kind == "command":
        out += _check_lines(step)
    return out


def _raw_lines(plan: Plan, fix_words: FixWords) -> list[Line]:
    out: list[Line] = []
    c = plan.choices
    where = plan.target.get("root") or "?"
    # Every kernel the plan prepares: the boot loader's default first, then the others.
    kernels = f"kernels {', '.join(plan.kernels)}" if len(plan.kernels) > 1 else None
    kernels = kernels or f"kernel {plan.kernel or '?'}"
    out.append(
        (
            f"Plan for {where}: method {c.method}, drivers {c.drivers}, {kernels}",
            "title",
            4,
        )
    )
    if plan.modules:
        out.append((f"Modules, in load order: {' '.join(plan.modules)}", "", 4))
    out += _finding_lines(plan, fix_words)
    if plan.refusals:
        return out
    out.append(("", "", None))
    if not plan.steps:
        out.append((NOTHING_TO_DO, "title", 0))
        return out
    out.append((f"Steps ({len(plan.steps)}):", "title", None))
    for n, step in enumerate(plan.steps, 1):
        out.append(("", "", None))
        out += _step_lines(n, step)
    return out


def _root_needs(step: Step) -> str:
    from .plan.rootneeds import decode, describe

    return describe(decode(n) for n in step.verify_members)


def _ascii(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii")


def render_text(
    plan: Plan,
    *,
    color: bool = False,
    ascii: bool = False,
    width: Optional[int] = None,
    fix_words: FixWords = cli_fix,
) -> str:
    """The preview as plain text (ANSI colours when ``color``), ending in a newline.

    With ``width`` (the terminal's columns) prose is folded with a hanging
    indent, so an 80-column terminal does not break reasons and fixes at the
    left margin; diff lines keep their marker on every visual line and
    commands become shell-continued lines. Without it (a pipe, a file) every
    item stays one line, to be searched and compared.
    """
    lines = []
    for text, style, hang in _lines(plan, fix_words):
        if ascii:
            text = _ascii(text)
        code = STYLES[style][0]
        parts = fold_line(text, hang, width) if width else [text]
        for part in parts:
            lines.append(f"\x1b[{code}m{part}\x1b[0m" if color and code and part else part)
    return "\n".join(lines) + "\n"


def render_rich(plan: Plan, *, ascii: bool = False, fix_words: FixWords = cli_fix) -> Group:
    """The preview as Rich renderables (one per line), for the TUI.

    The TUI passes its own ``fix_words`` (``tui.wizard_terms.wizard_fix``), so
    a remedy names the control on screen instead of a command-line flag.

    Every line is folded at render time to the width it gets, exactly as
    ``render_text`` folds it for a terminal of that width.
    """
    from rich.console import Group
    from rich.text import Text

    items: list[object] = []
    for text, style, hang in _lines(plan, fix_words):
        if ascii:
            text = _ascii(text)
        if hang is None or not text:
            items.append(Text(text, style=STYLES[style][1], no_wrap=False))
        else:
            items.append(_Prose(text, STYLES[style][1], hang))
    return Group(*items)


class _Prose:
    """One preview line as a Rich renderable, folded by ``fold_line`` to the
    width Rich offers (prose with its hanging indent, diffs, commands)."""

    def __init__(self, text: str, style: str, hang: int) -> None:
        self.text, self.style, self.hang = text, style, hang

    @property
    def plain(self) -> str:
        """The unfolded line, as ``rich.text.Text.plain`` gives it."""
        return self.text

    def __rich_console__(self, console: object, options: object):
        from rich.text import Text

        width = getattr(options, "max_width", 80)
        for part in fold_line(self.text, self.hang, width):
            yield Text(part, style=self.style, no_wrap=False)
