"""Text edits as planning makes them: one edit per real file, bytes kept.

Several rules may touch one file (a module list and a disk name, or two
names reached through ``/etc/grub.conf`` and ``/boot/grub/grub.conf``);
``Workspace`` keeps the current text of each real file so those rules stack
into one edit, and turns each changed file into one ``edit`` Step whose bytes
round-trip: a file that was not UTF-8 is decoded as Latin-1 (as
``target.decode_text`` does) and written back as Latin-1, and lines are split
on ``\\n`` only, so a CR, a form feed or a Latin-1 ``\\x85`` stays where it was.

Pure: no Target here, only the bytes handed in.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Callable, Optional

from ..finding import ERROR, WARNING, Finding, Remedy
from ..knowledge import SEED_MODULES, SEED_ORDER, canonical_module, order_violation
from .model import Step

#: Why another order works on 2.6 and later (knowledge.order_matters).
ORDER_SOURCE_26 = SEED_ORDER + "; modprobe(8)/modules.dep(5): dependencies load first on 2.6+"

__all__ = [
    "Workspace",
    "split_lines",
    "line_ending",
    "unified_diff",
    "merge_or_refuse",
    "merge_whole_file",
    "ModuleMerge",
    "module_rank",
    "parse_modprobe",
    "parse_module_line",
    "order_refusal",
    "order_finding",
    "ORDER_TEXT",
]

ORDER_TEXT = (
    "virtio, virtio_ring, virtio_blk, virtio_net, virtio_pci "
    "(only virtio_blk and virtio_net may swap)"
)

Files = Mapping[str, Optional[bytes]]


def split_lines(text: str) -> list[str]:
    """Lines with their terminators, split on ``\\n`` only.

    ``str.splitlines`` also splits on ``\\r``, ``\\x0c``, ``\\x1c`` and
    ``\\x85``; a Latin-1 shell script can hold those, and splitting there would
    move bytes and shift line numbers.

    >>> split_lines("a\\r\\nb")
    ['a\\r\\n', 'b']
    """
    if not text:
        return []
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def line_ending(text: str) -> str:
    """``\\r\\n`` when most lines of ``text`` end that way, else ``\\n``."""
    lines = [ln for ln in split_lines(text) if ln.endswith("\n")]
    crlf = sum(1 for ln in lines if ln.endswith("\r\n"))
    return "\r\n" if lines and crlf * 2 > len(lines) else "\n"


def unified_diff(old: str, new: str, path: str) -> str:
    """A unified diff with ``a/PATH`` and ``b/PATH`` headers, as git prints it.

    A last line without a newline gets git's ``\\ No newline at end of file``
    marker so the diff stays one line per line. CRs are kept.
    """
    name = path.lstrip("/")
    out: list[str] = []
    for line in difflib.unified_diff(
        split_lines(old), split_lines(new), f"a/{name}", f"b/{name}", lineterm="\n"
    ):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding that gives the same bytes back (target.decode_text)."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


class Workspace:
    """The guest files as the plan changes them.

    ``files`` maps guest paths to bytes (None: absent). When it is a
    :class:`~virtio_wizard.plan.files.GuestFiles` it also knows the real
    file behind each symlink and each file's mode; with a plain dict every
    path is its own real file and modes are unknown (apply then keeps them).
    A path missing from ``files`` is treated as absent.
    """

    def __init__(self, files: Files) -> None:
        self._real: Mapping[str, str] = getattr(files, "real", {}) or {}
        self._modes: Mapping[str, int] = getattr(files, "modes", {}) or {}
        # Every entry also answers for its real file, so a rule may name either.
        self._bytes: dict[str, Optional[bytes]] = {}
        self._real_modes: dict[str, int] = {}
        for key, data in files.items():
            real = self._real.get(key, key)
            if data is not None or real not in self._bytes:
                self._bytes[real] = data
            if key in self._modes:
                self._real_modes[real] = self._modes[key]
        self._text: dict[str, str] = {}
        self._why: dict[str, list[str]] = {}
        self._mode: dict[str, int] = {}
        self._order: list[str] = []

    # ---- reading ---------------------------------------------------------

    def real(self, path: str) -> str:
        """The real file a guest path names (symlinks resolved by read_files)."""
        return self._real.get(path, path)

    def original(self, path: str) -> Optional[bytes]:
        """The bytes when planned, or None when the file is absent."""
        return self._bytes.get(self.real(path))

    def exists(self, path: str) -> bool:
        return self.original(path) is not None

    def mode(self, path: str) -> Optional[int]:
        """The file's permission bits when known."""
        return self._real_modes.get(self.real(path))

    def text(self, path: str) -> Optional[str]:
        """The current text (with earlier planned changes), None when absent."""
        real = self.real(path)
        if real in self._text:
            return self._text[real]
        data = self.original(path)
        return None if data is None else _decode(data)[0]

    # ---- changing --------------------------------------------------------

    def set(self, path: str, text: str, why: str, mode: Optional[int] = None) -> None:
        """Plan ``text`` as the file's new content; ``why`` joins earlier reasons."""
        real = self.real(path)
        if real not in self._order:
            self._order.append(real)
            self._why[real] = []
        self._text[real] = text
        if why not in self._why[real]:
            self._why[real].append(why)
        if mode is not None:
            self._mode[real] = mode

    def changed(self) -> list[str]:
        """Real paths with a planned change, in the order first touched."""
        return [p for p in self._order if self._differs(p)]

    def _differs(self, real: str) -> bool:
        old = self.original(real)
        if old is None:
            return True
        new_text = self._text[real]
        old_text, _ = _decode(old)
        return new_text != old_text or (real in self._mode and self._mode[real] != self.mode(real))

    def step(self, real: str) -> Step:
        """The one edit Step for a changed real file."""
        old = self.original(real)
        new_text = self._text[real]
        if old is None:
            old_text, encoding, old_sha = "", "utf-8", None
            mode = self._mode.get(real, 0o644)
        else:
            old_text, encoding = _decode(old)
            old_sha = hashlib.sha256(old).hexdigest()
            mode = self._mode.get(real, self.mode(real))
        if encoding == "latin-1":
            # Additions are ASCII; anything else could not be written back.
            new_text.encode("latin-1")
        return Step(
            kind="edit",
            why="; ".join(self._why[real]),
            path=real,
            old_sha256=old_sha,
            new_text=new_text,
            encoding=encoding,
            mode=mode,
            diff=unified_diff(old_text, new_text, real),
        )


