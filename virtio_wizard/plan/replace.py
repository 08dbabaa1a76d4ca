"""What an atomic replace cannot keep: a file's SELinux label, its other hard links.

apply replaces each file by rename; where the Target cannot carry the labels
over, an SELinux guest relabels itself at the next boot (``/.autorelabel``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

from ..facts import Facts
from ..finding import INFO, WARNING, Finding, Remedy
from .edits import Workspace
from .model import Choices

__all__ = ["AUTORELABEL", "needs_autorelabel", "labels_and_links", "needed_files"]

AUTORELABEL = "/.autorelabel"


def needs_autorelabel(facts: Facts) -> bool:
    """An SELinux guest whose files the Target cannot replace with their labels kept."""
    return facts.selinux in ("enforcing", "permissive") and not facts.target.keeps_xattrs


def needed_files(facts: Facts, choices: Choices) -> list[str]:
    """``/.autorelabel`` where the plan may create it (is it there already?)."""
    return [AUTORELABEL] if needs_autorelabel(facts) else []


def labels_and_links(
    facts: Facts, files: Mapping[str, Optional[bytes]], ws: Workspace
) -> list[Finding]:
    """What an atomic replace cannot keep: a label (then /.autorelabel), a hard link.

    apply replaces each file by rename; the local Target copies every
    extended attribute (SELinux label, POSIX ACLs, user.*) onto the new file
    first. Where the Target cannot (``facts.target.keeps_xattrs`` false) an
    SELinux guest gets ``/.autorelabel``, so its next boot relabels the files
    (selinux(8), ``fixfiles``). The other names of a hard-linked file keep
    the old content: said, never hidden.
    """
    out: list[Finding] = []
    changed = ws.changed()
    if changed and needs_autorelabel(facts) and not ws.exists(AUTORELABEL):
        ws.set(
            AUTORELABEL,
            "",
            "the files are replaced without their SELinux labels: relabel at the next boot",
            mode=0o644,
        )
        out.append(
            Finding(
                "selinux-autorelabel",
                INFO,
                f"SELinux is {facts.selinux} on this guest and this target cannot keep "
                "the files' labels when it replaces them, so the plan creates "
                f"{AUTORELABEL}: the next boot relabels the file systems (it takes a while "
                "and reboots once).",
                Remedy("Nothing to do; expect the relabel on the first boot."),
                "selinux(8); fixfiles(8)",
            )
        )
    links = getattr(files, "links", {}) or {}
    linked = sorted({ws.real(p) for p, n in links.items() if n > 1 and ws.real(p) in changed})
    if linked:
        out.append(
            Finding(
                "file-hard-linked",
                WARNING,
                f"{', '.join(linked)} ha{'s' if len(linked) == 1 else 've'} other hard "
                "links: apply replaces the file by rename, so the other names keep the "
                "old content.",
                Remedy(
                    "Make the other names symbolic links (or edit them the same way) after "
                    "apply, or plan again once they are."
                ),
                "rename(2)",
            )
        )
    return out
