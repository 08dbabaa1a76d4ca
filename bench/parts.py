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


def first_screen(setup: Setup) -> list[Row]:
    """The wizard on the demo guest until its facts are drawn, vs a minimal Textual app."""
    driver = str(HERE / "first_screen.py")
    compiled = package_copy(setup.work, compiled=True)
    source = package_copy(setup.work, compiled=False)
    minimal = "minimal Textual app, first frame"
    warm = "wizard --demo, facts on screen (bytecode)"
    cold = "wizard --demo, facts on screen (no bytecode)"
    cases = [
        Case(warm, _python(driver, "wizard"), _pkg_env(compiled), reads_stdout=True),
        Case(cold, _python(driver, "wizard"), _pkg_env(source), reads_stdout=True),
        Case(minimal, _python(driver, "minimal"), _pkg_env(compiled), reads_stdout=True),
    ]
    setup.log("1/4 first screen ...")
    comp = compare(cases, setup.repeats, reference=minimal)
    return _rows_vs(
        "first screen",
        comp,
        [warm, cold],
        {warm: 1.3},
        note="headless 80x24, fresh process per sample, imports included",
    )


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


def initrd_read(setup: Setup) -> list[Row]:
    """The streaming reader and the whole detect vs zcat|cpio, lsinitramfs, lsinitrd."""
    pkg = package_copy(setup.work, compiled=True)
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
    tools = [("lsinitramfs IMAGE", "lsinitramfs", 0.5)]
    if shutil.which("lsinitrd"):
        tools.append(("lsinitrd IMAGE", "lsinitrd", None))
    cases = [
        Case(detect, _python("-m", "virtio_wizard", "detect", "--root", str(root), "--json"),
             _pkg_env(pkg)),
    ]  # fmt: skip
    for label, tool, _ in tools:
        if shutil.which(tool):
            cases.append(Case(label, (tool, image)))
    comp = compare(cases, setup.repeats, reference=cases[1].label if len(cases) > 1 else detect)
    for label, _, target in tools:
        if label in comp.samples:
            rows += _rows_vs("initrd detect", comp, [detect], {detect: target}, desc, label)
    rows.append(_memory_row("initrd memory", comp, detect, 120, desc))
    return rows


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


#: Part name (for ``--parts``) -> function.
PARTS: dict[str, Callable[[Setup], list[Row]]] = {
    "screen": first_screen,
    "detect": detect_start,
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
