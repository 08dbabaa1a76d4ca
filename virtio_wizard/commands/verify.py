"""``virtio-wizard verify``: after the switch, is the running guest on virtio?

Runs on the running guest (local, or ``--ssh``): root on a virtio disk,
every fstab swap active, every fstab mount present, each NIC on virtio_net
under its old name, the last apply pending verification, and for the next
boot: a kernel update keeps virtio, the initrd booted next holds what the
root needs. Exit 0 when all hold (the journal's apply is then marked
verified), 1 when something does not (each problem with its likely cause and
its fix, the remedy worded with this command line's flags), 3 on an offline
root or the demo (there is no running system to ask). ``--json`` prints
schema ``virtio-wizard/verify/2`` (docs/apply.md).
"""

from __future__ import annotations

import argparse
import sys

from ..cli import EXIT_ERROR, EXIT_OK, EXIT_REFUSED, open_target

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    from ..apply.verify_live import NotLiveError, verify_live
    from ..present.remedy import cli_fix

    target = open_target(args)
    try:
        report = verify_live(target)
    except NotLiveError as exc:
        print(f"virtio-wizard: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if args.json:
        from ..jsontext import dumps_bytes  # names that are not UTF-8 as JSON escapes

        sys.stdout.write(dumps_bytes(report.to_dict()).decode("utf-8"))
        return EXIT_OK if report.ok else EXIT_ERROR
    print(f"Checking {report.target} after the switch to virtio:")
    for check in report.checks:
        mark = "ok " if check.ok else "NO "
        print(f"  [{mark}] {check.title}: {check.detail}")
        for problem in check.problems:
            print(f"        problem: {problem.message}")
            print(f"        likely cause: {problem.cause}")
            print(f"        fix: {cli_fix(problem.remedy)}")
    for note in report.notes:
        print(f"note: {note}")
    if report.ok:
        tail = " (the journal marks it verified)" if report.recorded else ""
        print(f"All checks hold: the guest runs on virtio{tail}.")
        return EXIT_OK
    print("Some checks do not hold; if the guest is unusable, see 'If the guest does not boot'")
    print("in docs/troubleshooting.md (switch the bus back, or undo from a rescue system).")
    return EXIT_ERROR
