"""Driver: start an app headless and print when its first useful frame is drawn.

``python bench/first_screen.py minimal``  a Header, one Static and a Footer
``python bench/first_screen.py wizard``   ``make_app(open_demo("rhel52"))``

Both run the same way, in a fresh process per sample (imports included:
that is what the user waits for), at 80x24, headless. The condition is
checked on every frame the compositor produces (``App._display``, which
Textual calls with each screen update): the minimal app is done at its first
frame that shows its text; the wizard when a frame shows the demo guest's
facts (the app knows the facts and the frame shows the Guest screen's
"Distro" line with the detected distribution's name). The driver then prints ``at=EPOCH_SECONDS``
and leaves at once; ``bench/measure.py`` subtracts the spawn time.

Headless means no escape sequences are written to a terminal, for both apps.
"""

from __future__ import annotations

import os
import sys
import threading
import time

__all__ = ["frame_text", "minimal_app", "wizard_app", "main"]


def frame_text(app) -> str:
    """The text of the whole current frame (what a terminal would show)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def minimal_app():
    """The reference: the smallest app with a header, a text and a footer."""
    from textual.app import App
    from textual.widgets import Footer, Header, Static

    class Minimal(App):
        def compose(self):
            yield Header()
            yield Static("Hello from a minimal Textual app")
            yield Footer()

    app = Minimal()
    return app, lambda: "Hello from a minimal" in frame_text(app)


def wizard_app(demo: str = "rhel52"):
    """The wizard on a demo guest, built as the CLI builds it."""
    from virtio_wizard.demo import open_demo
    from virtio_wizard.tui.app import make_app

    app = make_app(open_demo(demo))

    def ready() -> bool:
        facts = app.so_far().facts  # what the step on screen knows
        if facts is None:
            return False
        text = frame_text(app)
        return "Distro" in text and (facts.distro.name or "Distro") in text

    return app, ready


def _report_and_leave(code: int = 0) -> None:
    sys.stdout.write(f"at={time.time():.6f}\n")
    sys.stdout.flush()
    # Leave without tearing the app down: shutdown is not part of the figure
    # and the demo's temp copy is small (the OS reclaims everything).
    os._exit(code)


def main(argv: list[str]) -> int:
    which = argv[0] if argv else ""
    if which == "minimal":
        app, ready = minimal_app()
    elif which == "wizard":
        app, ready = wizard_app(argv[1] if len(argv) > 1 else "rhel52")
    else:
        print("usage: first_screen.py minimal|wizard [DEMO]", file=sys.stderr)
        return 2
    original = app._display

    def display(screen, renderable) -> None:
        original(screen, renderable)
        if renderable is not None and ready():
            _report_and_leave()

    app._display = display
    # A wizard that never shows its facts must fail the bench, not hang it.
    watchdog = threading.Timer(float(os.environ.get("VW_BENCH_TIMEOUT", "60")), os._exit, (1,))
    watchdog.daemon = True
    watchdog.start()
    app.run(headless=True, size=(80, 24))
    print("the condition never held", file=sys.stderr)
    return 1


if __name__ == "__main__":
    # No sys.path edits: bench/run.py picks the package copy (with or without
    # bytecode) through PYTHONPATH, as an installed package would be found.
    sys.exit(main(sys.argv[1:]))
