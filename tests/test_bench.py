"""Smoke tests of the bench's pieces on tiny inputs (no timing is asserted).

The figures themselves come from ``python bench/run.py``; these tests check
that its building blocks do what the figures rely on: the synthetic image is
a readable initramfs with the modules it claims, the root is one detection
understands, samples are interleaved and paired, failures are not timed,
and the tables show every row.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

import pytest

from bench import measure, report, run, synth
from bench.parts import Row
from virtio_wizard.initrd import read_initrd
from virtio_wizard.targets import LocalTarget

PY = sys.executable


def test_synthetic_image_is_a_readable_initramfs(tmp_path: Path) -> None:
    spec = synth.write_image(str(tmp_path / "img"), 2 << 20, kver="6.1.0-1-amd64")
    assert spec.file_bytes == (tmp_path / "img").stat().st_size
    assert abs(spec.raw_bytes - (2 << 20)) < (1 << 20)
    # Module-like data: gzip shrinks it, but not to nothing (a real image is ~3.6x).
    assert 2 < spec.raw_bytes / spec.file_bytes < 8
    assert len(gzip.decompress((tmp_path / "img").read_bytes())) == spec.raw_bytes
    with open(tmp_path / "img", "rb") as fh:
        info = read_initrd(fh, "img")
    assert info.error is None and info.format == "gzip"
    assert set(synth.VIRTIO_MODULES) <= set(info.virtio)
    assert info.entries > spec.members  # folders are members too
    assert set(info.modules) >= set(spec.modules) - {"virtio_ring"}


def test_root_is_detected_with_its_kernels_and_initrds(tmp_path: Path) -> None:
    from virtio_wizard.detect import detect

    image = synth.write_image(str(tmp_path / "img"), 1 << 20)
    root = tmp_path / "root"
    synth.make_root(str(root), [("6.1.0-1-amd64", image.path), ("6.1.0-2-amd64", None)], 20)
    facts = detect(LocalTarget(str(root)))
    assert facts.distro.id == "debian"
    by_version = {k.version: k for k in facts.kernels}
    assert set(by_version) == {"6.1.0-1-amd64", "6.1.0-2-amd64"}
    assert by_version["6.1.0-1-amd64"].initrd_format == "gzip"
    assert "virtio_blk" in by_version["6.1.0-1-amd64"].initrd_virtio
    assert by_version["6.1.0-2-amd64"].initrd is None
    # The bench's own images are hard-linked; a user's --image is copied, its inode untouched.
    linked = root / "boot/initrd.img-6.1.0-1-amd64"
    assert linked.stat().st_ino == Path(image.path).stat().st_ino
    other = tmp_path / "copied"
    synth.make_root(str(other), [("6.1.0-1-amd64", image.path)], 1, link=False)
    copied = other / "boot/initrd.img-6.1.0-1-amd64"
    assert copied.read_bytes() == Path(image.path).read_bytes()
    assert copied.stat().st_ino != Path(image.path).stat().st_ino
    assert Path(image.path).stat().st_nlink == 2


def test_stats_median_quartiles_and_no_samples() -> None:
    s = measure.stats([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s.median, s.low, s.high, s.n) == (3.0, 1.0, 5.0, 5)
    assert s.q1 <= s.median <= s.q3
    assert measure.stats([2.0]).q1 == 2.0
    with pytest.raises(ValueError, match="no samples"):
        measure.stats([])


def test_compare_interleaves_and_pairs_rounds() -> None:
    fast = measure.Case("fast", (PY, "-c", "pass"))
    # Half a second: more than an interpreter start ever varies, even on a loaded machine.
    slow = measure.Case("slow", (PY, "-c", "import time; time.sleep(0.5)"))
    order: list[str] = []
    comp = measure.compare(
        [fast, slow], 2, reference="fast", warmup=0, on_sample=lambda lbl, s: order.append(lbl)
    )
    assert order == ["fast", "slow", "slow", "fast"]
    assert len(comp.samples["slow"]) == 2
    assert comp.ratio("slow").n == 2
    assert comp.ratio("slow").median > 1
    assert comp.memory("slow").median > 0


def test_compare_refuses_duplicate_labels_and_nothing() -> None:
    case = measure.Case("a", (PY, "-c", "pass"))
    with pytest.raises(ValueError, match="unique"):
        measure.compare([case, case], 1)
    with pytest.raises(ValueError, match="nothing"):
        measure.compare([], 1)


def test_failed_command_has_no_time() -> None:
    case = measure.Case("broken", (PY, "-c", "import sys; sys.exit('no such guest')"))
    with pytest.raises(RuntimeError, match="broken: exit 1: no such guest"):
        measure.run_once(case)


def test_driver_time_comes_from_its_at_line() -> None:
    code = "import time; time.sleep(0.05); print(f'at={time.time()}')"
    sample = measure.run_once(measure.Case("d", (PY, "-c", code), reads_stdout=True))
    assert 0.05 <= sample.seconds < 30
    silent = measure.Case("silent", (PY, "-c", "print('hello')"), reads_stdout=True)
    with pytest.raises(RuntimeError, match="no 'at=' line"):
        measure.run_once(silent)


def test_environment_overrides_and_unsets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VW_BENCH_GONE", "1")
    code = "import os, sys; sys.exit(0 if os.environ.get('VW_X') == 'y' and " \
        "'VW_BENCH_GONE' not in os.environ else 3)"  # fmt: skip
    case = measure.Case("env", (PY, "-c", code), env={"VW_X": "y"}, unset=("VW_BENCH_GONE",))
    assert measure.run_once(case).returncode == 0


def _rows() -> list[Row]:
    ratio = measure.stats([1.1, 1.2, 1.4, 1.5])
    mem = measure.stats([40.0, 42.0])
    return [
        Row("first screen", "wizard | demo", "minimal", 0.3, 0.25, ratio, target=1.3),
        Row("initrd memory", "detect", "-", 1.0, 0.0, mem, unit="MiB", target=120, note="36 MB"),
        Row("kernels", "detect, 5 kernel(s)", "detect, 1 kernel(s)", 2.0, 1.0, ratio),
    ]


def test_tables_show_every_row_verdict_and_escape_pipes() -> None:
    rows = _rows()
    assert [r.verdict for r in rows] == ["ok", "ok", ""]
    text = report.text_table(rows)
    assert "1.30x" in text and "<= 1.30x" in text and "41 MiB" in text and "<= 120 MiB" in text
    assert len(text.splitlines()) == 2 + len(rows)
    md = report.markdown(rows, "header line")
    assert md.startswith("header line\n")
    assert "wizard \\| demo" in md
    assert "- initrd memory: 36 MB" in md
    missed = Row("x", "m", "r", 1.0, 0.5, measure.stats([2.0]), target=1.3)
    assert missed.verdict == "MISSED"
    doc = json.loads(report.to_json(rows, {"repeats": 3}))
    assert doc["schema"] == "virtio-wizard/bench/1"
    assert doc["rows"][0]["ratio"]["median"] == rows[0].ratio.median


def test_first_screen_driver_shows_the_minimal_app(tmp_path: Path) -> None:
    driver = str(Path(run.__file__).with_name("first_screen.py"))
    root = str(Path(run.__file__).resolve().parent.parent)
    case = measure.Case("minimal", (PY, driver, "minimal"), {"PYTHONPATH": root}, reads_stdout=True)
    assert measure.run_once(case).seconds > 0
    bad = measure.Case("bad", (PY, driver, "nothing"), {"PYTHONPATH": root})
    with pytest.raises(RuntimeError, match="usage: first_screen.py"):
        measure.run_once(bad)


def test_first_screen_driver_waits_for_the_wizard_facts() -> None:
    driver = str(Path(run.__file__).with_name("first_screen.py"))
    root = str(Path(run.__file__).resolve().parent.parent)
    env = {"PYTHONPATH": root, "VW_BENCH_TIMEOUT": "30"}
    case = measure.Case("wizard", (PY, driver, "wizard"), env, reads_stdout=True)
    assert measure.run_once(case).seconds > 0


def test_run_refuses_unknown_parts_and_bad_options(capsys: pytest.CaptureFixture) -> None:
    assert run.main(["--parts", "screen,nope"]) == 2
    assert "unknown part(s) nope" in capsys.readouterr().err
    assert run.main(["--parts", ","]) == 2
    assert "unknown part(s) (none)" in capsys.readouterr().err
    assert run.main(["--image", "/nonexistent/initrd.img"]) == 2
    assert "not a file" in capsys.readouterr().err
    assert run.main(["--repeat", "0", "--parts", "detect"]) == 2
    assert "at least 1" in capsys.readouterr().err


def _need_tmux() -> None:
    import shutil

    if shutil.which("tmux") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tmux is not installed (.ci/run installs it)")
        pytest.skip("tmux is not installed")


def test_terminal_times_until_text_shows_on_an_80x24_pane() -> None:
    from bench.terminal import Terminal, TerminalError

    _need_tmux()
    with Terminal() as term:
        code = "import time, sys; time.sleep(0.2); print('ready', sys.argv[1]); time.sleep(30)"
        seconds = term.time_until((PY, "-c", code, "now"), "ready now", {})
        assert 0.2 <= seconds < 20
        size = "import shutil; print('size=%dx%d' % shutil.get_terminal_size()); input()"
        assert term.time_until((PY, "-c", size), "size=80x24", {}) > 0
        env_code = "import os; print('env', os.environ['VW_X']); input()"
        assert term.time_until((PY, "-c", env_code), "env y", {"VW_X": "y"}) > 0
        with pytest.raises(TerminalError, match="not shown"):
            term.time_until((PY, "-c", "print('other')"), "never", {}, timeout=2)


def test_console_script_is_what_pip_writes_and_runs(tmp_path: Path) -> None:
    import subprocess

    from bench import parts

    script = parts.console_script(tmp_path / "bin")
    text = script.read_text()
    assert text.startswith(f"#!{PY}") and "from virtio_wizard.cli import main" in text
    root = str(Path(run.__file__).resolve().parent.parent)
    out = subprocess.run(
        [str(script), "--version"], env={**os.environ, "PYTHONPATH": root}, capture_output=True
    )
    assert out.returncode == 0 and out.stdout.startswith(b"virtio-wizard ")
    minimal = parts.minimal_script(tmp_path / "bin")
    assert minimal.read_text().startswith(f"#!{PY}\n") and os.access(minimal, os.X_OK)


def test_rows_survive_the_json_round_trip_of_the_live_part() -> None:
    from bench import live

    rows = _rows()
    doc = json.loads(report.to_json(rows, {}))
    assert [live._row_from_dict(r) for r in doc["rows"]] == rows


def test_debian_kernel_is_found_in_a_root(tmp_path: Path) -> None:
    from bench import parts

    (tmp_path / "lib/modules/6.1.0-50-amd64").mkdir(parents=True)
    (tmp_path / "boot").mkdir()
    with pytest.raises(RuntimeError, match="no kernel with an initrd"):
        parts.debian_kernel(str(tmp_path))
    (tmp_path / "boot/initrd.img-6.1.0-50-amd64").write_bytes(b"\x28\xb5\x2f\xfd")
    assert parts.debian_kernel(str(tmp_path)) == (
        "6.1.0-50-amd64",
        "/boot/initrd.img-6.1.0-50-amd64",
    )
    assert parts._compression_of(str(tmp_path / "boot/initrd.img-6.1.0-50-amd64")) == "zstd"


def test_terminal_that_fails_to_start_leaves_no_tmux_server(monkeypatch) -> None:
    import subprocess

    from bench.terminal import Terminal, TerminalError

    _need_tmux()
    term = Terminal(width=81)  # the check of the window size fails after the server started
    monkeypatch.setattr(Terminal, "command", lambda self, line: ["0x0"])
    with pytest.raises(TerminalError, match="not 81x24"):
        term.__enter__()
    alive = subprocess.run(["tmux", "-L", term.socket, "list-sessions"], capture_output=True)
    assert alive.returncode != 0


def test_inflate_floor_reads_zstd_and_gzip_images_and_boot_images_skip_backups(
    tmp_path: Path,
) -> None:
    import subprocess

    import zstandard

    from bench import install

    data = os.urandom(1 << 16) * 8
    (tmp_path / "initrd.img-6.1.0-1-amd64").write_bytes(zstandard.ZstdCompressor().compress(data))
    (tmp_path / "initramfs-5.14.0.img").write_bytes(gzip.compress(data))
    for name in ("initrd.img-6.1.0-1-amd64.virtio.orig", "initramfs-5.14.0kdump.img", "vmlinuz-1"):
        (tmp_path / name).write_bytes(b"x")
    images = install.boot_images(str(tmp_path))
    assert [Path(p).name for p in images] == ["initramfs-5.14.0.img", "initrd.img-6.1.0-1-amd64"]
    subprocess.run([PY, "-c", install.INFLATE_CODE, *images], check=True)
    broken = tmp_path / "initrd.img-broken"
    broken.write_bytes(gzip.compress(data)[:-100])
    assert subprocess.run([PY, "-c", install.INFLATE_CODE, str(broken)]).returncode != 0
    assert install.zstd_cli_floor([]) is None
    if install.shutil.which("zstd"):
        tool = install.zstd_cli_floor([images[1]])
        assert tool is not None and tool[2].startswith("zstd -dc ")
        subprocess.run(tool, check=True)


def test_samples_carry_cpu_time_and_its_paired_ratio() -> None:
    busy = measure.Case("busy", (PY, "-c", "sum(range(3_000_000))"))
    idle = measure.Case("idle", (PY, "-c", "import time; time.sleep(0.3)"))
    comp = measure.compare([busy, idle], 2, reference="idle", warmup=0)
    assert all(s.cpu > 0 for s in comp.samples["busy"])
    # Sleeping costs no CPU: only the interpreter's start is counted for the idle one.
    assert comp.ratio("busy", cpu=True).median > 1
