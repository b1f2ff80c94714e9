"""foundry-video benchmark suite: ``python benchmarks/run.py [--quick] [--no-write]``.

Workloads (each client runs in the same run, interleaved, several repetitions; medians):

a. ``jobs``: N create → poll → tiny download jobs at concurrency 64 (jobs/s);
b. ``download``: one large (1 GiB) download to disk (MiB/s), also with ``curl``;
c. ``import``: ``import foundry_video`` vs ``import openai`` (min of fresh processes);
d. peak RSS growth of the client process during (b);
e. ``polling``: status requests per job and completion-detection lag on a simulated clock,
   per progress curve.

The fake Videos API (``fake_server.py``) runs in its own process and serves from memory,
or from a file with sendfile; its CPU use is sampled during every run and reported, so
a reader can see it was never the bottleneck. Every client run is a fresh process
(``clients.py``). ``--quick`` is a smoke run (well under a minute) with small sizes;
``--no-write`` leaves ``RESULTS.md`` alone. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
MIB = 1 << 20
CLIENT_LABELS = {"sdk": "foundry-video", "raw": "raw aiohttp loop", "openai": "openai",
                 "curl": "curl", "candidate": "foundry-video (candidate)",
                 "raw-durable": "raw loop + durable save", "sdk-sync": "SyncVideoClient, threads"}


# -- configuration ------------------------------------------------------------------------


@dataclass
class Config:
    """Sizes and repetition counts for one run."""

    quick: bool
    jobs: int = 2000
    concurrency: int = 64
    job_reps: int = 5
    download_mib: int = 1024
    download_reps: int = 9
    import_reps: int = 9
    poll_durations: list[float] = field(
        default_factory=lambda: [10.0, 30.0, 60.0, 180.0, 300.0])
    poll_reps: int = 5
    poll_hints: list[int | None] = field(default_factory=lambda: [None, 1000])
    candidate: str | None = None
    """A directory holding a modified ``foundry_video`` package, measured as an extra client."""

    def python_clients(self) -> list[str]:
        """The Python clients of workloads (a) and (b), in their base order."""
        return ["raw", "sdk", *(["candidate"] if self.candidate else []), "openai"]

    @classmethod
    def make(cls, quick: bool) -> Config:
        """Full (the issue's sizes) or quick (a smoke run under a minute)."""
        if not quick:
            return cls(quick=False)
        return cls(quick=True, jobs=200, job_reps=1, download_mib=64, download_reps=1,
                   import_reps=3, poll_durations=[10.0, 180.0], poll_reps=1, poll_hints=[None])


# -- processes ----------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (0.0 where /proc is unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class FakeServer:
    """``fake_server.py`` in a child process; stops when we close its stdin."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, str(HERE / "fake_server.py"), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.close()
            raise RuntimeError(f"fake server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.base_url = f"http://127.0.0.1:{self.port}/openai/v1"

    def cpu(self) -> float:
        """CPU seconds the server has used so far."""
        return _cpu_seconds(self.proc.pid)

    def close(self) -> None:
        """Stop the server and reap it."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def fake_server(*args: str) -> Iterator[FakeServer]:
    """Run the fake for the duration of a ``with`` block."""
    server = FakeServer(*args)
    try:
        yield server
    finally:
        server.close()


def run_client(client: str, cfg: Config, *args: str) -> dict[str, Any]:
    """Run ``clients.py`` once in a fresh process and return its JSON result.

    The ``candidate`` client is the SDK imported from ``cfg.candidate`` (PYTHONPATH).
    """
    env = dict(os.environ)
    if client == "candidate":
        assert cfg.candidate is not None
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [cfg.candidate,
                                                          env.get("PYTHONPATH")]))
        client = "sdk"
    done = subprocess.run([PYTHON, str(HERE / "clients.py"), args[0], "--client", client,
                           *args[1:]], capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"client {' '.join(args[:3])} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def rotated(items: Sequence[str], rep: int) -> list[str]:
    """``items`` rotated by ``rep``: interleaving without always running one client first."""
    k = rep % len(items)
    return [*items[k:], *items[:k]]


# -- statistics ---------------------------------------------------------------------------


def spread(values: Sequence[float]) -> dict[str, float]:
    """median, min, max and the relative spread ((max - min) / median)."""
    med = statistics.median(values)
    return {"median": med, "min": min(values), "max": max(values),
            "spread": (max(values) - min(values)) / med if med else 0.0, "n": len(values)}


def ratio(a: float | None, b: float | None) -> str:
    """``a / b`` as ``1.23x`` (or ``n/a``)."""
    if not a or not b:
        return "n/a"
    return f"{a / b:.2f}x"


# -- workload (a) -------------------------------------------------------------------------


def bench_jobs(cfg: Config, out_root: Path, log: Any) -> dict[str, Any]:
    """2000 create → poll → download jobs at concurrency 64, per client."""
    # raw-durable: the raw loop saving files the way the SDK promises to (temp file, fsync,
    # rename, directory fsync): it separates the cost of that contract from SDK overhead.
    # sdk-sync: the blocking client shared by `concurrency` threads, each create → result.
    clients = [*cfg.python_clients(), "raw-durable", "sdk-sync"]
    samples: dict[str, list[float]] = {c: [] for c in clients}
    server_cpu: dict[str, list[float]] = {c: [] for c in clients}
    client_cpu: dict[str, list[float]] = {c: [] for c in clients}
    with fake_server("--tiny-bytes", str(16 * 1024)) as server:
        for rep in range(cfg.job_reps):
            for client in rotated(clients, rep):
                out = Path(tempfile.mkdtemp(prefix=f"jobs-{client}-", dir=out_root))
                cpu0, t0 = server.cpu(), time.perf_counter()
                result = run_client(client, cfg, "jobs", "--base-url", server.base_url,
                                    "--jobs", str(cfg.jobs), "--concurrency",
                                    str(cfg.concurrency), "--out", str(out))
                wall = time.perf_counter() - t0
                files = sum(1 for _ in out.iterdir())
                shutil.rmtree(out)
                if files != cfg.jobs:
                    raise RuntimeError(f"{client}: {files} files for {cfg.jobs} jobs")
                rate = cfg.jobs / result["seconds"]
                samples[client].append(rate)
                # Server CPU over the whole child process's life (an upper bound).
                server_cpu[client].append((server.cpu() - cpu0) / wall)
                client_cpu[client].append(result["cpu_seconds"] / result["seconds"])
                log(f"  jobs rep {rep + 1}/{cfg.job_reps} {CLIENT_LABELS[client]:>16}: "
                    f"{rate:8.0f} jobs/s")
    return {"clients": clients, "jobs_per_s": {c: spread(v) for c, v in samples.items()},
            "server_cpu": {c: statistics.median(v) for c, v in server_cpu.items()},
            "client_cpu": {c: statistics.median(v) for c, v in client_cpu.items()},
            "raw": samples}


# -- workloads (b) and (d) ----------------------------------------------------------------


def _curl(url: str, target: Path) -> dict[str, Any]:
    """Download with curl; its peak RSS is sampled from /proc (VmHWM) while it runs.

    ``wait4``'s ``ru_maxrss`` would be wrong here: it counts the pre-``exec`` copy of
    this (large) Python process.
    """
    curl = shutil.which("curl")
    assert curl is not None
    t0 = time.perf_counter()
    proc = subprocess.Popen([curl, "-sS", "--fail", "-o", str(target), "-H",
                             "api-key: bench-key", url])
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        time.sleep(0.02)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"curl exited {proc.returncode}")
    return {"seconds": seconds, "peak_rss_kib": peak, "bytes": target.stat().st_size}


