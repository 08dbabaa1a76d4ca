"""``virtio-wizard`` with no subcommand: target errors before any screen, colour rules."""

from __future__ import annotations

import io
import os

import pytest
from tui_pilot import SIZE, aio, settle

from virtio_wizard import cli
from virtio_wizard.demo import open_demo
from virtio_wizard.tui.app import make_app

pytestmark = pytest.mark.tui


def test_unknown_demo_is_a_one_line_error_before_any_screen(capsys):
    assert cli.main(["--demo", "nosuchguest"]) == 1
    err = capsys.readouterr().err
    assert "no demo guest named 'nosuchguest'" in err
    assert "rhel52" in err


def test_missing_root_is_a_one_line_error(capsys, tmp_path):
    missing = tmp_path / "absent"
    assert cli.main(["--root", str(missing)]) == 1
    assert "no such directory" in capsys.readouterr().err


def test_two_targets_is_a_usage_error(capsys, tmp_path):
    assert cli.main(["--root", str(tmp_path), "--demo"]) == 2
    assert "choose one of --root, --ssh, --image and --demo" in capsys.readouterr().err


def test_the_tui_command_runs_make_app_on_the_target(monkeypatch):
    """run() builds the app for the target and ASCII mode the terminal asks for."""
    import virtio_wizard.tui.app as app_mod

    seen = {}

    class FakeApp:
        def run(self):
            return 0

    def fake_make_app(target, *, ascii=False):
        seen["target"], seen["ascii"] = target, ascii
        return FakeApp()

    import virtio_wizard.commands.tui as tui_cmd

    monkeypatch.setattr(app_mod, "make_app", fake_make_app)
    monkeypatch.setattr(tui_cmd, "terminal_problem", lambda: None)  # pytest has no terminal
    monkeypatch.setenv("TERM", "linux")
    for name in ("TEXTUAL_COLOR_SYSTEM", "TEXTUAL_ANIMATIONS"):
        # setenv first so that monkeypatch restores the original state after.
        monkeypatch.setenv(name, "x")
        monkeypatch.delenv(name)
    assert cli.main(["--demo", "debian12"]) == 0
    assert seen["ascii"] is True
    assert seen["target"].kind == "demo"
    assert os.environ["TEXTUAL_COLOR_SYSTEM"] == "standard"
    assert os.environ["TEXTUAL_ANIMATIONS"] == "none"


@aio
async def test_no_color_is_respected(monkeypatch):
    from textual.filter import Monochrome, NoColor

    monkeypatch.setenv("NO_COLOR", "1")
    for ascii_mode in (False, True):
        app = make_app(open_demo("debian12"), ascii=ascii_mode, label="demo guest")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert any(isinstance(f, (NoColor, Monochrome)) for f in app.get_line_filters())


def test_no_terminal_is_refused_before_the_app_is_built(monkeypatch, capsys, tmp_path):
    """stdin and stdout are checked; the target's own errors come first."""
    import virtio_wizard.tui.app as app_mod

    monkeypatch.setattr(app_mod, "make_app", lambda *a, **k: pytest.fail("no app without a tty"))
    assert cli.main(["--demo", "rhel52"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "the full-screen wizard needs a terminal (stdin is not a terminal)" in err


def test_terminal_problem_names_the_stream():
    from virtio_wizard.commands.tui import terminal_problem

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    closed = io.StringIO()
    closed.close()  # isatty() raises ValueError on a closed stream
    assert terminal_problem(Tty(), Tty()) is None
    assert terminal_problem(Tty(), io.StringIO()) == "stdout is not a terminal"
    assert terminal_problem(io.StringIO(), Tty()) == "stdin is not a terminal"
    assert terminal_problem(closed, Tty()) == "stdin is not a terminal"
