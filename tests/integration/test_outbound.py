"""Calling out through the Twilio REST test server: ``voxline dial`` and ``POST /api/calls``
create the call with the stream TwiML, the parameters, answering-machine detection and the
callbacks; the signed status and AMD callbacks are recorded (unsigned ones refused); on the
call's media stream a person hears the greeting made from the parameters, a machine gets the
voicemail line and is hung up on."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.fakes.scripted_stack import ScriptedStack
from tests.fakes.twilio_api import FakeTwilioApi
from tests.integration.test_transfer import quiet
from voxline.cli import main
from voxline.testbench.far_end import FarEnd

ACCOUNT = "AC" + "7" * 32
TOKEN = "outbound-auth-token"
PUBLIC = "https://voxline.example"
FROM = "+15550009999"
TO = "+15551234567"
GREETING = "Hi {name}, this is Voxline Pizza about your order."
VOICEMAIL = "Hi {name}, please call Voxline Pizza back."


def outbound_bot(bot):
    spec = {**bot.spec, "voicemail": {"say": VOICEMAIL}}
    return replace(bot, greeting=GREETING, spec=spec)


def twilio_env(api: FakeTwilioApi, tmp) -> dict[str, str]:
    return {
        "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
        "VOXLINE_TWILIO_API_URL": api.url, "VOXLINE_PUBLIC_URL": PUBLIC,
        "VOXLINE_TWILIO_FROM": FROM, "VOXLINE_DATA_DIR": str(tmp),
    }  # fmt: skip


def check_created(request) -> dict[str, str]:
    """The create request's fields; returns the stream's parameters from its TwiML."""
    form = request.form
    assert (request.account, form["To"], form["From"]) == (ACCOUNT, TO, FROM)
    assert '<Stream url="wss://voxline.example/ws">' in form["Twiml"]
    assert (form["StatusCallback"], form["StatusCallbackMethod"]) == (
        f"{PUBLIC}/twilio/status",
        "POST",
    )
    assert request.values["StatusCallbackEvent"] == [
        "initiated",
        "ringing",
        "answered",
        "completed",
    ]
    assert form["MachineDetection"] in ("DetectMessageEnd", "Enable")
    assert (form["AsyncAmd"], form["AsyncAmdStatusCallback"]) == ("true", f"{PUBLIC}/twilio/amd")
    return dict(re.findall(r'<Parameter name="(\w+)" value="([^"]*)"', form["Twiml"]))


def test_voxline_dial_creates_the_call(tmp_path, monkeypatch):
    with FakeTwilioApi() as api:
        for name, value in twilio_env(api, tmp_path).items():
            monkeypatch.setenv(name, value)
        with pytest.raises(SystemExit) as done:
            main(["dial", TO, "--param", "name=Ana", "--param", "order=42"])
        assert done.value.code == 0
        [request] = api.requests
    params = check_created(request)
    assert request.form["MachineDetection"] == "Enable"  # the pizza bot leaves no voicemail
    assert params == {"name": "Ana", "order": "42", "direction": "outbound", "amd": "1", "To": TO}


def test_voxline_dial_without_credentials_says_why(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VOXLINE_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as done:
        main(["dial", TO])
    assert done.value.code == 1
    assert "no Twilio credentials" in capsys.readouterr().err


def sign(url: str, form: dict[str, str]) -> dict[str, str]:
    return {"x-twilio-signature": RequestValidator(TOKEN).compute_signature(url, form)}


@pytest.mark.e2e
def test_api_calls_and_signed_callbacks(pizza_bot, tmp_path):
    with (
        FakeTwilioApi() as api,
        ScriptedStack(
            outbound_bot(pizza_bot), tmp_path, ["hello"], recordings=False, api_key="k3y",
            twilio_account_sid=ACCOUNT, twilio_auth_token=TOKEN, twilio_api_url=api.url,
            public_url=PUBLIC, twilio_from=FROM,
        ) as s,
    ):  # fmt: skip
        url = s.server.url
        body = {"to": TO, "parameters": {"name": "Bo"}}
        assert httpx.post(f"{url}/api/calls", json=body).status_code == 401  # the API key
        auth = {"authorization": "Bearer k3y"}
        bad = httpx.post(f"{url}/api/calls", json={"to": "555"}, headers=auth)
        assert bad.status_code == 400 and "E.164" in bad.json()["error"]
        made = httpx.post(f"{url}/api/calls", json=body, headers=auth)
        assert made.status_code == 201, made.text
        sid = made.json()["call_sid"]
        [request] = api.requests
        assert request.call == sid
        assert check_created(request)["name"] == "Bo"
        assert request.form["MachineDetection"] == "DetectMessageEnd"  # voicemail after the beep

        def callback(path: str, form: dict[str, str], signed: bool = True) -> int:
            headers = sign(f"{url}{path}", form) if signed else {}
            return httpx.post(f"{url}{path}", data=form, headers=headers).status_code

        ringing = {"CallSid": sid, "CallStatus": "ringing"}
        assert callback("/twilio/status", ringing, signed=False) == 403
        assert callback("/twilio/amd", {"CallSid": sid, "AnsweredBy": "human"}, False) == 403
        assert callback("/twilio/status", ringing) == 204
        assert callback("/twilio/amd", {"CallSid": sid, "AnsweredBy": "machine_end_beep",
                                        "MachineDetectionDuration": "4100"}) == 204  # fmt: skip
        record = s.server.records(s.services.records.call(sid))
        assert record["parameters"]["status"] == "ringing" and record["parameters"]["ringing_at"]
        assert record["parameters"]["answered_by"] == "machine_end_beep"
        assert record["parameters"]["machine_detection_ms"] == 4100
        assert (record["transport"], record["parameters"]["to"]) == ("twilio", TO)

        # A call nobody answers ends with its status; the duration is recorded.
        other = httpx.post(f"{url}/api/calls", json={"to": TO}, headers=auth).json()["call_sid"]
        gone = {"CallSid": other, "CallStatus": "no-answer", "CallDuration": "0"}
        assert callback("/twilio/status", gone) == 204
        busy = {"CallSid": "CA" + "b" * 32, "CallStatus": "busy"}  # a call dialled elsewhere
        assert callback("/twilio/status", busy) == 204
        for call_sid, outcome in ((other, "no answer"), ("CA" + "b" * 32, "busy")):
            record = s.server.records(s.services.records.call(call_sid))
            assert record["outcome"] == outcome and record["ended_at"]
        assert s.server.records(s.services.records.call(other))["parameters"]["duration"] == 0


async def answer(url: str, sid: str, params: dict[str, str], amd: callable) -> FarEnd:
    """Twilio opens the stream for the answered call; the AMD result comes a moment later."""
    async with FarEnd(url, call_sid=sid, parameters=params) as far:
        for _ in range(50):  # 1 s: the bot holds its greeting meanwhile
            await far.next_tick()
        assert not far.timeline.heard_between(0, far.tick)
        await asyncio.to_thread(amd)
        await quiet(far)
        deadline = time.monotonic() + 10
        machine = amd.machine  # a machine is hung up on; a person talks on
        while machine and far.timeline.closed_by_server is None and time.monotonic() < deadline:
            await far.next_tick()
    return far


@pytest.mark.e2e
@pytest.mark.parametrize("answered_by", ["human", "machine_end_beep"])
def test_a_person_hears_the_bot_a_machine_gets_the_voicemail(pizza_bot, tmp_path, answered_by):
    with (
        FakeTwilioApi() as api,
        ScriptedStack(
            outbound_bot(pizza_bot), tmp_path, ["hello"], recordings=False,
            twilio_account_sid=ACCOUNT, twilio_api_key="SK" + "8" * 32, twilio_api_secret="s",
            twilio_api_url=api.url, public_url=PUBLIC, twilio_from=FROM,
        ) as s,
    ):  # fmt: skip
        url = s.server.url
        made = httpx.post(f"{url}/api/calls", json={"to": TO, "parameters": {"name": "Ana"}})
        sid = made.json()["call_sid"]
        params = check_created(api.requests[0])

        def amd() -> None:
            form = {"CallSid": sid, "AnsweredBy": answered_by}
            assert httpx.post(f"{url}/twilio/amd", data=form).status_code == 204

        amd.machine = answered_by != "human"

        far = asyncio.run(answer(s.server.ws_url, sid, params, amd))
        record = s.server.ended(sid)
        turns = s.server.records(s.services.records.turns(sid))
        requests = list(api.requests)
    heard = [t["text"] for t in turns if t["role"] == "assistant"]
    if answered_by == "human":
        assert heard[0] == "Hi Ana, this is Voxline Pizza about your order."
        assert far.hung_up  # the caller hung up; the bot would have gone on talking
    else:
        assert heard == ["Hi Ana, please call Voxline Pizza back."]
        assert record["outcome"] == "voicemail left"
        assert far.timeline.closed_by_server is not None
        assert requests[-1].form == {"Status": "completed"} and requests[-1].call == sid
    assert record["parameters"]["answered_by"] == answered_by