def big_file(size: int) -> Path:
    """A cached file of ``size`` random bytes in the temp directory (made once)."""
    sys.path.insert(0, str(HERE))
    from fake_server import make_big_file

    path = Path(tempfile.gettempdir()) / f"foundry-video-bench-{size // MIB}MiB.bin"
    make_big_file(str(path), size)
    return path


def bench_download(cfg: Config, out_root: Path, log: Any) -> dict[str, Any]:
    """One large download per client per repetition; throughput and RSS growth."""
    size = cfg.download_mib * MIB
    source = big_file(size)
    clients = cfg.python_clients()
    if shutil.which("curl"):
        clients.append("curl")
    else:
        log("  curl is not installed: skipping the curl column")
    mibps: dict[str, list[float]] = {c: [] for c in clients}
    rss: dict[str, list[float]] = {c: [] for c in clients}
    server_cpu: dict[str, list[float]] = {c: [] for c in clients}
    with fake_server("--big-file", str(source)) as server:
        url = f"{server.base_url}/videos/video_big/content?variant=video"
        for rep in range(cfg.download_reps):
            for client in rotated(clients, rep):
                target = out_root / f"download-{client}.mp4"
                os.sync()  # start each run with no dirty pages from the last one
                cpu0, t0 = server.cpu(), time.perf_counter()
                if client == "curl":
                    result = _curl(url, target)
                    growth = result["peak_rss_kib"]  # absolute: curl's whole process
                else:
                    result = run_client(client, cfg, "download", "--base-url",
                                        server.base_url, "--out", str(target))
                    base = (result["rss_before_kib"] if result["peak_reset"]
                            else result["hwm_before_kib"])
                    growth = result["peak_rss_kib"] - base
                wall = time.perf_counter() - t0
                got = target.stat().st_size
                target.unlink()
                if got != size:
                    raise RuntimeError(f"{client}: downloaded {got} of {size} bytes")
                rate = size / MIB / result["seconds"]
                mibps[client].append(rate)
                rss[client].append(growth / 1024)
                server_cpu[client].append((server.cpu() - cpu0) / wall)
                log(f"  download rep {rep + 1}/{cfg.download_reps} {CLIENT_LABELS[client]:>16}: "
                    f"{rate:7.0f} MiB/s, RSS {growth / 1024:6.1f} MiB")
    os.sync()
    return {"clients": clients, "size_mib": cfg.download_mib,
            "mib_per_s": {c: spread(v) for c, v in mibps.items()},
            "rss_mib": {c: spread(v) for c, v in rss.items()},
            "server_cpu": {c: statistics.median(v) for c, v in server_cpu.items()},
            "raw": mibps}


