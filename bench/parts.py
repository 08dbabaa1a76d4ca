"""The benchmark parts: what each runs, against which reference, and its targets.

Why this file is long: the parts share their helpers, and each part is one
comparison best read whole; part ``live`` lives in ``live.py``, the README's
install and the inflate floor in ``install.py``.

Each part returns :class:`Row` objects: one measured command, the reference
it was run beside (same rounds, interleaved), the paired ratio with its
spread, and the target from issue 6. Absolute medians are shown too, but the
ratio is the figure: it survives a loaded or faster machine.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from . import synth
from .measure import Case, Comparison, Stats, compare

__all__ = [
    "Row",
    "Setup",
    "package_copy",
    "prepare_image",
    "prepare_root",
    "first_screen",
    "detect_start",
    "initrd_read",
    "scaling",
    "live_cases",
    "live_rows",
    "installed",
]

MIB = 1 << 20
HERE = Path(__file__).resolve().parent
REPO = HERE.parent


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    part: str
    measured: str
    reference: str
    #: Median seconds of the measured command and of the reference.
    seconds: float
    ref_seconds: float
    #: Per-round ratio measured/reference (or a memory figure in MiB, see ``unit``).
    ratio: Stats
    #: "x" for a time ratio; "MiB" for a memory figure (then reference is "-").
    unit: str = "x"
    #: The bound from the issue, e.g. 1.3 (ratio) or 120 (MiB); None: information only.
    target: Optional[float] = None
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        return "ok" if self.ratio.median <= self.target else "MISSED"


@dataclass(frozen=True)
class Setup:
    """What every part needs: the work folder, repetitions, and where to report progress."""

    work: Path
    repeats: int
    quick: bool
    image: Optional[str] = None
    log: Callable[[str], None] = lambda text: None
    #: A real Debian root with a kernel package (debootstrap + linux-image-amd64), or None.
    debian_root: Optional[str] = None


def _python(*args: str) -> tuple[str, ...]:
    return (sys.executable, *args)


def package_copy(work: Path, compiled: bool) -> Path:
    """A copy of the package, with bytecode (as pip installs it) or without.

    Copies are made afresh each run from the working tree, so the bench
    always times the code as it is now; ``__pycache__`` folders are never
    copied, and the compiled copy is compiled here with ``compileall``.
    """
    dest = work / ("pkg-bytecode" if compiled else "pkg-source")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copytree(
        REPO / "virtio_wizard",
        dest / "virtio_wizard",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        symlinks=True,
    )
    if compiled:
        import compileall

        compileall.compile_dir(str(dest / "virtio_wizard"), quiet=1)
    return dest


def _pkg_env(pkg: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(pkg)}


def prepare_image(work: Path, raw_bytes: int, log: Callable[[str], None]) -> synth.ImageSpec:
    """The synthetic image of about ``raw_bytes`` decompressed, made once and kept."""
    path = work / f"initrd-{raw_bytes // MIB}M.img"
    if path.exists():
        members = synth.image_members(raw_bytes, "6.1.0-50-amd64")
        modules = tuple(sorted(n.rsplit("/", 1)[1][:-3] for n, _ in members if n.endswith(".ko")))
        return synth.ImageSpec(str(path), "6.1.0-50-amd64", raw_bytes, path.stat().st_size,
                               len(members), modules)  # fmt: skip
    log(f"building a synthetic {raw_bytes // MIB} MB initramfs (once, kept in {work}) ...")
    return synth.write_image(str(path), raw_bytes)


def prepare_root(
    work: Path, name: str, kernels: list[tuple[str, Optional[str]]], link: bool = True
) -> Path:
    """A guest root made once (a ``.complete`` marker says it was finished)."""
    root = work / "roots" / name
    marker = work / "roots" / f"{name}.complete"
    if marker.exists() and root.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    synth.make_root(str(root), kernels, link=link)
    marker.write_text("ok\n")
    return root


def _rows_vs(
    part: str,
    comp: Comparison,
    labels: Sequence[str],
    targets: dict[str, Optional[float]],
    note: str = "",
    reference: Optional[str] = None,
) -> list[Row]:
    ref = reference or comp.reference
    return [
        Row(
            part,
            label,
            ref,
            comp.times(label).median,
            comp.times(ref).median,
            comp.ratio(label, ref),
            target=targets.get(label),
            note=note,
        )
        for label in labels
    ]


def _memory_row(part: str, comp: Comparison, label: str, target: Optional[float], note: str) -> Row:
    mem = comp.memory(label)
    mib = Stats(*(v / 1024 for v in (mem.median, mem.low, mem.high, mem.q1, mem.q3)), mem.n)
    return Row(part, label, "-", comp.times(label).median, 0.0, mib, "MiB", target, note)


# ---- 1. first useful screen ------------------------------------------------------

#: The minimal app of part 1, as a script of its own (what ``first_screen.py minimal`` runs).
MINIMAL_SCRIPT = """\
from textual.app import App
from textual.widgets import Footer, Header, Static


