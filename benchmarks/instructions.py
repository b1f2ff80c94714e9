"""Instructions per job, counted by valgrind's callgrind: a figure that load does not move.

``python benchmarks/instructions.py [--candidate DIR] [--jobs 300 900]``

On a shared 2-core machine wall-clock jobs/s swing by ±30 % between repetitions; the
number of instructions the client process executes for the same workload does not (the
same binary, inputs and environment give the same count within ~1 %). Each client runs
the jobs workload of ``run.py`` (create → poll → 16 KiB download, concurrency 64) twice,
with N1 and N2 jobs, under callgrind; the difference divided by N2 - N1 is the cost of one
job with start-up (imports, the event loop) taken out. ``--candidate DIR`` measures a
modified ``foundry_video`` package (a copy of ``src/``) beside the installed one.

Needs ``valgrind`` (Debian's package); prints a markdown table. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import fake_server  # noqa: E402  (benchmarks/ is not a package)


def instructions(base_url: str, jobs: int, pythonpath: str | None, out: Path) -> int:
    """Instructions the client process executed for ``jobs`` jobs."""
    profile = out / f"callgrind.{jobs}.{os.getpid()}"
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}", sys.executable,
         str(HERE / "clients.py"), "jobs", "--client", "sdk", "--base-url", base_url,
         "--jobs", str(jobs), "--concurrency", "64", "--out", str(out / "files")],
        check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    match = re.search(r"^summary: (\d+)", profile.read_text(), re.M)
    if match is None:
        raise RuntimeError(f"no summary line in {profile}")
    return int(match.group(1))


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", default=None, metavar="DIR")
    parser.add_argument("--jobs", type=int, nargs=2, default=[300, 900], metavar=("N1", "N2"))
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: nothing measured", file=sys.stderr)
        return 0
    clients = [("foundry-video", None)]
    if args.candidate:
        clients.append(("foundry-video (candidate)", str(Path(args.candidate).resolve())))
    n1, n2 = args.jobs
    rows = []
    with tempfile.TemporaryDirectory(prefix="foundry-video-instr-") as tmp, \
            fake_server("--tiny-bytes", str(16 * 1024)) as server:
        for label, path in clients:
            small = instructions(server.base_url, n1, path, Path(tmp))
            large = instructions(server.base_url, n2, path, Path(tmp))
            rows.append((label, (large - small) / (n2 - n1), small - n1 * (large - small) / (n2 - n1)))
    base = rows[0][1]
    print("| client | instructions per job | vs foundry-video | start-up (M) |\n|---|---:|---:|---:|")
    for label, per_job, startup in rows:
        print(f"| {label} | {per_job / 1e6:.3f} M | {per_job / base:.3f}x | {startup / 1e6:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
