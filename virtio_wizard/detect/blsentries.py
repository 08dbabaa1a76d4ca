"""BLS boot entries (``/boot/loader/entries/*.conf``): RHEL 8+, Fedora 30+.

grub's ``blscfg`` command builds the menu from these files instead of
grub.cfg's menuentries: ``title``, ``version``, ``linux``, ``initrd`` and
``options`` (where ``$kernelopts`` and other variables come from grubenv),
newest version first by rpm's comparison, the default named by grubenv's
``saved_entry`` (the entry's file name). Apart from ``bootentries.py``
because it is its own file format with its own sort and default rules.
"""

from __future__ import annotations

import functools
import re
from typing import Optional

from ..facts import BootEntry, BootMenu, Unreadable
from ..targets import Target
from ..vercmp import rpmvercmp
from ._read import read_guest_text

__all__ = ["BLS_DIR", "read_bls"]

BLS_DIR = "/boot/loader/entries"


def _expand(value: str, env: dict[str, str]) -> str:
    """``$kernelopts`` and ``${name}`` from grubenv, as grub expands them."""
    return re.sub(
        r"\$(?:\{(\w+)\}|(\w+))", lambda m: env.get(m.group(1) or m.group(2), ""), value
    ).strip()


def read_bls(
    target: Target,
    env: dict[str, str],
    problems: Optional[list[Unreadable]],
    grub_cfg: Optional[str] = None,
) -> BootMenu:
    """The BLS menu as grub's blscfg shows it (``grub_cfg``: the grub.cfg that loads it)."""
    found: list[tuple[str, dict[str, str]]] = []
    for name in sorted(target.listdir(BLS_DIR)):
        if not name.endswith(".conf"):
            continue
        text = read_guest_text(target, f"{BLS_DIR}/{name}", problems)
        if text is None:
            continue
        keys: dict[str, str] = {}
        for line in text.split("\n"):
            key, _, value = line.strip().partition(" ")
            if key and not key.startswith("#") and key not in keys:
                keys[key] = value.strip()
        found.append((name[: -len(".conf")], keys))

    # grub's blscfg: newest version first (rpm's comparison), ties by file name.
    def cmp(x: tuple[str, dict[str, str]], y: tuple[str, dict[str, str]]) -> int:
        v = rpmvercmp(y[1].get("version", ""), x[1].get("version", ""))
        return v or (x[0] > y[0]) - (x[0] < y[0])

    found.sort(key=functools.cmp_to_key(cmp))
    saved = env.get("saved_entry") or ""
    default = 0
    how = "no saved_entry: grub boots the newest entry"
    problem: Optional[str] = None
    if saved:
        ids = [ident for ident, _ in found]
        titles = [keys.get("title", "") for _, keys in found]
        if saved in ids:
            default, how = ids.index(saved), f"grubenv saved_entry={saved}"
        elif saved in titles:
            default, how = titles.index(saved), f"grubenv saved_entry={saved} (a title)"
        elif saved.isdigit() and int(saved) < len(found):
            default, how = int(saved), f"grubenv saved_entry={saved}"
        else:
            default = -1
            how = f"grubenv saved_entry={saved}"
            problem = f"saved_entry {saved!r} names no entry in {BLS_DIR}"
    entries = tuple(
        BootEntry(
            title=keys.get("title", ident),
            kernel=keys.get("linux"),
            initrd=(keys.get("initrd") or "").split()[0] if keys.get("initrd") else None,
            args=_expand(keys.get("options", ""), env),
            id=ident,
            index=str(n),
            default=n == default,
        )
        for n, (ident, keys) in enumerate(found)
    )
    if grub_cfg:
        how += f" (loaded by blscfg in {grub_cfg})"
    return BootMenu("bls", BLS_DIR, entries, how, problem)
