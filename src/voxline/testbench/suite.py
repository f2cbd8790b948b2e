"""``voxline test BOT_DIR``: call a bot with every scenario of its suite and judge the calls.

Without ``--url`` it starts ``voxline serve`` for the bot itself (its own settings and
backends, a fresh data folder so the records are this run's), waits until the models are
loaded, and stops it at the end. Every caller line is rendered before the first call, so the
callers' synthesis never competes with the server for the CPU; the calls are judged after the
last one has ended, for the same reason.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from voxline.testbench.caller_script import CallerScript, CallLog
from voxline.testbench.ear import Ear
from voxline.testbench.judge import Judge, ScenarioResult
from voxline.testbench.report import by_voice, document, scenario_line, summary, totals
from voxline.testbench.scenario import Scenario, ScenarioError, load_suite
from voxline.testbench.voices import Rendered, VoiceRenderer

log = logging.getLogger("voxline.testbench")
READY_TIMEOUT_S = 180.0
RECORDS_TIMEOUT_S = 15.0


def default_cache() -> Path:
    return Path(os.environ.get("VOXLINE_VOICE_CACHE", "var/cache/voices"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def bot_server(bot_dir: Path, log_path: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """``voxline serve`` for the bot on a free local port, in a fresh data folder; yields its
    ``ws://`` URL once ``/health`` answers, and stops it on the way out."""
    port = _free_port()
    data = tempfile.mkdtemp(prefix="voxline-test-")
    full_env = {**os.environ, "VOXLINE_DATA_DIR": data, "VOXLINE_DRAIN_S": "3", **(env or {})}
    cmd = [sys.executable, "-m", "voxline", "serve", "--bot", str(bot_dir), "--port", str(port)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        proc = subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"voxline serve exited with {proc.returncode}; see {log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"voxline serve not ready in {READY_TIMEOUT_S:.0f} s")
            time.sleep(0.3)
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def http_base(ws_url: str) -> str:
    base = ws_url.replace("wss://", "https://").replace("ws://", "http://")
    return base.rsplit("/ws", 1)[0]


async def fetch_records(base: str, call_sid: str, api_key: str = "") -> dict[str, Any] | None:
    """The server's record of a call once it has ended (turns and orders are written then)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=5) as client:
        deadline = time.monotonic() + RECORDS_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                resp = await client.get(f"/api/calls/{call_sid}")
                if resp.status_code == 200 and resp.json().get("ended_at"):
                    return resp.json()
            await asyncio.sleep(0.3)
    return None


class Bench:
    def __init__(self, renderer: VoiceRenderer, ear: Ear, api_key: str = "") -> None:
        self.renderer = renderer
        self.ear = ear
        self.api_key = api_key
        self._lines: dict[tuple[str, str], Rendered] = {}

    def prepare(self, scenarios: list[Scenario]) -> None:
        """Render every line every scenario may say (cached on disk across runs)."""
        for sc in scenarios:
            for voice, text in sc.lines():
                if (voice, text) not in self._lines:
                    self._lines[voice, text] = self.renderer.render(voice, text)

    def line(self, voice: str, text: str) -> Rendered:
        if (voice, text) not in self._lines:
            self._lines[voice, text] = self.renderer.render(voice, text)
        return self._lines[voice, text]

    async def run(
        self, scenarios: list[Scenario], url: str, concurrency: int = 1
    ) -> list[ScenarioResult]:
        gate = asyncio.Semaphore(max(1, concurrency))
        base = http_base(url)

        async def one(sc: Scenario) -> tuple[CallLog, dict[str, Any] | None]:
            async with gate:
                calllog = await CallerScript(sc, self.line, self.ear.hear).call(url)
                records = await fetch_records(base, calllog.call_sid, self.api_key)
                return calllog, records

        calls = await asyncio.gather(*(one(sc) for sc in scenarios))
        judge = Judge(self.ear.hear)
        return [await judge.judge(calllog, records) for calllog, records in calls]


def add_test_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("test", help="call a bot with its conversation scenarios and judge them")
    p.add_argument("bot_dir", type=Path, help="bot folder with tests/*.yaml")
    p.add_argument("--only", action="append", default=[], help="scenario file names containing")
    p.add_argument("--json", type=Path, help="write every scenario and the totals here")
    p.add_argument("--concurrency", type=int, default=1, help="calls at once (default 1)")
    p.add_argument("--url", help="ws://HOST:PORT/ws of a running server (default: start one)")
    p.add_argument("--voice-cache", type=Path, default=None, help="where renders are cached")
    p.set_defaults(func=cmd_test)
    return p


def cmd_test(args: argparse.Namespace) -> int:
    try:
        scenarios = load_suite(args.bot_dir, args.only or None)
    except ScenarioError as exc:
        print(f"voxline test: {exc}", file=sys.stderr)
        return 2
    bench = Bench(
        VoiceRenderer(args.voice_cache or default_cache()),
        Ear(),
        os.environ.get("VOXLINE_API_KEY", ""),
    )
    print(f"rendering the lines of {len(scenarios)} scenario(s)...", flush=True)
    bench.prepare(scenarios)
    if args.url:
        results = asyncio.run(bench.run(scenarios, args.url, args.concurrency))
    else:
        server_log = Path("var/test-artifacts") / f"voxline-test-{args.bot_dir.name}.log"
        print(f"starting voxline serve for {args.bot_dir} (log: {server_log})...", flush=True)
        with bot_server(args.bot_dir, server_log) as url:
            results = asyncio.run(bench.run(scenarios, url, args.concurrency))
    bench.ear.close()
    for r in results:
        print(scenario_line(r))
    print(summary(totals(results), by_voice(results)))
    if args.json:
        doc = document(str(args.bot_dir), results, args.concurrency, args.url or "started")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
    return 0 if all(r.passed for r in results) else 1
