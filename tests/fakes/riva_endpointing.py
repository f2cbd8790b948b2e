"""The Riva-protocol test server's recognizer: energy endpointing and scripted (or heard) words.

Its timing is the stream's own sample clock (10 ms frames), so results depend on the audio
received, never on the wall clock. See ``riva_server.py`` for what it emits and when.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riva.client.proto import riva_asr_pb2 as rasr

from voxline.audio import rms_dbfs

if TYPE_CHECKING:
    from tests.fakes.riva_server import AsrStream, FakeRivaServer

HEAR = "\x00hear"  # a result's text, until ``hear`` has heard its audio
HEAR_PREROLL_MS = 200  # audio kept from before an onset for ``hear``: words start softly


class Utterances:
    """Energy-based endpointing on the stream's own sample clock (10 ms frames)."""

    def __init__(
        self,
        server: FakeRivaServer,
        config: rasr.RecognitionConfig,
        record: AsrStream | None = None,
    ) -> None:
        ep = config.endpointing_config
        self.server = server
        self.record = record
        self.voiced_ms = 0  # speech heard on this stream, all utterances
        self.rate = config.sample_rate_hertz or 16000
        self.stop_ms = ep.stop_history or server.default_stop_ms
        self.eou_ms = ep.stop_history_eou or server.default_eou_ms
        self.frame = self.rate // 100 * 2
        self.buf = bytearray()
        self.processed_ms = 0
        self.text: str | None = None  # the current utterance's text, None between utterances
        self.pcm = bytearray()  # the current utterance's audio (``hear``), from just before onset
        self.to_hear: list[bytes] = []  # audio for the results fed out with text HEAR, in order
        self.speech_ms = self.silence_ms = self.since_partial = self.partials = 0
        self.interim_sent = False

    def feed(self, pcm: bytes) -> list[rasr.StreamingRecognitionResult]:
        self.buf += pcm
        out: list[rasr.StreamingRecognitionResult] = []
        while len(self.buf) >= self.frame:
            frame = bytes(self.buf[: self.frame])
            del self.buf[: self.frame]
            self.processed_ms += 10
            voiced = rms_dbfs(frame) > self.server.threshold_dbfs
            if self.server.hear is not None:
                self.pcm += frame
                if self.text is None and not voiced:
                    del self.pcm[: -HEAR_PREROLL_MS // 10 * self.frame]  # the onset's lead-in
            out.extend(self._frame(voiced))
        return out

    def flush(self) -> list[rasr.StreamingRecognitionResult]:
        return [self._final()] if self.text is not None else []

    def _frame(self, voiced: bool) -> list[rasr.StreamingRecognitionResult]:
        if self.text is None:
            if not voiced:
                return []
            own = self.record.transcripts if self.record else None
            if self.server.hear is not None:
                self.text = HEAR
            elif own:
                self.text = own[min(self.record.finals, len(own) - 1)]  # type: ignore[union-attr]
            else:
                self.text = self.server.text_for(self.server.finals)
            self.speech_ms = self.since_partial = self.partials = 0
            self.interim_sent = False
        if voiced:
            self.voiced_ms += 10
            self.speech_ms += 10
            self.since_partial += 10
            self.silence_ms = 0
            if self.since_partial >= self.server.partial_ms:
                self.since_partial = 0
                self.partials += 1
                words = self.text.split("|")[-1].split()
                prefix = " ".join(words[: max(1, min(len(words), self.speech_ms // 200))])
                return [self._result(self._said(prefix), stability=min(0.9, 0.1 * self.partials))]
            return []
        self.silence_ms += 10
        if self.eou_ms and not self.interim_sent and self.silence_ms >= self.eou_ms:
            self.interim_sent = True
            return [self._result(self._said(self.text.split("|")[0]), stability=1.0)]
        if self.silence_ms >= self.stop_ms:
            return [self._final()]
        return []

    def _said(self, text: str) -> str:
        """``text``; with ``hear``, HEAR, its audio so far queued for the server to hear."""
        if text == HEAR:
            self.to_hear.append(bytes(self.pcm))
        return text

    def _final(self) -> rasr.StreamingRecognitionResult:
        text = self._said((self.text or "").split("|")[-1])
        result = self._result(text, is_final=True, confidence=0.9)
        self.text = None
        self.pcm.clear()
        if self.record is not None and self.record.transcripts:
            self.record.finals += 1
        else:
            self.server.finals += 1
        return result

    def _result(
        self, text: str, stability: float = 0.0, is_final: bool = False, confidence: float = 0.0
    ) -> rasr.StreamingRecognitionResult:
        alt = rasr.SpeechRecognitionAlternative(transcript=text, confidence=confidence)
        return rasr.StreamingRecognitionResult(
            alternatives=[alt],
            is_final=is_final,
            stability=stability,
            audio_processed=self.processed_ms / 1000,
        )
