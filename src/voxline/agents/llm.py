"""The LLM agent: any OpenAI-compatible chat endpoint (NIM, vLLM, Ollama, llama.cpp, OpenAI).

It always streams, so the synthesizer speaks the first clause while the model writes the rest.
Tool calls come in three shapes (see ``tool_markup``); each is run through ``Turn.run_tool``
(schema validation, and side-effect tools wait for the turn to be confirmed), recorded in the
history, and the model is asked again to speak the follow-up, for a bounded number of rounds.
Anything that goes wrong on the model's side becomes ``AgentUnavailable`` so the call can play
its fallback; a bad tool call goes back to the model as an error result instead. A server that
rejects ``tools`` with a 400 (vLLM or a generic NIM without auto tool choice) is asked again
without them, and the agent keeps to the prompt's ``<function=...>`` form for the rest of the call.
Options (``LlmOptions``) also read ``VOXLINE_LLM_<FIELD>`` variables, e.g. VOXLINE_LLM_TOOLS_MODE.

Sampling defaults follow the reference design (temperature 0.7, top_p 0.9, max_tokens 300)
except ``frequency_penalty``: the reference sends 1.0 to NIM, but a penalty on repeated tokens
also hits the quotes, braces and enum words of JSON tool arguments, so it is not sent unless set
(``VOXLINE_LLM_FREQUENCY_PENALTY=1.0`` restores the reference behaviour). Nor is the reference's
``stop=["\\nHuman:"]``, a leftover of completion-style prompts that chat templates do not need.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing, suppress
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import openai
from openai import AsyncOpenAI

from voxline.agents.base import Turn
from voxline.agents.tool_markup import MarkupFilter, ParsedCall, ToolCallAssembler
from voxline.events import AgentEvent, EndCall, TextDelta, ToolCall, ToolResult
from voxline.tools import Tool, ToolBox, ToolContext

if TYPE_CHECKING:
    from voxline.bot import Bot
    from voxline.config import Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL = "meta/llama-3.1-8b-instruct"
LOCAL_API_KEY = "not-needed"  # local NIM, vLLM, Ollama and llama.cpp servers take any key
CHECK_TIMEOUT_S = 10.0  # doctor's one-token request: a cold endpoint may take a while
MAX_CALLS_PER_ROUND = 4  # Llama 3.1 8B on NIM makes one call at a time; this bounds a runaway
_FAILURES = (openai.OpenAIError, OSError, ValueError)


class AgentUnavailable(RuntimeError):
    """The model endpoint failed, stalled or is unreachable: the call should play a fallback."""


class _ToolsRejected(Exception):
    """The server refuses ``tools`` (e.g. vLLM or a NIM without auto tool choice)."""


@dataclass(frozen=True)
class LlmOptions:
    model: str = DEFAULT_MODEL
    temperature: float | None = 0.7
    top_p: float | None = 0.9
    max_tokens: int | None = 300
    frequency_penalty: float | None = None  # the reference design's 1.0 hurts JSON arguments
    stop: tuple[str, ...] = ()
    tools_mode: str = "native"  # native: send `tools`; prompt: only the prompt's text form
    max_tool_rounds: int = 3  # tool rounds per turn; the model then must speak
    # A caller waits in silence meanwhile: past these the call falls back (agents/fallback.py).
    first_token_timeout: float = 2.0  # seconds from request to the first streamed chunk
    chunk_timeout: float = 3.0  # seconds allowed between two chunks
    max_retries: int = 1  # the SDK's own retries of a failed request (within the timeout)
    extra_body: Mapping[str, Any] = field(default_factory=dict)  # e.g. NIM's nvext

    def __post_init__(self) -> None:
        if self.tools_mode not in {"native", "prompt"}:
            raise ValueError(f"tools_mode must be native or prompt, got {self.tools_mode!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str], **over: Any) -> LlmOptions:
        """Options from ``VOXLINE_LLM_<FIELD>`` variables (e.g. ``VOXLINE_LLM_TOOLS_MODE``)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = f"VOXLINE_LLM_{f.name.upper()}"
            raw = env.get(key)
            if not raw or f.name in {"model", "extra_body"}:
                continue
            default = getattr(cls, f.name, None)
            try:
                if f.name == "stop":
                    values[f.name] = tuple(s for s in raw.split("|") if s)
                elif f.name == "tools_mode":
                    values[f.name] = raw.strip().lower()
                elif isinstance(default, int):
                    values[f.name] = int(raw)
                else:
                    values[f.name] = float(raw)
            except ValueError:
                raise ValueError(f"{key} must be a number, got {raw!r}") from None
        return cls(**{**values, **{k: v for k, v in over.items() if v is not None}})


def _end_call(ctx: ToolContext) -> str:
    return "the call ends after your goodbye"


# Offered to the model beside the bot's tools: a voice call needs a way to hang up.
END_CALL = Tool(
    "end_call",
    "Hang up the phone call. Call it together with your goodbye, once the caller has said "
    "they are done or has nothing more to ask.",
    {"type": "object", "properties": {}},
    _end_call,
)
GOODBYE = "Goodbye!"


