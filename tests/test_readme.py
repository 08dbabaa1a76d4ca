"""The README's promises that code can check: the quick start and the
troubleshooting table (kept in step with docs/troubleshooting.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the quick start has no sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_two_commands_demo_then_tests():
    first, second = quick_start_commands()
    assert "pip install . " in first and first.endswith("virtio-wizard --demo")
    assert "pip install '.[test]'" in second and second.endswith("python -m pytest")
    # Debian 12 / Ubuntu: no pip into the system Python; both run in a venv.
    assert first.startswith("python3 -m venv ") and second.startswith("python3 -m venv ")


def test_ci_runs_the_readme_test_command():
    _, second = quick_start_commands()
    assert second in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_troubleshooting_table_matches_the_doc():
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "sync_readme.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_troubleshooting_entry_is_in_the_readme():
    doc = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    heads = re.findall(r"^### (.+)$", doc, re.M)
    assert len(heads) > 50
    for head in heads:
        assert f"| {head.strip()} |" in README, head


def test_readme_screenshots_exist():
    for name in re.findall(r"\(screenshots/([\w.-]+\.svg)\)", README):
        assert (REPO / "screenshots" / name).is_file(), name


@pytest.mark.integration
def test_the_quick_start_commands_run_as_written_in_a_fresh_venv(tmp_path):
    """Issue 11.8: both README commands, verbatim, in a clean copy of the repository.

    The first starts the wizard on the demo in tmux at 80x24 (TERM=linux): it
    must show the demo guest's distro, then Ctrl+Q ends it. The second runs
    as written; PYTEST_ADDOPTS narrows its suite to this README's fast tests
    (the whole suite inside the suite would run for an hour and recurse).
    """
    import os
    import shutil
    import time

    missing = [tool for tool in ("tmux", "git") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing under CI")
        pytest.skip(f"{', '.join(missing)} not installed")
    copy = tmp_path / "repo"
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        src = REPO / name
        if src.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / name)
    first, second = quick_start_commands()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    session = f"vw-readme-{os.getpid()}"
    # A server of its own (-L), started here with this environment and no
    # config: a tmux server already running (the user's, or one left by a
    # killed run) would start the shell with its own stale environment.
    tmux = ["tmux", "-L", session, "-f", "/dev/null"]
    subprocess.run(
        [
            *tmux,
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "80",
            "-y",
            "24",
            "-c",
            str(copy),
            f"TERM=linux {first}; echo README-FIRST-DONE; sleep 600",
        ],
        check=True,
        env=env,
    )
    try:
        deadline, pane = time.monotonic() + 600, ""
        while time.monotonic() < deadline:
            pane = subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            if "Red Hat Enterprise Linux" in pane or "README-FIRST-DONE" in pane:
                break
            time.sleep(1)
        assert "Red Hat Enterprise Linux" in pane, pane
        subprocess.run([*tmux, "send-keys", "-t", session, "C-q"], check=True)
        for _ in range(30):
            pane = subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            if "README-FIRST-DONE" in pane:
                break
            time.sleep(1)
        assert "README-FIRST-DONE" in pane, pane
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    env["PYTEST_ADDOPTS"] = "-q -p no:cacheprovider -m 'not integration' tests/test_readme.py"
    proc = subprocess.run(
        ["sh", "-c", second], cwd=copy, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout
