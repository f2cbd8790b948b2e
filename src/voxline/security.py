"""Who may use the server: an optional API key, request-size limits, Twilio's WebSocket signature.

Twilio authenticates itself by signature (``/answer`` and ``/ws``), orchestrators probe
``/health`` and ``/ready``; every other route (pages, their APIs, ``/kb``, the plugin endpoints,
metrics, and whatever is mounted later) needs ``VOXLINE_API_KEY`` once it is set: deny by
default, so a new page cannot be left open by mistake. The key is accepted as
``Authorization: Bearer KEY``, as basic auth (any user name, the key as password, so a browser
can log in), as ``?key=KEY`` or as the cookie a successful login sets (a browser's WebSocket
cannot send headers). The cookie holds an HMAC of the key, never the key itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxline.transports import twilio

log = logging.getLogger("voxline.security")
# Twilio's webhooks carry its signature instead of the key (checked with TWILIO_AUTH_TOKEN).
PUBLIC_PATHS = frozenset({"/answer", "/ws", "/twilio/status", "/twilio/amd", "/health", "/ready"})
COOKIE = "voxline_session"


def _session_token(key: str) -> str:
    return hmac.new(key.encode(), b"voxline-session", hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def presented_key(headers: Mapping[str, str], query: str) -> str:
    """The key a request carries in its Authorization header or ``key`` query parameter."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            _, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return password
    return parse_qs(query).get("key", [""])[0]


def _cookie(headers: Mapping[str, str]) -> str:
    jar = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except CookieError:  # a malformed Cookie header is the client's problem, not a 500
        return ""
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else ""


class ApiKeyMiddleware:
    """Deny-by-default API key check for HTTP and WebSocket routes (ASGI middleware)."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self.key = key
        self.token = _session_token(key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        by_key = _same(presented_key(headers, scope.get("query_string", b"").decode()), self.key)
        if by_key:
            await self.app(scope, receive, self._set_cookie(send))
            return
        if _same(_cookie(headers), self.token):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        await _plain(
            send, 401, b"API key required", [(b"www-authenticate", b'Basic realm="voxline"')]
        )

    def _set_cookie(self, send: Send) -> Send:
        """After a login by key, a cookie lets the page's own WebSockets and fetches in."""
        cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"set-cookie", cookie)]}
            await send(message)

        return sending


class BodyLimitMiddleware:
    """Refuses request bodies over a size (413), by Content-Length or while they stream in.

    ``limits`` maps a path prefix to its own limit (the KB upload); anything else gets
    ``default``. Nothing past the limit is read into memory.
    """

    def __init__(self, app: ASGIApp, default: int, limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.limits = dict(limits or {})

    def limit_for(self, path: str) -> int:
        return next((n for p, n in self.limits.items() if path.startswith(p)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _plain(send, 413, f"request body over {limit} bytes".encode())
            return
        seen = 0
        started = False

        async def receiving() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except _TooLarge:
            if not started:
                await _plain(send, 413, f"request body over {limit} bytes".encode())


class _TooLarge(Exception):
    pass


async def _plain(send: Send, status: int, body: bytes, extra: list | None = None) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def twilio_upgrade_valid(auth_token: str, url: str, headers: Mapping[str, str]) -> bool:
    """Twilio signs the media stream's upgrade request like a webhook with no parameters,
    over the ``wss://`` URL it was given (a TLS proxy in front does not change that)."""
    signed = twilio.websocket_url(url, headers)
    return twilio.signature_valid(auth_token, signed, {}, headers.get("x-twilio-signature", ""))
