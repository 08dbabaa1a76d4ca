"""``virtio-wizard host``: the VM definition on virtio, and the steps around it.

With ``--domain-xml FILE`` (``virsh dumpxml NAME`` output) it prints the
diff of the virtio definition and, with ``-o OUT``, writes it there; the
input file is never written. Without it, it prints the ``virsh`` steps, the
qemu flags and a throwaway-overlay trial. The guest's facts (given with
``--root``, ``--ssh`` or ``--demo``) say which virtio name each disk must
get and whether the drivers predate virtio 1.0; with no target option it
runs on the host, knows no guest, and says what it assumed.

Exit 0 done (or nothing to do), 1 an OS error, 2 malformed XML or bad
arguments, 3 refused (a domain not run by QEMU/KVM).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..cli import EXIT_ERROR, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, UsageError, open_target

__all__ = ["run", "view_for"]


def view_for(args: argparse.Namespace):
    """The GuestView from the target the arguments name; the bare view when none is named."""
    from ..host import guest_view, guest_view_of

    if not any(getattr(args, n, None) for n in ("root", "ssh", "demo")):
        return guest_view(None)
    from ..detect import detect

    target = open_target(args)
    return guest_view_of(target, detect(target, read_initrds=False))


def _with_overrides(view, args: argparse.Namespace):
    from dataclasses import replace

    changes: dict[str, Any] = {}
    if args.drivers:
        wanted = {w.strip() for w in args.drivers.split(",") if w.strip()}
        if not wanted or wanted - {"block", "net"}:
            raise UsageError("--drivers takes block, net or block,net")
        changes.update(block="block" in wanted, net="net" in wanted)
    if args.boot_disk:
        changes["boot_disk"] = args.boot_disk
    return replace(view, **changes) if changes else view


def run(args: argparse.Namespace) -> int:
    from ..host import DomainRefused, DomainXMLError, transform_domain
    from ..host_steps import generic_steps, way_back

    view = _with_overrides(view_for(args), args)
    if not args.domain_xml:
        if args.output:
            raise UsageError("-o/--output needs --domain-xml")
        for line in generic_steps(view, args.name or "GUEST"):
            print(line)
        _print_way_back(way_back(view))
        return EXIT_OK
    path = args.domain_xml
    try:
        with open(path, "rb") as fh:
            data = fh.read(16 << 20)
    except OSError as exc:
        print(f"virtio-wizard: error: {path}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        result = transform_domain(data, view)
    except DomainXMLError as exc:
        print(f"virtio-wizard: error: {path}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DomainRefused as exc:
        print(f"virtio-wizard: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    _print_transformed(view, result, path, args.output)
    return EXIT_OK


def _print_transformed(view, result, path: str, out: str | None) -> None:
    """The diff of the new definition, the file written (if ``out``), then the steps on the host."""
    from ..host import unified_diff

    if view.legacy_only is None and view.disk_map == {}:
        print(
            "No guest facts (give --root, --ssh or --demo for them): disks get vda, vdb, ... "
            "in the order of their old names, as the wizard's disk-name edits assume."
        )
    for note in result.notes:
        print(f"note: {note}")
    if not result.changed:
        print(f"Nothing to do: domain {result.name} already uses virtio for its disks and NICs.")
        return
    sys.stdout.write(unified_diff(result.old_text, result.new_text, os.path.basename(path)))
    if out:
        if os.path.exists(out) and os.path.samefile(out, path):
            raise UsageError("-o must name a new file: the input domain XML is never changed")
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(result.new_text)
        print(f"Wrote {out}; {path} is unchanged.")
    _print_host_steps(view, result, out or "")


def _print_host_steps(view, result, out: str) -> None:
    """What to run on the host, a throwaway-overlay trial, and the way back."""
    from ..host_steps import host_steps, trial_commands, way_back

    print()
    print("On the host:")
    for i, step in enumerate(host_steps(view, result, result.name, out), 1):
        print(f"  {i}. {step}")
    trials = trial_commands(result)
    if trials:
        print("A safe trial first (a throwaway overlay; the real disk is only read):")
        for cmd in trials:
            print(f"  {cmd}")
        print(
            "  point the new definition's disks at these files for one boot, verify, "
            "then delete them."
        )
    _print_way_back(way_back(view))


def _print_way_back(lines: list[str]) -> None:
    print()
    print("If the guest does not boot after the switch:")
    for line in lines:
        print(f"  - {line}")
