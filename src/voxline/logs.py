"""Process logging: text (the default) or one JSON object per line, with call and turn ids.

The ids ride on context variables set where a call starts and where a reply starts; asyncio
tasks copy the context when they are created, so every line a call's tasks log carries them
without any log call passing them. Every line is masked for known secrets (the settings'
``Secret`` values) and for URL passwords before it is written.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from contextvars import ContextVar
from dataclasses import fields
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voxline.config import Settings

call_id: ContextVar[str | None] = ContextVar("voxline_call_id", default=None)
turn_id: ContextVar[int | None] = ContextVar("voxline_turn_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][\w+.-]*://[^\s:/@]*:)[^\s@/]+(?=@)")
_secrets: set[str] = set()


def mask_url(url: str) -> str:
    """The URL with its password (``scheme://user:PASSWORD@host``) replaced by ``***``."""
    return _URL_PASSWORD.sub(rf"\g<head>{MASK}", url)


def hide(*secrets: str) -> None:
    """Mask these strings in every log line from now on (too short to be secrets: ignored)."""
    _secrets.update(s for s in secrets if s and len(s) >= 6)


def hide_settings(settings: Settings) -> None:
    """Mask the settings' secrets and their database password."""
    from voxline.config import Secret

    hide(*(v for f in fields(settings) if isinstance(v := getattr(settings, f.name), Secret)))
    if match := _URL_PASSWORD.search(settings.database_url):
        hide(settings.database_url[match.end() : settings.database_url.index("@", match.end())])


def masked(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return mask_url(text)


class CallContext(logging.Filter):
    """Adds ``call_id``/``turn_id`` to each record and masks secrets in its text."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.call_id = call_id.get()
        record.turn_id = turn_id.get()
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it
            return True
        safe = masked(message)
        if safe != message or record.args:
            record.msg, record.args = safe, None
        if record.exc_info and not record.exc_text:
            record.exc_text = masked(logging.Formatter().formatException(record.exc_info))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, call_id, turn_id, exc."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("call_id", "turn_id"):
            if (value := getattr(record, key, None)) is not None:
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False, default=str)


def log_handler(fmt: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing ``fmt`` ("text" or "json") lines with ids and secrets masked."""
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be text or json, got {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(CallContext())
    return handler


def configure(level: str = "INFO", fmt: str | None = None) -> None:
    """The process's root logging; ``fmt`` defaults to ``VOXLINE_LOG_FORMAT`` (text)."""
    fmt = (fmt or os.environ.get("VOXLINE_LOG_FORMAT") or "text").lower()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(log_handler(fmt))
    root.setLevel(level.upper())