class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("Hello from a minimal Textual app")
        yield Footer()


if __name__ == "__main__":
    Minimal().run()
"""
MINIMAL_TEXT = "Hello from a minimal Textual app"


def console_script(folder: Path) -> Path:
    """``virtio-wizard`` as pip writes it for ``[project.scripts]``, run by this Python.

    pip's own script maker (distlib) when pip is importable, else the same
    template: the user's launch path, with whatever the script imports.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "virtio-wizard"
    entry = "virtio-wizard = virtio_wizard.cli:main"
    try:
        from pip._vendor.distlib.scripts import ScriptMaker

        maker = ScriptMaker(None, str(folder))
        maker.executable = sys.executable
        maker.variants = {""}
        maker.clobber = True
        maker.make(entry)
    except ImportError:
        path.write_text(
            f"#!{sys.executable}\n# -*- coding: utf-8 -*-\nimport re\nimport sys\n"
            "from virtio_wizard.cli import main\nif __name__ == '__main__':\n"
            "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
            "    sys.exit(main())\n"
        )
        path.chmod(0o755)
    return path


def minimal_script(folder: Path) -> Path:
    """The minimal app as an executable script with the same interpreter line."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "minimal-textual-app"
    path.write_text(f"#!{sys.executable}\n{MINIMAL_SCRIPT}")
    path.chmod(0o755)
    return path


def demo_distro_name(pkg: Path, demo: str = "rhel52") -> str:
    """The demo guest's distribution name as detection finds it (the text to wait for)."""
    import json
    import subprocess

    out = subprocess.run(
        _python("-m", "virtio_wizard", "--demo", demo, "detect", "--json", "--no-initrd"),
        env={**os.environ, **_pkg_env(pkg)},
        capture_output=True,
        check=True,
    ).stdout
    name = json.loads(out)["distro"]["name"]
    if not name:
        raise RuntimeError(f"demo {demo}: detection found no distribution name")
    return name


def _terminal_compare(
    cases: Sequence[tuple[Case, str]], repeats: int, reference: str
) -> Comparison:
    """``measure.compare`` for the terminal: the same interleaving, times from the pane."""
    from .measure import Sample
    from .terminal import Terminal

    samples: dict[str, list[Sample]] = {case.label: [] for case, _ in cases}
    with Terminal() as term:
        for _ in range(1):  # warm-up round, untimed
            for case, needle in cases:
                term.time_until(case.argv, needle, case.env)
        for round_no in range(repeats):
            order = list(cases) if round_no % 2 == 0 else list(reversed(cases))
            for case, needle in order:
                seconds = term.time_until(case.argv, needle, case.env)
                samples[case.label].append(Sample(seconds, 0, 0))
    return Comparison(tuple(c for c, _ in cases), samples, reference)


