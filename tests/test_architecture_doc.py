"""docs/architecture.md stays true: every path it names exists.

The map is only useful while it is right, and files move (a package split,
a module renamed). Each backquoted path on the page is checked: a full path
(``virtio_wizard/detect/distro.py``, ``tests/roots/``) from the repository
root, and a bare file name (``distro.py``) inside the folder named last
before it on the same line.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "architecture.md"
TOP = ("virtio_wizard/", "tests/", "docs/")
TOKEN = re.compile(r"`([^`\s]+)`")


def named_paths(text: str) -> list[str]:
    """Every path the page names, bare names joined to their line's folder."""
    out = []
    for line in text.splitlines():
        folder = ""
        for token in TOKEN.findall(line):
            if token.startswith(TOP):
                out.append(token)
                if token.endswith("/"):
                    folder = token
            elif folder and re.fullmatch(r"[\w.]+\.(py|tcss)|\w+/", token):
                out.append(folder + token)
    return out


def test_every_path_the_map_names_exists():
    paths = named_paths(DOC.read_text())
    assert len(paths) > 40, "the map names the modules (else this test reads nothing)"
    missing = [p for p in paths if not (REPO / p).exists()]
    assert missing == [], f"docs/architecture.md names paths that do not exist: {missing}"


def test_bare_names_are_read_inside_their_folder():
    line = "| x | `virtio_wizard/detect/` (`distro.py`, `nope.py`), `docs/knowledge.md` |"
    assert named_paths(line) == [
        "virtio_wizard/detect/",
        "virtio_wizard/detect/distro.py",
        "virtio_wizard/detect/nope.py",
        "docs/knowledge.md",
    ]