# ---- module lists in order (the guide) ----------------------------------------------

_MODPROBE_RE = re.compile(r"^\s*(?:/s?bin/|/usr/s?bin/)?modprobe\s+(?:-\S+\s+)*([A-Za-z0-9_-]+)")
_NAME_RE = re.compile(r"^\s*([A-Za-z0-9_-]+)")


def parse_modprobe(line: str) -> Optional[str]:
    """The module a ``modprobe M`` line loads (canonical), else None.

    >>> parse_modprobe("modprobe virtio_ring # Comment this out")
    'virtio_ring'
    >>> parse_modprobe("# modprobe virtio") is None
    True
    """
    m = _MODPROBE_RE.match(line)
    return canonical_module(m.group(1)) if m else None


def parse_module_line(line: str) -> Optional[str]:
    """The module of an ``/etc/modules``-style line (``name [options]``), else None."""
    if line.lstrip().startswith("#"):
        return None
    m = _NAME_RE.match(line)
    return canonical_module(m.group(1)) if m else None


def order_refusal(path: str, where: str) -> Finding:
    """The refusal for an existing module list out of the guide's order.

    The wizard adds lines without moving the user's, so it cannot make such a
    list right by itself; loading in another order does not work (the guide).
    """
    return Finding(
        "modules-out-of-order",
        ERROR,
        f"{path} ({where}) lists the virtio modules out of the guide's order; on this "
        "2.4 kernel (the RHEL 3 virtio package) drivers loaded in another order do not work.",
        Remedy(f"Put them in this order: {ORDER_TEXT}, then plan again."),
        SEED_ORDER,
    )


def order_finding(path: str, where: str, strict: bool) -> Finding:
    """A list out of the guide's order: a refusal where order matters, else a warning.

    Only the 2.4 kernels of RHEL 3 need the order (``knowledge.order_matters``);
    on 2.6 and later the list works as it is, and the plan adds what is
    missing in the right place and goes on.
    """
    if strict:
        return order_refusal(path, where)
    return Finding(
        "modules-order-tolerated",
        WARNING,
        f"{path} ({where}) lists the virtio modules out of the guide's order "
        f"({ORDER_TEXT}); on this 2.6+ kernel that still works: modprobe loads each "
        "module's dependencies from modules.dep first and the driver core binds virtio "
        "drivers in any order.",
        Remedy(
            "Nothing to do: the wizard leaves those lines as they are and adds the missing "
            "modules in order around them. Reorder them only if the guest also boots a 2.4 kernel."
        ),
        ORDER_SOURCE_26,
    )


