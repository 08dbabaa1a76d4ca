"""``virtio-wizard plan``: detect, plan, and show the preview; writes nothing.

Exit 0 with a plan (even an empty one), 3 when the plan is refused (the
refusals are printed with their fix), 2 for arguments that do not fit.
``-o FILE`` saves the plan's JSON for ``apply --plan FILE``; ``--script``
hands the plan to the script exporter (``virtio_wizard.script``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import EXIT_OK, EXIT_REFUSED, UsageError, open_target
from ..jsontext import dumps_bytes
from ..outfile import PRIVATE_EXEC, write_private
from ..plan.model import Choices, Plan, PlanError, parse_drivers

__all__ = ["run", "choices_from_args", "plan_json"]


def choices_from_args(args: argparse.Namespace) -> Choices:
    """The user's Choices from ``plan``/``apply`` options; UsageError when they do not fit."""
    method = getattr(args, "method", None)
    drivers = getattr(args, "drivers", None)
    if not method:
        raise UsageError("--method is required: sysinit or initrd")
    if not drivers:
        raise UsageError("--drivers is required: block, net or block,net")
    sysinit_file = getattr(args, "sysinit_file", None)
    if sysinit_file and method != "sysinit":
        raise UsageError("--sysinit-file is only for --method sysinit")
    fix = getattr(args, "fix_disk_names", None)
    use_uuid = bool(getattr(args, "use_uuid", False))
    if use_uuid and fix is False:
        raise UsageError("--use-uuid rewrites disk names: it cannot go with --keep-disk-names")
    try:
        block, net = parse_drivers(drivers)
        return Choices(
            method=method,
            block=block,
            net=net,
            kernel=getattr(args, "kernel", None) or None,
            fix_disk_names=fix,
            use_uuid=use_uuid,
            sysinit_file=sysinit_file or None,
            # Not given: Choices takes the method's default (plan.defaults).
            boot_disk=getattr(args, "boot_disk", None) or None,
            all_kernels=bool(getattr(args, "all_kernels", True)),
        )
    except PlanError as exc:
        raise UsageError(str(exc)) from exc


def plan_json(plan: Plan) -> str:
    """The plan document (schema virtio-wizard/plan/2), as printed and saved.

    Guest paths that are not UTF-8 are held as surrogate escapes (``\\udcff``
    for byte 0xff), which JSON writes as ``\\udcff``: the text stays valid
    UTF-8 and reads back to the same path.
    """
    data: dict[str, Any] = plan.to_dict()
    return dumps_bytes(data).decode("utf-8")


def run(args: argparse.Namespace) -> int:
    from ..detect import detect
    from ..plan import make_plan
    from ..preview import render_text, terminal_width

    choices = choices_from_args(args)
    target = open_target(args)
    facts = detect(target)
    plan = make_plan(target, facts, choices)
    text = plan_json(plan)
    if args.json:
        sys.stdout.write(text)
    else:
        sys.stdout.write(
            render_text(plan, color=sys.stdout.isatty(), width=terminal_width(sys.stdout.isatty()))
        )
    if getattr(args, "output", None):
        print(f"virtio-wizard: {write_private(args.output, text.encode('utf-8'))}", file=sys.stderr)
    if plan.refused:
        ids = ", ".join(f.id for f in plan.refusals)
        print(f"virtio-wizard: plan refused ({ids})", file=sys.stderr)
        return EXIT_REFUSED
    if getattr(args, "script", None):
        from ..script import write_script

        try:
            write_script(plan, args.script, target=target)
        except ValueError as exc:
            print(f"virtio-wizard: refused: {exc}; nothing written", file=sys.stderr)
            return EXIT_REFUSED
        print(
            f"virtio-wizard: wrote {args.script} (mode {PRIVATE_EXEC:04o}: it holds copies "
            "of guest files, some may be secret)",
            file=sys.stderr,
        )
    return EXIT_OK