# -- workload (c) -------------------------------------------------------------------------

IMPORTS = {
    "import foundry_video": "import foundry_video",
    "from foundry_video import VideoClient": "from foundry_video import VideoClient",
    "import openai": "import openai",
    "import aiohttp (reference)": "import aiohttp",
}


def bench_import(cfg: Config, log: Any) -> dict[str, Any]:
    """Min (and median) of fresh-process import times, measured inside the process."""
    times: dict[str, list[float]] = {k: [] for k in IMPORTS}
    for rep in range(cfg.import_reps):
        for label in rotated(list(IMPORTS), rep):
            code = (f"import time; t = time.perf_counter(); {IMPORTS[label]}; "
                    "print(time.perf_counter() - t)")
            done = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True,
                                  check=True)
            times[label].append(float(done.stdout.strip()) * 1000)
    for label, values in times.items():
        log(f"  {label:>40}: min {min(values):7.1f} ms")
    return {"ms": {k: spread(v) for k, v in times.items()}, "raw": times}


# -- workload (e) -------------------------------------------------------------------------


def bench_polling(cfg: Config, log: Any) -> list[dict[str, Any]]:
    """Status requests per job and detection lag on a simulated clock (in this process)."""
    sys.path.insert(0, str(HERE))
    import warnings

    from polling import measure

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows: list[dict[str, Any]] = asyncio.run(
            measure(cfg.poll_durations, cfg.poll_reps, cfg.poll_hints))
    for row in rows:
        if row["poller"] == "foundry-video":
            log(f"  {row['scenario']:>12} {row['duration']:3.0f} s job, hint {row['hint_ms']}: "
                f"{row['requests']['median']:g} requests, lag {row['lag']['median']:.2f} s"
                f"{'' if row['goal_met'] else ' (goal NOT met)'}")
    return rows


