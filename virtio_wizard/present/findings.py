"""The words around a Finding, shared by ``detect``, the report and the wizard.

A finding shows as its severity word, its message, ``Fix:`` and its remedy
(worded by the face: flags or screens, see ``present.remedy``), and
``[id] source`` so a support ticket can quote it. Colour only helps: the
severity is a word.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..finding import ERROR, INFO, WARNING, Finding
from .remedy import FixWords

__all__ = ["SEVERITY_WORD", "NO_FINDINGS", "FindingWords", "finding_words"]

#: Five columns at most, so the wizard's list keeps its width at 80 columns.
SEVERITY_WORD = {ERROR: "ERROR", WARNING: "WARN", INFO: "info"}
NO_FINDINGS = "No problems found."


@dataclass(frozen=True)
class FindingWords:
    """One finding as the lines every face shows; ``fix`` is empty without a remedy."""

    severity: str
    message: str
    fix: str
    ref: str


def finding_words(finding: Finding, fix_words: FixWords) -> FindingWords:
    """The finding's lines, its remedy worded by ``fix_words``."""
    fix = f"Fix: {fix_words(finding.remedy)}" if finding.remedy else ""
    ref = f"[{finding.id}]" + (f" {finding.source}" if finding.source else "")
    return FindingWords(SEVERITY_WORD.get(finding.severity, finding.severity), finding.message,
                        fix, ref)  # fmt: skip
