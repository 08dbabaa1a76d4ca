"""The last question before undo writes: which apply, and which files go back.

Undo writes guest files as surely as apply does, so it gets the same kind of
``ModalScreen[bool]`` as ``ConfirmApply``: focus starts on Cancel, ``y``
undoes, ``n`` or Escape cancels. The journal undo would revert is looked up
in a worker (it reads guest files) and the files it names are listed before
the Undo button can be pressed; nothing is decided here: the list is read
from the journal's own records.
"""

from __future__ import annotations

from typing import Any, Optional

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from .scroll import SCROLL_BINDINGS, scroll_body

__all__ = ["ConfirmUndo", "undo_paths"]


def undo_paths(journal: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(files restored from a backup, files removed) by undoing ``journal``.

    Read from the journal's step records the way undo reads them: an edited
    file with a backup is restored, a file apply created is removed, an
    initrd a command rebuilt is restored (or removed if it did not exist),
    and backup copies apply made are removed.

    >>> undo_paths({"steps": [
    ...     {"kind": "edit", "changed": True, "path": "/etc/fstab", "backup": {"path": "b"}},
    ...     {"kind": "backup", "changed": True, "to": "/boot/i.img.virtio.orig",
    ...      "created": True}]})
    (['/etc/fstab'], ['/boot/i.img.virtio.orig'])
    """
    from ...journal import touched

    restored: list[str] = []
    removed: list[str] = []
    for rec in journal.get("steps", []):
        if not touched(rec):
            continue
        kind = rec.get("kind")
        if kind == "edit":
            path = rec.get("resolved") or rec.get("path") or ""
            (restored if rec.get("backup") else removed).append(path)
        elif kind == "command":
            image = rec.get("image") or {}
            if image.get("path"):
                had = image.get("before_sha256") is not None
                (restored if had else removed).append(image["path"])
        elif kind == "backup" and rec.get("created") and rec.get("to"):
            removed.append(rec["to"])
    return _unique(restored), _unique(removed)


def _unique(paths: list[str]) -> list[str]:
    return list(dict.fromkeys(p for p in paths if p))


class ConfirmUndo(ModalScreen[bool]):
    """Undo the last apply on this target? True only on an explicit yes."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", key_display="Esc", id="cancel"),
        *SCROLL_BINDINGS,
        Binding("n,N", "cancel", "No", key_display="n", show=False),
        Binding("y,Y", "undo", "Yes, undo", key_display="y", id="undo"),
    ]

    def __init__(self, target, engine, target_label: str) -> None:
        super().__init__()
        self.target = target
        self.engine = engine
        self.target_label = target_label
        #: The journal undo would revert (None until read, or when there is none).
        self.journal: Optional[dict[str, Any]] = None
        self.ready = False

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(Text("Undo the last apply?", style="bold"), id="confirm-title")
            with VerticalScroll(id="confirm-body", can_focus=False):
                yield Static(Text("Reading the journal ..."), id="undo-body")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                # Shown once the journal is read and there is something to undo
                # (a disabled Button draws block glyphs, wrong on a console).
                undo = Button("Undo", id="undo", variant="error", compact=True)
                undo.display = False
                yield undo
        yield Footer(show_command_palette=False)

    def action_scroll_body(self, way: str) -> None:
        scroll_body(self, way)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()
        self.read_journal()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo":
            return self.ready
        return True

    @work(thread=True, exclusive=True, group="undo-journal")
    def read_journal(self) -> None:
        try:
            journal = self.engine.undoable_journal(self.target)
        except Exception as exc:  # noqa: BLE001 - shown; Undo stays disabled
            self.post_message(self._Read(None, str(exc)))
            return
        self.post_message(self._Read(journal, None))

    class _Read(Message, bubble=False):
        def __init__(self, journal: Optional[dict[str, Any]], error: Optional[str]) -> None:
            super().__init__()
            self.journal = journal
            self.error = error

    def on_confirm_undo__read(self, message: _Read) -> None:
        self._show(message.journal, message.error)

    def _show(self, journal: Optional[dict[str, Any]], error: Optional[str]) -> None:
        self.journal = journal
        body = self.query_one("#undo-body", Static)
        if error is not None or journal is None:
            why = f"The journal could not be read: {error}" if error else "Nothing to undo."
            body.update(Text(why + " Nothing will be changed.", style="bold red"))
            return
        restored, removed = undo_paths(journal)
        lines: list[Any] = [
            Text.assemble(
                "Undo the apply of ",
                (str(journal.get("started") or journal.get("id", "?")), "bold"),
                " on ",
                (self.target_label, "bold"),
            ),
            Text(""),
            Text("Files restored byte for byte from their backups:", style="bold"),
        ]
        lines += [Text(f"  {p}") for p in restored] or [Text("  (none)")]
        if removed:
            lines.append(Text("Files removed (apply created them):", style="bold"))
            lines += [Text(f"  {p}") for p in removed]
        lines.append(Text(""))
        lines.append(
            Text(
                "A file changed since the apply stops the undo before anything is "
                "written. The journal is kept, marked undone."
            )
        )
        body.update(Group(*lines))
        self.ready = True
        self.query_one("#undo", Button).display = True
        self.refresh_bindings()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#undo")
    def action_undo(self) -> None:
        if self.ready:
            self.dismiss(True)
