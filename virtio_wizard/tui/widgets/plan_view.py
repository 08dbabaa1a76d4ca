"""A Plan as Rich renderables: every diff coloured, every command line exact.

The preview and the confirmation show the same Plan the CLI prints; the
command line of a step comes from the core's ``command_line`` (via the
engine), never rebuilt here. On a target that cannot run commands (the demo)
each command is marked "would run" so nobody mistakes the demo for a change.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ...plan.model import Plan, Step

__all__ = ["plan_renderable", "written_paths", "step_title"]


def step_title(step: Step, command_line: str, can_run: bool) -> Text:
    """One line naming what a step does."""
    if step.kind == "edit":
        verb = "Create" if step.old_sha256 is None else "Edit"
        return Text.assemble((f"{verb} ", "bold"), (step.path or "", "bold cyan"))
    if step.kind == "backup":
        return Text.assemble(("Back up ", "bold"), step.path or "", " -> ", step.to or "")
    prefix = "Run" if can_run else "Would run (demo: not executed)"
    return Text.assemble((f"{prefix}: ", "bold"), (command_line, "bold magenta"))


def plan_renderable(plan: Plan, engine: Any, *, can_run: bool, ascii_mode: bool) -> RenderableType:
    """The whole plan, step by step, for a scrollable preview."""
    theme = "ansi_dark" if ascii_mode else "monokai"
    parts: list[RenderableType] = []
    if plan.modules:
        parts.append(Text.assemble(("Modules, in load order: ", "bold"), " ".join(plan.modules)))
    if plan.kernel:
        parts.append(Text.assemble(("Kernel: ", "bold"), plan.kernel))
    if not plan.steps:
        parts.append(
            Text("Nothing to change: the guest already has what you chose.", style="green")
        )
    for number, step in enumerate(plan.steps, 1):
        line = engine.command_line(step) if step.kind == "command" else ""
        parts.append(Text(""))
        head = Table.grid(padding=(0, 1))
        head.add_column(width=3, no_wrap=True, justify="right")
        head.add_column(ratio=1)
        title = step_title(step, line, can_run)
        if step.why:
            title.append("\n" + step.why, style="italic")
        head.add_row(Text(f"{number}.", style="bold"), title)
        parts.append(head)
        if step.kind == "edit" and step.diff:
            parts.append(
                Syntax(
                    step.diff.rstrip("\n"),
                    "diff",
                    theme=theme,
                    word_wrap=True,
                    background_color="default",
                )
            )
    notes = [f for f in plan.findings if f.severity != "error"]
    if notes:
        parts.append(Text(""))
        parts.append(Text("Notes", style="bold"))
        for f in notes:
            parts.append(Text(f"- {f.message}" + (f" Fix: {f.fix}" if f.fix else "")))
    return Group(*parts)


def written_paths(plan: Plan) -> list[str]:
    """The guest files apply will write, in plan order (edits, backups, images)."""
    out: list[str] = []
    for step in plan.steps:
        for path in (
            step.path if step.kind == "edit" else None,
            step.to if step.kind == "backup" else None,
            step.image if step.kind == "command" else None,
        ):
            if path and path not in out:
                out.append(path)
    return out
