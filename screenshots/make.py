"""Write an SVG screenshot of every wizard screen into ``screenshots/``.

Usage: ``python screenshots/make.py [--ascii] [--out DIR]``

Each screen is reached by keyboard on a fresh copy of the rhel52 demo guest
(the same ``make_app`` as the CLI and the tests), at 80x24, and saved with
``App.save_screenshot``. ASCII mode files get an ``-ascii`` suffix.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from virtio_wizard.demo import open_demo  # noqa: E402
from virtio_wizard.tui.app import make_app  # noqa: E402

#: Screen name -> keys from the start (after detection), in wizard order.
SCREENS = (
    ("01-guest", ()),
    ("02-path", ("n",)),
    ("03-drivers", ("n", "n")),
    # sysinit starts with the boot disk emulated; moving it to virtio is refused.
    (
        "03b-drivers-sysinit-refused",
        ("n", "down", "space", "n", "tab", "tab", "tab", "up", "space"),
    ),
    ("04-preview", ("n", "n", "n")),
    ("05-confirm", ("n", "n", "n", "a")),
    ("06-apply", ("n", "n", "n", "a", "y")),
    ("07-done", ("n", "n", "n", "a", "y", "n")),
    ("07c-done-host-steps", ("n", "n", "n", "a", "y", "n", "pagedown")),
    ("07b-confirm-undo", ("n", "n", "n", "a", "y", "n", "u")),
    ("08-undo", ("n", "n", "n", "a", "y", "n", "u", "y")),
    ("09-troubleshooting", ("t",)),
    ("10-report", ("r",)),
    ("12-help", ("question_mark",)),
    # Started again after the apply, on the running guest: the checks come first.
    ("11-welcome-back", ()),
)


async def _settle(pilot) -> None:
    """Wait for the screen's workers (not the step walker, which never ends)."""
    quiet = 0
    for _ in range(500):
        await pilot.pause(0.02)
        busy = [w for w in pilot.app.workers if w.group != "walk" and w.is_running]
        quiet = 0 if busy else quiet + 1
        if quiet >= 4:
            break
    await pilot.pause(0.05)


def welcome_back_guest():
    """A running guest after a switch that left the boot disk on SATA (tests/live_fixtures.py)."""
    import tempfile

    from virtio_wizard.targets import LocalTarget

    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
    from live_fixtures import after_a_bad_switch, materialize

    root = materialize(tempfile.mkdtemp(prefix="welcome-back-"), after_a_bad_switch())
    return LocalTarget(root, live=True)


async def shoot(name: str, keys: tuple[str, ...], out: str, ascii_mode: bool) -> str:
    if name == "11-welcome-back":
        app = make_app(welcome_back_guest(), ascii=ascii_mode, label="guest rhel6")
    else:
        app = make_app(open_demo("rhel52"), ascii=ascii_mode, label="demo guest")
    filename = f"{name}{'-ascii' if ascii_mode else ''}.svg"
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        for key in keys:
            await pilot.press(key)
            await _settle(pilot)
        app.save_screenshot(filename=filename, path=out)
    return os.path.join(out, filename)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ascii", action="store_true", help="ASCII mode only")
    parser.add_argument("--both", action="store_true", help="normal and ASCII mode")
    parser.add_argument("--out", default=HERE, help="folder for the SVGs (default: here)")
    args = parser.parse_args(argv)
    modes = [False, True] if args.both else [args.ascii]
    os.makedirs(args.out, exist_ok=True)
    for ascii_mode in modes:
        for name, keys in SCREENS:
            print(asyncio.run(shoot(name, keys, args.out, ascii_mode)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
