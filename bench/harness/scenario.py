"""What the load benchmark's calls say and how slow its scripted backends are.

Every figure the benchmark reports as "added" latency is the measured latency minus the delays
scripted here, so this module is the one place that defines them: the Riva-protocol test server
ends an utterance ``asr_stop_ms`` of silence after the last voiced 10 ms frame and delivers the
final ``asr_final_ms`` later; the OpenAI-compatible test server sends the first content token
after ``llm_first_token_s`` and one 4-character token per ``1 / llm_tokens_per_s`` after it; the
TTS returns its first chunk ``tts_first_chunk_s`` after the request.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from voxline.audio import pcm_to_ulaw, resample, rms_dbfs, ulaw_to_pcm

ROOT = Path(__file__).resolve().parents[2]
ASR_THRESHOLD_DBFS = -40.0  # the Riva test server's speech/silence level (its default)

TURN_LINE = "I'd like a large pepperoni pizza please"
BARGE_LINE = "Actually make it a medium one"
# Short first clause, so starting TTS on it (not on the whole sentence) shows in the latency.
REPLY = "Sure, a large pepperoni. Which crust would you like?"
TOKEN_CHARS = 4  # the OpenAI test server's chunking: one token = one 4-character chunk
_FIRST_SEGMENT_END = re.compile(r"[,;:.!?]+(?=\s)")


@dataclass(frozen=True)
class Delays:
    asr_stop_ms: int = 320
    asr_final_ms: int = 100
    llm_first_token_s: float = 0.3
    llm_tokens_per_s: float = 50.0
    tts_first_chunk_s: float = 0.15

    def first_clause_s(self, reply: str = REPLY) -> float:
        """When the LLM has streamed the reply's first clause (its end and the whitespace after
        it, which is what tells a splitter the clause is over), counted from the request."""
        m = _FIRST_SEGMENT_END.search(reply)
        end = m.end() + 1 if m else len(reply)
        tokens = -(-end // TOKEN_CHARS)
        return self.llm_first_token_s + (tokens - 1) / self.llm_tokens_per_s

    def critical_path_s(self, reply: str = REPLY) -> float:
        """End of the caller's speech -> the first reply audio, if Voxline itself took no time:
        endpointing silence + final processing + LLM up to the first clause + TTS first chunk."""
        asr = (self.asr_stop_ms + self.asr_final_ms) / 1000
        return asr + self.first_clause_s(reply) + self.tts_first_chunk_s


def voiced_frames(pcm: bytes, threshold_dbfs: float = ASR_THRESHOLD_DBFS) -> np.ndarray:
    """Per 10 ms frame of 8 kHz PCM: is it speech to the Riva test server (its own measure,
    ``rms_dbfs``, above its threshold)."""
    n = len(pcm) - len(pcm) % 160
    return np.array([rms_dbfs(pcm[i : i + 160]) > threshold_dbfs for i in range(0, n, 160)])


def trim_to_speech(mulaw: bytes) -> bytes:
    """The clip from its first to its last voiced 10 ms frame, as whole 20 ms frames that end
    exactly on the last voiced frame: the caller's "end of speech" is then the moment its last
    frame is sent, and the test server's silence count starts right after it."""
    voiced = np.flatnonzero(voiced_frames(ulaw_to_pcm(mulaw)))
    if not len(voiced):
        raise ValueError("the clip has no speech above the ASR threshold")
    first, last = int(voiced[0]), int(voiced[-1]) + 1
    first += (last - first) % 2  # whole 20 ms frames: drop the first 10 ms if need be
    return mulaw[first * 80 : last * 80]


def longest_pause_ms(mulaw: bytes) -> int:
    """The longest run of unvoiced 10 ms frames inside the clip."""
    run = longest = 0
    for v in voiced_frames(ulaw_to_pcm(mulaw)):
        run = 0 if v else run + 1
        longest = max(longest, run)
    return 10 * longest


def synthesize_lines(delays: Delays, lines: tuple[str, ...] = (TURN_LINE, BARGE_LINE)):
    """Caller speech spoken by the embedded voice (the server's Silero VAD needs real speech,
    a tone does not trigger it), as 8 kHz mu-law trimmed to its voiced part."""
    from voxline.speech.piper import PiperEngine

    piper = PiperEngine(threads=1)
    out = []
    for text in lines:
        pcm = resample(b"".join(piper.render(text)), piper.rate, 8000)
        clip = trim_to_speech(pcm_to_ulaw(pcm))
        if longest_pause_ms(clip) >= delays.asr_stop_ms:
            raise ValueError(f"{text!r} has a pause the ASR would take for the end of the turn")
        out.append(clip)
    return out


def bench_bot(dest: Path, delays: Delays) -> Path:
    """The pizza bot with the scripted ASR's endpointing (its final after ``asr_stop_ms``)."""
    shutil.copytree(ROOT / "bots" / "pizza", dest, dirs_exist_ok=True)
    spec = yaml.safe_load((dest / "bot.yaml").read_text(encoding="utf-8"))
    spec["turns"]["mode"] = "final"
    spec["turns"]["stop_history_ms"] = delays.asr_stop_ms
    (dest / "bot.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return dest


def new_event_loop():
    """uvloop's loop factory where it is installed (the benchmark's own processes)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