def first_screen(setup: Setup) -> list[Row]:
    """The wizard on the demo guest until its facts are shown, vs a minimal Textual app.

    Measured as a user waits: both launched as scripts in tmux at 80x24 (a
    real terminal), the wizard through its console script; then the same
    apps headless in-process (``first_screen.py``), where no terminal is
    written to: the difference is what the terminal output costs.
    """
    compiled = package_copy(setup.work, compiled=True)
    source = package_copy(setup.work, compiled=False)
    rows: list[Row] = []
    if shutil.which("tmux"):
        bin_dir = setup.work / "bin"
        wizard = str(console_script(bin_dir))
        minimal_path = str(minimal_script(bin_dir))
        needle = demo_distro_name(compiled)
        t_min = "minimal Textual app script, text on the pane"
        t_warm = "virtio-wizard --demo, distro name on the pane (bytecode)"
        t_cold = "virtio-wizard --demo, distro name on the pane (no bytecode)"
        cases = [
            (Case(t_warm, (wizard, "--demo"), _pkg_env(compiled)), needle),
            (Case(t_cold, (wizard, "--demo"), _pkg_env(source)), needle),
            (Case(t_min, (minimal_path,), _pkg_env(compiled)), MINIMAL_TEXT),
        ]
        setup.log("1/4 first screen in tmux 80x24 ...")
        comp = _terminal_compare(cases, setup.repeats, t_min)
        rows += _rows_vs(
            "first screen",
            comp,
            [t_warm, t_cold],
            {t_warm: 1.3},
            note="tmux 80x24 (TERM=xterm-256color), console script vs script, launch to text "
            "on the pane (capture-pane every 3 ms)",
        )
    else:
        setup.log("1/4 tmux is not installed: the first screen is measured headless only")
    driver = str(HERE / "first_screen.py")
    minimal = "minimal Textual app, first frame"
    warm = "wizard --demo, facts on screen (bytecode)"
    cases2 = [
        Case(warm, _python(driver, "wizard"), _pkg_env(compiled), reads_stdout=True),
        Case(minimal, _python(driver, "minimal"), _pkg_env(compiled), reads_stdout=True),
    ]
    setup.log("1/4 first screen, headless ...")
    comp = compare(cases2, setup.repeats, reference=minimal)
    rows += _rows_vs(
        "first screen (headless)",
        comp,
        [warm],
        {} if rows else {warm: 1.3},
        note="headless 80x24 in-process driver, fresh process per sample, imports included",
    )
    return rows


# ---- 2. detect --json start-up -------------------------------------------------------


#: The README venv made in this run, by work folder (None: pip could not make it).
_VENVS: dict[Path, Optional[Path]] = {}


def installed(setup: Setup) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, str], str]:
    """(wizard argv prefix, python argv prefix, environment, how it was installed).

    The README's install (a venv, ``pip install .``, the console script) when
    pip can make it; else a bytecode-compiled copy of the package on this
    Python's ``PYTHONPATH`` (``python -m virtio_wizard``), which the note says.
    """
    from .install import readme_venv

    if setup.work not in _VENVS:  # one install per run: every part times the same one
        _VENVS[setup.work] = readme_venv(setup.work, setup.log)
    venv = _VENVS[setup.work]
    if venv is not None:
        bin_dir = venv / "bin"
        how = "as the README installs it (venv, pip install ., console script)"
        return (str(bin_dir / "virtio-wizard"),), (str(bin_dir / "python"),), {}, how
    pkg = package_copy(setup.work, compiled=True)
    how = "a bytecode copy of the package on this Python (pip could not make the venv)"
    return _python("-m", "virtio_wizard"), _python(), _pkg_env(pkg), how


def live_cases(setup: Setup, images: list[str]) -> tuple[list[Case], dict[str, float], str, str]:
    """The comparisons of a live ``detect --json``: (cases, targets, reference, note).

    Beside the whole command (with and without reading the initrds) run the
    floors under it: a Python that only inflates the same images with the
    same library (``install.INFLATE_CODE``), the C tool's own inflate, the
    interpreter's start; the reference is ``import textual.app`` in the same
    Python, as issue 6 set it.
    """
    from .install import INFLATE_CODE, zstd_cli_floor

    wizard, python, env, how = installed(setup)
    ref = "python -c 'import textual.app'"
    full = "virtio-wizard detect --json"
    quick = "virtio-wizard detect --json --no-initrd"
    cases = [
        Case(full, (*wizard, "detect", "--json"), env),
        Case(quick, (*wizard, "detect", "--json", "--no-initrd"), env),
        Case("python -c pass", (*python, "-c", "pass"), env),
        Case(ref, (*python, "-c", "import textual.app"), env),
    ]
    if images:
        floor = "python: inflate the initrd(s) alone, same library"
        cases.append(Case(floor, (*python, "-c", INFLATE_CODE, *images), env))
        tool = zstd_cli_floor(images)
        if tool is not None:
            cases.append(Case(f"{tool[2].split()[0]} -dc IMAGE >/dev/null", tool))
    if images and shutil.which("lsinitramfs"):
        cases.append(Case("lsinitramfs IMAGE", ("lsinitramfs", images[0])))
    sizes = ", ".join(f"{_compression_of(p)} {os.path.getsize(p) / MIB:.0f} MiB" for p in images)
    note = f"{how}; initrds read: {sizes or 'none'}"
    return cases, {full: 0.4}, ref, note


