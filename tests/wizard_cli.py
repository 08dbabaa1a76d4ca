"""The wizard's command line in a child process, as a user runs it, from this checkout.

``python -m virtio_wizard ARGV`` with the repository as the current folder
(so the child imports this checkout's code), output captured as text and no
terminal on stdin (a question the child asks gets end-of-file, never a
keyboard that is not there).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parent.parent


def run_wizard(
    *argv: str, timeout: float = 120, env: Optional[dict[str, str]] = None
) -> subprocess.CompletedProcess:
    """Run the wizard with ``argv``; ``timeout`` seconds at most (a guest rebuild takes minutes)."""
    return subprocess.run(
        [sys.executable, "-m", "virtio_wizard", *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )
