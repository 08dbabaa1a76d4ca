"""The tree is ruff clean: lint and layout, as ``ruff check`` and ``ruff format`` see it.

The style rules live in pyproject.toml; this test makes CI hold them, so a
change that is not formatted or trips a rule fails here with ruff's own
words. ruff is pinned in the test extra: a newer ruff may lay code out
differently, and that must be a deliberate change, not a red CI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TREES = ["virtio_wizard", "tests", "bench", "tools"]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, *TREES],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def test_ruff_check_is_clean() -> None:
    proc = ruff("check", "--no-cache")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_leaves_every_file_as_it_is() -> None:
    proc = ruff("format", "--check", "--no-cache")
    assert proc.returncode == 0, proc.stdout + proc.stderr
