"""The benchmark's processes: the scripted backends, the server under test, and what each costs.

The server runs as ``voxline serve`` in its own process, configured only through its environment
as in production (Riva ASR/TTS and the LLM agent pointed at the scripted servers), so psutil
measures its CPU time, memory, file descriptors and sockets alone.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psutil

from bench.harness.scenario import ROOT, Delays

PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Backends:
    """``python -m bench.harness.backends``: the Riva-protocol and OpenAI-compatible servers."""

    def __init__(self, delays: Delays) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "bench.harness.backends", json.dumps(asdict(delays))],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            self.stop()
            raise RuntimeError("the scripted backends did not start")
        addresses = json.loads(line)
        self.riva: str = addresses["riva"]
        self.llm: str = addresses["llm"]
        self.usage = Usage(self.proc.pid)

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()  # the backends serve until their stdin closes
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Sample:
    """One look at a process: cumulative CPU seconds, memory and what it holds open."""

    t: float
    cpu_s: float
    rss: int
    fds: int
    sockets: int
    threads: int


class Usage:
    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)

    def sample(self) -> Sample:
        p = self.process
        with p.oneshot():
            times = p.cpu_times()
            return Sample(
                t=time.monotonic(),
                cpu_s=times.user + times.system,
                rss=p.memory_info().rss,
                fds=p.num_fds(),
                sockets=len(p.net_connections(kind="inet")),
                threads=p.num_threads(),
            )


class Server:
    """``voxline serve`` with Riva ASR/TTS and the LLM agent on the scripted backends."""

    def __init__(
        self,
        backends: Backends,
        bot: Path,
        data_dir: Path,
        log: Path,
        recordings: bool = False,
        drain_s: float | None = None,  # VOXLINE_DRAIN_S (the server's default if None)
    ) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "VOXLINE_ASR": "riva",
            "VOXLINE_TTS": "riva",
            "VOXLINE_RIVA_SERVER": backends.riva,
            "VOXLINE_LLM_BASE_URL": backends.llm,
            "VOXLINE_AGENT": "llm",
            "VOXLINE_MAX_CALLS": "10000",
            "VOXLINE_DATA_DIR": str(data_dir),
            "VOXLINE_RECORDINGS": "1" if recordings else "0",
            # A scripted backend starved of CPU by the load must not switch calls to the
            # embedded voice: the benchmark measures the call path, not piper.
            "VOXLINE_TTS_BACKUP": "none",
        }
        if drain_s is not None:
            env["VOXLINE_DRAIN_S"] = str(drain_s)
        for key in ("OPENAI_BASE_URL", "VOXLINE_DATABASE_URL", "VOXLINE_RIVA_SSL"):
            env.pop(key, None)
        self.log = log.open("ab")
        command = [PYTHON, "-m", "voxline", "serve", "--port", str(self.port), "--bot", str(bot)]
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        self.usage = Usage(self.proc.pid)
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self._wait_ready()

    def _wait_ready(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"voxline serve exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("voxline serve did not become ready")

    def health(self) -> dict:
        return httpx.get(f"{self.url}/health", timeout=10).json()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
