"""Tool calls out of an LLM stream, and speech with the tool markup cut out.

Pure and synchronous so every edge is unit-tested without a server. Llama 3.1 behind an
OpenAI-compatible endpoint calls tools in three shapes (protocols.md section 3), preferred in
this order: native streamed ``tool_calls`` (``ToolCallAssembler``), the custom-tool text form
``<function=NAME>{json}</function>`` anywhere in the content, and a JSON object
``{"name": ..., "parameters"|"arguments": ...}`` at the start of the content, possibly after
``<|python_tag|>`` (``MarkupFilter``). The caller must never hear markup, yet the synthesizer
should start on the first clause at once, so ``MarkupFilter`` releases text as soon as it can no
longer be the start of markup and holds back only such a suffix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

FUNCTION_OPEN = "<function="
FUNCTION_CLOSE = "</function>"
PYTHON_TAG = "<|python_tag|>"
_SPECIAL_MAX = 32  # the longest "<|...|>" special token worth waiting for
_SPECIAL = re.compile(r"<\|\w+\|>\Z")
_SPECIAL_PREFIX = re.compile(r"<\|\w*\|?\Z")
_CALL_KEYS = ("name", "parameters", "arguments", "type", "function")
_FIRST_KEY = re.compile(r'\{\s*(?:"(\w*)("?))?')
_NAME = re.compile(r'"name"\s*:\s*"([^"]+)"')


@dataclass(frozen=True, slots=True)
class ParsedCall:
    """A tool call read from the model; ``error`` (safe to show the model) if unreadable."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    form: str = "native"  # native | function | json
    id: str = ""


