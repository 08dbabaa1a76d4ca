"""Logging: -v/--debug on stderr for the CLI, a file for the TUI, a log beside each journal."""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

import pytest
from apply_fixtures import (
    KVER,
    MODULES,
    NEW_FSTAB,
    edit,
    initrd_with,
    make_guest,
    make_plan,
    rebuild_steps,
    target_for,
    write_image_script,
)

from virtio_wizard import logs
from virtio_wizard.apply.run import apply_plan
from virtio_wizard.apply.undo import undo
from virtio_wizard.cli import build_parser, main
from virtio_wizard.journal import log_path

JOURNALS = "var/lib/virtio-wizard/journal"


@pytest.fixture(autouse=True)
def _quiet_again():
    """Each test starts and ends with the wizard's logger as a plain CLI run leaves it."""
    logs.setup(None)
    yield
    logs.setup(None)


@pytest.mark.parametrize(
    ("argv", "verbose", "debug"),
    [
        (["detect"], False, False),
        (["-v", "detect"], True, False),
        (["detect", "--verbose"], True, False),
        (["--debug", "plan"], False, True),
        (["undo", "--debug", "-v"], True, True),
        (["verify", "-v"], True, False),
        (["--debug"], False, True),
        ([], False, False),
    ],
)
def test_the_flags_work_before_and_after_every_subcommand(argv, verbose, debug):
    args = build_parser().parse_args(argv)
    assert (args.verbose, args.debug) == (verbose, debug)


def test_every_subcommand_takes_the_flags():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:
        args = parser.parse_args([name, "-v", "--debug"])
        assert args.verbose and args.debug, name


def test_levels():
    assert logs.level_of(False, False) is None
    assert logs.level_of(True, False) == logging.INFO
    assert logs.level_of(False, True) == logging.DEBUG
    assert logs.level_of(True, True) == logging.DEBUG


def test_without_a_flag_nothing_is_logged_on_stderr(capsys):
    assert main(["--demo", "detect", "--json"]) == 0
    assert capsys.readouterr().err == ""


def test_debug_shows_detection_milestones_on_stderr(capsys):
    assert main(["--demo", "detect", "--json", "--debug"]) == 0
    err = capsys.readouterr().err
    assert "DEBUG virtio_wizard.detect: detect demo guest rhel52" in err
    assert "reading the boot menu" in err and "done in" in err


def test_verbose_leaves_the_debug_lines_out(capsys):
    assert main(["--demo", "detect", "--json", "-v"]) == 0
    assert "DEBUG" not in capsys.readouterr().err


def _apply_with_a_command(guest: Path):
    backup, cmd = rebuild_steps(guest, write_image_script(guest, initrd_with(MODULES)))
    plan = make_plan(edit(guest, "/etc/fstab", NEW_FSTAB), backup, cmd)
    return apply_plan(target_for(guest), plan)


def test_apply_writes_its_log_beside_the_journal(tmp_path):
    guest = make_guest(tmp_path / "guest")
    result = _apply_with_a_command(guest)
    assert result.ok, result.messages
    journal_id = Path(result.journal).stem
    path = guest / log_path(journal_id).lstrip("/")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert f"applying to this system (/), journal {journal_id}" in text
    assert "step 1/3 done: wrote /etc/fstab" in text
    assert "INFO virtio_wizard.logs" not in text  # records carry their module's name
    assert "running sh -c " in text and " directly on this system (/)" in text
    assert "exited with code 0 after" in text
    assert "DEBUG virtio_wizard.apply.run: | building" in text  # the output, at debug
    assert "step 3/3 done: ran sh -c" in text and "apply finished" in text
    # The summary names it.
    assert any(log_path(journal_id) in m for m in result.messages)


