"""The README's promises that code can check: the quick start and the
troubleshooting table (kept in step with docs/troubleshooting.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the quick start has no sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_two_commands_demo_then_tests():
    first, second = quick_start_commands()
    assert first.startswith("pip install ") and first.endswith("virtio-wizard --demo")
    assert second.startswith("pip install ") and "pytest" in second


def test_ci_runs_the_readme_test_command():
    _, second = quick_start_commands()
    assert second in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_troubleshooting_table_matches_the_doc():
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "sync_readme.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_troubleshooting_entry_is_in_the_readme():
    doc = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    heads = re.findall(r"^### (.+)$", doc, re.M)
    assert len(heads) > 50
    for head in heads:
        assert f"| {head.strip()} |" in README, head


def test_readme_screenshots_exist():
    for name in re.findall(r"\(screenshots/([\w.-]+\.svg)\)", README):
        assert (REPO / "screenshots" / name).is_file(), name