def with_end_call(tools: ToolBox) -> ToolBox:
    return ToolBox([*tools, END_CALL])


def tool_json(tools: ToolBox) -> str:
    """The tools as the Llama 3.1 custom-tool prompt shows them: one function object a line."""
    return "\n".join(json.dumps(schema["function"]) for schema in tools.schemas())


def render_prompt(prompt: str, tools: ToolBox) -> str:
    return prompt.replace("{tool_json}", tool_json(tools)) if "{tool_json}" in prompt else prompt


def _display_url(url: str) -> str:
    """The endpoint without credentials or query, safe to print."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _new_id() -> str:
    return f"call_{uuid.uuid4().hex[:20]}"


@dataclass
class _Round:
    """What one streamed completion produced besides speech."""

    native: ToolCallAssembler = field(default_factory=ToolCallAssembler)
    markup: MarkupFilter = field(default_factory=MarkupFilter)
    spoken: list[str] = field(default_factory=list)
    finish_reason: str | None = None

    def calls(self) -> list[ParsedCall]:
        """Native calls first, then ``<function=...>``, then JSON in the content."""
        if self.native:
            return self.native.calls()
        text = self.markup.calls
        return [c for c in text if c.form == "function"] or [c for c in text if c.form == "json"]


class LlmAgent:
    """Streams replies from a chat completions endpoint and runs the bot's tools."""

    name = "llm"

    def __init__(self, client: AsyncOpenAI, options: LlmOptions, prompt: str = "") -> None:
        self._client = client
        self.options = options
        self._prompt = prompt
        self._secret = client.api_key if isinstance(client.api_key, str) else ""
        self.endpoint = _display_url(str(client.base_url))
        self._native_tools = options.tools_mode == "native"

    async def reply(self, turn: Turn) -> AsyncIterator[AgentEvent]:
        spoken_before: dict[str, str] = {}  # tool call id -> what was said just before it
        spoke = False
        rounds = max(0, self.options.max_tool_rounds)
        for round_no in range(rounds + 1):
            may_call = round_no < rounds
            for _attempt in range(2):
                found = _Round()
                params = self._params(turn, may_call, spoken_before)
                try:
                    async with aclosing(self._stream(params, found)) as deltas:
                        async for delta in deltas:
                            spoke = True
                            yield delta
                    break
                except _ToolsRejected as exc:  # raised before any output: ask again
                    why = "llm: %s refuses native tools (%s); using the prompt's text form"
                    log.warning(why, self.endpoint, exc)
                    self._native_tools = False
            calls = found.calls()
            if not calls:
                return
            if not may_call:
                names = [c.name for c in calls]
                log.warning("llm: still calling tools after %d rounds: %s", rounds, names)
                return
            said = "".join(found.spoken).strip()
            if any(c.name == END_CALL.name for c in calls):
                if not spoke:
                    yield TextDelta(GOODBYE)
                yield EndCall("the model hung up")
                return
            for parsed in calls[:MAX_CALLS_PER_ROUND]:
                call = ToolCall(parsed.name, parsed.arguments, parsed.id or _new_id())
                yield call
                result = await self._run(turn, call, parsed.error)
                turn.history.tool_call(call)
                turn.history.tool_result(result)
                if said:
                    spoken_before[call.id], said = said, ""
                yield result

    async def _run(self, turn: Turn, call: ToolCall, error: str | None) -> ToolResult:
        if error:
            log.info("llm: unreadable %s call: %s", call.name, error)
            return ToolResult(call, None, error)
        try:
            result = await turn.run_tool(call)
        except Exception as exc:  # a handler bug must not end the call; the model apologises
            log.exception("llm: tool %s failed", call.name)
            return ToolResult(call, None, f"the tool failed ({type(exc).__name__}); try later")
        if result.error:
            log.info("llm: %s call rejected: %s", call.name, result.error)
        return result

    def _messages(
        self, turn: Turn, tools: ToolBox, spoken_before: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        messages = turn.history.messages()
        if messages and messages[0]["role"] == "system":
            system = render_prompt(messages[0]["content"] or "", tools)
            messages[0] = {"role": "system", "content": system}
        elif self._prompt:
            messages.insert(0, {"role": "system", "content": render_prompt(self._prompt, tools)})
        for m in messages:  # the words spoken with a tool call belong to that assistant message
            for tc in m.get("tool_calls") or ():
                if not m.get("content") and tc.get("id") in spoken_before:
                    m["content"] = spoken_before[tc["id"]]
        return messages

    def _params(
        self, turn: Turn, may_call: bool, spoken_before: Mapping[str, str]
    ) -> dict[str, Any]:
        o = self.options
        tools = with_end_call(turn.tools)
        params: dict[str, Any] = {
            "model": o.model,
            "messages": self._messages(turn, tools, spoken_before),
            "stream": True,
        }
        for name in ("temperature", "top_p", "max_tokens", "frequency_penalty"):
            if getattr(o, name) is not None:
                params[name] = getattr(o, name)
        if o.stop:
            params["stop"] = list(o.stop)
        if self._native_tools:
            params["tools"] = tools.schemas()
            params["tool_choice"] = "auto" if may_call else "none"
        if o.extra_body:
            params["extra_body"] = dict(o.extra_body)
        return params

    async def _stream(self, params: dict[str, Any], found: _Round) -> AsyncIterator[TextDelta]:
        """One streamed completion: speech out as it becomes safe, tool calls into ``found``."""
        o = self.options
        stream = None
        started = time.perf_counter()
        try:
            try:
                async with asyncio.timeout(o.first_token_timeout):
                    stream = await self._client.chat.completions.create(**params)
                    chunk = await anext(stream, None)
            except TimeoutError:
                raise self._unavailable(f"no reply within {o.first_token_timeout:g} s") from None
            except openai.BadRequestError as exc:
                if "tools" in params and "tool" in str(exc.message).lower():
                    raise _ToolsRejected(exc.message[:200]) from exc
                raise self._unavailable(exc) from exc
            except _FAILURES as exc:
                raise self._unavailable(exc) from exc
            log.debug("llm: first chunk after %.0f ms", (time.perf_counter() - started) * 1000)
            while chunk is not None:
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    for tc in delta.tool_calls or ():
                        fn = tc.function
                        found.native.add(tc.index, tc.id, fn and fn.name, fn and fn.arguments)
                    if delta.content:
                        text = found.markup.feed(delta.content)
                        if text:
                            found.spoken.append(text)
                            yield TextDelta(text)
                    found.finish_reason = choice.finish_reason or found.finish_reason
                try:
                    async with asyncio.timeout(o.chunk_timeout):
                        chunk = await anext(stream, None)
                except TimeoutError:
                    raise self._unavailable(f"stream stalled for {o.chunk_timeout:g} s") from None
                except _FAILURES as exc:
                    raise self._unavailable(exc) from exc
            text = found.markup.close()
            if text:
                found.spoken.append(text)
                yield TextDelta(text)
            if found.finish_reason == "length":
                log.warning("llm: reply cut off at max_tokens=%s", o.max_tokens)
        finally:
            if stream is not None:  # also when the consumer stops early (barge-in)
                with suppress(Exception):
                    await stream.close()

    def _unavailable(self, why: object) -> AgentUnavailable:
        if isinstance(why, openai.APIStatusError):
            why = f"HTTP {why.status_code}: {why.message}"
        elif isinstance(why, BaseException):
            why = f"{type(why).__name__}: {why}"
        text = str(why)
        if self._secret and len(self._secret) > 3:
            text = text.replace(self._secret, "***")
        return AgentUnavailable(f"llm {self.options.model} at {self.endpoint}: {text[:300]}")

    async def check(self) -> str:
        """One real one-token completion: proves the endpoint, the key and the model name."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(max(self.options.first_token_timeout, CHECK_TIMEOUT_S)):
                await self._client.chat.completions.create(
                    model=self.options.model,
                    messages=[{"role": "user", "content": "Say OK."}],
                    max_tokens=1,
                    stream=False,
                )
        except TimeoutError:
            raise self._unavailable("no reply to a one-token request") from None
        except _FAILURES as exc:
            raise self._unavailable(exc) from exc
        ms = (time.perf_counter() - started) * 1000
        return f"llm {self.options.model} at {self.endpoint} ({ms:.0f} ms)"


def llm_agent_from_settings(
    settings: Settings, bot: Bot, env: Mapping[str, str] | None = None, **options: Any
) -> LlmAgent:
    """The agent for the configured endpoint. Settings win over the SDK's ``OPENAI_BASE_URL`` /
    ``OPENAI_API_KEY``; without a key a dummy is sent, which local servers accept."""
    env = os.environ if env is None else env
    base_url = settings.llm_base_url or env.get("OPENAI_BASE_URL") or None
    api_key = str(settings.llm_api_key) or env.get("OPENAI_API_KEY") or LOCAL_API_KEY
    opts = LlmOptions.from_env(env, model=settings.llm_model or None, **options)
    client = AsyncOpenAI(
        base_url=base_url,
        api_key=api_key,
        max_retries=opts.max_retries,
        timeout=max(opts.first_token_timeout, opts.chunk_timeout) + 5.0,  # a backstop only
    )
    return LlmAgent(client, opts, prompt=bot.prompt)


def llm_agent_factory(
    settings: Settings, bot: Bot, env: Mapping[str, str] | None = None, **options: Any
) -> Callable[[], LlmAgent]:
    """A fresh agent per call over one shared client, so calls reuse warm connections to the
    endpoint instead of paying a TCP/TLS handshake (and leaking a pool) per call."""
    proto = llm_agent_from_settings(settings, bot, env, **options)
    return lambda: LlmAgent(proto._client, proto.options, proto._prompt)