def module_rank(name: str) -> int:
    """Position in the guide's order; virtio_blk and virtio_net share a rank."""
    if name == "virtio_net":
        name = "virtio_blk"
    return SEED_MODULES.index(name) if name in SEED_MODULES else len(SEED_MODULES)


@dataclass(frozen=True)
class ModuleMerge:
    """A module list with the wanted modules that were missing inserted."""

    #: The new lines (with terminators).
    lines: list[str]
    #: Modules that were missing and are now inserted, in the order wanted.
    added: tuple[str, ...]


def merge_whole_file(
    path: str,
    text: str,
    wanted: Sequence[str],
    parse: Callable[[str], Optional[str]],
    fmt: Callable[[str], str],
    strict: bool = True,
) -> tuple[Optional[ModuleMerge], list[Finding]]:
    """``merge_or_refuse`` over a file that is one module list from top to bottom.

    Any line may hold a module and new ones go at the end, in the file's own
    line ending: the list files (sysconfig/modules, /etc/modules,
    modules-load.d, initramfs-tools), unlike rc.sysinit's block.
    """
    lines = split_lines(text)
    return merge_or_refuse(
        path, lines, wanted, parse, fmt, range(len(lines)), len(lines), line_ending(text),
        strict=strict,
    )  # fmt: skip


def merge_or_refuse(
    path: str,
    lines: Sequence[str],
    wanted: Sequence[str],
    parse: Callable[[str], Optional[str]],
    fmt: Callable[[str], str],
    region: range,
    anchor: int,
    eol: str,
    lead: Sequence[str] = (),
    strict: bool = True,
) -> tuple[Optional[ModuleMerge], list[Finding]]:
    """Insert the wanted modules missing from ``region`` so the order stays right.

    Every module-list file the planner edits line by line (rc.sysinit,
    rc.modules, sysconfig/modules, /etc/modules, modules-load.d,
    initramfs-tools) goes through here. ``parse`` reads a line's module
    (None: not a module line), ``fmt`` writes one. Existing lines are never
    moved or changed: each missing module goes just before the first listed
    module the guide loads later, else after the last listed one, else at
    ``anchor`` (preceded by the ``lead`` lines, e.g. the guide's blank line).

    Only virtio_blk and virtio_net may swap (the guide). A list already out
    of that order gives ``(None, [refusal])`` with ``strict`` (a 2.4 kernel:
    it stays as it is); otherwise (2.6+) the merge and the warning that the
    order was tolerated. ``(merge, [])`` when the order is right.
    """
    seed = set(SEED_MODULES)
    existing: list[tuple[int, str]] = []
    for i in region:
        name = parse(lines[i])
        if name in seed:
            existing.append((i, name))
    bad = order_violation([n for _, n in existing])
    notes: list[Finding] = []
    if bad is not None:
        notes.append(order_finding(path, f"line {existing[bad][0] + 1}", strict))
        if strict:
            return None, notes
    listed = {n for _, n in existing}
    missing = tuple(m for m in wanted if m not in listed)
    out = _inserted(lines, missing, existing, fmt, anchor, eol, lead)
    return ModuleMerge(out, missing), notes


def _inserted(
    lines: Sequence[str],
    missing: Sequence[str],
    existing: Sequence[tuple[int, str]],
    fmt: Callable[[str], str],
    anchor: int,
    eol: str,
    lead: Sequence[str],
) -> list[str]:
    """``lines`` with each of ``missing`` placed by its rank among ``existing``
    (line index, module) or at ``anchor``; see ``merge_or_refuse``."""
    inserts: dict[int, list[str]] = {}
    for m in missing:
        later = [i for i, n in existing if module_rank(n) > module_rank(m)]
        if later:
            pos = later[0]
        elif existing:
            pos = existing[-1][0] + 1
        else:
            pos = anchor
        inserts.setdefault(pos, []).append(m)
    out = list(lines)
    for pos in sorted(inserts, reverse=True):
        new = [fmt(m) + eol for m in inserts[pos]]
        if not existing and pos == anchor:
            new = [ln + eol for ln in lead] + new
        if pos > 0 and pos == len(out) and not out[-1].endswith("\n"):
            out[-1] += eol
        out[pos:pos] = new
    return out