def test_a_failed_command_and_the_undo_are_in_the_log(tmp_path):
    guest = make_guest(tmp_path / "guest")
    backup, cmd = rebuild_steps(guest, "echo 'mkinitrd: no space'; exit 4")
    result = apply_plan(target_for(guest), make_plan(backup, cmd))
    assert result.status == "failed"
    assert undo(target_for(guest)).status == "done"
    text = (guest / log_path(Path(result.journal).stem).lstrip("/")).read_text()
    assert "exited with code 4 after" in text and "| mkinitrd: no space" in text
    assert "apply stopped at a failed step" in text
    undo_part = text[text.index("undoing on") :]
    assert f"undo 2: keep /boot/initrd-{KVER}.img (" in undo_part
    assert f"undo 1: remove /boot/initrd-{KVER}.img.vw-orig" in undo_part
    assert "undo finished; the journal is marked undone" in undo_part


def test_the_log_file_does_not_depend_on_the_flags(tmp_path, capsys):
    """Whatever the terminal shows, the guest keeps the whole log; stderr stays quiet."""
    guest = make_guest(tmp_path / "guest")
    result = _apply_with_a_command(guest)
    assert capsys.readouterr().err == ""
    text = (guest / log_path(Path(result.journal).stem).lstrip("/")).read_text()
    assert "DEBUG" in text and "exited with code 0" in text
    assert logging.getLogger(logs.ROOT).level == logging.WARNING  # put back afterwards


def test_records_of_other_threads_stay_out_of_the_guest_log(tmp_path):
    guest = make_guest(tmp_path / "guest")
    stop = threading.Event()

    def chatter() -> None:
        while not stop.is_set():
            logging.getLogger("virtio_wizard.tui").info("a screen's own record")
            stop.wait(0.001)

    other = threading.Thread(target=chatter)
    other.start()
    try:
        result = _apply_with_a_command(guest)
    finally:
        stop.set()
        other.join()
    text = (guest / log_path(Path(result.journal).stem).lstrip("/")).read_text()
    assert "a screen's own record" not in text


def test_the_tui_logs_to_a_file_never_to_the_terminal(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = logs.setup(logging.DEBUG, tui=True)
    assert path == str(tmp_path / "state/virtio-wizard/wizard.log")
    guest = make_guest(tmp_path / "guest")
    assert _apply_with_a_command(guest).ok
    logging.getLogger("virtio_wizard.tui").warning("a warning, too")
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    text = Path(path).read_text(encoding="utf-8")
    assert "exited with code 0" in text and "a warning, too" in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_tui_without_a_flag_logs_nowhere(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert logs.setup(None, tui=True) is None
    logging.getLogger("virtio_wizard.tui").warning("not on the screen")
    assert capsys.readouterr() == ("", "")
    assert not (tmp_path / "state").exists()


def test_the_tui_command_with_debug_prints_no_records(tmp_path, monkeypatch, capsys):
    """The full-screen path: records go to the file; stderr only names it at the end."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    # No terminal here: the wizard stops before drawing, after opening (and detecting) nothing.
    assert main(["--demo", "--debug"]) == 2
    err = capsys.readouterr().err
    assert "DEBUG" not in err and "INFO" not in err
    assert err.rstrip().endswith(f"log written to {tmp_path / 'state/virtio-wizard/wizard.log'}")


def test_a_log_that_cannot_be_written_does_not_fail_the_apply(tmp_path, monkeypatch):
    import virtio_wizard.apply.resume as resume_mod

    guest = make_guest(tmp_path / "guest")
    monkeypatch.setattr(resume_mod, "new_journal_id", lambda *a, **k: "20260101T000000-1")
    in_the_way = guest / log_path("20260101T000000-1").lstrip("/")
    in_the_way.mkdir(parents=True)  # a folder where the log file goes
    result = _apply_with_a_command(guest)
    assert result.ok
    assert (guest / "etc/fstab").read_text() == NEW_FSTAB
    said = [m for m in result.messages if "could not be written" in m]
    assert said == [
        f"the log {log_path('20260101T000000-1')} could not be written: not a regular file"
    ]
    assert not any(m.startswith("log: ") for m in result.messages)
