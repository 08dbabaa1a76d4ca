"""The Finding record: one thing the wizard has to tell the user.

Checks produce them from Facts, planning produces them as refusals; the TUI's
troubleshooting screen, ``detect``'s table and the report all show the same
records, so the words are written once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Finding", "INFO", "WARNING", "ERROR", "SEVERITIES"]

INFO, WARNING, ERROR = "info", "warning", "error"
SEVERITIES = (INFO, WARNING, ERROR)


@dataclass(frozen=True)
class Finding:
    """One fact that changes what the user should do.

    ``id`` is stable (documented in ``docs/findings.md``) so scripts and
    support tickets can refer to it; ``source`` names where the rule comes
    from (the guide chapter, a man page, virt-v2v).
    """

    id: str
    severity: str
    message: str
    fix: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            id=str(data["id"]),
            severity=str(data["severity"]),
            message=str(data.get("message", "")),
            fix=str(data.get("fix", "")),
            source=str(data.get("source", "")),
        )
