"""Timing fresh processes side by side: interleaved samples, medians, paired ratios.

The machine is shared, so its load drifts during a run. Two defences:
every round runs each command of a comparison once, in an order that
alternates between rounds, so a slow minute slows both; and each figure is
reported as the median of the per-round ratios (command / reference of the
same round), with its spread, not as a ratio of two separately measured means.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional

__all__ = [
    "Case",
    "Sample",
    "Stats",
    "Comparison",
    "run_once",
    "stats",
    "compare",
]


@dataclass(frozen=True)
class Case:
    """One command to time: a label, its argv, and environment overrides.

    ``reads_stdout`` lets a case take its figure from the child: a driver that
    prints ``at=EPOCH_SECONDS`` when its condition holds is timed from its
    spawn to that moment instead of over the process's whole life.
    """

    label: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    reads_stdout: bool = False
    cwd: Optional[str] = None


@dataclass(frozen=True)
class Sample:
    """One run: seconds (wall), peak resident memory of the process tree in KiB, exit code.

    ``cpu`` is the user + system seconds of the process and the children it
    waited for: on a loaded machine it moves far less than the wall clock
    (0.0 where it was not measured, e.g. a command timed on a terminal).
    """

    seconds: float
    max_rss_kib: int
    returncode: int
    cpu: float = 0.0


@dataclass(frozen=True)
class Stats:
    """Median and spread of a list of numbers."""

    median: float
    low: float
    high: float
    q1: float
    q3: float
    n: int


@dataclass(frozen=True)
class Comparison:
    """Samples of each case by round, and the paired ratio of each case to the reference."""

    cases: tuple[Case, ...]
    samples: dict[str, list[Sample]]
    reference: str

    def times(self, label: str) -> Stats:
        return stats([s.seconds for s in self.samples[label]])

    def memory(self, label: str) -> Stats:
        return stats([float(s.max_rss_kib) for s in self.samples[label]])

    def ratio(self, label: str, reference: Optional[str] = None, cpu: bool = False) -> Stats:
        """Per-round ratio of ``label`` to the reference (wall clock, or CPU time), summarised."""
        ref = self.samples[reference or self.reference]
        mine = self.samples[label]
        if cpu:
            return stats([m.cpu / r.cpu for m, r in zip(mine, ref) if r.cpu > 0])
        return stats([m.seconds / r.seconds for m, r in zip(mine, ref) if r.seconds > 0])

    def cpu(self, label: str) -> Stats:
        return stats([s.cpu for s in self.samples[label]])


def stats(values: Sequence[float]) -> Stats:
    """Median, min, max and quartiles (quartiles equal the median below 4 values)."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    med = statistics.median(ordered)
    if len(ordered) >= 4:
        q1, _, q3 = statistics.quantiles(ordered, n=4)
    else:
        q1 = q3 = med
    return Stats(med, ordered[0], ordered[-1], q1, q3, len(ordered))


def _environment(case: Case) -> dict[str, str]:
    env = dict(os.environ)
    for name in case.unset:
        env.pop(name, None)
    env.update(case.env)
    return env


def run_once(case: Case) -> Sample:
    """Spawn ``case`` once, wait for it with ``os.wait4`` and return its figures.

    ``wait4`` gives the child's own rusage (its peak RSS includes the
    children it waited for, e.g. both sides of a ``sh -c`` pipe), so there is
    no need for deltas of ``RUSAGE_CHILDREN``. A non-zero exit raises
    RuntimeError with the end of its stderr: a failed command has no time.
    """
    env = _environment(case)
    start = time.time()
    begin = time.perf_counter()
    proc = subprocess.Popen(
        list(case.argv),
        env=env,
        cwd=case.cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if case.reads_stdout else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    out = proc.stdout.read() if proc.stdout is not None else b""
    err = proc.stderr.read() if proc.stderr is not None else b""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - begin
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{case.label}: exit {proc.returncode}: {' | '.join(tail)}")
    if case.reads_stdout:
        seconds = _elapsed(out, start, case.label)
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(seconds, int(usage.ru_maxrss), proc.returncode, cpu)


def _elapsed(out: bytes, start: float, label: str) -> float:
    """The ``at=EPOCH`` moment a driver printed, as seconds since its spawn."""
    for line in out.decode("ascii", "replace").splitlines():
        if line.startswith("at="):
            return float(line[3:]) - start
    raise RuntimeError(f"{label}: the driver printed no 'at=' line")


def compare(
    cases: Sequence[Case],
    repeats: int,
    reference: Optional[str] = None,
    warmup: int = 1,
    on_sample: Optional[Callable[[str, Sample], None]] = None,
) -> Comparison:
    """Run every case ``repeats`` times, interleaved, after ``warmup`` untimed rounds.

    Even rounds run the cases in the given order, odd rounds in reverse, so
    neither side always runs right after the other (page cache, CPU boost).
    The warm-up round fills the page cache for every file both sides read.
    """
    if not cases:
        raise ValueError("nothing to compare")
    labels = [c.label for c in cases]
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels must be unique: {labels}")
    samples: dict[str, list[Sample]] = {c.label: [] for c in cases}
    for _ in range(warmup):
        for case in cases:
            run_once(case)
    for round_no in range(repeats):
        order = list(cases) if round_no % 2 == 0 else list(reversed(cases))
        for case in order:
            sample = run_once(case)
            samples[case.label].append(sample)
            if on_sample is not None:
                on_sample(case.label, sample)
    return Comparison(tuple(cases), samples, reference or labels[-1])