def parse_arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    """Arguments as a dict, or ``({}, error)``. Accepts a dict or its JSON text."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            return {}, f"the arguments are not valid JSON ({exc}); send one JSON object"
    if not isinstance(raw, dict):
        return {}, "the arguments must be a JSON object"
    return raw, None


def json_object_end(text: str) -> int | None:
    """Index just past the object that opens ``text`` (string-aware), or None if unfinished."""
    depth, in_string, escaped = 0, False, False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _could_be_json_call(buf: str) -> bool:
    """Whether content starting with ``{`` may still turn out to be a tool call object."""
    m = _FIRST_KEY.match(buf)
    assert m is not None
    key, closed = m.group(1), m.group(2)
    if m.end() == len(buf):  # all seen so far fits; is the (partial) first key plausible?
        return key is None or any(k == key if closed else k.startswith(key) for k in _CALL_KEYS)
    return key is not None and bool(closed) and key in _CALL_KEYS


def parse_json_call(text: str) -> ParsedCall | None:
    """``{"name": .., "parameters"|"arguments": ..}`` as a call; None if it is not one."""
    try:
        obj = json.loads(text)
    except ValueError:
        m = _NAME.search(text)
        if m and ('"parameters"' in text or '"arguments"' in text):
            return ParsedCall(m.group(1), error="the tool call is not valid JSON", form="json")
        return None
    if not isinstance(obj, dict):
        return None
    if obj.get("type") == "function" and isinstance(obj.get("function"), dict):
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not ("parameters" in obj or "arguments" in obj):
        return None
    args, error = parse_arguments(obj.get("parameters", obj.get("arguments")))
    return ParsedCall(name.strip(), args, error, form="json")


def _function_call(name: str, args_text: str) -> ParsedCall:
    args, error = parse_arguments(args_text)
    return ParsedCall(name.strip(), args, error, form="function")


class MarkupFilter:
    """Feed streamed content; get back the text that is safe to speak. Calls land in ``calls``.

    States: ``start`` (beginning of the message, or after a JSON call: a ``{`` here may open a
    call), ``text``, ``function`` (inside ``<function=...``), ``json`` and ``python`` (after
    ``<|python_tag|>``: never spoken; its JSON calls are read when the message ends). Other
    ``<|...|>`` special tokens that leak into the content are dropped.
    """

    def __init__(self) -> None:
        self.calls: list[ParsedCall] = []
        self._buf = ""
        self._state = "start"
        self._strip = " \t\r\n"

    def feed(self, text: str) -> str:
        self._buf += text
        return self._run(final=False)

    def close(self) -> str:
        """The end of the message: release or settle whatever is still held back."""
        return self._run(final=True)

    @property
    def pending(self) -> str:
        """Content held back so far (for tests and logs)."""
        return self._buf

    def _run(self, final: bool) -> str:
        out: list[str] = []
        for _ in range(10_000):  # every step consumes input or changes state
            if not self._buf or not getattr(self, f"_{self._state}")(out, final):
                break
        if final:
            self._buf = ""  # whatever is left is an unfinished piece of markup: never spoken
        return "".join(out)

    def _start(self, out: list[str], final: bool) -> bool:
        self._buf = self._buf.lstrip(self._strip)
        if not self._buf:
            return False
        self._strip = " \t\r\n"
        self._state = "json" if self._buf[0] == "{" else "text"
        return True

    def _text(self, out: list[str], final: bool) -> bool:
        buf = self._buf
        i = buf.find("<")
        if i < 0:
            out.append(buf)
            self._buf = ""
            return False
        if i:
            out.append(buf[:i])
            buf = self._buf = buf[i:]
        if buf.startswith(FUNCTION_OPEN):
            self._state = "function"
            return True
        if buf.startswith("<|"):
            end = buf.find("|>", 2)
            if 0 < end < _SPECIAL_MAX and _SPECIAL.match(buf[: end + 2]):
                self._buf = buf[end + 2 :]
                if buf[: end + 2] == PYTHON_TAG:
                    self._state = "python"
                return True
            if end < 0 and len(buf) < _SPECIAL_MAX and _SPECIAL_PREFIX.match(buf):
                return False  # maybe "<|python_tag|>" or "<|eot_id|>" arriving; dropped at the end
        elif buf.startswith(FUNCTION_CLOSE):  # a stray closing tag
            self._buf = buf[len(FUNCTION_CLOSE) :]
            return True
        elif not final and (FUNCTION_OPEN.startswith(buf) or FUNCTION_CLOSE.startswith(buf)):
            return False  # "<fun" may become "<function="
        out.append("<")
        self._buf = buf[1:]
        return True

    def _function(self, out: list[str], final: bool) -> bool:
        buf = self._buf
        gt = buf.find(">", len(FUNCTION_OPEN))
        if gt < 0:
            return False
        name, rest = buf[len(FUNCTION_OPEN) : gt], buf[gt + 1 :]
        body = rest.lstrip()
        if not body.startswith("{"):  # no JSON object: the arguments run to the closing tag
            close = rest.find(FUNCTION_CLOSE)
            if close < 0:
                if final:
                    self.calls.append(_function_call(name, rest))
                return False
            self.calls.append(_function_call(name, rest[:close]))
            self._buf, self._state = rest[close + len(FUNCTION_CLOSE) :], "text"
            return True
        end = json_object_end(body)
        if end is None:
            if final:
                error = "the arguments were cut off before the JSON object ended"
                self.calls.append(ParsedCall(name.strip(), error=error, form="function"))
            return False
        after = body[end:]
        tail = after.lstrip()
        if tail.startswith(FUNCTION_CLOSE):
            after = tail[len(FUNCTION_CLOSE) :]
        elif FUNCTION_CLOSE.startswith(tail):  # the closing tag may still be arriving
            if not final:
                return False
            after = ""
        self.calls.append(_function_call(name, body[:end]))
        self._buf, self._state = after, "text"
        return True

    def _json(self, out: list[str], final: bool) -> bool:
        buf = self._buf
        if not _could_be_json_call(buf):
            self._state = "text"
            return True
        end = json_object_end(buf)
        if end is None:
            if final:
                m = _NAME.search(buf)
                if m:  # else an unfinished JSON object: not speech either, so dropped
                    error = "the tool call was cut off before its JSON ended"
                    self.calls.append(ParsedCall(m.group(1), error=error, form="json"))
            return False
        call = parse_json_call(buf[:end])
        if call is None:
            self._state = "text"
            return True
        self.calls.append(call)
        self._buf, self._state, self._strip = buf[end:], "start", " \t\r\n;"
        return True

    def _python(self, out: list[str], final: bool) -> bool:
        if not final:
            return False
        rest = self._buf
        for _ in range(100):
            rest = rest.lstrip(" \t\r\n;")
            end = json_object_end(rest) if rest.startswith("{") else None
            if end is None:
                m = _NAME.search(rest) if rest.startswith("{") else None
                if m:
                    error = "the tool call was cut off before its JSON ended"
                    self.calls.append(ParsedCall(m.group(1), error=error, form="json"))
                break
            call = parse_json_call(rest[:end])
            if call is not None:
                self.calls.append(call)
            rest = rest[end:]
        self._buf = ""
        return False


@dataclass
class _Slot:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ToolCallAssembler:
    """Native streamed ``tool_calls`` deltas, joined per index and parsed at the end."""

    def __init__(self) -> None:
        self._slots: dict[int, _Slot] = {}

    def __bool__(self) -> bool:
        return any(s.name for s in self._slots.values())

    def add(
        self, index: int | None, id: str | None, name: str | None, arguments: str | None
    ) -> None:
        if index is None:  # some servers leave it out: a new id opens a new call
            last = max(self._slots, default=None)
            new = last is None or bool(id and self._slots[last].id and self._slots[last].id != id)
            index = (0 if last is None else last + 1) if new else last
        assert index is not None
        slot = self._slots.setdefault(index, _Slot())
        if id and not slot.id:
            slot.id = id
        if name and not slot.name:
            slot.name = name
        if arguments:
            slot.arguments.append(arguments)

    def calls(self) -> list[ParsedCall]:
        out = []
        for index in sorted(self._slots):
            slot = self._slots[index]
            if slot.name:
                args, error = parse_arguments("".join(slot.arguments))
                out.append(ParsedCall(slot.name, args, error, "native", slot.id))
        return out
