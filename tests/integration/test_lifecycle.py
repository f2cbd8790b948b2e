"""The end of a call: the bot hangs up through the Twilio REST API once its goodbye has played
(a local HTTP server stands in for the API), and after ``stop`` or a dropped socket every task,
recognizer stream and file descriptor of the call is gone."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time

import orjson
import pytest
import websockets

from tests.fakes.riva_server import speech
from tests.fakes.scripted_stack import ScriptedStack
from tests.fakes.twilio_api import FakeTwilioApi
from tests.integration.test_security import start_frames
from voxline.audio import pcm_to_ulaw
from voxline.caller import Line, SimulatedCaller
from voxline.transports.twilio_rest import TwilioHangup, hangup_from_settings

ACCOUNT = "AC" + "3" * 32
TOKEN = "lifecycle-auth-token"


# --- the REST hang-up on its own ------------------------------------------------------------


async def test_the_hang_up_completes_the_call_with_basic_auth():
    with FakeTwilioApi() as api:
        hang_up = TwilioHangup(ACCOUNT, ACCOUNT, TOKEN, api.url)
        assert await hang_up("CAdone")
        [request] = api.requests
        assert request.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/CAdone.json"
        assert (request.form, request.auth) == ({"Status": "completed"}, (ACCOUNT, TOKEN))


async def test_a_refusing_or_stalled_api_never_holds_up_the_call(caplog):
    with FakeTwilioApi() as api:
        hang_up = TwilioHangup(ACCOUNT, ACCOUNT, TOKEN, api.url, timeout_s=0.5)
        api.status = 404  # the caller hung up first
        assert not await hang_up("CA-gone")
        api.status, api.delay_s = 200, 5.0
        started = time.monotonic()
        assert not await hang_up("CA-slow")
        assert time.monotonic() - started < 2.0
    messages = [r.getMessage() for r in caplog.records]
    assert any("HTTP 404" in m for m in messages)
    assert any("did not answer" in m for m in messages)
    assert not any(TOKEN in m for m in messages)


def test_credentials_come_from_the_settings(tmp_path):
    from tests.conftest import make_settings

    assert hangup_from_settings(make_settings(tmp_path)) is None
    assert hangup_from_settings(make_settings(tmp_path, twilio_auth_token=TOKEN)) is None
    by_token = hangup_from_settings(
        make_settings(tmp_path, twilio_account_sid=ACCOUNT, twilio_auth_token=TOKEN)
    )
    assert (by_token.username, by_token.password) == (ACCOUNT, TOKEN)
    by_key = hangup_from_settings(
        make_settings(
            tmp_path,
            twilio_account_sid=ACCOUNT,
            twilio_auth_token=TOKEN,
            twilio_api_key="SK1",
            twilio_api_secret="s",
        )
    )
    assert (by_key.account_sid, by_key.username, by_key.password) == (ACCOUNT, "SK1", "s")
    assert TOKEN not in repr(by_token)


# --- a whole call ---------------------------------------------------------------------------


@pytest.mark.e2e
def test_the_caller_says_goodbye_the_bot_answers_and_hangs_up(pizza_bot, speak, tmp_path):
    with (
        FakeTwilioApi() as api,
        ScriptedStack(
            pizza_bot, tmp_path, ["goodbye"], twilio_account_sid=ACCOUNT,
            twilio_api_key="SK" + "4" * 32, twilio_api_secret="lifecycle-secret",
            twilio_api_url=api.url,
        ) as stack,
    ):  # fmt: skip
        caller = SimulatedCaller(stack.server.ws_url, [Line("goodbye", speak("goodbye"))])
        result = asyncio.run(caller.run())
        record = stack.server.ended(result.call_sid)
        turns = stack.server.records(stack.services.records.turns(result.call_sid))
        [hang_up] = api.wait(1)
    heard = [t["text"] for t in turns if t["role"] == "assistant"]
    assert heard[-1] == "Thanks for calling. Goodbye!"  # its mark came back: it was played
    assert result.closed_by_server and result.turns[-1].audio
    assert record["outcome"] == "hung up"
    assert (hang_up.account, hang_up.call, hang_up.form) == (
        ACCOUNT,
        result.call_sid,
        {"Status": "completed"},
    )
    assert hang_up.auth == ("SK" + "4" * 32, "lifecycle-secret")


@pytest.mark.e2e
def test_without_credentials_the_stream_just_closes(pizza_bot, speak, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    with ScriptedStack(pizza_bot, tmp_path, ["goodbye"]) as stack:
        caller = SimulatedCaller(stack.server.ws_url, [Line("goodbye", speak("goodbye"))])
        result = asyncio.run(caller.run())
        stack.server.ended(result.call_sid)
    assert result.closed_by_server
    assert any("left to Twilio" in r.getMessage() for r in caplog.records)


# --- cleanup after stop or a dropped socket ---------------------------------------------------


async def one_call(url: str, n: int, how: str) -> None:
    """A caller who talks for a second, then hangs up (``stop``) or vanishes mid-reply."""
    sid = f"MZ-{how}-{n}"
    async with websockets.connect(url, max_queue=None) as ws:  # reads all the bot sends
        for frame in start_frames(f"CA-{how}-{n}", sid):
            await ws.send(frame)
        ulaw = pcm_to_ulaw(speech(1.0, 8000) + bytes(16000))
        for i in range(0, len(ulaw), 160):
            payload = base64.b64encode(ulaw[i : i + 160]).decode()
            media = {"event": "media", "streamSid": sid, "media": {"payload": payload}}
            await ws.send(orjson.dumps(media).decode())
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.3)  # the reply is being spoken
        if how == "stop":
            await ws.send(orjson.dumps({"event": "stop", "streamSid": sid}).decode())
        else:
            ws.transport.abort()  # no close frame, no FIN handshake: the line just drops


def settled(probe, limit: int, within: float = 15.0) -> int:
    for _ in range(int(within / 0.2)):
        if (value := probe()) <= limit:
            return value
        time.sleep(0.2)
    return probe()


@pytest.mark.e2e
def test_stop_or_a_dropped_socket_leaves_no_task_stream_or_fd(pizza_bot, tmp_path):
    async def tasks() -> int:
        return len(asyncio.all_tasks())

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    with ScriptedStack(pizza_bot, tmp_path, ["a large pizza"]) as stack:
        url = stack.server.ws_url
        asyncio.run(one_call(url, 0, "stop"))  # warm up: the gRPC channel, the store
        assert settled(lambda: len(stack.state.calls), 0) == 0
        tasks_before, fds_before = stack.on_server(tasks()), fds()

        async def calls() -> None:
            await asyncio.gather(*(one_call(url, n, h) for n in range(3) for h in ("stop", "drop")))

        started = time.monotonic()
        asyncio.run(calls())
        print(f"calls {time.monotonic() - started:.1f} s")
        assert settled(lambda: len(stack.state.calls) + stack.state.streams, 0) == 0
        tasks_after = settled(lambda: stack.on_server(tasks()), tasks_before)
        fds_after = settled(fds, fds_before)
        print(f"settled {time.monotonic() - started:.1f} s: tasks {tasks_before} -> "
              f"{tasks_after}, fds {fds_before} -> {fds_after}")  # fmt: skip
        streams = stack.riva.asr_streams
        ended = [stack.server.ended(f"CA-{h}-{n}") for n in range(3) for h in ("stop", "drop")]
    assert tasks_after <= tasks_before, (tasks_before, tasks_after)
    assert fds_after <= fds_before, (fds_before, fds_after)
    assert len(streams) >= 7 and all(s.status != "open" for s in streams)
    assert all(c["ended_at"] for c in ended)