def detect_start(setup: Setup) -> list[Row]:
    """``detect --json`` on this machine vs importing ``textual.app``, both fresh processes."""
    from .install import boot_images

    images = boot_images()
    cases, targets, ref, note = live_cases(setup, images)
    setup.log("2/4 detect --json on this machine ...")
    return live_rows("detect start", cases, targets, ref, note, setup.repeats)


def live_rows(
    part: str,
    cases: list[Case],
    targets: dict[str, float],
    ref: str,
    note: str,
    repeats: int,
) -> list[Row]:
    """Compare ``live_cases``: each to ``import textual.app``; the command to lsinitramfs."""
    comp = compare(cases, repeats, reference=ref)
    labels = [c.label for c in cases if c.label not in (ref, "lsinitramfs IMAGE")]
    rows = _rows_vs(part, comp, labels, targets, note)
    if "lsinitramfs IMAGE" in comp.samples:
        rows += _rows_vs(part, comp, labels[:1], {}, note, "lsinitramfs IMAGE")
    # The same rounds in CPU time (user + system): the load moves it far less.
    for label in labels:
        cpu = comp.ratio(label, ref, cpu=True)
        secs = comp.cpu(label).median, comp.cpu(ref).median
        rows.append(Row(f"{part} (CPU)", label, ref, *secs, cpu, note=note))
    return rows


# ---- 3. reading a real-size initramfs ------------------------------------------------


def _image_for(setup: Setup) -> tuple[str, str, str]:
    """(path, kernel version for the root, description) of the image to read."""
    if setup.image:
        return setup.image, "6.1.0-50-amd64", f"--image {setup.image}"
    spec = prepare_image(setup.work, 128 * MIB, setup.log)
    desc = (
        f"synthetic gzip initramfs {spec.file_bytes / MIB:.0f} MiB "
        f"({spec.raw_bytes / MIB:.0f} MiB cpio, {spec.members} members)"
    )
    return spec.path, spec.kver, desc


def debian_kernel(root: str) -> tuple[str, str]:
    """(kernel version, guest path of its initrd) of the one kernel in a Debian root."""
    versions = sorted(p.name for p in (Path(root) / "lib/modules").iterdir() if p.is_dir())
    for kver in reversed(versions):
        if (Path(root) / f"boot/initrd.img-{kver}").is_file():
            return kver, f"/boot/initrd.img-{kver}"
    raise RuntimeError(f"{root}: no kernel with an initrd in /boot (install linux-image-amd64)")


def _compression_of(path: str) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4)
    return {b"\x1f\x8b": "gzip", b"\x28\xb5": "zstd"}.get(head[:2], head.hex())


