"""Hanging up a phone call through Twilio's REST API.

Closing the media stream ends a ``<Connect><Stream>`` call only when no TwiML follows it, and
a call whose stream dropped may stay up; so when the server ends a call (the bot said goodbye,
the server is shutting down) it also sets the call's status to ``completed``. That needs
``TWILIO_ACCOUNT_SID`` and either ``TWILIO_AUTH_TOKEN`` or an API key and secret; without them
the phone leg is left to Twilio. A slow or failing API never holds up a call's cleanup.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from voxline.config import Settings
from voxline.transports.twilio_calls import TwilioCalls, calls_from_settings

log = logging.getLogger("voxline.twilio")


@dataclass(frozen=True)
class TwilioHangup(TwilioCalls):
    def __repr__(self) -> str:
        return f"TwilioHangup({self.account_sid!r}, api_url={self.api_url!r})"

    async def __call__(self, call_sid: str) -> bool:
        """Complete the call; True if Twilio took it. Never raises, never blocks past the
        timeout: a caller who already hung up gives a 404, which is fine."""
        done = await self.update(call_sid, "hang-up", status="completed")
        if done:
            log.info("call %s: hung up through the Twilio API", call_sid)
        return done


def hangup_from_settings(settings: Settings) -> TwilioHangup | None:
    """The hang-up for this server's Twilio account, or None when it has no credentials."""
    calls = calls_from_settings(settings)
    if calls is None:
        return None
    return TwilioHangup(calls.account_sid, calls.username, calls.password, calls.api_url)
