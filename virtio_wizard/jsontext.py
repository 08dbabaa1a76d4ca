"""JSON documents as the wizard writes them: UTF-8, guest names that are not UTF-8 kept.

The journal, ``detect --json``, ``plan --json``/``-o``, ``verify --json`` and
the JSON report all print or store documents that hold guest paths. Kept on
its own, with nothing but the standard library, so a command that only
prints JSON (``detect --json`` above all, a start-up time users feel) does
not load the journal and the targets to reach it.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps_bytes"]


def dumps_bytes(document: Any) -> bytes:
    """``document`` as UTF-8 JSON, names that are not UTF-8 included.

    Guest paths are ``str`` with surrogate escapes for bytes that are not
    UTF-8 (``"\\udcff"`` for 0xff, as ``os.fsdecode`` makes them). JSON
    spells such a character ``\\udcff``, which is what ``backslashreplace``
    writes: the file stays valid UTF-8 and ``json.loads`` gives the same path
    back (``os.fsencode`` then gives the same bytes).

    >>> dumps_bytes({"path": "/etc/caf\\udcff"})
    b'{\\n  "path": "/etc/caf\\\\udcff"\\n}\\n'
    """
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return text.encode("utf-8", "backslashreplace")