def initrd_read(setup: Setup) -> list[Row]:
    """The streaming reader and the whole detect vs zcat|cpio, lsinitramfs, lsinitrd.

    With ``--debian-root`` the whole command reads a real Debian root (its
    kernel package's module tree, config and initramfs); else a synthetic
    root with ``--image`` or a synthetic image.
    """
    wizard, python, env, how = installed(setup)
    if setup.debian_root:
        kver, guest_path = debian_kernel(setup.debian_root)
        root = Path(setup.debian_root)
        image = str(root / guest_path.lstrip("/"))
        size = Path(image).stat().st_size
        desc = (
            f"Debian 12 root (debootstrap, linux-image-amd64 {kver}): "
            f"{_compression_of(image)} initramfs {size / MIB:.0f} MiB"
        )
    else:
        image, kver, desc = _image_for(setup)
        # A user's image is copied into the root, never hard-linked (its inode stays as it was).
        root = prepare_root(
            setup.work, f"one-{Path(image).stat().st_size}", [(kver, image)], link=not setup.image
        )
    desc = f"{desc}; {how}"
    q = shlex_quote(image)
    floor = "zcat IMAGE | cpio -t"
    reader = "read_initrd(IMAGE) alone"
    detect = "detect --root ROOT --json"
    reader_code = (
        "import sys; from virtio_wizard.initrd import read_initrd; "
        "info = read_initrd(open(sys.argv[1], 'rb'), sys.argv[1]); "
        "sys.exit(0 if info.error is None else 1)"
    )
    cases = [
        Case(reader, (*python, "-c", reader_code, image), env),
        Case(floor, ("sh", "-c", f"zcat {q} | cpio -t --quiet >/dev/null")),
    ]
    setup.log(f"3/4 reading {desc} ...")
    comp = compare(cases, setup.repeats, reference=floor)
    rows = _rows_vs("initrd read", comp, [reader], {reader: 1.3}, note=desc)
    tools = [("lsinitramfs IMAGE", "lsinitramfs", 0.3)]
    if shutil.which("lsinitrd"):
        tools.append(("lsinitrd IMAGE", "lsinitrd", None))
    detect_args = ("detect", "--root", str(root), "--json")
    cases = [Case(detect, (*wizard, *detect_args), env)]
    fallback = "detect --root ROOT --json, stdlib zlib (python-isal unimportable)"
    if _has_isal(python):
        # The same command as an install without python-isal runs it.
        no_isal = (
            "import runpy, sys; sys.modules['isal.igzip_lib'] = None; "
            "sys.argv = ['virtio-wizard', *sys.argv[1:]]; "
            "runpy.run_module('virtio_wizard', run_name='__main__')"
        )
        cases.append(Case(fallback, (*python, "-c", no_isal, *detect_args), env))
    for label, tool, _ in tools:
        if shutil.which(tool):
            cases.append(Case(label, (tool, image)))
    tool_labels = [label for label, tool, _ in tools if shutil.which(tool)]
    comp = compare(cases, setup.repeats, reference=tool_labels[0] if tool_labels else detect)
    measured = [c.label for c in cases if c.label in (detect, fallback)]
    for label, _, target in tools:
        if label in comp.samples:
            rows += _rows_vs("initrd detect", comp, measured, {detect: target}, desc, label)
    rows.append(_memory_row("initrd memory", comp, detect, 120, desc))
    return rows


def _has_isal(python: tuple[str, ...]) -> bool:
    """Whether python-isal is installed for ``python`` (where it has no wheel, it is not)."""
    import subprocess

    code = "import importlib.util, sys; sys.exit(importlib.util.find_spec('isal') is None)"
    return subprocess.run([*python, "-c", code]).returncode == 0


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


# ---- 4. how detection grows ----------------------------------------------------------


def scaling(setup: Setup) -> list[Row]:
    """Detection time by number of kernels (1, 5, 20) and by initrd size (10, 40, 130 MB)."""
    pkg = package_copy(setup.work, compiled=True)
    small = prepare_image(setup.work, 10 * MIB, setup.log)
    rows: list[Row] = []
    cases = []
    for n in (1, 5, 20):
        kernels = [(f"6.1.0-{i + 1}-amd64", small.path) for i in range(n)]
        root = prepare_root(setup.work, f"kernels-{n}", kernels)
        cases.append(
            Case(f"detect, {n} kernel(s)",
                 _python("-m", "virtio_wizard", "detect", "--root", str(root), "--json"),
                 _pkg_env(pkg))
        )  # fmt: skip
    setup.log("4/4 scaling with the number of kernels ...")
    comp = compare(cases, setup.repeats, reference=cases[0].label)
    note = "each kernel: 3,000-module tree and a 10 MB (cpio) gzip initrd"
    rows += _rows_vs("kernels", comp, [c.label for c in cases[1:]], {}, note, cases[0].label)
    sizes = (10, 40) if setup.quick else (10, 40, 130)
    cases = []
    for mb in sizes:
        spec = prepare_image(setup.work, mb * MIB, setup.log)
        root = prepare_root(setup.work, f"size-{mb}", [(spec.kver, spec.path)])
        cases.append(
            Case(f"detect, {mb} MB initrd",
                 _python("-m", "virtio_wizard", "detect", "--root", str(root), "--json"),
                 _pkg_env(pkg))
        )  # fmt: skip
    setup.log("4/4 scaling with the initrd size ...")
    comp = compare(cases, setup.repeats, reference=cases[0].label)
    note = "one kernel; sizes are of the decompressed cpio"
    rows += _rows_vs("initrd size", comp, [c.label for c in cases[1:]], {}, note, cases[0].label)
    for case in cases:
        rows.append(_memory_row("initrd size memory", comp, case.label, 120, note))
    return rows


def ensure_work(path: str) -> Path:
    work = Path(path)
    work.mkdir(parents=True, exist_ok=True)
    return work


def environment_note() -> str:
    """One line on the machine: Python, CPUs and load, for the results' header."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