# -- report -------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    versions = {}
    for name in ("foundry-video", "aiohttp", "openai", "httpx2", "pydantic", "anyio"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def machine_facts(out_root: Path) -> dict[str, str]:
    """CPU, memory, OS, Python, package versions, curl, and the disk used for outputs."""
    facts: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
                break
    facts["cores"] = str(os.cpu_count())
    with contextlib.suppress(OSError):
        facts["load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                facts["memory"] = f"{int(line.split()[1]) // 1024} MiB"
    facts["os"] = f"{platform.system()} {platform.release()}"
    facts["python"] = platform.python_version()
    facts["packages"] = ", ".join(f"{k} {v}" for k, v in _versions().items())
    curl = shutil.which("curl")
    if curl:
        first = subprocess.run([curl, "--version"], capture_output=True, text=True).stdout
        facts["curl"] = " ".join(first.split()[:2])
    else:
        facts["curl"] = "not installed (curl column skipped)"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        df = subprocess.run(["df", "-T", str(out_root)], capture_output=True, text=True)
        parts = df.stdout.splitlines()[-1].split()
        facts["output disk"] = f"{out_root.parent} on {parts[0]} ({parts[1]})"
    return facts


def _fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def render(cfg: Config, facts: dict[str, str], results: dict[str, Any]) -> str:
    """The whole report as markdown."""
    lines: list[str] = []
    add = lines.append
    mode = "quick (smoke sizes; not comparable)" if cfg.quick else "full"
    add(f"Mode: **{mode}**. Date: {datetime.date.today().isoformat()}. "
        f"Command: `python benchmarks/run.py{' --quick' if cfg.quick else ''}"
        f"{' --candidate DIR' if cfg.candidate else ''}`.")
    add("")
    add("| machine | |")
    add("|---|---|")
    for key, value in facts.items():
        add(f"| {key} | {value} |")
    add("")
    jobs = results.get("jobs")
    if jobs:
        add(f"### (a) {cfg.jobs} jobs (create → poll → 16 KiB download), concurrency "
            f"{cfg.concurrency}: jobs/s, {cfg.job_reps} reps")
        add("")
        add("| client | median | min | max | spread | vs raw aiohttp | vs openai | "
            "client CPU | fake-server CPU |")
        add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        med = {c: s["median"] for c, s in jobs["jobs_per_s"].items()}
        for c in jobs["clients"]:
            s = jobs["jobs_per_s"][c]
            add(f"| {CLIENT_LABELS[c]} | {_fmt(s['median'])} | {_fmt(s['min'])} | "
                f"{_fmt(s['max'])} | {s['spread']:.0%} | {ratio(med[c], med['raw'])} | "
                f"{ratio(med[c], med['openai'])} | {jobs['client_cpu'][c]:.0%} | "
                f"{jobs['server_cpu'][c]:.0%} |")
        add("")
    dl = results.get("download")
    if dl:
        add(f"### (b) one {dl['size_mib']} MiB download to disk: MiB/s, "
            f"{cfg.download_reps} reps; (d) peak RSS growth during it")
        add("")
        add("| client | median MiB/s | min | max | spread | vs raw aiohttp | vs curl | "
            "vs openai | RSS growth (median / max) | fake-server CPU |")
        add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        med = {c: s["median"] for c, s in dl["mib_per_s"].items()}
        for c in dl["clients"]:
            s = dl["mib_per_s"][c]
            r = dl["rss_mib"][c]
            rss_cell = f"{r['median']:.1f} / {r['max']:.1f} MiB"
            if c == "curl":
                rss_cell = f"{r['median']:.1f} MiB peak (whole process)"
            add(f"| {CLIENT_LABELS[c]} | {_fmt(s['median'])} | {_fmt(s['min'])} | "
                f"{_fmt(s['max'])} | {s['spread']:.0%} | {ratio(med[c], med['raw'])} | "
                f"{ratio(med[c], med.get('curl'))} | {ratio(med[c], med['openai'])} | "
                f"{rss_cell} | {dl['server_cpu'][c]:.0%} |")
        add("")
        add("Per-rep MiB/s (run order rotates each rep): " + "; ".join(
            f"{CLIENT_LABELS[c]}: " + ", ".join(_fmt(v) for v in dl["raw"][c])
            for c in dl["clients"]))
        add("")
    imp = results.get("import")
    if imp:
        add(f"### (c) import time, fresh processes ({cfg.import_reps} each), "
            "measured inside the process")
        add("")
        add("| statement | min ms | median ms | vs `import openai` (min) |")
        add("|---|---:|---:|---:|")
        base = imp["ms"]["import openai"]["min"]
        for label, s in imp["ms"].items():
            add(f"| `{label}` | {s['min']:.1f} | {s['median']:.1f} | {ratio(s['min'], base)} |")
        add("")
    poll = results.get("polling")
    if poll:
        lines.extend(render_polling(cfg, poll))
    targets = check_targets(results)
    if targets:
        add("### Targets (same run, this machine)")
        add("")
        add("| target | measured | met |")
        add("|---|---|---|")
        for name, measured, met in targets:
            add(f"| {name} | {measured} | {'yes' if met else '**no**'} |")
        add("")
    return "\n".join(lines)


def render_polling(cfg: Config, rows: list[dict[str, Any]]) -> list[str]:
    """Workload (e): one table per hint setting, a row per (curve, job length)."""
    out = [f"### (e) polling on a simulated clock, per progress curve ({cfg.poll_reps} reps; "
           "job length ±10 % random)", "",
           "Goal: completion noticed within max(2 s, 8 % of the job) — with a service hint, "
           "within the hint + 0.5 s — and, without a hint, at most half the status requests "
           "of a fixed 1 s poller on the same job (*vs 1 s*: worst ratio over the reps). "
           "Lag in seconds, median (max).", ""]
    by_key = {(r["scenario"], r["duration"], r["hint_ms"], r["poller"]): r for r in rows}
    ours = [r for r in rows if r["poller"] == "foundry-video"]
    for hint in dict.fromkeys(r["hint_ms"] for r in ours):
        title = "no service hint" if hint is None else f"`openai-poll-after-ms: {hint}`"
        out += [f"**{title}**", "",
                "| curve | job | foundry-video requests (median, max) | vs 1 s | lag | lag goal "
                "| fixed 1 s requests | fixed 20 s lag | goal met |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for row in (r for r in ours if r["hint_ms"] == hint):
            key = (row["scenario"], row["duration"], hint)
            fixed = by_key[(*key, "fixed 1 s")]
            slow = by_key[(*key, "fixed 20 s")]
            req, lag = row["requests"], row["lag"]
            out.append(
                f"| {row['scenario']} | {row['duration']:.0f} s | {req['median']:g} "
                f"({req['max']:g}) | {row['vs_fixed_1s']['max']:.2f} | {lag['median']:.2f} "
                f"({lag['max']:.2f}) | {row['lag_goal_min']:.1f} | "
                f"{fixed['requests']['median']:g} | {slow['lag']['median']:.1f} "
                f"({slow['lag']['max']:.1f}) | {'yes' if row['goal_met'] else '**no**'} |")
        out.append("")
    official = [r for r in rows if r["poller"] == "openai poll()"]
    if official:
        out += ["openai's `poll()` helper on the same jobs (it waits for the hint, else 1 s; "
                "its behaviour does not depend on the curve):", "",
                "| curve | job | service hint | openai poll() requests | lag | foundry-video "
                "requests | lag |", "|---|---:|---|---:|---:|---:|---:|"]
        for row in official:
            mine = by_key[(row["scenario"], row["duration"], row["hint_ms"], "foundry-video")]
            hint = "none" if row["hint_ms"] is None else f"{row['hint_ms']} ms"
            out.append(f"| {row['scenario']} | {row['duration']:.0f} s | {hint} | "
                       f"{row['requests']['median']:g} | {row['lag']['median']:.2f} | "
                       f"{mine['requests']['median']:g} | {mine['lag']['median']:.2f} |")
        out.append("")
    return out


def check_targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The issue's targets, evaluated on the medians of this run (also for a candidate)."""
    out: list[tuple[str, str, bool]] = []
    dl = results.get("download")
    jobs = results.get("jobs")
    for who in ("sdk", "candidate"):
        tag = "" if who == "sdk" else " [candidate]"
        if dl and who in dl["mib_per_s"]:
            med = {c: s["median"] for c, s in dl["mib_per_s"].items()}
            if "curl" in med:
                out.append((f"download >= 1.0x curl{tag}", ratio(med[who], med["curl"]),
                            med[who] >= med["curl"]))
            out.append((f"download >= 0.9x raw aiohttp{tag}", ratio(med[who], med["raw"]),
                        med[who] >= 0.9 * med["raw"]))
            worst = dl["rss_mib"][who]["max"]
            out.append((f"peak RSS growth < 64 MiB{tag}", f"{worst:.1f} MiB (max of reps)",
                        worst < 64))
        if jobs and who in jobs["jobs_per_s"]:
            med = {c: s["median"] for c, s in jobs["jobs_per_s"].items()}
            out.append((f"jobs/s >= 0.9x raw aiohttp{tag}", ratio(med[who], med["raw"]),
                        med[who] >= 0.9 * med["raw"]))
            out.append((f"jobs/s >= 2x openai{tag}", ratio(med[who], med["openai"]),
                        med[who] >= 2 * med["openai"]))
    imp = results.get("import")
    if imp:
        fv = imp["ms"]["import foundry_video"]["min"]
        oa = imp["ms"]["import openai"]["min"]
        out.append(("import foundry_video <= 1/3 import openai",
                    f"{fv:.1f} ms vs {oa:.1f} ms ({ratio(fv, oa)})", fv * 3 <= oa))
    poll = results.get("polling")
    if poll:
        ours = [r for r in poll if r["poller"] == "foundry-video"]
        linear = [r for r in ours if r["scenario"] == "linear" and r["duration"] == 180
                  and r["hint_ms"] is None]
        if linear:
            worst = max(r["requests"]["max"] for r in linear)
            out.append(("3-min linear job: <= 25 status requests", f"{worst:g} (worst rep)",
                        worst <= 25))
        for with_hint in (False, True):
            group = [r for r in ours if (r["hint_ms"] is not None) == with_hint]
            if not group:
                continue
            met = sum(r["goal_met"] for r in group)
            name = ("with a hint: lag <= hint + 0.5 s, every curve and length" if with_hint else
                    "no hint: lag <= max(2 s, 8 %) and <= 1/2 the requests of fixed 1 s, "
                    "every curve and length")
            out.append((name, f"{met}/{len(group)} combinations (every rep)", met == len(group)))
    return out


# -- main ---------------------------------------------------------------------------------

WORKLOADS = ("import", "polling", "jobs", "download")


def main(argv: list[str] | None = None) -> int:
    """Run the suite, print the markdown report, write RESULTS.md unless --no-write."""
    parser = argparse.ArgumentParser(description="foundry-video benchmarks")
    parser.add_argument("--quick", action="store_true", help="smoke sizes (< 1 minute)")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--only", action="append", choices=WORKLOADS,
                        help="run only this workload (repeatable)")
    parser.add_argument("--reps", type=int, default=None, help="override every rep count")
    parser.add_argument("--json", type=Path, default=None, help="also dump raw results here")
    parser.add_argument("--candidate", default=None, metavar="DIR",
                        help="also measure the foundry_video package found in DIR (a patched "
                             "copy of src/), as 'foundry-video (candidate)'")
    args = parser.parse_args(argv)
    cfg = Config.make(args.quick)
    if args.candidate:
        cfg.candidate = str(Path(args.candidate).resolve())
    if args.reps:
        cfg.job_reps = cfg.download_reps = cfg.import_reps = cfg.poll_reps = args.reps
    selected = args.only or list(WORKLOADS)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started = time.perf_counter()
    results: dict[str, Any] = {}
    # Outputs go to the temp directory's disk (the same disk as the big source file).
    with tempfile.TemporaryDirectory(prefix="foundry-video-bench-") as tmp:
        out_root = Path(tmp)
        facts = machine_facts(out_root)
        if "import" in selected:
            log("(c) import time")
            results["import"] = bench_import(cfg, log)
        if "polling" in selected:
            log("(e) polling on a simulated clock")
            results["polling"] = bench_polling(cfg, log)
        if "jobs" in selected:
            log(f"(a) {cfg.jobs} jobs at concurrency {cfg.concurrency}")
            results["jobs"] = bench_jobs(cfg, out_root, log)
        if "download" in selected:
            log(f"(b, d) {cfg.download_mib} MiB download")
            results["download"] = bench_download(cfg, out_root, log)
    facts["suite wall time"] = f"{time.perf_counter() - started:.0f} s"
    report = render(cfg, facts, results)
    print(report)
    if args.json:
        args.json.write_text(json.dumps({"facts": facts, "results": results}, indent=1))
    if not args.no_write and not args.quick:
        write_results(report)
    elif not args.no_write:
        log("--quick: RESULTS.md is only written by a full run")
    return 0


def write_results(report: str) -> None:
    """Replace the measured part of RESULTS.md, keeping the hand-written analysis after it."""
    path = HERE / "RESULTS.md"
    marker = "<!-- analysis: hand-written, kept across runs -->"
    analysis = ""
    if path.exists():
        text = path.read_text()
        if marker in text:
            analysis = text[text.index(marker):]
    header = ("# Benchmark results\n\nGenerated by `python benchmarks/run.py` (the tables); "
              "the analysis after them is hand-written.\n\n")
    path.write_text(header + report + "\n" + (analysis or marker + "\n"))


if __name__ == "__main__":
    sys.exit(main())
