"""Who may use the server, over real sockets: the API key, Twilio's signature on the media
stream's upgrade, call / frame / body limits, CORS, and secrets kept out of logs and pages."""

from __future__ import annotations

import asyncio
import base64
import logging

import httpx
import orjson
import pytest
import websockets
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from twilio.request_validator import RequestValidator

from tests.conftest import make_settings, serve_in_thread
from tests.fakes.scripted_stack import ScriptedStack
from voxline.app import BUSY_MESSAGE
from voxline.security import ApiKeyMiddleware

KEY = "vx-test-api-key-5f1d"
TOKEN = "twilio-auth-token-9a7c"
ACCOUNT = "AC" + "2" * 32
ORIGIN = "https://console.example.com"
SECRETS = [KEY, TOKEN, "riva-key-77e1", "llm-key-31b0"]


@pytest.fixture(scope="module")
def locked(pizza_bot, tmp_path_factory):
    """Everything on: key, signatures, one call at a time, small frames and bodies, CORS."""
    over = {
        "api_key": KEY,
        "twilio_auth_token": TOKEN,
        "twilio_account_sid": ACCOUNT,
        "twilio_api_url": "http://127.0.0.1:9",  # nothing listens: the hang-up fails fast
        "riva_api_key": SECRETS[2],
        "llm_api_key": SECRETS[3],
        "max_calls": 1,
        "ws_max_bytes": 64 * 1024,
        "max_body_bytes": 64 * 1024,
        "cors_origins": ORIGIN,
    }
    with ScriptedStack(pizza_bot, tmp_path_factory.mktemp("locked"), ["hello"], **over) as s:
        yield s


@pytest.fixture(scope="module")
def open_stack(pizza_bot, tmp_path_factory):
    with ScriptedStack(pizza_bot, tmp_path_factory.mktemp("open"), ["hello"]) as s:
        yield s


def signature(url: str) -> str:
    return RequestValidator(TOKEN).compute_signature(url, {})


def host_of(stack) -> str:
    return stack.server.url.removeprefix("http://")


def start_frames(call_sid: str, stream_sid: str) -> list[str]:
    start = {
        "streamSid": stream_sid,
        "accountSid": ACCOUNT,
        "callSid": call_sid,
        "tracks": ["inbound"],
        "customParameters": {},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    }
    return [
        orjson.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}).decode(),
        orjson.dumps({"event": "start", "streamSid": stream_sid, "start": start}).decode(),
    ]


def twilio_socket(stack, headers: dict | None = None):
    host = host_of(stack)
    headers = {"X-Twilio-Signature": signature(f"wss://{host}/ws")} if headers is None else headers
    return websockets.connect(f"ws://{host}/ws", additional_headers=headers, max_size=2**22)


