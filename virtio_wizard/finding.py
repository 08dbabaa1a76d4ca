"""The Finding record: one thing the wizard has to tell the user, and its remedy.

Checks produce them from Facts, planning produces them as refusals; the TUI's
troubleshooting screen, ``detect``'s table and the report all show the same
records, so the words are written once. A remedy is data, not a sentence
with command-line flags in it: the choice to change and its value, or a
command to run, beside plain advice. Each face words the choice its own way
(the CLI names the flag, the TUI the control on its screen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

__all__ = [
    "Finding",
    "Remedy",
    "Setting",
    "choose",
    "CHOICES",
    "INFO",
    "WARNING",
    "ERROR",
    "SEVERITIES",
]

INFO, WARNING, ERROR = "info", "warning", "error"
SEVERITIES = (INFO, WARNING, ERROR)

#: The wizard choices a remedy may set, with the type of their value. ``root``
#: is where the guest is (a folder); the others are the plan's ``Choices``.
CHOICES: dict[str, type] = {
    "root": str,
    "drivers": str,
    "kernel": str,
    "method": str,
    "sysinit_file": str,
    "boot_disk": str,
    "fix_disk_names": bool,
    "use_uuid": bool,
}


@dataclass(frozen=True)
class Setting:
    """One choice and the value that helps: ``method=initrd``, ``use_uuid=True``.

    ``value`` may be empty for a text choice: "pick another one" (another
    sysinit file, another kernel) without naming which.
    """

    choice: str
    value: Union[str, bool] = ""

    def __post_init__(self) -> None:
        kind = CHOICES.get(self.choice)
        if kind is None:
            raise ValueError(f"unknown choice {self.choice!r}")
        if not isinstance(self.value, kind):
            raise ValueError(f"{self.choice} takes a {kind.__name__}, not {self.value!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"choice": self.choice, "value": self.value}


@dataclass(frozen=True)
class Remedy:
    """What to do about a finding, as data each face words its own way.

    ``advice`` says it in words that name no flag and no screen. ``options``
    are alternatives, each the settings to make together (``(method=sysinit,
    boot_disk=emulated)`` or ``(method=initrd)``). ``command`` is one command
    line the user runs (in the guest unless the advice says otherwise),
    shown the same everywhere.
    """

    advice: str = ""
    options: tuple[tuple[Setting, ...], ...] = ()
    command: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.advice or self.options or self.command)

    def to_dict(self) -> dict[str, Any]:
        return {
            "advice": self.advice,
            "options": [[s.to_dict() for s in option] for option in self.options],
            "command": list(self.command),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Remedy:
        return cls(
            advice=str(data.get("advice", "")),
            options=tuple(
                tuple(Setting(str(s["choice"]), s["value"]) for s in option)
                for option in data.get("options", ())
            ),
            command=tuple(str(a) for a in data.get("command", ())),
        )


def choose(**settings: Union[str, bool]) -> tuple[Setting, ...]:
    """One option of a remedy: ``choose(method="sysinit", boot_disk="emulated")``."""
    return tuple(Setting(k, v) for k, v in settings.items())


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
    remedy: Remedy = field(default_factory=Remedy)
    source: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity,
            "message": self.message,
            "remedy": self.remedy.to_dict(),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            id=str(data["id"]),
            severity=str(data["severity"]),
            message=str(data.get("message", "")),
            remedy=Remedy.from_dict(data.get("remedy") or {}),
            source=str(data.get("source", "")),
        )
