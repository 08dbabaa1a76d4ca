"""A support-ticket report: what the guest is, what was found, planned and done.

A support engineer guiding a customer needs one document to attach to a
ticket. ``render_markdown`` writes it for people (it reads well as plain
text too, so a customer can paste it anywhere); ``render_json`` writes the
same content for tools (schema ``virtio-wizard/report/1``). Both are pure
functions of data — Facts, Findings, an optional Plan and an optional
journal record — so the CLI, the TUI and the tests share them, and no Rich
or Textual is imported here.

The journal is the apply engineer's record (``virtio_wizard.journal``,
schema ``virtio-wizard/journal/1``), read as a plain ``dict``. Keys used, all
optional: ``id``, ``path``, ``started``, ``finished``, ``status``,
``undone``, ``error``, ``messages`` (list of str) and ``steps``, a list of
dicts with ``index``, ``kind``, ``path``, ``to``, ``argv`` (list),
``status``, ``changed``, ``created``, ``backup`` (a path, or a dict with
``path``), ``exit_code``, ``output_tail`` (list of lines) or ``output``
(str), ``image`` (dict with ``path``) and ``error``. Missing keys show as
``-``; nothing in a journal can make the report fail.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional

from . import __version__
from .facts import Facts
from .finding import Finding
from .present import facts as pf
from .present.remedy import cli_fix

if TYPE_CHECKING:
    from .plan.model import Plan, Step

__all__ = ["REPORT_SCHEMA", "render_markdown", "render_json", "fence", "generated_now"]

REPORT_SCHEMA = "virtio-wizard/report/1"
_TARGET_WORD = {
    "local": "this system",
    "root": "offline guest root",
    "ssh": "remote guest",
    "demo": "demo guest",
}


def generated_now() -> str:
    """Local time with its UTC offset, to the second: what a reader of a ticket needs."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


# ---- Markdown helpers -------------------------------------------------------------


def fence(text: str, lang: str = "") -> str:
    """``text`` in a fenced block whose fence is longer than any backtick run inside.

    A diff of a shell script may itself hold a line of three backticks;
    a longer fence keeps it from closing the block early.

    >>> fence("a ``` b", "sh").splitlines()[0]
    '````sh'
    """
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{ticks}{lang}\n{body}{ticks}"


def _code(text: str) -> str:
    """Inline code that survives backticks in ``text``."""
    if not text:
        return "`-`"
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _cell(text: Any) -> str:
    """A table cell: no newlines, pipes escaped."""
    value = "-" if text is None or text == "" else str(text)
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


# ---- facts ----------------------------------------------------------------------------


def _summary_rows(facts: Facts) -> list[tuple[str, str]]:
    """``detect``'s summary lines (``present.facts``), with the release line a ticket wants."""
    rows: list[tuple[str, str]] = []
    for line in pf.summary_lines(facts):
        if line.label:
            rows.append((line.label, line.text))
        else:
            rows[-1] = (rows[-1][0], f"{rows[-1][1]}; {line.text}")
        if line.label == "Distro":
            rows.append(("Release line", facts.distro.release_line or "-"))
    return rows


def _facts_md(facts: Facts) -> list[str]:
    out = ["## Guest", ""]
    out += _table(("fact", "value"), _summary_rows(facts))
    if facts.kernels:
        rows = []
        for k in pf.kernel_rows(facts):
            name = f"{k.version} {k.tag}".strip()
            rows.append((name, *[c.text for c in k.marks], k.initrd.text))
        out += ["", f"### Kernels ({pf.MARKS_LEGEND})", ""]
        heads = [head for _, head in pf.MODULE_COLUMNS]
        out += _table(("kernel", *heads, "initrd holds"), rows)
        notes = [n.text for n in pf.kernel_notes(facts)]
        if notes:
            out += ["", *[f"- {n}" for n in notes]]
    if facts.devices:
        out += ["", "### PCI devices", ""]
        out += _table(
            ("slot", "kind", "vendor:device", "driver"),
            [(d.slot, d.kind, pf.device_ids(d), d.driver) for d in facts.devices],
        )
    refs = pf.disk_rows(facts)
    if refs:
        out += ["", "### Disk names to change", ""]
        out += _table(
            ("file:line", "now", "becomes", "what"),
            [
                (
                    r.where,
                    r.now,
                    r.becomes,
                    f"{r.what} {pf.GUESSED}".strip() if r.guessed else r.what,
                )
                for r in refs
            ],
        )
    if facts.module_lists:
        out += ["", "### Module lists", ""]
        out += _table(
            ("file", "kind", "modules (line)"),
            [
                (m.file, m.kind, ", ".join(f"{e.module} ({e.line})" for e in m.entries))
                for m in facts.module_lists
            ],
        )
    if facts.unreadable:
        out += ["", "### Files detection could not use", ""]
        out += _table(("path", "reason"), [(u.path, u.reason) for u in facts.unreadable])
    return out


