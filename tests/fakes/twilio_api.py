"""A stand-in for Twilio's REST API on 127.0.0.1: records call updates, answers like Twilio.

``with FakeTwilioApi() as api:`` serves ``POST /2010-04-01/Accounts/{AC}/Calls/{CA}.json`` (an
update: status, TwiML) and ``POST /2010-04-01/Accounts/{AC}/Calls.json`` (a new call, answered
with a fresh ``CA...`` sid, also in ``api.created``) on ``api.url`` (point
``VOXLINE_TWILIO_API_URL`` at it) and records each request in ``api.requests`` (``account``,
``call``, ``form`` (last value of each field), ``values`` (all of them: Twilio repeats list
fields), ``auth`` as (user, password), ``at`` (time.monotonic() on arrival)). Script it with
``api.status = 404`` (Twilio's answer when the caller already hung up) or ``api.delay_s = 30``
(a stalled API). ``api.wait(n)`` waits for n requests.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

_CALL = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Calls/(?P<call>CA\w+)\.json$")
_CALLS = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Calls\.json$")


@dataclass
class ApiRequest:
    method: str
    path: str
    account: str
    call: str
    form: dict[str, str]
    auth: tuple[str, str] | None
    values: dict[str, list[str]] = field(default_factory=dict)
    at: float = 0.0


class FakeTwilioApi:
    def __init__(self) -> None:
        self.requests: list[ApiRequest] = []
        self.created: list[str] = []  # sids of the calls created
        self.status = 200
        self.delay_s = 0.0
        self._arrived = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode()
                match = _CALL.match(self.path) or _CALLS.match(self.path)
                new_sid = ""
                if match and "call" not in match.groupdict():
                    new_sid = f"CA{uuid.uuid4().hex}"
                auth = None
                scheme, _, value = (self.headers.get("authorization") or "").partition(" ")
                if scheme.lower() == "basic":
                    user, _, password = base64.b64decode(value).decode().partition(":")
                    auth = (user, password)
                values = parse_qs(body)
                form = {k: v[-1] for k, v in values.items()}
                record = ApiRequest(
                    "POST",
                    self.path,
                    match["account"] if match else "",
                    (match.groupdict().get("call") or new_sid) if match else "",
                    form,
                    auth,
                    values,
                    time.monotonic(),
                )
                with api._arrived:
                    api.requests.append(record)
                    if new_sid:
                        api.created.append(new_sid)
                    api._arrived.notify_all()
                if api.delay_s:
                    time.sleep(api.delay_s)
                if not match:
                    self._reply(404, {"code": 20404, "message": "not found", "status": 404})
                elif api.status != 200:
                    message = "The requested resource was not found"
                    self._reply(api.status, {"code": 20404, "message": message,
                                             "status": api.status})  # fmt: skip
                else:
                    self._reply(
                        200,
                        {
                            "sid": record.call,
                            "account_sid": match["account"],
                            "to": form.get("To", ""),
                            "status": form.get("Status", "queued" if new_sid else "in-progress"),
                        },
                    )

            def _reply(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True  # a stalled answer must not hold up stop()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def wait(self, count: int = 1, within: float = 10.0) -> list[ApiRequest]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.requests) >= count, within)
        return list(self.requests)

    def __enter__(self) -> FakeTwilioApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
