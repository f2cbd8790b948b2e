"""The small protocols every speech provider implements.

A recognizer turns a stream of caller audio into transcript events; a synthesizer turns a piece
of text into a stream of PCM chunks. Providers declare what they can do (``RecognizerCaps``) so
the call can, for example, feed Twilio's mu-law straight to a recognizer that accepts it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from voxline.events import AudioIn, Transcript

Encoding = Literal["pcm16", "mulaw"]


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """Inbound audio as the transport delivers it: ``AudioIn.pcm`` is always 16-bit PCM at
    ``rate``; ``AudioIn.raw`` is in ``encoding``."""

    rate: int
    encoding: Encoding = "pcm16"


@dataclass(frozen=True, slots=True)
class RecognizerHints:
    """What the bot knows that helps recognition and endpointing."""

    language: str = "en-US"
    phrases: tuple[str, ...] = ()  # vocabulary to boost (menu items, names)
    example: str = ""  # what a caller might say, for recognizers prompted with text
    # What the bot's documents are about (``kb/topics.py``): in whisper's prompt, not among
    # the words its hypotheses are favoured for (4 more content words of 276 for +90 ms p50)
    topics: tuple[str, ...] = ()
    # Slots' names and values ("crust": thin, regular, ...): the word before a name is a value
    places: tuple[tuple[str, tuple[str, ...]], ...] = ()
    boost: float = 20.0
    stop_history_ms: int = 800  # silence before the final transcript
    stop_history_eou_ms: int = 240  # silence before the interim (first-pass) transcript
    interim: bool = True
    punctuation: bool = True


@dataclass(frozen=True, slots=True)
class RecognizerCaps:
    streaming: bool  # transcribes while the caller speaks (partials)
    endpointing: bool  # decides the end of the utterance by itself
    encodings: tuple[Encoding, ...] = ("pcm16",)
    rates: tuple[int, ...] = (8000, 16000)


class RecognizerStream(Protocol):
    """One caller's recognition session. Iterate it for transcripts."""

    async def send(self, audio: AudioIn, voiced: bool | None) -> None:
        """Feed a frame; ``voiced`` is the VAD's smoothed state, or None where VAD is off."""
        ...

    def eager(self, on: bool, soon: bool = False) -> None:
        """Ask for partial transcripts during speech (used to vet barge-ins); ``soon``: the
        next one after less speech than usual (a doubtful one wants a second look)."""
        ...

    def heard(self, text: str) -> None:
        """The bot's words as the caller heard them: what the caller's next words answer."""
        ...

    def __aiter__(self) -> AsyncIterator[Transcript]: ...

    async def aclose(self) -> None: ...


class Recognizer(Protocol):
    name: str
    caps: RecognizerCaps

    def open(self, fmt: AudioFormat, hints: RecognizerHints) -> RecognizerStream: ...

    async def check(self) -> str:
        """Prove the backend works (doctor); return a short description, raise if it does not."""
        ...


@dataclass(frozen=True, slots=True)
class Voice:
    name: str = ""
    language: str = "en-US"
    speed: float = 1.0
    extra: dict[str, str] = field(default_factory=dict)


class Synthesizer(Protocol):
    name: str

    def synthesize(self, text: str, rate: int, voice: Voice) -> AsyncIterator[bytes]:
        """16-bit PCM chunks at ``rate`` as soon as each is ready."""
        ...

    async def check(self) -> str: ...
