"""The four benchmark parts: what each runs, against which reference, and its targets.

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
    "PARTS",
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


def detect_start(setup: Setup) -> list[Row]:
    """``detect --json`` on this machine vs importing ``textual.app``, both fresh processes."""
    compiled = package_copy(setup.work, compiled=True)
    source = package_copy(setup.work, compiled=False)
    ref = "python -c 'import textual.app'"
    warm = "detect --json, this machine (bytecode)"
    cold = "detect --json, this machine (no bytecode)"
    # The interpreter's own start (site, .pth files): the floor under both sides.
    bare = "python -c pass"
    detect = ("-m", "virtio_wizard", "detect", "--json")
    cases = [
        Case(warm, _python(*detect), _pkg_env(compiled)),
        Case(cold, _python(*detect), {**_pkg_env(source), "PYTHONDONTWRITEBYTECODE": "1"}),
        Case(bare, _python("-c", "pass"), _pkg_env(compiled)),
        Case(ref, _python("-c", "import textual.app"), _pkg_env(compiled)),
    ]
    setup.log("2/4 detect --json start-up ...")
    comp = compare(cases, setup.repeats, reference=ref)
    return _rows_vs(
        "detect start",
        comp,
        [warm, cold, bare],
        {warm: 0.4},
        note="local machine as the target; textual itself always has its bytecode",
    )


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
    pkg = package_copy(setup.work, compiled=True)
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
        Case(reader, _python("-c", reader_code, image), _pkg_env(pkg)),
        Case(floor, ("sh", "-c", f"zcat {q} | cpio -t --quiet >/dev/null")),
    ]
    setup.log(f"3/4 reading {desc} ...")
    comp = compare(cases, setup.repeats, reference=floor)
    rows = _rows_vs("initrd read", comp, [reader], {reader: 1.3}, note=desc)
    tools = [("lsinitramfs IMAGE", "lsinitramfs", 0.3)]
    if shutil.which("lsinitrd"):
        tools.append(("lsinitrd IMAGE", "lsinitrd", None))
    detect_args = ("detect", "--root", str(root), "--json")
    cases = [Case(detect, _python("-m", "virtio_wizard", *detect_args), _pkg_env(pkg))]
    fallback = "detect --root ROOT --json, stdlib zlib (no 'fast' extra)"
    if _has_isal():
        # The same command as an install without python-isal runs it.
        no_isal = (
            "import runpy, sys; sys.modules['isal.igzip_lib'] = None; "
            "sys.argv = ['virtio-wizard', *sys.argv[1:]]; "
            "runpy.run_module('virtio_wizard', run_name='__main__')"
        )
        cases.append(Case(fallback, _python("-c", no_isal, *detect_args), _pkg_env(pkg)))
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


def _has_isal() -> bool:
    """Whether python-isal (the ``fast`` extra) is installed for this Python."""
    import importlib.util

    return importlib.util.find_spec("isal") is not None


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


# ---- 2b. this machine with a distro kernel installed --------------------------------

#: Set inside the private mount namespace of part ``live`` (see ``live_kernel``).
LIVE_ENV = "VW_BENCH_LIVE_NAMESPACE"


def _live_layout(setup: Setup) -> tuple[Path, Path, str, str]:
    """(lib folder holding ``modules/``, boot folder, kernel version, image compression).

    The Debian root's module tree is hard-linked (or copied) into the work
    folder; its boot files likewise, the initramfs recompressed with
    ``zstd -q -9`` when zstd(1) is there: what initramfs-tools 0.142 writes
    on Debian 12 once zstd is installed (``COMPRESS=zstd``, its default level).
    """
    assert setup.debian_root
    kver, guest_path = debian_kernel(setup.debian_root)
    src = Path(setup.debian_root)
    live = setup.work / "live" / kver
    lib, boot = live / "lib", live / "boot"
    marker = live / ".complete"
    if not marker.exists():
        if live.exists():
            shutil.rmtree(live)
        lib.mkdir(parents=True)
        boot.mkdir()
        _link_tree(src / "lib/modules", lib / "modules")
        for item in (src / "boot").iterdir():
            if item.name.startswith("initrd.img-"):
                continue
            _link_tree(item, boot / item.name)
        image = src / guest_path.lstrip("/")
        out = boot / image.name
        if shutil.which("zstd") and _compression_of(str(image)) == "gzip":
            import subprocess

            pipe = f"zcat {shlex_quote(str(image))} | zstd -q -9"
            with open(out, "wb") as fh:
                subprocess.run(pipe, shell=True, stdout=fh, check=True)
        else:
            shutil.copy2(image, out)
        marker.write_text("ok\n")
    return lib, boot, kver, _compression_of(str(boot / f"initrd.img-{kver}"))


def _link_tree(src: Path, dst: Path) -> None:
    """Hard links where the file system allows (fast, no space), else a copy."""
    import subprocess

    if subprocess.run(["cp", "-al", str(src), str(dst)], capture_output=True).returncode != 0:
        subprocess.run(["cp", "-a", str(src), str(dst)], check=True)


def live_kernel(setup: Setup) -> list[Row]:
    """``detect --json`` on this machine as if ``linux-image-amd64`` were installed.

    A live target (``/``, the running kernel, its /proc and /sys) whose
    ``/boot`` and ``/lib/modules`` hold a Debian 12 kernel package: the bench
    re-runs itself in a private mount namespace (``unshare -m``) where the
    Debian root's ``/boot`` is bind-mounted and its module tree is overlaid
    on ``/usr/lib``; the machine's own folders are never touched. Both sides
    of every comparison run inside that namespace.
    """
    if not setup.debian_root:
        setup.log("2b/4 live: skipped (needs --debian-root with a kernel package)")
        return []
    if os.environ.get(LIVE_ENV) == "1":
        return _live_rows(setup)
    if os.geteuid() != 0 or not shutil.which("unshare"):
        setup.log("2b/4 live: skipped (needs root and unshare(1) for a private mount namespace)")
        return []
    import json
    import subprocess
    import tempfile

    lib, boot, _kver, _fmt = _live_layout(setup)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        modules = shlex_quote(str(lib / "modules"))
        mounts = (
            # A machine with a module tree of its own gets it hidden by a bind
            # mount; one without gets the folder through an overlay of /usr/lib.
            f"if [ -d /usr/lib/modules ]; then mount --bind {modules} /usr/lib/modules; "
            f"else mount -t overlay overlay -o lowerdir=/usr/lib:{shlex_quote(str(lib))} "
            f'/usr/lib; fi && mount --bind {shlex_quote(str(boot))} /boot && exec "$@"'
        )
        argv = [
            "unshare", "-m", "--propagation", "private", "sh", "-c", mounts, "sh",
            sys.executable, str(HERE / "run.py"), "--parts", "live",
            "--repeat", str(setup.repeats), "--work", str(setup.work),
            "--debian-root", setup.debian_root, "--json", out.name,
        ]  # fmt: skip
        setup.log("2b/4 live detect with a distro kernel installed (private mount namespace) ...")
        env = {**os.environ, LIVE_ENV: "1"}
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"live part: {proc.stderr.strip().splitlines()[-3:]}")
        with open(out.name, encoding="utf-8") as fh:
            doc = json.load(fh)
    return [_row_from_dict(r) for r in doc["rows"]]


def _row_from_dict(data: dict) -> Row:
    fields = {k: v for k, v in data.items() if k != "verdict"}
    fields["ratio"] = Stats(**fields["ratio"])
    return Row(**fields)


def _live_rows(setup: Setup) -> list[Row]:
    """Inside the namespace: the comparisons themselves."""
    kver, guest_path = debian_kernel(setup.debian_root or "/")
    shown = (sorted(os.listdir("/lib/modules")), sorted(os.listdir("/boot")))
    if shown != ([kver], sorted(os.listdir(setup.work / "live" / kver / "boot"))):
        raise RuntimeError(f"the namespace shows {shown}, not only kernel {kver}")
    fmt = _compression_of(guest_path)
    compiled = package_copy(setup.work, compiled=True)
    env = _pkg_env(compiled)
    ref = "python -c 'import textual.app'"
    quick = "detect --json --no-initrd, kernel package installed"
    full = f"detect --json (reads the {fmt} initrd), kernel package installed"
    bare = "python -c pass"
    lsinit = "lsinitramfs IMAGE"
    detect = ("-m", "virtio_wizard", "detect", "--json")
    cases = [
        Case(quick, _python(*detect, "--no-initrd"), env),
        Case(full, _python(*detect), env),
        Case(bare, _python("-c", "pass"), env),
        Case(ref, _python("-c", "import textual.app"), env),
    ]
    if shutil.which("lsinitramfs"):
        cases.append(Case(lsinit, ("lsinitramfs", guest_path)))
    comp = compare(cases, setup.repeats, reference=ref)
    note = (
        f"this machine's live / with Debian 12's linux-image-amd64 {kver} in /boot and "
        f"/lib/modules ({fmt} initramfs {os.path.getsize(guest_path) / MIB:.0f} MiB)"
    )
    rows = _rows_vs("live detect", comp, [quick, full, bare], {quick: 0.4}, note)
    if lsinit in comp.samples:
        rows += _rows_vs("live detect", comp, [full], {}, note, lsinit)
    return rows


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


#: Part name (for ``--parts``) -> function.
PARTS: dict[str, Callable[[Setup], list[Row]]] = {
    "screen": first_screen,
    "detect": detect_start,
    "live": live_kernel,
    "initrd": initrd_read,
    "scaling": scaling,
}


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
