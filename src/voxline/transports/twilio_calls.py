"""Twilio's Calls REST API for call control: redirect a live call, place a new one.

A transfer replaces a live call's TwiML with ``<Dial>`` (the media stream ends, Twilio dials
the colleague); an outbound call is created with TwiML that opens our media stream. Both use
the account's credentials (``TWILIO_ACCOUNT_SID`` with the auth token or an API key and
secret) and ``VOXLINE_TWILIO_API_URL`` for another API host (tests). ``update`` never raises (a
call's cleanup must go on whatever the API does); ``create`` raises ``TwilioCallFailed`` so the
one who asked for the call hears why it was not placed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, VoiceResponse

from voxline.config import Settings

log = logging.getLogger("voxline.twilio")
TIMEOUT_S = 5.0
# The twilio client dumps every request's headers at INFO: keep only its warnings.
_client_log = logging.getLogger("voxline.twilio.api")
_client_log.setLevel(logging.WARNING)


class TwilioCallFailed(RuntimeError):
    """Twilio did not place the call; the message is safe to show the API's client."""


def dial_twiml(number: str, caller_id: str = "") -> str:
    """``<Response><Dial>NUMBER</Dial></Response>``: the live call goes to ``number``."""
    response = VoiceResponse()
    dial = Dial(caller_id=caller_id) if caller_id else Dial()
    dial.number(number)
    response.append(dial)
    return str(response)


@dataclass(frozen=True)
class TwilioCalls:
    account_sid: str
    username: str  # the account sid, or an API key sid
    password: str
    api_url: str = ""
    timeout_s: float = TIMEOUT_S

    def __repr__(self) -> str:
        return f"TwilioCalls({self.account_sid!r}, api_url={self.api_url!r})"

    async def update(self, call_sid: str, what: str = "update", **fields: Any) -> bool:
        """Change a live call (``twiml=...``, ``status=...``); True if Twilio took it.
        ``what`` names the change in the log."""
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._client() as client:
                    calls = client.api.v2010.accounts(self.account_sid).calls
                    await calls(call_sid).update_async(**fields)
            return True
        except TimeoutError:
            log.warning("call %s: Twilio API did not answer the %s in %.0f s", call_sid, what,
                        self.timeout_s)  # fmt: skip
        except TwilioRestException as exc:
            log.warning("call %s: Twilio API refused the %s: HTTP %s %s", call_sid, what,
                        exc.status, exc.msg)  # fmt: skip
        except Exception as exc:  # a network error must not break the call's cleanup
            log.warning("call %s: %s through the Twilio API failed: %r", call_sid, what, exc)
        return False

    async def create(self, **fields: Any) -> str:
        """Place a call (``to``, ``from_``, ``twiml``, callbacks...); returns its CallSid."""
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._client() as client:
                    calls = client.api.v2010.accounts(self.account_sid).calls
                    call = await calls.create_async(**fields)
        except TimeoutError:
            raise TwilioCallFailed(
                f"the Twilio API did not answer in {self.timeout_s:.0f} s"
            ) from None
        except TwilioRestException as exc:
            raise TwilioCallFailed(
                f"Twilio refused the call: HTTP {exc.status} {exc.msg}"
            ) from None
        except OSError as exc:
            raise TwilioCallFailed(f"the Twilio API is unreachable: {exc}") from None
        return str(call.sid)

    def _client(self) -> _ClientScope:
        return _ClientScope(self)


class _ClientScope:
    """A client with its own HTTP session, closed on exit (one per request: calls are rare)."""

    def __init__(self, calls: TwilioCalls) -> None:
        self.calls = calls
        self.http = AsyncTwilioHttpClient(timeout=calls.timeout_s, logger=_client_log)

    async def __aenter__(self) -> Client:
        c = self.calls
        client = Client(c.username, c.password, c.account_sid, http_client=self.http)
        if c.api_url:
            client.api.base_url = c.api_url
        return client

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()


def calls_from_settings(settings: Settings) -> TwilioCalls | None:
    """The Calls API for this server's account, or None when it has no credentials."""
    sid = settings.twilio_account_sid
    if not sid:
        return None
    if settings.twilio_api_key and settings.twilio_api_secret:
        user, password = str(settings.twilio_api_key), str(settings.twilio_api_secret)
    elif settings.twilio_auth_token:
        user, password = sid, str(settings.twilio_auth_token)
    else:
        return None
    return TwilioCalls(sid, user, password, settings.twilio_api_url)
