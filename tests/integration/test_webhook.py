"""POST /answer over real HTTP: TwiML, proxy headers, Twilio signatures, busy lines."""

from dataclasses import replace

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.conftest import make_settings, serve_in_thread
from voxline.app import create_app

TOKEN = "test-auth-token-0123456789"
FORM = {"CallSid": "CA42", "From": "+15551234567", "To": "+15557654321", "AccountSid": "AC1"}


@pytest.fixture(scope="module")
def signed_server(pizza_bot, embedded_services, tmp_path_factory):
    settings = replace(make_settings(tmp_path_factory.mktemp("signed")), twilio_auth_token=TOKEN)
    app = create_app(settings, pizza_bot, embedded_services)
    for host, _ in serve_in_thread(app, settings):
        yield f"http://{host}"


def test_twiml_connects_a_stream_on_the_request_host(pizza_server):
    r = httpx.post(f"{pizza_server.url}/answer", data=FORM)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    host = pizza_server.url.removeprefix("http://")
    assert f'<Connect><Stream url="wss://{host}/ws">' in r.text
    assert '<Parameter name="From" value="+15551234567" />' in r.text
    assert '<Parameter name="CallSid" value="CA42" />' in r.text


def test_twiml_behind_a_tls_proxy(pizza_server):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "voice.example.com"}
    r = httpx.post(f"{pizza_server.url}/answer", data=FORM, headers=headers)
    assert '<Stream url="wss://voice.example.com/ws">' in r.text


def test_unsigned_and_badly_signed_requests_are_rejected(signed_server):
    assert httpx.post(f"{signed_server}/answer", data=FORM).status_code == 403
    bad = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    assert httpx.post(f"{signed_server}/answer", data=FORM, headers=bad).status_code == 403


def test_a_signature_computed_by_twilio_is_accepted(signed_server):
    url = f"{signed_server}/answer"
    signature = RequestValidator(TOKEN).compute_signature(url, FORM)
    r = httpx.post(url, data=FORM, headers={"X-Twilio-Signature": signature})
    assert r.status_code == 200 and "<Connect>" in r.text


def test_signature_for_the_public_url_behind_a_proxy(signed_server):
    public = "https://voice.example.com/answer"
    signature = RequestValidator(TOKEN).compute_signature(public, FORM)
    headers = {
        "X-Twilio-Signature": signature,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "voice.example.com",
    }
    assert httpx.post(f"{signed_server}/answer", data=FORM, headers=headers).status_code == 200
    # The same signature does not validate a tampered form.
    tampered = {**FORM, "From": "+10000000000"}
    r = httpx.post(f"{signed_server}/answer", data=tampered, headers=headers)
    assert r.status_code == 403


def test_health_and_ready(pizza_server):
    health = httpx.get(f"{pizza_server.url}/health").json()
    assert health["status"] == "ok" and health["asr"] == "embedded" and health["agent"] == "form"
    assert httpx.get(f"{pizza_server.url}/ready").status_code == 200


def test_busy_when_the_call_limit_is_reached(pizza_bot, embedded_services, tmp_path):
    settings = replace(make_settings(tmp_path), max_calls=0)
    app = create_app(settings, pizza_bot, embedded_services)
    for host, _ in serve_in_thread(app, settings):
        r = httpx.post(f"http://{host}/answer", data=FORM)
        assert "<Say>" in r.text and "busy" in r.text and "<Hangup />" in r.text
