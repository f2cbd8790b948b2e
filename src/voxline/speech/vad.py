"""Voice activity detection: Silero v6 on onnxruntime, plus a pure onset/offset tracker.

The model is loaded once per process; each call gets a ``VadStream`` holding the recurrent
state. ``VadTracker`` turns per-window probabilities into debounced speech start/stop events
and is tested without the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxline.audio import Resampler, pcm_to_float
from voxline.events import SpeechStarted, SpeechStopped

VAD_RATE = 16000
WINDOW = 512  # samples per inference at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous window the v6 model expects in front
PRIME_S = 0.5  # silence a new stream hears first (see VadStream)


def default_model_path() -> Path:
    """The Silero v6 ONNX file shipped inside faster-whisper (nothing is downloaded)."""
    import faster_whisper

    return Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx"


class SileroModel:
    """One onnxruntime session shared by every call; runs are thread-safe and ~0.1 ms each."""

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.enable_cpu_mem_arena = False
        opts.log_severity_level = 4
        self.session = onnxruntime.InferenceSession(
            str(path or default_model_path()), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def stream(self, rate: int, phases: int = 1) -> VadStream:
        return VadStream(self, rate, phases)


class _Phase:
    """One Silero state over the audio, its windows starting ``offset`` samples in."""

    def __init__(self, offset: int) -> None:
        self.buf = np.zeros(offset, dtype=np.float32)
        self.context = np.zeros(CONTEXT, dtype=np.float32)
        self.h = np.zeros((1, 1, 128), dtype=np.float32)
        self.c = np.zeros((1, 1, 128), dtype=np.float32)
        self.last = 0.0  # the latest window's probability


class VadStream:
    """Speech probability per 32 ms window of one caller's audio.

    A stream is primed with a little silence: started cold right at a speech onset (a gated
    VAD restarting when the caller begins), Silero's state never settles and some voices stay
    under 0.35 for a whole "Yes, that's right." (measured on the bench's flite and Kokoro
    voices); after 300-500 ms of silence the same audio reads 0.6-0.85.

    On telephone voices Silero also depends on where its windows fall: the same "No, that's
    it." peaks at 0.41 or 0.69 as the audio starts 20 ms earlier or later. ``phases`` states
    run over the same audio with windows staggered by ``WINDOW / phases``; each window reports
    the highest of their latest probabilities, so one unlucky alignment loses no word.
    """

    def __init__(self, model: SileroModel, rate: int, phases: int = 1) -> None:
        self._session = model.session
        # Without the lag of a sharp filter: at "HQ" the model heard the line in 100 ms bursts,
        # so every onset and stop was up to 100 ms late (phone audio has nothing above 4 kHz
        # for the filter to keep out).
        self._resampler = Resampler(rate, VAD_RATE, quality="QQ")
        self._phases = [_Phase(k * WINDOW // phases) for k in range(phases)]
        self.push(bytes(2 * round(rate * PRIME_S)))

    def push(self, pcm: bytes) -> list[tuple[float, float]]:
        """(probability, lag) per completed window of the first phase; lag is how long before
        the end of ``pcm`` that window ended, so callers can time-stamp it."""
        audio = pcm_to_float(self._resampler.process(pcm))
        runs = [self._run(ph, audio) for ph in self._phases]
        probs = []
        for prob, lag in runs[0]:
            # the other phases' windows that ended within this one's span
            for ph, run in zip(self._phases[1:], runs[1:], strict=True):
                while run and run[0][1] >= lag:
                    ph.last = run.pop(0)[0]
                prob = max(prob, ph.last)
            probs.append((prob, lag))
        for ph, run in zip(self._phases[1:], runs[1:], strict=True):
            if run:  # ended after the first phase's last window: counts toward its next
                ph.last = run[-1][0]
        return probs

    def _run(self, ph: _Phase, audio: np.ndarray) -> list[tuple[float, float]]:
        ph.buf = np.concatenate((ph.buf, audio))
        out = []
        while len(ph.buf) >= WINDOW:
            window, ph.buf = ph.buf[:WINDOW], ph.buf[WINDOW:]
            x = np.concatenate((ph.context, window))[None, :]
            res, ph.h, ph.c = self._session.run(None, {"input": x, "h": ph.h, "c": ph.c})
            ph.context = window[-CONTEXT:]
            out.append((float(np.asarray(res).reshape(-1)[0]), len(ph.buf) / VAD_RATE))
        return out


@dataclass(frozen=True, slots=True)
class VadParams:
    start_threshold: float = 0.5
    stop_threshold: float = 0.35  # hysteresis: speech continues until it drops below this
    min_speech_ms: int = 64  # voiced time needed to declare an onset (ignores clicks)
    min_silence_ms: int = 96  # unvoiced time needed to declare an offset (bridges short gaps)
    # Where the line is loud (well over its noise floor), less certainty is asked: Silero reads
    # 0.3-0.6 on some clear telephone voices (flite's male ones), under 0.1 on knocks and tones.
    loud_start_threshold: float = 0.3
    loud_stop_threshold: float = 0.2


class VadTracker:
    """Debounces window probabilities into speech start/stop events (pure, time-stamped)."""

    def __init__(self, params: VadParams | None = None, window_s: float = WINDOW / VAD_RATE):
        self.params = params or VadParams()
        self.window_s = window_s
        self.speaking = False
        self._run_s = 0.0  # length of the current run that contradicts the state
        self._run_start = 0.0

    @property
    def stopping(self) -> bool:
        """Speaking, but the latest windows are not speech: a stop is being debounced."""
        return self.speaking and self._run_s > 0

    def update(
        self, prob: float, t_end: float, duration: float | None = None, loud: bool = False
    ) -> SpeechStarted | SpeechStopped | None:
        """Feed one window's probability; ``t_end`` is when that window ends. ``duration``
        is for audio judged without the model (a quiet frame, probability 0); ``loud``: the
        window's audio stands well out of the line's noise."""
        p = self.params
        duration = self.window_s if duration is None else duration
        t_start = t_end - duration
        if self.speaking:
            contradicts = prob < (p.loud_stop_threshold if loud else p.stop_threshold)
        else:
            contradicts = prob >= (p.loud_start_threshold if loud else p.start_threshold)
        if not contradicts:
            self._run_s = 0.0
            return None
        if self._run_s == 0.0:
            self._run_start = t_start
        self._run_s += duration
        if not self.speaking and self._run_s * 1000 >= p.min_speech_ms:
            self.speaking, self._run_s = True, 0.0
            return SpeechStarted(self._run_start)
        if self.speaking and self._run_s * 1000 >= p.min_silence_ms:
            self.speaking, self._run_s = False, 0.0
            return SpeechStopped(self._run_start)
        return None
