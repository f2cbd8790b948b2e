"""Hanging up a phone call through Twilio's REST API.

Closing the media stream ends a ``<Connect><Stream>`` call only when no TwiML follows it, and
a call whose stream dropped may stay up; so when the server ends a call (the bot said goodbye,
the server is shutting down) it also sets the call's status to ``completed``. That needs
``TWILIO_ACCOUNT_SID`` and either ``TWILIO_AUTH_TOKEN`` or an API key and secret; without them
the phone leg is left to Twilio. A slow or failing API never holds up a call's cleanup.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from voxline.config import Settings

log = logging.getLogger("voxline.twilio")
TIMEOUT_S = 5.0
# The twilio client dumps every request's headers at INFO: keep only its warnings.
_client_log = logging.getLogger("voxline.twilio.api")
_client_log.setLevel(logging.WARNING)


@dataclass(frozen=True)
class TwilioHangup:
    account_sid: str
    username: str  # the account sid, or an API key sid
    password: str
    api_url: str = ""  # another host for the API (tests); empty: Twilio's own
    timeout_s: float = TIMEOUT_S

    def __repr__(self) -> str:
        return f"TwilioHangup({self.account_sid!r}, api_url={self.api_url!r})"

    async def __call__(self, call_sid: str) -> bool:
        """Complete the call; True if Twilio took it. Never raises, never blocks past the
        timeout: a caller who already hung up gives a 404, which is fine."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._complete(call_sid)
        except TimeoutError:
            log.warning("call %s: Twilio API did not answer the hang-up in %.0f s", call_sid,
                        self.timeout_s)  # fmt: skip
        except TwilioRestException as exc:
            log.warning("call %s: Twilio API refused the hang-up: HTTP %s %s", call_sid,
                        exc.status, exc.msg)  # fmt: skip
        except Exception as exc:  # a network error must not break the call's cleanup
            log.warning("call %s: hang-up through the Twilio API failed: %r", call_sid, exc)
        return False

    async def _complete(self, call_sid: str) -> bool:
        http = AsyncTwilioHttpClient(timeout=self.timeout_s, logger=_client_log)
        try:
            client = Client(self.username, self.password, self.account_sid, http_client=http)
            if self.api_url:
                client.api.base_url = self.api_url
            call = client.api.v2010.accounts(self.account_sid).calls(call_sid)
            await call.update_async(status="completed")
            log.info("call %s: hung up through the Twilio API", call_sid)
            return True
        finally:
            await http.close()


def hangup_from_settings(settings: Settings) -> TwilioHangup | None:
    """The hang-up for this server's Twilio account, or None when it has no credentials."""
    sid = settings.twilio_account_sid
    if not sid:
        return None
    if settings.twilio_api_key and settings.twilio_api_secret:
        user, password = str(settings.twilio_api_key), str(settings.twilio_api_secret)
    elif settings.twilio_auth_token:
        user, password = sid, str(settings.twilio_auth_token)
    else:
        return None
    return TwilioHangup(sid, user, password, settings.twilio_api_url)
