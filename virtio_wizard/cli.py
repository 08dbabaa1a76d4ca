"""Command line: ``virtio-wizard [TARGET] [detect|plan|apply|undo|report|host|verify]``.

With no subcommand the Textual wizard starts; the subcommands are the same
engine for scripts. This module only parses arguments and opens the target:
each subcommand lives in ``virtio_wizard.commands.<name>`` and is imported
when it runs, so ``detect --json`` never pays for Rich or Textual.

Exit codes: 0 done, 1 error, 2 usage, 3 refused (the plan or the guest says no).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Optional

from . import __version__, logs

__all__ = [
    "main",
    "build_parser",
    "open_target",
    "EXIT_OK",
    "EXIT_ERROR",
    "EXIT_USAGE",
    "EXIT_REFUSED",
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3

_TARGET_HELP = "the guest: this system (default), an offline root, the demo guest, or SSH"


def _add_target_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """Target options work before and after the subcommand.

    On subparsers their default is SUPPRESS so that an option given before the
    subcommand is not reset by the subparser's default.
    """
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("target", _TARGET_HELP)
    group.add_argument(
        "--root",
        metavar="DIR",
        default=default,
        help="an offline guest: a mounted disk or copied tree (its commands run in a sandbox)",
    )
    group.add_argument(
        "--ssh",
        metavar="[USER@]HOST[:PORT]",
        default=default,
        help="a live guest over SSH (needs only /bin/sh there)",
    )
    group.add_argument(
        "--image",
        metavar="DISK",
        action="append",
        default=default,
        help="a powered-off VM's disk image (qcow2 or raw), through libguestfs; "
        "repeat for a guest with several disks",
    )
    group.add_argument(
        "--image-format",
        choices=("raw", "qcow2"),
        default=default,
        help="the image's format, when it cannot be probed safely (a qcow2 overlay)",
    )
    group.add_argument(
        "--demo",
        nargs="?",
        const="rhel52",
        default=default,
        metavar="NAME",
        help="a bundled demo guest, copied to a temp dir: "
        + ", ".join(DEMO_NAMES)
        + " (default: rhel52)",
    )


def _add_log_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """``-v`` and ``--debug``, before or after the subcommand (see ``_add_target_options``)."""
    default = False if top else argparse.SUPPRESS
    group = parser.add_argument_group(
        "logging", "what the wizard does, for you or a support ticket (docs/apply.md)"
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="log the commands run (where, exit code, time), the apply steps and the undo "
        "actions on stderr; the full-screen wizard logs to a file instead",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="as -v, plus detection's milestones and the commands' output",
    )


#: The demo guests' names for ``--help`` (``demo.DEMO_GUESTS`` holds them with
#: their descriptions; importing it here would slow every start; a test keeps both equal).
DEMO_NAMES = ("rhel52", "debian12", "rhel39")


def _add_choice_options(parser: argparse.ArgumentParser) -> None:
    """The user's Choices, shared by ``plan`` and ``apply``."""
    parser.add_argument(
        "--method",
        choices=("sysinit", "initrd"),
        help="load the drivers late in boot (sysinit) or from the initrd",
    )
    parser.add_argument(
        "--drivers",
        metavar="LIST",
        help="block, net, or block,net",
    )
    parser.add_argument(
        "--kernel",
        metavar="KVER",
        help="kernel to prepare (default: the one the boot loader boots next)",
    )
    parser.add_argument(
        "--one-kernel",
        dest="all_kernels",
        action="store_false",
        default=True,
        help="prepare only that kernel (default: also every other kernel with a boot entry)",
    )
    names = parser.add_mutually_exclusive_group()
    names.add_argument(
        "--fix-disk-names",
        dest="fix_disk_names",
        action="store_const",
        const=True,
        default=None,
        help="rewrite /dev/hdX and /dev/sdX references to /dev/vdX (default with block)",
    )
    names.add_argument(
        "--keep-disk-names",
        dest="fix_disk_names",
        action="store_const",
        const=False,
        help="leave disk references as they are",
    )
    parser.add_argument(
        "--use-uuid",
        action="store_true",
        help="write UUID= instead of /dev/vdX where the file system's UUID is known",
    )
    parser.add_argument(
        "--sysinit-file",
        metavar="PATH",
        help="for --method sysinit: /etc/rc.d/rc.sysinit (Red Hat's edit), /etc/rc.modules, "
        "/etc/sysconfig/modules/virtio.modules, /etc/modules or /etc/modules-load.d/virtio.conf "
        "(default: the one the wizard recommends for this guest, else /etc/rc.d/rc.sysinit)",
    )
    parser.add_argument(
        "--boot-disk",
        choices=("virtio", "emulated"),
        default=None,
        help="whether the disk the guest boots from moves to virtio (default: virtio with "
        "--method initrd, emulated with --method sysinit, whose drivers load too late for it)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="virtio-wizard",
        description="Move a Linux KVM guest onto the virtio block and network drivers, "
        "safely. With no COMMAND the full-screen wizard starts (apply needs root on this "
        "system; --demo NAME tries it on a bundled guest: " + ", ".join(DEMO_NAMES) + ").",
        epilog="virtio-wizard COMMAND --help shows each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"virtio-wizard {__version__}")
    parser.add_argument(
        "--ascii",
        action="store_true",
        help="pure ASCII screens (automatic on TERM=linux)",
    )
    _add_target_options(parser, top=True)
    _add_log_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("detect", help="show what the guest is and what it needs")
    _add_target_options(p, top=False)
    p.add_argument("--json", action="store_true", help="print facts and findings as JSON")
    p.add_argument("--no-initrd", action="store_true", help="do not read initrd images (faster)")

    p = sub.add_parser("plan", help="preview the changes (diffs and commands); writes nothing")
    _add_target_options(p, top=False)
    _add_choice_options(p)
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.add_argument("-o", "--output", metavar="FILE", help="also save the plan (JSON) to FILE")
    p.add_argument(
        "--script",
        metavar="FILE",
        help="export the plan as a POSIX sh script to run on the guest",
    )

    p = sub.add_parser("apply", help="apply a plan after showing it (backups, journal)")
    _add_target_options(p, top=False)
    _add_choice_options(p)
    p.add_argument("--plan", metavar="FILE", help="apply a plan saved with plan -o")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask (for scripts)")

    p = sub.add_parser("undo", help="revert the last apply, byte for byte")
    _add_target_options(p, top=False)
    p.add_argument("-y", "--yes", action="store_true", help="do not ask (for scripts)")

    p = sub.add_parser("report", help="write a Markdown or JSON report for a support ticket")
    _add_target_options(p, top=False)
    p.add_argument(
        "--format",
        choices=("markdown", "json"),
        default="markdown",
        help="Markdown for people, JSON for tools (default: markdown)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")

    p = sub.add_parser(
        "host", help="the VM definition on virtio (libvirt domain XML), or the virsh/qemu steps"
    )
    _add_target_options(p, top=False)
    p.add_argument("--domain-xml", metavar="FILE", help="a libvirt domain XML (virsh dumpxml NAME)")
    p.add_argument("-o", "--output", metavar="OUT", help="write the new domain XML to OUT")
    p.add_argument("--name", metavar="NAME", help="the VM's name in the printed steps")
    p.add_argument(
        "--drivers", metavar="LIST", help="block, net or block,net (default: the plan's)"
    )
    p.add_argument(
        "--boot-disk", choices=("virtio", "emulated"), help="keep the boot disk emulated"
    )

    p = sub.add_parser("verify", help="after the switch: check the running guest is on virtio")
    _add_target_options(p, top=False)
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    for each in sub.choices.values():
        _add_log_options(each, top=False)
    _describe_subcommands(sub)
    return parser


def _describe_subcommands(sub) -> None:
    """Each subcommand's ``--help`` opens with the line the top-level list shows."""
    for action in getattr(sub, "_choices_actions", []):
        parser = sub.choices.get(action.dest)
        if parser is not None and parser.description is None and action.help:
            parser.description = action.help[0].upper() + action.help[1:] + "."


def _usage_parser(parser: argparse.ArgumentParser, command: Optional[str]):
    """The parser whose usage fits an error in ``command`` (the subcommand's own)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return parser


def open_target(args: argparse.Namespace):
    """The Target the arguments name. Raises TargetError / UsageError."""
    chosen = [n for n in ("root", "ssh", "demo", "image") if getattr(args, n, None)]
    if len(chosen) > 1:
        raise UsageError("choose one of --root, --ssh, --image and --demo")
    if getattr(args, "image_format", None) and not getattr(args, "image", None):
        raise UsageError("--image-format goes with --image DISK")
    if getattr(args, "image", None):
        # --yes is the confirmation given up front: one appliance, read-write.
        writes = getattr(args, "command", None) in ("apply", "undo") and getattr(args, "yes", False)
        return open_image(args, writable=writes)
    if getattr(args, "ssh", None):
        from .targets.ssh import SSHSpecError, SSHTarget

        try:
            return SSHTarget.connect(args.ssh)
        except SSHSpecError as exc:
            raise UsageError(str(exc)) from exc
    if getattr(args, "demo", None):
        from .demo import open_demo

        return open_demo(args.demo)
    from .targets import LocalTarget

    return LocalTarget(args.root or "/")


def open_image(args: argparse.Namespace, writable: bool):
    """The ``--image`` disks in a libguestfs appliance, read-only unless ``writable``.

    ``apply`` and ``undo`` open them read-only to detect and preview, and
    again read-write (:func:`writable_target`) once the user said yes.
    """
    from .targets.image import ImageTarget

    def say(message: str) -> None:
        print(f"virtio-wizard: {message}", file=sys.stderr, flush=True)

    return ImageTarget(
        args.image, readonly=not writable, fmt=getattr(args, "image_format", None), progress=say
    )


def writable_target(target, note: Optional[Callable[[str], None]] = None):
    """The target, ready to be written: a read-only image is reopened read-write.

    ``note`` hears what the wait is for (the TUI shows it in the apply log;
    the CLI's image target says it on stderr itself).
    """
    make_writable = getattr(target, "make_writable", None)
    if make_writable is not None and getattr(target, "readonly", False):
        if note is not None:
            note("opening the image read-write: starting the libguestfs appliance again")
        make_writable()
    return target


COMMANDS = ("detect", "plan", "apply", "undo", "report", "host", "verify")


def _demo_default(argv: list[str]) -> list[str]:
    """``--demo detect`` means the default demo guest, not a guest named "detect"."""
    out = []
    for i, token in enumerate(argv):
        out.append(token)
        if token == "--demo" and i + 1 < len(argv) and argv[i + 1] in COMMANDS:
            out.append("rhel52")
    return out


class UsageError(Exception):
    """Arguments that do not fit together (exit 2)."""


def standard_streams() -> None:
    """Put ``/dev/null`` on a closed stdin, stdout or stderr (``<&-``, ``>&-``).

    Python leaves ``sys.stdout`` None then, and worse, the next file the
    wizard opens (a lock, a journal, a guest file) would take the free
    descriptor 0, 1 or 2, where a command it runs writes its output or reads
    its input. Filled in order, each ``open`` lands on the lowest free one.
    """
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        if getattr(sys, name) is None:
            # Lives as long as the process, as the stream Python did not make.
            setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))  # noqa: SIM115
    for fd, name in ((1, "stdout"), (2, "stderr")):
        stream = getattr(sys, name)
        try:
            real = stream.fileno() == fd
        except (OSError, ValueError, AttributeError):  # a test's capture, not the fd
            real = False
        if real and not isinstance(stream, _PipeSafe):
            setattr(sys, name, _PipeSafe(stream, fd))


class _PipeSafe:
    """stdout or stderr that goes quiet when its reader goes away (``| head``).

    A progress line must never stop an apply half-way: on a broken pipe the
    descriptor is pointed at ``/dev/null`` and the wizard carries on.
    """

    def __init__(self, stream, fd: int) -> None:
        self._stream = stream
        self._fd = fd

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._quiet()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._quiet()

    def _quiet(self) -> None:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, self._fd)
        os.close(null)
        with contextlib.suppress(OSError):
            self._stream.flush()  # what was pending goes to /dev/null now

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: Optional[Sequence[str]] = None) -> int:
    standard_streams()
    parser = build_parser()
    args = parser.parse_args(_demo_default(list(sys.argv[1:] if argv is None else argv)))
    command = args.command or "tui"
    log_file = logs.setup(logs.level_of(args.verbose, args.debug), tui=command == "tui")
    module = importlib.import_module(f"virtio_wizard.commands.{command}")
    try:
        return int(module.run(args))
    except UsageError as exc:
        _usage_parser(parser, args.command).print_usage(sys.stderr)
        print(f"virtio-wizard: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("virtio-wizard: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        # TargetError and friends: one line, no traceback.
        print(f"virtio-wizard: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if log_file is not None:  # the screen is gone: now it may be said
            print(f"virtio-wizard: log written to {log_file}", file=sys.stderr)