def _findings_md(findings: Sequence[Finding], title: str = "Findings") -> list[str]:
    out = [f"## {title}", ""]
    if not findings:
        return [*out, "Nothing to report."]
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
    out.append(", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items()) + ".")
    for f in findings:
        out += ["", f"### {f.severity.upper()}: `{f.id}`", "", f.message]
        if f.remedy:
            out += ["", f"**Fix:** {cli_fix(f.remedy)}"]
        if f.source:
            out += ["", f"*Source:* {f.source}"]
    return out


# ---- plan -----------------------------------------------------------------------------


def _step_md(number: int, step: Step) -> list[str]:
    head = f"{number}. **{step.kind}**"
    if step.kind == "command":
        out = [f"{head}: {step.why}", "", fence(shlex.join(step.argv), "sh")]
        if step.image:
            out += ["", f"Writes {_code(step.image)}"]
            if step.verify_modules:
                out[-1] += "; must then hold " + ", ".join(step.verify_modules)
        return out
    if step.kind == "backup":
        return [f"{head} {_code(step.path or '')} to {_code(step.to or '')}: {step.why}"]
    if step.kind == "remove":
        return [f"{head} {_code(step.path or '')}: {step.why}"]
    out = [f"{head} {_code(step.path or '')}: {step.why}"]
    if step.mode is not None:
        out[-1] += f" (mode {step.mode:04o})"
    if step.diff:
        out += ["", fence(step.diff, "diff")]
    return out


def _plan_md(plan: Plan) -> list[str]:
    c = plan.choices
    out = ["## Plan", ""]
    out += _table(
        ("choice", "value"),
        [
            ("method", c.method),
            ("drivers", c.drivers),
            ("kernel", plan.kernel or c.kernel or "default"),
            ("fix disk names", "yes" if c.fixes_disk_names else "no"),
            ("use UUID=", "yes" if c.use_uuid else "no"),
            ("boot disk", c.boot_disk),
            ("modules, in order", ", ".join(plan.modules) or "-"),
        ],
    )
    if plan.refused:
        out += ["", "**The plan is refused; nothing may be applied:**", ""]
        out += [f"- `{f.id}`: {f.message} {cli_fix(f.remedy)}".rstrip() for f in plan.refusals]
    out += ["", "### Steps", ""]
    if not plan.steps:
        out.append("Nothing to change: the guest already has what was chosen.")
    for number, step in enumerate(plan.steps, 1):
        out += _step_md(number, step)
        out.append("")
    if out[-1] == "":
        out.pop()
    notes = [f for f in plan.findings if f not in plan.refusals]
    if notes:
        out += [""] + _findings_md(notes, "Plan notes")
    return out


def _plan_commands(plan: Plan) -> list[str]:
    return [shlex.join(s.argv) for s in plan.steps if s.kind == "command"]


# ---- journal ----------------------------------------------------------------------------


def _backup_path(value: Any) -> Optional[str]:
    if isinstance(value, dict):
        path = value.get("path")
        return str(path) if path else None
    return str(value) if value else None


def _output_lines(rec: dict[str, Any]) -> list[str]:
    tail = rec.get("output_tail")
    if isinstance(tail, list):
        return [str(line).rstrip("\n") for line in tail]
    output = rec.get("output")
    if isinstance(output, str) and output:
        return output.rstrip("\n").splitlines()
    return []


def _what(rec: dict[str, Any]) -> str:
    argv = rec.get("argv")
    if isinstance(argv, list) and argv:
        return shlex.join(str(a) for a in argv)
    path = rec.get("path")
    to = rec.get("to")
    if path and to:
        return f"{path} -> {to}"
    return str(path or "-")


def _journal_md(journal: dict[str, Any]) -> list[str]:
    out = ["## Applied", ""]
    rows = [
        ("journal", journal.get("id")),
        ("file", journal.get("path")),
        ("started", journal.get("started")),
        ("finished", journal.get("finished")),
        ("status", journal.get("status")),
        ("undone", journal.get("undone") or "no"),
    ]
    if journal.get("error"):
        rows.append(("error", journal.get("error")))
    out += _table(("journal", "value"), rows)
    steps = journal.get("steps")
    steps = steps if isinstance(steps, list) else []
    if steps:
        out += ["", "### Steps done", ""]
        table_rows = []
        for n, rec in enumerate(steps, 1):
            if not isinstance(rec, dict):
                continue
            backup = _backup_path(rec.get("backup"))
            if rec.get("created"):
                backup = "(created; undo removes it)"
            table_rows.append(
                (
                    rec.get("index", n - 1) + 1 if isinstance(rec.get("index"), int) else n,
                    rec.get("kind"),
                    _what(rec),
                    rec.get("status"),
                    backup,
                    rec.get("exit_code"),
                )
            )
        out += _table(("#", "kind", "what", "status", "backup", "exit"), table_rows)
        for n, rec in enumerate(steps, 1):
            if not isinstance(rec, dict):
                continue
            lines = _output_lines(rec)
            if rec.get("error"):
                out += ["", f"Step {n} failed: {rec['error']}"]
            if lines:
                out += [
                    "",
                    f"Output of step {n} ({_code(_what(rec))}):",
                    "",
                    fence("\n".join(lines)),
                ]
    messages = journal.get("messages")
    if isinstance(messages, list) and messages:
        out += ["", "### Messages", ""] + [f"- {m}" for m in messages]
    return out


# ---- the report ---------------------------------------------------------------------------


def _after_md(after: dict[str, list[str]]) -> list[str]:
    """The host steps (with the MAC to keep) and the way back, as the Done screen shows them."""
    out = ["## On the host, after the apply", ""]
    out += [f"{i}. {step}" for i, step in enumerate(after.get("host_steps", []), 1)]
    out += ["", "### If the guest does not boot after the switch", ""]
    out += [f"- {line}" for line in after.get("way_back", [])]
    return out


def render_markdown(
    facts: Facts,
    findings: Sequence[Finding],
    plan: Optional[Plan] = None,
    journal: Optional[dict[str, Any]] = None,
    *,
    generated: Optional[str] = None,
    after: Optional[dict[str, list[str]]] = None,
) -> str:
    """The report as Markdown: header, guest, findings, plan, what was applied.

    ``after`` (``host_steps.after_switch``) adds the host steps and the way back.
    """
    when = generated or generated_now()
    t = facts.target
    out = [
        "# virtio-wizard report",
        "",
        f"- Target: {_TARGET_WORD.get(t.kind, t.kind)} {_code(t.root)}",
        f"- Date: {when}",
        f"- Tool: virtio-wizard {__version__}",
        f"- Schema: {REPORT_SCHEMA} (facts: {facts.schema})",
        "",
    ]
    out += _facts_md(facts)
    out += [""] + _findings_md(findings)
    if plan is not None:
        out += [""] + _plan_md(plan)
    if journal is not None:
        out += [""] + _journal_md(journal)
    if after:
        out += [""] + _after_md(after)
    return "\n".join(out).rstrip("\n") + "\n"


def render_json(
    facts: Facts,
    findings: Sequence[Finding],
    plan: Optional[Plan] = None,
    journal: Optional[dict[str, Any]] = None,
    *,
    generated: Optional[str] = None,
    after: Optional[dict[str, list[str]]] = None,
) -> dict[str, Any]:
    """The report as a JSON-ready dict (schema ``virtio-wizard/report/1``).

    ``commands`` repeats the plan's command lines, quoted with ``shlex.join``
    as they would be typed, so a tool need not rebuild them from ``argv``.
    """
    return {
        "schema": REPORT_SCHEMA,
        "generated": generated or generated_now(),
        "tool": {"name": "virtio-wizard", "version": __version__},
        "target": {"kind": facts.target.kind, "root": facts.target.root, "live": facts.target.live},
        "facts": facts.to_dict(),
        "findings": [f.to_dict() for f in findings],
        "plan": plan.to_dict() if plan is not None else None,
        "commands": _plan_commands(plan) if plan is not None else [],
        "journal": dict(journal) if journal is not None else None,
        "after_switch": dict(after) if after else None,
    }
