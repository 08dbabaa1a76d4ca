"""The records of ``virtio-wizard verify``: each check, its problems, the report.

A problem says what does not hold, its likely cause, and what to do as a
``finding.Remedy`` (advice, the wizard choices that help, a command), as a
detection finding does: the command line words it with flags
(``present.remedy.cli_fix``), the wizard's Welcome back screen with its
controls (``tui.wizard_terms.wizard_fix``). The checks themselves live in
``verify_live`` (the running system) and ``verify_next`` (the next boot).
Documented as schema ``virtio-wizard/verify/2`` in docs/apply.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..finding import Remedy

__all__ = ["SCHEMA", "CHECK_IDS", "Problem", "Check", "VerifyReport", "host_remedy"]

#: verify/2: a problem carries a structured ``remedy`` where verify/1 had ``fix`` text.
SCHEMA = "virtio-wizard/verify/2"
#: Every check, in the order the report lists them (docs/troubleshooting.md has each).
CHECK_IDS = (
    "root-on-virtio",
    "swap-active",
    "mounts-present",
    "nics-virtio",
    "journal",
    "survives-update",
    "initrd-root-needs",
)
#: What ``virtio-wizard host`` is given on the host: the file ``virsh dumpxml`` wrote.
_HOST_COMMAND = ("virtio-wizard", "host", "--domain-xml", "VM.xml", "-o", "VM-virtio.xml")


@dataclass(frozen=True)
class Problem:
    """Something that does not hold, with its likely cause and what to do about it."""

    message: str
    cause: str
    remedy: Remedy = field(default_factory=Remedy)

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "cause": self.cause, "remedy": self.remedy.to_dict()}


@dataclass(frozen=True)
class Check:
    """One question and its answer; ``ok`` when there is no problem."""

    id: str
    title: str
    detail: str
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class VerifyReport:
    """All checks, the journal they concern, and whether it was marked verified."""

    target: str
    checks: tuple[Check, ...]
    journal_id: Optional[str] = None
    recorded: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """The ``verify --json`` document (schema ``virtio-wizard/verify/2``)."""
        return {
            "schema": SCHEMA,
            "target": self.target,
            "ok": self.ok,
            "journal": self.journal_id,
            "recorded": self.recorded,
            "checks": [
                {
                    "id": c.id,
                    "title": c.title,
                    "ok": c.ok,
                    "detail": c.detail,
                    "problems": [p.to_dict() for p in c.problems],
                }
                for c in self.checks
            ],
            "notes": list(self.notes),
        }


def host_remedy(what: str) -> Remedy:
    """Switch ``what`` (the disk bus, the NIC model) on the host, with a fresh start.

    The command runs on the host, on the file ``virsh dumpxml`` wrote; the
    advice says so, as a remedy's command otherwise runs in the guest.
    """
    return Remedy(
        advice=(
            f"Power the VM off, switch {what} to virtio in its definition on the host (the "
            "command below, on the file virsh dumpxml wrote), then start it: a reboot keeps "
            "the old devices."
        ),
        command=_HOST_COMMAND,
    )
