"""One benchmark step: a fresh server, N real-time callers for a while, and what it all cost.

``Bench`` owns what the steps share (the caller's speech, the bench bot, the scripted backends);
``Bench.step(n, seconds)`` starts ``voxline serve`` (``servers`` of them, one per core, as a
load balancer would spread calls), dials ``n`` calls from one or more caller processes, samples
the servers with psutil over the measured window (after every call has been dialled and
greeted) and returns the figures as a plain dict.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from bench.harness.callers import Results, Script
from bench.harness.processes import PYTHON, Backends, Sample, Server
from bench.harness.scenario import ROOT, Delays, bench_bot, synthesize_lines

GREETING_S = 4.0  # most of the greeting (~4.5 s) is spoken before the measured window


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ms(values: list[float], q: float) -> float | None:
    p = percentile(values, q)
    return None if p is None else round(1000 * p, 1)


class Bench:
    def __init__(
        self, delays: Delays | None = None, work: Path | None = None, recordings: bool = False
    ) -> None:
        self.delays = delays or Delays()
        self.recordings = recordings  # the stereo WAV of every call (off: VOXLINE_RECORDINGS=0)
        self._tmp = tempfile.TemporaryDirectory(prefix="voxline-bench-")
        self.work = work or Path(self._tmp.name)
        self.work.mkdir(parents=True, exist_ok=True)
        turn, barge = synthesize_lines(self.delays)
        self.clips = {"turn_clip": self.work / "turn.ulaw", "barge_clip": self.work / "barge.ulaw"}
        self.clips["turn_clip"].write_bytes(turn)
        self.clips["barge_clip"].write_bytes(barge)
        self.speech_s = {"turn": len(turn) / 8000, "barge": len(barge) / 8000}
        self.bot = bench_bot(self.work / "bot", self.delays)
        self.backends = Backends(self.delays)
        self.steps = 0

    def close(self) -> None:
        self.backends.stop()
        self._tmp.cleanup()

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self, fleet: list[Server], servers: int, drain_s: float | None = None) -> None:
        """``servers`` servers into ``fleet`` (filled as they start, so a failure stops the
        ones already up)."""
        self.steps += 1
        log = self.work / "server.log"
        for i in range(servers):
            data = self.work / f"data{self.steps}-{i}"
            fleet.append(Server(self.backends, self.bot, data, log, self.recordings, drain_s))

    def _dial(
        self,
        fleet: list[Server],
        n: int,
        seconds: float,
        caller_procs: int,
        script: Script | None = None,
        call_s: float = 0.0,
    ) -> tuple[list[subprocess.Popen], tuple[float, float]]:
        """Caller processes for ``n`` calls dealt out evenly over ``fleet``, ramped in; and the
        measured window of ``seconds`` after the ramp and the greetings."""
        ramp_s = min(10.0, max(1.0, n / 20))
        start_at = time.monotonic() + 1.5  # time for the caller processes to start
        window = (start_at + ramp_s + GREETING_S, start_at + ramp_s + GREETING_S + seconds)
        spec = asdict(script or Script(b"", b""))
        spec.update({k: str(v) for k, v in self.clips.items()})
        procs = []
        for i in range(caller_procs):
            config = {
                "url": fleet[i % len(fleet)].ws_url,
                "calls": n // caller_procs + (i < n % caller_procs),
                "script": spec,
                "start_at": start_at + i * ramp_s / n,
                "ramp_s": ramp_s,
                "window": window,
                "end_at": window[1] + spec["reply_within_s"],
                "call_s": call_s,
            }
            proc = subprocess.Popen(
                [PYTHON, "-m", "bench.harness.callers"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(config))
            proc.stdin.close()
            procs.append(proc)
        return procs, window

    def stop_under_load(self, n: int, servers: int = 1, drain_s: float = 3.0) -> dict:
        """SIGTERM every server with ``n`` calls live mid-conversation, the scripted backends
        killed at the same moment (so this is the last step): how long each server took to
        exit and with what code. The bound is ``drain_s`` + 5 s."""
        fleet: list[Server] = []
        procs: list[subprocess.Popen] = []
        try:
            self._start(fleet, servers, drain_s)
            procs, window = self._dial(fleet, n, 60.0, max(servers, -(-n // 150)))
            _sleep_until(window[0] + 5.0)  # the calls up and talking
            live = _health(fleet)["active_calls"]
            signalled = time.monotonic()
            self.backends.proc.kill()
            for server in fleet:
                server.proc.terminate()
            exits = []
            for server in fleet:
                try:
                    code: int | None = server.proc.wait(drain_s + 30.0)
                except subprocess.TimeoutExpired:
                    code = None  # still running: killed below
                exits.append({"exit_s": round(time.monotonic() - signalled, 2), "code": code})
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
            for server in fleet:
                server.stop()
        return {"calls": n, "servers": servers, "live_at_signal": live, "drain_s": drain_s,
                "bound_s": drain_s + 5.0, "exits": exits}  # fmt: skip

    def step(
        self,
        n: int,
        seconds: float,
        caller_procs: int = 1,
        call_s: float = 0.0,
        sample_every: float = 0.0,
        on_sample: Callable[[dict], None] | None = None,
        script: Script | None = None,
        profile: Path | None = None,
        servers: int = 1,
    ) -> dict:
        """Run ``n`` calls; the figures cover the ``seconds`` after the ramp and greetings.
        With several ``servers`` the calls are dealt out evenly and their costs added up."""
        fleet: list[Server] = []
        try:
            self._start(fleet, servers)
            time.sleep(1.0)
            idle = _total(fleet)
            caller_procs = max(caller_procs, servers)
            procs, window = self._dial(fleet, n, seconds, caller_procs, script, call_s)
            _sleep_until(window[0])
            spy = _profile(fleet[0].proc.pid, seconds, profile) if profile else None
            first, backends0, samples = _total(fleet), self.backends.usage.sample(), []
            while sample_every and time.monotonic() + sample_every <= window[1]:
                _sleep_until(time.monotonic() + sample_every)
                row = _row(_total(fleet), _health(fleet), first.t)
                samples.append(row)
                if on_sample:
                    on_sample(row)
            _sleep_until(window[1])
            last, backends1 = _total(fleet), self.backends.usage.sample()
            health = _health(fleet)
            if spy is not None:
                spy.wait(timeout=60)
            results = Results()
            for proc in procs:
                assert proc.stdout is not None
                out = proc.stdout.read()  # the callers print their results when they finish
                proc.wait(timeout=60)
                results.merge(Results(**json.loads(out)))
        finally:
            for server in fleet:
                server.stop()
        figures = self._figures(
            n, seconds, idle, first, last, backends0, backends1, results, health, samples
        )
        return {"servers": servers, **figures}

    def _figures(self, n, seconds, idle, first, last, b0, b1, r: Results, health, samples) -> dict:
        wall = last.t - first.t
        cpu = (last.cpu_s - first.cpu_s) / wall
        critical = self.delays.critical_path_s()
        added = [lat - critical for lat in r.latencies]
        return {
            "calls": n,
            "seconds": round(wall, 1),
            "turns": r.turns,
            "replies": len(r.latencies),
            "added_ms": {"p50": ms(added, 50), "p95": ms(added, 95), "max": ms(added, 100)},
            "latency_ms": {"p50": ms(r.latencies, 50), "p95": ms(r.latencies, 95)},
            "barge_ins": len(r.barge_ins),
            "barge_in_ms": {
                "p50": ms(r.barge_ins, 50),
                "p95": ms(r.barge_ins, 95),
                "max": ms(r.barge_ins, 100),
            },
            "missed_turns": r.missed_turns,
            "missed_barge_ins": r.missed_barge_ins,
            "underruns": r.underruns,
            "underruns_between_segments": r.underruns_between_segments,
            "dry_ms": round(1000 * r.dry_s, 1),
            "server_cpu_pct": round(100 * cpu, 1),
            "server_cpu_pct_per_call": round(100 * cpu / n, 2),
            "server_rss_mb": round(last.rss / 2**20, 1),
            "server_rss_idle_mb": round(idle.rss / 2**20, 1),
            "server_mb_per_call": round((last.rss - idle.rss) / 2**20 / n, 2),
            "server_fds": last.fds,
            "server_tasks": health.get("tasks"),
            "backends_cpu_pct": round(100 * (b1.cpu_s - b0.cpu_s) / (b1.t - b0.t), 1),
            "callers_cpu_pct": round(100 * r.cpu_s / max(r.wall_s, 1e-9), 1),
            "callers_lag_ms": {
                "p99": round(1000 * r.lag_p99_s, 1),
                "max": round(1000 * r.lag_max_s, 1),
            },
            "calls_dialled": r.calls,
            "connected": r.connected,
            "errors": r.errors[:10],
            "samples": samples,
        }


def _total(fleet: list[Server]) -> Sample:
    """The servers' usage added up, as if one process."""
    samples = [server.usage.sample() for server in fleet]
    return Sample(
        t=max(s.t for s in samples),
        cpu_s=sum(s.cpu_s for s in samples),
        rss=sum(s.rss for s in samples),
        fds=sum(s.fds for s in samples),
        sockets=sum(s.sockets for s in samples),
        threads=sum(s.threads for s in samples),
    )


def _health(fleet: list[Server]) -> dict:
    """The servers' task and call counts added up."""
    healths = [server.health() for server in fleet]
    return {k: sum(h.get(k) or 0 for h in healths) for k in ("tasks", "active_calls")}


def _row(sample: Sample, health: dict, t0: float) -> dict:
    return {
        "t_s": round(sample.t - t0, 1),
        "rss_mb": round(sample.rss / 2**20, 1),
        "fds": sample.fds,
        "sockets": sample.sockets,
        "threads": sample.threads,
        "tasks": health.get("tasks"),
        "active_calls": health.get("active_calls"),
    }


def _profile(pid: int, seconds: float, out: Path) -> subprocess.Popen:
    """py-spy samples the server over the measured window (collapsed stacks, with idle time,
    so the share of each stack in the server's CPU can be read off)."""
    spy = Path(PYTHON).with_name("py-spy")
    command = [str(spy), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200",
               "-f", "raw", "-o", str(out), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _sleep_until(t: float) -> None:
    time.sleep(max(0.0, t - time.monotonic()))
