"""The script export with hostile guest names: nothing a guest names may run.

Kernel versions, paths and reasons come from the guest (a directory called
``2.6.18-8.el5<newline>touch PWNED`` is a valid name). Every such string that
reaches the script, comments included, must stay data. These tests render
plans full of hostile names, run the scripts under dash and busybox sh in a
scratch folder with ``--help`` (a usage error: nothing but the header may
run) and ``--check`` (reads only), and assert the payload never ran.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virtio_wizard.plan.model import Choices, Plan, Step
from virtio_wizard.script import render_script, write_script

SHELLS = [s for s in (shutil.which("dash"), shutil.which("busybox")) if s]
PAYLOADS = [
    "\ntouch PWNED\n",
    "\rtouch PWNED\n",
    "$(touch PWNED)",
    "`touch PWNED`",
    "'; touch PWNED; '",
    '"; touch PWNED; "',
    "\\\ntouch PWNED",
    "\n'\ntouch PWNED\n'",
    "\x00\ntouch PWNED",
    "\udcff\ntouch PWNED",
    "\x85touch PWNED\n",
    "${IFS}touch${IFS}PWNED",
    "|touch PWNED",
    "&touch PWNED&",
    "\nVW_END_OF_FILE_0\ntouch PWNED\n",
]


def shells() -> list[str]:
    """dash and busybox sh: a missing one fails (.ci/run installs both)."""
    assert len(SHELLS) == 2, "dash and busybox are needed (see .ci/run)"
    return [SHELLS[0], f"{SHELLS[1]} sh"]


def hostile_plan(name: str) -> Plan:
    """Every guest-derived field of every step kind holds ``name``."""
    image = f"/boot/initrd-{name}.img"
    steps = (
        Step(
            kind="edit",
            why=f"rename disks in {name}",
            path=f"/etc/{name}",
            old_sha256="0" * 64,
            # A Latin-1 file (as the planner decodes non-UTF-8 ones) holding the name's bytes.
            new_text=f"line {name}\n".encode("utf-8", "surrogateescape").decode("latin-1"),
            encoding="latin-1",
            mode=0o644,
        ),
        Step(kind="backup", why=f"keep {image}", path=image, to=image + ".bak"),
        Step(
            kind="command",
            why=f"rebuild {image}",
            argv=("mkinitrd", "-f", image, name),
            image=image,
            verify_modules=("virtio_blk",),
        ),
    )
    return Plan(
        choices=Choices(kernel=name, sysinit_file=None),
        steps=steps,
        modules=("virtio_blk",),
        kernel=name,
        target={"kind": "root", "root": f"/srv/{name}"},
    )


def run_modes(script: Path, cwd: Path) -> None:
    """``--help`` and ``--check`` under both shells; the payload must not have run."""
    for shell in shells():
        for arg, code in (("--help", 2), ("--check", 1)):
            proc = subprocess.run(
                [*shell.split(), str(script), arg],
                cwd=cwd,
                capture_output=True,
                timeout=60,
            )
            assert not (cwd / "PWNED").exists(), (shell, arg, proc.stdout, proc.stderr)
            assert proc.returncode == code, (shell, arg, proc.stdout, proc.stderr)


def export(plan: Plan, folder: Path) -> Path:
    return Path(write_script(plan, str(folder / "plan.sh")))


@pytest.mark.parametrize("payload", [p for p in PAYLOADS if "\x00" not in p])
def test_hostile_kernel_and_paths_run_nothing(tmp_path: Path, payload: str) -> None:
    name = f"2.6.18-8.el5{payload}"
    script = export(hostile_plan(name), tmp_path)
    run_modes(script, tmp_path)


def test_the_reported_kernel_name_stays_in_a_comment(tmp_path: Path) -> None:
    """The issue's case: the name shows escaped, on one comment line."""
    text = render_script(hostile_plan("2.6.18-8.el5\ntouch PWNED"))
    header = text[: text.index("\nset -e\n")].split("\n")
    assert all(line.startswith("#") for line in header), header
    assert "kernel=2.6.18-8.el5\\ntouch PWNED" in text


def test_non_utf8_names_are_carried_as_their_bytes(tmp_path: Path) -> None:
    """A path with byte 0xff is written as that byte inside quotes, shown escaped in comments."""
    script = export(hostile_plan("2.6.18\udcff"), tmp_path)
    data = script.read_bytes()
    assert b"'/etc/2.6.18\xff'" in data
    assert b"kernel=2.6.18\\xff" in data
    run_modes(script, tmp_path)


def test_a_nul_in_a_shell_word_is_refused() -> None:
    """No file name holds a NUL: a plan that does cannot be exported."""
    with pytest.raises(ValueError, match="NUL byte"):
        render_script(hostile_plan("2.6.18\x00x"))


def test_messages_are_printed_not_interpreted(tmp_path: Path) -> None:
    r"""dash's ``echo`` reads ``\c`` (stop) and ``\033`` (escape): messages keep the name."""
    script = export(hostile_plan(r"a\cb\033[2J"), tmp_path)
    for shell in shells():
        proc = subprocess.run(
            [*shell.split(), str(script), "--check"], cwd=tmp_path, capture_output=True
        )
        assert proc.returncode == 1
        assert rb"/etc/a\cb\033[2J changed since the plan was made" in proc.stderr, shell


HOSTILE = st.lists(
    st.one_of(
        st.sampled_from(PAYLOADS + ["'", '"', "$", "`", "(", ")", ";", "\\", "\n", "#", "*"]),
        st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x2FF), max_size=6),
        st.sampled_from(["\udc80", "\udcff", "\udce9"]),
    ),
    min_size=1,
    max_size=6,
).map("".join)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=HOSTILE)
def test_fuzzed_names_never_run(tmp_path: Path, name: str) -> None:
    """Whatever the name: the export refuses it (NUL) or the script runs none of it."""
    (tmp_path / "PWNED").unlink(missing_ok=True)
    try:
        script = export(hostile_plan(name), tmp_path)
    except ValueError as exc:
        assert "\x00" in name and "NUL byte" in str(exc)
        return
    assert "\x00" not in name
    run_modes(script, tmp_path)
