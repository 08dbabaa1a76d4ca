"""Every finding id the planner can raise is documented in docs/findings.md.

The house rule: finding ids are stable (scripts and support tickets rely on
them) and each one is listed in docs/findings.md, the planner's as well as
detection's. The ids are read from the planner's source (every
``Finding("id", ...)`` call), so a new one cannot be forgotten.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLAN = REPO / "virtio_wizard" / "plan"
DOCS = REPO / "docs" / "findings.md"


def planner_ids() -> set[str]:
    """The first argument of every ``Finding(...)`` call under virtio_wizard/plan."""
    ids: set[str] = set()
    for path in sorted(PLAN.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Finding"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                ids.add(node.args[0].value)
    return ids


def test_the_source_scan_finds_the_planner_findings():
    ids = planner_ids()
    assert {"kernel-left-out", "xen-aliases", "file-unreadable", "grub-cfg-remapped"} <= ids


def test_every_planner_finding_id_is_in_findings_md():
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`", text))
    missing = sorted(planner_ids() - documented)
    assert not missing, f"not in docs/findings.md: {missing}"
