"""Typed events that flow between the stages of a call.

Stages never share mutable state: the listener emits speech and transcript events, the turn
taker turns them into decisions, agents emit text and tool events, and the playout reports
what the caller has actually heard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# --- listener -> turn taker -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """VAD onset (stream time in seconds, already corrected for the VAD's own delay)."""

    t: float


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    """VAD offset: the last voiced audio ended at ``t``. With ``noise``, the onset was a
    sudden sound the VAD did not confirm as speech: nobody spoke."""

    t: float
    noise: bool = False


class TranscriptKind(StrEnum):
    PARTIAL = "partial"  # streaming hypothesis, may still change
    INTERIM = "interim"  # first-pass end of utterance (Riva stability 1.0 after stop_history_eou)
    FINAL = "final"  # second-pass end of utterance (Riva is_final after stop_history)


@dataclass(frozen=True, slots=True)
class Transcript:
    kind: TranscriptKind
    text: str
    t: float  # when the recognizer delivered it
    speech_end: float | None = None  # end of the speech it covers, if known
    confidence: float | None = None


ListenerEvent = SpeechStarted | SpeechStopped | Transcript


# --- agent -> speaker ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the reply to speak, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = ""


@dataclass(frozen=True, slots=True)
class ToolResult:
    call: ToolCall
    result: Any
    error: str | None = None


@dataclass(frozen=True, slots=True)
class EndCall:
    """The agent considers the conversation finished once the reply has been spoken."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class TransferCall:
    """Hand the caller to a person at ``number`` once this reply has been heard: the call's
    transport redirects the phone call (``voxline.transfer``) instead of hanging up."""

    number: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class NotUnderstood:
    """The agent found nothing it could use in the caller's turn (its words ask again). Sent
    before them, so a turn that cut the bot off on a doubt lets the bot go on instead."""


AgentEvent = TextDelta | ToolCall | ToolResult | EndCall | TransferCall | NotUnderstood


# --- transport -> call --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallStart:
    call_id: str
    stream_id: str
    parameters: dict[str, str] = field(default_factory=dict)
    transport: str = "twilio"


@dataclass(frozen=True, slots=True)
class AudioIn:
    """Inbound caller audio: 16-bit little-endian PCM at the transport's rate.

    ``raw`` keeps the bytes as they came off the wire (mu-law for Twilio) so a recognizer that
    accepts them natively gets them without a needless conversion.
    """

    pcm: bytes
    raw: bytes
    t: float


@dataclass(frozen=True, slots=True)
class Digit:
    digit: str


@dataclass(frozen=True, slots=True)
class MarkPlayed:
    """Twilio echoed a mark: the audio before it played *or* was cleared."""

    name: str


@dataclass(frozen=True, slots=True)
class CallStop:
    reason: str = "stop"


TransportEvent = CallStart | AudioIn | Digit | MarkPlayed | CallStop


# --- call -> observers (pages, recordings, metrics) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class CallerAudio:
    """A frame of the caller's audio (16-bit PCM at ``rate``) that began at ``t``."""

    pcm: bytes
    rate: int
    t: float


@dataclass(frozen=True, slots=True)
class BotAudio:
    """A 20 ms frame of the bot's audio, sent to the far end at ``t``."""

    pcm: bytes
    rate: int
    t: float


@dataclass(frozen=True, slots=True)
class BotSaid:
    """The bot starts speaking this segment of reply ``reply_id``."""

    reply_id: int
    text: str


@dataclass(frozen=True, slots=True)
class BotStopped:
    """The caller's speech silenced the bot: ``how`` is "pause" or "barge-in"."""

    reply_id: int
    how: str
    after_s: float  # from the caller's speech onset to the clear


@dataclass(frozen=True, slots=True)
class TurnEnded:
    """A reply is over: what the caller said, what they heard of the answer, and when."""

    reply_id: int
    user_text: str | None  # None for the greeting and re-prompts
    heard: str
    outcome: str  # spoken, interrupted, replaced, cancelled, hung up
    timings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call is over and its tasks are done: nothing more will be noted."""

    reason: str
    outcome: str


@dataclass(frozen=True, slots=True)
class BackendFailed:
    """A model backend failed during the call (``stage``: asr, tts or agent)."""

    stage: str
    error: str


CallNote = (
    SpeechStarted
    | SpeechStopped
    | Transcript
    | CallerAudio
    | BotAudio
    | BotSaid
    | BotStopped
    | TurnEnded
    | BackendFailed
    | CallEnded
)
