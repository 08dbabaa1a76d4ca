"""A Finding's remedy in the command line's words: the flags of ``plan``/``apply``.

The core says what to change (``finding.Remedy``: advice, the settings of
each alternative, a command); this module names the flag for each setting,
for ``detect``, ``plan``, ``apply`` and the report. The wizard words the same
settings as the controls on its screens (``tui/wizard_terms.py``).

>>> from virtio_wizard.finding import Remedy, choose
>>> cli_fix(Remedy("Load the drivers from the initrd.", (choose(method="initrd"),)))
'Load the drivers from the initrd. Command line: --method initrd.'
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Callable

from ..finding import Remedy, Setting

__all__ = ["FixWords", "flag", "cli_fix", "join_options"]

#: How a face words a remedy: the CLI's ``cli_fix`` or the wizard's ``wizard_fix``.
FixWords = Callable[[Remedy], str]

#: Placeholder a flag takes when the remedy names no value ("pick another one").
_METAVAR = {"root": "DIR", "kernel": "KVER", "sysinit_file": "PATH"}


def flag(setting: Setting) -> str:
    """The command-line flag that makes ``setting``.

    >>> flag(Setting("fix_disk_names", False))
    '--keep-disk-names'
    >>> flag(Setting("kernel"))
    '--kernel KVER'
    """
    name, value = setting.choice, setting.value
    if name == "fix_disk_names":
        return "--fix-disk-names" if value else "--keep-disk-names"
    if name == "use_uuid":
        return "--use-uuid" if value else "without --use-uuid"
    shown = value if value else _METAVAR.get(name, "VALUE")
    return f"--{name.replace('_', '-')} {shlex.quote(str(shown)) if value else shown}"


def join_options(options: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``: the alternatives of a remedy in a sentence."""
    if len(options) <= 1:
        return "".join(options)
    return ", ".join(options[:-1]) + " or " + options[-1]


def cli_fix(remedy: Remedy) -> str:
    """The remedy as one paragraph for the command line: advice, flags, command."""
    parts = [remedy.advice] if remedy.advice else []
    if remedy.options:
        ways = [" ".join(flag(s) for s in option) for option in remedy.options]
        parts.append(f"Command line: {join_options(ways)}.")
    if remedy.command:
        parts.append(f"Run: {shlex.join(remedy.command)}")
    return " ".join(parts)
