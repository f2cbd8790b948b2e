"""Over a real socket: >= 10,000 generated frames (invalid JSON, binary, huge, bad base64, unknown
events, missing fields, other streams' ids, media before start, frames after stop, a second
stream claiming the live call) hit /ws while a real caller places an order on the same server.

The fuzzed streams go on or end cleanly (never an internal error), the log stays short, the
live call's turns, order and hang-up are untouched, /health stays ok, and once the fuzzing
stops no task or file descriptor is left behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.fakes.scripted_stack import ScriptedStack
from tests.fakes.twilio_api import FakeTwilioApi
from tests.fuzz.strategies import frames
from voxline.caller import Line, SimulatedCaller

pytestmark = pytest.mark.e2e
ACCOUNT = "AC" + "f" * 32
API_KEY, API_SECRET = "SK" + "1" * 32, "fuzz-api-secret"
WS_MAX = 128 * 1024
ORDER = "a large pepperoni pizza on thin crust"
STREAMS = ["MZ-fuzz-1", "MZ-fuzz-2"]
CALLS = ["CA-fuzz-1", "CA-fuzz-2"]
EXAMPLES = 400  # x 25..35 frames each: ~12,000 frames


async def live_tasks() -> int:
    return len(asyncio.all_tasks())


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def settle(probe, target: int, within: float = 15.0) -> int:
    """The probe's value once it is back to ``target`` (or the last value seen)."""
    value = probe()
    for _ in range(int(within / 0.2)):
        if value <= target:
            break
        time.sleep(0.2)
        value = probe()
    return value


def test_fuzzed_streams_leave_the_server_and_a_live_call_untouched(
    pizza_bot, speak, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    twilio_creds = {
        "twilio_account_sid": ACCOUNT,
        "twilio_api_key": API_KEY,
        "twilio_api_secret": API_SECRET,
    }
    with (
        FakeTwilioApi() as api,
        ScriptedStack(
            pizza_bot, tmp_path, [ORDER, "yes", "no thanks"], twilio_api_url=api.url,
            ws_max_bytes=WS_MAX, **twilio_creds,
        ) as stack,
    ):  # fmt: skip
        server = stack.server
        tasks_before = stack.on_server(live_tasks())
        fds_before = open_fds()

        # The healthy call, in real time on its own thread.
        lines = [
            Line(ORDER, speak(f"I'd like {ORDER}")),
            Line("yes", speak("yes")),  # to the read-back
            Line("no thanks", speak("no thanks")),
        ]
        caller = SimulatedCaller(server.ws_url, lines, idle_s=2.0)
        healthy = caller.result
        outcome: list = []

        def call() -> None:
            try:
                outcome.append(asyncio.run(caller.run()))
            except Exception as exc:  # reported by the assertion below
                outcome.append(exc)

        thread = threading.Thread(target=call)
        thread.start()
        for _ in range(100):
            if healthy.call_sid in stack.state.calls:
                break
            time.sleep(0.05)
        assert healthy.call_sid in stack.state.calls

        # The fuzz: a few connections at a time, reopened whenever the server closes one.
        healthy_ids = (healthy.call_sid, healthy.stream_sid)
        stream_ids, call_ids = [*STREAMS, healthy.stream_sid], [*CALLS, healthy.call_sid]
        sent, opened, closes = 0, 0, []
        conn = None

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(batch=st.lists(frames(stream_ids, call_ids, huge=WS_MAX), min_size=25, max_size=35))
        def push(batch):
            nonlocal conn, sent, opened
            for frame in batch:
                text = frame if isinstance(frame, str) else ""
                if not thread.is_alive() and any(i in text for i in healthy_ids):
                    continue  # Twilio never reuses a finished call's ids
                if conn is None:
                    conn = connect(server.ws_url, max_size=None, max_queue=None, open_timeout=10)
                    opened += 1
                try:
                    conn.send(frame)
                    sent += 1
                except ConnectionClosed as exc:
                    closes.append(exc.rcvd.code if exc.rcvd else None)
                    conn.close()
                    conn = None

        started = time.monotonic()
        push()
        fuzz_s = time.monotonic() - started
        if conn is not None:
            conn.close()
        assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
        thread.join(120)
        assert outcome and not isinstance(outcome[0], Exception), outcome
        print(f"fuzz: {sent} frames on {opened} connections in {fuzz_s:.1f} s")
        assert sent >= 10_000

        # The healthy call: its order, what it heard, and the hang-up through the REST API.
        record = server.ended(healthy.call_sid, within=20)
        assert record["outcome"] == "order placed"
        orders = server.records(server.services.records.orders(healthy.call_sid))
        assert [o["details"] for o in orders] == [
            {"size": "large", "toppings": ["pepperoni"], "crust": "thin", "price": 17.49}
        ]
        heard = [
            t["text"]
            for t in server.records(server.services.records.turns(healthy.call_sid))
            if t["role"] == "assistant"
        ]
        assert "Thanks for calling Voxline Pizza" in heard[0]
        assert any("placed your order" in h for h in heard)
        assert "Goodbye" in heard[-1]
        assert outcome[0].closed_by_server and all(t.audio for t in outcome[0].turns)
        hangups = api.wait(1)
        assert [(r.account, r.call, r.form, r.auth) for r in hangups] == [
            (ACCOUNT, healthy.call_sid, {"Status": "completed"}, (API_KEY, API_SECRET))
        ]

        # The fuzzed streams: closed by the server cleanly (normal or too big), never a crash.
        assert set(closes) <= {1000, 1009, None}, closes
        errors = [
            r
            for r in caplog.records
            if r.levelno >= logging.ERROR and r.name.startswith(("voxline", "uvicorn"))
        ]
        assert not errors, [r.getMessage() for r in errors[:5]]
        ignored = [r for r in caplog.records if "ignored frame" in r.getMessage()]
        assert 0 < len(ignored) <= 5 * opened + sent // 100

        # Nothing left running or open.
        for _ in range(100):
            if not stack.state.streams and not stack.state.calls:
                break
            time.sleep(0.1)
        assert (stack.state.streams, stack.state.calls) == (0, {})
        tasks_after = settle(lambda: stack.on_server(live_tasks()), tasks_before)
        fds_after = settle(open_fds, fds_before)
        print(f"log lines for ignored frames: {len(ignored)}; tasks {tasks_before} -> "
              f"{tasks_after}; fds {fds_before} -> {fds_after}")  # fmt: skip
        assert tasks_after <= tasks_before
        assert fds_after <= fds_before + 2