async def wait_for(predicate, within: float = 30.0) -> None:
    for _ in range(int(within / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


# --- the API key --------------------------------------------------------------------------


def test_pages_kb_and_plugin_endpoints_need_the_key(locked):
    url = locked.server.url
    for method, path in [("POST", "/pizza/event"), ("POST", "/pizza/chat"),
                         ("GET", "/kb/documents"), ("GET", "/calls"), ("GET", "/")]:  # fmt: skip
        r = httpx.request(method, f"{url}{path}", json={"UserId": "u"})
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == 'Basic realm="voxline"'  # a browser asks
    wrong = httpx.post(f"{url}/pizza/event", json={"UserId": "u"}, headers=bearer("nope"))
    assert wrong.status_code == 401


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_the_key_as_bearer_basic_query_or_login_cookie(locked):
    url = f"{locked.server.url}/pizza/event"
    body = {"UserId": "u", "EventType": "system.event_pipeline_acquired"}
    assert httpx.post(url, json=body, headers=bearer(KEY)).status_code == 200
    basic = base64.b64encode(f"anyone:{KEY}".encode()).decode()
    logged_in = httpx.post(url, json=body, headers={"Authorization": f"Basic {basic}"})
    assert logged_in.status_code == 200
    assert KEY not in logged_in.headers["set-cookie"]  # the cookie is derived, not the key
    cookie = logged_in.headers["set-cookie"].split(";")[0]
    assert httpx.post(url, json=body, headers={"Cookie": cookie}).status_code == 200
    assert httpx.post(f"{url}?key={KEY}", json=body).status_code == 200
    bad = {"Cookie": "voxline_session=forged", "Authorization": "Basic !!!"}
    assert httpx.post(url, json=body, headers=bad).status_code == 401


def test_twilio_health_and_readiness_never_need_the_key(locked):
    url = locked.server.url
    assert httpx.get(f"{url}/health").status_code == 200
    assert httpx.get(f"{url}/ready").status_code == 200
    public = f"http://{host_of(locked)}/answer"
    form = {"CallSid": "CA1", "From": "+15550001111"}
    signed = {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(public, form)}
    r = httpx.post(f"{url}/answer", data=form, headers=signed)
    assert r.status_code == 200 and "<Connect>" in r.text


@pytest.fixture(scope="module")
def key_only_app(tmp_path_factory):
    """A minimal app behind the middleware, for its WebSocket side (the pages' sockets)."""

    async def echo(ws):
        await ws.accept()
        await ws.send_text("hi")
        await ws.close()

    routes = [
        Route("/health", lambda request: PlainTextResponse("ok")),
        Route("/page", lambda request: PlainTextResponse("a page")),
        WebSocketRoute("/talk/ws", echo),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(ApiKeyMiddleware, key=KEY)
    settings = make_settings(tmp_path_factory.mktemp("mw"))
    for host, _ in serve_in_thread(app, settings):
        yield host


async def test_a_page_websocket_needs_the_key_by_query_or_cookie(key_only_app):
    url = f"ws://{key_only_app}/talk/ws"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url):
            pass
    assert refused.value.response.status_code == 403
    async with websockets.connect(f"{url}?key={KEY}") as ws:
        assert await ws.recv() == "hi"
    async with httpx.AsyncClient() as http:
        login = await http.get(f"http://{key_only_app}/page", headers=bearer(KEY))
    cookie = login.headers["set-cookie"].split(";")[0]
    async with websockets.connect(url, additional_headers={"Cookie": cookie}) as ws:
        assert await ws.recv() == "hi"


# --- Twilio's signature on the media stream ------------------------------------------------


async def test_an_unsigned_or_badly_signed_stream_is_refused_before_accepting(locked):
    for headers in ({}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with twilio_socket(locked, headers):
                pass
        assert refused.value.response.status_code == 403
    elsewhere = {"X-Twilio-Signature": signature("wss://attacker.example.com/ws")}
    with pytest.raises(websockets.InvalidStatus):
        async with twilio_socket(locked, elsewhere):
            pass


async def test_a_stream_signed_by_twilio_is_accepted_also_behind_a_proxy(locked):
    async with twilio_socket(locked) as ws:
        assert ws.protocol.state.name == "OPEN"
    proxy = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "voice.example.com",
        "X-Twilio-Signature": signature("wss://voice.example.com/ws"),
    }
    async with twilio_socket(locked, proxy) as ws:
        assert ws.protocol.state.name == "OPEN"


# --- limits -------------------------------------------------------------------------------


async def test_a_stream_beyond_the_call_limit_hears_the_busy_message_and_is_closed(locked):
    async with twilio_socket(locked) as first:
        for frame in start_frames("CA-first", "MZ-first"):
            await first.send(frame)
        await wait_for(lambda: "CA-first" in locked.state.calls)
        async with twilio_socket(locked) as extra:
            for frame in start_frames("CA-extra", "MZ-extra"):
                await extra.send(frame)
            audio, mark = bytearray(), None
            while mark is None:
                msg = orjson.loads(await asyncio.wait_for(extra.recv(), 10))
                if msg["event"] == "media":
                    assert msg["streamSid"] == "MZ-extra"
                    audio += base64.b64decode(msg["media"]["payload"])
                elif msg["event"] == "mark":
                    mark = msg["mark"]["name"]
            said = [r.text for c in locked.riva.tts_calls for r in c.requests]
            assert BUSY_MESSAGE in said
            assert len(audio) >= 8000 * 0.05 * len(BUSY_MESSAGE) * 0.9  # the test voice: 50 ms/char
            await extra.send(orjson.dumps({"event": "mark", "streamSid": "MZ-extra",
                                           "mark": {"name": mark}}).decode())  # fmt: skip
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(extra.recv(), 10)
            assert "CA-extra" not in locked.state.calls
        assert "CA-first" in locked.state.calls  # the live call goes on
        await first.send(orjson.dumps({"event": "stop", "streamSid": "MZ-first"}).decode())
    await wait_for(lambda: not locked.state.calls)


async def test_a_frame_over_the_size_limit_closes_only_that_stream(locked):
    async with twilio_socket(locked) as keeper, twilio_socket(locked) as big:
        for frame in start_frames("CA-keeper", "MZ-keeper"):
            await keeper.send(frame)
        await wait_for(lambda: "CA-keeper" in locked.state.calls)
        await big.send("x" * (64 * 1024 + 1))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(big.recv(), 10)
        assert closed.value.rcvd.code == 1009  # message too big
        await keeper.send(orjson.dumps({"event": "mark", "streamSid": "MZ-keeper",
                                        "mark": {"name": "x"}}).decode())  # fmt: skip
        await asyncio.sleep(0.2)
        assert "CA-keeper" in locked.state.calls
        await keeper.send(orjson.dumps({"event": "stop", "streamSid": "MZ-keeper"}).decode())
    await wait_for(lambda: not locked.state.calls)


def test_request_bodies_over_the_limit_get_413(locked):
    url = f"{locked.server.url}/pizza/chat"
    big = b'{"UserId": "u", "Query": "' + b"a" * (70 * 1024) + b'"}'
    headers = {**bearer(KEY), "Content-Type": "application/json"}
    assert httpx.post(url, content=big, headers=headers).status_code == 413

    def chunked():  # no Content-Length: counted while it streams in
        yield big[:1000]
        yield big[1000:]

    r = httpx.post(url, content=chunked(), headers=headers)
    assert r.status_code == 413 and "65536" in r.text


# --- CORS -----------------------------------------------------------------------------------


def preflight(url: str, origin: str) -> httpx.Response:
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    return httpx.options(f"{url}/pizza/chat", headers=headers)


def test_cors_is_off_by_default(open_stack):
    url = open_stack.server.url
    assert "access-control-allow-origin" not in preflight(url, ORIGIN).headers
    r = httpx.get(f"{url}/health", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in r.headers


def test_cors_allows_only_the_configured_origins(locked):
    url = locked.server.url
    assert preflight(url, ORIGIN).headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in preflight(url, "https://evil.example").headers
    r = httpx.get(f"{url}/health", headers={"Origin": ORIGIN})
    assert r.headers["access-control-allow-origin"] == ORIGIN


# --- secrets --------------------------------------------------------------------------------


async def test_no_secret_in_logs_health_or_error_pages(locked, caplog):
    caplog.set_level(logging.DEBUG)
    async with twilio_socket(locked) as ws:
        for frame in start_frames("CA-secret", "MZ-secret"):
            await ws.send(frame)
        await wait_for(lambda: "CA-secret" in locked.state.calls)
        await ws.send("{not json")
        await ws.send(orjson.dumps({"event": "stop", "streamSid": "MZ-secret"}).decode())
    await wait_for(lambda: not locked.state.calls)
    url = locked.server.url
    async with httpx.AsyncClient(headers=bearer(KEY)) as http:
        pages = [
            (await http.get(f"{url}/health")).text,
            (await http.get(f"{url}/nowhere")).text,
            (await http.post(f"{url}/pizza/chat", content=b"{")).text,
            (await http.get(f"{url}/docs")).text,
            repr(locked.settings),
        ]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "CA-secret" in logged  # the call did log
    for secret in SECRETS:
        assert secret not in logged
        assert not any(secret in page for page in pages)
    assert not locked.app.debug  # a 500 shows a bare "Internal Server Error"
