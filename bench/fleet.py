"""``python bench/fleet.py``: the Ansible play against three guests, as a ratio to one CLI run.

What a user with many guests waits for is the whole ``ansible-playbook`` run.
Each round builds fresh guests (not timed: copies, sshd start), then times,
in an order that alternates between rounds:

- the play: ``ansible-playbook site.yml -e virtio_apply=true`` against the
  three guests of ``tests/fleet_fixture.py`` (one converted, one with nothing
  to do, one refused), serial 3;
- the reference: the single-guest CLI run a user would type by hand,
  ``virtio-wizard --ssh GUEST apply --method initrd --drivers block,net -y``,
  against a fresh copy of the guest that needs converting.

Reported: the median over rounds of play / CLI (the whole fleet) and of
play / 3 / CLI (per guest), with their spread. Needs root, sshd, busybox and
ansible-playbook (what the fleet test needs).

    python bench/fleet.py [--repeat N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

from fleet_fixture import (  # noqa: E402
    CHOICES,
    make_fleet,
    old_guest,
    play,
    stop_fleet,
    summary,
    why_not,
)
from sshd_fixture import SSHServer  # noqa: E402

from bench.measure import stats  # noqa: E402


def _time_play(work: Path) -> float:
    fleet = make_fleet(work)
    try:
        start = time.perf_counter()
        proc = play(fleet, "-e", "virtio_apply=true", "-e", "virtio_serial=3")
        took = time.perf_counter() - start
        if proc.returncode != 0 or not summary(fleet)["old"].startswith("converted"):
            raise RuntimeError(f"the play did not convert the guest:\n{proc.stdout[-2000:]}")
        return took
    finally:
        stop_fleet(fleet)


def _time_cli(work: Path) -> float:
    import shlex

    guest = old_guest(work / "guest")
    (work / "sshd").mkdir()
    srv = SSHServer(guest, work / "sshd").start()
    try:
        env = dict(os.environ, VIRTIO_WIZARD_SSH_OPTIONS=shlex.join(srv.client_options()))
        argv = [sys.executable, "-m", "virtio_wizard", "--ssh", srv.spec, "apply", *CHOICES, "-y"]
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=HERE.parent)
        took = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"the CLI apply failed: {proc.stderr}")
        return took
    finally:
        srv.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/fleet.py", description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, metavar="N", help="rounds (default 3)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args(argv)
    reason = why_not()
    if reason:
        print(f"bench/fleet.py: cannot run here: {reason}", file=sys.stderr)
        return 2
    plays, clis = [], []
    for n in range(args.repeat):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            if n % 2 == 0:
                plays.append(_time_play(Path(a)))
                clis.append(_time_cli(Path(b)))
            else:
                clis.append(_time_cli(Path(b)))
                plays.append(_time_play(Path(a)))
        print(f"round {n + 1}: play {plays[-1]:.2f} s, one CLI apply {clis[-1]:.2f} s")
    whole = stats([p / c for p, c in zip(plays, clis)])
    per_guest = stats([p / 3 / c for p, c in zip(plays, clis)])
    print(
        f"three guests, whole play: {whole.median:.2f}x one CLI apply "
        f"(spread {whole.low:.2f}-{whole.high:.2f}); per guest {per_guest.median:.2f}x "
        f"(spread {per_guest.low:.2f}-{per_guest.high:.2f}); CLI median {stats(clis).median:.2f} s"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "play_s": plays,
                    "cli_s": clis,
                    "whole": whole.median,
                    "per_guest": per_guest.median,
                },
                indent=2,
            )  # fmt: skip
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
